package gossipdb_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

const (
	itemSDL  = `type Item { name: String stock: Int }`
	orderSDL = `type Order { item: String qty: Int }`
)

// TestTxnCommitsAtomically writes to two collections in one transaction that
// reads its own writes, by Get and by a query through an index, and finds
// every change visible after the commit and none before.
func TestTxnCommitsAtomically(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	orders := nodetest.AddCollection(t, orderSDL, n)[0]
	if _, err := items.CreateIndex(ctx, "", gossipdb.Order{Field: "stock"}); err != nil {
		t.Fatal(err)
	}
	gone, err := items.Create(ctx, map[string]any{"name": "old", "stock": 1})
	if err != nil {
		t.Fatal(err)
	}
	events, err := items.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bolt, order gossipdb.DocID
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		var err error
		if bolt, err = tx.Create("Item", map[string]any{"name": "bolt", "stock": 10}); err != nil {
			return err
		}
		if err := tx.Update("Item", bolt, map[string]any{"stock": 7}); err != nil {
			return err
		}
		if order, err = tx.Create("Order", map[string]any{"item": string(bolt), "qty": 3}); err != nil {
			return err
		}
		if err := tx.Delete("Item", gone); err != nil {
			return err
		}
		// Reads see the transaction's writes; others do not yet.
		d, err := tx.Get("Item", bolt)
		if err != nil || d.Fields["stock"] != int64(7) {
			t.Errorf("Get in the transaction = %v, %v; want stock 7", d, err)
		}
		if _, err := tx.Get("Item", gone); !errors.Is(err, gossipdb.ErrDeleted) {
			t.Errorf("Get of a document deleted in the transaction: %v, want ErrDeleted", err)
		}
		var found []gossipdb.DocID
		for d, err := range tx.Query("Item", gossipdb.Query{Filter: gossipdb.Filter{"stock": gossipdb.Filter{"_lt": 8}}}) {
			if err != nil {
				return err
			}
			found = append(found, d.ID)
		}
		if len(found) != 1 || found[0] != bolt {
			t.Errorf("query in the transaction found %v, want [%s]", found, bolt)
		}
		if _, err := items.Get(ctx, bolt); !errors.Is(err, gossipdb.ErrNotFound) {
			t.Errorf("Get outside the transaction before its commit: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := items.Get(ctx, bolt); err != nil || d.Fields["stock"] != int64(7) {
		t.Errorf("after commit Get = %v, %v; want stock 7", d, err)
	}
	if d, err := orders.Get(ctx, order); err != nil || d.Fields["qty"] != int64(3) {
		t.Errorf("after commit order = %v, %v; want qty 3", d, err)
	}
	if _, err := items.Get(ctx, gone); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Errorf("after commit deleted item: %v, want ErrDeleted", err)
	}
	// Item got a create, an update, a delete and the seal.
	for i := range 4 {
		if e := <-events; e.Collection != "Item" {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
}

// TestTxnFailureLeavesNothing fails a transaction midway in each way it can
// fail and finds the node unchanged.
func TestTxnFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	nodetest.AddCollection(t, orderSDL, n)
	id, err := items.Create(ctx, map[string]any{"name": "bolt", "stock": 10})
	if err != nil {
		t.Fatal(err)
	}
	before, err := items.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errFn := errors.New("out of stock")
	writes := func(tx *gossipdb.Txn) {
		if err := tx.Update("Item", id, map[string]any{"stock": 0}); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Create("Item", map[string]any{"name": "nut"}); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	for name, tc := range map[string]struct {
		ctx  context.Context
		fn   func(tx *gossipdb.Txn) error
		want error
	}{
		"error": {ctx, func(tx *gossipdb.Txn) error { writes(tx); return errFn }, errFn},
		"cancel": {cancelled, func(tx *gossipdb.Txn) error {
			writes(tx)
			cancel()
			return nil
		}, context.Canceled},
		"bad write": {ctx, func(tx *gossipdb.Txn) error {
			writes(tx)
			return tx.Update("Item", id, map[string]any{"stock": "many"})
		}, gossipdb.ErrInvalid},
		"unknown collection": {ctx, func(tx *gossipdb.Txn) error {
			writes(tx)
			_, err := tx.Create("Nope", map[string]any{})
			return err
		}, gossipdb.ErrNotFound},
	} {
		if err := n.Update(tc.ctx, tc.fn); !errors.Is(err, tc.want) {
			t.Errorf("%s: Update = %v, want %v", name, err, tc.want)
		}
	}
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("panic = %v, want boom", v)
			}
		}()
		n.Update(ctx, func(tx *gossipdb.Txn) error { writes(tx); panic("boom") })
	}()
	after, err := items.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Error("a failed transaction changed the collection")
	}
	// The node still writes (the panic left no lock held).
	if err := items.Update(ctx, id, map[string]any{"stock": 9}); err != nil {
		t.Fatal(err)
	}
}

