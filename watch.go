package gossipdb

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// EventType says what an Event reports.
type EventType int

// The kinds of Event.
const (
	// EventCreated: a document was created (its genesis block was merged).
	EventCreated EventType = iota + 1
	// EventUpdated: a change to a document was merged.
	EventUpdated
	// EventDeleted: a block deleting a document was merged. Also a change
	// that writes no value merged into a deleted document, and in a
	// restricted collection a block cut off as it merged, or a revocation,
	// that leaves its document reading as deleted (see Change.Type).
	EventDeleted
	// EventDropped: the reader was too slow and Dropped events were lost.
	EventDropped
	// EventOverridden: a change concurrent with a delete of its document was
	// merged, and the delete wins. Only the change feed reports it (see Change).
	EventOverridden
)

// String returns the event type's name ("created").
func (t EventType) String() string {
	switch t {
	case EventCreated:
		return "created"
	case EventUpdated:
		return "updated"
	case EventDeleted:
		return "deleted"
	case EventDropped:
		return "dropped"
	case EventOverridden:
		return "overridden"
	}
	return "unknown"
}

// Event reports one merged block of a collection, made locally or received from a
// peer. Its Type is the one the change feed gives the block (Change.Type),
// except that a change merged into a deleted document, EventOverridden in the
// feed, is EventUpdated here. So in a restricted collection a block cut off
// by a revocation as it merges is reported by what it leaves: EventDeleted
// when the document then reads as deleted (its genesis is cut off, or it was
// deleted), else EventUpdated, whatever the block itself did. A revocation
// that cuts off blocks merged before reports, for each document whose values
// it changes, EventUpdated or EventDeleted with the revocation's CID as Block,
// the admin who signed it as Author and where it came from as Peer (empty
// when it was made here; see Change.Peer).
type Event struct {
	Type       EventType
	Collection string
	DocID      DocID  // empty for EventDropped
	Block      string // CID of the merged block; empty for EventDropped
	Peer       string // peer ID of the node the block came from (see Change.Peer); empty when local
	Author     string // the block's author (see AuthorID); empty for EventDropped
	Dropped    int    // for EventDropped: how many events were lost
}

// Remote reports whether the event's block came from a peer.
func (e Event) Remote() bool { return e.Peer != "" }

// newEvent returns the event of block b of c, just merged, which the change
// feed reports as kind (store.Tx.Kind), from peer ("" when made here).
func newEvent(c *Collection, b *crdt.Block, kind store.ChangeKind, peer string) Event {
	block := b.CID.String()
	doc := block
	if !b.IsGenesis() {
		doc = b.Doc.String()
	}
	return Event{Type: eventType(kind), Collection: c.schema().Name, DocID: DocID(doc), Block: block, Peer: peer, Author: AuthorID(b.Author)}
}

// eventType is the type of the Event of a change the change feed reports as
// kind: the feed's type (changeType), but EventUpdated for an overridden
// change, which only the feed reports (see EventOverridden).
func eventType(kind store.ChangeKind) EventType {
	if kind == store.ChangeOverridden {
		return EventUpdated
	}
	return changeType(kind)
}

// Batch reports blocks of a collection merged together: one local write
// (Create, CreateMany, Update, Delete) or one merge of received blocks.
type Batch struct {
	Collection string
	// Events has the events of the first blocks, at most the limit given to
	// WatchBatches, in the order they merged.
	Events []Event
	// Count is how many blocks merged together: more than len(Events) when
	// the batch was cut to the limit.
	Count int
	// Dropped is how many blocks merged since the previous Batch were not
	// reported because the reader was too slow (see WatchBatches). A Batch
	// that reports dropped blocks has no events and a Count of 0.
	Dropped int
}

// MaxBatchEvents is the largest limit WatchBatches takes.
const MaxBatchEvents = 1024

// watchers fans events out to every Watch and WatchBatches channel without
// ever blocking the writer.
type watchers struct {
	mu   sync.Mutex
	list map[*watcher]struct{}
}

// watcher is one Watch or WatchBatches call: a bounded queue drained into its
// channel by its goroutine.
type watcher struct {
	collection string
	all        bool // every collection's events, not collection's only (Node.WatchBatches)
	limit      int  // most events queued
	batchLimit int  // WatchBatches: most events in a Batch; 0 for Watch
	wake       chan struct{}

	mu      sync.Mutex
	queue   []Event // Watch
	batches []Batch // WatchBatches
	queued  int     // WatchBatches: events in batches
	dropped int     // Watch: events not queued
	// droppedIn counts, by collection, the blocks WatchBatches did not queue
	// since the last batch it queued: at most one entry per collection.
	droppedIn map[string]int
}

