package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

const noteSDL = `type Note { title: String tags: [String!] @crdt(type: set) scores: [Int] }`

// openApart opens n connected nodes in a line (0-1, 1-2, …) with the collections
// of sdl, subscribed to subscribe, without discovery, so that disconnecting them
// keeps them apart.
func openApart(t *testing.T, n int, sdl string, subscribe ...string) []*gossipdb.Node {
	t.Helper()
	ctx := context.Background()
	ns := make([]*gossipdb.Node, n)
	for i := range ns {
		ns[i] = nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
		if _, err := ns[i].AddCollection(ctx, sdl); err != nil {
			t.Fatal(err)
		}
		if err := ns[i].Subscribe(ctx, subscribe...); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			nodetest.Connect(t, ns[i-1], ns[i])
		}
	}
	return ns
}

// setLinks disconnects (or connects again) the line of nodes ns.
func setLinks(t *testing.T, ns []*gossipdb.Node, up bool) {
	t.Helper()
	for i := 1; i < len(ns); i++ {
		if up {
			nodetest.Connect(t, ns[i-1], ns[i])
			continue
		}
		nodetest.Disconnect(t, ns[i-1], ns[i])
	}
}

func collections(t *testing.T, ns []*gossipdb.Node, name string) []*gossipdb.Collection {
	t.Helper()
	cs := make([]*gossipdb.Collection, len(ns))
	for i, n := range ns {
		c, err := n.Collection(name)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	return cs
}

// TestSetFieldConcurrentEdits: three nodes edit one tag list while apart. Once
// they meet again every node holds the same state, and the set is the add-wins
// result: each node's additions survive, a removal takes only what its node had
// seen, so an element another node added concurrently stays. A last-writer-wins
// list edited on two nodes comes out as one of the two lists, whole.
func TestSetFieldConcurrentEdits(t *testing.T) {
	ctx := context.Background()
	ns := openApart(t, 3, noteSDL, "Note")
	cs := collections(t, ns, "Note")
	id, err := cs[0].Create(ctx, map[string]any{"title": "t", "tags": []string{"b", "a", "b"}, "scores": []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 30*time.Second, cs...)
	wantTags(t, cs[2], id, "a", "b")

	setLinks(t, ns, false)
	update := func(c *gossipdb.Collection, fields map[string]any) {
		t.Helper()
		if err := c.Update(ctx, id, fields); err != nil {
			t.Fatal(err)
		}
	}
	// Node 0 adds x0 and s, then removes s again, having seen only its own s.
	update(cs[0], map[string]any{"tags": []any{"a", "b", "x0", "s"}, "scores": []any{1, 2}})
	update(cs[0], map[string]any{"tags": []any{"a", "b", "x0"}})
	// Node 1 removes a and adds x1 and s; node 2 removes b and adds x2.
	update(cs[1], map[string]any{"tags": []string{"b", "x1", "s"}, "scores": []int64{3}})
	update(cs[2], map[string]any{"tags": []string{"a", "x2"}})
	wantTags(t, cs[0], id, "a", "b", "x0")

	setLinks(t, ns, true)
	waitConverged(t, time.Minute, cs...)
	var scores any
	for i, c := range cs {
		wantTags(t, c, id, "s", "x0", "x1", "x2")
		d, err := c.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			scores = d.Fields["scores"]
		}
		if !reflect.DeepEqual(d.Fields["scores"], scores) {
			t.Errorf("node %d: scores %v, node 0 %v", i, d.Fields["scores"], scores)
		}
	}
	if !reflect.DeepEqual(scores, []any{int64(1), int64(2)}) && !reflect.DeepEqual(scores, []any{int64(3)}) {
		t.Errorf("scores = %#v, want one of the concurrent lists whole", scores)
	}

	// Connected, a node that empties the set empties it everywhere.
	update(cs[2], map[string]any{"tags": nil})
	waitConverged(t, 30*time.Second, cs...)
	wantTags(t, cs[0], id)
}

func wantTags(t *testing.T, c *gossipdb.Collection, id gossipdb.DocID, want ...string) {
	t.Helper()
	d, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want == nil {
		want = []string{}
	}
	if got := d.Fields["tags"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("tags = %#v, want %#v", got, want)
	}
}

const librarySDL = `
	type Author { name: String books: [Book] }
	type Book { title: String author: Author! }
	type Shelf { name: String }`

// TestRelations checks the local type checks of relation fields: a document
// of another collection or a malformed ID is refused naming the field; a
// document this node does not hold is accepted and reads back as written; the
// inverse side holds nothing.
func TestRelations(t *testing.T) {
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
	book, err := books.Create(ctx, map[string]any{"title": "Notes", "author": ada})
	if err != nil {
		t.Fatal(err)
	}
	d, err := books.Get(ctx, book)
	if err != nil {
		t.Fatal(err)
	}
	if d.Fields["author"] != ada {
		t.Errorf("author = %#v, want the DocID %s", d.Fields["author"], ada)
	}
	a, err := authors.Get(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Fields["books"]; ok {
		t.Errorf("the derived inverse side is in Fields: %v", a.Fields)
	}

	// A relation is filtered by the document IDs it holds: _eq, _ne, _in, _nin.
	for _, c := range []struct {
		f    gossipdb.Filter
		want int
	}{
		{gossipdb.Filter{"author": ada}, 1},
		{gossipdb.Filter{"author": gossipdb.Filter{"_in": []any{string(ada), nil}}}, 1},
		{gossipdb.Filter{"author": gossipdb.Filter{"_ne": ada}}, 0},
		{gossipdb.Filter{"author": gossipdb.Filter{"_nin": []any{ada}}}, 0},
	} {
		if n, err := books.Count(ctx, c.f); err != nil || n != int64(c.want) {
			t.Errorf("Count(%v) = %d, %v; want %d", c.f, n, err, c.want)
		}
	}
	if _, err := books.Count(ctx, gossipdb.Filter{"author": gossipdb.Filter{"_gt": ada}}); err == nil || !strings.Contains(err.Error(), "a relation takes only _eq, _ne, _in and _nin") {
		t.Errorf("_gt on a relation: %v", err)
	}

	refused := func(what string, err error, reason string) {
		t.Helper()
		var fe *gossipdb.FieldError
		if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &fe) || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: err = %v, want ErrInvalid with %q", what, err, reason)
		}
		if fe != nil && fe.Field != "author" && fe.Field != "books" {
			t.Errorf("%s: the error names field %q", what, fe.Field)
		}
	}
	_, err = books.Create(ctx, map[string]any{"title": "x", "author": book})
	refused("a Book's ID", err, fmt.Sprintf(`field "author": document %s belongs to collection Book, not Author`, book))
	refused("update to a Book's ID", books.Update(ctx, book, map[string]any{"author": string(book)}), "belongs to collection Book")
	_, err = books.Create(ctx, map[string]any{"title": "x", "author": "xyz"})
	refused("a malformed ID", err, `field "author": "xyz" is not a document ID`)
	_, err = books.Create(ctx, map[string]any{"title": "x", "author": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"})
	refused("a CIDv0", err, "is not a document ID")
	_, err = books.Create(ctx, map[string]any{"title": "x", "author": 7})
	refused("a number", err, "want the document ID of a Author")
	_, err = books.Create(ctx, map[string]any{"title": "x"})
	refused("no author", err, `field "author": required`)
	refused("the inverse side", authors.Update(ctx, ada, map[string]any{"books": []any{string(book)}}), "derived")

	// A document this node does not hold is legal.
	dangling := gossipdb.DocID(strings.Replace(string(ada), string(ada[len(ada)-4:]), "aaaa", 1))
	b2, err := books.Create(ctx, map[string]any{"title": "Later", "author": dangling})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := books.Get(ctx, b2); err != nil || d.Fields["author"] != dangling {
		t.Errorf("dangling author reads %v (%v), want %s", d, err, dangling)
	}

	// A relation may name an existing collection; an unknown one is refused by name.
	if _, err := n.AddCollection(ctx, `type Review { book: Book! stars: Int }`); err != nil {
		t.Errorf("relation to an existing collection: %v", err)
	}
	_, err = n.AddCollection(ctx, `type Loan { item: Bok }`)
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), `unknown type "Bok"`) {
		t.Errorf("relation to an unknown type: %v", err)
	}
	if _, err := n.Collection("Loan"); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("a refused collection exists: %v", err)
	}
}