// TestTxnView reads a snapshot and refuses writes.
func TestTxnView(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "bolt", "stock": 10})
	if err != nil {
		t.Fatal(err)
	}
	err = n.View(ctx, func(tx *gossipdb.Txn) error {
		if _, err := tx.Create("Item", map[string]any{"name": "x"}); !errors.Is(err, gossipdb.ErrReadOnly) {
			t.Errorf("Create in View: %v, want ErrReadOnly", err)
		}
		if err := tx.Update("Item", id, map[string]any{"stock": 1}); !errors.Is(err, gossipdb.ErrReadOnly) {
			t.Errorf("Update in View: %v, want ErrReadOnly", err)
		}
		// A write outside does not change the snapshot.
		if err := items.Update(ctx, id, map[string]any{"stock": 11}); err != nil {
			t.Fatal(err)
		}
		d, err := tx.Get("Item", id)
		if err != nil || d.Fields["stock"] != int64(10) {
			t.Errorf("Get in View = %v, %v; want the snapshot's stock 10", d, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTxnConflictsRunAgain runs read-modify-write transactions on one document
// from many goroutines: each sees the others' committed writes (a conflicting
// one runs again), so no increment is lost.
func TestTxnConflictsRunAgain(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "bolt", "stock": 0})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				err := n.Update(ctx, func(tx *gossipdb.Txn) error {
					d, err := tx.Get("Item", id)
					if err != nil {
						return err
					}
					return tx.Update("Item", id, map[string]any{"stock": d.Fields["stock"].(int64) + 1})
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	d, err := items.Get(ctx, id)
	if err != nil || d.Fields["stock"] != int64(workers*each) {
		t.Fatalf("stock = %v, %v; want %d", d, err, workers*each)
	}
}

// TestTxnTooLarge: a transaction over its own limit, or over what the store
// commits at once, fails with ErrTooLarge and writes nothing.
func TestTxnTooLarge(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	big := strings.Repeat("x", 600<<10)
	var ids []gossipdb.DocID
	for range 20 {
		id, err := items.Create(ctx, map[string]any{"name": big, "stock": 0})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	before, err := items.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 20 small changes to large documents: their states are more than the
	// store commits at once.
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		for _, id := range ids {
			if err := tx.Update("Item", id, map[string]any{"stock": 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, gossipdb.ErrTooLarge) {
		t.Errorf("Update of 20 large documents = %v, want ErrTooLarge", err)
	}
	// 14 large changes: over MaxTxnBytes.
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		for _, id := range ids[:14] {
			if err := tx.Update("Item", id, map[string]any{"name": big + "y"}); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, gossipdb.ErrTooLarge) {
		t.Errorf("Update of 14 large changes = %v, want ErrTooLarge", err)
	}
	if after, err := items.Fingerprint(ctx); err != nil || after != before {
		t.Errorf("a transaction too large changed the collection (%v)", err)
	}
}
