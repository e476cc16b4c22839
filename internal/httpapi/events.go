package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gossipdb/gossipdb"
)

// Bounds of GET /api/v0/events. Together, the event streams hold at most
// (Go 1.26, default options):
//
//   - Options.EventBudget, 64 MiB, of events their readers have not taken
//     yet, however many streams stall;
//   - a write buffer each, 16 × 64 KiB = 1 MiB, and the goroutine that
//     writes its keep-alives (a few KiB);
//   - two goroutines and the node's watch per collection named, or for
//     all collections when the stream names none, some 8 KiB idle:
//     4,096 × 8 KiB = 32 MiB.
//
// So some 97 MiB, and the kernel's socket buffers. The node's watches queue
// events only until the stream's goroutines take them, which they do at once
// whatever the reader does; a watch's queue fills (to WatchBuffer events,
// some 1.4 MiB) only while those goroutines fall behind the writers for want
// of CPU. Before the budget, the events a stalled reader left unsent waited
// in those queues: up to twice WatchBuffer per collection and stream (the
// queue, and the batches its goroutine had taken to hand over), some
// 2.8 MiB, so 4,096 collections followed held up to 11 GiB.
//
// Events carry no id: a stream does not resume. A reader that missed
// changes reads the documents again, or follows a collection's change feed
// (GET /api/v0/collections/{name}/changes), which resumes from
// Last-Event-ID.
const (
	// MaxEventStreams is how many event streams the handler serves at once; one
	// more gets 503 with Retry-After.
	MaxEventStreams = 16
	// MaxStreamWatches is how many watches of the node the open event streams
	// may hold together; a stream that would take them past it gets 503 with
	// Retry-After. A stream that names collections costs two goroutines and
	// the node's watch per collection it names (some 8 KiB idle, so 32 MiB
	// for all of them): without this bound, 16 streams naming every
	// collection of a node of 20,000 collections (100 calls of collection
	// add) would hold 640,000 goroutines and some 2.5 GiB. A stream that
	// names none follows every collection through one watch of the node
	// (gossipdb.Node.WatchBatches), and counts one, however many collections
	// there are.
	MaxStreamWatches = 4096
	// streamWriteTimeout bounds one write to a stream: a client that reads
	// nothing for that long is cut off, so it cannot hold a stream slot forever.
	streamWriteTimeout = 30 * time.Second
	// streamBatchEvents is how many change events a stream sends for the blocks
	// merged together (one write, or one merge of received blocks); the rest
	// are counted in one "skipped" event. Encoding an event costs more than
	// merging a small block: a stream that sent one per block of a large write
	// cost the writer 5–16% of its rate.
	streamBatchEvents = 4
	// streamBufferBytes is a stream writer's buffer: the batches waiting when
	// one is written go out with it, up to half the buffer.
	streamBufferBytes = 64 << 10
)

// What an unsent batch of events costs in a stream's queue, as counted in
// Options.EventBudget: measured upper bounds with Go 1.26 (a batch of one
// created document's event holds some 280 bytes, of one update some 350).
const (
	batchCost     = 128 // a queuedBatch, in an array that may be twice as long as the queue
	eventCost     = 96  // a gossipdb.Event, its strings aside
	stringCostMod = 16  // a string's bytes are counted rounded up to this
)

// Names of the Server-Sent Events of GET /api/v0/events.
const (
	sseReady   = "ready"
	sseChange  = "change"
	sseSkipped = "skipped"
	sseDropped = "dropped"
	sseEnded   = "ended"
)

// streams counts the open event streams and the collections they follow,
// holds the unsent events of all of them within one budget, and ends them all
// on request.
type streams struct {
	open    atomic.Int32
	watches atomic.Int64
	refused atomic.Uint64 // streams refused: no slot free, or too many collections together
	ended   chan struct{}
	endOnce sync.Once

	mu      sync.Mutex
	budget  int64                    // most bytes of unsent events, all streams together
	held    int64                    // bytes of unsent events, all streams together
	overrun uint64                   // streams ended because their unsent events did not fit
	pushed  uint64                   // batches queued, all streams together
	queues  map[*eventQueue]struct{} // of the open event streams
}

