package gossipdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multibase"
)

const allKindsSDL = `type Thing {
	title: String!
	count: Int
	ratio: Float
	ok: Boolean
	at: DateTime
	meta: JSON
	views: Int @crdt(type: pncounter)
	score: Float @crdt(type: pncounter)
}`

func things(t *testing.T, n *gossipdb.Node) *gossipdb.Collection {
	t.Helper()
	cols, err := n.AddCollection(context.Background(), allKindsSDL)
	if err != nil {
		t.Fatal(err)
	}
	return cols[0]
}

func count(t *testing.T, c *gossipdb.Collection, where gossipdb.Where) int {
	t.Helper()
	k := 0
	for _, err := range c.Find(context.Background(), where) {
		if err != nil {
			t.Fatal(err)
		}
		k++
	}
	return k
}

func TestCreateGetAllKinds(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	at := time.Date(2026, 11, 30, 12, 0, 0, 500, time.FixedZone("X", 3600))
	id, err := c.Create(ctx, map[string]any{
		"title": "a", "count": 7, "ratio": 0.5, "ok": true,
		"at": at.Format(time.RFC3339Nano), "meta": map[string]any{"k": []any{1, "x"}},
		"views": 3, "score": 1.25,
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := c.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ID != id {
		t.Errorf("ID = %s, want %s", doc.ID, id)
	}
	f := doc.Fields
	if f["title"] != "a" || f["count"] != int64(7) || f["ratio"] != 0.5 || f["ok"] != true ||
		f["views"] != int64(3) || f["score"] != 1.25 {
		t.Errorf("fields = %#v", f)
	}
	if got, ok := f["at"].(time.Time); !ok || !got.Equal(at) {
		t.Errorf("at = %#v, want %v", f["at"], at)
	}
	meta, ok := f["meta"].(map[string]any)
	if !ok || !slices.Equal(meta["k"].([]any), []any{json.Number("1"), "x"}) {
		t.Errorf("meta = %#v", f["meta"])
	}
	if !strings.HasPrefix(string(id), "bafyrei") {
		t.Errorf("document ID %q is not a base32 dag-cbor CID", id)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	cases := []struct {
		name   string
		fields map[string]any
		msg    string
	}{
		{"unknown field", map[string]any{"title": "a", "nope": 1}, `field "nope": unknown field`},
		{"wrong type", map[string]any{"title": "a", "count": "abc"}, `field "count": want Int, got "abc"`},
		{"missing required", map[string]any{"count": 1}, `field "title"`},
		{"required cleared", map[string]any{"title": nil}, `field "title"`},
		{"bad time", map[string]any{"title": "a", "at": "yesterday"}, `field "at"`},
		{"counter cleared", map[string]any{"title": "a", "views": nil}, `field "views"`},
		{"fractional int", map[string]any{"title": "a", "count": 1.5}, `field "count"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Create(ctx, tc.fields)
			if !errors.Is(err, gossipdb.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var fe *gossipdb.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("err %v carries no *FieldError", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to contain %q", err, tc.msg)
			}
		})
	}
	if k := count(t, c, nil); k != 0 {
		t.Errorf("%d documents stored after rejected creates", k)
	}
}

func TestUpdateDeleteLifecycle(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	id, err := c.Create(ctx, map[string]any{"title": "a", "count": 1, "views": 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, id, map[string]any{"count": nil, "ok": false, "views": -4}); err != nil {
		t.Fatal(err)
	}
	doc, err := c.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Fields["count"] != nil || doc.Fields["ok"] != false || doc.Fields["views"] != int64(6) {
		t.Errorf("after update: %#v", doc.Fields)
	}
	heads, err := c.Heads(ctx, id)
	if err != nil || len(heads) != 1 || heads[0] == string(id) {
		t.Errorf("heads = %v, %v; want one head other than genesis", heads, err)
	}
	if err := c.Update(ctx, id, map[string]any{"count": "x"}); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("bad update: err = %v, want ErrInvalid", err)
	}
	if err := c.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, id); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Errorf("Get deleted: err = %v, want ErrDeleted", err)
	}
	if err := c.Update(ctx, id, map[string]any{"count": 2}); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Errorf("Update deleted: err = %v, want ErrDeleted", err)
	}
	if err := c.Delete(ctx, id); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Errorf("Delete deleted: err = %v, want ErrDeleted", err)
	}
	other, err := n.AddCollection(ctx, `type Other { x: Int }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other[0].Get(ctx, id); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("Get in another collection: err = %v, want ErrNotFound", err)
	}
	if _, err := c.Get(ctx, "nonsense"); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("Get malformed ID: err = %v, want ErrInvalid", err)
	}
}

func TestCreateManyIsAtomic(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	docs := []map[string]any{{"title": "a"}, {"title": "b"}, {"title": 3}}
	if _, err := c.CreateMany(ctx, docs); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "document 2") {
		t.Fatalf("err = %v, want ErrInvalid naming document 2", err)
	}
	if k := count(t, c, nil); k != 0 {
		t.Fatalf("%d documents stored by a failed CreateMany", k)
	}
	ids, err := c.CreateMany(ctx, docs[:2])
	if err != nil || len(ids) != 2 {
		t.Fatalf("CreateMany = %v, %v", ids, err)
	}
	for i, id := range ids {
		d, err := c.Get(ctx, id)
		if err != nil || d.Fields["title"] != docs[i]["title"] {
			t.Errorf("doc %d = %v, %v", i, d, err)
		}
	}
	same, err := c.CreateMany(ctx, []map[string]any{{"title": "a"}, {"title": "a"}})
	if err != nil || same[0] == same[1] {
		t.Errorf("two equal creates gave %v, %v; want two documents", same, err)
	}
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	var ids []gossipdb.DocID
	for i := range 600 {
		fields := map[string]any{"title": "t", "count": i % 3}
		if i%5 == 0 {
			fields["ok"] = true
		}
		id, err := c.Create(ctx, fields)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := c.Delete(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	var got []gossipdb.DocID
	for d, err := range c.Find(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.ID)
	}
	if len(got) != 599 || !slices.IsSorted(got) || slices.Contains(got, ids[0]) {
		t.Errorf("Find(nil): %d documents, sorted %v, deleted included %v", len(got), slices.IsSorted(got), slices.Contains(got, ids[0]))
	}
	var listed []gossipdb.DocID
	for id, err := range c.DocIDs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, id)
	}
	if !slices.Equal(listed, got) {
		t.Errorf("DocIDs: %d IDs, not Find's %d", len(listed), len(got))
	}
	for range c.DocIDs(ctx) {
		break // stopping early is fine
	}
	if k := count(t, c, gossipdb.Where{"count": 2}); k != 200 {
		t.Errorf("count == 2: %d documents, want 200", k)
	}
	if k := count(t, c, gossipdb.Where{"count": 0, "ok": true}); k != 39 {
		t.Errorf("count == 0 && ok: %d documents, want 39", k)
	}
	if k := count(t, c, gossipdb.Where{"ok": nil}); k != 480 {
		t.Errorf("ok absent: %d documents, want 480", k)
	}
	for _, err := range c.Find(ctx, gossipdb.Where{"nope": 1}) {
		if !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("unknown field in Where: err = %v", err)
		}
	}
	for d := range c.Find(ctx, nil) {
		if err := c.Update(ctx, d.ID, map[string]any{"count": 9}); err != nil {
			t.Fatalf("write inside Find: %v", err)
		}
		break
	}
}

