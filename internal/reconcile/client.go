package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/streams"
)

// Reconcile runs a session as initiator with peer p over one /gossipdb/sync/1
// stream: it compares items, this node's snapshot of collection, with the peer's
// and returns the difference. items must be sorted by Key with no key repeated and
// none longer than MaxKeySize; Reconcile keeps no reference to it after returning.
// Only the keys from from on are reconciled ("": every key; see NewSessionFrom
// and Result.Resume), so items may leave out those below it.
// opts may be nil for the defaults; only its Timeout, FirstAnswer, MaxRounds and
// MaxBytes apply.
//
// The session ends at the earliest of ctx's deadline and opts.Timeout after the
// call, opts.FirstAnswer after the call (when positive) if the peer has not
// answered by then, and when ctx is canceled. Invalid arguments (items out of order, an
// undefined collection, an Options field out of range) are plain errors. Every
// other error is a *PeerError naming p and collection, wrapping ErrUnknownCollection
// when the peer does not hold the collection, ErrBusy when it refused the session
// for lack of resources, ErrLimit when the session needed more than MaxRounds round
// trips (a peer whose fingerprints never settle) or MaxBytes bytes or the peer sent
// a frame beyond the protocol's limits, ErrProtocol when it sent a malformed frame
// or message, ErrTimeout when the time ran out, ErrRemote when the peer failed on
// its side, ctx.Err() when ctx was canceled, or the stream's error. The Result
// returned with an error holds what was learned before it (from a peer that may
// have lied) and the bytes and rounds spent.
//
// Reconcile holds one frame of the peer's at a time, the index of items (32
// bytes an item), and the differences found: the peer's keys within twice
// opts.MaxBytes, and each of items at most once (see NewSessionFrom). It is
// safe for concurrent use.
func Reconcile(ctx context.Context, h host.Host, p peer.ID, collection cid.Cid, items []Item, from string, opts *Options) (res Result, err error) {
	o, err := opts.resolve()
	if err != nil {
		return res, err
	}
	set, err := NewSet(items)
	if err != nil {
		return res, err
	}
	return run(ctx, h, p, collection, NewSessionFrom(set, from), o)
}

// ReconcileSet is Reconcile of the items of set, whole (NewSet) or made of
// buckets (NewBucketSet): a Set of buckets reads only the parts of the key
// space the session needs, and its failure to read one ends the session with
// its error (Set.Err).
func ReconcileSet(ctx context.Context, h host.Host, p peer.ID, collection cid.Cid, set *Set, from string, opts *Options) (Result, error) {
	o, err := opts.resolve()
	if err != nil {
		return Result{}, err
	}
	return run(ctx, h, p, collection, NewSessionFrom(set, from), o)
}

// ReconcileSum is Reconcile of the whole key space for an initiator that
// knows sum, the sum of its items, without reading them (a node keeps it up
// to date as its documents change): it calls load for its Set only when the
// peer differs, so that a session with a peer that agrees reads none (see
// NewSessionSum). The Set holds every item of the collection, whole (NewSet)
// or made of buckets (NewBucketSet); an error of load ends the session with
// it. Of at most 32 items, which a session opens with the digests of, it
// loads the Set at once.
func ReconcileSum(ctx context.Context, h host.Host, p peer.ID, collection cid.Cid, sum itemsum.Sum, load func() (*Set, error), opts *Options) (Result, error) {
	o, err := opts.resolve()
	if err != nil {
		return Result{}, err
	}
	if sum.Count <= digestsMax {
		set, err := load()
		if err != nil {
			return Result{}, err
		}
		return run(ctx, h, p, collection, NewSession(set), o)
	}
	return run(ctx, h, p, collection, NewSessionSum(sum, load), o)
}

// run runs session sess with p over a stream of its own (see Reconcile).
func run(ctx context.Context, h host.Host, p peer.ID, collection cid.Cid, sess *Session, o Options) (res Result, err error) {
	if !collection.Defined() {
		return res, errors.New("reconcile: undefined collection ID")
	}
	cb := collection.Bytes()
	if len(cb) > MaxCollectionIDSize {
		return res, fmt.Errorf("reconcile: collection ID of %d bytes, at most %d", len(cb), MaxCollectionIDSize)
	}
	sess.side.maxNeed = 2 * o.MaxBytes
	var f *frameIO
	defer func() {
		res = sess.Result()
		if f != nil {
			res.BytesSent, res.BytesReceived = f.sent, f.received
		}
		if err != nil {
			err = &PeerError{Peer: p, Collection: collection, Err: err}
		}
	}()

	start := time.Now()
	deadline := start.Add(o.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	call, err := streams.Dial(ctx, h, p, ProtocolID, deadline, func(err error) error {
		return fmt.Errorf("%w: session not done within %v: %w", ErrTimeout, deadline.Sub(start).Round(time.Millisecond), err)
	})
	if err != nil {
		return res, streamErr(err)
	}
	defer call.End()
	// explain says why the session failed when the end of ctx or the peer's lack
	// of resources may be the cause.
	explain := func(err error) error { return call.Explain(streamErr(err)) }

	firstBy := deadline
	if o.FirstAnswer > 0 && start.Add(o.FirstAnswer).Before(deadline) {
		firstBy = start.Add(o.FirstAnswer)
		if err := call.Stream.SetReadDeadline(firstBy); err != nil {
			return res, fmt.Errorf("setting deadline: %w", err)
		}
	}

	f = newFrameIO(call.Stream, o.MaxBytes)
	if err := f.write(openFrame(cb, sess.Initiate())); err != nil {
		return res, explain(fmt.Errorf("sending the first message: %w", err))
	}
	for {
		frame, err := f.read()
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: stream ends without an answer", ErrProtocol)
		}
		if err != nil && sess.rounds == 0 && firstBy.Before(deadline) && !time.Now().Before(firstBy) && ctx.Err() == nil {
			return res, fmt.Errorf("%w: no answer within %v: %w", ErrTimeout, o.FirstAnswer, err)
		}
		if err != nil {
			return res, explain(fmt.Errorf("reading answer %d: %w", sess.rounds+1, err))
		}
		if sess.rounds == 0 && firstBy.Before(deadline) {
			// The peer answered: the rest of the session has until deadline.
			if err := call.Stream.SetReadDeadline(deadline); err != nil {
				return res, fmt.Errorf("setting deadline: %w", err)
			}
		}
		if len(frame) == 0 {
			return res, fmt.Errorf("%w: empty answer frame", ErrProtocol)
		}
		switch frame[0] {
		case statusMessage:
		case statusError:
			return res, parseError(frame[1:])
		default:
			return res, fmt.Errorf("%w: answer frame with status %d", ErrProtocol, frame[0])
		}
		next, end, err := sess.Reply(frame[1:])
		if err != nil {
			return res, fmt.Errorf("answer %d: %w", sess.rounds, err)
		}
		if end {
			// An empty frame tells the peer that the session is over.
			if err := f.write(); err != nil {
				return res, explain(fmt.Errorf("ending the session: %w", err))
			}
			_ = call.Close()
			return res, nil
		}
		if sess.rounds >= o.MaxRounds {
			return res, fmt.Errorf("%w: no agreement after %d rounds", ErrLimit, o.MaxRounds)
		}
		if err := f.write(next); err != nil {
			return res, explain(fmt.Errorf("sending message %d: %w", sess.rounds+1, err))
		}
	}
}

// streamErr explains a stream error: a reset for lack of resources means the peer is
// busy.
func streamErr(err error) error {
	if streams.IsRefused(err) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}