func newStreams(budget int64) *streams {
	return &streams{ended: make(chan struct{}), budget: budget, queues: map[*eventQueue]struct{}{}}
}

// enter takes a stream slot for a stream that follows watches collections;
// false if no slot is free, the collections would be more than
// MaxStreamWatches, or streams have ended.
func (st *streams) enter(watches int) bool {
	select {
	case <-st.ended:
		return false
	default:
	}
	if st.open.Add(1) > MaxEventStreams {
		st.open.Add(-1)
		st.refused.Add(1)
		return false
	}
	if st.watches.Add(int64(watches)) > MaxStreamWatches {
		st.leave(watches)
		st.refused.Add(1)
		return false
	}
	return true
}

// leave gives back what enter took.
func (st *streams) leave(watches int) {
	st.watches.Add(-int64(watches))
	st.open.Add(-1)
}

func (st *streams) end() { st.endOnce.Do(func() { close(st.ended) }) }

// follow returns a context of parent that is cancelled too when streams end,
// for a stream that reads from an iterator rather than selecting on ended,
// and its cancel, which the stream calls before it returns.
func (st *streams) follow(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-st.ended:
			cancel()
		case <-ctx.Done():
		}
	})
	return ctx, func() { cancel(); wg.Wait() }
}

// state returns the bytes of unsent events the streams hold and how many
// streams were overrun so far.
func (st *streams) state() (held int64, overrun uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.held, st.overrun
}

// eventQueue holds the batches of one event stream between the node's
// watches, which push them as soon as they are merged whatever the reader
// does, and the stream's writer, which pops them as the reader takes them.
// Its bytes count in its streams' budget: when a batch does not fit, the
// stream whose reader is furthest behind is overrun: its batches are dropped
// and it ends.
type eventQueue struct {
	st   *streams
	wake chan struct{} // a token when there is something to pop

	// guarded by st.mu
	batches []queuedBatch
	bytes   int64
	overrun bool
}

// queuedBatch is a batch in a queue, what it costs there, and when it was
// queued: its place among all the batches the streams ever queued.
type queuedBatch struct {
	gossipdb.Batch
	size int64
	seq  uint64
}

// newQueue returns an empty queue of a stream, within st's budget; the stream
// gives it back with closeQueue.
func (st *streams) newQueue() *eventQueue {
	q := &eventQueue{st: st, wake: make(chan struct{}, 1)}
	st.mu.Lock()
	st.queues[q] = struct{}{}
	st.mu.Unlock()
	return q
}

// closeQueue drops what q holds and gives its bytes back.
func (st *streams) closeQueue(q *eventQueue) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.drop(q)
	delete(st.queues, q)
}

// drop empties q and gives its bytes back. st.mu must be held.
func (st *streams) drop(q *eventQueue) {
	st.held -= q.bytes
	q.batches, q.bytes = nil, 0
}

// push queues b, unless q was overrun. When b does not fit in the budget,
// the queues whose oldest batch was queued first are overrun, one after the
// other, until it does; if none holds a batch, q is, and b is dropped too.
// A reader that stopped reading keeps its oldest change waiting longer than
// any that reads, even one that follows many more collections and so holds
// more bytes at a time.
func (q *eventQueue) push(b gossipdb.Batch) {
	size := batchBytes(b)
	st := q.st
	st.mu.Lock()
	for !q.overrun && st.held+size > st.budget {
		behind := q
		for other := range st.queues {
			if len(other.batches) > 0 && (len(behind.batches) == 0 || other.batches[0].seq < behind.batches[0].seq) {
				behind = other
			}
		}
		st.drop(behind)
		behind.overrun = true
		st.overrun++
		behind.signal()
	}
	if !q.overrun {
		st.pushed++
		q.batches = append(q.batches, queuedBatch{b, size, st.pushed})
		q.bytes += size
		st.held += size
	}
	st.mu.Unlock()
	q.signal()
}

