package blocks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/streams"
)

// Stats describes one Fetch.
type Stats struct {
	Blocks   int           // blocks received and accepted by fn
	Bytes    int64         // their encoded size
	Duration time.Duration // from opening the stream to the end of the answer or the error
}

// Fetch asks peer p, over one /gossipdb/blocks/2 stream, for the blocks each item
// describes, of documents of the collection with the given schema ID, and calls fn with each block of the answer, in the order received:
// parents first for each item, item after item. An answer may stop short of all the
// blocks asked for (the server's limits; see the package doc): a caller that still
// misses some applies what it got and fetches again, until it has what it wanted or
// an answer brings no block.
//
// Each block passed to fn has been re-hashed and structurally checked (crdt.Decode)
// and belongs to one of the items' documents; fn must still check it against its
// schema and parents (store.Tx.Apply does the latter) before merging it. fn runs on
// the caller's goroutine while the exchange's deadline runs, so it should be quick
// (collecting the blocks, or applying them to an in-memory batch); the *crdt.Block
// is fn's to keep. An error from fn ends the exchange and is returned, wrapped.
//
// The exchange ends at ctx's deadline, or after DefaultTimeout when ctx has none,
// and when ctx is canceled. fn must not be nil, nor schema undefined, and items
// must name each document once. Fetch opens no stream for zero items. Every error is a *PeerError naming p; it wraps ErrLimit for items beyond
// the protocol's limits or an answer beyond them, ErrProtocol for a malformed
// answer, a block that fails to decode or one of another document ("unrelated
// block"), ErrTimeout when the deadline passed, ctx.Err() when ctx was canceled,
// ErrBusy when the peer refused the request for lack of resources, fn's error, or
// the stream's error (network.ErrReset when the peer reset the stream). The
// returned Stats count the blocks fn accepted, even on error. Fetch is safe for
// concurrent use.
func Fetch(ctx context.Context, h host.Host, p peer.ID, schema cid.Cid, items []Item, fn func(*crdt.Block) error) (stats Stats, err error) {
	start := time.Now()
	defer func() {
		stats.Duration = time.Since(start)
		if err != nil {
			err = &PeerError{Peer: p, Err: err}
		}
	}()
	if fn == nil {
		return stats, errors.New("blocks: Fetch with a nil fn")
	}
	if len(items) == 0 {
		return stats, nil
	}
	req, err := encodeRequest(schema, items)
	if err != nil {
		return stats, err
	}
	docs := make(map[string]bool, len(items))
	for _, it := range items {
		docs[it.Doc.KeyString()] = true
	}

	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = start.Add(DefaultTimeout)
	}
	call, err := streams.Dial(ctx, h, p, ProtocolID, deadline, func(err error) error {
		return fmt.Errorf("%w: no complete answer within %v: %w", ErrTimeout, deadline.Sub(start).Round(time.Millisecond), err)
	})
	if err != nil {
		return stats, err
	}
	defer call.End()
	s := call.Stream

	w := bufio.NewWriterSize(s, min(len(req)+8, 64<<10))
	if err := streams.WriteFrame(w, req); err != nil {
		return stats, call.Explain(fmt.Errorf("sending request: %w", err))
	}
	if err := w.Flush(); err != nil {
		return stats, call.Explain(fmt.Errorf("sending request: %w", err))
	}
	// A failed CloseWrite is not returned: the server may have refused the request
	// (reset the stream) already, and the read below reports that better.
	_ = s.CloseWrite()

	r := bufio.NewReaderSize(s, 64<<10)
	var buf []byte
	for {
		n, _, err := frames.ReadLen(r, crdt.MaxBlockSize)
		if err != nil {
			return stats, call.Explain(fmt.Errorf("reading answer: %w", readErr(err)))
		}
		if n == 0 {
			break
		}
		if stats.Blocks == MaxAnswerBlocks {
			return stats, fmt.Errorf("%w: answer has more than %d blocks", ErrLimit, MaxAnswerBlocks)
		}
		if stats.Bytes+int64(n) > MaxAnswerBytes {
			return stats, fmt.Errorf("%w: answer has more than %d bytes of blocks", ErrLimit, MaxAnswerBytes)
		}
		if cap(buf) < n {
			buf = make([]byte, n, max(n, 2*cap(buf)))
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return stats, call.Explain(fmt.Errorf("reading answer: %w", readErr(err)))
		}
		b, err := crdt.Decode(buf) // b.Data does not alias buf
		if err != nil {
			return stats, fmt.Errorf("%w: block %d of the answer: %w", ErrProtocol, stats.Blocks+1, err)
		}
		if !docs[b.DocID().KeyString()] {
			return stats, fmt.Errorf("%w: unrelated block %s of document %s", ErrProtocol, b.CID, b.DocID())
		}
		if err := fn(b); err != nil {
			return stats, fmt.Errorf("block %s: %w", b.CID, err)
		}
		stats.Blocks++
		stats.Bytes += int64(n)
	}
	_ = call.Close()
	return stats, nil
}

// readErr explains an error reading the answer: the end of the stream before the
// end marker is a protocol error, a reset for lack of resources means the peer is
// busy.
func readErr(err error) error {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: answer ends without its end marker", ErrProtocol)
	case streams.IsRefused(err):
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}