// TestRelationsSyncDangling: references travel like any value, whatever each
// node holds. Node 1 receives books whose authors it has not received, and a
// book that node 0 pointed at a document node 1 holds as a Shelf: a node judges
// a peer's block by the block alone, so both accept the same blocks.
func TestRelationsSyncDangling(t *testing.T) {
	ctx := context.Background()
	ns := openApart(t, 2, librarySDL, "Book")
	authors := collections(t, ns, "Author")
	books := collections(t, ns, "Book")
	shelves := collections(t, ns, "Shelf")

	ada, err := authors[0].Create(ctx, map[string]any{"name": "Ada"}) // Author is not subscribed: it stays on node 0
	if err != nil {
		t.Fatal(err)
	}
	shelf, err := shelves[1].Create(ctx, map[string]any{"name": "top"}) // Shelf stays on node 1
	if err != nil {
		t.Fatal(err)
	}
	b1, err := books[0].Create(ctx, map[string]any{"title": "Notes", "author": ada})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := books[0].Create(ctx, map[string]any{"title": "Odd", "author": shelf}) // node 0 does not hold it
	if err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 30*time.Second, books...)
	for id, want := range map[gossipdb.DocID]gossipdb.DocID{b1: ada, b2: shelf} {
		d, err := books[1].Get(ctx, id)
		if err != nil || d.Fields["author"] != want {
			t.Errorf("node 1: book %s: %v (%v), want author %s", id, d, err, want)
		}
	}
	if _, err := authors[1].Get(ctx, ada); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("node 1 holds the author already: %v", err)
	}
	// Node 1, which holds the shelf, refuses the same reference in its own write.
	if err := books[1].Update(ctx, b1, map[string]any{"author": shelf}); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("node 1 writing a Shelf's ID as an author: %v", err)
	}
	// Once node 1 subscribes to Author, the reference resolves.
	nodetest.Subscribe(t, "Author", ns[1])
	nodetest.Subscribe(t, "Author", ns[0])
	waitConverged(t, 30*time.Second, authors...)
	if d, err := authors[1].Get(ctx, ada); err != nil || d.Fields["name"] != "Ada" {
		t.Errorf("node 1: author %v (%v)", d, err)
	}
	if !slices.Equal(ns[1].Subscriptions(), []string{"Author", "Book"}) {
		t.Errorf("subscriptions %v", ns[1].Subscriptions())
	}
}
