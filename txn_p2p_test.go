package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/orphans"
)

// accountSDL is the bank of the transaction tests. Balances are counters: a
// transfer adds -x to one account and +x to another, and concurrent transfers
// on different nodes commute, so the total is conserved on every replica at
// every moment, provided each transfer is seen whole. Last-writer-wins
// balances would lose one of two concurrent transfers on the same account
// (each node writing its own new balance), changing the total however
// atomically each arrives.
const accountSDL = `type Account { name: String balance: Int @crdt(type: pncounter) }`

const (
	bankAccounts = 20
	bankStart    = 1000
)

// bankTotal sums the balances of the accounts n holds, in one snapshot.
func bankTotal(ctx context.Context, n *gossipdb.Node) (total int64, accounts int, err error) {
	err = n.View(ctx, func(tx *gossipdb.Txn) error {
		total, accounts = 0, 0
		for d, err := range tx.Query("Account", gossipdb.Query{}) {
			if err != nil {
				return err
			}
			total += d.Fields["balance"].(int64)
			accounts++
		}
		return nil
	})
	return total, accounts, err
}

// runBank opens three connected nodes (with the given gossip loss), creates
// the accounts in one transaction and runs random transfers on all three,
// while readers on every node check that they see either no account or all of
// them, holding the whole total.
func runBank(t *testing.T, loss float64, transfers int) {
	ctx := context.Background()
	seed := nodetest.Seed(t)
	opts := &gossipdb.Options{SyncInterval: 300 * time.Millisecond}
	ns := []*gossipdb.Node{nodetest.Open(t, "", opts), nodetest.Open(t, "", opts), nodetest.Open(t, "", opts)}
	cs := nodetest.AddCollection(t, accountSDL, ns...)
	for _, n := range ns {
		gossipdb.SetGossipLoss(n, loss)
		nodetest.Subscribe(t, "Account", n)
	}
	nodetest.Connect(t, ns[0], ns[1])
	nodetest.Connect(t, ns[1], ns[2])
	nodetest.Connect(t, ns[0], ns[2])
	for i, n := range ns {
		nodetest.WaitTopicPeers(t, n, "Account", ns[(i+1)%3], ns[(i+2)%3])
	}

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads atomic.Int64
	for i, n := range ns {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				total, k, err := bankTotal(ctx, n)
				if err != nil {
					t.Error(err)
					return
				}
				if !(k == 0 && total == 0) && !(k == bankAccounts && total == bankAccounts*bankStart) {
					t.Errorf("node %d sees %d accounts holding %d, want 0 or %d holding %d",
						i, k, total, bankAccounts, bankAccounts*bankStart)
					return
				}
				reads.Add(1)
			}
		})
	}

	var ids []gossipdb.DocID
	err := ns[0].Update(ctx, func(tx *gossipdb.Txn) error {
		ids = ids[:0]
		for i := range bankAccounts {
			id, err := tx.Create("Account", map[string]any{"name": fmt.Sprint("a", i), "balance": bankStart})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, time.Minute, func() error {
		for i, n := range ns {
			if _, k, err := bankTotal(ctx, n); err != nil || k != bankAccounts {
				return fmt.Errorf("node %d has %d accounts (%v)", i, k, err)
			}
		}
		return nil
	})
	var writers sync.WaitGroup
	for w, n := range ns {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		writers.Go(func() {
			for range transfers {
				from, to, amount := ids[rng.IntN(bankAccounts)], ids[rng.IntN(bankAccounts)], 1+rng.IntN(50)
				err := n.Update(ctx, func(tx *gossipdb.Txn) error {
					if err := tx.Update("Account", from, map[string]any{"balance": -amount}); err != nil {
						return err
					}
					return tx.Update("Account", to, map[string]any{"balance": amount})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	waitConverged(t, time.Minute, cs...)
	close(stop)
	readers.Wait()
	if reads.Load() < 3 {
		t.Errorf("only %d reads checked", reads.Load())
	}
	for i, n := range ns {
		total, k, err := bankTotal(ctx, n)
		if err != nil || k != bankAccounts || total != bankAccounts*bankStart {
			t.Errorf("node %d: %d accounts holding %d (%v)", i, k, total, err)
		}
		if m := n.Metrics(); i > 0 && m.MergedTxns == 0 {
			t.Errorf("node %d merged no transaction", i)
		}
	}
	if loss > 0 {
		var pulled uint64
		for _, n := range ns {
			pulled += n.Metrics().CatchUpBlocks
		}
		if pulled == 0 {
			t.Error("catch-up brought no block: the lossy run did not exercise it")
		}
	}
}

// TestTxnBank: random concurrent transfers on three nodes; every reader on
// every node sees the total unchanged at every moment, and the nodes converge.
func TestTxnBank(t *testing.T) { runBank(t, 0, 100) }

// TestTxnBankLossyGossip is TestTxnBank with half of all gossip lost, so that
// transactions arrive in part by gossip and in part by catch-up.
func TestTxnBankLossyGossip(t *testing.T) { runBank(t, 0.5, 60) }

// TestTxnArrivesWhole writes one transaction whose blocks are too large to
// share a gossip message: the receiver holds them until it has all, and a
// reader sees none of the documents or all of them.
func TestTxnArrivesWhole(t *testing.T) {
	ctx := context.Background()
	n1, n2 := nodetest.Open(t, "", nil), nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n1, n2)
	nodetest.Subscribe(t, "Item", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Item", n2)
	const docs = 8
	big := strings.Repeat("x", 700<<10) // two blocks fill a message
	var partial atomic.Int64            // a count of documents other than 0 and docs, seen by the reader
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			k := 0
			n2.View(ctx, func(tx *gossipdb.Txn) error {
				for _, err := range tx.Query("Item", gossipdb.Query{}) {
					if err == nil {
						k++
					}
				}
				return nil
			})
			if k != 0 && k != docs {
				partial.Store(int64(k))
			}
			if k == docs {
				return
			}
		}
	}()
	err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
		for i := range docs {
			if _, err := tx.Create("Item", map[string]any{"name": big, "stock": i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the transaction did not arrive")
	}
	if k := partial.Load(); k != 0 {
		t.Fatalf("a reader saw %d of the transaction's %d documents", k, docs)
	}
	if m := n1.Metrics(); m.MessagesOut < docs/2 {
		t.Errorf("%d messages carried the transaction; the test wants several", m.MessagesOut)
	}
	waitConverged(t, 30*time.Second, items...)
}

// TestTxnFailedLeavesNothingOnPeers fails transactions midway on one node and
// then commits one: the peer receives only the committed one.
func TestTxnFailedLeavesNothingOnPeers(t *testing.T) {
	ctx := context.Background()
	n1, n2 := nodetest.Open(t, "", nil), nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n1, n2)
	nodetest.Subscribe(t, "Item", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Item", n2)
	errFail := errors.New("fail")
	for range 3 {
		err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
			if _, err := tx.Create("Item", map[string]any{"name": "ghost"}); err != nil {
				return err
			}
			return errFail
		})
		if !errors.Is(err, errFail) {
			t.Fatal(err)
		}
	}
	if err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
		_, err := tx.Create("Item", map[string]any{"name": "real"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 30*time.Second, items...)
	if k := count(t, items[1], nil); k != 1 {
		t.Errorf("peer holds %d documents, want only the committed one", k)
	}
	if k := count(t, items[1], gossipdb.Where{"name": "ghost"}); k != 0 {
		t.Errorf("peer holds %d documents of failed transactions", k)
	}
}

// TestTxnPartsFloodStaysWithinBudget: a peer sends, one message each, the
// first block of transactions that claim thousands of blocks and never sends
// the rest. The victim holds no more of them than the peer's share of its
// budget, evicts and counts the rest, shows none of them, and an honest
// transaction still arrives whole.
func TestTxnPartsFloodStaysWithinBudget(t *testing.T) {
	const (
		txnPeerBytes = 3 << 20
		blockSize    = 100 << 10
		flood        = 4 * txnPeerBytes
	)
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", &gossipdb.Options{TxnBytes: 2 * txnPeerBytes, TxnPeerBytes: txnPeerBytes})
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)

	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
	value := strings.Repeat("x", blockSize)
	for i := 0; i*blockSize < flood; i++ {
		id := []byte(fmt.Sprintf("attack %09d", i)[:crdt.TxnIDLen])
		b, err := crdt.NewGenesisPart(s, map[string]any{"name": value}, nil, []byte("0123456789abcdef"),
			&crdt.TxnPart{ID: id, Parts: crdt.MaxTxnParts}, testKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
			t.Fatal(err)
		}
		if held := n2.Metrics().TxnBytes; held > txnPeerBytes {
			t.Fatalf("holds %d bytes of transactions, the peer's share is %d", held, txnPeerBytes)
		}
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if m := n2.Metrics(); m.EvictedTxnBlocks == 0 {
			return fmt.Errorf("no block evicted yet (%d held bytes)", m.TxnBytes)
		}
		return nil
	})
	if held := n2.Metrics().TxnBytes; held > txnPeerBytes {
		t.Fatalf("holds %d bytes of transactions, the peer's share is %d", held, txnPeerBytes)
	}
	err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
		for i := range 3 {
			if _, err := tx.Create("User", map[string]any{"name": "honest", "age": i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if k := count(t, users[1], nil); k != 3 {
			return fmt.Errorf("victim shows %d documents, want the 3 honest ones", k)
		}
		return nil
	})
}

// TestTxnLaterBlockWaitsForItsPart sends a transaction's blocks out of order
// with a later change that builds on its seal: the change waits with the
// transaction, without a history fetch, and is merged right after it.
func TestTxnLaterBlockWaitsForItsPart(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n)[0]
	nodetest.Subscribe(t, "User", n)
	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	a.join(t, n)
	id := []byte("0123456789abcdef")
	g, err := crdt.NewGenesisPart(s, map[string]any{"name": "first"}, nil, []byte("fedcba9876543210"), &crdt.TxnPart{ID: id}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := crdt.NewState(g)
	if err != nil {
		t.Fatal(err)
	}
	seal, err := crdt.NewChangePart(s, st, nil, nil, false, nil, &crdt.TxnPart{ID: id, Parts: 2}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Merge(seal); err != nil {
		t.Fatal(err)
	}
	later, err := crdt.NewChange(s, st, map[string]any{"name": "later"}, nil, false, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(b *crdt.Block) {
		t.Helper()
		if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
			t.Fatal(err)
		}
	}
	heldAbove := func(min uint64) {
		t.Helper()
		nodetest.Eventually(t, 10*time.Second, func() error {
			if held := n.Metrics().TxnBytes; held <= min {
				return fmt.Errorf("holds %d bytes, want more than %d", held, min)
			}
			return nil
		})
	}
	publish(seal)
	heldAbove(0)
	sealHeld := n.Metrics().TxnBytes
	publish(later)
	heldAbove(sealHeld)
	if k := count(t, users, nil); k != 0 {
		t.Fatalf("%d documents visible before the transaction is whole", k)
	}
	publish(g)
	waitDoc(t, users, gossipdb.DocID(g.CID.String()), map[string]any{"name": "later"})
	m := n.Metrics()
	if m.Fetches != 0 || m.TxnBytes != 0 || m.MergedTxns != 1 {
		t.Errorf("fetches %d, held bytes %d, merged transactions %d; want 0, 0, 1", m.Fetches, m.TxnBytes, m.MergedTxns)
	}
}

// TestTxnFeedNamesItsPeer: a receiver's change feed reports a transaction's
// changes as the other blocks it receives: not local, from the peer that
// sent them.
func TestTxnFeedNamesItsPeer(t *testing.T) {
	ctx := context.Background()
	n1, n2 := nodetest.Open(t, "", nil), nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n1, n2)
	nodetest.Subscribe(t, "Item", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Item", n2)
	err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
		for i := range 2 {
			if _, err := tx.Create("Item", map[string]any{"name": "bolt", "stock": i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var changes []gossipdb.Change
	nodetest.Eventually(t, 30*time.Second, func() error {
		to, err := n2.ChangesPosition()
		if err != nil {
			return err
		}
		changes = changes[:0]
		for ch, err := range items[1].ChangesTo(ctx, 0, to) {
			if err != nil {
				return err
			}
			changes = append(changes, ch)
		}
		if len(changes) != 3 { // two creates and the seal
			return fmt.Errorf("%d changes in the receiver's feed, want 3", len(changes))
		}
		return nil
	})
	for _, ch := range changes {
		if ch.Local || ch.Peer != n1.ID() {
			t.Errorf("the receiver's feed reports %s %s as from %s (local %v), want from %s", ch.Type, ch.Block, ch.Peer, ch.Local, n1.ID())
		}
	}
}

// TestSyncWaitsForEvictedTransactions: node 2's budget for transactions
// holds one of the two that catch-up brings it in one batch, so the second
// is evicted while the first merges. Sync must not return before it has
// brought the second again.
func TestSyncWaitsForEvictedTransactions(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", &gossipdb.Options{TxnBytes: orphans.MaxCost, TxnPeerBytes: orphans.MaxCost})
	items := nodetest.AddCollection(t, itemSDL, n1, n2)
	partition(t, n1, n2, "Item")
	big := strings.Repeat("x", 300<<10) // three documents: most of the budget
	for range 2 {
		err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
			for i := range 3 {
				if _, err := tx.Create("Item", map[string]any{"name": big, "stock": i}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n2.Sync(ctx, "Item"); err != nil {
		t.Fatal(err)
	}
	want, err := items[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := items[1].Fingerprint(ctx); err != nil || got != want {
		t.Fatalf("right after Sync node 2's fingerprint is %s (%v), node 1's %s (%d blocks evicted)", got, err, want, n2.Metrics().EvictedTxnBlocks)
	}
	t.Logf("%d blocks evicted", n2.Metrics().EvictedTxnBlocks)
}

// TestTxnsTooLargeTogetherMergeApart: two transactions, each of which its
// writer committed in one store transaction, reach node 2 by catch-up in one
// batch: together they are more than its store commits at once, so it must
// merge them apart, each whole, rather than fail again each time.
func TestTxnsTooLargeTogetherMergeApart(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n1, n2)
	var ids []gossipdb.DocID
	for i := range 12 {
		id, err := items[0].Create(ctx, map[string]any{"name": "bolt", "stock": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	partition(t, n1, n2, "Item")
	if _, err := n2.Sync(ctx, "Item"); err != nil {
		t.Fatal(err)
	}
	// Each transaction writes about 2 MiB of blocks, and as much again in
	// states and change-feed entries: two of them are more than a store
	// transaction of the default Options takes.
	big := strings.Repeat("x", 350<<10)
	for k := range 2 {
		err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
			for _, id := range ids[k*6 : k*6+6] {
				if err := tx.Update("Item", id, map[string]any{"name": big}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n2.Sync(ctx, "Item"); err != nil {
		t.Fatal(err)
	}
	want, err := items[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := items[1].Fingerprint(ctx); err != nil || got != want {
		t.Fatalf("right after Sync node 2's fingerprint is %s (%v), node 1's %s", got, err, want)
	}
	if m := n2.Metrics(); m.MergedTxns != 2 {
		t.Errorf("node 2 merged %d transactions, want 2", m.MergedTxns)
	}
}
