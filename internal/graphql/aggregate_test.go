package graphql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
)

// TestInnerAggregates: aggregates within a document over the inverse side of
// a relation, as DefraDB writes them, with filters (on the related side
// too), limit, offset and order, as literals and variables, nested, and in a
// mutation's answer, where they see its writes. (They were refused by name.)
func TestInnerAggregates(t *testing.T) {
	f := newLibrary(t)
	runCases(t, f, []requestCase{
		{"_count", `{ Author(order: {name: ASC}) { name _count(books: {}) } }`, nil,
			`{"data":{"Author":[{"name":"Ada","_count":2},{"name":"Bob","_count":1},{"name":"Cyd","_count":0}]}}`, true},
		{"_count with a filter", `{ Author(order: {name: ASC}) { _count(books: {filter: {rating: {_gt: 3}}}) } }`, nil,
			`{"data":{"Author":[{"_count":1},{"_count":0},{"_count":0}]}}`, true},
		{"a filter on the related side", `{ Author(order: {name: ASC}) { _count(books: {filter: {author: {age: {_gt: 30}}}}) } }`, nil,
			`{"data":{"Author":[{"_count":2},{"_count":0},{"_count":0}]}}`, true},
		{"_sum, _avg, _min, _max; nothing to take", `{ Author(order: {name: ASC}) { _sum(books: {field: rating}) _avg(books: {field: rating}) _min(books: {field: rating}) _max(books: {field: rating}) } }`, nil,
			`{"data":{"Author":[{"_sum":7.5,"_avg":3.75,"_min":3,"_max":4.5},{"_sum":2,"_avg":2,"_min":2,"_max":2},{"_sum":0,"_avg":null,"_min":null,"_max":null}]}}`, true},
		{"with a filter", `{ Author(filter: {name: {_eq: "Ada"}}) { _sum(books: {field: rating, filter: {title: {_like: "N%"}}}) _avg(books: {field: rating, filter: {rating: {_lt: 0}}}) } }`, nil,
			`{"data":{"Author":[{"_sum":4.5,"_avg":null}]}}`, true},
		{"limit, offset, order", `{ Author(order: {name: ASC}) { top: _sum(books: {field: rating, limit: 1, order: {rating: DESC}}) low: _max(books: {field: rating, limit: 1, order: {rating: ASC}}) rest: _count(books: {offset: 1}) } }`, nil,
			`{"data":{"Author":[{"top":4.5,"low":3,"rest":1},{"top":2,"low":2,"rest":0},{"top":0,"low":null,"rest":0}]}}`, true},
		{"an order on the related document's fields", `{ Author(filter: {name: {_eq: "Ada"}}) { _sum(books: {field: rating, limit: 1, order: [{author: {name: ASC}}, {title: DESC}]}) } }`, nil,
			`{"data":{"Author":[{"_sum":4.5}]}}`, true},
		{"arguments as variables", `query($a: BookAggregateArg, $c: BookCountArg, $l: Int) { Author(order: {name: ASC}) { _avg(books: $a) _count(books: $c) n: _count(books: {limit: $l}) } }`,
			map[string]any{"a": map[string]any{"field": "rating", "filter": map[string]any{"rating": map[string]any{"_ne": nil}}, "order": []any{map[string]any{"rating": "ASC"}}, "limit": json.Number("1")},
				"c": map[string]any{"filter": map[string]any{"title": map[string]any{"_in": []any{"Engine", "Bobbook"}}}}, "l": json.Number("1")},
			`{"data":{"Author":[{"_avg":3,"_count":1,"n":1},{"_avg":2,"_count":1,"n":1},{"_avg":null,"_count":0,"n":0}]}}`, true},
		{"within a related document, nested", `{ Book(filter: {title: {_eq: "Notes"}}) { author { name _count(books: {}) books(order: {title: ASC}) { title author { _max(books: {field: rating}) } } } } }`, nil,
			`{"data":{"Book":[{"author":{"name":"Ada","_count":2,"books":[{"title":"Engine","author":{"_max":4.5}},{"title":"Notes","author":{"_max":4.5}}]}}]}}`, true},
		{"in a mutation's answer, which sees its writes", `mutation { a: create_Book(input: {title: "New", rating: 1, author: "$Cyd"}) { author { _count(books: {}) _sum(books: {field: rating}) } } b: create_Book(input: {title: "Newer", rating: 2.5, author: "$Cyd"}) { author { _count(books: {}) _avg(books: {field: rating}) } } }`, nil,
			`{"data":{"a":[{"author":{"_count":1,"_sum":1}}],"b":[{"author":{"_count":2,"_avg":1.75}}]}}`, true},
		{"the same after the mutation", `{ Author(filter: {name: {_eq: "Cyd"}}) { _count(books: {}) _sum(books: {field: rating}) } }`, nil,
			`{"data":{"Author":[{"_count":2,"_sum":3.5}]}}`, true},
		// Six books now: null, 1, 2, 2.5, 3 and 4.5.
		{"top-level: limit, offset and order too", `{ _count(Book: {limit: 2}) _sum(Book: {field: rating, offset: 1, limit: 2, order: {rating: DESC}}) _min(Book: {field: rating, offset: 6}) }`, nil,
			`{"data":{"_count":2,"_sum":5.5,"_min":null}}`, true},

		// Errors.
		{"unknown relation", `{ Author { _count(bks: {}) } }`, nil,
			`{"errors":[{"message":"Unknown argument \"bks\" on field \"_count\" of type \"Author\": an aggregate within a document takes the inverse side of one of its relations, such as _count(books: {}), or one of its list fields (of numbers, for _sum, _avg, _min and _max), or, on a group of a query with groupBy, _group. Did you mean \"books\"?","locations":[{"line":1,"column":19}]}]}`, false},
		{"unknown field in a filter", `{ Author { _count(books: {filter: {nme: {_eq: 1}}}) } }`, nil,
			`{"errors":[{"message":"Argument \"books\" has invalid value {filter: {nme: {_eq: 1}}}.\nIn field \"filter\": In field \"nme\": Unknown field.","locations":[{"line":1,"column":26}]}]}`, false},
		{"_sum without field", `{ Author { _sum(books: {}) } }`, nil,
			`{"errors":[{"message":"Argument \"books\" has invalid value {}.\nIn field \"field\": Expected \"BookNumericFieldArg!\", found null.","locations":[{"line":1,"column":24}]}]}`, false},
		{"_sum of a String field", `{ Author { _sum(books: {field: title}) } }`, nil,
			`{"errors":[{"message":"Argument \"books\" has invalid value {field: title}.\nIn field \"field\": Expected type \"BookNumericFieldArg\", found title.","locations":[{"line":1,"column":24}]}]}`, false},
		{"a limit of the wrong type", `{ Author { _count(books: {limit: "2"}) } }`, nil,
			`{"errors":[{"message":"Argument \"books\" has invalid value {limit: \"2\"}.\nIn field \"limit\": Expected type \"Int\", found \"2\".","locations":[{"line":1,"column":26}]}]}`, false},
		{"a field of the wrong type in a variable", `query($a: BookAggregateArg) { Author { _sum(books: $a) } }`, map[string]any{"a": map[string]any{"field": "title"}},
			`{"errors":[{"message":"Variable \"$a\" got invalid value {\"field\":\"title\"}.\nIn field \"field\": Expected type \"BookNumericFieldArg\", found \"title\".","locations":[{"line":1,"column":7}]}]}`, false},
		{"a negative limit fails the field alone", `{ Author(filter: {name: {_eq: "Bob"}}) { name _count(books: {limit: -1}) } }`, nil,
			`{"data":{"Author":[{"name":"Bob","_count":null}]},"errors":[{"message":"gossipdb: invalid input: negative limit -1","locations":[{"line":1,"column":47}],"path":["Author",0,"_count"]}]}`, true},
		{"a type with nothing to aggregate", `{ Book { _count(author: {}) } }`, nil,
			`{"errors":[{"message":"Unknown argument \"author\" on field \"_count\" of type \"Book\": an aggregate within a document takes the inverse side of one of its relations, such as _count(books: {}), or one of its list fields (of numbers, for _sum, _avg, _min and _max), or, on a group of a query with groupBy, _group.","locations":[{"line":1,"column":17}]}]}`, false},
		// DefraDB's _count without arguments is refused once, before running,
		// not once for each document.
		{"no argument", `{ Author { _count } }`, nil,
			`{"errors":[{"message":"_count needs one argument, what it aggregates: one of the document's list fields or the inverse side of one of its relations, such as _count(books: {}).","locations":[{"line":1,"column":12}]}]}`, false},
		{"no argument through a fragment", `{ Author { ...A } } fragment A on Author { n: _avg }`, nil,
			`{"errors":[{"message":"_avg needs one argument, what it aggregates: one of the document's list fields or the inverse side of one of its relations, such as _avg(books: {}).","locations":[{"line":1,"column":44}]}]}`, false},
		{"no argument in a group", `{ Book(groupBy: [rating]) { rating _count } }`, nil,
			`{"errors":[{"message":"_count needs one argument, what it aggregates: _group, the documents of the group, such as _count(_group: {}).","locations":[{"line":1,"column":36}]}]}`, false},
	})

	// graphql-go answers them: the fast path leaves them.
	req := client.GraphQLRequest{Query: `{ Author(order: {name: ASC}) { name _count(books: {}) } }`}
	if _, fast := bothWays(t, f.e, graphql.WithoutFastPath(f.e), req); fast {
		t.Error("the fast path answered an aggregate within a document")
	}
}

