package gossipdb_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
)

const (
	shelfV1 = `type Writer { name: String } type Book { title: String }`
	// bookV2 adds an add-wins set and a relation to Book; writerV2 the inverse
	// side of that relation to Writer.
	bookV2   = `type Book { title: String tags: [String!] @crdt(type: set) writer: Writer }`
	writerV2 = `type Writer { name: String books: [Book] }`
)

// TestPatchAddsSetAndRelation: a patch adds a set field and a relation field
// to a collection that has documents. Three nodes in a line, the middle one
// still on the first version, edit one document's set while apart; once they
// meet again every node holds the same state and the set is the add-wins
// result. The middle node, which cannot show the set, kept it and passed it
// on (it is the only path between the others), and shows it once it uses the
// new version.
func TestPatchAddsSetAndRelation(t *testing.T) {
	ctx := context.Background()
	ns := openApart(t, 3, shelfV1, "Book", "Writer")
	books, writers := collections(t, ns, "Book"), collections(t, ns, "Writer")
	old := books[1]
	id, err := old.Create(ctx, map[string]any{"title": "t"})
	if err != nil {
		t.Fatal(err)
	}
	ada, err := writers[0].Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 30*time.Second, books...)
	waitConverged(t, 30*time.Second, writers...)

	v2 := patch(t, books[0], bookV2)
	if got := patch(t, books[2], bookV2); got.Version != v2.Version {
		t.Fatalf("the same patch on two nodes made versions %s and %s", v2.Version, got.Version)
	}
	// The inverse side is a compatible patch; it holds nothing and is not read.
	patch(t, writers[0], writerV2)
	if d, err := writers[0].Get(ctx, ada); err != nil || len(d.Fields) != 1 {
		t.Fatalf("writer through the version with the inverse side: %v (%v)", d, err)
	}
	// A set never added to reads empty through the new version, like a counter 0.
	wantTags(t, books[0], id)
	if d, err := books[0].Get(ctx, id); err != nil || d.Fields["writer"] != nil {
		t.Fatalf("unset relation: %v (%v)", d, err)
	}
	// Relation checks go through the active version: a Book is not a Writer.
	err = books[0].Update(ctx, id, map[string]any{"writer": id})
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "belongs to collection Book, not Writer") {
		t.Fatalf("a Book as writer: %v", err)
	}
	if err := books[0].Update(ctx, id, map[string]any{"tags": []string{"a", "b"}, "writer": ada}); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 30*time.Second, books...)
	wantTags(t, books[2], id, "a", "b")
	if d, err := old.Get(ctx, id); err != nil || fieldNames(d) != "title" {
		t.Fatalf("the first version shows %v (%v), want only title", d, err)
	}

	setLinks(t, ns, false)
	update := func(c *gossipdb.Collection, fields map[string]any) {
		t.Helper()
		if err := c.Update(ctx, id, fields); err != nil {
			t.Fatal(err)
		}
	}
	// Node 0 removes a and adds x0; node 2 removes a, adds it back (a tag node
	// 0 has not seen) and adds x2; the middle node edits the title.
	update(books[0], map[string]any{"tags": []string{"b", "x0"}})
	update(books[2], map[string]any{"tags": []string{"b"}})
	update(books[2], map[string]any{"tags": []string{"a", "b", "x2"}})
	update(old, map[string]any{"title": "old"})

	setLinks(t, ns, true)
	waitConverged(t, time.Minute, books...)
	for _, c := range []*gossipdb.Collection{books[0], books[2]} {
		wantTags(t, c, id, "a", "b", "x0", "x2")
		d, err := c.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Fields["title"] != "old" || d.Fields["writer"] != ada {
			t.Errorf("fields %v, want the middle node's title and writer %s", d.Fields, ada)
		}
	}
	if d, err := old.Get(ctx, id); err != nil || !reflect.DeepEqual(d.Fields, map[string]any{"title": "old"}) {
		t.Fatalf("the first version shows %v (%v)", d, err)
	}
	if _, err := old.UseVersion(ctx, v2.Version); err != nil {
		t.Fatal(err)
	}
	wantTags(t, old, id, "a", "b", "x0", "x2")
}