// pop takes the oldest batch; ok is false when there is none. overrun
// reports that the stream was overrun: it has nothing left to send.
func (q *eventQueue) pop() (b gossipdb.Batch, ok, overrun bool) {
	st := q.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if q.overrun || len(q.batches) == 0 {
		return gossipdb.Batch{}, false, q.overrun
	}
	qb := q.batches[0]
	q.batches[0] = queuedBatch{}
	q.batches = q.batches[1:]
	q.bytes -= qb.size
	st.held -= qb.size
	return qb.Batch, true, false
}

// signal wakes the stream's writer.
func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// batchBytes is what b costs in a queue (see batchCost).
func batchBytes(b gossipdb.Batch) int64 {
	n := int64(batchCost)
	for _, e := range b.Events {
		n += eventCost + stringCost(e.Collection) + stringCost(string(e.DocID)) + stringCost(e.Block) +
			stringCost(e.Peer) + stringCost(e.Author)
	}
	return n
}

func stringCost(s string) int64 {
	return int64((len(s) + stringCostMod - 1) / stringCostMod * stringCostMod)
}

// StreamReady is the data of the first event of a stream, "ready": the
// collections it watches.
type StreamReady struct {
	PeerID      string   `json:"peerID"`
	Collections []string `json:"collections"`
	// All reports that the stream follows every collection, those added
	// after it opened too: it named none.
	All bool `json:"all"`
}

// Change is the data of a "change" event: one block of a collection merged,
// made on this node or received from a peer, as gossipdb.Event reports it.
type Change struct {
	Collection string `json:"collection"`
	// Type is created, updated or deleted: what the change feed reports of
	// the block (a block cut off by a revocation as it merged is deleted or
	// updated, see gossipdb.Event), but updated where the feed says
	// overridden.
	Type  string `json:"type"`
	DocID string `json:"docID"`
	Block string `json:"block"` // CID of the merged block, or of the revocation (see gossipdb.Event)
	// Peer is the peer ID of the node the block came from (for a
	// revocation's rebuild, the revocation); absent when the change was made
	// on this node.
	Peer string `json:"peer,omitempty"`
	// Author is the block's author, the peer ID form of the key that signed
	// it (gossipdb.AuthorID).
	Author string `json:"author"`
}

// Skipped is the data of a "skipped" event: that many more blocks of the
// collection merged together with those of the change events just before it,
// which a stream does not send one by one (see streamBatchEvents).
type Skipped struct {
	Collection string `json:"collection"`
	Skipped    int    `json:"skipped"`
}

// Dropped is the data of a "dropped" event: the stream's reader was too slow
// and that many changes of the collection were not sent.
type Dropped struct {
	Collection string `json:"collection"`
	Dropped    int    `json:"dropped"`
}

// Ended is the data of an "ended" event, the last of a stream that fell so
// far behind that its unsent events did not fit in Options.EventBudget, which
// all streams share: Reason says so. Its reader has missed changes: it should
// read the documents again, and may open a new stream.
type Ended struct {
	Reason string `json:"reason"`
}

