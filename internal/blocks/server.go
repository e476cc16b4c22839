package blocks

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/streams"
)

// Server defaults; see Options.
const (
	DefaultMaxConcurrent = 16       // answers computed or sent at once
	DefaultMaxPerPeer    = 8        // of them, answers to one peer
	DefaultCacheSize     = 16 << 10 // blocks whose metadata the server keeps
)

// Batches in which the server reads blocks to send, each in its own short read
// transaction, so that no transaction stays open while the network is slow.
const (
	sendBatchBlocks = 256
	sendBatchBytes  = 1 << 20
)

// errClosed marks the streams cut because the server closed.
var errClosed = errors.New("blocks: server closed")

// Log keys.
const (
	logKeyPeer  = "peer"
	logKeyError = "error"
)

// Options configure a Server. The zero value gives the defaults.
type Options struct {
	// Logger receives a line for each refused or failed stream, with the peer and
	// the reason. Nil discards them.
	Logger *slog.Logger
	// Allow reports whether peer p may fetch blocks of collection, read it;
	// a refused peer's request fails as one for a collection the node does
	// not store, so it learns nothing of it. Nil allows every peer.
	Allow func(p peer.ID, collection cid.Cid) bool
	// MaxConcurrent bounds the answers computed or sent at once; a stream that
	// arrives beyond it is reset at once. More lets more peers catch up at the same
	// time, at the cost of memory (about 1 MiB of block bytes each, however slowly
	// the peer reads, plus a few hundred bytes for each block of the answer) and
	// store reads.
	// Default DefaultMaxConcurrent.
	MaxConcurrent int
	// MaxPerPeer bounds the answers to one peer computed or sent at once, so
	// that one peer cannot hold them all; a stream beyond it is reset at once,
	// as one beyond MaxConcurrent (ErrBusy to the requester). At most
	// MaxConcurrent. Default the smaller of DefaultMaxPerPeer and MaxConcurrent.
	MaxPerPeer int
	// Timeout bounds the whole handling of a stream, from reading the request to
	// the end marker; the stream is reset when it expires. Shorter frees resources
	// held by slow or silent peers sooner but may cut large answers on slow links.
	// Default DefaultTimeout.
	Timeout time.Duration
	// MaxAnswerBlocks is the most blocks sent in one answer, at most (and by
	// default) MaxAnswerBlocks. Less bounds memory and time per answer but costs
	// more round trips for large gaps.
	MaxAnswerBlocks int
	// MaxAnswerBytes is the most block bytes sent in one answer, from
	// crdt.MaxBlockSize (so that any block fits) to MaxAnswerBytes, the default.
	MaxAnswerBytes int
	// CacheSize is how many blocks' metadata (height, parents) the server keeps to
	// avoid decoding them again for later requests. More costs about 200 bytes per
	// block. Default DefaultCacheSize.
	CacheSize int
}

// withDefaults returns o with zero fields set to their defaults, or an error naming
// the first field that is out of range.
func (o Options) withDefaults() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.MaxConcurrent = cmp.Or(o.MaxConcurrent, DefaultMaxConcurrent)
	o.MaxPerPeer = cmp.Or(o.MaxPerPeer, min(DefaultMaxPerPeer, o.MaxConcurrent))
	o.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	o.MaxAnswerBlocks = cmp.Or(o.MaxAnswerBlocks, MaxAnswerBlocks)
	o.MaxAnswerBytes = cmp.Or(o.MaxAnswerBytes, MaxAnswerBytes)
	o.CacheSize = cmp.Or(o.CacheSize, DefaultCacheSize)
	switch {
	case o.MaxConcurrent < 0:
		return o, fmt.Errorf("blocks: Options.MaxConcurrent %d is negative", o.MaxConcurrent)
	case o.MaxPerPeer < 0 || o.MaxPerPeer > o.MaxConcurrent:
		return o, fmt.Errorf("blocks: Options.MaxPerPeer %d is not in [1, MaxConcurrent %d]", o.MaxPerPeer, o.MaxConcurrent)
	case o.Timeout < 0:
		return o, fmt.Errorf("blocks: Options.Timeout %v is negative", o.Timeout)
	case o.MaxAnswerBlocks < 0 || o.MaxAnswerBlocks > MaxAnswerBlocks:
		return o, fmt.Errorf("blocks: Options.MaxAnswerBlocks %d is not in [1, %d]", o.MaxAnswerBlocks, MaxAnswerBlocks)
	case o.MaxAnswerBytes < crdt.MaxBlockSize || o.MaxAnswerBytes > MaxAnswerBytes:
		return o, fmt.Errorf("blocks: Options.MaxAnswerBytes %d is not in [%d, %d]", o.MaxAnswerBytes, crdt.MaxBlockSize, MaxAnswerBytes)
	case o.CacheSize < 0:
		return o, fmt.Errorf("blocks: Options.CacheSize %d is negative", o.CacheSize)
	}
	return o, nil
}

