package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gossipdb/gossipdb"
)

// Bounds of GET /api/v0/events.
const (
	// MaxEventStreams is how many event streams the handler serves at once; one
	// more gets 503 with Retry-After. Each stream holds, per collection it
	// watches, a queue of at most gossipdb.Options.WatchBuffer events.
	MaxEventStreams = 16
	// MaxStreamWatches is how many collections the open event streams may
	// follow together; a stream that would take them past it gets 503 with
	// Retry-After. A stream costs two goroutines and a queue per collection
	// it follows (some 8 KiB idle): without this bound, 16 streams of a
	// node of 20,000 collections (100 calls of collection add) would hold
	// 640,000 goroutines and some 2.5 GiB.
	MaxStreamWatches = 4096
	// streamWriteTimeout bounds one write to a stream: a client that reads
	// nothing for that long is cut off, so it cannot hold a stream slot forever.
	streamWriteTimeout = 30 * time.Second
	// streamBatchEvents is how many change events a stream sends for the blocks
	// merged together (one write, or one merge of received blocks); the rest
	// are counted in one "skipped" event. Encoding an event costs more than
	// merging a small block: a stream that sent one per block of a large write
	// cost the writer 5–16% of its rate.
	streamBatchEvents = 4
	// streamQueue is how many batches wait between the collections' watches and
	// a stream's writer, and streamBufferBytes the writer's buffer: the batches
	// waiting when one is written go out with it, up to half the buffer.
	streamQueue       = 64
	streamBufferBytes = 64 << 10
)

// Names of the Server-Sent Events of GET /api/v0/events.
const (
	sseReady   = "ready"
	sseChange  = "change"
	sseSkipped = "skipped"
	sseDropped = "dropped"
)

// streams counts the open event streams and the collections they follow,
// and ends them all on request.
type streams struct {
	open    atomic.Int32
	watches atomic.Int64
	ended   chan struct{}
	endOnce sync.Once
}

func newStreams() *streams { return &streams{ended: make(chan struct{})} }

// enter takes a stream slot for a stream that follows watches collections;
// false if no slot is free, the collections would be more than
// MaxStreamWatches, or streams have ended.
func (st *streams) enter(watches int) bool {
	select {
	case <-st.ended:
		return false
	default:
	}
	if st.open.Add(1) > MaxEventStreams {
		st.open.Add(-1)
		return false
	}
	if st.watches.Add(int64(watches)) > MaxStreamWatches {
		st.leave(watches)
		return false
	}
	return true
}

// leave gives back what enter took.
func (st *streams) leave(watches int) {
	st.watches.Add(-int64(watches))
	st.open.Add(-1)
}

func (st *streams) end() { st.endOnce.Do(func() { close(st.ended) }) }

// StreamReady is the data of the first event of a stream, "ready": the
// collections it watches.
type StreamReady struct {
	PeerID      string   `json:"peerID"`
	Collections []string `json:"collections"`
}

// Change is the data of a "change" event: one block of a collection merged,
// made on this node or received from a peer, as gossipdb.Event reports it.
type Change struct {
	Collection string `json:"collection"`
	// Type is created, updated or deleted: what the change feed reports of
	// the block (a block cut off by a revocation as it merged is deleted or
	// updated, see gossipdb.Event), but updated where the feed says
	// overridden.
	Type  string `json:"type"`
	DocID string `json:"docID"`
	Block string `json:"block"` // CID of the merged block, or of the revocation (see gossipdb.Event)
	// Peer is the peer ID of the node the block came from (for a
	// revocation's rebuild, the revocation); absent when the change was made
	// on this node.
	Peer string `json:"peer,omitempty"`
	// Author is the block's author, the peer ID form of the key that signed
	// it (gossipdb.AuthorID).
	Author string `json:"author"`
}

// Skipped is the data of a "skipped" event: that many more blocks of the
// collection merged together with those of the change events just before it,
// which a stream does not send one by one (see streamBatchEvents).
type Skipped struct {
	Collection string `json:"collection"`
	Skipped    int    `json:"skipped"`
}

// Dropped is the data of a "dropped" event: the stream's reader was too slow
// and that many changes of the collection were not sent.
type Dropped struct {
	Collection string `json:"collection"`
	Dropped    int    `json:"dropped"`
}

