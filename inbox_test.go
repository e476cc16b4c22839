package gossipdb

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/orphans"
)

// TestInboxBudget: gossip over the inbox's budget, or over half of it from one
// peer, is refused; fetched blocks wait for room; a merged batch frees its bytes.
func TestInboxBudget(t *testing.T) {
	blk := &crdt.Block{Data: make([]byte, 1<<10)}
	one := orphans.Cost(blk)
	msg := func(via string) arrival {
		return arrival{blocks: []*crdt.Block{blk}, from: "a", via: peer.ID(via), gossip: true}
	}
	b := newInbox(4 * one)
	if !b.offer(msg("p")) || !b.offer(msg("p")) {
		t.Fatal("refused gossip within the budget")
	}
	if b.offer(msg("p")) {
		t.Fatal("a peer took more than half the inbox")
	}
	if !b.offer(msg("q")) || !b.offer(msg("r")) {
		t.Fatal("refused another peer's gossip within the budget")
	}
	if b.offer(msg("s")) {
		t.Fatal("took gossip over the budget")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.put(ctx, arrival{blocks: []*crdt.Block{blk}}); err == nil {
		t.Fatal("put into a full inbox did not wait")
	}
	batch, err := b.take(context.Background())
	if err != nil || len(batch) != 4 {
		t.Fatalf("took %d arrivals (%v), want 4", len(batch), err)
	}
	done := make(chan error)
	go func() { done <- b.put(context.Background(), arrival{blocks: []*crdt.Block{blk}}) }()
	b.release(batch)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !b.offer(msg("p")) {
		t.Fatal("a released peer's share was not freed")
	}
	// An empty inbox takes an arrival larger than its budget.
	b = newInbox(one / 2)
	if !b.offer(msg("p")) {
		t.Fatal("an empty inbox refused a large message")
	}
}
