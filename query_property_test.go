package gossipdb_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// The model of a query: documents as the test wrote them, and a filter
// evaluated by plain Go code, sorted with sort.SliceStable.

var (
	modelNames  = []any{"Ada", "ada", "Bob", "bob", "Cy", "", "Al%", "a_b", "Zoë", "ΣΟΦΟΣ", "σοφος", "µ"}
	modelAges   = []any{int64(-3), int64(0), int64(1), int64(2), int64(5), int64(9)}
	modelPoints = []any{-1.5, 0.0, 2.25, 3.0, 1e9}
	modelTimes  = []any{
		time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2020, 1, 1, 0, 0, 0, 500_000_000, time.UTC),
		time.Date(2020, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
	}
	modelFields = []string{"name", "age", "verified", "points", "at"}
	// modelTags are the items of the list field tags, besides null.
	modelTags = []any{int64(-1), int64(0), int64(2), int64(5)}
)

func domain(field string) []any {
	switch field {
	case "name":
		return modelNames
	case "age":
		return modelAges
	case "verified":
		return []any{false, true}
	case "points":
		return modelPoints
	case "tags":
		return modelTags
	}
	return modelTimes
}

// genValue draws a value of field, or nil.
func genValue(t *rapid.T, field string, label string) any {
	if rapid.IntRange(0, 5).Draw(t, label+"Null") == 0 {
		return nil
	}
	return rapid.SampledFrom(domain(field)).Draw(t, label)
}

// genTags draws a value of the list field tags: null, or up to three items,
// null among them.
func genTags(t *rapid.T, label string) any {
	if rapid.IntRange(0, 4).Draw(t, label+"Null") == 0 {
		return nil
	}
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) any { return genValue(t, "tags", "item") }), 0, 3).Draw(t, label)
}

func genDoc(t *rapid.T) map[string]any {
	d := map[string]any{}
	for _, f := range modelFields {
		d[f] = genValue(t, f, f)
	}
	d["tags"] = genTags(t, "tags")
	return d
}

// modelCompare orders two values of one field, nil first.
func modelCompare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch a := a.(type) {
	case string:
		return strings.Compare(a, b.(string))
	case int64:
		return cmp.Compare(a, b.(int64))
	case float64:
		return cmp.Compare(a, b.(float64))
	case bool:
		x, y := 0, 0
		if a {
			x = 1
		}
		if b.(bool) {
			y = 1
		}
		return cmp.Compare(x, y)
	case time.Time:
		return a.Compare(b.(time.Time))
	}
	panic(fmt.Sprintf("no order for %T", a))
}

func likeRegexp(p string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^(?s)")
	if fold {
		b.WriteString("(?i)")
	}
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// modelFilter is a generated filter with its model predicate.
type modelFilter struct {
	f     gossipdb.Filter
	match func(doc map[string]any) bool
	text  string
}

// comparison is a generated condition on one value: the operators a filter
// gives it (or a bare value, for _eq), and its model.
type comparison struct {
	ops  any
	test func(v any) bool
	text string
}

// genComparison draws a condition on a value of field, or on an item of the
// list field tags.
func genComparison(t *rapid.T, field string) comparison {
	ops := []string{"_eq", "_ne", "_gt", "_ge", "_lt", "_le", "_in", "_nin", "bare"}
	if field == "name" {
		ops = append(ops, "_like", "_nlike", "_ilike", "_nilike")
	}
	op := rapid.SampledFrom(ops).Draw(t, "op")
	switch op {
	case "_in", "_nin":
		vals := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) any { return genValue(t, field, "in") }), 0, 3).Draw(t, "vals")
		return comparison{
			ops: gossipdb.Filter{op: vals},
			test: func(got any) bool {
				return slices.ContainsFunc(vals, func(v any) bool { return modelCompare(got, v) == 0 }) == (op == "_in")
			},
			text: fmt.Sprintf("%s %v", op, vals),
		}
	case "_like", "_nlike", "_ilike", "_nilike":
		p := rapid.SampledFrom([]string{"%", "A%", "%b", "_o_", "a\\_b", "Al%", "%%", "ad_", "zo%", "", "%ς", "σ%", "Μ"}).Draw(t, "pattern")
		re := likeRegexp(p, op == "_ilike" || op == "_nilike")
		return comparison{
			ops: gossipdb.Filter{op: p},
			test: func(got any) bool {
				s, ok := got.(string)
				return (ok && re.MatchString(s)) == (op == "_like" || op == "_ilike")
			},
			text: fmt.Sprintf("%s %q", op, p),
		}
	}
	var v any
	if op == "_eq" || op == "_ne" || op == "bare" {
		v = genValue(t, field, "v")
	} else {
		v = rapid.SampledFrom(domain(field)).Draw(t, "v")
	}
	c := comparison{ops: gossipdb.Filter{op: v}, text: fmt.Sprintf("%s %v", op, v)}
	if op == "bare" {
		c.ops, op = v, "_eq"
	}
	c.test = func(got any) bool {
		c := modelCompare(got, v)
		switch op {
		case "_eq":
			return c == 0
		case "_ne":
			return c != 0
		case "_gt":
			return got != nil && c > 0
		case "_ge":
			return got != nil && c >= 0
		case "_lt":
			return got != nil && c < 0
		}
		return got != nil && c <= 0
	}
	return c
}

