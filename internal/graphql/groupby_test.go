package graphql_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/graphql"
)

const shelfSDL = `
type Writer { name: String books: [Volume] }
type Volume { title: String genre: String year: Int rating: Float tags: [String] meta: JSON writer: Writer }
`

// newShelf is a node with writers and their books: by genre, "sci" holds
// Notes (2020, 4.5, Ada), Engine (2021, 3, Ada) and Atlas (2020, 4.5, Bob),
// "art" Bobbook (2020, 2, Bob) and Poems (2021, 5), and Orphan (2020, 1) has
// no genre.
func newShelf(t testing.TB) *fixture {
	t.Helper()
	f, cols := newNode(t, shelfSDL)
	ctx := context.Background()
	for _, name := range []string{"Ada", "Bob"} {
		id, err := cols[0].Create(ctx, map[string]any{"name": name})
		if err != nil {
			t.Fatal(err)
		}
		f.ids["$"+name] = string(id)
	}
	for _, b := range []map[string]any{
		{"title": "Notes", "genre": "sci", "year": 2020, "rating": 4.5, "writer": f.ids["$Ada"], "tags": []any{"x"}},
		{"title": "Engine", "genre": "sci", "year": 2021, "rating": 3, "writer": f.ids["$Ada"]},
		{"title": "Atlas", "genre": "sci", "year": 2020, "rating": 4.5, "writer": f.ids["$Bob"]},
		{"title": "Bobbook", "genre": "art", "year": 2020, "rating": 2, "writer": f.ids["$Bob"]},
		{"title": "Poems", "genre": "art", "year": 2021, "rating": 5},
		{"title": "Orphan", "year": 2020, "rating": 1, "meta": map[string]any{"a": 1}},
	} {
		id, err := cols[1].Create(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		f.ids["$"+b["title"].(string)] = string(id)
	}
	return f
}

// TestGroupBy: groupBy as DefraDB writes it, its groups' fields, _group and
// the aggregates over it, and its mistakes.
func TestGroupBy(t *testing.T) {
	f := newShelf(t)
	runCases(t, f, []requestCase{
		{"one field; null is a group of its own, first", `{ Volume(groupBy: [genre]) { genre _count(_group: {}) } }`, nil,
			`{"data":{"Volume":[{"genre":null,"_count":1},{"genre":"art","_count":2},{"genre":"sci","_count":3}]}}`, true},
		{"two fields", `{ Volume(groupBy: [genre, year]) { genre year _count(_group: {}) } }`, nil,
			`{"data":{"Volume":[{"genre":null,"year":2020,"_count":1},{"genre":"art","year":2020,"_count":1},{"genre":"art","year":2021,"_count":1},{"genre":"sci","year":2020,"_count":2},{"genre":"sci","year":2021,"_count":1}]}}`, true},
		{"a filter before grouping", `{ Volume(groupBy: [genre], filter: {rating: {_gt: 3}}) { genre _avg(_group: {field: rating}) } }`, nil,
			`{"data":{"Volume":[{"genre":"art","_avg":5},{"genre":"sci","_avg":4.5}]}}`, true},
		{"groups in descending order", `{ Volume(groupBy: [genre], order: {genre: DESC}) { genre } }`, nil,
			`{"data":{"Volume":[{"genre":"sci"},{"genre":"art"},{"genre":null}]}}`, true},
		{"ordered by one of two fields, ties by both ascending", `{ Volume(groupBy: [genre, year], order: {year: DESC}) { year genre } }`, nil,
			`{"data":{"Volume":[{"year":2021,"genre":"art"},{"year":2021,"genre":"sci"},{"year":2020,"genre":null},{"year":2020,"genre":"art"},{"year":2020,"genre":"sci"}]}}`, true},
		{"ordered by both", `{ Volume(groupBy: [genre, year], order: [{year: ASC}, {genre: DESC}]) { year genre } }`, nil,
			`{"data":{"Volume":[{"year":2020,"genre":"sci"},{"year":2020,"genre":"art"},{"year":2020,"genre":null},{"year":2021,"genre":"sci"},{"year":2021,"genre":"art"}]}}`, true},
		{"limit and offset page the groups", `{ a: Volume(groupBy: [genre], limit: 1, offset: 1) { genre } b: Volume(groupBy: [genre], order: {genre: DESC}, limit: 2) { genre } c: Volume(groupBy: [genre], offset: 5) { genre } }`, nil,
			`{"data":{"a":[{"genre":"art"}],"b":[{"genre":"sci"},{"genre":"art"}],"c":[]}}`, true},
		{"_group with its own filter, order and limit", `{ Volume(groupBy: [genre]) { genre _group(filter: {year: {_eq: 2020}}, order: [{rating: DESC}, {title: ASC}], limit: 1) { title rating } } }`, nil,
			`{"data":{"Volume":[{"genre":null,"_group":[{"title":"Orphan","rating":1}]},{"genre":"art","_group":[{"title":"Bobbook","rating":2}]},{"genre":"sci","_group":[{"title":"Atlas","rating":4.5}]}]}}`, true},
		{"_group: offset, docID, an order on a related field", `{ Volume(groupBy: [genre], filter: {genre: {_ne: null}}) { genre a: _group(order: {title: ASC}, offset: 1) { title } b: _group(docID: ["$Notes", "$Poems"]) { title } c: _group(order: [{writer: {name: DESC}}, {title: ASC}]) { title writer { name } } } }`, nil,
			`{"data":{"Volume":[{"genre":"art","a":[{"title":"Poems"}],"b":[{"title":"Poems"}],"c":[{"title":"Bobbook","writer":{"name":"Bob"}},{"title":"Poems","writer":null}]},{"genre":"sci","a":[{"title":"Engine"},{"title":"Notes"}],"b":[{"title":"Notes"}],"c":[{"title":"Atlas","writer":{"name":"Bob"}},{"title":"Engine","writer":{"name":"Ada"}},{"title":"Notes","writer":{"name":"Ada"}}]}]}}`, true},
		{"each aggregate over _group", `{ Volume(groupBy: [genre]) { genre _count(_group: {filter: {year: {_eq: 2020}}}) _sum(_group: {field: rating}) _avg(_group: {field: rating}) _min(_group: {field: rating}) _max(_group: {field: rating, limit: 2, order: {rating: ASC}}) y: _sum(_group: {field: year, offset: 1, order: {year: ASC}}) } }`, nil,
			`{"data":{"Volume":[{"genre":null,"_count":1,"_sum":1,"_avg":1,"_min":1,"_max":1,"y":0},{"genre":"art","_count":1,"_sum":7,"_avg":3.5,"_min":2,"_max":5,"y":2021},{"genre":"sci","_count":2,"_sum":12,"_avg":4,"_min":3,"_max":4.5,"y":4041}]}}`, true},
		{"an aggregate's filter on a related document", `{ Volume(groupBy: [genre], order: {genre: DESC}, limit: 1) { genre _count(_group: {filter: {writer: {name: {_eq: "Ada"}}}}) } }`, nil,
			`{"data":{"Volume":[{"genre":"sci","_count":2}]}}`, true},
		{"aliases", `{ g: Volume(groupBy: [genre], order: {genre: DESC}, limit: 1) { kind: genre n: _count(_group: {}) top: _group(order: {title: ASC}, limit: 1) { t: title } } }`, nil,
			`{"data":{"g":[{"kind":"sci","n":3,"top":[{"t":"Atlas"}]}]}}`, true},
		{"docID before grouping", `{ Volume(groupBy: [year], docID: ["$Notes", "$Engine", "$Atlas"]) { year _count(_group: {}) } }`, nil,
			`{"data":{"Volume":[{"year":2020,"_count":2},{"year":2021,"_count":1}]}}`, true},
		{"groupBy as a variable", `query($g: [VolumeGroupByArg!]) { Volume(groupBy: $g, order: {year: ASC}) { year } }`, map[string]any{"g": []any{"year"}},
			`{"data":{"Volume":[{"year":2020},{"year":2021}]}}`, true},
		{"a null groupBy is none", `query($g: [VolumeGroupByArg!]) { Volume(groupBy: $g, filter: {title: {_eq: "Notes"}}) { title } }`, nil,
			`{"data":{"Volume":[{"title":"Notes"}]}}`, true},
		{"__typename in a group", `{ Volume(groupBy: [year], limit: 1) { __typename year } }`, nil,
			`{"data":{"Volume":[{"__typename":"Volume","year":2020}]}}`, true},
		{"a fragment in a group", `{ Volume(groupBy: [year]) { ...Y } } fragment Y on Volume { year _count(_group: {}) }`, nil,
			`{"data":{"Volume":[{"year":2020,"_count":4},{"year":2021,"_count":2}]}}`, true},

		// Mistakes, before running where the request says what they are.
		{"a field not grouped by", `{ Volume(groupBy: [genre]) { genre title } }`, nil,
			`{"errors":[{"message":"Cannot query field \"title\" on a group of \"Volume\": a query with groupBy selects of each group its groupBy fields (genre), _group and aggregates over _group, such as _count(_group: {}).","locations":[{"line":1,"column":36}]}]}`, false},
		{"a field not grouped by, in a fragment", `{ Volume(groupBy: [genre]) { ...F } } fragment F on Volume { _docID }`, nil,
			`{"errors":[{"message":"Cannot query field \"_docID\" on a group of \"Volume\": a query with groupBy selects of each group its groupBy fields (genre), _group and aggregates over _group, such as _count(_group: {}).","locations":[{"line":1,"column":62}]}]}`, false},
		{"a relation in a group", `{ Volume(groupBy: [genre]) { writer { name } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"writer\" on a group of \"Volume\": a query with groupBy selects of each group its groupBy fields (genre), _group and aggregates over _group, such as _count(_group: {}).","locations":[{"line":1,"column":30}]}]}`, false},
		{"an aggregate of a relation in a group", `{ Writer(groupBy: [name]) { name _count(books: {}) } }`, nil,
			`{"errors":[{"message":"_count takes only _group on a group, such as _count(_group: {}).","locations":[{"line":1,"column":41}]}]}`, false},
		{"an unknown groupBy field", `{ Volume(groupBy: [genr]) { genre } }`, nil,
			`{"errors":[{"message":"Argument \"groupBy\" has invalid value [genr].\nIn element #1: Expected type \"VolumeGroupByArg\", found genr.","locations":[{"line":1,"column":19}]}]}`, false},
		{"a list in groupBy", `{ Volume(groupBy: [tags]) { tags } }`, nil,
			`{"errors":[{"message":"Argument \"groupBy\" has invalid value [tags].\nIn element #1: Expected type \"VolumeGroupByArg\", found tags: groupBy takes the collection's scalar fields; grouping by a relation (DefraDB's groupBy: [author] or [_authorID]), a list, a set or a JSON field is not supported.","locations":[{"line":1,"column":19}]}]}`, false},
		{"JSON in groupBy", `{ Volume(groupBy: [meta]) { meta } }`, nil,
			`{"errors":[{"message":"Argument \"groupBy\" has invalid value [meta].\nIn element #1: Expected type \"VolumeGroupByArg\", found meta: groupBy takes the collection's scalar fields; grouping by a relation (DefraDB's groupBy: [author] or [_authorID]), a list, a set or a JSON field is not supported.","locations":[{"line":1,"column":19}]}]}`, false},
		{"a relation in groupBy", `{ Volume(groupBy: [writer]) { title } }`, nil,
			`{"errors":[{"message":"Argument \"groupBy\" has invalid value [writer].\nIn element #1: Expected type \"VolumeGroupByArg\", found writer: groupBy takes the collection's scalar fields; grouping by a relation (DefraDB's groupBy: [author] or [_authorID]), a list, a set or a JSON field is not supported.","locations":[{"line":1,"column":19}]}]}`, false},
		{"no groupBy field", `{ Volume(groupBy: []) { genre } }`, nil,
			`{"errors":[{"message":"gossipdb: invalid input: groupBy: name at least one field","locations":[{"line":1,"column":10}]}]}`, false},
		{"an order on a field not grouped by", `{ Volume(groupBy: [genre], order: [{genre: ASC}, {title: ASC}]) { genre } }`, nil,
			`{"errors":[{"message":"gossipdb: invalid input: field \"title\": a query with groupBy orders its groups by its groupBy fields only","locations":[{"line":1,"column":51}]}]}`, false},
		{"an order on a related field", `{ Volume(groupBy: [genre], order: {writer: {name: ASC}}) { genre } }`, nil,
			`{"errors":[{"message":"gossipdb: invalid input: field \"writer\": a query with groupBy orders its groups by its groupBy fields only","locations":[{"line":1,"column":36}]}]}`, false},
		{"_group without groupBy", `{ Volume { title _group { title } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_group\" outside a query with groupBy: it lists the documents of a group, such as Book(groupBy: [genre]) { genre _group { title } }.","locations":[{"line":1,"column":18}]}]}`, false},
		{"_group within _group", `{ Volume(groupBy: [genre]) { _group { _group { title } } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_group\" outside a query with groupBy: it lists the documents of a group, such as Book(groupBy: [genre]) { genre _group { title } }.","locations":[{"line":1,"column":39}]}]}`, false},
		{"_group on the inverse side", `{ Writer { books { _group { title } } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_group\" outside a query with groupBy: it lists the documents of a group, such as Book(groupBy: [genre]) { genre _group { title } }.","locations":[{"line":1,"column":20}]}]}`, false},
		{"_group in a mutation's answer", `mutation { delete_Volume(docID: "$Orphan") { _group { title } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_group\" outside a query with groupBy: it lists the documents of a group, such as Book(groupBy: [genre]) { genre _group { title } }.","locations":[{"line":1,"column":98}]}]}`, false},
		{"an aggregate over _group without groupBy", `{ Volume { _count(_group: {}) } }`, nil,
			`{"errors":[{"message":"_count takes _group only in a query with groupBy, where it aggregates the documents of each group.","locations":[{"line":1,"column":19}]}]}`, false},

		// Mistakes only variables say, while running.
		{"a field not grouped by, groupBy a variable", `query($g: [VolumeGroupByArg!]) { Volume(groupBy: $g) { title } }`, map[string]any{"g": []any{"genre"}},
			`{"data":null,"errors":[{"message":"Cannot query field \"title\" on a group of \"Volume\": a query with groupBy selects of each group its groupBy fields (genre), _group and aggregates over _group, such as _count(_group: {}).","locations":[{"line":1,"column":34}],"path":["Volume"]}]}`, true},
		{"an empty groupBy, a variable", `query($g: [VolumeGroupByArg!]) { Volume(groupBy: $g) { genre } }`, map[string]any{"g": []any{}},
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: groupBy: name at least one field","locations":[{"line":1,"column":34}],"path":["Volume"]}]}`, true},
		{"an order on a field not grouped by, a variable", `query($o: [VolumeOrderArg!]) { Volume(groupBy: [genre], order: $o) { genre } }`, map[string]any{"o": []any{map[string]any{"title": "ASC"}}},
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: field \"title\": a query with groupBy orders its groups by its groupBy fields only","locations":[{"line":1,"column":32}],"path":["Volume"]}]}`, true},
		{"a negative limit", `{ Volume(groupBy: [genre], limit: -1) { genre } }`, nil,
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: negative limit -1","locations":[{"line":1,"column":3}],"path":["Volume"]}]}`, true},
		{"grouped by twice", `{ Volume(groupBy: [genre, genre]) { genre } }`, nil,
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: field \"genre\": grouped by twice","locations":[{"line":1,"column":3}],"path":["Volume"]}]}`, true},
	})

	// Without an order, _group is in ID order.
	got, _ := f.do(t, `{ Volume(groupBy: [year], filter: {year: {_eq: 2021}}) { _group { _docID } } }`, nil)
	ids := []string{f.ids["$Engine"], f.ids["$Poems"]}
	slices.Sort(ids)
	if want := fmt.Sprintf(`{"data":{"Volume":[{"_group":[{"_docID":%q},{"_docID":%q}]}]}}`, ids[0], ids[1]); got != want {
		t.Errorf("_group without an order:\n got %s\nwant %s", got, want)
	}
}

// TestGroupByBounds: a grouped query holds at most the Go API's sort bounds
// of documents (here lowered to 3), and its answer counts toward the size
// limit of an answer.
func TestGroupByBounds(t *testing.T) {
	f := newShelf(t)
	bound := &fixture{n: f.n, e: graphql.WithSortLimit(f.e, 3), ids: f.ids}
	runCases(t, bound, []requestCase{
		{"more documents than the bound", `{ Volume(groupBy: [genre]) { genre } }`, nil,
			fmt.Sprintf(`{"data":null,"errors":[{"message":"gossipdb: invalid input: too large: the query groups more than 3 documents or %d bytes in memory; add a narrower filter","locations":[{"line":1,"column":3}],"path":["Volume"]}]}`, gossipdb.MaxSortedBytes), true},
		{"within it", `{ Volume(groupBy: [genre], filter: {genre: {_eq: "sci"}}) { genre _count(_group: {filter: {year: {_gt: 0}}}) _group(order: {title: DESC}) { title } } }`, nil,
			`{"data":{"Volume":[{"genre":"sci","_count":3,"_group":[{"title":"Notes"},{"title":"Engine"},{"title":"Atlas"}]}]}}`, true},
	})
	small, err := graphql.New(f.n, &graphql.Limits{MaxResultSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, &fixture{n: f.n, e: small, ids: f.ids}, []requestCase{
		{"groups within the size limit", `{ Volume(groupBy: [genre]) { genre _count(_group: {}) } }`, nil,
			`{"data":{"Volume":[{"genre":null,"_count":1},{"genre":"art","_count":2},{"genre":"sci","_count":3}]}}`, true},
		{"their documents over it", `{ Volume(groupBy: [genre]) { genre _group { title } } }`, nil,
			`{"data":null,"errors":[{"message":"the answer is larger than the limit of 200 bytes: ask for fewer documents (limit, offset), fewer fields or fewer requests at once","locations":[{"line":1,"column":36}],"path":["Volume",1,"_group"]}]}`, true},
	})
}

// TestGroupByRandom makes random documents and grouped queries (groupBy
// fields, a filter, an order of the groups, a page, _group and aggregates
// over it) and checks each answer against a model of it computed here from
// the Go API's Query.
func TestGroupByRandom(t *testing.T) {
	sd := *seed
	if sd == 0 {
		sd = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -graphql.seed=%d)", sd, sd)
	rng := rand.New(rand.NewPCG(sd, 2))
	f, cols := newNode(t, `type Rec { a: Int b: String c: Boolean d: Float }`)
	ctx := context.Background()
	values := map[string][]any{
		"a": {int64(-1), int64(0), int64(1), int64(2)},
		"b": {"", "x", "y", "Y"},
		"c": {true, false},
		"d": {0.0, -2.0, 1.5, 1e300},
	}
	fields := []string{"a", "b", "c", "d"}
	var docs []map[string]any
	for range 30 + rng.IntN(50) {
		d := map[string]any{}
		for _, k := range fields {
			if rng.IntN(4) > 0 {
				d[k] = values[k][rng.IntN(len(values[k]))]
			}
		}
		docs = append(docs, d)
	}
	if _, err := cols[0].CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	// compare orders two values of a field as the Go API does: null first.
	compare := func(x, y any) int {
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return -1
		case y == nil:
			return 1
		}
		switch x := x.(type) {
		case int64:
			return cmp.Compare(x, y.(int64))
		case float64:
			return cmp.Compare(x, y.(float64))
		case string:
			return strings.Compare(x, y.(string))
		case bool:
			if x == y.(bool) {
				return 0
			} else if x {
				return 1
			}
			return -1
		}
		t.Fatalf("value %v (%T)", x, x)
		return 0
	}
	for range 60 {
		by := slices.Clone(fields)
		rng.Shuffle(len(by), func(i, j int) { by[i], by[j] = by[j], by[i] })
		by = by[:1+rng.IntN(len(by))]
		var filter gossipdb.Filter
		filterText := ""
		switch rng.IntN(3) {
		case 1:
			k := rng.IntN(3)
			filter, filterText = gossipdb.Filter{"a": map[string]any{"_ge": int64(k)}}, fmt.Sprintf(", filter: {a: {_ge: %d}}", k)
		case 2:
			filter, filterText = gossipdb.Filter{"b": map[string]any{"_ne": "x"}}, `, filter: {b: {_ne: "x"}}`
		}
		type key struct {
			field string
			desc  bool
		}
		var order []key
		var orderText []string
		for _, k := range by {
			if rng.IntN(2) == 0 {
				order = append(order, key{k, rng.IntN(2) == 0})
				dir := "ASC"
				if order[len(order)-1].desc {
					dir = "DESC"
				}
				orderText = append(orderText, fmt.Sprintf("{%s: %s}", k, dir))
			}
		}
		rng.Shuffle(len(order), func(i, j int) {
			order[i], order[j] = order[j], order[i]
			orderText[i], orderText[j] = orderText[j], orderText[i]
		})
		limit, offset := rng.IntN(4), rng.IntN(3)
		q := fmt.Sprintf(`{ Rec(groupBy: [%s]%s, order: [%s], limit: %d, offset: %d) { %s n: _count(_group: {}) s: _sum(_group: {field: a}) g: _group(order: {a: DESC}, limit: 2) { _docID } } }`,
			strings.Join(by, ", "), filterText, strings.Join(orderText, ", "), limit, offset, strings.Join(by, " "))

		// The model: the documents the Go API's Query matches, in ID order,
		// grouped by equal values of the fields, 0 and -0 alike.
		type group struct {
			values map[string]any
			docs   []*gossipdb.Document
		}
		var groups []*group
		byKey := map[string]*group{}
		for doc, err := range cols[0].Query(ctx, gossipdb.Query{Filter: filter}) {
			if err != nil {
				t.Fatal(err)
			}
			k := ""
			for _, name := range by {
				v := doc.Fields[name]
				if v == 0.0 {
					v = 0.0 // -0
				}
				k += fmt.Sprintf("%T:%v\x00", v, v)
			}
			g := byKey[k]
			if g == nil {
				g = &group{values: map[string]any{}}
				for _, name := range by {
					g.values[name] = doc.Fields[name]
				}
				byKey[k] = g
				groups = append(groups, g)
			}
			g.docs = append(g.docs, doc)
		}
		slices.SortFunc(groups, func(x, y *group) int {
			for _, o := range order {
				c := compare(x.values[o.field], y.values[o.field])
				if o.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			for _, name := range by {
				if c := compare(x.values[name], y.values[name]); c != 0 {
					return c
				}
			}
			return 0
		})
		groups = groups[min(offset, len(groups)):]
		if limit > 0 {
			groups = groups[:min(limit, len(groups))]
		}
		want := []any{}
		for _, g := range groups {
			m := map[string]any{"n": len(g.docs)}
			for k, v := range g.values {
				m[k] = v
			}
			var sum int64
			for _, d := range g.docs {
				if a, ok := d.Fields["a"].(int64); ok {
					sum += a
				}
			}
			m["s"] = sum
			top := slices.Clone(g.docs)
			slices.SortFunc(top, func(x, y *gossipdb.Document) int {
				return -cmp.Or(compare(x.Fields["a"], y.Fields["a"]), strings.Compare(string(x.ID), string(y.ID)))
			})
			var ids []any
			for _, d := range top[:min(2, len(top))] {
				ids = append(ids, map[string]any{"_docID": string(d.ID)})
			}
			m["g"] = ids
			want = append(want, m)
		}
		b, err := json.Marshal(map[string]any{"data": map[string]any{"Rec": want}})
		if err != nil {
			t.Fatal(err)
		}
		got, ran := f.do(t, q, nil)
		if compact(t, got) != compact(t, string(b)) || !ran {
			t.Fatalf("%s\n got (ran %v) %s\nwant %s", q, ran, got, b)
		}
	}
}
