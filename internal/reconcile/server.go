package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipdb/gossipdb/internal/streams"
)

// Source returns a Server's snapshot of a collection: its items sorted by Key,
// which the Server does not modify and drops at the end of the session. It may
// leave out the items with keys below from (as strings): those of a session that
// goes on from where an earlier one stopped (NewSessionFrom), whose first
// message skips them; from is "" for a whole collection. It returns an error
// wrapping ErrUnknownCollection for a collection the node does not hold; any
// other error fails the session (the peer sees ErrRemote and the Server logs the
// error). It is called once per session, concurrently for concurrent sessions,
// with a context that ends with the session.
type Source func(ctx context.Context, collection cid.Cid, from string) ([]Item, error)

// errClosed marks the sessions cut because the server closed.
var errClosed = errors.New("reconcile: server closed")

// errBusy marks the sessions refused because their snapshot did not fit
// (Options.MaxSnapshotBytes).
var errBusy = errors.New("busy")

// Log keys, in the vocabulary of the root package's (see its package doc, "Logs").
const (
	logKeyPeer   = "peer"
	logKeyTopic  = "Topic" // the collection's schema ID, as a string
	logKeyError  = "error"
	logKeyRounds = "rounds"
)

// Metrics is a snapshot of a Server's counters since it started.
type Metrics struct {
	Streams   uint64 // streams received, refused ones included
	Refused   uint64 // streams reset because MaxConcurrent sessions were running, or MaxPerPeer of their peer's
	Completed uint64 // sessions the initiator ended with agreement
	Unknown   uint64 // sessions for a collection the Source does not hold
	Failed    uint64 // sessions cut by an error, a limit, a timeout or the peer
	Busy      uint64 // of Failed, sessions refused because their snapshot did not fit (Options.MaxSnapshotBytes)
	Rounds    uint64 // messages answered
	Agreed    uint64 // first messages answered with agreement from Options.Summary, without a snapshot
}

// Server answers /gossipdb/sync/1 sessions from the snapshots a Source gives. Each
// stream is handled in the goroutine libp2p starts for it, at most
// Options.MaxConcurrent at once, each within Options.Timeout, MaxRounds and
// MaxBytes. Its methods are safe for concurrent use.
type Server struct {
	srv  *streams.Server
	src  Source
	opts Options
	log  *slog.Logger

	completed, unknown, busy, rounds, agreed atomic.Uint64

	snapshotMu sync.Mutex
	snapshots  int64 // bytes the running sessions' snapshots are counted at
}