func TestAddCollection(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	cols, err := n.AddCollection(ctx, nodetest.UserSDL+` type Post { title: String }`)
	if err != nil || len(cols) != 2 || cols[0].Name() != "User" || cols[1].Name() != "Post" {
		t.Fatalf("AddCollection = %v, %v", cols, err)
	}
	again, err := n.AddCollection(ctx, "type User {\n points: Float\n verified: Boolean age: Int name: String }")
	if err != nil || again[0] != cols[0] {
		t.Errorf("same definition again = %v, %v; want the existing collection", again, err)
	}
	_, err = n.AddCollection(ctx, `type User { name: String age: Float verified: Boolean points: Float }`)
	if !errors.Is(err, gossipdb.ErrSchemaConflict) || !strings.Contains(err.Error(), `"age"`) {
		t.Errorf("conflicting definition: err = %v, want ErrSchemaConflict naming age", err)
	}
	_, err = n.AddCollection(ctx, "type Fine { a: Int }\ntype Bad {\n  b: Nope\n}")
	var se *gossipdb.SchemaError
	if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &se) || se.Line != 3 || se.Type != "Bad" {
		t.Errorf("bad SDL: err = %v (%+v), want ErrInvalid with a SchemaError at line 3 of Bad", err, se)
	}
	if _, err := n.Collection("Fine"); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("a collection of a rejected SDL string was added: %v", err)
	}
	var names []string
	for _, c := range n.Collections() {
		names = append(names, c.Name())
	}
	if !slices.Equal(names, []string{"Post", "User"}) {
		t.Errorf("Collections = %v", names)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := things(t, n)
	id, err := c.Create(ctx, map[string]any{"title": "kept", "views": 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, id, map[string]any{"views": 5}); err != nil {
		t.Fatal(err)
	}
	heads, _ := c.Heads(ctx, id)
	peerID := n.ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = nodetest.Open(t, dir, nil)
	if n.ID() != peerID {
		t.Errorf("peer ID changed across restart: %s → %s", peerID, n.ID())
	}
	c, err = n.Collection("Thing")
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Get(ctx, id)
	if err != nil || d.Fields["title"] != "kept" || d.Fields["views"] != int64(7) {
		t.Fatalf("after restart: %v, %v", d, err)
	}
	if got, _ := c.Heads(ctx, id); !slices.Equal(got, heads) {
		t.Errorf("heads after restart = %v, want %v", got, heads)
	}
}

func TestWatchLocalEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	events, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := c.Create(ctx, map[string]any{"title": "w"})
	c.Update(ctx, id, map[string]any{"count": 1})
	c.Delete(ctx, id)
	want := []gossipdb.EventType{gossipdb.EventCreated, gossipdb.EventUpdated, gossipdb.EventDeleted}
	for _, w := range want {
		select {
		case e := <-events:
			if e.Type != w || e.DocID != id || e.Remote() || e.Collection != "Thing" {
				t.Errorf("event = %+v, want %v of %s", e, w, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event", w)
		}
	}
	cancel()
	for range events {
	}
}

func TestWatchSlowReaderGetsDroppedMarker(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", &gossipdb.Options{WatchBuffer: 4})
	c := things(t, n)
	events, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]map[string]any, 50)
	for i := range docs {
		docs[i] = map[string]any{"title": "x"}
	}
	if _, err := c.CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	got, dropped := 0, 0
	for got+dropped < 50 {
		select {
		case e := <-events:
			if e.Type == gossipdb.EventDropped {
				dropped += e.Dropped
			} else {
				got++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("after %d events and %d dropped, nothing more", got, dropped)
		}
	}
	if dropped == 0 || got+dropped != 50 {
		t.Errorf("got %d events and %d dropped; want some dropped and 50 in all", got, dropped)
	}
}

// TestWatchBatches: a write of many documents is one Batch holding the events
// of the first of them and the count of all; a slow reader's lost batches are
// counted in the next one; limits out of range are refused.
func TestWatchBatches(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", &gossipdb.Options{WatchBuffer: 16})
	c := things(t, n)
	for _, limit := range []int{0, -1, gossipdb.MaxBatchEvents + 1} {
		if _, err := c.WatchBatches(ctx, limit); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("WatchBatches with limit %d: %v, want ErrInvalid", limit, err)
		}
	}
	batches, err := c.WatchBatches(ctx, 8)
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]map[string]any, 50)
	for i := range docs {
		docs[i] = map[string]any{"title": fmt.Sprint("doc ", i)}
	}
	ids, err := c.CreateMany(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	next := func() gossipdb.Batch {
		t.Helper()
		select {
		case b := <-batches:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no batch")
			return gossipdb.Batch{}
		}
	}
	b := next()
	if b.Count != 50 || len(b.Events) != 8 || b.Dropped != 0 || b.Collection != "Thing" {
		t.Fatalf("batch of a CreateMany of 50: count %d, %d events, %d dropped; want 50, 8, 0", b.Count, len(b.Events), b.Dropped)
	}
	for i, e := range b.Events {
		if e.Type != gossipdb.EventCreated || e.DocID != ids[i] {
			t.Errorf("event %d = %+v, want the creation of %s", i, e, ids[i])
		}
	}
	// Unread, the queue holds 16 events: besides the batch its goroutine is
	// holding, four updates (an event each) and one CreateMany (8), not two.
	for i := range 5 {
		if err := c.Update(ctx, ids[i], map[string]any{"title": "changed"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := c.CreateMany(ctx, docs[:20]); err != nil {
			t.Fatal(err)
		}
	}
	got, dropped := 0, 0
	for got+dropped < 65 {
		b := next()
		got += b.Count
		dropped += b.Dropped
	}
	if got+dropped != 65 || dropped == 0 {
		t.Errorf("%d blocks in batches and %d dropped, want some dropped and 65 in all", got, dropped)
	}
}

// TestWatchBatchesReportDropsWhereTheyHappened: a slow reader's lost blocks
// are reported between the batches delivered before and after them. A write
// of one document can still fit in the queue after a larger write was
// dropped; the drops were counted in the first batch of the next delivery,
// before batches written earlier.
func TestWatchBatchesReportDropsWhereTheyHappened(t *testing.T) {
	ctx := context.Background()
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprint("all=", all), func(t *testing.T) {
			n := nodetest.Open(t, "", &gossipdb.Options{WatchBuffer: 16})
			c := things(t, n)
			watch := c.WatchBatches
			if all {
				watch = n.WatchBatches
			}
			batches, err := watch(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			// Unread, the queue takes 16 events: writes of 6 documents (4
			// events) and of 1 (1 event) in turn fill it, then the larger
			// are dropped while the smaller still fit, one in two.
			type write struct {
				first  gossipdb.DocID // its first document: its batch's first event
				blocks int
			}
			var writes []write
			six := make([]map[string]any, 6)
			for i := range six {
				six[i] = map[string]any{"title": fmt.Sprint("doc ", i)}
			}
			total := 0
			for range 12 {
				ids, err := c.CreateMany(ctx, six)
				if err != nil {
					t.Fatal(err)
				}
				id, err := c.Create(ctx, map[string]any{"title": "one"})
				if err != nil {
					t.Fatal(err)
				}
				writes = append(writes, write{ids[0], 6}, write{id, 1})
				total += 7
			}
			// Each batch delivered is a write; the writes between two batches
			// delivered are those reported dropped between them.
			next, lost, delivered, dropped := 0, 0, 0, 0
			for delivered+dropped < total {
				var b gossipdb.Batch
				select {
				case b = <-batches:
				case <-time.After(10 * time.Second):
					t.Fatalf("%d blocks delivered and %d dropped, want %d in all", delivered, dropped, total)
				}
				if b.Dropped > 0 {
					if b.Count != 0 || len(b.Events) != 0 {
						t.Fatalf("a batch counting %d dropped blocks holds %d blocks", b.Dropped, b.Count)
					}
					lost += b.Dropped
					dropped += b.Dropped
					continue
				}
				i := slices.IndexFunc(writes[next:], func(w write) bool { return w.first == b.Events[0].DocID })
				if i < 0 {
					t.Fatalf("batch of %d blocks from %s: not a write after the last batch delivered", b.Count, b.Events[0].DocID)
				}
				skipped := 0
				for _, w := range writes[next : next+i] {
					skipped += w.blocks
				}
				if skipped != lost {
					t.Fatalf("before write %d: %d blocks reported dropped, want %d (the writes since the batch before)", next+i, lost, skipped)
				}
				next, lost = next+i+1, 0
				delivered += b.Count
			}
			skipped := 0
			for _, w := range writes[next:] {
				skipped += w.blocks
			}
			if skipped != lost || dropped == 0 {
				t.Fatalf("after the last batch: %d blocks reported dropped, want %d; %d dropped in all, want some", lost, skipped, dropped)
			}
		})
	}
}

// TestAddCollectionBadIndexAddsNothing: an SDL whose @index the node cannot
// create (on a list or set with other fields, a list of relations, a JSON
// field with others, or a name given to two indexes of other fields) fails
// with ErrInvalid and adds no collection, as every failed AddCollection does.
func TestAddCollectionBadIndexAddsNothing(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	for _, sdl := range []string{
		`type A @index(includes: [{field: "tags"}, {field: "x"}]) { tags: [String] x: Int }`,
		`type A @index(includes: [{field: "x"}, {field: "tags"}]) { tags: [String!] @crdt(type: set) x: Int }`,
		`type A { as: [B] @index } type B { a: A }`,
		`type A @index(includes: [{field: "j"}, {field: "x"}]) { j: JSON x: Int }`,
		`type A { x: Int @index(name: "same") y: Int @index(name: "same") }`,
	} {
		if _, err := n.AddCollection(ctx, sdl); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", sdl, err)
		}
		for _, name := range []string{"A", "B"} {
			if _, err := n.Collection(name); !errors.Is(err, gossipdb.ErrNotFound) {
				t.Fatalf("%s: collection %s added by a failed AddCollection", sdl, name)
			}
		}
	}
}

