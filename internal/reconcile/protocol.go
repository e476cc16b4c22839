package reconcile

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/streams"
)

// ProtocolID is the libp2p protocol of set reconciliation.
const ProtocolID protocol.ID = "/gossipdb/sync/1"

// MaxCollectionIDSize is the longest collection ID, in bytes, that a session may
// name.
const MaxCollectionIDSize = 128

// Session defaults; see Options.
const (
	DefaultMaxConcurrent = 8                // sessions a Server runs at once
	DefaultMaxPerPeer    = 4                // of them, sessions of one peer
	DefaultTimeout       = 30 * time.Second // time for a whole session
	DefaultMaxRounds     = 64               // round trips of a session
	DefaultMaxBytes      = 16 << 20         // bytes of a session, both directions
	// DefaultMaxSnapshotBytes is the memory the snapshots of a Server's
	// sessions may take together (see Options.MaxSnapshotBytes).
	DefaultMaxSnapshotBytes = 256 << 20
)

// SnapshotItemBytes is what one item of a session's snapshot takes in memory,
// about, with a 59-byte key (a document ID): the Item (48 bytes, and as much
// again while the Source's slice grows), its key's bytes (64, as allocated)
// and the Set's running sum (32).
const SnapshotItemBytes = 2*48 + 64 + 32

// BucketBytes is the memory of a bucket of a Set made of buckets, counted for
// Options.MaxSnapshotBytes: its lower key (64 bytes, as allocated), sum and
// index.
const BucketBytes = 64 + 96

// PeerError is the error Reconcile returns: what went wrong with which peer and
// collection. Err wraps one of the package's sentinel errors, a context error or
// the stream's error.
type PeerError struct {
	Peer       peer.ID // the peer reconciled with
	Collection cid.Cid // the collection reconciled
	Err        error   // what went wrong
}

// Error implements error.
func (e *PeerError) Error() string {
	return fmt.Sprintf("peer %s, collection %s: %v", e.Peer, e.Collection, e.Err)
}

// Unwrap returns e.Err.
func (e *PeerError) Unwrap() error { return e.Err }

// Options configure a Server or a call of Reconcile. The zero value gives the
// defaults; nil *Options too.
type Options struct {
	// Logger receives a line for each session a Server refuses or that fails,
	// with the peer and the reason. Nil discards them. Reconcile does not log: it
	// returns the error.
	Logger *slog.Logger
	// Allow reports whether peer p may reconcile collection, read it; a
	// refused peer is answered as for a collection the node does not hold
	// (ErrUnknownCollection), so it learns nothing of it. Server only. Nil
	// allows every peer.
	Allow func(p peer.ID, collection cid.Cid) bool
	// MaxConcurrent bounds the sessions a Server runs at once; a stream beyond it
	// is reset at once. More lets more peers reconcile at the same time, at the
	// cost of memory (each session indexes a snapshot of the collection, 32 bytes
	// an item beyond the Source's items) and CPU. Server only. Default
	// DefaultMaxConcurrent.
	MaxConcurrent int
	// MaxPerPeer bounds the sessions of one peer a Server runs at once, so that
	// one peer cannot hold them all; a stream beyond it is reset at once, as one
	// beyond MaxConcurrent (ErrBusy to the initiator). A gossipdb node runs at
	// most four sessions at once in all, so it never meets the default. Server
	// only. At most MaxConcurrent. Default the smaller of DefaultMaxPerPeer and
	// MaxConcurrent.
	MaxPerPeer int
	// Timeout bounds a whole session, from opening the stream to its end. Shorter
	// frees resources held by slow or silent peers sooner, but may cut the
	// reconciliation of large differences on slow links. Default DefaultTimeout.
	Timeout time.Duration
	// FirstAnswer bounds the wait for the peer's first answer, from opening the
	// stream, within Timeout: an honest responder answers its first message
	// once it has read its snapshot of the collection, while one that never
	// answers would hold the session for the whole Timeout. Shorter frees the
	// caller from silent peers sooner, but fails sessions with honest peers
	// that take longer to read a large collection. Reconcile only. Default 0:
	// only Timeout applies.
	FirstAnswer time.Duration
	// MaxRounds bounds the round trips of a session. Agreement takes one round
	// trip; differences among n items about log16(n) (3 at n = 100,000), plus one
	// per ~190 KiB of either side's answers (21 in all when 100,000 items of
	// 100,000 differ). A peer whose fingerprints never settle is cut off after
	// MaxRounds. Fewer cuts off such peers sooner but may stop honest sessions
	// with large differences. Default DefaultMaxRounds.
	MaxRounds int
	// MaxBytes bounds the bytes of a session's frames, both directions together.
	// Differences cost up to about 70 bytes each with document IDs of 59 bytes
	// (7.1 MB when 100,000 items of 100,000 differ); agreement about 60 bytes.
	// The keys an initiator records in Result.Need may cost twice as much,
	// each its length and 16 bytes. Less bounds what a lying peer can make us
	// receive and hold, but may stop honest sessions with large differences.
	// Default DefaultMaxBytes.
	MaxBytes int
	// MaxSnapshotBytes bounds the memory the snapshots of a Server's
	// sessions take together, each counted as SnapshotItemBytes an item: at
	// SnapshotItems' estimate before the Source reads it, then at the items it
	// read. A session whose snapshot does not fit beside the others' is
	// refused at once with an error frame (code 5, busy: ErrBusy to the
	// initiator, which tries again later); a session alone is always served,
	// so the memory held is at most this or one snapshot, the larger. A
	// session answered from Summary takes none. Server only. Default
	// DefaultMaxSnapshotBytes.
	MaxSnapshotBytes int64
	// SnapshotItems estimates the items of a snapshot of collection before
	// the Source reads it (a node knows how many documents it holds). Nil
	// estimates none: a snapshot is counted once read. Server only.
	SnapshotItems func(collection cid.Cid) int
	// Summary returns the sum of the items the Source holds for the whole of
	// collection, when it knows it without reading them (a node keeps it up
	// to date as its documents change). A session that opens with the
	// fingerprint of the whole key space, equal to that sum's, is then
	// answered with agreement at once, without a snapshot: two replicas
	// that agree cost each other a few bytes and no read, however large the
	// collection. Server only. Nil reads every session's snapshot.
	Summary func(collection cid.Cid) (itemsum.Sum, bool)
	// Buckets returns a Set made of buckets (NewBucketSet) for a session of
	// collection, which reads only the parts of the key space the session
	// needs, in place of the Source's snapshot, and release, which the Server
	// calls when the session ends; ok false (or a nil Buckets) means the
	// Source's snapshot. It is counted as BucketSetBytes (MaxSnapshotBytes).
	// Server only.
	Buckets func(ctx context.Context, collection cid.Cid) (set *Set, release func(), ok bool, err error)
}

