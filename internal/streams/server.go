package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ErrServerClosed is the cause (context.Cause) of a handler's context that ended
// because its Server closed.
var ErrServerClosed = errors.New("streams: server closed")

// Log keys.
const (
	logKeyProtocol = "protocol"
	logKeyPeer     = "peer"
	logKeyLimit    = "limit"
	logKeyError    = "error"
	logKeyPanic    = "panic"
	logKeyStack    = "stack"
)

// Options configure a Server. MaxConcurrent and Timeout are required: the
// protocol packages choose their defaults.
type Options struct {
	// Logger receives a line for each refused stream and each handler that
	// panics. Nil discards them.
	Logger *slog.Logger
	// MaxConcurrent bounds the handlers running at once; a stream that arrives
	// beyond it is reset at once with network.StreamResourceLimitExceeded. It
	// must be positive.
	MaxConcurrent int
	// MaxPerPeer bounds the handlers running at once for the streams of one
	// peer; a stream beyond it is reset as one beyond MaxConcurrent is, so that
	// one peer cannot hold every slot and leave none to the others. Zero means
	// MaxConcurrent: no bound of its own. It must not be negative or above
	// MaxConcurrent.
	MaxPerPeer int
	// Timeout bounds the handling of a stream: its handler's context ends and the
	// stream is reset when it expires. It must be positive.
	Timeout time.Duration
	// RefusedMessage is the message logged, at Warn with the peer and the limit
	// met ("server" or "peer"), for a stream refused because MaxConcurrent
	// handlers were running, or MaxPerPeer for its peer.
	RefusedMessage string
	// PanicMessage is the message logged, at Error with the peer, the panic and
	// the stack, for a handler that panicked.
	PanicMessage string
}

// Handler serves one inbound stream. ctx ends after Options.Timeout (with cause
// context.DeadlineExceeded) or when the Server closes (cause ErrServerClosed);
// the stream is then reset, which unblocks its reads and writes, and its
// deadline is ctx's. The handler ends the stream itself, closing or resetting it,
// and returns nil when the exchange succeeded, or why it failed: the Server
// counts the failure (Metrics.Failed) and does nothing else with the error.
type Handler func(ctx context.Context, s network.Stream) error

// Answer returns the Handler of a protocol whose every failure is the peer's
// (a request it should not have sent): it runs serve on the stream, then
// closes it, or resets it as a protocol violation if serve failed.
func Answer(serve func(s network.Stream) error) Handler {
	return func(_ context.Context, s network.Stream) error {
		if err := serve(s); err != nil {
			_ = s.ResetWithError(network.StreamProtocolViolation)
			return err
		}
		return s.Close()
	}
}

// Metrics is a snapshot of a Server's counters since it started.
type Metrics struct {
	Streams uint64 // streams received, refused ones included
	Refused uint64 // streams reset because MaxConcurrent handlers were running, or MaxPerPeer for their peer
	// RefusedPeer counts the streams of Refused reset because MaxPerPeer
	// handlers were running for their peer.
	RefusedPeer uint64
	Failed      uint64 // handlers that returned an error or panicked
}

// Server runs a Handler for the inbound streams of one protocol. Its methods
// are safe for concurrent use.
type Server struct {
	host    host.Host
	id      protocol.ID
	handler Handler
	opts    Options
	log     *slog.Logger
	sem     chan struct{}

	ctx    context.Context // canceled by Close: ends every handler's context
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	closed  bool
	running map[peer.ID]int // handlers running, by peer; held with mu
	wg      sync.WaitGroup  // running handlers

	streams, refused, refusedPeer, failed atomic.Uint64
}