// TestAddCollectionPolicyIsPartOfTheShape: a policy is part of a collection's
// identity, so SDL that declares the fields of an existing collection with
// another policy, or with none, is a conflict: AddCollection does not hand
// back an open collection for SDL that asks for a restricted one, nor the
// other way round.
func TestAddCollectionPolicyIsPartOfTheShape(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	open := `type Doc { title: String }`
	restricted := fmt.Sprintf(`type Doc @policy(admins: [%q]) { title: String }`, n.ID())
	for _, tc := range []struct{ first, then string }{{open, restricted}, {restricted, open}} {
		n := nodetest.Open(t, "", nil)
		nodetest.AddCollection(t, tc.first, n)
		if _, err := n.AddCollection(ctx, tc.then); !errors.Is(err, gossipdb.ErrSchemaConflict) {
			t.Errorf("%s, then %s: %v, want ErrSchemaConflict", tc.first, tc.then, err)
		}
	}
}

// TestDocIDCheck: a document's own ID passes DocID.Check; text that is no
// document ID, a CID of raw bytes among it, fails with ErrInvalid naming it.
func TestDocIDCheck(t *testing.T) {
	_, c := users(t)
	id, err := c.Create(context.Background(), map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Check(); err != nil {
		t.Fatalf("Check of a document's ID: %v", err)
	}
	raw := gossipdb.DocID("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku") // a CIDv1 of raw bytes
	for _, bad := range []gossipdb.DocID{"", "zzz", raw, id[:len(id)-1]} {
		if err := bad.Check(); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("Check(%q): %v, want ErrInvalid naming it", bad, err)
		}
	}
}

