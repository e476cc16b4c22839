package gossipdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

const stockSDL = `type Stock { name: String qty: Int @crdt(type: pncounter) tags: [String!] @crdt(type: set) }`

// history lists document id's blocks through History.
func history(t *testing.T, c *gossipdb.Collection, id gossipdb.DocID) []gossipdb.BlockInfo {
	t.Helper()
	var out []gossipdb.BlockInfo
	for b, err := range c.History(context.Background(), id) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestHistory: each change of a document is one block in History, newest
// first, with what it changed; GetAt shows the document as it was at each.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, stockSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "bolt", "qty": 1, "tags": []any{"x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := items.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	changes := []map[string]any{{"name": "nut"}, {"qty": 2}, {"tags": []any{"y", "z"}}, {"name": nil}}
	seen := []*gossipdb.Document{first} // the document after each block, as Get showed it
	for _, ch := range changes {
		if err := items.Update(ctx, id, ch); err != nil {
			t.Fatal(err)
		}
		d, err := items.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, d)
	}
	if d := seen[len(seen)-1]; d.Fields["name"] != nil || d.Fields["qty"] != int64(3) || fmt.Sprint(d.Fields["tags"]) != "[y z]" {
		t.Fatalf("after the changes: %v", d.Fields)
	}
	if err := items.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}

	got := history(t, items, id)
	if len(got) != 6 {
		t.Fatalf("history of 6 blocks has %d: %+v", len(got), got)
	}
	slices.Reverse(got) // oldest first, to read along the changes
	want := []gossipdb.BlockInfo{
		{Set: map[string]any{"name": "bolt"}, Add: map[string]any{"qty": int64(1)}, SetAdd: map[string][]any{"tags": {"x", "y"}}},
		{Set: map[string]any{"name": "nut"}},
		{Add: map[string]any{"qty": int64(2)}},
		{SetAdd: map[string][]any{"tags": {"z"}}, SetRemove: map[string][]any{"tags": {"x"}}},
		{Set: map[string]any{"name": nil}},
		{Delete: true},
	}
	for i, b := range got {
		w := want[i]
		if !reflect.DeepEqual(b.Set, w.Set) || !reflect.DeepEqual(b.Add, w.Add) || !reflect.DeepEqual(b.SetAdd, w.SetAdd) ||
			!reflect.DeepEqual(b.SetRemove, w.SetRemove) || b.Delete != w.Delete {
			t.Errorf("block %d changes set %v add %v set-add %v set-remove %v delete %v, want %+v", i+1, b.Set, b.Add, b.SetAdd, b.SetRemove, b.Delete, w)
		}
		if b.Height != uint64(i+1) || b.Doc != id || b.Author != first.Author || b.Version != items.Version() || b.Txn != "" || b.Disowned {
			t.Errorf("block %d: %+v, want height %d of %s by %s under %s", i+1, b, i+1, id, first.Author, items.Version())
		}
		data, err := items.Block(ctx, b.CID)
		if err != nil || len(data) != b.Size {
			t.Errorf("block %d: %d bytes stored (%v), History says %d", i+1, len(data), err, b.Size)
		}
		if i == 0 {
			if b.CID != string(id) || len(b.Prev) != 0 {
				t.Errorf("genesis %s with parents %v, want the document ID %s and none", b.CID, b.Prev, id)
			}
		} else if !slices.Equal(b.Prev, []string{got[i-1].CID}) {
			t.Errorf("block %d written on %v, want the block before it, %s", i+1, b.Prev, got[i-1].CID)
		}
	}

	for i, want := range seen {
		d, err := items.GetAt(ctx, id, got[i].CID)
		if err != nil {
			t.Fatalf("at block %d: %v", i+1, err)
		}
		if !reflect.DeepEqual(d, want) {
			t.Errorf("at block %d: %+v, want %+v as Get showed it then", i+1, d, want)
		}
	}
	if _, err := items.GetAt(ctx, id, got[5].CID); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Errorf("at the delete: %v, want ErrDeleted", err)
	}

	for _, tc := range notTheDocumentsBlock(t, items, id, got[3].CID) {
		if _, err := items.GetAt(ctx, tc.id, tc.block); !errors.Is(err, tc.want) {
			t.Errorf("GetAt(%s, %s): %v, want %v", tc.id, tc.block, err, tc.want)
		}
	}
	unknown := gossipdb.DocID(unknownCID(t))
	for _, err := range items.History(ctx, unknown) {
		if !errors.Is(err, gossipdb.ErrNotFound) {
			t.Errorf("History of an unknown document: %v, want ErrNotFound", err)
		}
	}
	if _, err := items.GetAt(ctx, unknown, string(unknown)); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("GetAt of an unknown document: %v, want ErrNotFound", err)
	}
}