// genLeaf draws a condition on one field: a comparison of a scalar field, or
// _any, _all or _none of a comparison on the items of tags.
func genLeaf(t *rapid.T) modelFilter {
	field := rapid.SampledFrom(append(slices.Clone(modelFields), "tags")).Draw(t, "field")
	if field != "tags" {
		c := genComparison(t, field)
		return modelFilter{
			f:     gossipdb.Filter{field: c.ops},
			match: func(d map[string]any) bool { return c.test(d[field]) },
			text:  field + " " + c.text,
		}
	}
	op := rapid.SampledFrom([]string{"_any", "_all", "_none"}).Draw(t, "listOp")
	c := genComparison(t, "tags")
	return modelFilter{
		f: gossipdb.Filter{"tags": gossipdb.Filter{op: c.ops}},
		match: func(d map[string]any) bool {
			items, ok := d["tags"].([]any)
			if !ok {
				return false // a null list: as in DefraDB, no operator on its items matches
			}
			switch op {
			case "_any":
				return slices.ContainsFunc(items, c.test)
			case "_none":
				return !slices.ContainsFunc(items, c.test)
			}
			return !slices.ContainsFunc(items, func(x any) bool { return !c.test(x) })
		},
		text: "tags " + op + " (" + c.text + ")",
	}
}

func genFilter(t *rapid.T, depth int) modelFilter {
	kind := rapid.IntRange(0, 5).Draw(t, "filterKind")
	if depth >= 2 || kind < 3 {
		return genLeaf(t)
	}
	switch kind {
	case 3, 4:
		kids := make([]modelFilter, rapid.IntRange(1, 3).Draw(t, "kids"))
		list := make([]any, len(kids))
		texts := make([]string, len(kids))
		for i := range kids {
			kids[i] = genFilter(t, depth+1)
			list[i], texts[i] = kids[i].f, kids[i].text
		}
		or := kind == 4
		name := "_and"
		if or {
			name = "_or"
		}
		return modelFilter{
			f: gossipdb.Filter{name: list},
			match: func(d map[string]any) bool {
				for _, k := range kids {
					if k.match(d) == or {
						return or
					}
				}
				return !or
			},
			text: name + "(" + strings.Join(texts, ", ") + ")",
		}
	}
	k := genFilter(t, depth+1)
	return modelFilter{f: gossipdb.Filter{"_not": k.f}, match: func(d map[string]any) bool { return !k.match(d) }, text: "not(" + k.text + ")"}
}

// genQueryFilter draws a filter: often a conjunction of leaves, which indexes answer.
func genQueryFilter(t *rapid.T) modelFilter {
	if rapid.Bool().Draw(t, "conjunction") {
		a, b := genLeaf(t), genLeaf(t)
		f := gossipdb.Filter{}
		for k, v := range a.f {
			f[k] = v
		}
		for k, v := range b.f {
			if _, dup := f[k]; dup {
				return a
			}
			f[k] = v
		}
		return modelFilter{f: f, match: func(d map[string]any) bool { return a.match(d) && b.match(d) }, text: a.text + " and " + b.text}
	}
	return genFilter(t, 0)
}

