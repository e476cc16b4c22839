package gossipdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
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

// TestTxnSignsChangesTogether: a transaction's updates in an open collection
// share one signature per crdt.MaxSignedBatch and the last of them is its
// seal, so no empty change is written; a transaction's single change is a
// plain change; a change read back or written again in the same transaction
// is merged first, and the result is what one change after another gives.
func TestTxnSignsChangesTogether(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	var ids []gossipdb.DocID
	for i := range 20 {
		id, err := items.Create(ctx, map[string]any{"name": fmt.Sprint("item ", i), "stock": 0})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// blocksSince returns the blocks of the changes after position from.
	blocksSince := func(from uint64) (blocks []*crdt.Block, last uint64) {
		t.Helper()
		last, err := n.ChangesPosition()
		if err != nil {
			t.Fatal(err)
		}
		for c, err := range items.ChangesTo(ctx, from, last) {
			if err != nil {
				t.Fatal(err)
			}
			b, err := gossipdb.StoredBlock(n, items, c.Block)
			if err != nil {
				t.Fatal(err)
			}
			blocks = append(blocks, b)
		}
		return blocks, last
	}
	_, pos := blocksSince(0)

	for _, count := range []int{10, crdt.MaxSignedBatch + 1} {
		err := n.Update(ctx, func(tx *gossipdb.Txn) error {
			for _, id := range ids[:count] {
				if err := tx.Update("Item", id, map[string]any{"stock": count}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var blocks []*crdt.Block
		blocks, pos = blocksSince(pos)
		if len(blocks) != count {
			t.Fatalf("a transaction of %d updates wrote %d blocks, want %d (no separate seal)", count, len(blocks), count)
		}
		sigs := map[string]bool{}
		sealed := 0
		for _, b := range blocks {
			sigs[string(b.Sig)] = true
			if b.Txn == nil || !bytes.Equal(b.Txn.ID, blocks[0].Txn.ID) {
				t.Fatalf("block %s: transaction mark %+v, want the transaction's", b.CID, b.Txn)
			}
			if b.Txn.Parts != 0 {
				sealed++
				if b.Txn.Parts != count {
					t.Errorf("seal counts %d blocks, want %d", b.Txn.Parts, count)
				}
			}
		}
		if want := (count + crdt.MaxSignedBatch - 1) / crdt.MaxSignedBatch; len(sigs) != want || sealed != 1 {
			t.Errorf("%d updates: %d signatures and %d seals, want %d and 1", count, len(sigs), sealed, want)
		}
	}

	// One change: a plain block.
	err := n.Update(ctx, func(tx *gossipdb.Txn) error {
		return tx.Update("Item", ids[0], map[string]any{"name": "single"})
	})
	if err != nil {
		t.Fatal(err)
	}
	blocks, pos := blocksSince(pos)
	if len(blocks) != 1 || blocks[0].Txn != nil {
		t.Fatalf("a transaction of one update wrote %d blocks (first %+v), want one without a transaction mark", len(blocks), blocks)
	}

	// Reads and second writes of a held change.
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		if err := tx.Update("Item", ids[1], map[string]any{"stock": 100}); err != nil {
			return err
		}
		if err := tx.Update("Item", ids[2], map[string]any{"stock": 200}); err != nil {
			return err
		}
		if d, err := tx.Get("Item", ids[1]); err != nil || d.Fields["stock"] != int64(100) {
			t.Errorf("Get of a changed document in the transaction = %v, %v; want stock 100", d, err)
		}
		if err := tx.Update("Item", ids[2], map[string]any{"stock": 201}); err != nil {
			return err
		}
		if err := tx.Delete("Item", ids[3]); err != nil {
			return err
		}
		if _, err := tx.Get("Item", ids[3]); !errors.Is(err, gossipdb.ErrDeleted) {
			t.Errorf("Get of a document deleted in the transaction: %v, want ErrDeleted", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Four changes, the last of them the seal: a Get reads a held change
	// without merging it, so the delete was still held at the commit.
	blocks, _ = blocksSince(pos)
	if len(blocks) != 4 {
		t.Fatalf("the transaction wrote %d blocks, want 4", len(blocks))
	}
	if last := blocks[len(blocks)-1]; !last.Delete || last.Txn == nil || last.Txn.Parts != 4 {
		t.Errorf("the last block %+v, want the delete, sealing 4 blocks", last)
	}
	for i, want := range []int64{100, 201} {
		if d, err := items.Get(ctx, ids[i+1]); err != nil || d.Fields["stock"] != want {
			t.Errorf("item %d after commit = %v, %v; want stock %d", i+1, d, err, want)
		}
	}
	if _, err := items.Get(ctx, ids[3]); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Errorf("deleted item after commit: %v, want ErrDeleted", err)
	}
	if err := n.Check(ctx); err != nil {
		t.Error(err)
	}
}

// TestTxnDeletesWhatItQueries: a transaction that deletes the documents of a
// query writes its changes at once (see Txn.Query), and seals them with an
// empty change to the document it deleted last. The change feed reports the
// deletes, and the seal, which loses nothing, as no change overridden, nor as
// an update, which would tell a reader that the document lives: as what it
// leaves, a deleted document.
func TestTxnDeletesWhatItQueries(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	for i := range 3 {
		if _, err := items.Create(ctx, map[string]any{"name": "bolt", "stock": i}); err != nil {
			t.Fatal(err)
		}
	}
	start, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		for d, err := range tx.Query("Item", gossipdb.Query{}) {
			if err != nil {
				return err
			}
			if err := tx.Delete("Item", d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	to, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	deleted := map[gossipdb.DocID]bool{}
	for ch, err := range items.ChangesTo(ctx, start, to) {
		switch {
		case err != nil:
			t.Fatal(err)
		case ch.Type == gossipdb.EventOverridden:
			t.Errorf("the feed reports %s of %s overridden, a change of the transaction that deleted it", ch.Block, ch.DocID)
		case ch.Type == gossipdb.EventDeleted:
			deleted[ch.DocID] = true
		default:
			t.Errorf("the feed reports %s of %s as %v, want deleted", ch.Block, ch.DocID, ch.Type)
		}
	}
	if len(deleted) != 3 {
		t.Errorf("the feed reports %d documents deleted, want 3", len(deleted))
	}
}

// TestTxnQuerySeesWritesAhead: a query in a transaction reads a page of
// documents ahead of its loop; documents the loop body writes before the
// query reaches them are yielded as written (deleted ones not at all), in
// every order, and a limit still counts each document once.
func TestTxnQuerySeesWritesAhead(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    gossipdb.Query
		want int // documents yielded
	}{
		{"by ID", gossipdb.Query{}, 4},
		{"by name", gossipdb.Query{Order: []gossipdb.Order{{Field: "name"}}}, 4},
		{"by name, down, limit 3", gossipdb.Query{Order: []gossipdb.Order{{Field: "name", Desc: true}}, Limit: 3}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			n := nodetest.Open(t, "", nil)
			items := nodetest.AddCollection(t, itemSDL, n)[0]
			var ids []gossipdb.DocID
			for _, name := range []string{"a", "b", "c", "d", "e"} {
				id, err := items.Create(ctx, map[string]any{"name": name, "stock": 100})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			var first, deleted gossipdb.DocID
			yielded := 0
			err := n.Update(ctx, func(tx *gossipdb.Txn) error {
				first, yielded = "", 0
				for d, err := range tx.Query("Item", tc.q) {
					if err != nil {
						return err
					}
					yielded++
					if first == "" {
						// Every other document: 10 taken, and one deleted.
						first, deleted = d.ID, ids[2]
						if first == deleted {
							deleted = ids[3]
						}
						for _, id := range ids {
							var err error
							switch id {
							case first:
							case deleted:
								err = tx.Delete("Item", id)
							default:
								err = tx.Update("Item", id, map[string]any{"stock": 90})
							}
							if err != nil {
								return err
							}
						}
						continue
					}
					if d.ID == deleted {
						return fmt.Errorf("the query yielded %s, which the loop deleted", d.ID)
					}
					stock := d.Fields["stock"].(int64)
					if stock != 90 {
						return fmt.Errorf("the query yielded %s with stock %d, before the loop's write of 90", d.ID, stock)
					}
					if err := tx.Update("Item", d.ID, map[string]any{"stock": stock + 1}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if yielded != tc.want {
				t.Errorf("the query yielded %d documents, want %d", yielded, tc.want)
			}
			// Of the three documents updated to 90, each yielded after the
			// first took 1 more.
			stocks := map[int64]int{}
			for _, id := range ids {
				if id == deleted || id == first {
					continue
				}
				d, err := items.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				stocks[d.Fields["stock"].(int64)]++
			}
			if want := map[int64]int{91: tc.want - 1, 90: 4 - tc.want}; stocks[91] != want[91] || stocks[90] != want[90] {
				t.Errorf("stocks after the transaction %v, want %v", stocks, want)
			}
		})
	}
}

// TestTxnOfNilFunction: Update and View of a nil function fail with
// ErrInvalid rather than panic.
func TestTxnOfNilFunction(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	if err := n.Update(context.Background(), nil); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("Update(ctx, nil): %v, want ErrInvalid", err)
	}
	if err := n.View(context.Background(), nil); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("View(ctx, nil): %v, want ErrInvalid", err)
	}
}

// TestTxnKeptPastItsFunction: a Txn kept after the function it was passed
// returned refuses every call with ErrInvalid saying so, rather than with the
// store's error about a discarded transaction.
func TestTxnKeptPastItsFunction(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "bolt", "stock": 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []func(context.Context, func(*gossipdb.Txn) error) error{n.Update, n.View} {
		var kept *gossipdb.Txn
		var query iter.Seq2[*gossipdb.Document, error] // made inside, run after
		if err := run(ctx, func(tx *gossipdb.Txn) error {
			kept, query = tx, tx.Query("Item", gossipdb.Query{})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var errMadeInside error
		for _, err := range query {
			errMadeInside = err
			break
		}
		_, errCreate := kept.Create("Item", map[string]any{"name": "nut"})
		_, errGet := kept.Get("Item", id)
		var errQuery error
		for _, err := range kept.Query("Item", gossipdb.Query{}) {
			errQuery = err
			break
		}
		for what, err := range map[string]error{"Create": errCreate, "Get": errGet, "Query": errQuery, "a Query made inside": errMadeInside,
			"Update": kept.Update("Item", id, map[string]any{"stock": 2}), "Delete": kept.Delete("Item", id)} {
			if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "the transaction has ended") {
				t.Errorf("%s on a Txn kept past its function: %v, want ErrInvalid saying it has ended", what, err)
			}
		}
	}
	if d, err := items.Get(ctx, id); err != nil || d.Fields["stock"] != int64(1) {
		t.Errorf("after the refused calls: %v, %v; want the document unchanged", d, err)
	}
}

// TestTxnGetAuthor: a transaction's Get fills Document.Author as the
// collection's Get does, for a document it read and one it created (it was
// left empty).
func TestTxnGetAuthor(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n)[0]
	old, err := users.Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	var created gossipdb.DocID
	authors := map[gossipdb.DocID]string{}
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		if created, err = tx.Create("User", map[string]any{"name": "Bob"}); err != nil {
			return err
		}
		if err := tx.Update("User", old, map[string]any{"age": 1}); err != nil {
			return err
		}
		for _, id := range []gossipdb.DocID{old, created} {
			d, err := tx.Get("User", id)
			if err != nil {
				return err
			}
			authors[id] = d.Author
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []gossipdb.DocID{old, created} {
		d, err := users.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Author == "" || authors[id] != d.Author {
			t.Errorf("document %s: the transaction's Get says author %q, the collection's %q", id, authors[id], d.Author)
		}
	}
}

// TestTxnQueryReadsIndexesOfItsSnapshot: a query in a transaction reads only
// the indexes its snapshot holds whole. An index created and built after the
// transaction started has no entries in its snapshot; read, it answered
// nothing.
func TestTxnQueryReadsIndexesOfItsSnapshot(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	docs := make([]map[string]any, 600)
	for i := range docs {
		docs[i] = map[string]any{"name": fmt.Sprintf("n%d", i%3), "stock": i % 10}
	}
	if _, err := items.CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	err := n.View(ctx, func(tx *gossipdb.Txn) error {
		if _, err := items.CreateIndex(ctx, "by_name", gossipdb.Order{Field: "name"}); err != nil {
			return err
		}
		waitIndexes(t, items)
		var got int
		for _, err := range tx.Query("Item", gossipdb.Query{Filter: gossipdb.Filter{"name": "n1"}}) {
			if err != nil {
				return err
			}
			got++
		}
		count, err := tx.Count("Item", gossipdb.Filter{"name": "n1"})
		if err != nil {
			return err
		}
		if got != 200 || count != 200 {
			t.Errorf("in a transaction older than the index: Query found %d, Count %d; want 200", got, count)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A transaction started once the index is ready reads it.
	err = n.View(ctx, func(tx *gossipdb.Txn) error {
		count, err := tx.Count("Item", gossipdb.Filter{"name": "n1"})
		if err == nil && count != 200 {
			t.Errorf("in a transaction after the index: Count %d, want 200", count)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAddCollectionWhileTxnRuns: AddCollection waits for the transactions
// under way, and a transaction's calls name collections. AddCollection held
// the node's lock of its collections while it waited, so a transaction that
// named a collection then waited for it, and the node hung for good.
func TestAddCollectionWhileTxnRuns(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	nodetest.AddCollection(t, itemSDL, n)
	added := make(chan error, 1)
	var once sync.Once
	err := n.Update(ctx, func(tx *gossipdb.Txn) error {
		once.Do(func() {
			go func() {
				_, err := n.AddCollection(ctx, `type Tag { name: String @index }`)
				added <- err
			}()
		})
		// Once AddCollection waits for this transaction to end, name a
		// collection in it.
		nodetest.Eventually(t, 10*time.Second, func() error {
			if !goroutineWaits("store.(*Store).AddIndexes", "sync.(*RWMutex).Lock") {
				return errors.New("AddCollection does not wait for the transaction")
			}
			return nil
		})
		created := make(chan error, 1)
		go func() {
			_, err := tx.Create("Item", map[string]any{"name": "a"})
			created <- err
		}()
		select {
		case err := <-created:
			return err
		case <-time.After(10 * time.Second):
			// Returning ends the transaction, which lets AddCollection
			// and then Create go on.
			return errors.New("Create in a transaction waited for AddCollection, which waits for the transaction")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-added; err != nil {
		t.Fatal(err)
	}
}

// goroutineWaits reports whether a goroutine's stack holds both fn and wait.
func goroutineWaits(fn, wait string) bool {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, fn) && strings.Contains(g, wait) {
			return true
		}
	}
	return false
}

// TestTxnKeepsItsVersion: a transaction reads and writes a collection
// through one version, even when Patch or UseVersion changes the active
// version meanwhile. Its reads after the change showed the new field names
// and refused filters and writes by the old ones, so one View gave the same
// document two shapes.
func TestTxnKeepsItsVersion(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, itemSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "a", "stock": 1})
	if err != nil {
		t.Fatal(err)
	}
	first := items.Version()
	res, err := items.Patch(ctx, `type Item { label: String @rename(from: "name") stock: Int }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := items.UseVersion(ctx, first); err != nil {
		t.Fatal(err)
	}
	// reads checks, in tx, that the document reads as it did before the
	// active version changed, by the name "name".
	reads := func(tx *gossipdb.Txn, when string, want string) {
		t.Helper()
		doc, err := tx.Get("Item", id)
		if err != nil || doc.Fields["name"] != want || doc.Fields["label"] != nil {
			t.Errorf("%s: the transaction reads %v, %v; want name %q", when, doc, err, want)
		}
		count, err := tx.Count("Item", gossipdb.Filter{"name": want})
		if err != nil || count != 1 {
			t.Errorf("%s: Count by name: %d, %v; want 1", when, count, err)
		}
	}
	// A write transaction, while another goroutine makes the version with
	// label active.
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		reads(tx, "before UseVersion", "a")
		done := make(chan error, 1)
		go func() {
			_, err := items.UseVersion(ctx, res.Version)
			done <- err
		}()
		if err := <-done; err != nil {
			return err
		}
		reads(tx, "after UseVersion", "a")
		return tx.Update("Item", id, map[string]any{"name": "b"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if doc, err := items.Get(ctx, id); err != nil || doc.Fields["label"] != "b" {
		t.Fatalf("after the transaction: %v, %v; want label b", doc, err)
	}
	// A View while the collection is patched back to name.
	if _, err := items.UseVersion(ctx, first); err != nil {
		t.Fatal(err)
	}
	err = n.View(ctx, func(tx *gossipdb.Txn) error {
		reads(tx, "before Patch", "b")
		if _, err := items.Patch(ctx, `type Item { title: String @rename(from: "name") stock: Int }`); err != nil {
			return err
		}
		reads(tx, "after Patch", "b")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