// blockCase is a document, a block and the error a read of one at the other
// fails with.
type blockCase struct {
	id    gossipdb.DocID
	block string
	want  error
}

// notTheDocumentsBlock returns reads of a document at a block that fail:
// block, a block of document id of c other than its genesis, read as
// another document's, and other mismatches. It creates that other document.
func notTheDocumentsBlock(t *testing.T, c *gossipdb.Collection, id gossipdb.DocID, block string) []blockCase {
	t.Helper()
	other, err := c.Create(context.Background(), map[string]any{"name": "washer"})
	if err != nil {
		t.Fatal(err)
	}
	return []blockCase{
		{id, "not a CID", gossipdb.ErrInvalid},
		{id, string(other), gossipdb.ErrNotFound}, // another document's genesis
		{other, block, gossipdb.ErrNotFound},      // another document's block
		{id, unknownCID(t), gossipdb.ErrNotFound}, // no stored block
		{gossipdb.DocID(unknownCID(t)), string(id), gossipdb.ErrNotFound},
		{"not an ID", block, gossipdb.ErrInvalid},
	}
}

// unknownCID returns a CID of the kind blocks have that no block has.
func unknownCID(t *testing.T) string {
	t.Helper()
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: 0x12, MhLength: -1}.Sum([]byte("no block"))
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// TestHistoryPages: a history longer than a page comes whole, each block once,
// in decreasing order of height; a caller may stop at any point.
func TestHistoryPages(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, stockSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "n0"})
	if err != nil {
		t.Fatal(err)
	}
	const changes = 600 // more than two pages
	for i := 1; i <= changes; i++ {
		if err := items.Update(ctx, id, map[string]any{"name": fmt.Sprint("n", i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := history(t, items, id)
	if len(got) != changes+1 {
		t.Fatalf("%d blocks, want %d", len(got), changes+1)
	}
	for i, b := range got {
		if h := uint64(changes + 1 - i); b.Height != h || !reflect.DeepEqual(b.Set, map[string]any{"name": fmt.Sprint("n", h-1)}) {
			t.Fatalf("block %d: height %d setting %v, want height %d setting n%d", i, b.Height, b.Set, h, h-1)
		}
	}
	k := 0
	for _, err := range items.History(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		if k++; k == 10 {
			break
		}
	}
	if d, err := items.GetAt(ctx, id, got[changes/2].CID); err != nil || d.Fields["name"] != fmt.Sprint("n", changes/2) {
		t.Errorf("GetAt the middle block: %v, %v; want name n%d", d, err, changes/2)
	}
}

// TestHistoryOfConcurrentChanges: two nodes change a document without
// hearing each other. Both list the same history, the two blocks at the same
// height in decreasing order of CID; GetAt each of them shows only that
// node's change, and GetAt the block that merges them shows what Get does.
func TestHistoryOfConcurrentChanges(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	items := nodetest.AddCollection(t, stockSDL, n1, n2)
	nodetest.Subscribe(t, "Stock", n1, n2)
	nodetest.Connect(t, n1, n2)
	id, err := items[0].Create(ctx, map[string]any{"name": "bolt", "qty": 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n2.Sync(ctx, "Stock"); err != nil {
		t.Fatal(err)
	}
	// Neither node hears the other, by gossip or catch-up.
	nodetest.Disconnect(t, n1, n2)
	branch := []map[string]any{{"name": "nut", "qty": 10}, {"name": "washer", "qty": 100}}
	for i, ch := range branch {
		if err := items[i].Update(ctx, id, ch); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Connect(t, n1, n2)
	for _, n := range []*gossipdb.Node{n1, n2} {
		if _, err := n.Sync(ctx, "Stock"); err != nil {
			t.Fatal(err)
		}
	}
	if err := items[0].Update(ctx, id, map[string]any{"qty": 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := n2.Sync(ctx, "Stock"); err != nil {
		t.Fatal(err)
	}

	h1, h2 := history(t, items[0], id), history(t, items[1], id)
	if !reflect.DeepEqual(h1, h2) {
		t.Fatalf("node 1 lists %+v, node 2 %+v", h1, h2)
	}
	if len(h1) != 4 || h1[0].Height != 3 || h1[1].Height != 2 || h1[2].Height != 2 || h1[3].Height != 1 {
		t.Fatalf("history %+v, want heights 3, 2, 2, 1", h1)
	}
	if c1, c2 := cid.MustParse(h1[1].CID), cid.MustParse(h1[2].CID); bytes.Compare(c1.Bytes(), c2.Bytes()) <= 0 {
		t.Errorf("blocks of equal height in the order %s, %s, want decreasing CIDs", c1, c2)
	}
	if want := []string{h1[1].CID, h1[2].CID}; !reflect.DeepEqual(h1[0].Prev, slices.Sorted(slices.Values(want))) {
		t.Errorf("the merging block is written on %v, want both branches %v", h1[0].Prev, want)
	}
	for _, b := range h1[1:3] {
		d, err := items[1].GetAt(ctx, id, b.CID)
		if err != nil {
			t.Fatal(err)
		}
		wantName := b.Set["name"]
		if d.Fields["name"] != wantName || d.Fields["qty"] != int64(1)+b.Add["qty"].(int64) {
			t.Errorf("at the branch that set %v: %v", b.Set, d.Fields)
		}
	}
	now, err := items[1].Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	at, err := items[1].GetAt(ctx, id, h1[0].CID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(now, at) || now.Fields["qty"] != int64(1111) {
		t.Errorf("Get %+v, GetAt the head %+v, want the same with qty 1111", now, at)
	}
}

// TestGetAtBudget: GetAt of a block whose ancestry is over its budget fails
// with ErrTooLarge; a block with a shorter ancestry still reads.
func TestGetAtBudget(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, stockSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "n0", "qty": 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if err := items.Update(ctx, id, map[string]any{"name": fmt.Sprint("n", i), "qty": 1}); err != nil {
			t.Fatal(err)
		}
	}
	blocks := history(t, items, id) // newest first
	perBlock := len(cid.MustParse(blocks[0].CID).KeyString()) + 16
	gossipdb.SetAncestryBudget(t, 50*perBlock)
	if _, err := items.GetAt(ctx, id, blocks[0].CID); !errors.Is(err, gossipdb.ErrTooLarge) {
		t.Errorf("GetAt of a block with 100 ancestors over a budget of 50: %v, want ErrTooLarge", err)
	}
	d, err := items.GetAt(ctx, id, blocks[60].CID) // height 41: 40 blocks to hold
	if err != nil || d.Fields["name"] != "n40" || d.Fields["qty"] != int64(41) {
		t.Errorf("GetAt of a block with 40 ancestors: %+v, %v; want n40 with qty 41", d, err)
	}
}

// TestBlockInfo: BlockInfo describes each block of a document as History
// does, and fails as GetAt does for a block that is not the document's.
func TestBlockInfo(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, stockSDL, n)[0]
	id, err := items.Create(ctx, map[string]any{"name": "bolt", "qty": 1, "tags": []any{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []map[string]any{{"name": "nut"}, {"qty": 2, "tags": []any{"y"}}} {
		if err := items.Update(ctx, id, ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := items.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	all := history(t, items, id)
	if len(all) != 4 {
		t.Fatalf("history of 4 blocks has %d", len(all))
	}
	for _, want := range all {
		got, err := items.BlockInfo(ctx, id, want.CID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("BlockInfo(%s) = %+v, %v; want %+v as History lists it", want.CID, got, err, want)
		}
	}
	for _, tc := range notTheDocumentsBlock(t, items, id, all[1].CID) {
		if _, err := items.BlockInfo(ctx, tc.id, tc.block); !errors.Is(err, tc.want) {
			t.Errorf("BlockInfo(%s, %s): %v, want %v", tc.id, tc.block, err, tc.want)
		}
	}
}
