package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

func TestApplyGenesisStoresBlockStateAndLog(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	g := genesis(t, user, map[string]any{"name": "Ada", "age": int64(36)})

	var st *crdt.State
	err := s.Update(func(tx *store.Tx) error {
		var applied bool
		var err error
		st, applied, err = tx.Apply(g)
		if err == nil && !applied {
			t.Error("Apply of a new genesis reported applied = false")
		}
		return err
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if !st.Doc.Equals(g.CID) || !slices.Equal(st.Heads, []cid.Cid{g.CID}) || st.Height != 1 {
		t.Errorf("returned state: doc %s heads %v height %d; want doc = heads = %s, height 1", st.Doc, st.Heads, st.Height, g.CID)
	}

	err = s.View(func(tx *store.Tx) error {
		data, err := tx.BlockData(user.ID, g.CID)
		if err != nil {
			return err
		}
		if !bytes.Equal(data, g.Data) {
			t.Errorf("BlockData differs from the applied block's Data")
		}
		b, err := tx.Block(user.ID, g.CID)
		if err != nil {
			return err
		}
		if !b.CID.Equals(g.CID) || b.Set["name"] != "Ada" {
			t.Errorf("Block: got CID %s set %v", b.CID, b.Set)
		}
		stored, err := tx.State(user.ID, g.CID)
		if err != nil {
			return err
		}
		if !bytes.Equal(encodeState(t, stored), encodeState(t, st)) {
			t.Errorf("stored state differs from the one Apply returned")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if got := docLog(t, s, user.ID, g.CID, 0); !slices.Equal(got, []logEntry{{g.CID, 1, len(g.Data)}}) {
		t.Errorf("blocks of the document: got %v, want the genesis at height 1", got)
	}
	if err := check(s); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestMissingRecordsAreErrNotFound(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	g := genesis(t, user, nil)
	err := s.View(func(tx *store.Tx) error {
		if ok, err := tx.Has(g); ok || err != nil {
			t.Errorf("Has of an unknown block: %v, %v", ok, err)
		}
		if _, err := tx.Block(user.ID, g.CID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Block: got %v, want ErrNotFound", err)
		}
		if _, err := tx.BlockData(user.ID, g.CID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("BlockData: got %v, want ErrNotFound", err)
		}
		if _, err := tx.State(user.ID, g.CID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("State: got %v, want ErrNotFound", err)
		}
		if _, err := tx.Meta("identity"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Meta: got %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A transaction whose function fails leaves nothing behind, whatever it applied.
func TestFailedUpdateLeavesNothing(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	errBoom := errors.New("boom")

	g := genesis(t, user, map[string]any{"name": "a"})
	c := change(t, user, localState(t, g), map[string]any{"name": "b"}, map[string]any{"hits": int64(1)})
	err := s.Update(func(tx *store.Tx) error {
		for _, b := range []*crdt.Block{g, c} {
			if _, _, err := tx.Apply(b); err != nil {
				return err
			}
		}
		// Inside the transaction the writes are visible.
		if ok, err := tx.Has(c); !ok || err != nil {
			t.Errorf("Has inside the transaction: %v, %v", ok, err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: got %v, want the callback's error", err)
	}
	assertNothingStored(t, s, g, c)
	if ids, _ := docIDs(t, s, user.ID, ""); len(ids) != 0 {
		t.Errorf("Docs lists %v after a failed Update", ids)
	}

	// The same on a stored document: its state, heads and log stay as they were.
	st := apply(t, s, g)
	before := encodeState(t, st)
	err = s.Update(func(tx *store.Tx) error {
		if _, _, err := tx.Apply(c); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update: got %v, want the callback's error", err)
	}
	assertNothingStored(t, s, c)
	if after := encodeState(t, storedState(t, s, user.ID, g.CID)); !bytes.Equal(before, after) {
		t.Errorf("state changed by a failed Update")
	}
	if got := docLog(t, s, user.ID, g.CID, 0); len(got) != 1 {
		t.Errorf("block log after a failed Update: %v, want only the genesis", got)
	}
}

func TestApplyMissingParent(t *testing.T) {
	user, _ := testSchemas(t)
	g := genesis(t, user, nil)
	c1 := change(t, user, localState(t, g), map[string]any{"age": int64(1)}, nil)
	c2 := change(t, user, localState(t, g, c1), map[string]any{"age": int64(2)}, nil)

	for _, tc := range []struct {
		name   string
		stored []*crdt.Block
		apply  *crdt.Block
	}{
		{"no document", nil, c1},
		{"missing parent", []*crdt.Block{g}, c2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openMem(t)
			st := apply(t, s, tc.stored...)
			var before []byte
			if st != nil {
				before = encodeState(t, st)
			}
			err := s.Update(func(tx *store.Tx) error {
				_, _, err := tx.Apply(tc.apply)
				return err
			})
			if !errors.Is(err, store.ErrMissingParent) {
				t.Fatalf("Apply: got %v, want ErrMissingParent", err)
			}
			assertNothingStored(t, s, tc.apply)

			// Apply itself writes nothing when it refuses a block, even if the
			// caller ignores the error and commits.
			err = s.Update(func(tx *store.Tx) error {
				if _, _, err := tx.Apply(tc.apply); !errors.Is(err, store.ErrMissingParent) {
					t.Errorf("Apply: got %v, want ErrMissingParent", err)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			assertNothingStored(t, s, tc.apply)
			if st != nil {
				if after := encodeState(t, storedState(t, s, user.ID, g.CID)); !bytes.Equal(before, after) {
					t.Errorf("state changed by a refused Apply")
				}
			}
			if err := check(s); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestApplyStoredBlockIsNoop(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	g := genesis(t, user, map[string]any{"name": "a"})
	st := apply(t, s, g)
	c := change(t, user, st, map[string]any{"name": "b"}, map[string]any{"hits": int64(5)})
	st = apply(t, s, c)
	want := encodeState(t, st)

	for _, b := range []*crdt.Block{g, c} {
		err := s.Update(func(tx *store.Tx) error {
			got, applied, err := tx.Apply(b)
			if err != nil {
				return err
			}
			if applied {
				t.Errorf("Apply of stored block %s (height %d) reported applied = true", b.CID, b.Height)
			}
			if !bytes.Equal(encodeState(t, got), want) {
				t.Errorf("Apply of stored block %s returned a state other than the current one", b.CID)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Apply of stored block %s: %v", b.CID, err)
		}
	}
	if got := encodeState(t, storedState(t, s, user.ID, g.CID)); !bytes.Equal(got, want) {
		t.Errorf("stored state changed by re-applying stored blocks")
	}
	if got := docLog(t, s, user.ID, g.CID, 0); len(got) != 2 {
		t.Errorf("block log: %v, want 2 entries", got)
	}
	if v, _ := storedState(t, s, user.ID, g.CID).Value("hits"); v != int64(5) {
		t.Errorf("counter after re-applying: %v, want 5 (each block counted once)", v)
	}
}

func TestApplyInconsistentWithParents(t *testing.T) {
	user, post := testSchemas(t)
	s := openMem(t)
	g := genesis(t, user, nil)
	other := genesis(t, user, nil)
	apply(t, s, other)
	st := apply(t, s, g)
	c := change(t, user, st, map[string]any{"age": int64(1)}, nil)
	st = apply(t, s, c) // g's document is now at height 2

	// Height: a change on c (height 2) claiming height 5.
	tall := st.Clone()
	tall.Height = 4
	badHeight := change(t, user, tall, map[string]any{"age": int64(2)}, nil)
	// Document: a change of other's document that builds on g's head.
	foreign := st.Clone()
	foreign.Doc = other.CID
	wrongDoc := change(t, user, foreign, map[string]any{"age": int64(3)}, nil)
	// Schema: a Post change of g's document, on g's head. Its parent is not
	// stored in its collection, which is where Apply looks for it.
	pg := genesis(t, post, map[string]any{"title": "x"})
	mixed := localState(t, pg)
	mixed.Doc, mixed.Heads, mixed.Height = g.CID, st.Heads, st.Height
	wrongSchema := change(t, post, mixed, map[string]any{"title": "y"}, nil)

	for name, b := range map[string]*crdt.Block{"height": badHeight, "document": wrongDoc, "schema": wrongSchema} {
		t.Run(name, func(t *testing.T) {
			before := encodeState(t, storedState(t, s, user.ID, g.CID))
			err := s.Update(func(tx *store.Tx) error {
				_, _, err := tx.Apply(b)
				return err
			})
			want, other := crdt.ErrInvalidBlock, store.ErrMissingParent
			if name == "schema" {
				want, other = other, want
			}
			if !errors.Is(err, want) {
				t.Fatalf("Apply: got %v, want an error wrapping %v", err, want)
			}
			t.Logf("refused: %v", err)
			if errors.Is(err, other) {
				t.Errorf("Apply: %v also wraps %v", err, other)
			}
			assertNothingStored(t, s, b)
			if after := encodeState(t, storedState(t, s, user.ID, g.CID)); !bytes.Equal(before, after) {
				t.Errorf("state changed by a refused Apply")
			}
		})
	}
	if err := check(s); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// GenesisData and DocLog list a document's blocks by increasing height, parents
// first, from minHeight on, and only that document's.
func TestDocLog(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	g := genesis(t, user, nil)
	st0 := apply(t, s, g)
	// Two concurrent changes on the genesis, a merge of both, then a chain long
	// enough that heights need more than one byte.
	a := change(t, user, st0, map[string]any{"name": "a"}, nil)
	b := change(t, user, st0, map[string]any{"name": "b"}, nil)
	apply(t, s, a)
	st := apply(t, s, b)
	if len(st.Heads) != 2 {
		t.Fatalf("heads after two concurrent changes: %v", st.Heads)
	}
	parents := map[cid.Cid][]cid.Cid{g.CID: nil, a.CID: a.Prev, b.CID: b.Prev}
	sizes := map[cid.Cid]int{g.CID: len(g.Data), a.CID: len(a.Data), b.CID: len(b.Data)}
	const chain = 300
	for i := range chain {
		c := change(t, user, st, nil, map[string]any{"hits": int64(1)})
		parents[c.CID] = c.Prev
		sizes[c.CID] = len(c.Data)
		st = apply(t, s, c)
		if i == 0 && len(c.Prev) != 2 {
			t.Fatalf("merge change has prev %v", c.Prev)
		}
	}
	// Another document's blocks must not show up.
	h := genesis(t, user, nil)
	apply(t, s, h, change(t, user, localState(t, h), map[string]any{"age": int64(1)}, nil))

	log := docLog(t, s, user.ID, g.CID, 0)
	if len(log) != len(parents) {
		t.Fatalf("listed %d blocks, want %d", len(log), len(parents))
	}
	pos := map[cid.Cid]int{}
	for i, e := range log {
		if _, ok := parents[e.CID]; !ok {
			t.Fatalf("listed %s, not a block of the document", e.CID)
		}
		if _, dup := pos[e.CID]; dup {
			t.Fatalf("listed %s twice", e.CID)
		}
		pos[e.CID] = i
		if e.Size != sizes[e.CID] {
			t.Fatalf("the log gives %s a size of %d, want %d", e.CID, e.Size, sizes[e.CID])
		}
		if i > 0 && e.Height < log[i-1].Height {
			t.Fatalf("height %d after %d", e.Height, log[i-1].Height)
		}
		for _, p := range parents[e.CID] {
			if _, seen := pos[p]; !seen {
				t.Fatalf("listed %s before its parent %s", e.CID, p)
			}
		}
	}
	if log[0].CID != g.CID || log[0].Height != 1 {
		t.Errorf("first entry %v, want the genesis at height 1", log[0])
	}
	if last := log[len(log)-1]; last.Height != chain+2 || !slices.Equal(st.Heads, []cid.Cid{last.CID}) {
		t.Errorf("last entry %v, want the head %v at height %d", last, st.Heads, chain+2)
	}

	for _, tc := range []struct{ min, want uint64 }{{0, chain + 3}, {1, chain + 3}, {2, chain + 2}, {3, chain}, {256, chain + 2 - 255}, {chain + 2, 1}, {chain + 3, 0}} {
		got := docLog(t, s, user.ID, g.CID, tc.min)
		if uint64(len(got)) != tc.want {
			t.Errorf("blocks from minHeight %d: %d blocks, want %d", tc.min, len(got), tc.want)
		}
		if len(got) > 0 && got[0].Height < tc.min {
			t.Errorf("blocks from minHeight %d starts at height %d", tc.min, got[0].Height)
		}
		if len(got) > 0 && !slices.Equal(got, log[len(log)-len(got):]) {
			t.Errorf("blocks from minHeight %d is not a suffix of the full log", tc.min)
		}
	}

	// A block that is not a genesis names no document.
	if got := docLog(t, s, user.ID, a.CID, 0); len(got) != 0 {
		t.Errorf("a change's CID lists blocks: %v", got)
	}
	err := s.View(func(tx *store.Tx) error {
		if data, err := tx.GenesisData(user.ID, g.CID); err != nil || !bytes.Equal(data, g.Data) {
			t.Errorf("GenesisData of the document: %v", err)
		}
		for _, c := range []cid.Cid{a.CID, genesis(t, user, nil).CID} {
			if _, err := tx.GenesisData(user.ID, c); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GenesisData(%s): got %v, want ErrNotFound", c, err)
			}
		}
		n := 0
		err := tx.DocLog(g.CID, 0, func(e store.LogEntry) error {
			if n++; e.CID.Equals(g.CID) {
				t.Errorf("DocLog lists the genesis")
			}
			return nil
		})
		if n != len(log)-1 {
			t.Errorf("DocLog lists %d blocks, want %d", n, len(log)-1)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// An error from fn stops the iteration and comes back.
	errStop := errors.New("stop")
	calls := 0
	err = s.View(func(tx *store.Tx) error {
		return tx.DocLog(g.CID, 0, func(store.LogEntry) error {
			calls++
			return errStop
		})
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("DocLog with a failing fn: err %v after %d calls, want errStop after 1", err, calls)
	}
}

// Docs lists a collection's documents in ID (string) order from `from`, deleted
// ones included, and no other collection's; HeadsHashes the same IDs.
func TestDocs(t *testing.T) {
	user, post := testSchemas(t)
	s := openMem(t)
	var want []string
	var deleted string
	for i := range 20 {
		g := genesis(t, user, map[string]any{"age": int64(i)})
		st := apply(t, s, g)
		want = append(want, g.CID.String())
		if i == 7 {
			del, err := crdt.NewChange(user, st, nil, nil, true, nil, testKey)
			if err != nil {
				t.Fatal(err)
			}
			apply(t, s, del)
			deleted = g.CID.String()
		}
	}
	for range 3 {
		apply(t, s, genesis(t, post, map[string]any{"title": "p"}))
	}
	slices.Sort(want)

	ids, del := docIDs(t, s, user.ID, "")
	if !slices.Equal(ids, want) {
		t.Fatalf("Docs: got\n%v\nwant (sorted)\n%v", ids, want)
	}
	for id, d := range del {
		if d != (id == deleted) {
			t.Errorf("Docs: %s deleted = %v", id, d)
		}
	}
	for _, tc := range []struct {
		from string
		want []string
	}{
		{want[5], want[5:]},
		{want[5] + "\x00", want[6:]},
		{want[0][:4], want},
		{want[19], want[19:]},
		{want[19] + "\x00", nil},
		{"\xff", nil},
	} {
		if got, _ := docIDs(t, s, user.ID, tc.from); !slices.Equal(got, tc.want) {
			t.Errorf("Docs(from %q): got %d IDs, want %d", tc.from, len(got), len(tc.want))
		}
		var hashed []string
		if err := s.View(func(tx *store.Tx) error {
			return tx.HeadsHashes(user.ID, tc.from, func(id string, _ [32]byte) error { hashed = append(hashed, id); return nil })
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(hashed, tc.want) {
			t.Errorf("HeadsHashes(from %q): got %d IDs, want %d", tc.from, len(hashed), len(tc.want))
		}
	}
	if got, _ := docIDs(t, s, post.ID, ""); len(got) != 3 {
		t.Errorf("Docs of the second collection: %d, want 3", len(got))
	}

	errStop := errors.New("stop")
	calls := 0
	err := s.View(func(tx *store.Tx) error {
		return tx.Docs(user.ID, "", func(string, *crdt.State) error {
			calls++
			return errStop
		})
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("Docs with a failing fn: err %v after %d calls, want errStop after 1", err, calls)
	}
}

func TestCollectionsSubscriptionsMeta(t *testing.T) {
	s := openMem(t)
	err := s.Update(func(tx *store.Tx) error {
		for _, name := range []string{"Post", "User", "Comment"} {
			if err := tx.PutCollection(name, []byte("def of "+name)); err != nil {
				return err
			}
		}
		if err := tx.PutCollection("User", []byte("new def of User")); err != nil {
			return err
		}
		for _, name := range []string{"User", "Post", "Comment"} {
			if err := tx.PutSubscription(name); err != nil {
				return err
			}
		}
		if err := tx.PutSubscription("User"); err != nil { // twice is once
			return err
		}
		if err := tx.DeleteSubscription("Post"); err != nil {
			return err
		}
		if err := tx.DeleteSubscription("Nothing"); err != nil {
			return err
		}
		if err := tx.PutMeta("identity", []byte{1, 2, 3}); err != nil {
			return err
		}
		if err := tx.PutMeta("empty", nil); err != nil {
			return err
		}
		if err := tx.PutMeta("identity", []byte{4, 5}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	var names []string
	defs := map[string]string{}
	var subs []string
	var identity, empty []byte
	err = s.View(func(tx *store.Tx) error {
		err := tx.Collections(func(name string, def []byte) error {
			names = append(names, name)
			defs[name] = string(def)
			return nil
		})
		if err != nil {
			return err
		}
		if subs, err = tx.Subscriptions(); err != nil {
			return err
		}
		if identity, err = tx.Meta("identity"); err != nil {
			return err
		}
		empty, err = tx.Meta("empty")
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	// The values stay valid after the transaction.
	if want := []string{"Comment", "Post", "User"}; !slices.Equal(names, want) {
		t.Errorf("Collections: %v, want %v", names, want)
	}
	if defs["User"] != "new def of User" || defs["Post"] != "def of Post" {
		t.Errorf("Collections definitions: %q", defs)
	}
	if want := []string{"Comment", "User"}; !slices.Equal(subs, want) {
		t.Errorf("Subscriptions: %v, want %v", subs, want)
	}
	if !bytes.Equal(identity, []byte{4, 5}) {
		t.Errorf("Meta(identity): %v, want [4 5]", identity)
	}
	if len(empty) != 0 {
		t.Errorf("Meta(empty): %v, want empty", empty)
	}

	errStop := errors.New("stop")
	err = s.View(func(tx *store.Tx) error {
		return tx.Collections(func(string, []byte) error { return errStop })
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Collections with a failing fn: %v, want errStop", err)
	}
}

// An empty store has no collections or subscriptions, and passes Check.
func TestEmptyStore(t *testing.T) {
	s := openEmpty(t, "", nil)
	err := s.View(func(tx *store.Tx) error {
		n := 0
		if err := tx.Collections(func(string, []byte) error { n++; return nil }); err != nil {
			return err
		}
		subs, err := tx.Subscriptions()
		if err != nil {
			return err
		}
		if n != 0 || len(subs) != 0 {
			t.Errorf("empty store: %d collections, subscriptions %v", n, subs)
		}
		return tx.Check(context.Background())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An in-memory store keeps nothing after Close: each one starts empty.
func TestInMemoryStoreStartsEmpty(t *testing.T) {
	user, _ := testSchemas(t)
	s := openEmpty(t, "", nil)
	g := genesis(t, user, nil)
	apply(t, s, g)
	err := s.Update(func(tx *store.Tx) error {
		return errors.Join(tx.PutCollection("User", []byte("def")), tx.PutSubscription("User"), tx.PutMeta("k", []byte("v")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openEmpty(t, "", nil)
	assertNothingStored(t, s2, g)
	err = s2.View(func(tx *store.Tx) error {
		n := 0
		if err := tx.Collections(func(string, []byte) error { n++; return nil }); err != nil {
			return err
		}
		subs, err := tx.Subscriptions()
		if err != nil {
			return err
		}
		if _, err := tx.Meta("k"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Meta in a new in-memory store: %v, want ErrNotFound", err)
		}
		if n != 0 || len(subs) != 0 {
			t.Errorf("new in-memory store: %d collections, subscriptions %v", n, subs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	user, post := testSchemas(t)
	dir := t.TempDir()
	s := openStore(t, dir, nil)

	g := genesis(t, user, map[string]any{"name": "Ada", "verified": true})
	st := apply(t, s, g)
	c1 := change(t, user, st, map[string]any{"points": 1.5}, map[string]any{"hits": int64(2)})
	st = apply(t, s, c1)
	c2 := change(t, user, st, map[string]any{"name": nil}, map[string]any{"hits": int64(-1)})
	st = apply(t, s, c2)
	p := genesis(t, post, map[string]any{"title": "hello"})
	pst := apply(t, s, p)
	err := s.Update(func(tx *store.Tx) error {
		return errors.Join(
			tx.PutSubscription("User"),
			tx.PutMeta("identity", []byte("key")),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantState, wantPost := encodeState(t, st), encodeState(t, pst)
	wantLog := docLog(t, s, user.ID, g.CID, 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, dir, nil)
	if got := encodeState(t, storedState(t, s, user.ID, g.CID)); !bytes.Equal(got, wantState) {
		t.Errorf("User state differs after reopening")
	}
	if got := encodeState(t, storedState(t, s, post.ID, p.CID)); !bytes.Equal(got, wantPost) {
		t.Errorf("Post state differs after reopening")
	}
	if got := docLog(t, s, user.ID, g.CID, 0); !slices.Equal(got, wantLog) || len(got) != 3 {
		t.Errorf("block log after reopening: %v, want %v", got, wantLog)
	}
	err = s.View(func(tx *store.Tx) error {
		for _, b := range []*crdt.Block{g, c1, c2, p} {
			data, err := tx.BlockData(b.Schema, b.CID)
			if err != nil {
				return err
			}
			if !bytes.Equal(data, b.Data) {
				t.Errorf("block %s differs after reopening", b.CID)
			}
		}
		var names []string
		err := tx.Collections(func(name string, def []byte) error {
			names = append(names, name+"="+string(def))
			return nil
		})
		if err != nil {
			return err
		}
		userDef, err := schema.Encode(user)
		if err != nil {
			return err
		}
		postDef, err := schema.Encode(post)
		if err != nil {
			return err
		}
		if want := []string{"Post=" + string(postDef), "User=" + string(userDef)}; !slices.Equal(names, want) {
			t.Errorf("Collections after reopening: %v, want %v", names, want)
		}
		subs, err := tx.Subscriptions()
		if err != nil {
			return err
		}
		if !slices.Equal(subs, []string{"User"}) {
			t.Errorf("Subscriptions after reopening: %v", subs)
		}
		id, err := tx.Meta("identity")
		if err != nil {
			return err
		}
		if string(id) != "key" {
			t.Errorf("Meta after reopening: %q", id)
		}
		return tx.Check(context.Background())
	})
	if err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	// The reopened store takes new changes on the old heads.
	st = apply(t, s, change(t, user, storedState(t, s, user.ID, g.CID), map[string]any{"age": int64(1)}, nil))
	if v, _ := st.Value("hits"); v != int64(1) || st.Height != 4 {
		t.Errorf("after a change on the reopened store: hits %v height %d, want 1 and 4", v, st.Height)
	}
}

func TestCheckHealthyStore(t *testing.T) {
	user, post := testSchemas(t)
	s := openMem(t)
	for i := range 10 {
		g := genesis(t, user, map[string]any{"age": int64(i)})
		st0 := apply(t, s, g)
		// Leave some documents with two heads, others with one, one deleted.
		a := change(t, user, st0, map[string]any{"name": "a"}, nil)
		b := change(t, user, st0, map[string]any{"name": "b"}, map[string]any{"hits": int64(i)})
		st := apply(t, s, a, b)
		if i%2 == 0 {
			del, err := crdt.NewChange(user, st, nil, nil, i == 4, nil, testKey)
			if err != nil {
				t.Fatal(err)
			}
			apply(t, s, del)
		}
	}
	apply(t, s, genesis(t, post, map[string]any{"title": "t"}))
	if err := check(s); err != nil {
		t.Errorf("Check of a healthy store: %v", err)
	}
}

// Many goroutines updating one document conflict; Update re-runs the losers after
// a random pause, so every call succeeds and the document ends with every change,
// in one chain.
func TestConcurrentUpdatesOfOneDocument(t *testing.T) {
	for _, disk := range []bool{false, true} {
		t.Run(fmt.Sprintf("disk=%v", disk), func(t *testing.T) {
			user, _ := testSchemas(t)
			dir := ""
			if disk {
				dir = t.TempDir()
			}
			s := openStore(t, dir, &store.Options{NoSync: true})
			g := genesis(t, user, nil)
			apply(t, s, g)

			const writers, perWriter = 32, 10
			var wg sync.WaitGroup
			errs := make(chan error, writers*perWriter)
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						err := s.Update(func(tx *store.Tx) error {
							st, err := tx.State(user.ID, g.CID)
							if err != nil {
								return err
							}
							b, err := crdt.NewChange(user, st, map[string]any{"age": int64(w*perWriter + i)}, map[string]any{"hits": int64(1)}, false, newNonce(), testKey)
							if err != nil {
								return err
							}
							_, _, err = tx.Apply(b)
							return err
						})
						if err != nil {
							errs <- fmt.Errorf("writer %d, update %d: %w", w, i, err)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			st := storedState(t, s, user.ID, g.CID)
			const total = writers * perWriter
			if v, _ := st.Value("hits"); v != int64(total) {
				t.Errorf("counter %v, want %d", v, total)
			}
			if len(st.Heads) != 1 || st.Height != total+1 {
				t.Errorf("heads %v height %d, want one head at height %d", st.Heads, st.Height, total+1)
			}
			if got := docLog(t, s, user.ID, g.CID, 0); len(got) != total+1 {
				t.Errorf("block log has %d blocks, want %d", len(got), total+1)
			}
			if err := check(s); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	s := openStore(t, t.TempDir(), nil)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	called := false
	if err := s.View(func(*store.Tx) error { called = true; return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close: %v, want ErrClosed", err)
	}
	if err := s.Update(func(*store.Tx) error { called = true; return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close: %v, want ErrClosed", err)
	}
	if called {
		t.Errorf("a transaction function ran after Close")
	}
}

// Badger locks its directory: a second store on it fails rather than share it.
func TestOpenLockedDir(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, nil)
	if s2, err := store.Open(dir, nil); err == nil {
		s2.Close()
		t.Fatalf("second Open of %s succeeded", dir)
	}
}

// TestOpenHeldDirectory checks that a directory whose store is open cannot be
// opened again, with ErrLocked naming it, and can once the first Open closed.
func TestOpenHeldDirectory(t *testing.T) {
	dir := t.TempDir()
	first, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := store.Open(dir, nil)
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), dir) {
		if second != nil {
			second.Close()
		}
		first.Close()
		t.Fatalf("second Open of %s: %v, want ErrLocked naming the directory", dir, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openEmpty(t, dir, nil)
}

func TestMemTableSize(t *testing.T) {
	for _, bad := range []int64{1, 8<<20 - 1, 64<<20 + 1} {
		if s, err := store.Open("", &store.Options{MemTableSize: bad}); err == nil {
			s.Close()
			t.Errorf("MemTableSize %d accepted", bad)
		}
	}
	s, err := store.Open("", &store.Options{MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// More than the memtable holds: Badger flushes and the store still reads it.
	big := make([]byte, 512<<10)
	for i := range 40 {
		k := fmt.Sprintf("k%d", i)
		if err := s.Update(func(tx *store.Tx) error { return tx.PutMeta(k, big) }); err != nil {
			t.Fatal(err)
		}
	}
	err = s.View(func(tx *store.Tx) error {
		v, err := tx.Meta("k0")
		if err == nil && len(v) != len(big) {
			err = fmt.Errorf("k0 holds %d bytes, want %d", len(v), len(big))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMemorySettings: the Badger settings that decide the store's memory are
// the ones the package doc gives, with and without SmallMemory, and the largest
// transaction follows the memtable.
func TestMemorySettings(t *testing.T) {
	for _, c := range []struct {
		opts                  store.Options
		memTable              int64
		memtables, compactors int
		batchBytes            int
	}{
		{store.Options{}, 64 << 20, 5, 4, 8 << 20},
		{store.Options{SmallMemory: true}, 24 << 20, 1, 2, 3 << 20},
		{store.Options{SmallMemory: true, MemTableSize: 8 << 20}, 8 << 20, 1, 2, 1 << 20},
	} {
		s := openEmpty(t, t.TempDir(), &c.opts)
		o := s.BadgerOptions()
		if o.MemTableSize != c.memTable || o.NumMemtables != c.memtables || o.NumCompactors != c.compactors ||
			o.BlockCacheSize != 0 || o.IndexCacheSize != 0 {
			t.Errorf("%+v: Badger's MemTableSize %d, NumMemtables %d, NumCompactors %d, BlockCacheSize %d, IndexCacheSize %d; "+
				"want %d, %d, %d, 0, 0", c.opts, o.MemTableSize, o.NumMemtables, o.NumCompactors, o.BlockCacheSize,
				o.IndexCacheSize, c.memTable, c.memtables, c.compactors)
		}
		if got := s.BatchBytes(); got != c.batchBytes {
			t.Errorf("%+v: BatchBytes() = %d, want %d", c.opts, got, c.batchBytes)
		}
		// A transaction of BatchBytes commits; one over 15% of the memtable
		// (Badger's limit) does not.
		for _, size := range []int{c.batchBytes, int(c.memTable*15/100) + 128<<10} {
			err := s.Update(func(tx *store.Tx) error {
				for i := 0; i*(64<<10) < size; i++ {
					if err := tx.PutMeta(fmt.Sprintf("k%d", i), make([]byte, 64<<10)); err != nil {
						return err
					}
				}
				return nil
			})
			if want := size == c.batchBytes; (err == nil) != want || (err != nil && !errors.Is(err, store.ErrTxnTooLarge)) {
				t.Errorf("%+v: a transaction of %d bytes: %v, want it to commit: %v", c.opts, size, err, want)
			}
		}
	}
}

func TestReset(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	g := genesis(t, user, map[string]any{"name": "Ada"})
	apply(t, s, g)
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	err := s.View(func(tx *store.Tx) error {
		if ok, err := tx.Has(g); err != nil || ok {
			return fmt.Errorf("Has after Reset = %v, %v; want false", ok, err)
		}
		if c := s.Counts(user.ID); c != (store.Counts{}) {
			return fmt.Errorf("Counts after Reset = %+v, want none", c)
		}
		n := 0
		if err := tx.Collections(func(string, []byte) error { n++; return nil }); err != nil || n != 0 {
			return fmt.Errorf("%d collections after Reset (%v), want 0", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The store works as a new one: the collection and the block go in again.
	def, err := schema.Encode(user)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *store.Tx) error { return tx.PutCollection(user.Name, def) }); err != nil {
		t.Fatal(err)
	}
	apply(t, s, g)
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}

// TestDocValues reads the fields of several documents at once: a genesis-only
// record, a merged state, a deleted document, and one changed in the same
// transaction; an unknown document is ErrNotFound.
func TestDocValues(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	g1 := genesis(t, user, map[string]any{"name": "ann", "age": int64(30)})
	g2 := genesis(t, user, map[string]any{"name": "bob", "age": int64(40)})
	g3 := genesis(t, user, map[string]any{"name": "cy"})
	apply(t, s, g1, g2, g3)
	apply(t, s, change(t, user, localState(t, g2), map[string]any{"age": int64(41)}, nil))
	del, err := crdt.NewChange(user, localState(t, g3), nil, nil, true, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, del)
	key := func(name string) string {
		f, ok := user.Field(name)
		if !ok {
			t.Fatalf("no field %q", name)
		}
		return f.ID()
	}
	names := []string{key("name"), key("age")}
	docs := []string{g1.CID.String(), g2.CID.String(), g3.CID.String()}
	read := func(tx *store.Tx, docs []string) ([][]any, []bool, error) {
		out := make([][]any, len(docs))
		for i := range out {
			out[i] = make([]any, len(names))
		}
		deleted := make([]bool, len(docs))
		err := tx.DocValues(user.ID, docs, names, out, deleted)
		return out, deleted, err
	}
	want := [][]any{{"ann", int64(30)}, {"bob", int64(41)}}
	err = s.View(func(tx *store.Tx) error {
		out, deleted, err := read(tx, docs)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(out[:2], want) || !reflect.DeepEqual(deleted, []bool{false, false, true}) {
			t.Errorf("DocValues = %v, deleted %v; want %v then a deleted document", out, deleted, want)
		}
		if _, _, err := read(tx, []string{g1.CID.String(), user.ID.String()}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DocValues of an unknown document: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// In a write transaction, a state changed by Apply is read as it now is.
	err = s.Update(func(tx *store.Tx) error {
		if _, _, err := tx.Apply(change(t, user, localState(t, g1), map[string]any{"name": "anne"}, nil)); err != nil {
			return err
		}
		out, _, err := read(tx, docs[:1])
		if err != nil {
			return err
		}
		if out[0][0] != "anne" {
			t.Errorf("DocValues in the changing transaction: %v, want name anne", out[0])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestApplyReadsAParentOnce: the blocks a transaction merges may all name the
// same stored parent, as large as a block gets; merging them reads and decodes
// it once, not once for each (a message of 2 MiB holds thousands of small
// blocks: as many decodings of 1 MiB).
func TestApplyReadsAParentOnce(t *testing.T) {
	const children = 200
	s := openMem(t)
	user, _ := testSchemas(t)
	g := genesis(t, user, map[string]any{"name": strings.Repeat("x", 900<<10)})
	st := apply(t, s, g)
	// A change that shortens the name first, so that the state, and each
	// change-feed entry that carries it, stays small.
	apply(t, s, change(t, user, st, map[string]any{"name": "Ada"}, nil))
	blocks := make([]*crdt.Block, children)
	for i := range blocks {
		blocks[i] = change(t, user, st, map[string]any{"age": int64(i)}, nil)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := s.Update(func(tx *store.Tx) error {
		for _, b := range blocks {
			if _, _, err := tx.Apply(b); err != nil {
				return err
			}
		}
		return nil
	})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("merging %d children of a block of %d bytes allocated %d bytes", children, len(g.Data), allocated)
	if allocated > 16*uint64(len(g.Data)) {
		t.Fatalf("merging %d children of a block of %d bytes allocated %d bytes: the parent was read for each", children, len(g.Data), allocated)
	}
}
