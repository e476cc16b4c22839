package gossipdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

const relatedSDL = `type Author { name: String books: [Book] } type Book { title: String rating: Int author: Author }`

// library is a node with authors and books, and a GraphQL executor over it.
type library struct {
	n              *gossipdb.Node
	authors, books *gossipdb.Collection
	e              *graphql.Executor
	ids            map[string]gossipdb.DocID // by name or title
}

// newRelatedLibrary makes a library: Ada wrote A0…A4 (ratings 0…4), Bob
// B0…B19 (ratings 0…19), Cyd nothing, and Orphan has no author.
func newRelatedLibrary(t *testing.T) *library {
	t.Helper()
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	cols, err := n.AddCollection(ctx, relatedSDL)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &library{n: n, authors: cols[0], books: cols[1], e: e, ids: map[string]gossipdb.DocID{}}
	for _, name := range []string{"Ada", "Bob", "Cyd"} {
		if l.ids[name], err = l.authors.Create(ctx, map[string]any{"name": name}); err != nil {
			t.Fatal(err)
		}
	}
	for author, count := range map[string]int{"Ada": 5, "Bob": 20} {
		for i := range count {
			title := fmt.Sprintf("%c%d", author[0], i)
			if l.ids[title], err = l.books.Create(ctx, map[string]any{"title": title, "rating": i, "author": l.ids[author]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if l.ids["Orphan"], err = l.books.Create(ctx, map[string]any{"title": "Orphan", "rating": 1}); err != nil {
		t.Fatal(err)
	}
	waitIndexReady(t, l.books, "Book_author_ASC")
	return l
}

// gql runs a GraphQL request and decodes its data into out.
func (l *library) gql(t *testing.T, query string, out any) {
	t.Helper()
	resp, ran, err := l.e.Do(context.Background(), client.GraphQLRequest{Query: query})
	if err != nil || !ran || len(resp.Errors) > 0 {
		t.Fatalf("%s: ran %v, err %v, errors %v", query, ran, err, resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		t.Fatalf("%s: %v in %s", query, err, resp.Data)
	}
}

// titles collects the titles a sequence of books yields.
func titles(t *testing.T, seq func(func(*gossipdb.Document, error) bool)) []string {
	t.Helper()
	out := []string{}
	for d, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.Fields["title"].(string))
	}
	return out
}

// TestRelated: Collection.Related reads the inverse side of a relation as
// GraphQL's Author { books(…) } does, with filters, orders and pages,
// through the relation's index (Explain says so, and that it read only the
// author's books); Count and Aggregate of RelatedQuery's filter answer what
// GraphQL's _count and _sum within a document answer; after deletes of
// books and of an author too. Bad arguments are refused naming them.
func TestRelated(t *testing.T) {
	ctx := context.Background()
	l := newRelatedLibrary(t)

	type check struct {
		name  string
		gql   string // the arguments of books in GraphQL
		q     gossipdb.Query
		field string // of q's order, when q has one
	}
	checks := []check{
		{"all", "", gossipdb.Query{}, ""},
		{"ordered", "order: {title: DESC}", gossipdb.Query{Order: []gossipdb.Order{{Field: "title", Desc: true}}}, "title"},
		{"filtered and paged", "filter: {rating: {_gt: 1}}, order: {rating: ASC}, limit: 2, offset: 1",
			gossipdb.Query{Filter: gossipdb.Filter{"rating": gossipdb.Filter{"_gt": 1}}, Order: []gossipdb.Order{{Field: "rating"}}, Limit: 2, Offset: 1}, "rating"},
		{"a filter naming documents", fmt.Sprintf("filter: {_docID: {_in: [%q, %q]}}", l.ids["A1"], l.ids["B1"]),
			gossipdb.Query{Filter: gossipdb.Filter{"_docID": gossipdb.Filter{"_in": []any{l.ids["A1"], l.ids["B1"]}}}}, ""},
	}
	compare := func(t *testing.T, deleted []string) {
		t.Helper()
		for _, name := range []string{"Ada", "Bob", "Cyd"} {
			id := l.ids[name]
			showDeleted := slices.Contains(deleted, name)
			for _, c := range checks {
				var got struct {
					Author []struct {
						Books []struct{ Title string }
					}
				}
				args := c.gql
				if args != "" {
					args = "(" + args + ")"
				}
				l.gql(t, fmt.Sprintf(`{ Author(docID: %q, showDeleted: %t) { books%s { title } } }`, id, showDeleted, args), &got)
				if len(got.Author) != 1 {
					t.Fatalf("%s: GraphQL found %d authors", name, len(got.Author))
				}
				want := []string{}
				for _, b := range got.Author[0].Books {
					want = append(want, b.Title)
				}
				if c.q.Order == nil {
					slices.Sort(want) // GraphQL's default order is the document ID's
				}
				have := titles(t, l.authors.Related(ctx, id, "books", c.q))
				if c.q.Order == nil {
					slices.Sort(have)
				}
				if !slices.Equal(have, want) {
					t.Errorf("%s %s: Related = %v, GraphQL books = %v", name, c.name, have, want)
				}

				books, rq, err := l.authors.RelatedQuery(id, "books", c.q)
				if err != nil {
					t.Fatal(err)
				}
				if books.Name() != "Book" {
					t.Fatalf("RelatedQuery reads %s, want Book", books.Name())
				}
				plan, err := books.Explain(ctx, rq)
				if err != nil {
					t.Fatal(err)
				}
				byID := strings.Contains(c.name, "naming")
				switch {
				case byID && (plan.Index != "" || plan.DocsRead > 2):
					t.Errorf("%s %s: plan %+v, want the two named documents read by ID", name, c.name, plan)
				case !byID && plan.Index != "Book_author_ASC":
					t.Errorf("%s %s: plan %+v, want the relation's index", name, c.name, plan)
				case !byID && plan.DocsRead > int64(len(l.booksOf(t, id))):
					t.Errorf("%s %s: plan %+v read more than the author's %d books", name, c.name, plan, len(l.booksOf(t, id)))
				}
				if c.q.Limit == 0 && plan.Results != int64(len(want)) {
					t.Errorf("%s %s: plan %+v, want %d results", name, c.name, plan, len(want))
				}
			}

			// Count and Aggregate of the related filter, as GraphQL's
			// aggregates within a document.
			var agg struct {
				Author []struct {
					Count int64    `json:"_count"`
					Sum   int64    `json:"_sum"`
					Max   *int64   `json:"_max"`
					Avg   *float64 `json:"_avg"`
					Good  int64
				}
			}
			l.gql(t, fmt.Sprintf(`{ Author(docID: %q, showDeleted: %t) { _count(books: {}) _sum(books: {field: rating}) _max(books: {field: rating}) _avg(books: {field: rating}) good: _count(books: {filter: {rating: {_ge: 3}}}) } }`, id, showDeleted), &agg)
			books, rq, err := l.authors.RelatedQuery(id, "books", gossipdb.Query{})
			if err != nil {
				t.Fatal(err)
			}
			count, err := books.Count(ctx, rq.Filter)
			if err != nil || count != agg.Author[0].Count {
				t.Errorf("%s: Count = %d, %v; GraphQL _count = %d", name, count, err, agg.Author[0].Count)
			}
			sum, err := books.Aggregate(ctx, rq.Filter, gossipdb.Sum, "rating")
			if err != nil || sum != agg.Author[0].Sum {
				t.Errorf("%s: Sum = %v, %v; GraphQL _sum = %d", name, sum, err, agg.Author[0].Sum)
			}
			top, err := books.Aggregate(ctx, rq.Filter, gossipdb.Max, "rating")
			if wantTop := agg.Author[0].Max; err != nil || (wantTop == nil) != (top == nil) || (wantTop != nil && top != *wantTop) {
				t.Errorf("%s: Max = %v, %v; GraphQL _max = %v", name, top, err, wantTop)
			}
			avg, err := books.Aggregate(ctx, rq.Filter, gossipdb.Avg, "rating")
			if wantAvg := agg.Author[0].Avg; err != nil || (wantAvg == nil) != (avg == nil) || (wantAvg != nil && avg != *wantAvg) {
				t.Errorf("%s: Avg = %v, %v; GraphQL _avg = %v", name, avg, err, wantAvg)
			}
			_, good, err := l.authors.RelatedQuery(id, "books", gossipdb.Query{Filter: gossipdb.Filter{"rating": gossipdb.Filter{"_ge": 3}}})
			if err != nil {
				t.Fatal(err)
			}
			if count, err := books.Count(ctx, good.Filter); err != nil || count != agg.Author[0].Good {
				t.Errorf("%s: Count with a filter = %d, %v; GraphQL = %d", name, count, err, agg.Author[0].Good)
			}
			plan, err := books.Explain(ctx, good)
			if err != nil || plan.Index != "Book_author_ASC" {
				t.Errorf("%s: plan of a filtered related query %+v, %v; want the relation's index", name, plan, err)
			}
		}
	}
	t.Run("as written", func(t *testing.T) { compare(t, nil) })

	for _, title := range []string{"A1", "A4", "B0", "B7"} {
		if err := l.books.Delete(ctx, l.ids[title]); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("after deleting books", func(t *testing.T) { compare(t, nil) })

	// A deleted author's books still name it.
	if err := l.authors.Delete(ctx, l.ids["Bob"]); err != nil {
		t.Fatal(err)
	}
	t.Run("after deleting an author", func(t *testing.T) { compare(t, []string{"Bob"}) })
	if got := titles(t, l.authors.Related(ctx, l.ids["Bob"], "books", gossipdb.Query{Limit: 1})); len(got) != 1 {
		t.Errorf("Related of a deleted author = %v, want its first book", got)
	}

	// Refused, naming what is wrong, once.
	for _, c := range []struct {
		c     *gossipdb.Collection
		id    gossipdb.DocID
		field string
		q     gossipdb.Query
		want  error
		msg   string
	}{
		{l.authors, l.ids["Ada"], "name", gossipdb.Query{}, gossipdb.ErrInvalid, `field "name": not the inverse side of a relation`},
		{l.authors, l.ids["Ada"], "nope", gossipdb.Query{}, gossipdb.ErrInvalid, `field "nope": unknown field`},
		{l.books, l.ids["A0"], "author", gossipdb.Query{}, gossipdb.ErrInvalid, `field "author": not the inverse side`},
		{l.authors, "nonsense", "books", gossipdb.Query{}, gossipdb.ErrInvalid, "nonsense"},
		{l.authors, l.ids["Ada"], "books", gossipdb.Query{Filter: gossipdb.Filter{"nope": 1}}, gossipdb.ErrInvalid, `field "nope"`},
		{l.authors, l.ids["Ada"], "books", gossipdb.Query{Limit: -1}, gossipdb.ErrInvalid, "negative limit"},
	} {
		var errs []error
		for d, err := range c.c.Related(ctx, c.id, c.field, c.q) {
			if d != nil {
				t.Errorf("Related(%s, %q, %+v) yielded %v", c.id, c.field, c.q, d.Fields)
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || !errors.Is(errs[0], c.want) || !strings.Contains(errs[0].Error(), c.msg) {
			t.Errorf("Related(%s, %q, %+v) yielded %v, want one error %v saying %q", c.id, c.field, c.q, errs, c.want, c.msg)
		}
	}
}

// booksOf returns the titles of the live books that name author, by a scan.
func (l *library) booksOf(t *testing.T, author gossipdb.DocID) []string {
	t.Helper()
	var out []string
	for d, err := range l.books.Query(context.Background(), gossipdb.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Fields["author"] == author {
			out = append(out, d.Fields["title"].(string))
		}
	}
	return out
}

// TestTxnCountAggregate: a transaction's Count and Aggregate see its own
// writes, creates, updates (held unsigned until a read needs them) and
// deletes, as its Query does; what they answer just before the commit is
// what the collection's answer after it; a View's answer the collection's.
// Txn.Related sees the transaction's writes as Collection.Related sees them
// once committed.
func TestTxnCountAggregate(t *testing.T) {
	ctx := context.Background()
	l := newRelatedLibrary(t)
	ada := l.ids["Ada"]
	adas := gossipdb.Filter{"author": ada}
	ops := []gossipdb.AggregateOp{gossipdb.Sum, gossipdb.Avg, gossipdb.Min, gossipdb.Max}

	// results reads every count and aggregate the test compares, through count
	// and aggregate, which a transaction or the collection provides.
	type results struct {
		count, good int64
		aggs        []any
		related     []string
	}
	read := func(count func(gossipdb.Filter) (int64, error), aggregate func(gossipdb.Filter, gossipdb.AggregateOp, string) (any, error),
		related func(gossipdb.Query) func(func(*gossipdb.Document, error) bool)) (results, error) {
		var r results
		var err error
		if r.count, err = count(adas); err != nil {
			return r, err
		}
		if r.good, err = count(gossipdb.Filter{"author": ada, "rating": gossipdb.Filter{"_ge": 3}}); err != nil {
			return r, err
		}
		for _, op := range ops {
			v, err := aggregate(adas, op, "rating")
			if err != nil {
				return r, err
			}
			r.aggs = append(r.aggs, v)
		}
		r.related = []string{}
		for d, err := range related(gossipdb.Query{Order: []gossipdb.Order{{Field: "title"}}}) {
			if err != nil {
				return r, err
			}
			r.related = append(r.related, d.Fields["title"].(string))
		}
		return r, nil
	}
	fromCollection := func() results {
		t.Helper()
		r, err := read(func(f gossipdb.Filter) (int64, error) { return l.books.Count(ctx, f) },
			func(f gossipdb.Filter, op gossipdb.AggregateOp, field string) (any, error) {
				return l.books.Aggregate(ctx, f, op, field)
			},
			func(q gossipdb.Query) func(func(*gossipdb.Document, error) bool) {
				return l.authors.Related(ctx, ada, "books", q)
			})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	fromTxn := func(tx *gossipdb.Txn) (results, error) {
		return read(func(f gossipdb.Filter) (int64, error) { return tx.Count("Book", f) },
			func(f gossipdb.Filter, op gossipdb.AggregateOp, field string) (any, error) {
				return tx.Aggregate("Book", f, op, field)
			},
			func(q gossipdb.Query) func(func(*gossipdb.Document, error) bool) {
				return tx.Related("Author", ada, "books", q)
			})
	}
	// byQuery counts and sums what the transaction's Query returns.
	byQuery := func(tx *gossipdb.Txn) (int64, int64, error) {
		var n, sum int64
		for d, err := range tx.Query("Book", gossipdb.Query{Filter: adas}) {
			if err != nil {
				return 0, 0, err
			}
			n++
			if r, ok := d.Fields["rating"].(int64); ok {
				sum += r
			}
		}
		return n, sum, nil
	}

	before := fromCollection()
	err := l.n.View(ctx, func(tx *gossipdb.Txn) error {
		got, err := fromTxn(tx)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("View: %+v, the collection: %+v", got, before)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var last results
	err = l.n.Update(ctx, func(tx *gossipdb.Txn) error {
		steps := []struct {
			name  string
			write func() error
		}{
			{"a create", func() error {
				_, err := tx.Create("Book", map[string]any{"title": "A9", "rating": 90, "author": ada})
				return err
			}},
			{"an update", func() error { return tx.Update("Book", l.ids["A0"], map[string]any{"rating": -5}) }},
			{"a change of author", func() error { return tx.Update("Book", l.ids["B3"], map[string]any{"author": ada}) }},
			{"a delete", func() error { return tx.Delete("Book", l.ids["A2"]) }},
			{"a cleared rating", func() error { return tx.Update("Book", l.ids["A3"], map[string]any{"rating": nil}) }},
		}
		prev, err := fromTxn(tx)
		if err != nil {
			return err
		}
		for _, s := range steps {
			if err := s.write(); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			got, err := fromTxn(tx)
			if err != nil {
				return fmt.Errorf("after %s: %w", s.name, err)
			}
			if fmt.Sprint(got) == fmt.Sprint(prev) {
				t.Errorf("after %s the transaction reads %+v, as before it", s.name, got)
			}
			n, sum, err := byQuery(tx)
			if err != nil {
				return err
			}
			if got.count != n || got.aggs[0] != sum {
				t.Errorf("after %s: Count %d, Sum %v; the transaction's Query finds %d, summing %d", s.name, got.count, got.aggs[0], n, sum)
			}
			if int64(len(got.related)) != n {
				t.Errorf("after %s: Related %v, the transaction's Query finds %d", s.name, got.related, n)
			}
			prev = got
		}
		last = prev
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := fromCollection(); fmt.Sprint(after) != fmt.Sprint(last) {
		t.Errorf("the transaction read %+v before its commit, the collection %+v after it", last, after)
	}

	// Refused as the collection's are, and once the transaction has ended.
	var kept *gossipdb.Txn
	err = l.n.View(ctx, func(tx *gossipdb.Txn) error {
		kept = tx
		if _, err := tx.Count("Nope", nil); !errors.Is(err, gossipdb.ErrNotFound) {
			t.Errorf("Count of an unknown collection: %v, want ErrNotFound", err)
		}
		if _, err := tx.Count("Book", gossipdb.Filter{"nope": 1}); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("Count with an unknown field: %v, want ErrInvalid", err)
		}
		if _, err := tx.Aggregate("Book", nil, gossipdb.Sum, "title"); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("Sum of a String: %v, want ErrInvalid", err)
		}
		for _, err := range tx.Related("Author", ada, "name", gossipdb.Query{}) {
			if !errors.Is(err, gossipdb.ErrInvalid) {
				t.Errorf("Related of a field that is no inverse side: %v, want ErrInvalid", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Count("Book", nil); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("Count after the transaction: %v, want ErrInvalid", err)
	}
	if _, err := kept.Aggregate("Book", nil, gossipdb.Sum, "rating"); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("Aggregate after the transaction: %v, want ErrInvalid", err)
	}
	for _, err := range kept.Related("Author", ada, "books", gossipdb.Query{}) {
		if !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("Related after the transaction: %v, want ErrInvalid", err)
		}
	}
}
