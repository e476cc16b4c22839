package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// feedOf returns the change-feed entries of the collection schema after after.
func feedOf(tb testing.TB, s *store.Store, schema cid.Cid, after uint64) []*store.Change {
	tb.Helper()
	var out []*store.Change
	err := s.View(func(tx *store.Tx) error {
		return tx.Changes(schema, after, s.Watermark(), func(c *store.Change) error {
			cp := *c
			cp.Data = bytes.Clone(c.Data) // valid only during the call
			out = append(out, &cp)
			return nil
		})
	})
	if err != nil {
		tb.Fatalf("Changes after %d: %v", after, err)
	}
	return out
}

// TestFeedPositions: each stored document and merged block gets the next
// position, in the collection whose feed reads it, with the state after it;
// positions survive a reopen, and later ones follow them.
func TestFeedPositions(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	user, post := testSchemas(t)
	g := genesis(t, user, map[string]any{"name": "Ada"})
	p := genesis(t, post, map[string]any{"title": "Hello"})
	c1 := change(t, user, localState(t, g), map[string]any{"age": int64(36)}, nil)
	// One transaction: the post and the user's two blocks, parents first.
	err := s.Update(func(tx *store.Tx) error {
		tx.SetOrigin("peer-1")
		for _, b := range []*crdt.Block{g, p, c1} {
			if _, _, err := tx.Apply(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Watermark(); got != 3 {
		t.Fatalf("watermark %d after 3 changes, want 3", got)
	}
	users := feedOf(t, s, user.ID, 0)
	if len(users) != 2 || users[0].Kind != store.ChangeCreated || users[1].Kind != store.ChangeUpdated ||
		users[0].Position >= users[1].Position || !users[1].Block.Equals(c1.CID) || users[1].Peer != "peer-1" {
		t.Fatalf("user feed %+v", users)
	}
	age, _ := user.Field("age")
	out := make([]any, 1)
	if err := users[1].Values([]string{age.ID()}, out); err != nil || out[0] != int64(36) {
		t.Errorf("values after the change: age %v, %v", out[0], err)
	}
	if posts := feedOf(t, s, post.ID, 0); len(posts) != 1 || !posts[0].Doc.Equals(p.CID) {
		t.Fatalf("post feed %+v", posts)
	}
	if got := feedOf(t, s, user.ID, users[0].Position); len(got) != 1 || got[0].Position != users[1].Position {
		t.Fatalf("user feed after %d: %+v", users[0].Position, got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, nil)
	if got := s.Watermark(); got != 3 {
		t.Fatalf("watermark %d after reopening, want 3", got)
	}
	c2 := change(t, user, localState(t, g, c1), map[string]any{"age": int64(37)}, nil)
	apply(t, s, c2)
	if got := feedOf(t, s, user.ID, 3); len(got) != 1 || got[0].Position != 4 || got[0].Peer != "" {
		t.Fatalf("user feed after reopening: %+v", got)
	}
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}

// TestFeedCompaction: CompactChanges deletes whole records up to a position
// and raises the floor; reading from below it fails with ErrCompacted, from
// the floor on it reads what is left, and the last position survives a reopen
// with every record compacted.
func TestFeedCompaction(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	user, _ := testSchemas(t)
	for range 10 {
		apply(t, s, genesis(t, user, map[string]any{"name": "Ada"}))
	}
	if n, err := s.CompactChanges(6); err != nil || n != 6 {
		t.Fatalf("CompactChanges(6): %d records, %v", n, err)
	}
	if s.ChangesFloor() != 6 {
		t.Fatalf("floor %d, want 6", s.ChangesFloor())
	}
	err := s.View(func(tx *store.Tx) error {
		return tx.Changes(user.ID, 5, s.Watermark(), func(*store.Change) error { return nil })
	})
	if !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("reading after 5: %v, want ErrCompacted", err)
	}
	if got := feedOf(t, s, user.ID, 6); len(got) != 4 || got[0].Position != 7 {
		t.Fatalf("after the floor: %+v", got)
	}
	if err := check(s); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompactChanges(10); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, nil)
	if s.Watermark() != 10 || s.ChangesFloor() != 10 {
		t.Fatalf("after reopening: watermark %d, floor %d, want 10 and 10", s.Watermark(), s.ChangesFloor())
	}
}

// TestCheckCollectionFloors: Check holds each change-feed record to its
// collection's floor, not to the feed's: a record below the feed's floor and
// above its collection's is what a compaction cut short between two
// collections leaves, and passes; one at or below its collection's floor
// fails.
func TestCheckCollectionFloors(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	for range 4 {
		apply(t, s, genesis(t, user, map[string]any{"name": "Ada"}))
	}
	// The metadata CompactChanges writes (see changesFloorKey), as a
	// compaction that deleted another collection's records up to 6 leaves
	// them: the feed's floor and the floor it wrote the collections' at.
	putFloors := func(floors map[string]uint64) {
		t.Helper()
		err := s.Update(func(tx *store.Tx) error {
			for k, pos := range floors {
				if err := tx.PutMeta(k, binary.BigEndian.AppendUint64(nil, pos)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	putFloors(map[string]uint64{"changesFloor": 6, "collectionFloorsAt": 6})
	if err := check(s); err != nil {
		t.Fatalf("records 1 to 4 above their collection's floor 0, below the feed's 6: %v", err)
	}
	putFloors(map[string]uint64{"collectionFloor/" + user.ID.KeyString(): 2})
	if err := check(s); err == nil || !strings.Contains(err.Error(), "position 1 outside its collection's feed (2, 4]") {
		t.Fatalf("records 1 and 2 at or below their collection's floor 2: %v", err)
	}
}

// applyKind merges b into s, and returns what Kind reports of it in the
// transaction that merged it.
func applyKind(tb testing.TB, s *store.Store, b *crdt.Block) store.ChangeKind {
	tb.Helper()
	var kind store.ChangeKind
	err := s.Update(func(tx *store.Tx) error {
		_, applied, err := tx.Apply(b)
		if err == nil && !applied {
			err = errors.New("block already stored")
		}
		kind = tx.Kind(b)
		return err
	})
	if err != nil {
		tb.Fatalf("Apply %s: %v", b.CID, err)
	}
	return kind
}

// TestKindIsTheFeeds: what Kind reports of a merged block is the kind of the
// change-feed entry that reports it: created, updated, deleted, and
// overridden for a change merged into a deleted document.
func TestKindIsTheFeeds(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	g := genesis(t, user, map[string]any{"name": "Ada"})
	u := change(t, user, localState(t, g), map[string]any{"name": "Grace"}, nil)
	del, err := crdt.NewChange(user, localState(t, g), nil, nil, true, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    *crdt.Block
		kind store.ChangeKind
	}{
		{g, store.ChangeCreated},
		{del, store.ChangeDeleted},
		{u, store.ChangeOverridden}, // concurrent with del, merged after it
	} {
		after := s.Watermark()
		kind := applyKind(t, s, tc.b)
		entries := feedOf(t, s, user.ID, after)
		if len(entries) != 1 || entries[0].Kind != tc.kind || kind != tc.kind {
			t.Errorf("block %s: Kind %d, entries %+v; want one of kind %d", tc.b.CID, kind, entries, tc.kind)
		}
	}
}

// TestFeedDisownedBlock: a block that its collection's Disowned reports as
// cut off when it is merged leaves the document's state in the same
// transaction, and its one change-feed entry holds the values the document
// has after that transaction (as Get reads them), never the values of the
// cut-off block: a disowned change is an update that changes nothing, a
// disowned genesis a document that reads as deleted, a disowned delete an
// update of a document that stays live and overrides nothing. Kind reports
// the entry's kind.
func TestFeedDisownedBlock(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	disowned := map[cid.Cid]bool{}
	s.TrackChains(user.ID, func(_ *store.Tx, b *crdt.Block) bool { return disowned[b.CID] }, nil)
	name, _ := user.Field("name")

	g := genesis(t, user, map[string]any{"name": "Ada"})
	apply(t, s, g)
	cut := change(t, user, localState(t, g), map[string]any{"name": "Mallory"}, nil)
	g2 := genesis(t, user, map[string]any{"name": "Mallory"})
	// A delete concurrent with cut, which it would override were it kept.
	del, err := crdt.NewChange(user, localState(t, g), nil, nil, true, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b    *crdt.Block
		kind store.ChangeKind
		want any // the name after the merge
	}{
		{cut, store.ChangeUpdated, "Ada"},
		{g2, store.ChangeDeleted, nil},
		{del, store.ChangeUpdated, "Ada"},
	} {
		disowned[tc.b.CID] = true
		after := s.Watermark()
		kind := applyKind(t, s, tc.b)
		entries := feedOf(t, s, user.ID, after)
		if len(entries) != 1 {
			for _, e := range entries {
				out := make([]any, 1)
				err := e.Values([]string{name.ID()}, out)
				t.Logf("entry %d: kind %d, block %s, name %v (%v)", e.Position, e.Kind, e.Block, out[0], err)
			}
			t.Fatalf("the merge of disowned block %s added %d change-feed entries, want 1", tc.b.CID, len(entries))
		}
		e := entries[0]
		out := make([]any, 1)
		if err := e.Values([]string{name.ID()}, out); err != nil {
			t.Fatal(err)
		}
		if e.Kind != tc.kind || !e.Block.Equals(tc.b.CID) || out[0] != tc.want {
			t.Errorf("the merge of disowned block %s: entry of kind %d, block %s, name %v; want kind %d, the block, name %v",
				tc.b.CID, e.Kind, e.Block, out[0], tc.kind, tc.want)
		}
		if kind != tc.kind {
			t.Errorf("Kind of disowned block %s: %d, want %d, its entry's", tc.b.CID, kind, tc.kind)
		}
		if st := storedState(t, s, user.ID, tc.b.DocID()); st.Deleted != (tc.kind == store.ChangeDeleted) {
			t.Errorf("after disowned block %s the document reads deleted: %v", tc.b.CID, st.Deleted)
		}
	}
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}

// TestFeedDeleteOverridesNoDisownedBlock: a delete reports as overridden the
// changes it does not descend from, but not one that was cut off (it never
// held a value), and the values it reports for the others lack the cut-off
// change's, whether or not the delete builds on it: those of the delete's
// history and the kept overridden changes.
func TestFeedDeleteOverridesNoDisownedBlock(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	disowned := map[cid.Cid]bool{}
	s.TrackChains(user.ID, func(_ *store.Tx, b *crdt.Block) bool { return disowned[b.CID] }, nil)
	name, _ := user.Field("name")
	age, _ := user.Field("age")
	type entry struct {
		kind      store.ChangeKind
		block     string
		name, age any
	}
	for _, onCut := range []bool{false, true} {
		g := genesis(t, user, map[string]any{"name": "Ada"})
		cut := change(t, user, localState(t, g), map[string]any{"name": "Mallory"}, nil)
		disowned[cut.CID] = true
		c2 := change(t, user, localState(t, g, cut), map[string]any{"age": int64(5)}, nil)
		c3 := change(t, user, localState(t, g, cut, c2), map[string]any{"age": int64(6)}, nil)
		history := localState(t, g)
		if onCut {
			history = localState(t, g, cut)
		}
		del, err := crdt.NewChange(user, history, nil, nil, true, nil, testKey)
		if err != nil {
			t.Fatal(err)
		}
		apply(t, s, g, cut, c2, c3)
		after := s.Watermark()
		apply(t, s, del)
		var got []entry
		for _, e := range feedOf(t, s, user.ID, after) {
			out := make([]any, 2)
			if err := e.Values([]string{name.ID(), age.ID()}, out); err != nil {
				t.Fatal(err)
			}
			got = append(got, entry{e.Kind, e.Block.String(), out[0], out[1]})
		}
		want := []entry{
			{store.ChangeDeleted, del.CID.String(), "Ada", int64(6)},
			{store.ChangeOverridden, c2.CID.String(), "Ada", int64(5)},
			{store.ChangeOverridden, c3.CID.String(), "Ada", int64(6)},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the entries of a delete (building on the cut-off change: %v):\n%v\nwant (the cut-off change %s not overridden, nor its values anywhere):\n%v", onCut, got, cut.CID, want)
		}
	}
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}

// TestFeedFloorOfEachCollection: compaction's positions are the node's, but a
// collection's reader sees only its own entries, so the position a reader of
// a quiet collection keeps falls below the feed's floor while nothing of its
// collection after it was deleted; it must still resume there, and must get
// ErrCompacted once an entry of its collection after it was deleted. A floor
// raised by a version that kept no collection's floor holds for every
// collection, until compaction takes it as their base.
func TestFeedFloorOfEachCollection(t *testing.T) {
	s := openMem(t)
	user, post := testSchemas(t)
	apply(t, s, genesis(t, user, map[string]any{"name": "quiet"})) // position 1
	for i := range 40 {
		apply(t, s, genesis(t, post, map[string]any{"title": fmt.Sprint("busy ", i)})) // 2 to 41
	}
	if _, err := s.CompactChanges(37); err != nil {
		t.Fatal(err)
	}
	if s.ChangesFloor() != 37 {
		t.Fatalf("floor %d, want 37", s.ChangesFloor())
	}
	read := func(schema cid.Cid, after uint64) (n int, err error) {
		err = s.View(func(tx *store.Tx) error {
			return tx.Changes(schema, after, s.Watermark(), func(*store.Change) error { n++; return nil })
		})
		return n, err
	}
	compacted := func(schema cid.Cid, after, floor uint64) {
		t.Helper()
		_, err := read(schema, after)
		var ce *store.CompactedError
		if !errors.As(err, &ce) || ce.Floor != floor {
			t.Fatalf("read after %d: %v, want ErrCompacted up to %d", after, err, floor)
		}
	}
	if n, err := read(user.ID, 1); err != nil || n != 0 {
		t.Fatalf("the quiet collection after its last entry: %d entries, %v; want none and no error", n, err)
	}
	compacted(user.ID, 0, 1) // its entry at 1 was deleted
	compacted(post.ID, 36, 37)
	if n, err := read(post.ID, 37); err != nil || n != 4 {
		t.Fatalf("the busy collection after the floor: %d entries, %v; want 4", n, err)
	}
	apply(t, s, genesis(t, user, map[string]any{"name": "again"})) // 42
	if n, err := read(user.ID, 1); err != nil || n != 1 {
		t.Fatalf("the quiet collection's next entry: %d entries, %v; want 1", n, err)
	}

	// A version that keeps only the feed's floor deletes the busy
	// collection's entries up to 39.
	err := s.Update(func(tx *store.Tx) error {
		for pos := uint64(38); pos <= 39; pos++ {
			if err := tx.DeleteRaw(store.ChangeRecordKey(post.ID, pos)); err != nil {
				return err
			}
		}
		return tx.PutMeta("changesFloor", binary.BigEndian.AppendUint64(nil, 39))
	})
	if err != nil {
		t.Fatal(err)
	}
	compacted(user.ID, 1, 39) // whether its entries went is not known
	if _, err := s.CompactChanges(40); err != nil {
		t.Fatal(err)
	}
	compacted(user.ID, 1, 39)
	compacted(post.ID, 39, 40)
	if n, err := read(user.ID, 39); err != nil || n != 1 {
		t.Fatalf("the quiet collection after the old version's floor: %d entries, %v; want 1", n, err)
	}
	if err := check(s); err != nil {
		t.Fatal(err)
	}
}