// nonCanonical returns other strings of the CID id: upper case, base58, hex,
// and (when its base32 form has padding bits) a changed final character that
// decodes to the same CID. Each names the same document but is not its ID.
func nonCanonical(t testing.TB, id gossipdb.DocID) []gossipdb.DocID {
	t.Helper()
	c, err := cid.Decode(string(id))
	if err != nil {
		t.Fatal(err)
	}
	out := []gossipdb.DocID{
		gossipdb.DocID(strings.ToUpper(string(id[:1])) + strings.ToUpper(string(id[1:]))),
		gossipdb.DocID(c.Encode(multibase.MustNewEncoder(multibase.Base58BTC))),
		gossipdb.DocID(c.Encode(multibase.MustNewEncoder(multibase.Base16))),
	}
	for _, r := range "abcdefghijklmnopqrstuvwxyz234567" {
		s := string(id[:len(id)-1]) + string(r)
		if d, err := cid.Decode(s); err == nil && d.Equals(c) && s != string(id) {
			out = append(out, gossipdb.DocID(s))
			break
		}
	}
	if len(out) != 4 {
		t.Fatalf("no other final character of %s decodes to it", id)
	}
	return out
}

// TestDocIDCanonical: a document ID is valid only in the form the node gives
// it out. Another string of the same CID is refused with ErrInvalid, naming
// the canonical form, by Check and by every call that takes a document ID
// (a relation value included), rather than echoed back or matching nothing.
func TestDocIDCanonical(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	if _, err := n.AddCollection(ctx, librarySDL); err != nil {
		t.Fatal(err)
	}
	authors, books := collections(t, []*gossipdb.Node{n}, "Author")[0], collections(t, []*gossipdb.Node{n}, "Book")[0]
	ada, err := authors.Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("is not in its canonical form %q", ada)
	for _, id := range nonCanonical(t, ada) {
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("%q", id)[:40]) {
				t.Errorf("%s %s: %v, want ErrInvalid naming it and %q", what, id, err, want)
			}
		}
		check("Check", id.Check())
		_, err := authors.Get(ctx, id)
		check("Get", err)
		check("Update", authors.Update(ctx, id, map[string]any{"name": "Eve"}))
		check("Delete", authors.Delete(ctx, id))
		_, err = authors.GetAt(ctx, id, string(ada))
		check("GetAt", err)
		_, err = authors.Cursor(gossipdb.Query{}, &gossipdb.Document{ID: id})
		check("Cursor", err)
		_, err = books.Create(ctx, map[string]any{"title": "Notes", "author": id})
		check("a relation to it", err)
		_, err = books.Count(ctx, gossipdb.Filter{"author": id})
		check("a filter on a relation", err)
	}
	if d, err := authors.Get(ctx, ada); err != nil || d.Fields["name"] != "Ada" {
		t.Errorf("Get(%s) = %v, %v; want Ada unchanged", ada, d, err)
	}
}

