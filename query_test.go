package gossipdb_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

const usersSDL = `type User { name: String age: Int verified: Boolean points: Float at: DateTime }`

// users opens a node with a User collection holding the given documents.
func users(t *testing.T, docs ...map[string]any) (*gossipdb.Node, *gossipdb.Collection) {
	t.Helper()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, usersSDL, n)[0]
	if len(docs) > 0 {
		if _, err := c.CreateMany(context.Background(), docs); err != nil {
			t.Fatal(err)
		}
	}
	return n, c
}

func names(t *testing.T, c *gossipdb.Collection, q gossipdb.Query) []string {
	t.Helper()
	var out []string
	for d, err := range c.Query(context.Background(), q) {
		if err != nil {
			t.Fatal(err)
		}
		s, _ := d.Fields["name"].(string)
		out = append(out, s)
	}
	return out
}

// TestQueryILikeFolds: _ilike and _nilike ignore case as strings.EqualFold
// does (Unicode simple folding), not as strings.ToLower: Greek final sigma ς
// matches σ and Σ, the micro sign µ matches μ and Μ; % and _ still work.
func TestQueryILikeFolds(t *testing.T) {
	_, c := users(t,
		map[string]any{"name": "ΟΔΥΣΣΕΥΣ"},
		map[string]any{"name": "οδυσσευς"},
		map[string]any{"name": "µs"},
		map[string]any{"name": "ms"},
	)
	for _, tc := range []struct {
		op, pattern, want string
	}{
		{"_ilike", "οδυσσευσ", "ΟΔΥΣΣΕΥΣ οδυσσευς"},
		{"_ilike", "%ς", "ΟΔΥΣΣΕΥΣ οδυσσευς"},
		{"_ilike", "_δυσσευ_", "ΟΔΥΣΣΕΥΣ οδυσσευς"},
		{"_ilike", "Μ%", "µs"},
		{"_ilike", "μS", "µs"},
		{"_nilike", "%σ", "ms µs"},
		{"_ilike", "M_", "ms"},
	} {
		q := gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{tc.op: tc.pattern}}, Order: []gossipdb.Order{{Field: "name"}}}
		if got := strings.Join(names(t, c, q), " "); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.op, tc.pattern, got, tc.want)
		}
	}
}

func TestQueryFilterOrderPage(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, c := users(t,
		map[string]any{"name": "Ada", "age": 36, "verified": true, "points": 1.5, "at": day},
		map[string]any{"name": "Bob", "age": 25, "verified": false, "points": 2.5, "at": day.Add(time.Hour)},
		map[string]any{"name": "Cy", "age": 41, "points": -1.0},
		map[string]any{"name": "Dee", "age": 25},
		map[string]any{"name": "eve"},
	)
	for _, tc := range []struct {
		q    gossipdb.Query
		want string
	}{
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gt": 30}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": 25}, Order: []gossipdb.Order{{Field: "name", Desc: true}}}, "Dee Bob"},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": nil}}, "eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_ne": nil}}, Order: []gossipdb.Order{{Field: "age"}, {Field: "name"}}}, "Bob Dee Ada Cy"},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "age", Desc: true}, {Field: "name"}}}, "Cy Ada Bob Dee eve"},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "name"}}, Limit: 2, Offset: 1}, "Bob Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_like": "%e%"}}, Order: []gossipdb.Order{{Field: "name"}}}, "Dee eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_ilike": "E%"}}}, "eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_nlike": "%e%"}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada Bob Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_nilike": "a%"}}, Order: []gossipdb.Order{{Field: "name"}}}, "Bob Cy Dee eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"_or": []any{gossipdb.Filter{"age": 41}, gossipdb.Filter{"verified": true}}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"_not": gossipdb.Filter{"age": gossipdb.Filter{"_in": []int{25, 41}}}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"at": gossipdb.Filter{"_gt": day}}}, "Bob"},
		{gossipdb.Query{Filter: gossipdb.Filter{"points": gossipdb.Filter{"_lt": 2}}, Order: []gossipdb.Order{{Field: "points"}}}, "Cy Ada"},
	} {
		if got := strings.Join(names(t, c, tc.q), " "); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.q, got, tc.want)
		}
	}

	// Page through by cursor, two at a time.
	q := gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}}, Limit: 2}
	var all []string
	for range 10 {
		var last *gossipdb.Document
		for d, err := range c.Query(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, d.Fields["name"].(string))
			last = d
		}
		if last == nil {
			break
		}
		cur, err := c.Cursor(q, last)
		if err != nil {
			t.Fatal(err)
		}
		q.After = cur
	}
	if len(all) != 5 || all[0] != "eve" {
		t.Errorf("paged: %v", all)
	}

	if n, err := c.Count(ctx, gossipdb.Filter{"age": gossipdb.Filter{"_ge": 25}}); err != nil || n != 4 {
		t.Errorf("Count = %d, %v; want 4", n, err)
	}
	// DefraDB's spellings of _ge, _le and _ne.
	if n, err := c.Count(ctx, gossipdb.Filter{"age": gossipdb.Filter{"_geq": 25, "_leq": 40, "_neq": 30}}); err != nil {
		t.Errorf("Count with _geq, _leq, _neq: %v", err)
	} else if m, err := c.Count(ctx, gossipdb.Filter{"age": gossipdb.Filter{"_ge": 25, "_le": 40, "_ne": 30}}); err != nil || n != m || n == 0 {
		t.Errorf("Count with _geq, _leq, _neq = %d; with _ge, _le, _ne = %d, %v", n, m, err)
	}
	for _, tc := range []struct {
		op    gossipdb.AggregateOp
		field string
		want  any
	}{
		{gossipdb.Sum, "age", int64(127)},
		{gossipdb.Avg, "age", 31.75},
		{gossipdb.Min, "name", "Ada"},
		{gossipdb.Max, "points", 2.5},
		{gossipdb.Sum, "points", 3.0},
	} {
		got, err := c.Aggregate(ctx, nil, tc.op, tc.field)
		if err != nil || got != tc.want {
			t.Errorf("%s(%s) = %v, %v; want %v", tc.op, tc.field, got, err, tc.want)
		}
	}
}

func TestQueryBadInput(t *testing.T) {
	ctx := context.Background()
	_, c := users(t, map[string]any{"name": "Ada"})
	var ada *gossipdb.Document
	for d, err := range c.Query(ctx, gossipdb.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		ada = d
	}
	otherCursor, err := c.Cursor(gossipdb.Query{Order: []gossipdb.Order{{Field: "name"}}}, ada)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cursor(gossipdb.Query{}, &gossipdb.Document{ID: "zzz"}); !errors.Is(err, gossipdb.ErrInvalid) ||
		!strings.Contains(err.Error(), `"zzz" is not a gossipdb document ID`) {
		t.Errorf("Cursor after a document ID that is none: %v, want ErrInvalid naming it", err)
	}
	deep := gossipdb.Filter{"age": 1}
	for range 40 {
		deep = gossipdb.Filter{"_not": deep}
	}
	for _, tc := range []struct {
		q    gossipdb.Query
		want string
	}{
		{gossipdb.Query{Filter: gossipdb.Filter{"nope": 1}}, `"nope": unknown field`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gte": 1}}}, `unknown operator "_gte"`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gt": "x"}}}, `field "age": want Int, got "x"`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_like": "x"}}}, `_like applies to String fields`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_in": 3}}}, `_in wants a list`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_or": gossipdb.Filter{}}}, `"_or": want a list of filters`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_lt": nil}}}, `_lt needs a value`},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "nope"}}}, `"nope": unknown field in order`},
		{gossipdb.Query{Limit: -1}, `negative limit`},
		{gossipdb.Query{Offset: -1}, `negative offset`},
		{gossipdb.Query{After: "%%%"}, `malformed cursor`},
		{gossipdb.Query{After: otherCursor}, `cursor made for another order`},
		{gossipdb.Query{Filter: deep}, `nests deeper than 32`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_in": make([]any, 10_001)}}}, `more than 10000 terms`},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_like": 3}}}, `_like wants a string pattern`},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_ilike": "%" + strings.Repeat("a", 64) + "_%"}}}, `run of 65 characters between % that holds a _, more than 64`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_not": []any{}}}, `"_not": want a filter`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_and": []any{1}}}, `want a list of filters, got an element 1 (int)`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_or": map[string]any{"age": json.Number("1")}}}, `"_or": want a list of filters, got {"age":1}`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_or": gossipdb.Filter{"age": 1}}}, `"_or": want a list of filters, got {"age":1}`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_not": []any{true, "<x>"}}}, `"_not": want a filter, got [true,"<x>"]`},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_like": true}}}, `_like wants a string pattern, got true`},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_in": "Ada"}}}, `_in wants a list, got "Ada"`},
		{gossipdb.Query{Filter: gossipdb.Filter{"at": "yesterday"}}, `not an RFC 3339 date-time`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_docID": 7}}, `field "_docID": want String`},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}, {Field: "age", Desc: true}}}, `"age": ordered by twice`},
	} {
		var err error
		for _, err = range c.Query(ctx, tc.q) {
			break
		}
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want ErrInvalid with %q", tc.q, err, tc.want)
		}
	}
}