// genNamedIDs draws, half the time, document IDs for a filter to name: live
// and deleted ones, an unknown one, and one named twice; nil otherwise.
func genNamedIDs(t *rapid.T, docs, gone map[gossipdb.DocID]map[string]any) []any {
	if !rapid.Bool().Draw(t, "byID") {
		return nil
	}
	candidates := []gossipdb.DocID{"bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"} // no document's
	for _, m := range []map[gossipdb.DocID]map[string]any{docs, gone} {
		candidates = append(candidates, slices.Sorted(maps.Keys(m))...)
	}
	var named []any
	for _, id := range rapid.SliceOfN(rapid.SampledFrom(candidates), 0, 6).Draw(t, "named") {
		named = append(named, string(id))
	}
	return named
}

// genOrder draws an order of up to three fields, _docID among them.
func genOrder(t *rapid.T) []gossipdb.Order {
	fields := rapid.SliceOfNDistinct(rapid.SampledFrom(append([]string{"_docID"}, modelFields...)), 0, 3, func(s string) string { return s }).Draw(t, "order")
	out := make([]gossipdb.Order, len(fields))
	for i, f := range fields {
		out[i] = gossipdb.Order{Field: f, Desc: rapid.Bool().Draw(t, "desc")}
	}
	return out
}

// modelQuery returns the IDs q returns on the model's documents.
func modelQuery(docs map[gossipdb.DocID]map[string]any, match func(map[string]any) bool, order []gossipdb.Order) []gossipdb.DocID {
	var ids []gossipdb.DocID
	for id, d := range docs {
		if match(d) {
			ids = append(ids, id)
		}
	}
	idDesc := len(order) > 0 && order[len(order)-1].Desc
	slices.SortFunc(ids, func(a, b gossipdb.DocID) int {
		for _, o := range order {
			var c int
			if o.Field == "_docID" {
				c = strings.Compare(string(a), string(b))
			} else {
				c = modelCompare(docs[a][o.Field], docs[b][o.Field])
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		if idDesc {
			return strings.Compare(string(b), string(a))
		}
		return strings.Compare(string(a), string(b))
	})
	return ids
}

var indexChoices = [][]gossipdb.Order{
	{{Field: "name"}},
	{{Field: "age"}},
	{{Field: "age", Desc: true}},
	{{Field: "name"}, {Field: "age"}},
	{{Field: "verified"}, {Field: "points", Desc: true}},
	{{Field: "at"}},
	{{Field: "points"}, {Field: "name", Desc: true}},
	{{Field: "tags"}},
	{{Field: "tags", Desc: true}},
}

// waitIndexes waits until every index of c is ready.
func waitIndexes(t interface{ Fatalf(string, ...any) }, c *gossipdb.Collection) {
	deadline := time.Now().Add(60 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		i := slices.IndexFunc(c.Indexes(), func(ix gossipdb.Index) bool { return !ix.Ready })
		if i < 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("index %s not ready after 60s", c.Indexes()[i].Name)
		}
		time.Sleep(wait)
	}
}

// checkQueries runs random queries on c and compares them with the model:
// docs holds the live documents, gone the deleted ones with the values they
// had (nil when the caller does not know them: no query then shows them).
func checkQueries(t *rapid.T, c *gossipdb.Collection, docs, gone map[gossipdb.DocID]map[string]any) {
	ctx := context.Background()
	for range rapid.IntRange(1, 8).Draw(t, "queries") {
		mf := genQueryFilter(t)
		order := genOrder(t)
		showDeleted := gone != nil && rapid.Bool().Draw(t, "showDeleted")
		shown := docs
		if showDeleted {
			shown = maps.Clone(docs)
			maps.Copy(shown, gone)
		}
		filter, named := mf.f, genNamedIDs(t, docs, gone)
		if named != nil {
			// Named documents: the query reads them instead of scanning.
			filter = gossipdb.Filter{"_and": []any{mf.f, gossipdb.Filter{"_docID": gossipdb.Filter{"_in": named}}}}
		}
		keep := func(m map[gossipdb.DocID]map[string]any) map[gossipdb.DocID]map[string]any {
			if named == nil {
				return m
			}
			out := map[gossipdb.DocID]map[string]any{}
			for _, id := range named {
				if d, ok := m[gossipdb.DocID(id.(string))]; ok {
					out[gossipdb.DocID(id.(string))] = d
				}
			}
			return out
		}
		want := modelQuery(keep(shown), mf.match, order)
		limit := rapid.IntRange(0, 4).Draw(t, "limit")
		offset := rapid.IntRange(0, 2).Draw(t, "offset")
		q := gossipdb.Query{Filter: filter, Order: order, Limit: limit, Offset: offset, ShowDeleted: showDeleted}
		plan, err := c.Explain(ctx, q)
		if err != nil {
			t.Fatalf("explain %s: %v", mf.text, err)
		}
		if showDeleted && plan.Index != "" {
			t.Fatalf("a query showing deleted documents read index %s, which has none of them", plan.Index)
		}
		// Page through by cursor, each page skipping offset after the last.
		var got []gossipdb.DocID
		for page := 0; ; page++ {
			var last *gossipdb.Document
			for d, err := range c.Query(ctx, q) {
				if err != nil {
					t.Fatalf("query %s: %v", mf.text, err)
				}
				if _, deleted := gone[d.ID]; d.Deleted != deleted {
					t.Fatalf("query %s: document %s Deleted %v, want %v", mf.text, d.ID, d.Deleted, deleted)
				}
				got = append(got, d.ID)
				last = d
			}
			if limit == 0 || last == nil || page > len(shown) {
				break
			}
			if q.After, err = c.Cursor(q, last); err != nil {
				t.Fatal(err)
			}
		}
		var expect []gossipdb.DocID
		for i := 0; i < len(want); {
			i += offset
			for k := 0; i < len(want) && (limit == 0 || k < limit); k++ {
				expect = append(expect, want[i])
				i++
			}
			if limit == 0 {
				break
			}
		}
		if !slices.Equal(got, expect) {
			t.Fatalf("filter %s order %v limit %d offset %d (plan %+v):\n got  %v\n want %v", mf.text, order, limit, offset, plan, got, expect)
		}
		live := modelQuery(keep(docs), mf.match, nil)
		n, err := c.Count(ctx, filter)
		if err != nil || n != int64(len(live)) {
			t.Fatalf("count %s = %d, %v; want %d", mf.text, n, err, len(live))
		}
	}
}

// TestQueryProperty runs random queries, with and without indexes, on random
// documents changed at random, against the model.
func TestQueryProperty(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	var round atomic.Int64
	rapid.Check(t, func(t *rapid.T) {
		name := fmt.Sprintf("U%d", round.Add(1))
		sdl := "type " + name + " { name: String age: Int verified: Boolean points: Float at: DateTime tags: [Int] }"
		if rapid.Bool().Draw(t, "sdlIndexes") {
			sdl = "type " + name + ` @index(includes: [{field: "name"}, {field: "age", direction: DESC}]) { name: String @index age: Int @index verified: Boolean points: Float at: DateTime tags: [Int] @index }`
		}
		cols, err := n.AddCollection(ctx, sdl)
		if err != nil {
			t.Fatal(err)
		}
		c := cols[0]
		docs := map[gossipdb.DocID]map[string]any{}
		gone := map[gossipdb.DocID]map[string]any{} // deleted documents
		var ids []gossipdb.DocID
		in := rapid.SliceOfN(rapid.Custom(genDoc), 0, 40).Draw(t, "docs")
		if len(in) > 0 {
			created, err := c.CreateMany(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range created {
				docs[id] = in[i]
			}
			ids = created
		}
		for range rapid.IntRange(0, 15).Draw(t, "changes") {
			if len(ids) == 0 {
				break
			}
			id := rapid.SampledFrom(ids).Draw(t, "id")
			if _, live := docs[id]; !live {
				continue
			}
			if rapid.IntRange(0, 4).Draw(t, "delete") == 0 {
				if err := c.Delete(ctx, id); err != nil {
					t.Fatal(err)
				}
				gone[id] = docs[id]
				delete(docs, id)
				continue
			}
			field := rapid.SampledFrom(append(slices.Clone(modelFields), "tags")).Draw(t, "updField")
			v := genValue(t, field, "upd")
			if field == "tags" {
				v = genTags(t, "upd")
			}
			if err := c.Update(ctx, id, map[string]any{field: v}); err != nil {
				t.Fatal(err)
			}
			docs[id][field] = v
		}
		for _, i := range rapid.SliceOfNDistinct(rapid.IntRange(0, len(indexChoices)-1), 0, 3, rapid.ID[int]).Draw(t, "indexes") {
			if _, err := c.CreateIndex(ctx, "", indexChoices[i]...); err != nil {
				t.Fatal(err)
			}
		}
		waitIndexes(t, c)
		checkQueries(t, c, docs, gone)
		if err := n.Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
