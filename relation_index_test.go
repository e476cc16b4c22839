package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/store"
)

// TestRelationFieldIndexed: a relation field gets an index of its own when
// its collection is added; a query by the relation reads it, only the
// documents that name the related one; it stays exact as relations change
// and documents are deleted (Check); DropIndex keeps it; a patch that adds a
// relation field, and an Open of a store without the index, create one.
func TestRelationFieldIndexed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { n.Close() }()
	cols, err := n.AddCollection(ctx, `type Author { name: String } type Book { title: String author: Author }`)
	if err != nil {
		t.Fatal(err)
	}
	authors, books := cols[0], cols[1]
	ada, err := authors.Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := authors.Create(ctx, map[string]any{"name": "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	var adas []gossipdb.DocID
	for i := range 10 {
		id, err := books.Create(ctx, map[string]any{"title": fmt.Sprintf("A%d", i), "author": ada})
		if err != nil {
			t.Fatal(err)
		}
		adas = append(adas, id)
	}
	for i := range 5 {
		if _, err := books.Create(ctx, map[string]any{"title": fmt.Sprintf("B%d", i), "author": bob}); err != nil {
			t.Fatal(err)
		}
	}
	const name = "Book_author_ASC"
	waitIndexReady(t, books, name)

	// by reports how many books name author, and checks that the query read
	// the relation's index and only those books.
	by := func(author gossipdb.DocID) int {
		t.Helper()
		q := gossipdb.Query{Filter: gossipdb.Filter{"author": author}}
		p, err := books.Explain(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, err := range books.Query(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			k++
		}
		if p.Index != name || p.DocsRead != int64(k) {
			t.Fatalf("a query by author read index %q and %d documents for %d results; want %s and as many", p.Index, p.DocsRead, k, name)
		}
		return k
	}
	if a, b := by(ada), by(bob); a != 10 || b != 5 {
		t.Fatalf("books by Ada %d, by Bob %d; want 10 and 5", a, b)
	}
	if err := books.Update(ctx, adas[0], map[string]any{"author": bob}); err != nil {
		t.Fatal(err)
	}
	if err := books.Delete(ctx, adas[1]); err != nil {
		t.Fatal(err)
	}
	if a, b := by(ada), by(bob); a != 8 || b != 6 {
		t.Fatalf("after a book changed author and one was deleted: by Ada %d, by Bob %d; want 8 and 6", a, b)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := books.DropIndex(ctx, name); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("DropIndex of the relation's index: %v, want ErrInvalid", err)
	}

	// A patch that adds a relation field indexes it.
	if _, err := authors.Patch(ctx, `type Author { name: String favourite: Book }`); err != nil {
		t.Fatal(err)
	}
	waitIndexReady(t, authors, "Author_favourite_ASC")

	// A store without the index (written before nodes indexed relations) gets
	// one when it opens.
	if err := gossipdb.DropRelationIndex(books, name); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err = gossipdb.Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	if books, err = n.Collection("Book"); err != nil {
		t.Fatal(err)
	}
	waitIndexReady(t, books, name)
	if a := by(ada); a != 8 {
		t.Fatalf("after reopening: books by Ada %d, want 8", a)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatalf("Check after reopening: %v", err)
	}
}

// waitIndexReady waits until c has an index called name that is ready.
func waitIndexReady(t *testing.T, c *gossipdb.Collection, name string) {
	t.Helper()
	nodetest.Eventually(t, 30*time.Second, func() error {
		for _, ix := range c.Indexes() {
			if ix.Name == name && ix.Ready {
				return nil
			}
		}
		return fmt.Errorf("no ready index %s among %+v", name, c.Indexes())
	})
}

// TestRelationIndexNameTaken: a relation renamed keeps its index, named after
// its old name; a new relation that takes the old name gets an index of its
// own under the next free name, which its queries read; and AddCollection
// of the collection's SDL, first or active, returns the collection, after a
// restart too, without adding another index.
func TestRelationIndexNameTaken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { n.Close() }()
	const sdl = `type Author { name: String } type Book { title: String author: Author }`
	cols, err := n.AddCollection(ctx, sdl)
	if err != nil {
		t.Fatal(err)
	}
	authors, books := cols[0], cols[1]
	ada, err := authors.Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := books.Patch(ctx, `type Book { title: String writer: Author @rename(from: "author") }`); err != nil {
		t.Fatal(err)
	}
	const active = `type Book { title: String writer: Author author: Author }`
	if _, err := books.Patch(ctx, active); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := books.Create(ctx, map[string]any{"title": fmt.Sprint("b", i), "writer": ada, "author": ada}); err != nil {
			t.Fatal(err)
		}
	}
	waitIndexReady(t, books, "Book_author_ASC_2")
	check := func() {
		t.Helper()
		var names []string
		for _, ix := range books.Indexes() {
			names = append(names, fmt.Sprintf("%s%v", ix.Name, ix.Fields))
		}
		if want := []string{"Book_author_ASC[{writer false}]", "Book_author_ASC_2[{author false}]"}; !slices.Equal(names, want) {
			t.Fatalf("indexes %v, want %v", names, want)
		}
		p, err := books.Explain(ctx, gossipdb.Query{Filter: gossipdb.Filter{"author": string(ada)}})
		if err != nil || p.Index != "Book_author_ASC_2" || p.Results != 3 {
			t.Fatalf("query by the new relation: %+v, %v", p, err)
		}
		for _, s := range []string{sdl, active} {
			if cols, err := n.AddCollection(ctx, s); err != nil || cols[len(cols)-1] != books {
				t.Fatalf("AddCollection of %s: %v", s, err)
			}
		}
	}
	check()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err = gossipdb.Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	if books, err = n.Collection("Book"); err != nil {
		t.Fatal(err)
	}
	check()
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRelationIndexBeyondTheLimit: a collection whose declared indexes
// leave no room for its relation field's (64 already) is added all the same,
// AddCollection returning it with no error, again and after a restart; the
// index that could not be created is logged, and queries by the relation
// read the documents without it. So after a patch adds a relation to such a
// collection.
func TestRelationIndexBeyondTheLimit(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs nodetest.LogBuffer
	n, err := gossipdb.Open(dir, &gossipdb.Options{Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { n.Close() }()
	var indexed strings.Builder
	for i := range store.MaxIndexes {
		fmt.Fprintf(&indexed, " f%d: Int @index", i)
	}
	book := `type Book { author: Author` + indexed.String() + ` }`
	pub := `type Pub { name: String` + indexed.String() + ` }`
	pubPatched := `type Pub { name: String owner: Author` + indexed.String() + ` }`
	add := func(sdl string) []*gossipdb.Collection {
		t.Helper()
		cols, err := n.AddCollection(ctx, sdl)
		if err != nil {
			t.Fatalf("AddCollection: %v", err)
		}
		return cols
	}
	cols := add(`type Author { name: String } ` + book)
	ada, err := cols[0].Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cols[1].Create(ctx, map[string]any{"author": ada}); err != nil {
		t.Fatal(err)
	}
	pubs := add(pub)[0]
	if _, err := pubs.Patch(ctx, pubPatched); err != nil {
		t.Fatal(err)
	}
	if _, err := pubs.Create(ctx, map[string]any{"owner": ada}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `msg="Cannot index a relation field" collection=Book`) {
		t.Errorf("the index that could not be created was not logged:\n%s", logs.String())
	}
	for range 2 {
		add(book)
		add(pub)
		add(pubPatched)
		for _, q := range []struct{ collection, field string }{{"Book", "author"}, {"Pub", "owner"}} {
			c, err := n.Collection(q.collection)
			if err != nil {
				t.Fatal(err)
			}
			if k := len(c.Indexes()); k != store.MaxIndexes {
				t.Fatalf("%s has %d indexes", q.collection, k)
			}
			if k, err := c.Count(ctx, gossipdb.Filter{q.field: string(ada)}); err != nil || k != 1 {
				t.Fatalf("%s by %s: %d, %v", q.collection, q.field, k, err)
			}
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if n, err = gossipdb.Open(dir, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRelationIndexAfterConcurrentMerges: two nodes change the authors of the
// same books at once (the relation flips between the nodes' values as merges
// arrive) and delete some; once they agree, each node's index of the
// relation is exact (Check), and a query by each author, which reads it,
// finds the books whose merged author it is.
func TestRelationIndexAfterConcurrentMerges(t *testing.T) {
	ctx := context.Background()
	seed := nodetest.Seed(t)
	const sdl = `type Author { name: String } type Book { title: String author: Author }`
	opts := &gossipdb.Options{SyncInterval: time.Hour}
	var ns []*gossipdb.Node
	var books []*gossipdb.Collection
	var authors []gossipdb.DocID
	for i := range 2 {
		n := nodetest.Open(t, "", opts)
		cols, err := n.AddCollection(ctx, sdl)
		if err != nil {
			t.Fatal(err)
		}
		nodetest.Subscribe(t, "Author", n)
		nodetest.Subscribe(t, "Book", n)
		ns, books = append(ns, n), append(books, cols[1])
		if i == 0 {
			for _, name := range []string{"Ada", "Bob", "Cy", "Di"} {
				id, err := cols[0].Create(ctx, map[string]any{"name": name})
				if err != nil {
					t.Fatal(err)
				}
				authors = append(authors, id)
			}
		}
	}
	nodetest.Connect(t, ns[0], ns[1])
	nodetest.WaitTopicPeers(t, ns[0], "Book", ns[1])
	nodetest.WaitTopicPeers(t, ns[1], "Book", ns[0])
	rng := rand.New(rand.NewPCG(seed, 0))
	in := make([]map[string]any, 30)
	for i := range in {
		in[i] = map[string]any{"title": fmt.Sprint(i), "author": authors[rng.IntN(len(authors))]}
	}
	ids, err := books[0].CreateMany(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	converged(t, books, nil)

	var wg sync.WaitGroup
	for i, c := range books {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i+1)))
			for range 100 {
				id := ids[rng.IntN(len(ids))]
				var err error
				if rng.IntN(15) == 0 {
					err = c.Delete(ctx, id)
				} else {
					var author any = authors[rng.IntN(len(authors))]
					if rng.IntN(8) == 0 {
						author = nil
					}
					err = c.Update(ctx, id, map[string]any{"author": author})
				}
				if err != nil && !isDeleted(err) {
					t.Errorf("node %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	converged(t, books, nil)

	model := nodetest.Snapshot(t, books[0])
	for i, c := range books {
		waitIndexReady(t, c, "Book_author_ASC")
		if err := ns[i].Check(ctx); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		for _, a := range authors {
			var want, got []gossipdb.DocID
			for id, f := range model {
				if f["author"] == a {
					want = append(want, id)
				}
			}
			q := gossipdb.Query{Filter: gossipdb.Filter{"author": a}}
			for d, err := range c.Query(ctx, q) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, d.ID)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("node %d: books by %s %v, want %v", i, a, got, want)
			}
			if p, err := c.Explain(ctx, q); err != nil || p.Index != "Book_author_ASC" {
				t.Fatalf("node %d: a query by author read index %q (%v)", i, p.Index, err)
			}
		}
	}
}

// TestConcurrentDropsKeepARelationIndex: of two indexes that start with a
// relation field, dropped at the same time, one stays. Each drop checked that
// another such index remained, then dropped its own, and both could pass the
// check before either dropped: the relation field was left without an index.
func TestConcurrentDropsKeepARelationIndex(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	nodetest.AddCollection(t, `type Author { name: String } type Book { title: String author: Author }`, n)
	books, err := n.Collection("Book")
	if err != nil {
		t.Fatal(err)
	}
	const name = "Book_author_ASC"
	for round := range 200 {
		if _, err := books.CreateIndex(ctx, name, gossipdb.Order{Field: "author"}); err != nil {
			t.Fatal(err)
		}
		if _, err := books.CreateIndex(ctx, "by_author_title", gossipdb.Order{Field: "author"}, gossipdb.Order{Field: "title"}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, ix := range []string{name, "by_author_title"} {
			wg.Go(func() { errs[i] = books.DropIndex(ctx, ix) })
		}
		wg.Wait()
		var left []string
		for _, ix := range books.Indexes() {
			if ix.Fields[0].Field == "author" {
				left = append(left, ix.Name)
			}
		}
		failed := 0
		for _, err := range errs {
			if errors.Is(err, gossipdb.ErrInvalid) {
				failed++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if len(left) != 1 || failed != 1 {
			t.Fatalf("round %d: two drops of the two indexes on author at once: %v; indexes left on author: %v, want one", round, errs, left)
		}
	}
}