// TestLikeIsLinear matches patterns that made the backtracking matcher take
// time in the product of the pattern's and the value's lengths (a 16 KiB
// pattern took 23 s against one value of 1 MiB) against values of almost 1 MiB.
func TestLikeIsLinear(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("a", 1<<20-1024)
	_, c := users(t, map[string]any{"name": long}, map[string]any{"name": long + "b"})
	for _, tc := range []struct {
		pattern string
		want    int64
	}{
		{"%" + strings.Repeat("a", 16<<10) + "b", 1},
		{"%" + strings.Repeat("a", 16<<10) + "%b%", 1},
		{"%" + strings.Repeat("a", 62) + "_b", 1},
		{"%" + strings.Repeat("a_", 31) + "b%", 1},
		{"%" + strings.Repeat("a", 16<<10) + "%" + strings.Repeat("_", 64), 2},
		{strings.Repeat("a", 1000) + "%" + strings.Repeat("a", 1000), 1},
	} {
		start := time.Now()
		n, err := c.Count(ctx, gossipdb.Filter{"name": gossipdb.Filter{"_like": tc.pattern}})
		if err != nil || n != tc.want {
			t.Errorf("pattern of %d bytes: %d, %v; want %d", len(tc.pattern), n, err, tc.want)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("pattern of %d bytes took %v against 2 MiB of values", len(tc.pattern), d)
		}
	}
}

// TestQueryStopsWithinADocument runs a query whose filter costs much per
// document (500 patterns over 64 KiB values) under a deadline: it must stop
// soon after, not at the end of its page of 4,096 documents.
func TestQueryStopsWithinADocument(t *testing.T) {
	long := strings.Repeat("a", 64<<10)
	_, c := users(t)
	for range 10 {
		docs := make([]map[string]any, 20)
		for i := range docs {
			docs[i] = map[string]any{"name": long}
		}
		if _, err := c.CreateMany(context.Background(), docs); err != nil {
			t.Fatal(err)
		}
	}
	or := make([]any, 500)
	for i := range or {
		or[i] = gossipdb.Filter{"name": gossipdb.Filter{"_like": fmt.Sprintf("%%%sb%d%%", strings.Repeat("a_", 30), i)}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Count(ctx, gossipdb.Filter{"_or": or})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Count: %v, want the deadline's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Count took %v under a deadline of 100ms", d)
	}
}

func TestAggregateAndIndexBadInput(t *testing.T) {
	ctx := context.Background()
	_, c := users(t)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(c.Aggregate(ctx, nil, gossipdb.Sum, "name")), `sum takes Int or Float fields, not String`},
		{second(c.Aggregate(ctx, nil, "median", "age")), `unknown aggregate "median"`},
		{second(c.Aggregate(ctx, nil, gossipdb.Min, "nope")), `"nope": unknown field in aggregate`},
		{second(c.Aggregate(ctx, gossipdb.Filter{"x": 1}, gossipdb.Max, "age")), `"x": unknown field`},
		{second(c.Count(ctx, gossipdb.Filter{"age": gossipdb.Filter{"_eq": "old"}})), `field "age": want Int, got "old"`},
		{second(c.CreateIndex(ctx, "", gossipdb.Order{Field: "nope"})), `"nope": unknown field in index`},
		{second(c.CreateIndex(ctx, "", gossipdb.Order{Field: "age"}, gossipdb.Order{Field: "age"})), `"age": indexed twice`},
		{second(c.CreateIndex(ctx, "")), `an index has 1 to 8 fields, not 0`},
		{second(c.CreateIndex(ctx, "by age", gossipdb.Order{Field: "age"})), `index name: invalid name "by age"`},
		{second(c.CreateIndex(ctx, "a/b", gossipdb.Order{Field: "age"})), `index name: invalid name "a/b"`},
		{second(c.CreateIndex(ctx, "_age", gossipdb.Order{Field: "age"})), `index name: names starting with "_" are reserved`},
		{second(c.CreateIndex(ctx, strings.Repeat("n", 129), gossipdb.Order{Field: "age"})), `index name: name is 129 bytes, more than the limit of 128`},
	} {
		if !errors.Is(tc.err, gossipdb.ErrInvalid) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %v, want ErrInvalid with %q", tc.err, tc.want)
		}
	}
	if _, err := c.CreateIndex(ctx, "byAge", gossipdb.Order{Field: "age"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateIndex(ctx, "byAge", gossipdb.Order{Field: "name"}); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("a taken name: %v", err)
	}
	if err := c.DropIndex(ctx, "nope"); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("drop of an unknown index: %v", err)
	}
	if err := c.DropIndex(ctx, "byAge"); err != nil {
		t.Fatal(err)
	}
	if ixs := c.Indexes(); len(ixs) != 0 {
		t.Errorf("indexes after drop: %+v", ixs)
	}
}

func second[T any](_ T, err error) error { return err }