// resolve returns o with zero fields set to their defaults, or an error naming the
// first field that is out of range.
func (o *Options) resolve() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	switch {
	case r.MaxConcurrent < 0:
		return r, fmt.Errorf("reconcile: Options.MaxConcurrent %d is negative", r.MaxConcurrent)
	case r.MaxPerPeer < 0:
		return r, fmt.Errorf("reconcile: Options.MaxPerPeer %d is negative", r.MaxPerPeer)
	case r.Timeout < 0:
		return r, fmt.Errorf("reconcile: Options.Timeout %v is negative", r.Timeout)
	case r.FirstAnswer < 0:
		return r, fmt.Errorf("reconcile: Options.FirstAnswer %v is negative", r.FirstAnswer)
	case r.MaxRounds < 0:
		return r, fmt.Errorf("reconcile: Options.MaxRounds %d is negative", r.MaxRounds)
	case r.MaxBytes < 0:
		return r, fmt.Errorf("reconcile: Options.MaxBytes %d is negative", r.MaxBytes)
	case r.MaxSnapshotBytes < 0:
		return r, fmt.Errorf("reconcile: Options.MaxSnapshotBytes %d is negative", r.MaxSnapshotBytes)
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	r.MaxConcurrent = cmp.Or(r.MaxConcurrent, DefaultMaxConcurrent)
	r.MaxPerPeer = cmp.Or(r.MaxPerPeer, min(DefaultMaxPerPeer, r.MaxConcurrent))
	if r.MaxPerPeer > r.MaxConcurrent {
		return r, fmt.Errorf("reconcile: Options.MaxPerPeer %d is above MaxConcurrent %d", r.MaxPerPeer, r.MaxConcurrent)
	}
	r.Timeout = cmp.Or(r.Timeout, DefaultTimeout)
	r.MaxRounds = cmp.Or(r.MaxRounds, DefaultMaxRounds)
	r.MaxBytes = cmp.Or(r.MaxBytes, DefaultMaxBytes)
	r.MaxSnapshotBytes = cmp.Or(r.MaxSnapshotBytes, DefaultMaxSnapshotBytes)
	return r, nil
}

// Status bytes that start each of the responder's frames.
const (
	statusMessage = 0 // a message follows
	statusError   = 1 // uvarint(code) and a reason follow; the stream ends
)

