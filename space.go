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
}

// mergeFailed handles a merge transaction of received blocks in c that failed:
// catch-up brings the blocks again. It is scheduled a second later, then later
// each time while merges keep failing (catchUpRetryMin, catchUpRetryMax), or,
// when the disk was full, once writes are accepted again (before, it would
// fetch the blocks only to fail again).
func (n *Node) mergeFailed(c *Collection, err error) {
	if !errors.Is(err, store.ErrNoSpace) {
		n.log.Error("Cannot merge received blocks", logKeyTopic, c.SchemaID(), logKeyError, err)
		n.catchUp.failed(c.Name())
		return
	}
	n.metrics.noSpaceMerges.Add(1)
	w := &n.space
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.collections != nil {
		w.collections[c.Name()] = true
		return
	}
	w.collections = map[string]bool{c.Name(): true}
	n.log.Warn("Disk full: received blocks wait for free space", logKeyCollection, c.Name(), logKeyError, err)
	n.goFunc(n.waitForSpace)
}

// waitForSpace checks the free space every spaceRecheck until writes are
// accepted again, then schedules catch-up of the collections whose merges
// failed.
func (n *Node) waitForSpace() {
	t := time.NewTicker(spaceRecheck)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		if err := n.store.CheckSpace(); err != nil {
			continue
		}
		w := &n.space
		w.mu.Lock()
		cols := w.collections
		w.collections = nil
		w.mu.Unlock()
		n.log.Info("Disk space freed: catch-up brings the received blocks not merged")
		for name := range cols {
			n.catchUp.schedule(name, "")
		}
		return
	}
}