// TestIndexesDoNotChangeTheSchemaID: indexes are local; a collection declared
// with @index has the schema ID of the one without, and its indexes are
// created and survive a restart.
// TestOrderByFieldsTheFilterFixes orders by fields that an equality of the
// filter fixes, then by the index's next ones: the index yields that order,
// since the fixed fields hold one value in every entry it reads. Such a query
// sorted every match in memory (failing with ErrTooLarge past
// MaxSortedResults of them) while the same order without the fixed fields
// read the index in order. Each query is checked against the order computed
// here, whole and paged with cursors both ways.
func TestOrderByFieldsTheFilterFixes(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type E @index(includes: [{field: "a"}, {field: "b"}, {field: "c", direction: DESC}]) {
		a: String b: Int c: Int }`, n)[0]
	type row struct {
		id   gossipdb.DocID
		a    string
		b, c int64
	}
	var rows []row
	var docs []map[string]any
	for i := range 60 {
		docs = append(docs, map[string]any{"a": []string{"x", "y"}[i%2], "b": int64(i % 3), "c": int64(i % 7)})
	}
	ids, err := c.CreateMany(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		rows = append(rows, row{id, docs[i]["a"].(string), docs[i]["b"].(int64), docs[i]["c"].(int64)})
	}
	waitIndexes(t, c)
	asc := []gossipdb.Order{{Field: "a"}, {Field: "b"}, {Field: "c", Desc: true}}
	desc := []gossipdb.Order{{Field: "a", Desc: true}, {Field: "b", Desc: true}, {Field: "c"}}
	for _, tc := range []struct {
		filter gossipdb.Filter
		match  func(r row) bool
		order  []gossipdb.Order
	}{
		{gossipdb.Filter{"a": "x"}, func(r row) bool { return r.a == "x" }, asc},
		{gossipdb.Filter{"a": "x"}, func(r row) bool { return r.a == "x" }, desc},
		{gossipdb.Filter{"a": "y", "b": 1}, func(r row) bool { return r.a == "y" && r.b == 1 }, asc},
		{gossipdb.Filter{"a": "y", "b": 1}, func(r row) bool { return r.a == "y" && r.b == 1 }, asc[1:]},
		{gossipdb.Filter{"a": "y", "b": 1}, func(r row) bool { return r.a == "y" && r.b == 1 }, desc[1:]},
		{gossipdb.Filter{"a": "x", "b": gossipdb.Filter{"_in": []any{0, 2}}}, func(r row) bool { return r.a == "x" && r.b != 1 }, asc},
		{gossipdb.Filter{"a": "x", "b": gossipdb.Filter{"_ge": 1}}, func(r row) bool { return r.a == "x" && r.b >= 1 }, desc},
	} {
		name := fmt.Sprintf("filter %v order %v", tc.filter, tc.order)
		var want []gossipdb.DocID
		var sel []row
		for _, r := range rows {
			if tc.match(r) {
				sel = append(sel, r)
			}
		}
		// The index's order, a ASC, b ASC, c DESC, then the ID in the
		// direction of its last field, c; or all of it reversed.
		reverse := tc.order[0].Desc
		slices.SortFunc(sel, func(x, y row) int {
			c := cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b), cmp.Compare(y.c, x.c), cmp.Compare(y.id, x.id))
			if reverse {
				return -c
			}
			return c
		})
		for _, r := range sel {
			want = append(want, r.id)
		}
		q := gossipdb.Query{Filter: tc.filter, Order: tc.order}
		p, err := c.Explain(ctx, q)
		if err != nil || p.Index != "E_a_ASC_b_ASC_c_DESC" || p.Sorted || p.Reverse != reverse {
			t.Errorf("%s: plan %+v, %v; want the index read in order, reverse %t", name, p, err, reverse)
		}
		var got []gossipdb.DocID
		for d, err := range c.Query(ctx, q) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got = append(got, d.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got  %v\n want %v", name, got, want)
		}
		var paged []gossipdb.DocID
		q.Limit = 4
		for range len(want) + 1 {
			var last *gossipdb.Document
			for d, err := range c.Query(ctx, q) {
				if err != nil {
					t.Fatalf("%s paged: %v", name, err)
				}
				paged = append(paged, d.ID)
				last = d
			}
			if last == nil {
				break
			}
			if q.After, err = c.Cursor(q, last); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(paged, want) {
			t.Errorf("%s paged:\n got  %v\n want %v", name, paged, want)
		}
	}
	// An order whose fixed field runs against the others' direction is
	// still answered right, sorted in memory.
	q := gossipdb.Query{Filter: gossipdb.Filter{"a": "x"}, Order: []gossipdb.Order{{Field: "a", Desc: true}, {Field: "b"}, {Field: "c", Desc: true}}}
	if p, err := c.Explain(ctx, q); err != nil || !p.Sorted || p.Results != 30 {
		t.Errorf("mixed directions: plan %+v, %v; want 30 results sorted in memory", p, err)
	}
}

// TestConcurrentIndexDeclarations has several goroutines define the same
// collections at once, as the parts of an application that each declare what
// they use do, and create the same index at once. Each call must succeed and
// find the one index, as a call after the others does; the look-up of an index
// by name and its creation raced, and all but one of the calls that lost
// failed with "store: bad index: index … exists".
func TestConcurrentIndexDeclarations(t *testing.T) {
	ctx := context.Background()
	const sdl = `type Author @index(includes: [{field: "name"}, {field: "born", direction: DESC}]) {
		name: String @index
		born: Int
	}
	type Book { title: String author: Author }`
	const callers = 8
	for round := range 4 {
		n := nodetest.Open(t, "", nil)
		var authors [callers]*gossipdb.Collection
		var indexes [callers]gossipdb.Index
		errs := make(chan error, 2*callers)
		start := make(chan struct{})
		done := make(chan struct{})
		for i := range callers {
			go func() {
				defer func() { done <- struct{}{} }()
				<-start
				cols, err := n.AddCollection(ctx, sdl)
				if err != nil {
					errs <- fmt.Errorf("AddCollection: %w", err)
					return
				}
				authors[i] = cols[0]
				if indexes[i], err = cols[1].CreateIndex(ctx, "byTitle", gossipdb.Order{Field: "title"}); err != nil {
					errs <- fmt.Errorf("CreateIndex: %w", err)
				}
			}()
		}
		close(start)
		for range callers {
			<-done
		}
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if t.Failed() {
			return
		}
		for i := range callers {
			if authors[i] != authors[0] || indexes[i].Name != "byTitle" {
				t.Fatalf("round %d: caller %d got collection %p and index %q, caller 0 %p", round, i, authors[i], indexes[i].Name, authors[0])
			}
		}
		books, err := n.Collection("Book")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range []*gossipdb.Collection{authors[0], books} {
			for _, ix := range c.Indexes() {
				got = append(got, ix.Name)
			}
		}
		want := "Author_name_ASC_born_DESC Author_name_ASC Book_author_ASC byTitle"
		if strings.Join(got, " ") != want {
			t.Fatalf("round %d: indexes %q, want %q", round, strings.Join(got, " "), want)
		}
	}
}

func TestIndexesDoNotChangeTheSchemaID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n := nodetest.Open(t, dir, nil)
	plain := nodetest.AddCollection(t, usersSDL, n)[0]
	other := nodetest.Open(t, "", nil)
	indexed := nodetest.AddCollection(t, `type User @index(includes: [{field: "name"}, {field: "age", direction: DESC}]) {
		name: String @index
		age: Int @index(direction: DESC, name: "byAge")
		verified: Boolean points: Float at: DateTime }`, other)[0]
	if plain.SchemaID() != indexed.SchemaID() {
		t.Fatalf("schema IDs differ: %s and %s", plain.SchemaID(), indexed.SchemaID())
	}
	var got []string
	for _, ix := range indexed.Indexes() {
		got = append(got, fmt.Sprintf("%s%v", ix.Name, ix.Fields))
	}
	want := "User_name_ASC_age_DESC[{name false} {age true}] User_name_ASC[{name false}] byAge[{age true}]"
	if strings.Join(got, " ") != want {
		t.Errorf("indexes %q, want %q", strings.Join(got, " "), want)
	}
	// Indexes added to an existing collection are kept across a restart.
	if _, err := plain.CreateIndex(ctx, "", gossipdb.Order{Field: "age"}); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = nodetest.Open(t, dir, nil)
	c, err := n.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	if ixs := c.Indexes(); len(ixs) != 1 || ixs[0].Name != "User_age_ASC" {
		t.Errorf("indexes after restart: %+v", ixs)
	}
	// A build that Close interrupted resumes at Open, in the background.
	nodetest.Eventually(t, 10*time.Second, func() error {
		if ixs := c.Indexes(); len(ixs) != 1 || !ixs[0].Ready {
			return fmt.Errorf("indexes after restart: %+v", ixs)
		}
		return nil
	})
	for _, bad := range []struct{ sdl, want string }{
		{`type A @index { a: Int }`, `@index on a type needs includes`},
		{`type A @index(includes: [{field: "b"}]) { a: Int }`, `@index includes unknown field "b"`},
		{`type A { a: Int @index(unique: true) }`, `@index(unique: true) is not supported`},
		{`type A { a: Int @index(direction: UP) }`, `@index direction must be ASC or DESC`},
		{`type A @key(fields: "a") { a: Int }`, `directive @key is not supported on a type (only @index and @policy)`},
	} {
		if _, err := n.AddCollection(ctx, bad.sdl); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.sdl, err, bad.want)
		}
	}
}

// TestAggregateOutOfRange: a sum beyond the range of its kind fails with an
// error naming the field, and an average is computed without overflowing, so
// neither returns a value JSON cannot carry.
func TestAggregateOutOfRange(t *testing.T) {
	ctx := context.Background()
	const big = 1.7e308
	_, c := users(t,
		map[string]any{"name": "a", "points": big, "age": int64(math.MaxInt64)},
		map[string]any{"name": "b", "points": big, "age": int64(1)},
		map[string]any{"name": "c", "points": -big, "age": int64(math.MinInt64)},
		map[string]any{"name": "d", "points": -big, "age": int64(-1)},
	)
	for _, tc := range []struct {
		filter gossipdb.Filter
		field  string
		want   string
	}{
		{gossipdb.Filter{"points": gossipdb.Filter{"_gt": 0}}, "points", `field "points": sum is out of the range of a Float`},
		{gossipdb.Filter{"points": gossipdb.Filter{"_lt": 0}}, "points", `field "points": sum is out of the range of a Float`},
		{gossipdb.Filter{"age": gossipdb.Filter{"_gt": 0}}, "age", `field "age": sum is out of the range of an Int`},
		{gossipdb.Filter{"age": gossipdb.Filter{"_lt": 0}}, "age", `field "age": sum is out of the range of an Int`},
	} {
		v, err := c.Aggregate(ctx, tc.filter, gossipdb.Sum, tc.field)
		var fe *gossipdb.FieldError
		if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("sum of %s where %v = %v, %v; want ErrInvalid with %q", tc.field, tc.filter, v, err, tc.want)
		}
	}
	for _, tc := range []struct {
		op     gossipdb.AggregateOp
		filter gossipdb.Filter
		field  string
		want   any
	}{
		{gossipdb.Avg, gossipdb.Filter{"points": gossipdb.Filter{"_gt": 0}}, "points", big},
		{gossipdb.Avg, gossipdb.Filter{"points": gossipdb.Filter{"_lt": 0}}, "points", -big},
		{gossipdb.Avg, nil, "points", 0.0},
		{gossipdb.Sum, nil, "points", 0.0},    // the running sum overflows in some orders, not the result
		{gossipdb.Sum, nil, "age", int64(-1)}, // the same of Int
		{gossipdb.Avg, nil, "age", -0.25},     // ditto
		{gossipdb.Max, nil, "points", big},    // Min and Max never overflow
		{gossipdb.Min, nil, "age", int64(math.MinInt64)},
	} {
		v, err := c.Aggregate(ctx, tc.filter, tc.op, tc.field)
		if err != nil || v != tc.want {
			t.Errorf("%s of %s where %v = %v, %v; want %v", tc.op, tc.field, tc.filter, v, err, tc.want)
		}
	}
}

// TestQueryOrderByDocID: _docID orders by the document ID, in either
// direction, alone or with other fields, paged by limit, offset and cursor,
// with no index and with one.
func TestQueryOrderByDocID(t *testing.T) {
	ctx := context.Background()
	var docs []map[string]any
	for i := range 9 {
		docs = append(docs, map[string]any{"name": fmt.Sprint("u", i), "age": i % 3})
	}
	_, c := users(t, docs...)
	byID := map[gossipdb.DocID]map[string]any{}
	var asc []gossipdb.DocID
	for d, err := range c.Query(ctx, gossipdb.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		byID[d.ID] = d.Fields
		asc = append(asc, d.ID)
	}
	if !slices.IsSorted(asc) || len(asc) != 9 {
		t.Fatalf("IDs %v", asc)
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	// byAge returns the IDs by age, in direction ageDesc, then by ID in direction idDesc.
	byAge := func(ageDesc, idDesc bool) []gossipdb.DocID {
		out := slices.Clone(asc)
		slices.SortStableFunc(out, func(a, b gossipdb.DocID) int {
			c := cmp.Compare(byID[a]["age"].(int64), byID[b]["age"].(int64))
			if ageDesc {
				c = -c
			}
			if c == 0 && idDesc {
				c = strings.Compare(string(b), string(a))
			}
			return c
		})
		return out
	}
	ids := func(q gossipdb.Query) []gossipdb.DocID {
		t.Helper()
		var out []gossipdb.DocID
		for d, err := range c.Query(ctx, q) {
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			out = append(out, d.ID)
		}
		return out
	}
	ageIs1 := func(ids []gossipdb.DocID) []gossipdb.DocID {
		return slices.DeleteFunc(slices.Clone(ids), func(id gossipdb.DocID) bool { return byID[id]["age"] != int64(1) })
	}
	type orderCase struct {
		filter gossipdb.Filter
		order  []gossipdb.Order
		want   []gossipdb.DocID
		index  bool // an index on age yields the order, with no sorting (once there is one)
	}
	check := func(tc orderCase) {
		t.Helper()
		if got := ids(gossipdb.Query{Filter: tc.filter, Order: tc.order}); !slices.Equal(got, tc.want) {
			t.Errorf("filter %v order %v:\n got  %v\n want %v", tc.filter, tc.order, got, tc.want)
		}
		if got, want := ids(gossipdb.Query{Filter: tc.filter, Order: tc.order, Limit: 2, Offset: 1}), tc.want[1:3]; !slices.Equal(got, want) {
			t.Errorf("filter %v order %v limit 2 offset 1:\n got  %v\n want %v", tc.filter, tc.order, got, want)
		}
		// Page through by cursor, two at a time.
		q := gossipdb.Query{Filter: tc.filter, Order: tc.order, Limit: 2}
		var paged []gossipdb.DocID
		for range 10 {
			var last *gossipdb.Document
			for d, err := range c.Query(ctx, q) {
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, d.ID)
				last = d
			}
			if last == nil {
				break
			}
			var err error
			if q.After, err = c.Cursor(q, last); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(paged, tc.want) {
			t.Errorf("filter %v order %v paged:\n got  %v\n want %v", tc.filter, tc.order, paged, tc.want)
		}
	}
	for _, tc := range []orderCase{
		{nil, []gossipdb.Order{{Field: "_docID"}}, asc, false},
		{nil, []gossipdb.Order{{Field: "_docID", Desc: true}}, desc, false},
		{nil, []gossipdb.Order{{Field: "_docID", Desc: true}, {Field: "age"}}, desc, false}, // IDs are unique: age never counts
		{nil, []gossipdb.Order{{Field: "age"}, {Field: "_docID", Desc: true}}, byAge(false, true), false},
		{nil, []gossipdb.Order{{Field: "age", Desc: true}, {Field: "_docID"}}, byAge(true, false), false},
		{nil, []gossipdb.Order{{Field: "age", Desc: true}, {Field: "_docID", Desc: true}}, byAge(true, true), true},
		{nil, []gossipdb.Order{{Field: "age"}, {Field: "_docID"}}, byAge(false, false), true},
		{gossipdb.Filter{"age": 1}, []gossipdb.Order{{Field: "_docID"}}, ageIs1(asc), true},
		{gossipdb.Filter{"age": 1}, []gossipdb.Order{{Field: "_docID", Desc: true}}, ageIs1(desc), true},
	} {
		check(tc)
	}
	// The same with an index on age, which yields the orders whose ID runs
	// in its direction.
	if _, err := c.CreateIndex(ctx, "byAge", gossipdb.Order{Field: "age"}); err != nil {
		t.Fatal(err)
	}
	waitIndexes(t, c)
	for _, tc := range []orderCase{
		{nil, []gossipdb.Order{{Field: "age"}, {Field: "_docID", Desc: true}}, byAge(false, true), false},
		{nil, []gossipdb.Order{{Field: "age", Desc: true}, {Field: "_docID"}}, byAge(true, false), false},
		{nil, []gossipdb.Order{{Field: "age", Desc: true}, {Field: "_docID", Desc: true}}, byAge(true, true), true},
		{nil, []gossipdb.Order{{Field: "age"}, {Field: "_docID"}}, byAge(false, false), true},
		{gossipdb.Filter{"age": 1}, []gossipdb.Order{{Field: "_docID"}}, ageIs1(asc), true},
		{gossipdb.Filter{"age": 1}, []gossipdb.Order{{Field: "_docID", Desc: true}}, ageIs1(desc), true},
	} {
		check(tc)
		p, err := c.Explain(ctx, gossipdb.Query{Filter: tc.filter, Order: tc.order})
		if err != nil || (p.Index == "byAge") != tc.index || p.Sorted == tc.index {
			t.Errorf("explain filter %v order %v: %+v, %v; want byAge read in order: %t", tc.filter, tc.order, p, err, tc.index)
		}
	}

	// A descending ID order scans the documents backwards, sorting nothing.
	p, err := c.Explain(ctx, gossipdb.Query{Order: []gossipdb.Order{{Field: "_docID", Desc: true}}, Limit: 2})
	if err != nil || p.Index != "" || p.Sorted || !p.Reverse || p.Results != 2 {
		t.Errorf("explain _docID DESC: %+v, %v", p, err)
	}

	// An order that ends with the ID in the direction it runs anyway is the
	// same order, and takes the same cursors; one that reverses it is not.
	var first *gossipdb.Document
	for d, err := range c.Query(ctx, gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}}, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		first = d
	}
	cur, err := c.Cursor(gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}}}, first)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}, {Field: "_docID"}}, After: cur}); !slices.Equal(got, byAge(false, false)[1:]) {
		t.Errorf("after a cursor of the same order: %v", got)
	}
	for _, err := range c.Query(ctx, gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}, {Field: "_docID", Desc: true}}, After: cur}) {
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "cursor made for another order") {
			t.Errorf("a cursor of another ID direction: %v", err)
		}
		break
	}
	for _, err := range c.Query(ctx, gossipdb.Query{Order: []gossipdb.Order{{Field: "_docID"}, {Field: "_docID", Desc: true}}}) {
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), `"_docID": ordered by twice`) {
			t.Errorf("_docID twice: %v", err)
		}
		break
	}
	if _, err := c.CreateIndex(ctx, "", gossipdb.Order{Field: "_docID"}); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), `"_docID"`) {
		t.Errorf("an index on _docID: %v", err)
	}
}

// TestQueryOrderByDocIDAcrossPages: a scan backwards by ID continues from page
// to page (of 4,096 documents) without missing or repeating one.
func TestQueryOrderByDocIDAcrossPages(t *testing.T) {
	ctx := context.Background()
	docs := make([]map[string]any, 4100)
	for i := range docs {
		docs[i] = map[string]any{"age": i % 2}
	}
	_, c := users(t, docs...)
	var asc []gossipdb.DocID
	for id, err := range c.DocIDs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		asc = append(asc, id)
	}
	for _, tc := range []struct {
		filter gossipdb.Filter
		want   int
	}{{nil, 4100}, {gossipdb.Filter{"age": 1}, 2050}} {
		var got []gossipdb.DocID
		for d, err := range c.Query(ctx, gossipdb.Query{Filter: tc.filter, Order: []gossipdb.Order{{Field: "_docID", Desc: true}}}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, d.ID)
		}
		if len(got) != tc.want || !slices.IsSortedFunc(got, func(a, b gossipdb.DocID) int { return strings.Compare(string(b), string(a)) }) ||
			(tc.filter == nil && (got[0] != asc[len(asc)-1] || got[len(got)-1] != asc[0])) {
			t.Errorf("filter %v: %d documents, want %d in descending ID order", tc.filter, len(got), tc.want)
		}
	}
}

// TestQuerySortBytes: a query that sorts in memory holds at most
// MaxSortedBytes of documents; past them it fails with ErrTooLarge. (It held
// every match, up to MaxSortedResults of them whatever their size: 100,000
// documents of up to a block each.) With a limit it holds only what it
// returns, and succeeds.
func TestQuerySortBytes(t *testing.T) {
	ctx := context.Background()
	_, c := users(t)
	const size = 900 << 10 // a name, in a block of its own
	docs := gossipdb.MaxSortedBytes/size + 2
	for i := range docs {
		if _, err := c.Create(ctx, map[string]any{"name": strings.Repeat(string(rune('a'+i%26)), size), "age": i}); err != nil {
			t.Fatal(err)
		}
	}
	q := gossipdb.Query{Order: []gossipdb.Order{{Field: "age", Desc: true}}}
	var err error
	for _, err = range c.Query(ctx, q) {
		if err != nil {
			break
		}
	}
	if !errors.Is(err, gossipdb.ErrTooLarge) {
		t.Fatalf("sorting %d documents of %d KiB: %v, want ErrTooLarge", docs, size>>10, err)
	}
	q.Limit = 2
	if got := names(t, c, q); len(got) != 2 || len(got[0]) != size {
		t.Fatalf("with limit 2: %d documents", len(got))
	}
}

// TestQueryPageMemory reads the first document of a collection of 64 MiB of
// documents, by a scan and by an index: neither must hold a whole page (4,096
// documents of a scan, 256 of an index) of values to return one.
func TestQueryPageMemory(t *testing.T) {
	t.Run("scan", func(t *testing.T) { testQueryPageMemory(t, 4096, gossipdb.Query{Limit: 1}) })
	t.Run("index", func(t *testing.T) {
		testQueryPageMemory(t, 256, gossipdb.Query{Filter: gossipdb.Filter{"age": 1}})
	})
}

func testQueryPageMemory(t *testing.T, docs int, q gossipdb.Query) {
	ctx := context.Background()
	_, c := users(t)
	if _, err := c.CreateIndex(ctx, "", gossipdb.Order{Field: "age"}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", (64<<20)/docs)
	per := min(64, (4<<20)/len(long)) // documents per transaction
	for range docs / per {
		batch := make([]map[string]any, per)
		for i := range batch {
			batch[i] = map[string]any{"name": long, "age": 1}
		}
		if _, err := c.CreateMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// Reads until one grows the heap within the bound, for up to 10 s: the
	// store's work in the background (the flush of the memtable these
	// writes filled, a compaction) may grow the heap meanwhile. A query
	// that held a whole page would exceed it every time.
	err := nodetest.Poll(10*time.Second, func() error {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		for _, err := range c.Query(ctx, q) {
			if err != nil {
				return err
			}
			// The page the document came from is still held.
			runtime.GC()
			runtime.ReadMemStats(&ms)
			break
		}
		if grew := int64(ms.HeapAlloc) - int64(before); grew > 24<<20 {
			return fmt.Errorf("the heap grew by %d MiB to read one document of %d KiB", grew>>20, len(long)>>10)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if p, err := c.Explain(ctx, q); err != nil || (p.Index != "") != (q.Filter != nil) {
		t.Errorf("plan %+v, %v", p, err)
	}
	// Pages cut short by their size still yield every document once.
	for _, order := range [][]gossipdb.Order{nil, {{Field: "_docID", Desc: true}}} {
		seen := map[gossipdb.DocID]bool{}
		for d, err := range c.Query(ctx, gossipdb.Query{Filter: q.Filter, Order: order}) {
			if err != nil {
				t.Fatal(err)
			}
			if seen[d.ID] {
				t.Fatalf("order %v: %s twice", order, d.ID)
			}
			seen[d.ID] = true
		}
		if len(seen) != docs {
			t.Errorf("order %v: %d documents, want %d", order, len(seen), docs)
		}
	}
}

// TestQueryShowDeleted: a query with ShowDeleted returns deleted documents
// too, marked and with the values they had, in every kind of order and page,
// and reads no index; without it they are left out, and Count never counts
// them.
func TestQueryShowDeleted(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	users := nodetest.AddCollection(t, `type User { name: String @index age: Int }`, n)[0]
	ids, err := users.CreateMany(ctx, []map[string]any{
		{"name": "Ada", "age": 36}, {"name": "Bob", "age": 20}, {"name": "Cy", "age": 41}, {"name": "Di", "age": 29},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []gossipdb.DocID{ids[1], ids[2]} {
		if err := users.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	names := func(q gossipdb.Query) (out []string) {
		t.Helper()
		for d, err := range users.Query(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			s := d.Fields["name"].(string)
			if d.Deleted {
				s += " (deleted)"
			}
			out = append(out, s)
		}
		return out
	}
	byAge := []gossipdb.Order{{Field: "age"}}
	for _, tc := range []struct {
		q    gossipdb.Query
		want []string
	}{
		{gossipdb.Query{Order: byAge}, []string{"Di", "Ada"}},
		{gossipdb.Query{Order: byAge, ShowDeleted: true}, []string{"Bob (deleted)", "Di", "Ada", "Cy (deleted)"}},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_eq": "Cy"}}, ShowDeleted: true}, []string{"Cy (deleted)"}},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_eq": "Cy"}}}, nil},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "name", Desc: true}}, Limit: 2, Offset: 1, ShowDeleted: true}, []string{"Cy (deleted)", "Bob (deleted)"}},
	} {
		if got := names(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.q, got, tc.want)
		}
	}
	q := gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_in": []any{"Ada", "Bob"}}}, ShowDeleted: true}
	if plan, err := users.Explain(ctx, q); err != nil || plan.Index != "" || plan.DocsRead != 4 {
		t.Errorf("plan of a query showing deleted documents: %+v, %v; want a scan of all 4", plan, err)
	}
	q.ShowDeleted = false
	waitIndexes(t, users) // built in the background, even on an empty collection
	if plan, err := users.Explain(ctx, q); err != nil || plan.Index == "" {
		t.Errorf("plan of the same query without them: %+v, %v; want the index on name", plan, err)
	}
	// Paging by cursor through deleted documents.
	var paged []string
	q = gossipdb.Query{Order: byAge, Limit: 1, ShowDeleted: true}
	for range 5 {
		var last *gossipdb.Document
		for d, err := range users.Query(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			paged, last = append(paged, d.Fields["name"].(string)), d
		}
		if last == nil {
			break
		}
		if q.After, err = users.Cursor(q, last); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"Bob", "Di", "Ada", "Cy"}; !slices.Equal(paged, want) {
		t.Errorf("pages of one: %v, want %v", paged, want)
	}
	if n, err := users.Count(ctx, nil); err != nil || n != 2 {
		t.Errorf("count %d, %v; want the 2 live documents", n, err)
	}
}

// TestQueryListFilters: _any, _all and _none test the items of a list field
// and the elements of an add-wins set, on every path a filter runs: a scan, a
// count, the documents an index yields and a point read by ID.
func TestQueryListFilters(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type Post {
		name: String @index
		scores: [Int]
		tags: [String!] @crdt(type: set)
		days: [DateTime]
	}`, n)[0]
	// An index on the items of scores, made before the documents, and one on
	// tags built from them below: every filter runs on both, with and
	// without them.
	if _, err := c.CreateIndex(ctx, "", gossipdb.Order{Field: "scores", Desc: true}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids, err := c.CreateMany(ctx, []map[string]any{
		{"name": "a", "scores": []any{1, 5, nil}, "tags": []string{"go", "db"}, "days": []time.Time{day}},
		{"name": "b", "scores": []int{7, 9}, "tags": []string{"rust"}},
		{"name": "c", "scores": []int{}},
		{"name": "d"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A set's elements as merged, not as created: b's tags gain "go".
	if err := c.Update(ctx, ids[1], map[string]any{"tags": []string{"rust", "go"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		f    gossipdb.Filter
		want string
	}{
		{gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_gt": 6}}}, "b"},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_or": []any{gossipdb.Filter{"_eq": 1}, gossipdb.Filter{"_gt": 8}}}}}, "a b"},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_all": gossipdb.Filter{"_not": gossipdb.Filter{"_eq": "go"}}}}, "c d"},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_lt": 2}}}, "a"},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_any": 5}}, "a"},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_any": nil}}, "a"},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_all": gossipdb.Filter{"_gt": 6}}}, "b c"}, // not d's null list, as in DefraDB
		{gossipdb.Filter{"scores": gossipdb.Filter{"_all": gossipdb.Filter{"_ge": 1, "_le": 5}}}, "c"},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_none": gossipdb.Filter{"_in": []any{1, 9}}}}, "c"},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_gt": 0}, "_none": gossipdb.Filter{"_eq": 9}}}, "a"},
		{gossipdb.Filter{"_not": gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_ne": nil}}}}, "c d"},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_any": "go"}}, "a b"},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_any": gossipdb.Filter{"_like": "r%"}}}, "b"},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_any": gossipdb.Filter{"_in": []any{"rust", "go", "db"}}}}, "a b"},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_all": gossipdb.Filter{"_in": []any{"go", "db"}}}}, "a c d"},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_none": "go"}, "name": gossipdb.Filter{"_in": []any{"a", "b", "c"}}}, "c"},
		{gossipdb.Filter{"days": gossipdb.Filter{"_any": gossipdb.Filter{"_lt": day.Add(time.Second)}}}, "a"},
		{gossipdb.Filter{"days": gossipdb.Filter{"_any": day.Format(time.RFC3339)}}, "a"},
	}
	// check runs every case; with tagsIndexed, a case whose filter is an
	// _any of tags equal to a value must read the index on tags.
	check := func(tagsIndexed bool) {
		t.Helper()
		for _, tc := range cases {
			got := strings.Join(names(t, c, gossipdb.Query{Filter: tc.f, Order: []gossipdb.Order{{Field: "name"}}}), " ")
			if got != tc.want {
				t.Errorf("%v: got %q, want %q", tc.f, got, tc.want)
			}
			if n, err := c.Count(ctx, tc.f); err != nil || n != int64(len(strings.Fields(tc.want))) {
				t.Errorf("count %v = %d, %v; want %d", tc.f, n, err, len(strings.Fields(tc.want)))
			}
			// In document ID order, as an index on the items yields them.
			var byID []string
			for d, err := range c.Query(ctx, gossipdb.Query{Filter: tc.f}) {
				if err != nil {
					t.Fatal(err)
				}
				byID = append(byID, string(d.ID))
			}
			if !slices.IsSorted(byID) || len(byID) != len(strings.Fields(tc.want)) {
				t.Errorf("%v in ID order: %v, want %d documents in ID order", tc.f, byID, len(strings.Fields(tc.want)))
			}
			// Each document read by ID (a point read, not a scan) matches alike.
			for i, id := range ids {
				named := gossipdb.Filter{"_and": []any{tc.f, gossipdb.Filter{"_docID": string(id)}}}
				got := len(names(t, c, gossipdb.Query{Filter: named})) == 1
				if want := slices.Contains(strings.Fields(tc.want), string(rune('a'+i))); got != want {
					t.Errorf("%v, document %c read by ID: matched %v, want %v", tc.f, 'a'+i, got, want)
				}
			}
		}
		p, err := c.Explain(ctx, gossipdb.Query{Filter: gossipdb.Filter{"scores": gossipdb.Filter{"_any": 5}}})
		if err != nil || p.Index != "Post_scores_DESC" || p.EntriesRead != 1 || p.DocsRead != 1 {
			t.Errorf("plan of an item equal to 5: %+v, %v; want one entry of Post_scores_DESC read", p, err)
		}
		// Items in a list of values: a range per value, each document once
		// however many of its items match.
		in := gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_in": []any{1, 5, 7, nil, 8}}}}
		p, err = c.Explain(ctx, gossipdb.Query{Filter: in})
		if err != nil || p.Index != "Post_scores_DESC" || p.Ranges != 5 || p.EntriesRead != 4 || p.Results != 2 {
			t.Errorf("plan of items in a list: %+v, %v; want 5 ranges of Post_scores_DESC, 4 entries, 2 results", p, err)
		}
		if n, err := c.Count(ctx, in); err != nil || n != 2 {
			t.Errorf("count of items in a list: %d, %v; want 2", n, err)
		}
		// Items in a range: b's 7 and 9 are both in it, and b comes once.
		p, err = c.Explain(ctx, gossipdb.Query{Filter: gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_gt": 4, "_ne": 8}}}})
		if err != nil || p.Index != "Post_scores_DESC" || p.Ranges != 1 || p.EntriesRead != 3 || p.Results != 2 {
			t.Errorf("plan of items in a range: %+v, %v; want 1 range of Post_scores_DESC, 3 entries, 2 results", p, err)
		}
		for _, limit := range []int{0, 1} {
			q := gossipdb.Query{Filter: in, Order: []gossipdb.Order{{Field: "name", Desc: true}}, Limit: limit}
			want := []string{"b", "a"}
			if limit == 1 {
				want = want[:1]
			}
			if got := names(t, c, q); !slices.Equal(got, want) {
				t.Errorf("items in a list, limit %d: %v, want %v", limit, got, want)
			}
		}
		p, err = c.Explain(ctx, gossipdb.Query{Filter: gossipdb.Filter{"tags": gossipdb.Filter{"_any": "go"}}})
		if want := map[bool]string{true: "Post_tags_ASC"}[tagsIndexed]; err != nil || p.Index != want {
			t.Errorf("plan of a tag equal to go: %+v, %v; want index %q", p, err, want)
		}
		if n, err := c.Count(ctx, gossipdb.Filter{"tags": gossipdb.Filter{"_any": "go"}}); err != nil || n != 2 {
			t.Errorf("count of tags holding go: %d, %v; want 2", n, err)
		}
	}
	check(false)
	if _, err := c.CreateIndex(ctx, "", gossipdb.Order{Field: "tags"}); err != nil {
		t.Fatal(err)
	}
	waitIndexes(t, c)
	check(true)
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// An index on name yields the documents; the list condition is tested on each.
	q := gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_ge": "b"}, "scores": gossipdb.Filter{"_all": gossipdb.Filter{"_gt": 6}}}, Order: []gossipdb.Order{{Field: "name"}}}
	if p, err := c.Explain(ctx, q); err != nil || p.Index != "Post_name_ASC" {
		t.Fatalf("plan %+v, %v: want the index on name", p, err)
	}
	if got := names(t, c, q); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("indexed: got %v, want [b c]", got)
	}
	// Items removed and added by updates, a delete and a new document's
	// set leave the indexes exact.
	if err := c.Update(ctx, ids[0], map[string]any{"tags": []string{"db"}, "scores": []int{9, 9}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, map[string]any{"name": "e", "tags": []string{"x", "go"}}); err != nil {
		t.Fatal(err)
	}
	if got := names(t, c, gossipdb.Query{Filter: gossipdb.Filter{"tags": gossipdb.Filter{"_any": "go"}}}); !slices.Equal(got, []string{"e"}) {
		t.Errorf("tags holding go after the updates: %v, want [e]", got)
	}
	if got := names(t, c, gossipdb.Query{Filter: gossipdb.Filter{"scores": gossipdb.Filter{"_any": 9}}}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("scores holding 9 after the updates: %v, want [a]", got)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		f    gossipdb.Filter
		want string
	}{
		{gossipdb.Filter{"scores": 5}, `"scores": a list takes _any, _all or _none`},
		{gossipdb.Filter{"scores": gossipdb.Filter{}}, `"scores": a list takes _any, _all or _none`},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_eq": []any{1}}}, `"scores": a list is not compared whole (_eq, as where does): match its items with _any, _all or _none`},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_any": gossipdb.Filter{"_gt": "x"}}}, `field "scores": want Int, got "x"`},
		{gossipdb.Filter{"scores": gossipdb.Filter{"_all": gossipdb.Filter{"_like": "x"}}}, `_like applies to String fields`},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_none": gossipdb.Filter{"_gte": "x"}}}, `unknown operator "_gte"`},
		{gossipdb.Filter{"tags": gossipdb.Filter{"_any": gossipdb.Filter{"_in": make([]any, 10_000)}}}, `more than 10000 terms`},
	} {
		if _, err := c.Count(ctx, tc.f); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want ErrInvalid with %q", tc.f, err, tc.want)
		}
	}
	// ItemFilter tests one item as a document holds it, as _any does.
	test, err := c.ItemFilter("days", gossipdb.Filter{"_or": []any{gossipdb.Filter{"_lt": day}, gossipdb.Filter{"_eq": nil}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		item any
		want bool
	}{{day.Add(-time.Second), true}, {day, false}, {nil, true}, {"2025-12-31T23:00:00-02:00", false}, {"not a time", false}} {
		if got := test(tc.item); got != tc.want {
			t.Errorf("ItemFilter of days, item %v: %v, want %v", tc.item, got, tc.want)
		}
	}
	for field, want := range map[string]string{"nope": `"nope": unknown field`, "name": `"name": not a list or set field`} {
		if _, err := c.ItemFilter(field, gossipdb.Filter{"_eq": 1}); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ItemFilter of %s: %v, want ErrInvalid with %q", field, err, want)
		}
	}
	if _, err := c.ItemFilter("scores", gossipdb.Filter{"_like": "x"}); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("ItemFilter with _like on Int items: %v, want ErrInvalid", err)
	}

	if _, err := c.CreateIndex(ctx, "", gossipdb.Order{Field: "name"}, gossipdb.Order{Field: "tags"}); !errors.Is(err, gossipdb.ErrInvalid) ||
		!strings.Contains(err.Error(), `"tags": a list or set field can only be indexed alone`) {
		t.Errorf("an index on name and tags: %v, want ErrInvalid saying a list is indexed alone", err)
	}
}