// Error codes of an error frame.
const (
	codeUnknownCollection = 1
	codeProtocol          = 2
	codeLimit             = 3
	codeInternal          = 4
	codeBusy              = 5
)

// maxReasonSize bounds the reason of an error frame.
const maxReasonSize = 200

// errorFrame returns the payload of an error frame for err.
func errorFrame(err error) []byte {
	code := codeInternal
	switch {
	case errors.Is(err, errBusy):
		code = codeBusy
	case errors.Is(err, ErrUnknownCollection):
		code = codeUnknownCollection
	case errors.Is(err, ErrProtocol):
		code = codeProtocol
	case errors.Is(err, ErrLimit):
		code = codeLimit
	}
	reason := err.Error()
	if code == codeInternal {
		reason = "internal error" // the details are for the server's log
	}
	if len(reason) > maxReasonSize {
		reason = reason[:maxReasonSize]
	}
	b := binary.AppendUvarint([]byte{statusError}, uint64(code))
	return append(b, reason...)
}

// parseError returns the error an error frame's payload (after the status byte)
// reports.
func parseError(b []byte) error {
	code, n := binary.Uvarint(b)
	if n <= 0 {
		return fmt.Errorf("%w: malformed error frame", ErrProtocol)
	}
	reason := b[n:]
	if len(reason) > maxReasonSize {
		reason = reason[:maxReasonSize]
	}
	var sentinel error
	switch code {
	case codeUnknownCollection:
		return ErrUnknownCollection
	case codeProtocol:
		sentinel = ErrProtocol
	case codeLimit:
		sentinel = ErrLimit
	case codeBusy:
		sentinel = ErrBusy
	default:
		sentinel = ErrRemote
	}
	return fmt.Errorf("%w: the peer says %q", sentinel, reason)
}

// openFrame returns the payload of the initiator's first frame.
func openFrame(collection []byte, msg []byte) []byte {
	b := binary.AppendUvarint(make([]byte, 0, 2+len(collection)+len(msg)), uint64(len(collection)))
	b = append(b, collection...)
	return append(b, msg...)
}

// parseOpen splits the initiator's first frame into the collection and the first
// message.
func parseOpen(b []byte) (cid.Cid, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > MaxCollectionIDSize || n > uint64(len(b)-k) {
		return cid.Undef, nil, fmt.Errorf("%w: malformed collection ID in the first frame", ErrProtocol)
	}
	c, err := cid.Cast(b[k : k+int(n)])
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("%w: collection ID: %v", ErrProtocol, err)
	}
	return c, b[k+int(n):], nil
}

// frameIO reads and writes the frames of one stream, counting their bytes and
// holding at most one received frame.
type frameIO struct {
	r        *bufio.Reader
	w        *bufio.Writer
	buf      []byte
	sent     int
	received int
	maxBytes int
}

func newFrameIO(s network.Stream, maxBytes int) *frameIO {
	return &frameIO{r: bufio.NewReaderSize(s, 16<<10), w: bufio.NewWriterSize(s, 16<<10), maxBytes: maxBytes}
}

// write sends one frame made of parts and flushes it.
func (f *frameIO) write(parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	size := streams.FrameSize(n)
	if f.sent+f.received+size > f.maxBytes {
		return fmt.Errorf("%w: the session would exceed %d bytes", ErrLimit, f.maxBytes)
	}
	if err := streams.WriteFrame(f.w, parts...); err != nil {
		return err
	}
	f.sent += size
	return f.w.Flush()
}

// read returns the payload of the next frame, valid until the next call. It
// returns io.EOF when the stream ends cleanly before a frame and wraps
// ErrProtocol when it ends inside one.
func (f *frameIO) read() ([]byte, error) {
	n, h, err := frames.ReadLen(f.r, MaxFrameSize)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: stream ends inside a frame length", ErrProtocol)
	}
	if err != nil {
		return nil, err
	}
	if f.sent+f.received+h+n > f.maxBytes {
		return nil, fmt.Errorf("%w: the session would exceed %d bytes", ErrLimit, f.maxBytes)
	}
	if cap(f.buf) < n {
		f.buf = make([]byte, n, max(n, min(2*cap(f.buf), MaxFrameSize)))
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: stream ends inside a frame", ErrProtocol)
		}
		return nil, err
	}
	f.received += h + n
	return f.buf, nil
}

// frames reads the protocol's frame length prefixes: at most three bytes, whose
// 21 bits exceed MaxFrameSize.
var frames = streams.Frames{MaxPrefixLen: 3, ErrMalformed: ErrProtocol, ErrTooLarge: ErrLimit}
