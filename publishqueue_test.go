package gossipdb

import (
	"context"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/orphans"
)

// TestPublishQueueBudget: writes over the queue's budget in bytes or its count
// are refused, taken writes count until released, an idle queue takes a write
// larger than its budget, and writes come out in order, in batches.
func TestPublishQueueBudget(t *testing.T) {
	block := func() []*crdt.Block { return []*crdt.Block{{Data: make([]byte, 1<<10)}} }
	one := orphans.Cost(block()[0])
	q := newPublishQueue(4 * one)
	var offered [][]*crdt.Block
	for range 4 {
		b := block()
		if !q.offer(nil, b) {
			t.Fatal("refused a write within the budget")
		}
		offered = append(offered, b)
	}
	if q.offer(nil, block()) {
		t.Fatal("took a write over the budget")
	}
	jobs, err := q.take(context.Background())
	if err != nil || len(jobs) != 4 {
		t.Fatalf("took %d writes (%v), want 4", len(jobs), err)
	}
	for i, j := range jobs {
		if &j.blocks[0] != &offered[i][0] {
			t.Fatalf("write %d out of order", i)
		}
	}
	if q.offer(nil, block()) {
		t.Fatal("took a write while the taken ones still use the budget")
	}
	q.release(jobs)
	if !q.offer(nil, block()) {
		t.Fatal("released writes did not free the budget")
	}

	q = newPublishQueue(one / 2)
	if !q.offer(nil, block()) {
		t.Fatal("an idle queue refused a write larger than its budget")
	}
	if q.offer(nil, block()) {
		t.Fatal("took a second write over the budget")
	}

	q = newPublishQueue(1 << 62)
	for i := range publishQueueSize {
		if !q.offer(nil, block()) {
			t.Fatalf("refused write %d of %d", i, publishQueueSize)
		}
	}
	if q.offer(nil, block()) {
		t.Fatalf("took more than %d writes", publishQueueSize)
	}
	for taken := 0; taken < publishQueueSize; {
		jobs, err := q.take(context.Background())
		if err != nil || len(jobs) == 0 || len(jobs) > publishBatch {
			t.Fatalf("took %d writes (%v), want 1 to %d", len(jobs), err, publishBatch)
		}
		taken += len(jobs)
		q.release(jobs)
	}
	if q.bytes != 0 || len(q.jobs) != 0 {
		t.Fatalf("%d bytes and %d writes left after all were taken and released", q.bytes, len(q.jobs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := q.take(ctx); err == nil {
		t.Fatal("take from an empty queue returned before its context ended")
	}
}