// Metrics is a snapshot of a Server's counters since it started.
type Metrics struct {
	Streams  uint64 // streams received, refused ones included
	Refused  uint64 // streams reset because MaxConcurrent answers were running, or MaxPerPeer to their peer
	Failed   uint64 // streams reset on a bad request, a timeout, a stream or store error
	Answered uint64 // answers sent completely, end marker included
	Blocks   uint64 // blocks sent
	Bytes    uint64 // block bytes sent
	Visited  uint64 // blocks visited by the sweeps that chose them
}

// Server answers /gossipdb/blocks/2 requests from a store. Each stream is handled
// in the goroutine libp2p starts for it, at most Options.MaxConcurrent at once.
// Its methods are safe for concurrent use.
type Server struct {
	srv   *streams.Server
	store *store.Store
	opts  Options
	log   *slog.Logger
	cache *metaCache

	// known holds the schema IDs of the collections found in the store so far;
	// collections are never removed, so it only grows.
	knownMu sync.Mutex
	known   map[cid.Cid]bool

	answered, blocks, bytes, visited atomic.Uint64
}

// NewServer registers the /gossipdb/blocks/2 handler on h, answering from st, and
// returns the running server; Close stops it. opts may be nil for the defaults; a
// field out of range is an error that names it. h and st must outlive the Server.
func NewServer(h host.Host, st *store.Store, opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		store: st,
		opts:  o,
		log:   o.Logger,
		cache: newMetaCache(o.CacheSize),
		known: make(map[cid.Cid]bool),
	}
	// s.handle runs from here on, but never reads s.srv.
	s.srv, err = streams.NewServer(h, ProtocolID, s.handle, streams.Options{
		Logger:         o.Logger,
		MaxConcurrent:  o.MaxConcurrent,
		MaxPerPeer:     o.MaxPerPeer,
		Timeout:        o.Timeout,
		RefusedMessage: "blocks: too many requests, stream reset",
		PanicMessage:   "blocks: panic answering request",
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close unregisters the handler, resets the streams being answered and waits until
// every handler has returned. It is safe to call more than once and always returns
// nil.
func (s *Server) Close() error { return s.srv.Close() }

// Metrics returns a snapshot of the server's counters.
func (s *Server) Metrics() Metrics {
	m := s.srv.Metrics()
	return Metrics{
		Streams:  m.Streams,
		Refused:  m.Refused,
		Failed:   m.Failed,
		Answered: s.answered.Load(),
		Blocks:   s.blocks.Load(),
		Bytes:    s.bytes.Load(),
		Visited:  s.visited.Load(),
	}
}

// handle is the streams.Handler: it answers one request and ends the stream,
// closing it after the end marker or resetting it on an error.
func (s *Server) handle(ctx context.Context, str network.Stream) error {
	if err := s.serve(ctx, str); err != nil {
		level := slog.LevelWarn
		if errors.Is(err, errClosed) {
			level = slog.LevelDebug // the node is shutting down: nothing wrong
		}
		s.log.Log(context.Background(), level, "blocks: request failed, stream reset", logKeyPeer, str.Conn().RemotePeer().String(), logKeyError, err)
		if errors.Is(err, ErrProtocol) || errors.Is(err, ErrLimit) {
			_ = str.ResetWithError(network.StreamProtocolViolation)
		} else {
			_ = str.Reset()
		}
		return err
	}
	s.answered.Add(1)
	_ = str.Close()
	return nil
}

// serve reads the request and sends the answer, within ctx. On error the caller
// resets str.
func (s *Server) serve(ctx context.Context, str network.Stream) error {
	r := bufio.NewReader(str)
	n, _, err := frames.ReadLen(r, MaxRequestSize)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: stream closed before the request", ErrProtocol)
	}
	if err != nil {
		return s.streamErr(ctx, fmt.Errorf("reading request: %w", err))
	}
	if n == 0 {
		return fmt.Errorf("%w: empty request", ErrProtocol)
	}
	req := make([]byte, n)
	if _, err := io.ReadFull(r, req); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: request truncated", ErrProtocol)
	} else if err != nil {
		return s.streamErr(ctx, fmt.Errorf("reading request: %w", err))
	}
	schema, items, err := decodeRequest(req)
	if err != nil {
		return err
	}
	switch known, err := s.knows(schema); {
	case err != nil:
		return s.streamErr(ctx, err)
	case !known || (s.opts.Allow != nil && !s.opts.Allow(str.Conn().RemotePeer(), schema)):
		return fmt.Errorf("%w: request for collection %s, which this node does not store", ErrProtocol, schema)
	}
	_ = str.CloseRead()
	if err := s.answer(ctx, str, schema, items); err != nil {
		return s.streamErr(ctx, err)
	}
	return nil
}