// TestIndexReadInOneSnapshot moves documents between the two values of an
// _in, in a scalar field and in a list's items, while counts and queries
// that read both values' ranges of an index run. Every document matches
// throughout, so each run must find each document once: a run that read
// the ranges in separate snapshots would count a document that moved from
// the first value to the second after its first range was read twice, and
// one that moved the other way not at all.
func TestIndexReadInOneSnapshot(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type Item { name: String @index tags: [String] @index }`, n)[0]
	const docs = 600 // more than an index page holds
	in := make([]map[string]any, docs)
	for i := range in {
		v := []string{"a", "b"}[i%2]
		in[i] = map[string]any{"name": v, "tags": []string{v}}
	}
	ids, err := c.CreateMany(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	filters := map[string]gossipdb.Filter{
		"name": {"name": gossipdb.Filter{"_in": []any{"a", "b"}}},
		"tags": {"tags": gossipdb.Filter{"_any": gossipdb.Filter{"_in": []any{"a", "b"}}}},
	}
	for name, f := range filters {
		p, err := c.Explain(ctx, gossipdb.Query{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		if p.Index == "" || p.Ranges != 2 || !p.Sorted {
			t.Fatalf("%s: plan %+v, want two ranges of an index, sorted", name, p)
		}
	}

	// The writer moves one document after another to the other value until
	// the readers are done, or have failed: it stops before the node closes.
	stop := make(chan struct{})
	moved := make(chan int)
	defer func() {
		close(stop)
		t.Logf("%d documents moved while the readers ran", <-moved)
	}()
	go func() {
		k := 0
		defer func() { moved <- k }()
		for ; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			v := []string{"b", "a"}[(k/docs+k)%2]
			if err := c.Update(ctx, ids[k%docs], map[string]any{"name": v, "tags": []string{v}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for round := range 10 {
		for name, f := range filters {
			got, err := c.Count(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if got != docs {
				t.Errorf("round %d: count of %s: %d, want %d", round, name, got, docs)
			}
			seen := make(map[gossipdb.DocID]int)
			for d, err := range c.Query(ctx, gossipdb.Query{Filter: f}) {
				if err != nil {
					t.Fatal(err)
				}
				seen[d.ID]++
			}
			twice := 0
			for _, k := range seen {
				if k != 1 {
					twice++
				}
			}
			if len(seen) != docs || twice > 0 {
				t.Errorf("round %d: query of %s: %d documents, %d of them more than once; want %d, each once", round, name, len(seen), twice, docs)
			}
		}
		if t.Failed() {
			break
		}
	}
}

// TestIterationStopsWhenContextEnds: Query, Find, DocIDs and Changes read a
// page ahead; a ctx that ends while the loop runs ends the iteration at the
// next item, with ctx's error, not a page later or without a word.
func TestIterationStopsWhenContextEnds(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddUser(t, n)[0]
	for i := range 20 {
		if _, err := c.Create(context.Background(), map[string]any{"name": fmt.Sprint("user ", i), "age": i}); err != nil {
			t.Fatal(err)
		}
	}
	// check cancels ctx at the first item and wants no other, then the error.
	check := func(name string, each func(ctx context.Context, fn func(err error) bool)) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		items, last := 0, error(nil)
		each(ctx, func(err error) bool {
			if err != nil {
				last = err
				return true
			}
			items++
			cancel()
			return true
		})
		if items != 1 || !errors.Is(last, context.Canceled) {
			t.Errorf("%s: %d items, then %v; want 1, then context.Canceled", name, items, last)
		}
	}
	check("Query", func(ctx context.Context, fn func(error) bool) {
		for _, err := range c.Query(ctx, gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}}}) {
			if !fn(err) {
				return
			}
		}
	})
	check("Find", func(ctx context.Context, fn func(error) bool) {
		for _, err := range c.Find(ctx, nil) {
			if !fn(err) {
				return
			}
		}
	})
	check("DocIDs", func(ctx context.Context, fn func(error) bool) {
		for _, err := range c.DocIDs(ctx) {
			if !fn(err) {
				return
			}
		}
	})
	check("Changes", func(ctx context.Context, fn func(error) bool) {
		for _, err := range c.Changes(ctx, 0) {
			if !fn(err) {
				return
			}
		}
	})
}

// TestNestedAndUsesIndex: the conditions of an _and, however a filter nests
// it (beside other keys, within another _and, or an element that holds
// several keys, as a program composing filters writes them), are joined by
// and at the top like the keys of one map, so the planner uses an index on
// them: such filters read the index, not every document, and match what the
// flat filter matches. (They were read by a scan.)
func TestNestedAndUsesIndex(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type E { a: String @index b: Int }`, n)[0]
	var docs []map[string]any
	for i := range 40 {
		docs = append(docs, map[string]any{"a": fmt.Sprintf("v%d", i%10), "b": int64(i % 3)})
	}
	if _, err := c.CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	waitIndexes(t, c)
	ids := func(f gossipdb.Filter) []gossipdb.DocID {
		t.Helper()
		var out []gossipdb.DocID
		for d, err := range c.Query(ctx, gossipdb.Query{Filter: f}) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d.ID)
		}
		return out
	}
	flat := gossipdb.Filter{"a": "v3", "b": 1}
	want := ids(flat)
	if len(want) == 0 {
		t.Fatal("the flat filter matches nothing")
	}
	for _, f := range []gossipdb.Filter{
		{"_and": []any{gossipdb.Filter{"a": "v3"}}, "b": 1},
		{"_and": []any{gossipdb.Filter{"a": "v3", "b": 1}}},
		{"_and": []any{gossipdb.Filter{"b": 1}, gossipdb.Filter{"_and": []any{gossipdb.Filter{"a": "v3", "b": gossipdb.Filter{"_ge": 0}}}}}},
		{"_and": []any{gossipdb.Filter{}, gossipdb.Filter{"a": "v3"}}, "b": gossipdb.Filter{"_in": []any{1}}},
	} {
		p, err := c.Explain(ctx, gossipdb.Query{Filter: f})
		if err != nil || p.Index != "E_a_ASC" || p.DocsRead != 4 {
			t.Errorf("filter %v: plan %+v, %v; want index E_a_ASC reading its 4 documents", f, p, err)
		}
		if got := ids(f); !slices.Equal(got, want) {
			t.Errorf("filter %v matches %v, the flat filter %v", f, got, want)
		}
	}
	// An _and of nothing still matches everything.
	if got := ids(gossipdb.Filter{"_and": []any{}}); len(got) != 40 {
		t.Errorf("an empty _and matches %d documents, want 40", len(got))
	}
	if got := ids(gossipdb.Filter{"_and": []any{gossipdb.Filter{}}, "b": 1}); len(got) != 13 {
		t.Errorf("an _and of an empty filter, and b = 1, matches %d documents, want 13", len(got))
	}
}