// add registers w and starts run, which feeds w's channel until ctx or the
// node ends and then closes it.
func (ws *watchers) add(n *Node, w *watcher, run func(node context.Context)) {
	w.limit, w.wake = n.opts.WatchBuffer, make(chan struct{}, 1)
	ws.mu.Lock()
	if ws.list == nil {
		ws.list = map[*watcher]struct{}{}
	}
	ws.list[w] = struct{}{}
	ws.mu.Unlock()
	n.goFunc(func() {
		defer func() {
			ws.mu.Lock()
			delete(ws.list, w)
			ws.mu.Unlock()
		}()
		run(n.ctx)
	})
}

// emit queues n events of collection for every watcher of that collection.
// event builds the i-th event; it runs only for events some watcher takes:
// building one costs more than merging a small block.
func (ws *watchers) emit(collection string, n int, event func(i int) Event) {
	if n == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var events []Event // the first events, built as watchers need them
	need := func(k int) []Event {
		for i := len(events); i < k; i++ {
			events = append(events, event(i))
		}
		return events[:k]
	}
	for w := range ws.list {
		if !w.all && w.collection != collection {
			continue
		}
		if w.batchLimit > 0 {
			w.pushBatch(collection, need(min(n, w.batchLimit)), n)
		} else {
			w.push(need(n))
		}
	}
}

func (w *watcher) push(events []Event) {
	mine := false
	w.mu.Lock()
	for _, e := range events {
		if e.Collection != w.collection {
			continue
		}
		mine = true
		if len(w.queue) >= w.limit {
			w.dropped++
			continue
		}
		w.queue = append(w.queue, e)
	}
	w.mu.Unlock()
	if mine {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// pushBatch queues a Batch of count blocks of collection whose first events
// are events, or counts them as dropped when the queue holds its limit of
// events.
func (w *watcher) pushBatch(collection string, events []Event, count int) {
	w.mu.Lock()
	if w.queued+len(events) > w.limit {
		if w.droppedIn == nil {
			w.droppedIn = map[string]int{}
		}
		w.droppedIn[collection] += count
		w.mu.Unlock()
		return
	}
	// A smaller batch can fit after a larger one was dropped: the drops are
	// reported where they happened, before it.
	w.batches = w.lost(w.batches)
	w.batches = append(w.batches, Batch{Collection: collection, Events: events, Count: count})
	w.queued += len(events)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// lost appends to batches, and returns, a Batch with no events for each
// collection that lost blocks since the last batch queued, in the order of
// their names, counting them in Dropped; and forgets the count.
func (w *watcher) lost(batches []Batch) []Batch {
	for _, name := range slices.Sorted(maps.Keys(w.droppedIn)) {
		batches = append(batches, Batch{Collection: name, Dropped: w.droppedIn[name]})
	}
	w.droppedIn = nil
	return batches
}

// runBatches delivers queued batches to out until ctx or node ends, each
// collection's lost blocks counted in a Batch of their own where they were
// lost.
func (w *watcher) runBatches(ctx, node context.Context, out chan<- Batch) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-node.Done():
			return
		case <-w.wake:
		}
		w.mu.Lock()
		batches := w.lost(w.batches)
		w.batches, w.queued = nil, 0
		w.mu.Unlock()
		for _, b := range batches {
			select {
			case out <- b:
			case <-ctx.Done():
				return
			case <-node.Done():
				return
			}
		}
	}
}

// run delivers queued events to out until ctx or node ends.
func (w *watcher) run(ctx, node context.Context, out chan<- Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-node.Done():
			return
		case <-w.wake:
		}
		w.mu.Lock()
		batch, dropped := w.queue, w.dropped
		w.queue, w.dropped = nil, 0
		w.mu.Unlock()
		if dropped > 0 {
			batch = append(batch, Event{Type: EventDropped, Collection: w.collection, Dropped: dropped})
		}
		for _, e := range batch {
			select {
			case out <- e:
			case <-ctx.Done():
				return
			case <-node.Done():
				return
			}
		}
	}
}