// NewServer registers the /gossipdb/sync/1 handler on h, answering from src, and
// returns the running server; Close stops it. opts may be nil for the defaults; a
// field out of range is an error that names it. h must outlive the Server.
func NewServer(h host.Host, src Source, opts *Options) (*Server, error) {
	if src == nil {
		return nil, errors.New("reconcile: NewServer with a nil Source")
	}
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	s := &Server{
		src:  src,
		opts: o,
		log:  o.Logger,
	}
	// s.handle runs from here on, but never reads s.srv.
	s.srv, err = streams.NewServer(h, ProtocolID, s.handle, streams.Options{
		Logger:         o.Logger,
		MaxConcurrent:  o.MaxConcurrent,
		MaxPerPeer:     o.MaxPerPeer,
		Timeout:        o.Timeout,
		RefusedMessage: "reconcile: too many sessions, stream reset",
		PanicMessage:   "reconcile: panic in session",
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close unregisters the handler, resets the streams of running sessions and waits
// until every handler has returned. It is safe to call more than once and always
// returns nil.
func (s *Server) Close() error { return s.srv.Close() }

// Metrics returns a snapshot of the server's counters.
func (s *Server) Metrics() Metrics {
	m := s.srv.Metrics()
	return Metrics{
		Streams:   m.Streams,
		Refused:   m.Refused,
		Completed: s.completed.Load(),
		Unknown:   s.unknown.Load(),
		Failed:    m.Failed,
		Busy:      s.busy.Load(),
		Rounds:    s.rounds.Load(),
		Agreed:    s.agreed.Load(),
	}
}

// topic returns the schema ID c as logs show it: its string, or "" when the
// session failed before naming it.
func topic(c cid.Cid) string {
	if !c.Defined() {
		return ""
	}
	return c.String()
}

// handle is the streams.Handler: it runs one session and ends the stream, closing
// it after the initiator's end or an error frame, resetting it otherwise. A
// session for an unknown collection is no failure.
func (s *Server) handle(ctx context.Context, str network.Stream) error {
	remote := str.Conn().RemotePeer()
	collection, rounds, err := s.serve(ctx, str)
	switch {
	case err == nil:
		s.completed.Add(1)
		_ = str.Close()
		return nil
	case errors.Is(err, ErrUnknownCollection):
		s.unknown.Add(1)
		s.log.Debug("reconcile: unknown collection", logKeyPeer, remote.String(), logKeyTopic, topic(collection))
		_ = str.Close() // after the error frame
		return nil
	}
	level := slog.LevelWarn
	switch {
	case errors.Is(err, errClosed):
		level = slog.LevelDebug // the node is shutting down: nothing wrong
	case errors.Is(err, errBusy):
		level = slog.LevelDebug // counted (Metrics.Busy); one line each would let a peer flood the log
	}
	s.log.Log(context.Background(), level, "reconcile: session failed", logKeyPeer, remote.String(),
		logKeyTopic, topic(collection), logKeyRounds, rounds, logKeyError, err)
	if errors.Is(err, ErrProtocol) || errors.Is(err, ErrLimit) || errors.Is(err, ErrRemote) {
		_ = str.Close() // after the error frame
	} else {
		_ = str.Reset()
	}
	return err
}

// serve runs one session within ctx. It returns nil when the initiator ended it
// with an empty frame. On an error the caller closes the stream, after serve sent
// an error frame when the error wraps ErrUnknownCollection, ErrProtocol, ErrLimit
// or ErrRemote, or resets it.
func (s *Server) serve(ctx context.Context, str network.Stream) (collection cid.Cid, rounds int, err error) {
	f := newFrameIO(str, s.opts.MaxBytes)
	// fail sends an error frame for err when the stream is still usable.
	fail := func(err error) error {
		if errors.Is(err, ErrUnknownCollection) || errors.Is(err, ErrProtocol) || errors.Is(err, ErrLimit) || errors.Is(err, ErrRemote) {
			f.maxBytes += maxReasonSize + 16 // always room to say why
			_ = f.write(errorFrame(err))
		}
		return err
	}

	frame, err := f.read()
	if errors.Is(err, io.EOF) {
		return collection, 0, fmt.Errorf("%w: stream closed before the first message", ErrProtocol)
	}
	if err != nil {
		return collection, 0, fail(s.streamErr(ctx, fmt.Errorf("reading the first message: %w", err)))
	}
	collection, msg, err := parseOpen(frame)
	if err != nil {
		return collection, 0, fail(err)
	}
	if s.opts.Allow != nil && !s.opts.Allow(str.Conn().RemotePeer(), collection) {
		return collection, 0, fail(ErrUnknownCollection)
	}
	if s.opts.Summary != nil {
		if sum, ok := s.opts.Summary(collection); ok && agreesWhole(msg, sum) {
			// Agreement, without a snapshot. An honest initiator now ends
			// the session; one that goes on is answered from a snapshot.
			rounds++
			s.rounds.Add(1)
			s.agreed.Add(1)
			if err := f.write([]byte{statusMessage}); err != nil {
				return collection, rounds, fail(s.streamErr(ctx, fmt.Errorf("sending answer %d: %w", rounds, err)))
			}
			if msg, err = f.read(); err != nil {
				if errors.Is(err, io.EOF) {
					return collection, rounds, fmt.Errorf("%w: the initiator closed the stream without ending the session", ErrProtocol)
				}
				return collection, rounds, fail(s.streamErr(ctx, fmt.Errorf("reading message %d: %w", rounds+1, err)))
			}
			if len(msg) == 0 {
				return collection, rounds, nil
			}
		}
	}
	if s.opts.Buckets != nil {
		set, release, ok, err := s.opts.Buckets(ctx, collection)
		if err != nil {
			return collection, 0, fail(fmt.Errorf("%w: source: %w", ErrRemote, err))
		}
		if ok {
			defer release()
			est := set.snapshotBytes()
			if err := s.admitSnapshot(est); err != nil {
				return collection, 0, fail(err)
			}
			// Counted as it reads buckets, whether that fits or not: it holds them.
			defer func() { s.recountSnapshot(est, 0) }()
			return s.answerFrom(ctx, f, fail, collection, set, msg, rounds, &est)
		}
	}
	var est int64
	if s.opts.SnapshotItems != nil {
		est = int64(s.opts.SnapshotItems(collection)) * SnapshotItemBytes
	}
	if err := s.admitSnapshot(est); err != nil {
		return collection, 0, fail(err)
	}
	defer func() { s.recountSnapshot(est, 0) }()
	// A Set of the items from where the first message's skip ends answers
	// the session as the whole collection's would: an honest initiator asks
	// of no key below it, and a dishonest one learns less. A message that
	// does not decode skips nothing; Respond then says what is wrong.
	items, err := s.src(ctx, collection, skipped(msg))
	if n := int64(len(items)) * SnapshotItemBytes; n != est {
		s.recountSnapshot(est, n) // as read, whether it fits or not: it is held
		est = n
	}
	if err != nil && !errors.Is(err, ErrUnknownCollection) {
		err = fmt.Errorf("%w: source: %w", ErrRemote, err)
	}
	if err != nil {
		return collection, 0, fail(err)
	}
	set, err := NewSet(items)
	if err != nil {
		return collection, 0, fail(fmt.Errorf("%w: source: %w", ErrRemote, err))
	}
	return s.answerFrom(ctx, f, fail, collection, set, msg, rounds, nil)
}

// answerFrom answers the session's messages from set, msg first, after
// rounds answered without it, until the initiator ends the session (see serve).
// Unless counted is nil, it counts set's memory as it grows after each answer
// (recountSnapshot), counted holding what it counts now.
func (s *Server) answerFrom(ctx context.Context, f *frameIO, fail func(error) error, collection cid.Cid, set *Set, msg []byte, rounds int, counted *int64) (cid.Cid, int, error) {
	for {
		if rounds >= s.opts.MaxRounds {
			return collection, rounds, fail(fmt.Errorf("%w: more than %d rounds", ErrLimit, s.opts.MaxRounds))
		}
		reply, err := Respond(set, msg)
		if err != nil && set.Err() != nil {
			err = fmt.Errorf("%w: source: %w", ErrRemote, err) // our failure, not the peer's
		}
		if err != nil {
			return collection, rounds, fail(fmt.Errorf("message %d: %w", rounds+1, err))
		}
		rounds++
		s.rounds.Add(1)
		if counted != nil {
			if n := set.snapshotBytes(); n != *counted {
				s.recountSnapshot(*counted, n)
				*counted = n
			}
		}
		if err := f.write([]byte{statusMessage}, reply); err != nil {
			return collection, rounds, fail(s.streamErr(ctx, fmt.Errorf("sending answer %d: %w", rounds, err)))
		}
		msg, err = f.read()
		if errors.Is(err, io.EOF) {
			return collection, rounds, fmt.Errorf("%w: the initiator closed the stream without ending the session", ErrProtocol)
		}
		if err != nil {
			return collection, rounds, fail(s.streamErr(ctx, fmt.Errorf("reading message %d: %w", rounds+1, err)))
		}
		if len(msg) == 0 {
			return collection, rounds, nil
		}
	}
}

// admitSnapshot counts n bytes more for the running sessions' snapshots,
// unless that would take them over MaxSnapshotBytes while other sessions hold
// some: the session is then refused as busy (Metrics.Busy), with an error
// that says how much the others hold.
func (s *Server) admitSnapshot(n int64) error {
	s.snapshotMu.Lock()
	defer s.snapshotMu.Unlock()
	if held := s.snapshots; held > 0 && held+n > s.opts.MaxSnapshotBytes {
		s.busy.Add(1)
		return fmt.Errorf("%w: %w: the snapshots of other sessions take %d bytes of %d", ErrLimit, errBusy, held, s.opts.MaxSnapshotBytes)
	}
	s.snapshots += n
	return nil
}

// recountSnapshot counts a session's snapshot at new bytes instead of old.
func (s *Server) recountSnapshot(old, new int64) {
	s.snapshotMu.Lock()
	defer s.snapshotMu.Unlock()
	s.snapshots += new - old
}

// streamErr explains an error that the end of ctx may have caused.
func (s *Server) streamErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), streams.ErrServerClosed):
		return fmt.Errorf("%w: %w", errClosed, err)
	case ctx.Err() != nil || streams.IsTimeout(err):
		return fmt.Errorf("%w: session not done within %v: %w", ErrTimeout, s.opts.Timeout, err)
	}
	return err
}