// TestInnerAggregatesOfInts: over an Int field, the aggregates within a
// document answer as the top-level ones do: _sum, _min and _max every digit
// of an int64, a sum beyond an int64 an error of its field alone, one whose
// running sum overflowed on the way exact.
func TestInnerAggregatesOfInts(t *testing.T) {
	f, cols := newNode(t, `type Shelf { name: String items: [Item] } type Item { n: Int x: Float shelf: Shelf }`)
	ctx := context.Background()
	shelf := func(name string, items ...map[string]any) {
		id, err := cols[0].Create(ctx, map[string]any{"name": name})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			it["shelf"] = string(id)
		}
		if len(items) > 0 {
			if _, err := cols[1].CreateMany(ctx, items); err != nil {
				t.Fatal(err)
			}
		}
	}
	shelf("a", map[string]any{"n": int64(9007199254740993)}, map[string]any{"n": 1}, map[string]any{"x": 1.5})
	shelf("b", map[string]any{"n": int64(9223372036854775807)}, map[string]any{"n": 1})
	shelf("c", map[string]any{"n": int64(9223372036854775807)}, map[string]any{"n": 1}, map[string]any{"n": -1})
	shelf("d", map[string]any{"x": 1.7e308}, map[string]any{"x": 1.7e308})
	shelf("e")
	const q = `{ Shelf(order: {name: ASC}) { name _sum(items: {field: n}) _min(items: {field: n}) _max(items: {field: n}) _avg(items: {field: n}) } }`
	const want = `{"data":{"Shelf":[` +
		`{"name":"a","_sum":9007199254740994,"_min":1,"_max":9007199254740993,"_avg":4503599627370497},` +
		`{"name":"b","_sum":null,"_min":1,"_max":9223372036854775807,"_avg":4611686018427388000},` +
		`{"name":"c","_sum":9223372036854775807,"_min":-1,"_max":9223372036854775807,"_avg":3074457345618258400},` +
		`{"name":"d","_sum":0,"_min":null,"_max":null,"_avg":null},` +
		`{"name":"e","_sum":0,"_min":null,"_max":null,"_avg":null}]},` +
		`"errors":[{"message":"gossipdb: invalid input: field \"n\": sum is out of the range of an Int","locations":[{"line":1,"column":36}],"path":["Shelf",1,"_sum"]}]}`
	runCases(t, f, []requestCase{
		{"through the Go API's Aggregate", q, nil, want, true},
		// A limit makes the documents stream through the package's own
		// arithmetic: the same answers.
		{"streamed", strings.ReplaceAll(q, "field: n}", "field: n, limit: 100}"), nil, want, true},
		{"Float: beyond its range an error, the average finite", `{ Shelf(filter: {name: {_eq: "d"}}) { _sum(items: {field: x}) _avg(items: {field: x}) a: _avg(items: {field: x, limit: 9}) s: _sum(items: {field: x, offset: 0, limit: 2}) } }`, nil,
			`{"data":{"Shelf":[{"_sum":null,"_avg":1.7e+308,"a":1.7e+308,"s":null}]},"errors":[` +
				`{"message":"gossipdb: invalid input: field \"x\": sum is out of the range of a Float","locations":[{"line":1,"column":39}],"path":["Shelf",0,"_sum"]},` +
				`{"message":"gossipdb: invalid input: field \"x\": sum is out of the range of a Float","locations":[{"line":1,"column":124}],"path":["Shelf",0,"s"]}]}`, true},
	})
}

