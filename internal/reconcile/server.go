package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
)

// Source returns a Server's snapshot of a collection: its items sorted by Key,
// which the Server does not modify and drops at the end of the session. It
// returns an error wrapping ErrUnknownCollection for a collection the node does
// not hold; any other error fails the session (the peer sees ErrRemote and the
// Server logs the error). It is called once per session, concurrently for
// concurrent sessions, with a context that ends with the session.
type Source func(ctx context.Context, collection cid.Cid) ([]Item, error)

// errClosed marks the sessions cut because the server closed.
var errClosed = errors.New("reconcile: server closed")

// Log keys.
const (
	logKeyPeer       = "peer"
	logKeyCollection = "collection"
	logKeyErr        = "err"
	logKeyRounds     = "rounds"
	logKeyPanic      = "panic"
	logKeyStack      = "stack"
)

// Metrics is a snapshot of a Server's counters since it started.
type Metrics struct {
	Streams   uint64 // streams received, refused ones included
	Refused   uint64 // streams reset because MaxConcurrent sessions were running
	Completed uint64 // sessions the initiator ended with agreement
	Unknown   uint64 // sessions for a collection the Source does not hold
	Failed    uint64 // sessions cut by an error, a limit, a timeout or the peer
	Rounds    uint64 // messages answered
}

// Server answers /gossipdb/sync/1 sessions from the snapshots a Source gives. Each
// stream is handled in the goroutine libp2p starts for it, at most
// Options.MaxConcurrent at once, each within Options.Timeout, MaxRounds and
// MaxBytes. Its methods are safe for concurrent use.
type Server struct {
	host host.Host
	src  Source
	opts Options
	log  *slog.Logger
	sem  chan struct{}

	ctx    context.Context // canceled by Close: ends every session
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // running handlers

	streams, refused, completed, unknown, failed, rounds atomic.Uint64
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
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		host:   h,
		src:    src,
		opts:   o,
		log:    o.Logger,
		sem:    make(chan struct{}, o.MaxConcurrent),
		ctx:    ctx,
		cancel: cancel,
	}
	h.SetStreamHandler(ProtocolID, s.handle)
	return s, nil
}

// Close unregisters the handler, resets the streams of running sessions and waits
// until every handler has returned. It is safe to call more than once and always
// returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		s.host.RemoveStreamHandler(ProtocolID)
		s.cancel()
	}
	s.wg.Wait()
	return nil
}

// Metrics returns a snapshot of the server's counters.
func (s *Server) Metrics() Metrics {
	return Metrics{
		Streams:   s.streams.Load(),
		Refused:   s.refused.Load(),
		Completed: s.completed.Load(),
		Unknown:   s.unknown.Load(),
		Failed:    s.failed.Load(),
		Rounds:    s.rounds.Load(),
	}
}

// enter registers a running handler, unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// handle is the stream handler.
func (s *Server) handle(str network.Stream) {
	if !s.enter() {
		_ = str.Reset()
		return
	}
	defer s.wg.Done()
	s.streams.Add(1)
	remote := str.Conn().RemotePeer()
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.refused.Add(1)
		s.log.Warn("reconcile: too many sessions, stream reset", logKeyPeer, remote)
		_ = str.ResetWithError(network.StreamResourceLimitExceeded)
		return
	}
	defer func() {
		// A bug must not take the node down with it.
		if r := recover(); r != nil {
			s.failed.Add(1)
			s.log.Error("reconcile: panic in session", logKeyPeer, remote, logKeyPanic, r, logKeyStack, string(debug.Stack()))
			_ = str.Reset()
		}
	}()
	collection, rounds, err := s.serve(str)
	switch {
	case err == nil:
		s.completed.Add(1)
		_ = str.Close()
	case errors.Is(err, ErrUnknownCollection):
		s.unknown.Add(1)
		s.log.Debug("reconcile: unknown collection", logKeyPeer, remote, logKeyCollection, collection)
		_ = str.Close() // after the error frame
	default:
		s.failed.Add(1)
		level := slog.LevelWarn
		if errors.Is(err, errClosed) {
			level = slog.LevelDebug // the node is shutting down: nothing wrong
		}
		s.log.Log(context.Background(), level, "reconcile: session failed", logKeyPeer, remote,
			logKeyCollection, collection, logKeyRounds, rounds, logKeyErr, err)
		if errors.Is(err, ErrProtocol) || errors.Is(err, ErrLimit) || errors.Is(err, ErrRemote) {
			_ = str.Close() // after the error frame
		} else {
			_ = str.Reset()
		}
	}
}

// serve runs one session. It returns nil when the initiator ended it with an
// empty frame. On an error the caller closes the stream, after serve sent an error
// frame when the error wraps ErrUnknownCollection, ErrProtocol, ErrLimit or
// ErrRemote, or resets it.
func (s *Server) serve(str network.Stream) (collection cid.Cid, rounds int, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	defer cancel()
	// Unblock reads and writes when the server closes or the time is up.
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	if err := str.SetDeadline(time.Now().Add(s.opts.Timeout)); err != nil {
		return collection, 0, err
	}
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
	items, err := s.src(ctx, collection)
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
	for {
		if rounds == s.opts.MaxRounds {
			return collection, rounds, fail(fmt.Errorf("%w: more than %d rounds", ErrLimit, s.opts.MaxRounds))
		}
		reply, err := Respond(set, msg)
		if err != nil {
			return collection, rounds, fail(fmt.Errorf("message %d: %w", rounds+1, err))
		}
		rounds++
		s.rounds.Add(1)
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

// streamErr explains an error that the end of ctx may have caused.
func (s *Server) streamErr(ctx context.Context, err error) error {
	switch {
	case s.ctx.Err() != nil:
		return fmt.Errorf("%w: %w", errClosed, err)
	case ctx.Err() != nil || isTimeout(err):
		return fmt.Errorf("%w: session not done within %v: %w", ErrTimeout, s.opts.Timeout, err)
	}
	return err
}