// NewServer registers handler for protocol id on h and returns the running
// server; Close stops it. It returns an error, and registers nothing, for a nil
// handler or an Options field out of range. h must outlive the Server.
func NewServer(h host.Host, id protocol.ID, handler Handler, opts Options) (*Server, error) {
	switch {
	case handler == nil:
		return nil, errors.New("streams: NewServer with a nil handler")
	case opts.MaxConcurrent <= 0:
		return nil, fmt.Errorf("streams: Options.MaxConcurrent %d is not positive", opts.MaxConcurrent)
	case opts.MaxPerPeer < 0 || opts.MaxPerPeer > opts.MaxConcurrent:
		return nil, fmt.Errorf("streams: Options.MaxPerPeer %d is not between 0 and MaxConcurrent %d", opts.MaxPerPeer, opts.MaxConcurrent)
	case opts.Timeout <= 0:
		return nil, fmt.Errorf("streams: Options.Timeout %v is not positive", opts.Timeout)
	}
	if opts.MaxPerPeer == 0 {
		opts.MaxPerPeer = opts.MaxConcurrent
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &Server{
		host:    h,
		id:      id,
		handler: handler,
		opts:    opts,
		log:     log,
		sem:     make(chan struct{}, opts.MaxConcurrent),
		running: map[peer.ID]int{},
		ctx:     ctx,
		cancel:  cancel,
	}
	h.SetStreamHandler(id, s.handle)
	return s, nil
}

// Close unregisters the handler, resets the streams being handled and waits
// until every handler has returned. It is safe to call more than once and always
// returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		s.host.RemoveStreamHandler(s.id)
		s.cancel(ErrServerClosed)
	}
	s.wg.Wait()
	return nil
}

// Metrics returns a snapshot of the server's counters.
func (s *Server) Metrics() Metrics {
	return Metrics{
		Streams:     s.streams.Load(),
		Refused:     s.refused.Load(),
		RefusedPeer: s.refusedPeer.Load(),
		Failed:      s.failed.Load(),
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

// takePeer counts a handler of remote's, unless MaxPerPeer of them run.
func (s *Server) takePeer(remote peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[remote] >= s.opts.MaxPerPeer {
		return false
	}
	s.running[remote]++
	return true
}

// releasePeer uncounts a handler of remote's that takePeer counted.
func (s *Server) releasePeer(remote peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[remote]--; s.running[remote] == 0 {
		delete(s.running, remote)
	}
}

// refuse resets str, which arrived beyond the limit named.
func (s *Server) refuse(str network.Stream, remote peer.ID, limit string) {
	s.refused.Add(1)
	s.log.Warn(s.opts.RefusedMessage, logKeyPeer, remote.String(), logKeyLimit, limit)
	_ = str.ResetWithError(network.StreamResourceLimitExceeded)
}

// handle is the libp2p stream handler. A failure is counted only once the
// handler's slot is free again, so a caller that sees Metrics.Failed move can
// open the next stream without being refused.
func (s *Server) handle(str network.Stream) {
	if !s.enter() {
		_ = str.Reset()
		return
	}
	defer s.wg.Done()
	s.streams.Add(1)
	remote := str.Conn().RemotePeer()
	if !s.takePeer(remote) {
		s.refusedPeer.Add(1) // before the reset: a caller that sees it sees the count
		s.refuse(str, remote, "peer")
		return
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.releasePeer(remote)
		s.refuse(str, remote, "server")
		return
	}
	ok := s.run(str, remote)
	<-s.sem
	s.releasePeer(remote)
	if !ok {
		s.failed.Add(1)
	}
}

// run runs the handler on str within Options.Timeout and reports whether it
// succeeded. A panic is logged and fails the stream.
func (s *Server) run(str network.Stream, remote peer.ID) (ok bool) {
	defer func() {
		// A bug must not take the node down with it: what a peer sends reaches
		// decoders that are not ours.
		if r := recover(); r != nil {
			ok = false
			s.log.Error(s.opts.PanicMessage, logKeyPeer, remote.String(), logKeyPanic, r, logKeyStack, string(debug.Stack()))
			_ = str.Reset()
		}
	}()
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	defer cancel()
	// Unblock reads and writes when the server closes or the time is up, whatever
	// the transport does with deadlines.
	stop := context.AfterFunc(ctx, func() { _ = str.Reset() })
	defer stop()
	deadline, _ := ctx.Deadline()
	if err := str.SetDeadline(deadline); err != nil {
		s.log.Warn("streams: cannot set a stream's deadline, stream reset", logKeyProtocol, s.id, logKeyPeer, remote.String(), logKeyError, err)
		_ = str.Reset()
		return false
	}
	return s.handler(ctx, str) == nil
}