// newPlayers is a node whose Players have list fields of every kind:
// Ann's hold values and nulls, Bo's nothing (null), Cy's empty lists.
func newPlayers(t testing.TB) *fixture {
	t.Helper()
	f, cols := newNode(t, `type Player { name: String scores: [Int] ratings: [Float!] tags: [String] flags: [Boolean!] days: [DateTime] set: [Int!] @crdt(type: set) big: [Int] huge: [Float] }`)
	if _, err := cols[0].CreateMany(context.Background(), []map[string]any{
		{"name": "Ann", "scores": []any{2, nil, 5, 1, 0, 7}, "ratings": []any{1.5, 0.25, 10, 2.75},
			"tags": []any{"", "a", nil, "b"}, "flags": []any{true, true, false, true},
			"days": []any{"2026-01-01T00:00:00Z", "2026-06-01T00:00:00+02:00", nil}, "set": []any{3, 1, 2},
			"big": []any{int64(9223372036854775807), 1, -1}, "huge": []any{1.7e308, 1.7e308}},
		{"name": "Bo", "big": []any{int64(9223372036854775807), 1}},
		{"name": "Cy", "scores": []any{}, "ratings": []any{}, "tags": []any{}, "flags": []any{}, "days": []any{}, "set": []any{}},
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestListAggregates: aggregates within a document over its own list
// fields, as DefraDB writes them for inline arrays: _count counts items,
// null ones too; _sum, _avg, _min and _max take numbers and skip nulls; a
// filter tests each item; limit and offset take items in the list's order,
// or by value with order (null first in ascending order).
func TestListAggregates(t *testing.T) {
	f := newPlayers(t)
	runCases(t, f, []requestCase{
		{"_count: nulls count; a null list has none", `{ Player(order: {name: ASC}) { name _count(scores: {}) t: _count(tags: {}) } }`, nil,
			`{"data":{"Player":[{"name":"Ann","_count":6,"t":4},{"name":"Bo","_count":0,"t":0},{"name":"Cy","_count":0,"t":0}]}}`, true},
		{"_count with conditions on items", `{ Player(filter: {name: {_eq: "Ann"}}) { gt: _count(scores: {filter: {_gt: 0}}) null: _count(tags: {filter: {_eq: null}}) notNull: _count(tags: {filter: {_ne: null}}) in: _count(tags: {filter: {_in: ["", "b"]}}) notA: _count(tags: {filter: {_not: {_in: ["a"]}}}) or: _count(scores: {filter: {_or: [{_lt: 1}, {_ge: 7}]}}) and: _count(scores: {filter: {_and: [{_gt: 0}, {_lt: 7}]}}) flags: _count(flags: {filter: {_eq: true}}) } }`, nil,
			`{"data":{"Player":[{"gt":4,"null":1,"notNull":3,"in":2,"notA":3,"or":2,"and":3,"flags":3}]}}`, true},
		{"DateTime items compare as instants", `{ Player(filter: {name: {_eq: "Ann"}}) { a: _count(days: {filter: {_gt: "2026-05-31T23:00:00Z"}}) b: _count(days: {filter: {_ge: "2026-05-31T22:00:00Z"}}) c: _count(days: {filter: {_eq: "2026-06-01T00:00:00+02:00"}}) } }`, nil,
			`{"data":{"Player":[{"a":0,"b":1,"c":1}]}}`, true},
		{"_sum, _avg, _min, _max of Ints", `{ Player(order: {name: ASC}) { _sum(scores: {}) _avg(scores: {}) _min(scores: {}) _max(scores: {}) } }`, nil,
			`{"data":{"Player":[{"_sum":15,"_avg":3,"_min":0,"_max":7},{"_sum":0,"_avg":null,"_min":null,"_max":null},{"_sum":0,"_avg":null,"_min":null,"_max":null}]}}`, true},
		{"of Floats, and of a set", `{ Player(filter: {name: {_eq: "Ann"}}) { _sum(ratings: {}) _avg(ratings: {}) _min(ratings: {}) m: _max(set: {}) s: _sum(set: {filter: {_ne: 2}}) } }`, nil,
			`{"data":{"Player":[{"_sum":14.5,"_avg":3.625,"_min":0.25,"m":3,"s":4}]}}`, true},
		{"offset, limit and order, as DefraDB's", `{ Player(filter: {name: {_eq: "Ann"}}) { asc: _sum(scores: {offset: 1, limit: 3, order: ASC}) desc: _sum(scores: {offset: 1, limit: 3, order: DESC}) f: _sum(ratings: {offset: 1, limit: 2, order: DESC}) own: _sum(scores: {limit: 2}) n: _count(scores: {offset: 4}) } }`, nil,
			`{"data":{"Player":[{"asc":3,"desc":8,"f":4.25,"own":2,"n":2}]}}`, true},
		{"a filter, then the page", `{ Player(filter: {name: {_eq: "Ann"}}) { _sum(scores: {filter: {_ne: null}, limit: 2, order: ASC}) } }`, nil,
			`{"data":{"Player":[{"_sum":1}]}}`, true},
		{"as variables", `query($s: IntAggregateArg, $c: StringCountArg) { Player(filter: {name: {_eq: "Ann"}}) { _max(scores: $s) _count(tags: $c) } }`,
			map[string]any{"s": map[string]any{"filter": map[string]any{"_lt": json.Number("5")}}, "c": map[string]any{"filter": map[string]any{"_in": []any{nil, "a"}}}},
			`{"data":{"Player":[{"_max":2,"_count":2}]}}`, true},
		{"an Int sum exact past a wrap, else an error of its field", `{ Player(order: {name: ASC}, limit: 2) { name _sum(big: {}) _avg(huge: {}) f: _sum(huge: {}) } }`, nil,
			`{"data":{"Player":[{"name":"Ann","_sum":9223372036854775807,"_avg":1.7e+308,"f":null},{"name":"Bo","_sum":null,"_avg":null,"f":0}]},"errors":[` +
				`{"message":"gossipdb: invalid input: field \"big\": sum is out of the range of an Int","locations":[{"line":1,"column":47}],"path":["Player",1,"_sum"]},` +
				`{"message":"gossipdb: invalid input: field \"huge\": sum is out of the range of a Float","locations":[{"line":1,"column":76}],"path":["Player",0,"f"]}]}`, true},

		// Errors.
		{"_sum of a list of Strings", `{ Player { _sum(tags: {}) } }`, nil,
			`{"errors":[{"message":"Unknown argument \"tags\" on field \"_sum\" of type \"Player\": an aggregate within a document takes the inverse side of one of its relations, such as _count(books: {}), or one of its list fields (of numbers, for _sum, _avg, _min and _max), or, on a group of a query with groupBy, _group.","locations":[{"line":1,"column":17}]}]}`, false},
		{"patterns on items", `{ Player(order: {name: ASC}) { name like: _count(tags: {filter: {_like: "a%"}}) nlike: _count(tags: {filter: {_nlike: "a%"}}) ilike: _count(tags: {filter: {_or: [{_ilike: "B"}, {_eq: ""}]}}) } }`, nil,
			`{"data":{"Player":[{"name":"Ann","like":1,"nlike":3,"ilike":2},{"name":"Bo","like":0,"nlike":0,"ilike":0},{"name":"Cy","like":0,"nlike":0,"ilike":0}]}}`, true},
		{"an operand of the wrong type", `{ Player { _count(scores: {filter: {_gt: "x"}}) } }`, nil,
			`{"errors":[{"message":"Argument \"scores\" has invalid value {filter: {_gt: \"x\"}}.\nIn field \"filter\": In field \"_gt\": Expected type \"Int\", found \"x\".","locations":[{"line":1,"column":27}]}]}`, false},
		{"an order that is no direction", `{ Player { _sum(scores: {order: {name: ASC}}) } }`, nil,
			`{"errors":[{"message":"Argument \"scores\" has invalid value {order: {name: ASC}}.\nIn field \"order\": Expected type \"Ordering\", found {name: ASC}.","locations":[{"line":1,"column":25}]}]}`, false},
		{"a range of null", `{ Player(filter: {name: {_eq: "Ann"}}) { _count(scores: {filter: {_gt: null}}) } }`, nil,
			`{"errors":[{"message":"Argument \"scores\" has invalid value {filter: {_gt: null}}.\nIn field \"filter\": In field \"_gt\": Expected a value, found null (_gt compares with a value; _eq: null matches null).","locations":[{"line":1,"column":72}]}]}`, false},
		{"conditions on items nest at most 32 deep", `{ Player(filter: {name: {_eq: "Ann"}}) { a: _count(scores: {filter: ` + strings.Repeat(`{_not: `, 32) + `{_eq: 1}` + strings.Repeat(`}`, 32) + `}) b: _count(scores: {filter: ` + strings.Repeat(`{_not: `, 33) + `{_eq: 1}` + strings.Repeat(`}`, 33) + `}) } }`, nil,
			`{"data":{"Player":[{"a":1,"b":null}]},"errors":[{"message":"gossipdb: invalid input: filter nests deeper than 32","locations":[{"line":1,"column":336}],"path":["Player",0,"b"]}]}`, true},
		{"DefraDB's _eq of a whole list", `{ Player(filter: {scores: {_eq: [1]}}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {scores: {_eq: [1]}}.\nIn field \"scores\": In field \"_eq\": Unknown field: a list or set field is not compared whole here (DefraDB's _eq and _neq on a list are not supported): test its items with _any, _all or _none, such as {scores: {_any: {_eq: …}}}.","locations":[{"line":1,"column":18}]}]}`, false},
		{"DefraDB's _neq of a whole set", `{ Player(filter: {_or: [{tags: {_neq: ["a"]}}]}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {_or: [{tags: {_neq: [\"a\"]}}]}.\nIn field \"_or\": In element #1: In field \"tags\": In field \"_neq\": Unknown field: a list or set field is not compared whole here (DefraDB's _eq and _neq on a list are not supported): test its items with _any, _all or _none, such as {tags: {_any: {_eq: …}}}.","locations":[{"line":1,"column":18}]}]}`, false},
		{"two lists at once", `{ Player(filter: {name: {_eq: "Ann"}}) { _count(scores: {}, tags: {}) } }`, nil,
			`{"errors":[{"message":"_count takes one argument, what it aggregates: one of the document's list fields or the inverse side of one of its relations, such as _count(books: {}); an aggregate over several at once (DefraDB combines them into one value) is not supported: write one for each, under aliases.","locations":[{"line":1,"column":42}]}]}`, false},
		{"a negative offset", `{ Player(filter: {name: {_eq: "Ann"}}) { _count(scores: {offset: -2}) } }`, nil,
			`{"data":{"Player":[{"_count":null}]},"errors":[{"message":"gossipdb: invalid input: negative offset -2","locations":[{"line":1,"column":42}],"path":["Player",0,"_count"]}]}`, true},
	})
}

// TestInnerAggregateLimits: aggregates within documents nest only as deep as
// Limits.MaxDepth lets selections nest, each value counts toward
// Limits.MaxResultSize, and one ordered by a related document's fields sorts
// within the Go API's bounds.
func TestInnerAggregateLimits(t *testing.T) {
	f := newLibrary(t)
	e, err := graphql.New(f.n, &graphql.Limits{MaxDepth: 4, MaxResultSize: 600})
	if err != nil {
		t.Fatal(err)
	}
	aliases := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, " a%d: _count(books: {})", i)
		}
		return b.String()
	}
	lim := &fixture{n: f.n, e: e, ids: f.ids}
	runCases(t, lim, []requestCase{
		{"at the depth limit", `{ Author(filter: {name: {_eq: "Bob"}}) { books { author { _count(books: {}) } } } }`, nil,
			`{"data":{"Author":[{"books":[{"author":{"_count":1}}]}]}}`, true},
		{"beyond it", `{ Book { author { books { author { _count(books: {}) } } } } }`, nil,
			`{"errors":[{"message":"selections nest deeper than the limit of 4","locations":[{"line":1,"column":36}]}]}`, false},
	})
	// Ten values of one author fit in 600 bytes; ninety of three do not.
	got, _ := lim.do(t, `{ Author(filter: {name: {_eq: "Ada"}}) {`+aliases(10)+` } }`, nil)
	if strings.Contains(got, "errors") || strings.Count(got, `":2`) != 10 {
		t.Errorf("ten values within the limit: %s", got)
	}
	got, _ = lim.do(t, `{ Author {`+aliases(30)+` } }`, nil)
	if !strings.Contains(got, "the answer is larger than the limit of 600 bytes") {
		t.Errorf("ninety values beyond the limit: %.300s", got)
	}

	sorts := &fixture{n: f.n, e: graphql.WithSortLimit(f.e, 3), ids: f.ids}
	runCases(t, sorts, []requestCase{
		{"an order on related fields, over the sort's bound", `{ _sum(Book: {field: rating, limit: 10, order: {author: {name: ASC}}}) }`, nil,
			fmt.Sprintf(`{"data":{"_sum":null},"errors":[{"message":"gossipdb: invalid input: too large: the query sorts more than 3 documents or %d bytes in memory; add a limit or a narrower filter (no index holds a related document's fields)","locations":[{"line":1,"column":3}],"path":["_sum"]}]}`, gossipdb.MaxSortedBytes), true},
		{"within it", `{ _sum(Book: {field: rating, limit: 2, order: [{author: {name: DESC}}, {rating: DESC}]}) }`, nil,
			`{"data":{"_sum":6.5}}`, true},
	})
}

