package gossipdb

import (
	"context"
	"sync"

	"github.com/gossipdb/gossipdb/crdt"
)

// EventType says what an Event reports.
type EventType int

// The kinds of Event.
const (
	// EventCreated: a document was created (its genesis block was merged).
	EventCreated EventType = iota + 1
	// EventUpdated: a change to a document was merged.
	EventUpdated
	// EventDeleted: a block deleting a document was merged.
	EventDeleted
	// EventDropped: the reader was too slow and Dropped events were lost.
	EventDropped
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
	}
	return "unknown"
}

// Event reports one merged block of a collection, made locally or received from a
// peer.
type Event struct {
	Type       EventType
	Collection string
	DocID      DocID  // empty for EventDropped
	Block      string // CID of the merged block; empty for EventDropped
	Peer       string // peer ID of the node the block came from; empty when local
	Dropped    int    // for EventDropped: how many events were lost
}

// Remote reports whether the event's block came from a peer.
func (e Event) Remote() bool { return e.Peer != "" }

func newEvent(c *Collection, b *crdt.Block, peer string) Event {
	t := EventUpdated
	switch {
	case b.IsGenesis():
		t = EventCreated
	case b.Delete:
		t = EventDeleted
	}
	block := b.CID.String()
	doc := block
	if !b.IsGenesis() {
		doc = b.Doc.String()
	}
	return Event{Type: t, Collection: c.schema().Name, DocID: DocID(doc), Block: block, Peer: peer}
}

// watchers fans events out to every Watch channel without ever blocking the writer.
type watchers struct {
	mu   sync.Mutex
	list map[*watcher]struct{}
}

// watcher is one Watch call: a bounded queue drained into out by its goroutine.
type watcher struct {
	collection string
	limit      int
	wake       chan struct{}

	mu      sync.Mutex
	queue   []Event
	dropped int
}

// add registers a watcher of collection and starts the goroutine that feeds its
// channel until ctx or the node ends.
func (ws *watchers) add(n *Node, ctx context.Context, collection string) <-chan Event {
	w := &watcher{collection: collection, limit: n.opts.WatchBuffer, wake: make(chan struct{}, 1)}
	ws.mu.Lock()
	if ws.list == nil {
		ws.list = map[*watcher]struct{}{}
	}
	ws.list[w] = struct{}{}
	ws.mu.Unlock()
	out := make(chan Event)
	n.goFunc(func() {
		defer close(out)
		defer func() {
			ws.mu.Lock()
			delete(ws.list, w)
			ws.mu.Unlock()
		}()
		w.run(ctx, n.ctx, out)
	})
	return out
}

// emit queues n events of collection for every watcher of that collection.
// event builds the i-th event; it runs only when the collection has watchers.
func (ws *watchers) emit(collection string, n int, event func(i int) Event) {
	if n == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	var events []Event
	for w := range ws.list {
		if w.collection != collection {
			continue
		}
		if events == nil {
			events = make([]Event, n)
			for i := range events {
				events[i] = event(i)
			}
		}
		w.push(events)
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