// events streams the changes of the collections named by the "collection"
// query parameters (each once, however often it is named; every collection,
// those added later too, through one watch of the node when there is none)
// as Server-Sent Events, until the client leaves, the node
// closes or EndStreams is called; while none merge it sends keep-alives
// (KeepAliveInterval). Of the blocks merged together it sends the
// first streamBatchEvents as "change" events and counts the rest in a
// "skipped" event. Batches wait for the reader in the stream's eventQueue,
// within the budget all streams share; a stream overrun ends with an "ended"
// event.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	var cols []*gossipdb.Collection
	names := r.URL.Query()["collection"]
	all := len(names) == 0
	if !all {
		seen := make(map[string]bool, len(names))
		for _, name := range names {
			c, err := s.n.Collection(name)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if !seen[c.Name()] {
				seen[c.Name()] = true
				cols = append(cols, c)
			}
		}
	} else {
		cols = s.n.Collections()
	}
	watches := len(cols)
	if all {
		watches = 1
	} else if watches > MaxStreamWatches {
		s.fail(w, r, badRequest("the stream would follow %d collections, more than %d: name fewer with collection=, or none to follow all", len(cols), MaxStreamWatches))
		return
	}
	if !s.streams.enter(watches) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams, or streams naming more than %d collections together, or the API is shutting down", MaxStreamWatches))
		return
	}
	defer s.streams.leave(watches)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	queue := s.streams.newQueue()
	defer s.streams.closeQueue(queue)
	// watchesEnded is closed when all watches have ended, which happens only
	// when the node closes (or on return). A stream of every collection
	// watches the node, even one of no collection yet.
	var watchesEnded chan struct{}
	if all {
		ch, err := s.n.WatchBatches(ctx, streamBatchEvents)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		watchesEnded = make(chan struct{})
		defer func() {
			cancel()
			<-watchesEnded
		}()
		// Each batch is queued at once, as below.
		go func() {
			defer close(watchesEnded)
			for b := range ch {
				queue.push(b)
			}
		}()
	} else if len(cols) > 0 {
		watchesEnded = make(chan struct{})
		var wg sync.WaitGroup
		// On return: stop the watches, and wait for the goroutines that
		// forward their events, before the queue is closed.
		defer func() {
			cancel()
			<-watchesEnded
		}()
		for _, c := range cols {
			ch, err := c.WatchBatches(ctx, streamBatchEvents)
			if err != nil {
				go func() { wg.Wait(); close(watchesEnded) }()
				s.fail(w, r, err)
				return
			}
			// Each batch is queued at once, so that the node's queue of the
			// watch stays empty whatever the reader does: what waits for the
			// reader is counted in the budget.
			wg.Go(func() {
				for b := range ch {
					queue.push(b)
				}
			})
		}
		go func() { wg.Wait(); close(watchesEnded) }()
	}
	ready := StreamReady{PeerID: s.n.ID(), Collections: []string{}, All: all}
	for _, c := range cols {
		ready.Collections = append(ready.Collections, c.Name())
	}

	w.Header().Set(headerContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	sw := newSSEWriter(w, s.keepAlive, cancel)
	defer sw.close()
	// write buffers one event; sw flushes what is buffered. Batches that are
	// already waiting go out in one write: a flush per event, a system call and a
	// wake-up of the reader each, was most of what a stream cost.
	write := func(event string, data any) bool {
		body, err := marshal(data)
		return err == nil && sw.event(event, "", body)
	}
	writeBatch := func(b gossipdb.Batch) bool {
		if b.Dropped > 0 && !write(sseDropped, Dropped{Collection: b.Collection, Dropped: b.Dropped}) {
			return false
		}
		for _, e := range b.Events {
			if !write(sseChange, change(e)) {
				return false
			}
		}
		if skipped := b.Count - len(b.Events); skipped > 0 {
			return write(sseSkipped, Skipped{Collection: b.Collection, Skipped: skipped})
		}
		return true
	}
	if !write(sseReady, ready) || !sw.flush() {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.streams.ended:
			return
		case <-watchesEnded: // the node closed
			return
		case <-queue.wake:
		}
		for {
			b, ok, overrun := queue.pop()
			if overrun {
				cancel() // the watches: nothing more is sent
				write(sseEnded, Ended{Reason: fmt.Sprintf("this stream fell behind: its unsent changes did not fit "+
					"in the %d bytes all event streams hold together; read the documents again", s.streams.budget)})
				sw.flush()
				return
			}
			if !ok {
				break
			}
			if !writeBatch(b) {
				return
			}
		}
		if !sw.flush() {
			return
		}
	}
}

func change(e gossipdb.Event) Change {
	return Change{Collection: e.Collection, Type: e.Type.String(), DocID: string(e.DocID), Block: e.Block, Peer: e.Peer, Author: e.Author}
}