// TestInnerAggregatesMatchTopLevel makes random authors and books and random
// filters, and checks that each aggregate within an author over its books
// answers what the top-level one over Book answers with the condition that
// the author is this one, through the Go API's Count and Aggregate and
// streamed (a limit past the last book), errors included.
func TestInnerAggregatesMatchTopLevel(t *testing.T) {
	sd := *seed
	if sd == 0 {
		sd = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -graphql.seed=%d)", sd, sd)
	rng := rand.New(rand.NewPCG(sd, 1))
	f, cols := newNode(t, `type Writer { name: String works: [Work] } type Work { title: String pages: Int score: Float writer: Writer }`)
	ctx := context.Background()
	names := []string{"Ann", "Bo", "Cy", "Di", "Ed"}
	var writers []string
	for _, n := range names {
		id, err := cols[0].Create(ctx, map[string]any{"name": n})
		if err != nil {
			t.Fatal(err)
		}
		writers = append(writers, string(id))
	}
	pages := []any{nil, int64(0), int64(1), int64(-7), int64(300), int64(9007199254740993), int64(9223372036854775807), int64(-9223372036854775808)}
	scores := []any{nil, 0.0, 1.5, -2.25, 1e21, 1.7e308, -1.7e308, 5e-324}
	titles := []string{"a", "b", "ab", ""}
	var works []map[string]any
	for range 30 + rng.IntN(40) {
		w := map[string]any{"title": titles[rng.IntN(len(titles))]}
		if p := pages[rng.IntN(len(pages))]; p != nil {
			w["pages"] = p
		}
		if s := scores[rng.IntN(len(scores))]; s != nil {
			w["score"] = s
		}
		if rng.IntN(6) > 0 {
			w["writer"] = writers[rng.IntN(len(writers)-1)] // Ed has none
		}
		works = append(works, w)
	}
	if _, err := cols[1].CreateMany(ctx, works); err != nil {
		t.Fatal(err)
	}
	lit := func(field string) string {
		switch field {
		case "pages":
			return fmt.Sprint(pages[1+rng.IntN(len(pages)-1)])
		case "score":
			return fmt.Sprint([]string{"0", "1.5", "-2.25", "1e21"}[rng.IntN(4)])
		case "title":
			return fmt.Sprintf("%q", titles[rng.IntN(len(titles))])
		}
		return fmt.Sprintf("%q", names[rng.IntN(len(names))])
	}
	filter := func() string {
		var parts []string
		for range rng.IntN(3) {
			switch field := []string{"pages", "score", "title", "writer"}[rng.IntN(4)]; field {
			case "writer": // a condition on the related side
				parts = append(parts, fmt.Sprintf("writer: {name: {_ne: %s}}", lit("name")))
			default:
				op := []string{"_eq", "_ne", "_gt", "_le"}[rng.IntN(4)]
				val := lit(field)
				if op == "_eq" || op == "_ne" {
					if rng.IntN(4) == 0 {
						val = "null"
					}
				}
				parts = append(parts, fmt.Sprintf("%s: {%s: %s}", field, op, val))
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	// answer returns the one value the request's one field answers, or its
	// error.
	answer := func(q string) string {
		t.Helper()
		resp, _, err := f.e.Do(ctx, client.GraphQLRequest{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Errors) > 0 {
			return "error: " + resp.Errors[0].Message
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(string(resp.Data)))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		for v != nil {
			switch x := v.(type) {
			case map[string]any:
				for _, e := range x {
					v = e
				}
				continue
			case []any:
				v = x[0]
				continue
			}
			break
		}
		return fmt.Sprint(v)
	}
	checked := 0
	for range 40 {
		filt := filter()
		op := []string{"_count", "_sum", "_avg", "_min", "_max"}[rng.IntN(5)]
		field := ""
		if op != "_count" {
			field = "field: " + []string{"pages", "score"}[rng.IntN(2)] + ", "
		}
		for i, w := range writers {
			top := answer(fmt.Sprintf(`{ %s(Work: {%sfilter: {_and: [{writer: {_docID: {_eq: %q}}}, %s]}}) }`, op, field, w, filt))
			for _, page := range []string{"", ", limit: 1000000"} {
				q := fmt.Sprintf(`{ Writer(docID: %q) { %s(works: {%sfilter: %s%s}) } }`, w, op, field, filt, page)
				if got := answer(q); got != top {
					t.Fatalf("%s (writer %s)\n got %s\nwant %s, as the top-level aggregate", q, names[i], got, top)
				}
				checked++
			}
		}
	}
	t.Logf("%d aggregates checked", checked)
}

// TestAggregateIntrospection: GraphiQL sees the aggregates within documents
// and their arguments, and the arguments the top-level ones gained.
func TestAggregateIntrospection(t *testing.T) {
	f := newPlayers(t)
	nodeLib := newLibrary(t)
	const q = `{ t: __type(name: "%s") { fields { name args { name type { name kind ofType { name } } } } inputFields { name type { name kind ofType { name kind } } } } }`
	for _, c := range []struct {
		f          *fixture
		typ, field string
		want       string
	}{
		{nodeLib, "Author", "_count", `_group:AuthorCountArg books:BookCountArg`},
		{nodeLib, "Author", "_sum", `_group:AuthorAggregateArg books:BookAggregateArg`},
		{nodeLib, "Book", "_count", `_group:BookCountArg`},
		{f, "Player", "_count", `_group:PlayerCountArg big:IntCountArg days:DateTimeCountArg flags:BooleanCountArg huge:FloatCountArg ratings:FloatCountArg scores:IntCountArg set:IntCountArg tags:StringCountArg`},
		{f, "Player", "_avg", `big:IntAggregateArg huge:FloatAggregateArg ratings:FloatAggregateArg scores:IntAggregateArg set:IntAggregateArg`},
	} {
		got, ran := c.f.do(t, fmt.Sprintf(q, c.typ), nil)
		var out struct {
			Data struct {
				T struct {
					Fields []struct {
						Name string
						Args []struct {
							Name string
							Type struct{ Name string }
						}
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(got), &out); err != nil || !ran {
			t.Fatalf("%s: %v %s", c.typ, err, got)
		}
		var args string
		for _, fd := range out.Data.T.Fields {
			if fd.Name != c.field {
				continue
			}
			var names []string
			for _, a := range fd.Args {
				names = append(names, a.Name+":"+a.Type.Name)
			}
			slices.Sort(names)
			args = strings.Join(names, " ")
		}
		if args != c.want {
			t.Errorf("%s.%s: arguments %s, want %s", c.typ, c.field, args, c.want)
		}
	}
	for typ, want := range map[string]string{
		"BookCountArg":     "filter limit offset",
		"BookAggregateArg": "field filter limit offset order",
	} {
		got, _ := nodeLib.do(t, fmt.Sprintf(q, typ), nil)
		for _, name := range strings.Fields(want) {
			if !strings.Contains(got, `"name":"`+name+`"`) {
				t.Errorf("%s has no %s: %s", typ, name, got)
			}
		}
	}
	for typ, want := range map[string]string{
		"IntCountArg":      "filter limit offset",
		"IntAggregateArg":  "filter limit offset order",
		"IntFilterArg":     "_and _eq _ge _geq _gt _in _le _leq _lt _ne _neq _nin _not _or",
		"BooleanFilterArg": "_and _eq _in _ne _neq _nin _not _or",
		"StringFilterArg":  "_and _eq _ge _geq _gt _ilike _in _le _leq _like _lt _ne _neq _nilike _nin _nlike _not _or",
	} {
		got, _ := f.do(t, fmt.Sprintf(q, typ), nil)
		var out struct {
			Data struct {
				T struct{ InputFields []struct{ Name string } }
			}
		}
		json.Unmarshal([]byte(got), &out)
		var names []string
		for _, fd := range out.Data.T.InputFields {
			names = append(names, fd.Name)
		}
		slices.Sort(names)
		if strings.Join(names, " ") != want {
			t.Errorf("%s: %q, want %q", typ, strings.Join(names, " "), want)
		}
	}
}