// TestQueryWhileItsIndexIsDropped: a query streams its results in pages, each
// read in a snapshot of its own. When the index it reads is dropped between
// two pages, the next page's entries are being deleted: the query fails
// saying so, where it ended early as if it had found everything.
func TestQueryWhileItsIndexIsDropped(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, `type Item { name: String @index stock: Int }`, n)[0]
	docs := make([]map[string]any, 1500)
	for i := range docs {
		docs[i] = map[string]any{"name": "same", "stock": i}
	}
	if _, err := items.CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	waitIndexes(t, items)
	name := items.Indexes()[0].Name
	got := 0
	var err error
	for _, err = range items.Query(ctx, gossipdb.Query{Filter: gossipdb.Filter{"name": "same"}}) {
		if err != nil {
			break
		}
		if got++; got == 1 {
			if err := items.DropIndex(ctx, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err == nil && got != len(docs) {
		t.Fatalf("query across the drop of its index: %d results and no error, want %d or an error", got, len(docs))
	}
	if err != nil && !errors.Is(err, gossipdb.ErrIndexDropped) {
		t.Fatalf("query across the drop of its index: %v, want an error saying the index was dropped", err)
	}
	t.Logf("%d results, then %v", got, err)
}

// TestQueryPlansAgainWhenItsIndexIsDropped: a query that chose an index
// which is dropped before it reads any of it plans again, and answers. Count
// and Aggregate, which read an index in one snapshot, failed instead, saying
// the index was dropped while they read it, as did a query that had yielded
// nothing yet.
func TestQueryPlansAgainWhenItsIndexIsDropped(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	items := nodetest.AddCollection(t, `type Item { name: String stock: Int }`, n)[0]
	docs := make([]map[string]any, 600)
	for i := range docs {
		docs[i] = map[string]any{"name": fmt.Sprintf("n%d", i%3), "stock": i % 10}
	}
	if _, err := items.CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	f := gossipdb.Filter{"name": "n1"}
	// Each read runs with a ready index on name that is dropped once the
	// read has planned with it, before the read reads it.
	read := func(what string, want int64, fn func() (int64, error)) {
		t.Helper()
		ix, err := items.CreateIndex(ctx, "by_name", gossipdb.Order{Field: "name"})
		if err != nil {
			t.Fatal(err)
		}
		waitIndexes(t, items)
		drops := 0
		gossipdb.SetPlanned(n, func() {
			if drops++; drops == 1 {
				if err := items.DropIndex(ctx, ix.Name); err != nil {
					t.Error(err)
				}
			}
		})
		got, err := fn()
		gossipdb.SetPlanned(n, nil)
		if drops == 0 {
			t.Fatalf("%s did not plan with the index", what)
		}
		if err != nil || got != want {
			t.Errorf("%s planned with an index dropped before it read it: %d, %v; want %d", what, got, err, want)
		}
	}
	read("Count", 200, func() (int64, error) { return items.Count(ctx, f) })
	read("Aggregate", 900, func() (int64, error) {
		v, err := items.Aggregate(ctx, f, gossipdb.Sum, "stock")
		sum, _ := v.(int64)
		return sum, err
	})
	for _, order := range [][]gossipdb.Order{nil, {{Field: "stock"}}} {
		read(fmt.Sprintf("Query ordered by %v", order), 200, func() (int64, error) {
			var k int64
			for _, err := range items.Query(ctx, gossipdb.Query{Filter: f, Order: order}) {
				if err != nil {
					return k, err
				}
				k++
			}
			return k, nil
		})
	}
}