// events streams the changes of the collections named by the "collection"
// query parameters (every collection when there is none; each once, however
// often it is named) as Server-Sent Events, until the client leaves, the node
// closes or EndStreams is called. Of the blocks merged together it sends the
// first streamBatchEvents as "change" events and counts the rest in a
// "skipped" event.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	var cols []*gossipdb.Collection
	if names := r.URL.Query()["collection"]; len(names) > 0 {
		seen := make(map[string]bool, len(names))
		for _, name := range names {
			c, err := s.n.Collection(name)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if !seen[c.Name()] {
				seen[c.Name()] = true
				cols = append(cols, c)
			}
		}
	} else {
		cols = s.n.Collections()
	}
	if len(cols) > MaxStreamWatches {
		s.fail(w, r, badRequest("the stream would follow %d collections, more than %d: name some with collection=", len(cols), MaxStreamWatches))
		return
	}
	if !s.streams.enter(len(cols)) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams, or streams following more than %d collections together, or the API is shutting down", MaxStreamWatches))
		return
	}
	defer s.streams.leave(len(cols))

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// merged carries the events of every watched collection; it is closed when
	// all watches have ended, which happens only when the node closes (or on
	// return). With no collection to watch it stays nil: the stream then waits
	// for its end without events.
	var merged chan gossipdb.Batch
	if len(cols) > 0 {
		merged = make(chan gossipdb.Batch, streamQueue)
		var wg sync.WaitGroup
		// On return: stop the watches, and wait for the goroutines that
		// forward their events.
		defer func() {
			cancel()
			for range merged {
			}
		}()
		for _, c := range cols {
			ch, err := c.WatchBatches(ctx, streamBatchEvents)
			if err != nil {
				go func() { wg.Wait(); close(merged) }()
				s.fail(w, r, err)
				return
			}
			wg.Go(func() {
				for e := range ch {
					select {
					case merged <- e:
					case <-ctx.Done():
					}
				}
			})
		}
		go func() { wg.Wait(); close(merged) }()
	}
	ready := StreamReady{PeerID: s.n.ID(), Collections: []string{}}
	for _, c := range cols {
		ready.Collections = append(ready.Collections, c.Name())
	}

	w.Header().Set(headerContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // the connection may serve further requests
	bw := bufio.NewWriterSize(w, streamBufferBytes)
	// write buffers one event; flush sends what is buffered. Batches that are
	// already waiting go out in one write: a flush per event, a system call and a
	// wake-up of the reader each, was most of what a stream cost.
	write := func(event string, data any) bool {
		body, err := marshal(data)
		if err != nil {
			return false
		}
		bw.WriteString("event: " + event + "\ndata: ")
		bw.Write(body)
		bw.WriteString("\n\n")
		return true
	}
	writeBatch := func(b gossipdb.Batch) bool {
		if b.Dropped > 0 && !write(sseDropped, Dropped{Collection: b.Collection, Dropped: b.Dropped}) {
			return false
		}
		for _, e := range b.Events {
			if !write(sseChange, change(e)) {
				return false
			}
		}
		if skipped := b.Count - len(b.Events); skipped > 0 {
			return write(sseSkipped, Skipped{Collection: b.Collection, Skipped: skipped})
		}
		return true
	}
	flush := func() bool {
		rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		return bw.Flush() == nil && rc.Flush() == nil
	}
	if !write(sseReady, ready) || !flush() {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.streams.ended:
			return
		case b, ok := <-merged:
			if !ok { // the node closed
				return
			}
			if !writeBatch(b) {
				return
			}
		waiting:
			for bw.Buffered() < streamBufferBytes/2 {
				select {
				case b, ok := <-merged:
					if !ok {
						break waiting
					}
					if !writeBatch(b) {
						return
					}
				default:
					break waiting
				}
			}
			if !flush() {
				return
			}
		}
	}
}

func change(e gossipdb.Event) Change {
	return Change{Collection: e.Collection, Type: e.Type.String(), DocID: string(e.DocID), Block: e.Block, Peer: e.Peer, Author: e.Author}
}
