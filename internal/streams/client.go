package streams

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Call is one exchange over a client stream, bounded by a deadline and by the
// caller's context. Its methods are not safe for concurrent use.
type Call struct {
	// Stream is the call's stream, reset when the deadline passes or the caller's
	// context is canceled. It belongs to the Call: end it with Close or End.
	Stream network.Stream

	ctx     context.Context // the caller's
	sctx    context.Context // ctx bounded by the deadline
	cancel  context.CancelFunc
	stop    func() bool // unregisters the reset at the end of sctx
	expired func(error) error
	closed  bool
}

// Dial opens a stream to p for protocol id, for an exchange that must end by
// deadline and ends sooner when ctx is canceled: the stream is then reset, which
// unblocks its reads and writes whatever the transport does with deadlines, and
// its deadline is set too. expired makes the error of an exchange that the
// deadline cut from the error it met, typically by wrapping the protocol's
// timeout error; see Explain.
//
// Dial never connects to p: the exchange rides on a connection the node already
// has, so that a session still running does not reconnect a peer that was just
// disconnected. Without one it fails ("opening stream: connection failed").
//
// An error opening the stream ("opening stream: …") has been through Explain;
// an error setting its deadline ("setting deadline: …") is returned as it is.
// After a successful Dial the caller must call End, typically deferred, and
// Close when the exchange succeeded. Dial is safe for concurrent use.
func Dial(ctx context.Context, h host.Host, p peer.ID, id protocol.ID, deadline time.Time, expired func(error) error) (*Call, error) {
	sctx, cancel := context.WithDeadline(ctx, deadline)
	c := &Call{ctx: ctx, sctx: sctx, cancel: cancel, expired: expired}
	s, err := h.NewStream(network.WithNoDial(sctx, "streams ride on existing connections"), p, id)
	if err != nil {
		err = c.Explain(fmt.Errorf("opening stream: %w", err))
		cancel()
		return nil, err
	}
	c.Stream = s
	c.stop = context.AfterFunc(sctx, func() { _ = s.Reset() })
	if err := s.SetDeadline(deadline); err != nil {
		c.End()
		return nil, fmt.Errorf("setting deadline: %w", err)
	}
	return c, nil
}

// Explain returns err, an error of the call's exchange, with what the end of its
// context has to do with it: ctx's error wrapping err, as "<ctx.Err()> (<err>)",
// when the caller canceled ctx; the error that Dial's expired function makes of
// err when the deadline (the call's or ctx's) passed or err is a transport's
// timeout (IsTimeout); err itself otherwise.
func (c *Call) Explain(err error) error {
	switch {
	case c.ctx.Err() != nil && !errors.Is(c.ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w (%w)", c.ctx.Err(), err)
	case c.sctx.Err() != nil || IsTimeout(err):
		return c.expired(err)
	}
	return err
}

// Close closes the stream after a successful exchange; End then only releases
// the call. It returns the stream's error.
func (c *Call) Close() error {
	c.closed = true
	return c.Stream.Close()
}

// End releases the call, resetting the stream unless Close closed it.
func (c *Call) End() {
	c.stop()
	if !c.closed {
		_ = c.Stream.Reset()
	}
	c.cancel()
}

// IsTimeout reports whether err is a transport's or a context's deadline error.
func IsTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// IsRefused reports whether err is a stream error from a peer that reset the
// stream for lack of resources (network.StreamResourceLimitExceeded): a Server
// running as many handlers as it allows, or a resource manager refusing the
// stream.
func IsRefused(err error) bool {
	var se *network.StreamError
	return errors.As(err, &se) && se.Remote && se.ErrorCode == network.StreamResourceLimitExceeded
}