// knows reports whether the store holds the collection with the given schema ID.
// It reads the collections again only for a schema ID it has not seen stored.
func (s *Server) knows(schema cid.Cid) (bool, error) {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	if s.known[schema] {
		return true, nil
	}
	err := s.store.View(func(tx *store.Tx) error {
		return tx.Collections(func(_ string, def []byte) error {
			id, err := schemaPrefix.Sum(def)
			if err != nil {
				return err
			}
			s.known[id] = true
			return nil
		})
	})
	return s.known[schema], err
}

// schemaPrefix makes a collection's schema ID, the CID of its canonical
// definition (see internal/schema).
var schemaPrefix = cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}

// streamErr explains an error that the end of ctx may have caused.
func (s *Server) streamErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(context.Cause(ctx), streams.ErrServerClosed):
		return fmt.Errorf("%w: %w", errClosed, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%w: answer not done within %v: %w", ErrTimeout, s.opts.Timeout, err)
	}
	return err
}

// answer sends the blocks of each item in turn, within the answer limits, then the
// end marker. It plans several items in one read transaction, up to a batch of
// blocks, then sends that batch with no transaction open. The bytes planning
// read (the geneses of whole documents) end a batch at sendBatchBytes too, so
// that a peer that reads slowly, or never, holds about one batch of them, not
// the answer's limit.
func (s *Server) answer(ctx context.Context, str network.Stream, schema cid.Cid, items []Item) error {
	w := bufio.NewWriterSize(str, 64<<10)
	left := budget{blocks: s.opts.MaxAnswerBlocks, bytes: s.opts.MaxAnswerBytes}
	sent := make(map[string]bool)
	for len(items) > 0 && left.blocks > 0 {
		var chosen []planned
		held := 0 // bytes of chosen's data
		err := s.store.View(func(tx *store.Tx) error {
			for len(items) > 0 && left.blocks > 0 && len(chosen) < sendBatchBlocks && held < sendBatchBytes {
				p, visited, err := planItem(ctx, tx, s.cache, schema, items[0], &left, sent)
				s.visited.Add(uint64(visited))
				if err != nil {
					return err
				}
				for _, p := range p {
					held += len(p.data)
				}
				chosen = append(chosen, p...)
				items = items[1:]
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.send(w, schema, chosen); err != nil {
			return err
		}
	}
	if err := streams.WriteFrame(w); err != nil {
		return err
	}
	return w.Flush()
}

// send writes the blocks, reading them in batches so that no read transaction is
// open while writing to the network.
func (s *Server) send(w *bufio.Writer, schema cid.Cid, chosen []planned) error {
	batch := make([][]byte, 0, min(len(chosen), sendBatchBlocks))
	for len(chosen) > 0 {
		batch = batch[:0]
		err := s.store.View(func(tx *store.Tx) error {
			size := 0
			for _, p := range chosen[:min(len(chosen), sendBatchBlocks)] {
				if size >= sendBatchBytes {
					break
				}
				data := p.data
				if data == nil {
					var err error
					if data, err = tx.BlockData(schema, p.cid); err != nil {
						return fmt.Errorf("block %s: %w", p.cid, err)
					}
				}
				batch = append(batch, data)
				size += len(data)
			}
			return nil
		})
		if err != nil {
			return err
		}
		chosen = chosen[len(batch):]
		for _, data := range batch {
			if err := streams.WriteFrame(w, data); err != nil {
				return err
			}
			s.blocks.Add(1)
			s.bytes.Add(uint64(len(data)))
		}
	}
	return nil
}
