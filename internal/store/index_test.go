package store_test

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// TestIndexEntryValues: an index entry's document ID is read back from its
// key, in either direction. The entries this version writes hold nothing
// else; one written before layout 7, which holds the ID as its value too,
// reads and checks alike, and one whose value names another document fails
// Check.
func TestIndexEntryValues(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	var ixs []store.Index
	for _, desc := range []bool{false, true} {
		ix, err := s.AddIndex(user.ID, map[bool]string{false: "asc", true: "desc"}[desc],
			[]store.IndexField{{Key: "name", Kind: crdt.KindString, Desc: desc}, {Key: "age", Kind: crdt.KindInt, Desc: desc}})
		if err != nil {
			t.Fatal(err)
		}
		if ready, err := s.BuildIndex(user.ID, ix.ID); err != nil || !ready {
			t.Fatalf("BuildIndex of an empty collection: %v, %v", ready, err)
		}
		ixs = append(ixs, ix)
	}
	var want []string
	for _, set := range []map[string]any{{"name": "a\x00b", "age": int64(3)}, {"name": "b"}, {"age": int64(-1)}} {
		g := genesis(t, user, set)
		apply(t, s, g)
		want = append(want, g.CID.String())
	}
	slices.Sort(want)

	// entries returns the documents ix's entries name, in ID order, and
	// the entries' keys and values.
	entries := func(ix store.Index) (docs []string, keys, values [][]byte) {
		err := s.View(func(tx *store.Tx) error {
			return tx.IndexEntries(ix, nil, nil, false, func(key []byte, doc func() (string, error)) error {
				id, err := doc()
				if err != nil {
					return err
				}
				docs = append(docs, id)
				k := append(binary.BigEndian.AppendUint32([]byte{'x'}, ix.ID), key...)
				v, err := tx.GetRaw(k)
				keys, values = append(keys, k), append(values, v)
				return err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(docs)
		return docs, keys, values
	}
	for _, ix := range ixs {
		docs, keys, values := entries(ix)
		if !slices.Equal(docs, want) {
			t.Fatalf("index %s names %v, want %v", ix.Name, docs, want)
		}
		for i, v := range values {
			if len(v) != 0 {
				t.Errorf("index %s: entry %x holds %q, want nothing", ix.Name, keys[i], v)
			}
		}
	}

	// Entries as an earlier layout wrote them: the document ID as the value.
	docs, keys, _ := entries(ixs[1])
	setValue := func(k []byte, v string) {
		t.Helper()
		if err := s.Update(func(tx *store.Tx) error { return tx.SetRaw(k, []byte(v)) }); err != nil {
			t.Fatal(err)
		}
	}
	byKey := map[string]string{}
	err := s.View(func(tx *store.Tx) error {
		return tx.IndexEntries(ixs[1], nil, nil, false, func(key []byte, doc func() (string, error)) error {
			id, err := doc()
			byKey[string(key)] = id
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		setValue(k, byKey[string(k[5:])])
	}
	if got, _, _ := entries(ixs[1]); !slices.Equal(got, docs) {
		t.Errorf("entries holding their document IDs name %v, want %v", got, docs)
	}
	if err := check(s); err != nil {
		t.Fatalf("Check of entries holding their document IDs: %v", err)
	}
	other := byKey[string(keys[1][5:])]
	setValue(keys[0], other)
	if err := check(s); err == nil || !strings.Contains(err.Error(), other) {
		t.Fatalf("Check of an entry holding another document's ID: %v, want an error naming it", err)
	}
}

// TestCheckFindsIndexDamage: Check adds up the entries the documents give as
// it reads them, and compares the sums with sums of the entries each index
// holds; each kind of damage to an index must still fail it, naming the
// index and what is wrong: a missing entry, a stray one left by a change, one
// in place of the right one (as many entries as the states give), one of a
// deleted document, one beyond where a building index has read, and a
// malformed one.
func TestCheckFindsIndexDamage(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	var states []*crdt.State
	var blocks []*crdt.Block
	for i := range 20 {
		g := genesis(t, user, map[string]any{"name": fmt.Sprintf("n%d", i%5), "age": int64(i), "points": float64(i)})
		blocks = append(blocks, g)
		states = append(states, apply(t, s, g))
	}
	ready, err := s.AddIndex(user.ID, "name_age", []store.IndexField{{Key: "name", Kind: crdt.KindString}, {Key: "age", Kind: crdt.KindInt, Desc: true}})
	if err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		if done, err = s.BuildIndex(user.ID, ready.ID); err != nil {
			t.Fatal(err)
		}
	}
	// An index never built: only the documents written after it have entries.
	building, err := s.AddIndex(user.ID, "points", []store.IndexField{{Key: "points", Kind: crdt.KindFloat}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 25; i++ {
		g := genesis(t, user, map[string]any{"name": "late", "age": int64(i), "points": float64(i)})
		blocks = append(blocks, g)
		states = append(states, apply(t, s, g))
	}
	if err := check(s); err != nil {
		t.Fatalf("Check of intact indexes: %v", err)
	}

	// keys returns the keys of ix's entries by document ID.
	keys := func(ix store.Index) map[string][][]byte {
		t.Helper()
		out := map[string][][]byte{}
		err := s.View(func(tx *store.Tx) error {
			return tx.IndexEntries(ix, nil, nil, false, func(key []byte, doc func() (string, error)) error {
				id, err := doc()
				out[id] = append(out[id], append(binary.BigEndian.AppendUint32([]byte{'x'}, ix.ID), key...))
				return err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	raw := func(f func(tx *store.Tx) error) {
		t.Helper()
		if err := s.Update(f); err != nil {
			t.Fatal(err)
		}
	}
	// damaged checks that Check fails naming ix and saying want, then undoes
	// the damage with undo.
	damaged := func(what string, ix store.Index, want string, undo func(tx *store.Tx) error) {
		t.Helper()
		err := check(s)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", ix.Name)) || !strings.Contains(err.Error(), want) {
			t.Errorf("Check with %s: %v, want an error naming index %q and saying %q", what, err, ix.Name, want)
		}
		raw(undo)
		if err := check(s); err != nil {
			t.Fatalf("Check once %s is undone: %v", what, err)
		}
	}

	// A missing entry.
	doc3 := blocks[3].CID.String()
	lost := keys(ready)[doc3][0]
	raw(func(tx *store.Tx) error { return tx.DeleteRaw(lost) })
	damaged("an entry missing", ready, "has no entry", func(tx *store.Tx) error { return tx.SetRaw(lost, nil) })

	// A stray entry: the one a document had before its name changed.
	old := keys(ready)[doc3][0]
	states[3] = apply(t, s, change(t, user, states[3], map[string]any{"name": "renamed"}, nil))
	raw(func(tx *store.Tx) error { return tx.SetRaw(old, nil) })
	damaged("a stray entry", ready, "the state gives", func(tx *store.Tx) error { return tx.DeleteRaw(old) })

	// An entry in place of the right one: as many entries as the states give.
	doc5 := blocks[5].CID.String()
	old = keys(ready)[doc5][0]
	states[5] = apply(t, s, change(t, user, states[5], map[string]any{"age": int64(-5)}, nil))
	right := keys(ready)[doc5][0]
	raw(func(tx *store.Tx) error {
		if err := tx.DeleteRaw(right); err != nil {
			return err
		}
		return tx.SetRaw(old, nil)
	})
	damaged("an entry in place of the right one", ready, "the state gives", func(tx *store.Tx) error {
		if err := tx.DeleteRaw(old); err != nil {
			return err
		}
		return tx.SetRaw(right, nil)
	})

	// The entry of a deleted document.
	doc4 := blocks[4].CID.String()
	old = keys(ready)[doc4][0]
	del, err := crdt.NewChange(user, states[4], nil, nil, true, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, del)
	raw(func(tx *store.Tx) error { return tx.SetRaw(old, nil) })
	damaged("an entry of a deleted document", ready, "is deleted", func(tx *store.Tx) error { return tx.DeleteRaw(old) })

	// A stray entry of a document the building index has not read.
	doc22 := blocks[22].CID.String()
	old = keys(building)[doc22][0]
	apply(t, s, change(t, user, states[22], map[string]any{"points": 0.5}, nil))
	raw(func(tx *store.Tx) error { return tx.SetRaw(old, nil) })
	damaged("a stray entry beyond the build", building, "the state gives", func(tx *store.Tx) error { return tx.DeleteRaw(old) })

	// A malformed entry.
	bad := binary.BigEndian.AppendUint32([]byte{'x'}, ready.ID)
	bad = append(bad, 0xEE, 0xEE)
	raw(func(tx *store.Tx) error { return tx.SetRaw(bad, nil) })
	damaged("a malformed entry", ready, "malformed", func(tx *store.Tx) error { return tx.DeleteRaw(bad) })
}

// endsAfter is a context whose Err reports it canceled from its n-th call on,
// and counts the calls.
type endsAfter struct {
	context.Context
	calls, n int
}

func (c *endsAfter) Err() error {
	c.calls++
	if c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// TestCheckStopsWhenItsContextEnds: Check looks at its context as it reads,
// in each of its passes (document records, the index's entries, author
// chains, the change feed), and stops with the context's error, saying in
// which pass, wherever it ends.
func TestCheckStopsWhenItsContextEnds(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	s.TrackChains(user.ID, nil, nil)
	ix, err := s.AddIndex(user.ID, "name", []store.IndexField{{Key: "name", Kind: crdt.KindString}})
	if err != nil {
		t.Fatal(err)
	}
	if ready, err := s.BuildIndex(user.ID, ix.ID); err != nil || !ready {
		t.Fatalf("BuildIndex of an empty collection: %v, %v", ready, err)
	}
	// 1,000 documents, each in its own transaction (a change-feed record
	// each), 600 of them by authors of their own (an author chain each).
	for i := range 1000 {
		key := testKey
		if i < 600 {
			_, key, _ = ed25519.GenerateKey(nil)
		}
		g, err := crdt.NewGenesis(user, map[string]any{"name": fmt.Sprint("n", i)}, nil, newNonce(), key)
		if err != nil {
			t.Fatal(err)
		}
		apply(t, s, g)
	}
	whole := &endsAfter{Context: context.Background(), n: 1 << 30}
	if err := s.View(func(tx *store.Tx) error { return tx.Check(whole) }); err != nil {
		t.Fatalf("Check: %v", err)
	}
	passes := map[string]int{
		"check: document records: ": 0,
		`check: index "name" of `:   0,
		"check: author chains: ":    0,
		"check: change feed: ":      0,
	}
	for n := 1; n <= whole.calls; n++ {
		ctx := &endsAfter{Context: context.Background(), n: n}
		err := s.View(func(tx *store.Tx) error { return tx.Check(ctx) })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Check with a context that ends at its look %d of %d: %v, want context.Canceled", n, whole.calls, err)
		}
		if ctx.calls != n {
			t.Fatalf("Check with a context that ends at its look %d: went on to look %d", n, ctx.calls)
		}
		for p := range passes {
			if strings.Contains(err.Error(), p) {
				passes[p]++
			}
		}
	}
	for p, stops := range passes {
		if stops == 0 {
			t.Errorf("Check never stopped in the pass %q (%d looks in all)", p, whole.calls)
		}
	}
}

// TestSnapshotIndexesHoldForTheSnapshot: a read sees each index as it was
// when its snapshot was taken. A build page committed between the start of a
// read's transaction and the loading of its index set would otherwise claim
// entries the snapshot lacks: Check then found documents the build had read
// without their entries, and a query could read a just-ready index through a
// snapshot that misses its last page. A dropped index's entries are not read.
func TestSnapshotIndexesHoldForTheSnapshot(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	blocks := make([]*crdt.Block, 3000)
	for i := range blocks {
		blocks[i] = genesis(t, user, map[string]any{"name": fmt.Sprintf("n%d", i%50), "age": int64(i)})
	}
	err := s.Update(func(tx *store.Tx) error {
		for _, b := range blocks {
			if _, _, err := tx.Apply(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := s.AddIndex(user.ID, "age", []store.IndexField{{Key: "age", Kind: crdt.KindInt}})
	if err != nil {
		t.Fatal(err)
	}
	if ready, err := s.BuildIndex(user.ID, ix.ID); err != nil || ready {
		t.Fatalf("first page of the build: ready %v, %v", ready, err)
	}
	// Each next snapshot, once started, sees the build read one page more
	// (and then finish) before it could load the index set.
	var building []store.Index // each snapshot's view of the index, in order
	var page bool              // whether the next snapshot to start sees a page built
	s.SetSnapshotStarted(func() {
		if page {
			page = false
			if _, err := s.BuildIndex(user.ID, ix.ID); err != nil {
				t.Error(err)
			}
		}
	})
	for range 3 {
		page = true
		err := s.View(func(tx *store.Tx) error {
			building = append(building, tx.Indexes(user.ID)...)
			return tx.Check(context.Background())
		})
		if err != nil {
			t.Fatalf("Check while the index builds: %v", err)
		}
	}
	s.SetSnapshotStarted(nil)
	if len(building) != 3 || building[0].State != store.IndexBuilding || building[2].State != store.IndexReady {
		t.Fatalf("the index as three snapshots saw it: %+v, want it building in the first, ready in the last", building)
	}
	// The snapshot that saw it ready holds every entry.
	var n int
	err = s.View(func(tx *store.Tx) error {
		return tx.IndexEntries(building[2], nil, nil, false, func([]byte, func() (string, error)) error { n++; return nil })
	})
	if err != nil || n != len(blocks) {
		t.Fatalf("entries of the ready index: %d, %v, want %d", n, err, len(blocks))
	}

	// A read whose snapshot starts after the drop fails rather than read
	// what the drop left of the entries.
	if err := s.DropIndex(user.ID, "age"); err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *store.Tx) error {
		return tx.IndexEntries(building[2], nil, nil, false, func([]byte, func() (string, error)) error { return nil })
	})
	if !errors.Is(err, store.ErrIndexDropped) {
		t.Fatalf("read of a dropped index: %v, want ErrIndexDropped", err)
	}
}

// TestBuildPage: with Options.BuildPage, a transaction of BuildIndex reads
// that many documents, and a build resumes where the last page stopped.
func TestBuildPage(t *testing.T) {
	s := openStore(t, "", &store.Options{BuildPage: 2})
	user, _ := testSchemas(t)
	for i := range 5 {
		apply(t, s, genesis(t, user, map[string]any{"age": int64(i)}))
	}
	ix, err := s.AddIndex(user.ID, "age", []store.IndexField{{Key: "age", Kind: crdt.KindInt}})
	if err != nil {
		t.Fatal(err)
	}
	for page, want := range []int64{2, 4, 5} {
		ready, err := s.BuildIndex(user.ID, ix.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Indexes(user.ID)[0]
		if got.Read != want || ready != (page == 2) {
			t.Fatalf("after page %d: read %d, ready %v; want %d, %v", page+1, got.Read, ready, want, page == 2)
		}
		if err := check(s); err != nil {
			t.Fatalf("after page %d: %v", page+1, err)
		}
	}
}

// TestOpenFinishesDrop: a drop a crash cut short, its definition saying
// dropping and some of its entries left, is finished by the next Open: no
// entry or definition is left, the index is not maintained, its name can be
// used again, and Check passes.
func TestOpenFinishesDrop(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, &store.Options{NoSync: true})
	user, _ := testSchemas(t)
	for i := range 10 {
		apply(t, s, genesis(t, user, map[string]any{"age": int64(i)}))
	}
	ix, err := s.AddIndex(user.ID, "age", []store.IndexField{{Key: "age", Kind: crdt.KindInt}})
	if err != nil {
		t.Fatal(err)
	}
	if ready, err := s.BuildIndex(user.ID, ix.ID); err != nil || !ready {
		t.Fatalf("BuildIndex: %v, %v", ready, err)
	}
	if err := s.CutDropShort(user.ID, ix.ID, 4); err != nil {
		t.Fatal(err)
	}
	if def, n, err := s.IndexRecords(user.ID, ix.ID); err != nil || !def || n != 6 {
		t.Fatalf("before the restart: definition %v, %d entries, %v; want it and 6", def, n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openEmpty(t, dir, &store.Options{NoSync: true})
	if got := s.Indexes(user.ID); len(got) != 0 {
		t.Fatalf("indexes after Open: %+v, want none", got)
	}
	if def, n, err := s.IndexRecords(user.ID, ix.ID); err != nil || def || n != 0 {
		t.Fatalf("after Open: definition %v, %d entries, %v; want neither", def, n, err)
	}
	apply(t, s, genesis(t, user, map[string]any{"age": int64(99)}))
	again, err := s.AddIndex(user.ID, "age", []store.IndexField{{Key: "age", Kind: crdt.KindInt}})
	if err != nil || again.ID == ix.ID {
		t.Fatalf("AddIndex of the name again: %+v, %v; want a new ID", again, err)
	}
	if _, n, err := s.IndexRecords(user.ID, ix.ID); err != nil || n != 0 {
		t.Fatalf("entries of the dropped index after a write: %d, %v", n, err)
	}
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}
