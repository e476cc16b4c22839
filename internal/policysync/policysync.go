// Package policysync implements /gossipdb/policy/1, the exchange by which a
// node fetches a restricted collection's policy changes (internal/policy)
// from a peer: when a block names a change the node lacks, and at the start of
// each catch-up session, so that a node that missed a change no block names
// (a revocation, typically) still gets it.
//
// The request is frames: the collection's schema ID, then the policy heads
// the requester holds (at most policy.MaxPrev of them). The answer is one
// frame per policy change the server holds that the requester's heads do not
// hold, each after the changes it names (Prev), so that the requester can
// add them in order: none when both hold the same changes. At most
// MaxChanges changes of at most policy.MaxChangeSize bytes each, and
// MaxAnswerBytes in all, are sent or read. The server answers a peer that may
// not read the collection, or a collection it does not know, with no
// changes. The requester trusts none of them: its caller verifies each and
// judges it (policy.Graph.Add).
package policysync

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

	"github.com/gossipdb/gossipdb/internal/policy"
	"github.com/gossipdb/gossipdb/internal/streams"
)

// ProtocolID is the policy exchange's libp2p protocol.
const ProtocolID protocol.ID = "/gossipdb/policy/1"

// Limits of one exchange.
const (
	MaxChanges     = 1024    // changes in one answer
	MaxAnswerBytes = 4 << 20 // bytes of one answer's changes
	Timeout        = 10 * time.Second
	maxConcurrent  = 16
	maxPerPeer     = 8   // of maxConcurrent, so that one peer cannot hold them all
	maxCID         = 128 // bytes of a CID in a request
)

// Errors of Fetch.
var (
	ErrProtocol = errors.New("policysync: protocol violation")
	ErrLimit    = errors.New("policysync: limit exceeded")
	ErrTimeout  = errors.New("policysync: timeout")
)

var frames = streams.Frames{MaxPrefixLen: 3, ErrMalformed: ErrProtocol, ErrTooLarge: ErrLimit}

// Lookup returns the encoded policy changes of collection schema that the
// policy state heads does not hold, each after those it names, for peer p:
// none if p may not read the collection or the node does not know it. heads
// may name changes the node does not hold.
type Lookup func(p peer.ID, schema cid.Cid, heads []cid.Cid) [][]byte

// NewServer answers /gossipdb/policy/1 on h from lookup.
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
		RefusedMessage: "policysync: too many requests, stream reset",
		PanicMessage:   "policysync: panic answering request",
	})
}

func serve(str network.Stream, lookup Lookup) error {
	r := bufio.NewReader(str)
	var ids []cid.Cid
	for {
		n, _, err := frames.ReadLen(r, maxCID)
		if errors.Is(err, io.EOF) && len(ids) > 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("reading request: %w", err)
		}
		if len(ids) > policy.MaxPrev {
			return fmt.Errorf("%w: more than %d heads", ErrLimit, policy.MaxPrev)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("reading request: %w", err)
		}
		id, err := cid.Cast(b)
		if err != nil {
			return fmt.Errorf("%w: request holds a non-CID: %v", ErrProtocol, err)
		}
		ids = append(ids, id)
	}
	w := bufio.NewWriter(str)
	size := 0
	for i, ch := range lookup(str.Conn().RemotePeer(), ids[0], ids[1:]) {
		if size += len(ch); i == MaxChanges || size > MaxAnswerBytes {
			break
		}
		if err := streams.WriteFrame(w, ch); err != nil {
			return err
		}
	}
	return w.Flush()
}

// Fetch asks p for the policy changes of collection schema that the state
// heads does not hold, and returns their bytes, unchecked, in the order p
// sent them.
func Fetch(ctx context.Context, h host.Host, p peer.ID, schema cid.Cid, heads []cid.Cid) ([][]byte, error) {
	if len(heads) > policy.MaxPrev {
		return nil, fmt.Errorf("%w: more than %d heads", ErrLimit, policy.MaxPrev)
	}
	expired := func(err error) error { return fmt.Errorf("%w: %w", ErrTimeout, err) }
	call, err := streams.Dial(ctx, h, p, ProtocolID, time.Now().Add(Timeout), expired)
	if err != nil {
		return nil, err
	}
	defer call.End()
	w := bufio.NewWriter(call.Stream)
	for _, id := range append([]cid.Cid{schema}, heads...) {
		if err := streams.WriteFrame(w, id.Bytes()); err != nil {
			return nil, call.Explain(err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, call.Explain(err)
	}
	_ = call.Stream.CloseWrite()
	r := bufio.NewReader(call.Stream)
	var changes [][]byte
	size := 0
	for {
		n, _, err := frames.ReadLen(r, policy.MaxChangeSize)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, call.Explain(err)
		}
		if len(changes) == MaxChanges {
			return nil, fmt.Errorf("%w: more than %d changes", ErrLimit, MaxChanges)
		}
		if size += n; size > MaxAnswerBytes {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrLimit, MaxAnswerBytes)
		}
		ch := make([]byte, n)
		if _, err := io.ReadFull(r, ch); err != nil {
			return nil, call.Explain(err)
		}
		changes = append(changes, ch)
	}
	_ = call.Close()
	return changes, nil
}
