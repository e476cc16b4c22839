package gossipdb

import (
	"errors"
	"sync"
	"time"

	"github.com/gossipdb/gossipdb/internal/store"
)

// spaceRecheck is how often a node whose merges were refused for lack of disk
// space checks whether space was freed.
const spaceRecheck = time.Second

// spaceWaiter holds the collections whose received blocks could not be merged
// because the disk was full, until space is freed.
type spaceWaiter struct {
	mu          sync.Mutex
	collections map[string]bool // by name; nil when no wait runs
	// size is the largest merge transaction refused, in bytes: the wait ends
	// once a write that large would be accepted. Room for a smaller write is
	// not enough: the store usually stops right at its reserve, with room for
	// small writes, and catch-up would pull the same blocks again every
	// spaceRecheck only to fail to merge them again.
	size int64
	// checks counts the free-space checks of waitForSpace, for tests that
	// show what a check decides.
	checks int
}

// mergeFailed handles a merge transaction of received blocks in c that failed:
// catch-up brings the blocks again. It is scheduled a second later, then later
// each time while merges keep failing (catchUpRetryMin, catchUpRetryMax), or,
// when the disk was full, once a write as large as the refused merge would be
// accepted (before, it would fetch the blocks only to fail again).
func (n *Node) mergeFailed(c *Collection, err error) {
	if !errors.Is(err, store.ErrNoSpace) {
		n.log.Error("Cannot merge received blocks", logKeyTopic, c.SchemaID(), logKeyError, err)
		n.catchUp.failed(c.Name())
		return
	}
	n.metrics.noSpaceMerges.Add(1)
	var size int64
	if se := (*store.SpaceError)(nil); errors.As(err, &se) {
		size = se.Size
	}
	w := &n.space
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.collections != nil {
		w.collections[c.Name()] = true
		w.size = max(w.size, size)
		return
	}
	w.collections, w.size = map[string]bool{c.Name(): true}, size
	n.log.Warn("Disk full: received blocks wait for free space", logKeyCollection, c.Name(), logKeyError, err)
	n.goFunc(n.waitForSpace)
}

// waitForSpace checks the free space every spaceRecheck until a write as
// large as the largest merge refused would be accepted, then schedules
// catch-up of the collections whose merges failed.
func (n *Node) waitForSpace() {
	t := time.NewTicker(spaceRecheck)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		w := &n.space
		w.mu.Lock()
		size := w.size
		w.checks++
		w.mu.Unlock()
		if err := n.store.CheckSpace(size); err != nil {
			continue
		}
		w.mu.Lock()
		cols := w.collections
		w.collections, w.size = nil, 0
		w.mu.Unlock()
		n.log.Info("Disk space freed: catch-up brings the received blocks not merged")
		for name := range cols {
			n.catchUp.schedule(name, "")
		}
		return
	}
}

// awaitingSpace returns, when merges of collection's received blocks wait for
// free space (see mergeFailed) and a write as large as the largest one refused
// would still be refused, the error that says so (it matches ErrNoSpace);
// nil otherwise. Catch-up does not pull blocks it cannot merge: waitForSpace
// schedules the collection's sessions once there is room.
func (n *Node) awaitingSpace(collection string) error {
	w := &n.space
	w.mu.Lock()
	waiting, size := w.collections[collection], w.size
	w.mu.Unlock()
	if !waiting {
		return nil
	}
	if err := n.store.CheckSpace(size); errors.Is(err, store.ErrNoSpace) {
		return noSpace(err)
	}
	return nil
}
