package httpapi

import (
	"iter"
	"net/http"
	"strconv"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// Names of the Server-Sent Events of GET /api/v0/collections/{name}/changes.
const (
	sseEnd = "end"
)

// changes streams the collection's change feed after position since (the
// "since" query parameter, or the Last-Event-ID header that an EventSource
// sends when it reconnects, which wins; since=now is the node's position when
// the request came, so that a reader can note it before a rescan) as
// Server-Sent Events: one "change"
// event per change, whose id is its position. Without follow=true it ends with
// an "end" event whose id and data give the position to resume from; with it,
// it follows new changes until the client leaves, the node closes or
// EndStreams is called, with keep-alives (KeepAliveInterval) while there are
// none. A since the feed no longer holds answers 416 (see
// gossipdb.ErrCompacted), one beyond the feed 400.
//
// It holds at most one page of the feed (gossipdb.Collection.Changes) and the
// stream's write buffer: a client that reads slowly slows the stream, and one
// that reads nothing for streamWriteTimeout is cut off. Streams share the
// MaxEventStreams slots of GET /api/v0/events.
func (s *server) changes(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	q := r.URL.Query()
	now := q.Get("since") == sinceNow
	var since uint64
	var err error
	if !now {
		since, err = position("since", q.Get("since"))
	}
	if err == nil && r.Header.Get("Last-Event-ID") != "" {
		now = false
		since, err = position("Last-Event-ID", r.Header.Get("Last-Event-ID"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	follow, err := boolParam(q, "follow")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.streams.enter(0) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "too many event streams, or the API is shutting down")
		return
	}
	defer s.streams.leave(0)
	ctx, cancel := s.streams.follow(r.Context())
	defer cancel()

	// What is there now is read first, so that a bad since is refused
	// before the stream begins; following goes on from its end.
	end, err := s.n.ChangesPosition()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if now {
		since = end
	}
	next, stop := iter.Pull2(c.ChangesTo(ctx, since, end))
	defer stop()
	first, err, ok := next()
	if err != nil {
		s.fail(w, r, err)
		return
	}

	w.Header().Set(headerContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	sw := newSSEWriter(w, s.keepAlive, cancel)
	defer sw.close()
	write := func(event string, id uint64, data any) bool {
		body, err := marshal(data)
		return err == nil && sw.event(event, strconv.FormatUint(id, 10), body)
	}
	change := func(ch gossipdb.Change) bool {
		return write(sseChange, ch.Position, client.Change{
			Position: ch.Position, Type: ch.Type.String(), Block: ch.Block, Peer: ch.Peer, Local: ch.Local, Author: ch.Author,
			Document: client.Document{ID: string(ch.DocID), Fields: ch.Fields},
		})
	}
	for ; ok; first, err, ok = next() {
		if err != nil || !change(first) {
			return // the client cannot tell an error from here on but by the missing "end"
		}
	}
	if !follow {
		if write(sseEnd, end, client.ChangesEnd{Position: end}) {
			sw.flush()
		}
		return
	}
	if !sw.flush() {
		return
	}
	for ch, err := range c.Changes(ctx, end) {
		if err != nil || !change(ch) || !sw.flush() {
			return
		}
	}
}

// sinceNow is the since that starts a change feed at the node's position
// when the request comes.
const sinceNow = "now"

// position parses a change-feed position given as name; empty is 0.
func position(name, s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if name == "since" {
			return 0, badRequest("%s %q: want a position of the change feed, a number from 0, or %s", name, s, sinceNow)
		}
		return 0, badRequest("%s %q: want a position of the change feed, a number from 0", name, s)
	}
	return n, nil
}
