package versions

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/streams"
)

// ProtocolID is the libp2p protocol of the exchange.
const ProtocolID protocol.ID = "/gossipdb/versions/1"

// Limits of the exchange; both sides enforce them.
const (
	// MaxChain is the most definitions in one answer.
	MaxChain = 64
	// MaxAnswerBytes is the most definition bytes in one answer.
	MaxAnswerBytes = 1 << 20
	// Timeout bounds one exchange, and the server's handling of one stream.
	Timeout = 10 * time.Second
	// maxConcurrent bounds the requests a server answers at once.
	maxConcurrent = 16
	// maxPerPeer bounds those of one peer, so that one peer cannot hold them all.
	maxPerPeer = 8
	// maxRequest is the largest request frame: a CID.
	maxRequest = 128
)

// Errors of the package; check them with errors.Is.
var (
	// ErrProtocol reports a peer that broke the protocol: a malformed frame or
	// request, or a definition that does not hash to the ID it should.
	ErrProtocol = errors.New("versions: protocol violation")
	// ErrLimit reports an answer beyond a limit of the protocol.
	ErrLimit = errors.New("versions: limit exceeded")
	// ErrNotFound reports a server that does not store the version asked for.
	ErrNotFound = errors.New("versions: version not found")
	// ErrTimeout reports an exchange that did not complete within Timeout.
	ErrTimeout = errors.New("versions: timeout")
)

var frames = streams.Frames{MaxPrefixLen: 4, ErrMalformed: ErrProtocol, ErrTooLarge: ErrLimit}

// Lookup returns the stored definition of the later version with the given ID,
// or an error when the node stores none (the answer then ends there).
type Lookup func(version cid.Cid) ([]byte, error)

// NewServer registers the /gossipdb/versions/1 handler on h, answering from
// lookup, and returns the running server; Close stops it. logger may be nil.
func NewServer(h host.Host, lookup Lookup, logger *slog.Logger) (*streams.Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	handle := streams.Answer(func(str network.Stream) error { return serve(str, lookup) })
	return streams.NewServer(h, ProtocolID, handle, streams.Options{
		Logger:         logger,
		MaxConcurrent:  maxConcurrent,
		MaxPerPeer:     maxPerPeer,
		Timeout:        Timeout,
		RefusedMessage: "versions: too many requests, stream reset",
		PanicMessage:   "versions: panic answering request",
	})
}

// serve reads a request and sends the chain it asks for.
func serve(str network.Stream, lookup Lookup) error {
	r := bufio.NewReader(str)
	n, _, err := frames.ReadLen(r, maxRequest)
	if err != nil {
		return fmt.Errorf("reading request: %w", err)
	}
	req := make([]byte, n)
	if _, err := io.ReadFull(r, req); err != nil {
		return fmt.Errorf("reading request: %w", err)
	}
	id, err := cid.Cast(req)
	if err != nil {
		return fmt.Errorf("%w: request is not a CID: %v", ErrProtocol, err)
	}
	_ = str.CloseRead()
	w := bufio.NewWriter(str)
	size := 0
	for range MaxChain {
		def, err := lookup(id)
		if err != nil {
			break // the root, or a version this node does not store
		}
		if size += len(def); size > MaxAnswerBytes {
			break
		}
		if err := streams.WriteFrame(w, def); err != nil {
			return err
		}
		v, err := schema.DecodeVersion(def)
		if err != nil {
			return fmt.Errorf("stored version %s: %w", id, err)
		}
		id = v.Parent
	}
	return w.Flush()
}

// Fetch asks p for the definition of the version with the given ID and the
// chain of its parents, and returns the definitions, the one asked for first:
// each hashes to the ID it follows from. It returns ErrNotFound if p sends none.
// Errors wrap the package's errors, the stream's or ctx's.
func Fetch(ctx context.Context, h host.Host, p peer.ID, version cid.Cid) ([][]byte, error) {
	expired := func(err error) error { return fmt.Errorf("%w: %w", ErrTimeout, err) }
	call, err := streams.Dial(ctx, h, p, ProtocolID, time.Now().Add(Timeout), expired)
	if err != nil {
		return nil, err
	}
	defer call.End()
	w := bufio.NewWriter(call.Stream)
	if err := streams.WriteFrame(w, version.Bytes()); err != nil {
		return nil, call.Explain(err)
	}
	if err := w.Flush(); err != nil {
		return nil, call.Explain(err)
	}
	_ = call.Stream.CloseWrite()
	r := bufio.NewReader(call.Stream)
	var defs [][]byte
	want, size := version, 0
	for {
		n, _, err := frames.ReadLen(r, schema.MaxEncodedSize)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, call.Explain(err)
		}
		if len(defs) == MaxChain {
			return nil, fmt.Errorf("%w: more than %d definitions", ErrLimit, MaxChain)
		}
		if size += n; size > MaxAnswerBytes {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrLimit, MaxAnswerBytes)
		}
		def := make([]byte, n)
		if _, err := io.ReadFull(r, def); err != nil {
			return nil, call.Explain(err)
		}
		got, err := want.Prefix().Sum(def)
		if err != nil || !got.Equals(want) {
			return nil, fmt.Errorf("%w: definition hashes to %s, not %s", ErrProtocol, got, want)
		}
		defs = append(defs, def)
		v, err := schema.DecodeVersion(def)
		if err != nil {
			return defs, nil // the caller refuses it, naming why
		}
		want = v.Parent
	}
	_ = call.Close()
	if len(defs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, version)
	}
	return defs, nil
}

// FetchChain fetches from p the version with the given ID and its parents down
// to the first whose parent known reports, as Fetch does, asking again from
// the parent of the last definition while answers come full (MaxChain
// definitions): a chain longer than one answer arrives in a few. It stops at a
// known parent, at a definition that does not decode (the caller refuses it),
// at an answer that ends short, and at schema.MaxChain-1 definitions, the
// most a chain holds besides its root; so it holds at most
// (schema.MaxChain-1)/MaxChain+1 answers. The definitions come as Fetch
// returns them, the one asked for first. Errors are Fetch's.
func FetchChain(ctx context.Context, h host.Host, p peer.ID, version cid.Cid, known func(cid.Cid) bool) ([][]byte, error) {
	const most = schema.MaxChain - 1
	var defs [][]byte
	for want := version; ; {
		got, err := Fetch(ctx, h, p, want)
		if err != nil {
			return nil, err
		}
		defs = append(defs, got...)
		if len(got) < MaxChain || len(defs) >= most {
			return defs[:min(len(defs), most)], nil
		}
		last, err := schema.DecodeVersion(got[len(got)-1])
		if err != nil || known(last.Parent) {
			return defs, nil
		}
		want = last.Parent
	}
}
