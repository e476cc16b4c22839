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
	// err is the refusal of the wait's last check of the free space (or of
	// the merge that started the wait): what a session deferred meanwhile
	// reports, without a check of its own.
	err error
	// wait numbers the waits begun: the waitForSpace of a wait that Sync
	// ended, finding room first (awaitingSpaceNow), sees a later number, or
	// no wait, and returns.
	wait int
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
	refusal := err
	if se := (*store.SpaceError)(nil); errors.As(err, &se) {
		size, refusal = se.Size, se
	}
	w := &n.space
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.collections != nil {
		w.collections[c.Name()] = true
		w.size = max(w.size, size)
		return
	}
	w.collections, w.size, w.err = map[string]bool{c.Name(): true}, size, refusal
	w.wait++
	wait := w.wait
	n.log.Warn("Disk full: received blocks wait for free space", logKeyCollection, c.Name(), logKeyError, err)
	n.goFunc(func() { n.waitForSpace(wait) })
}

// waitForSpace checks the free space every spaceRecheck until a write as
// large as the largest merge refused would be accepted, then ends the wait
// (roomAgain). It returns early when Sync found room first (see
// awaitingSpaceNow). wait is the number of the wait it checks for.
func (n *Node) waitForSpace(wait int) {
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
		if w.wait != wait || w.collections == nil {
			w.mu.Unlock()
			return // ended by Sync
		}
		size := w.size
		w.checks++
		w.mu.Unlock()
		if err := n.store.CheckSpace(size); err != nil {
			if errors.Is(err, store.ErrNoSpace) {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
			continue
		}
		n.roomAgain(wait)
		return
	}
}

// roomAgain ends the wait numbered wait, if it still runs, and schedules
// catch-up of the collections whose merges failed.
func (n *Node) roomAgain(wait int) {
	w := &n.space
	w.mu.Lock()
	if w.wait != wait || w.collections == nil {
		w.mu.Unlock()
		return
	}
	cols := w.collections
	w.collections, w.size, w.err = nil, 0, nil
	w.mu.Unlock()
	n.log.Info("Disk space freed: catch-up brings the received blocks not merged")
	for name := range cols {
		n.catchUp.schedule(name, "")
	}
}

// awaitingSpace returns, while merges of collection's received blocks wait
// for free space (see mergeFailed), the error that says so (it matches
// ErrNoSpace), with the figures of the wait's last check; nil otherwise.
// Catch-up does not pull blocks it cannot merge: its sessions wait for
// waitForSpace to find room, and do not check the free space themselves
// (many may be asked for while the disk stays full); waitForSpace schedules
// them once there is room, within spaceRecheck.
func (n *Node) awaitingSpace(collection string) error {
	w := &n.space
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.collections[collection] {
		return nil
	}
	return noSpace(w.err)
}

// awaitingSpaceNow is awaitingSpace for Sync, which a caller asks for once,
// perhaps right after freeing space: it checks the free space, and ends the
// wait at once when a write as large as the largest merge refused would be
// accepted.
func (n *Node) awaitingSpaceNow(collection string) error {
	w := &n.space
	w.mu.Lock()
	waiting, size, wait := w.collections[collection], w.size, w.wait
	w.mu.Unlock()
	if !waiting {
		return nil
	}
	switch err := n.store.CheckSpace(size); {
	case errors.Is(err, store.ErrNoSpace):
		return noSpace(err)
	case err == nil:
		n.roomAgain(wait)
	}
	return nil
}