// TestNodeWatchBatches: a watch of the node delivers the batches of every
// collection, those added after it started too, each naming its collection;
// unread, it holds WatchBuffer events for all of them together, and reports
// the blocks it dropped by collection.
func TestNodeWatchBatches(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", &gossipdb.Options{WatchBuffer: 16})
	things := things(t, n)
	for _, limit := range []int{0, gossipdb.MaxBatchEvents + 1} {
		if _, err := n.WatchBatches(ctx, limit); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("WatchBatches with limit %d: %v, want ErrInvalid", limit, err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	batches, err := n.WatchBatches(wctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	next := func() gossipdb.Batch {
		t.Helper()
		select {
		case b := <-batches:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no batch")
			return gossipdb.Batch{}
		}
	}
	posts := nodetest.AddCollection(t, `type Post { title: String }`, n)[0]
	id, err := posts.Create(ctx, map[string]any{"title": "new"})
	if err != nil {
		t.Fatal(err)
	}
	if b := next(); b.Collection != "Post" || b.Count != 1 || len(b.Events) != 1 || b.Events[0].DocID != id {
		t.Fatalf("batch %+v, want the create of %s in Post", b, id)
	}
	docs := make([]map[string]any, 10)
	for i := range docs {
		docs[i] = map[string]any{"title": fmt.Sprint("doc ", i)}
	}
	// Unread, the queue holds 16 events for both collections: four
	// CreateMany of each (4 events a batch) take it past.
	for range 4 {
		for _, c := range []*gossipdb.Collection{things, posts} {
			if _, err := c.CreateMany(ctx, docs); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := map[string]int{}
	dropped := map[string]int{}
	for got["Thing"]+dropped["Thing"]+got["Post"]+dropped["Post"] < 80 {
		b := next()
		if b.Dropped > 0 && (b.Count != 0 || len(b.Events) != 0) {
			t.Errorf("a batch reporting %d dropped blocks of %s holds %d events", b.Dropped, b.Collection, b.Count)
		}
		got[b.Collection] += b.Count
		dropped[b.Collection] += b.Dropped
	}
	for _, name := range []string{"Thing", "Post"} {
		if got[name]+dropped[name] != 40 {
			t.Errorf("%s: %d blocks in batches and %d dropped, want 40 in all", name, got[name], dropped[name])
		}
	}
	if dropped["Thing"]+dropped["Post"] == 0 {
		t.Error("no block dropped, want some past the queue's 16 events")
	}
	cancel()
	for range batches {
	}
}
