package gossipdb

import (
	"context"
	"sync"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/orphans"
)

// publishQueueBytes bounds the committed local writes waiting to be published
// or being published, counted as Options.OrphanBytes counts blocks
// (orphans.Cost): a write's blocks stay in memory until they are sent.
const publishQueueBytes = 32 << 20

// publishJob is a committed local write waiting to be published.
type publishJob struct {
	c      *Collection
	blocks []*crdt.Block
	cost   int64 // what the blocks count against publishQueueBytes
}

// publishQueue holds committed local writes for publishLoop, within a budget
// in bytes and publishQueueSize writes. A write that finds it over either is
// not queued: its blocks are not published and catch-up delivers them. A
// write that finds nothing queued or being published is always queued,
// whatever its size.
type publishQueue struct {
	budget int64
	ready  chan struct{} // has a value when jobs were queued since the last take

	mu    sync.Mutex
	jobs  []publishJob
	bytes int64 // the cost of jobs and of those taken and not yet released
}

func newPublishQueue(budget int64) *publishQueue {
	return &publishQueue{budget: budget, ready: make(chan struct{}, 1)}
}

// offer queues the committed blocks of one write to collection c, and reports
// whether they fitted.
func (q *publishQueue) offer(c *Collection, blocks []*crdt.Block) bool {
	j := publishJob{c: c, blocks: blocks}
	for _, b := range blocks {
		j.cost += orphans.Cost(b)
	}
	q.mu.Lock()
	idle := q.bytes == 0 && len(q.jobs) == 0
	if !idle && (q.bytes+j.cost > q.budget || len(q.jobs) >= publishQueueSize) {
		q.mu.Unlock()
		return false
	}
	q.jobs = append(q.jobs, j)
	q.bytes += j.cost
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// take waits for queued writes and returns the oldest, up to publishBatch,
// in order. Their bytes count against the budget until release.
func (q *publishQueue) take(ctx context.Context) ([]publishJob, error) {
	for {
		q.mu.Lock()
		if k := min(len(q.jobs), publishBatch); k > 0 {
			jobs := make([]publishJob, k)
			copy(jobs, q.jobs)
			clear(q.jobs[:k]) // the queue keeps no reference to what it gave
			q.jobs = q.jobs[k:]
			q.mu.Unlock()
			return jobs, nil
		}
		q.jobs = nil
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release frees the budget of jobs, once they are published.
func (q *publishQueue) release(jobs []publishJob) {
	var cost int64
	for _, j := range jobs {
		cost += j.cost
	}
	q.mu.Lock()
	q.bytes -= cost
	q.mu.Unlock()
}
