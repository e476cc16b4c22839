package graphql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const sdl = `
type User { name: String age: Int verified: Boolean points: Float }
type Post { title: String! likes: Int @crdt(type: pncounter) at: DateTime meta: JSON }
`

// fixture is a node holding a few known documents, and its executor.
type fixture struct {
	n    *gossipdb.Node
	e    *graphql.Executor
	ids  map[string]string // "$ada" → Ada's document ID, for the requests and answers
	user *gossipdb.Collection
}

func newFixture(t testing.TB, lim *graphql.Limits) *fixture {
	t.Helper()
	n := nodetest.Open(t, "", nil)
	cols, err := n.AddCollection(context.Background(), sdl)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, lim)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{n: n, e: e, ids: map[string]string{}, user: cols[0]}
	ctx := context.Background()
	users := []map[string]any{
		{"name": "Ada", "age": 36, "verified": true, "points": 9.5},
		{"name": "Bob", "age": 20, "verified": false, "points": 1.5},
		{"name": "carol", "age": 52, "verified": true},
		{"name": "Dan", "verified": false, "points": 4},
	}
	ids, err := cols[0].CreateMany(ctx, users)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range users {
		f.ids["$"+strings.ToLower(u["name"].(string))] = string(ids[i])
	}
	post, err := cols[1].Create(ctx, map[string]any{"title": "Hello", "likes": 3, "at": "2026-12-02T09:00:00Z",
		"meta": map[string]any{"tags": []any{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.ids["$post"] = string(post)
	return f
}

// expand replaces the fixture's $names by document IDs.
func (f *fixture) expand(s string) string {
	for k, v := range f.ids {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// do runs a request and returns the answer as compact JSON.
func (f *fixture) do(t testing.TB, query string, vars map[string]any) (string, bool) {
	t.Helper()
	resp, ran, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: f.expand(query), Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), ran
}

// compact re-encodes JSON text without spaces, keys sorted.
func compact(t testing.TB, s string) string {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(buf.String())
}

type requestCase struct {
	name  string
	query string
	vars  map[string]any
	want  string // the answer, JSON
	ran   bool   // false: refused before running (HTTP 400)
}

func runCases(t *testing.T, f *fixture, cases []requestCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ran := f.do(t, c.query, c.vars)
			if want := compact(t, f.expand(c.want)); compact(t, got) != want || ran != c.ran {
				t.Errorf("%s\n got (ran %v) %s\nwant (ran %v) %s", c.query, ran, got, c.ran, want)
			}
		})
	}
}

// TestQueries runs DefraDB-style requests and checks their answers.
func TestQueries(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"range filter, order", `{ User(filter: {age: {_gt: 30}}, order: {name: ASC}) { name age } }`,
			nil, `{"data":{"User":[{"name":"Ada","age":36},{"name":"carol","age":52}]}}`, true},
		{"order desc, limit, offset", `{ User(order: {age: DESC}, limit: 2, offset: 1) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"},{"name":"Bob"}]}}`, true},
		{"two sort keys in one object", `{ User(order: {verified: DESC, name: ASC}) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"},{"name":"carol"},{"name":"Bob"},{"name":"Dan"}]}}`, true},
		{"two sort keys in a list", `{ User(order: [{verified: ASC}, {name: DESC}]) { name } }`,
			nil, `{"data":{"User":[{"name":"Dan"},{"name":"Bob"},{"name":"carol"},{"name":"Ada"}]}}`, true},
		{"null sorts first", `{ User(order: {age: ASC}, limit: 1) { name age } }`,
			nil, `{"data":{"User":[{"name":"Dan","age":null}]}}`, true},
		{"_or, _and, _not", `{ User(filter: {_or: [{age: {_lt: 25}}, {_and: [{verified: {_eq: true}}, {_not: {name: {_eq: "Ada"}}}]}]}, order: {name: ASC}) { name } }`,
			nil, `{"data":{"User":[{"name":"Bob"},{"name":"carol"}]}}`, true},
		{"_in, _nin", `{ User(filter: {name: {_in: ["Ada", "Dan", "Zed"]}, age: {_nin: [36]}}) { name } }`,
			nil, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		{"_ge, _le, _ne", `{ User(filter: {age: {_ge: 20, _le: 36, _ne: 20}}) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"DefraDB's _geq, _leq, _neq", `{ User(filter: {age: {_geq: 20, _leq: 36, _neq: 20}}) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"DefraDB's _neq, _leq in a variable", `query($f: UserFilterArg) { User(filter: $f, order: {name: ASC}) { name } }`,
			map[string]any{"f": map[string]any{"name": map[string]any{"_neq": "Bob"}, "points": map[string]any{"_leq": 9.5}}},
			`{"data":{"User":[{"name":"Ada"},{"name":"Dan"}]}}`, true},
		// DefraDB combines the collections of one aggregate; here that is
		// refused before running, saying so, as is an aggregate of none.
		{"aggregate of two collections", `{ _count(User: {}, Post: {}) }`,
			nil, `{"errors":[{"message":"_count takes one argument, what it aggregates: one collection, such as _count(User: {}); an aggregate over several at once (DefraDB combines them into one value) is not supported: write one for each, under aliases.","locations":[{"line":1,"column":3}]}]}`, false},
		// DefraDB forms that are not supported say so and what to write.
		{"DefraDB's _alias in a filter", `{ User(filter: {_alias: {n: {_eq: "Ada"}}}) { n: name } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {_alias: {n: {_eq: \"Ada\"}}}.\nIn field \"_alias\": Unknown field: DefraDB's _alias is not supported: filter and order by the field's own name, not by an alias it is selected under.","locations":[{"line":1,"column":16}]}]}`, false},
		{"DefraDB's _alias in an order", `{ User(order: {_alias: {n: ASC}}) { n: name } }`,
			nil, `{"errors":[{"message":"Argument \"order\" has invalid value {_alias: {n: ASC}}.\nIn field \"_alias\": Unknown field: DefraDB's _alias is not supported: filter and order by the field's own name, not by an alias it is selected under.","locations":[{"line":1,"column":15}]}]}`, false},
		{"groupBy of a JSON field", `{ Post(groupBy: [meta]) { meta } }`,
			nil, `{"errors":[{"message":"Argument \"groupBy\" has invalid value [meta].\nIn element #1: Expected type \"PostGroupByArg\", found meta: groupBy takes the collection's scalar fields; grouping by a relation (DefraDB's groupBy: [author] or [_authorID]), a list, a set or a JSON field is not supported.","locations":[{"line":1,"column":17}]}]}`, false},
		{"_commits of a cid alone", `{ _commits(cid: "$ada") { cid } }`,
			nil, `{"errors":[{"message":"Field \"_commits\" argument \"docID\" of type \"ID!\" is required but not provided: _commits lists the blocks of one document; _commits without docID (DefraDB's commits of every document, or of one cid alone) is not supported: give the document's ID, with cid for one of its blocks.","locations":[{"line":1,"column":3}]}]}`, false},
		{"_commits with depth", `{ _commits(docID: "$ada", depth: 1) { cid } }`,
			nil, `{"errors":[{"message":"Unknown argument \"depth\" on field \"_commits\" of type \"Query\": _commits lists every block of the document; depth is not supported: page with limit and offset, or give cid for one block.","locations":[{"line":1,"column":82}]}]}`, false},
		{"DefraDB's filter inside a JSON field", `{ Post(filter: {meta: {tags: {_eq: "a"}}}) { title } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {meta: {tags: {_eq: \"a\"}}}.\nIn field \"meta\": In field \"tags\": Unknown field: a JSON field is compared whole, with _eq, _ne, _in and _nin; DefraDB's filters on the properties inside a JSON field are not supported.","locations":[{"line":1,"column":16}]}]}`, false},
		{"DefraDB's truncate_", `mutation { truncate_Post(filter: {}) }`,
			nil, `{"errors":[{"message":"Cannot query field \"truncate_Post\" on type \"Mutation\": DefraDB's truncate_, which erases documents and their history from one node, is not supported: delete_ deletes documents, on every peer, keeping their history.","locations":[{"line":1,"column":12}]}]}`, false},
		{"aggregate of no collection", `{ n: _sum }`,
			nil, `{"errors":[{"message":"_sum needs one argument, what it aggregates: one collection, such as _sum(User: {}).","locations":[{"line":1,"column":3}]}]}`, false},
		{"_like", `{ User(filter: {name: {_like: "C%"}}) { name } }`,
			nil, `{"data":{"User":[]}}`, true},
		{"_ilike", `{ User(filter: {name: {_ilike: "C%"}}) { name } }`,
			nil, `{"data":{"User":[{"name":"carol"}]}}`, true},
		{"_nlike", `{ User(filter: {name: {_nlike: "%a%"}}, order: {name: ASC}) { name } }`,
			nil, `{"data":{"User":[{"name":"Bob"}]}}`, true},
		{"_nilike", `{ User(filter: {name: {_nilike: "C%"}}, order: {name: ASC}) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"},{"name":"Bob"},{"name":"Dan"}]}}`, true},
		{"float range", `{ User(filter: {points: {_gt: 2}}, order: {points: DESC}) { name points } }`,
			nil, `{"data":{"User":[{"name":"Ada","points":9.5},{"name":"Dan","points":4}]}}`, true},
		{"docID", `{ User(docID: "$ada") { _docID name } }`,
			nil, `{"data":{"User":[{"_docID":"$ada","name":"Ada"}]}}`, true},
		{"docIDs with a filter", `{ User(docID: ["$ada", "$bob"], filter: {age: {_lt: 30}}) { name } }`,
			nil, `{"data":{"User":[{"name":"Bob"}]}}`, true},
		{"_docID in a filter", `{ User(filter: {_docID: {_eq: "$carol"}}) { name } }`,
			nil, `{"data":{"User":[{"name":"carol"}]}}`, true},
		{"unknown docID", `{ User(docID: "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi") { name } }`,
			nil, `{"data":{"User":[]}}`, true},
		{"malformed docID", `{ User(docID: ["$ada", "zzz"]) { name } }`,
			nil, `{"data":null,"errors":[{"message":"docID: gossipdb: invalid input: document ID \"zzz\" is not a gossipdb document ID","locations":[{"line":1,"column":3}],"path":["User"]}]}`, true},
		{"aliases and __typename", `{ old: User(filter: {age: {_gt: 50}}) { __typename name } young: User(filter: {age: {_lt: 30}}) { name } }`,
			nil, `{"data":{"old":[{"__typename":"User","name":"carol"}],"young":[{"name":"Bob"}]}}`, true},
		{"fragment", `{ User(filter: {name: {_eq: "Bob"}}) { ...F } } fragment F on User { name age }`,
			nil, `{"data":{"User":[{"name":"Bob","age":20}]}}`, true},
		{"_count", `{ all: _count(User: {}) verified: _count(User: {filter: {verified: {_eq: true}}}) }`,
			nil, `{"data":{"all":4,"verified":2}}`, true},
		{"_sum, _avg, _min, _max", `{ _sum(User: {field: age}) _avg(User: {field: age}) _min(User: {field: points}) _max(User: {field: age, filter: {verified: {_eq: false}}}) }`,
			nil, `{"data":{"_sum":108,"_avg":36,"_min":1.5,"_max":20}}`, true},
		{"_avg of nothing", `{ _avg(User: {field: age, filter: {name: {_eq: "Zed"}}}) }`,
			nil, `{"data":{"_avg":null}}`, true},
		{"DateTime, JSON, counter", `{ Post(filter: {at: {_ge: "2026-01-01T00:00:00Z"}}) { title likes at meta } }`,
			nil, `{"data":{"Post":[{"title":"Hello","likes":3,"at":"2026-12-02T09:00:00Z","meta":{"tags":["a","b"]}}]}}`, true},
		{"DateTime with lower case t and z", `{ Post(filter: {at: {_ge: "2026-01-01t00:00:00z"}}) { title } }`,
			nil, `{"data":{"Post":[{"title":"Hello"}]}}`, true},
		{"DateTime with ten fraction digits", `{ Post(filter: {at: {_ge: "2026-01-01T00:00:00.9999999999Z"}}) { title } }`,
			nil, `{"data":null,"errors":[{"message":"gossipdb: invalid input: field \"at\": \"2026-01-01T00:00:00.9999999999Z\" has 10 fraction digits: a DateTime keeps at most 9 (nanoseconds), so it would be rounded","locations":[{"line":1,"column":3}],"path":["Post"]}]}`, true},

		// Variables: null reaches the filter through them.
		{"null through a variable", `query($n: Int) { User(filter: {age: {_eq: $n}}) { name } }`,
			map[string]any{"n": nil}, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		{"filter as a variable, null inside", `query($f: UserFilterArg) { User(filter: $f, order: {name: ASC}) { name } }`,
			map[string]any{"f": map[string]any{"age": map[string]any{"_ne": nil}, "name": map[string]any{"_like": "%o%"}}},
			`{"data":{"User":[{"name":"Bob"},{"name":"carol"}]}}`, true},
		{"a variable not sent is no condition", `query($n: Int, $d: Ordering) { User(filter: {age: {_eq: $n}}, order: [{age: $d}, {name: ASC}]) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"},{"name":"Bob"},{"name":"Dan"},{"name":"carol"}]}}`, true},
		{"default value of a variable", `query($min: Int = 50) { User(filter: {age: {_gt: $min}}) { name } }`,
			nil, `{"data":{"User":[{"name":"carol"}]}}`, true},
		{"order as a variable", `query($o: [UserOrderArg!]) { User(order: $o, limit: 1) { name } }`,
			map[string]any{"o": []any{map[string]any{"verified": "DESC"}, map[string]any{"age": "DESC"}}},
			`{"data":{"User":[{"name":"carol"}]}}`, true},
		{"limit as a variable", `query($l: Int) { User(order: {name: DESC}, limit: $l) { name } }`,
			map[string]any{"l": json.Number("1")}, `{"data":{"User":[{"name":"carol"}]}}`, true},
		{"Float variables, as JSON numbers", `query($p: Float, $q: Float) { User(filter: {points: {_ge: $p, _lt: $q}}) { name } }`,
			map[string]any{"p": json.Number("4.0"), "q": json.Number("9")}, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		{"an integral JSON number is an Int", `query($a: Int, $l: Int) { User(filter: {age: {_eq: $a}}, limit: $l) { name } }`,
			map[string]any{"a": json.Number("20.0"), "l": json.Number("1e1")}, `{"data":{"User":[{"name":"Bob"}]}}`, true},
		{"a fraction is no Int", `query($a: Int) { User(filter: {age: {_eq: $a}}) { name } }`,
			map[string]any{"a": json.Number("20.5")}, `{"errors":[{"message":"Variable \"$a\" got invalid value 20.5.\nExpected type \"Int\", found 20.5.","locations":[{"line":1,"column":7}]}]}`, false},
		// A variable's value, or one within it, of the wrong kind for its
		// type is refused, as the specification's input coercion has it.
		// (graphql-go took "no" and 0 for booleans, true or false, any value
		// for a String or an ID, and a string for a Float: the request ran,
		// or failed in a resolver.)
		{"a string is no Boolean", `query($b: Boolean!) { User(order: {name: ASC}, limit: 1) { name @include(if: $b) } }`,
			map[string]any{"b": "no"}, `{"errors":[{"message":"Variable \"$b\" got invalid value \"no\".\nExpected type \"Boolean\", found \"no\".","locations":[{"line":1,"column":7}]}]}`, false},
		{"a number is no Boolean", "query($s: Boolean) {\n  User(showDeleted: $s) { name } }",
			map[string]any{"s": json.Number("0")}, `{"errors":[{"message":"Variable \"$s\" got invalid value 0.\nExpected type \"Boolean\", found 0.","locations":[{"line":1,"column":7}]}]}`, false},
		{"a number is no String, within a filter", `query($f: UserFilterArg) { User(filter: $f) { name } }`,
			map[string]any{"f": map[string]any{"age": map[string]any{"_gt": json.Number("1")}, "name": map[string]any{"_in": []any{"Ada", json.Number("5")}}}},
			`{"errors":[{"message":"Variable \"$f\" got invalid value {\"age\":{\"_gt\":1},\"name\":{\"_in\":[\"Ada\",5]}}.\nIn field \"name\": In field \"_in\": In element #2: Expected type \"String\", found 5.","locations":[{"line":1,"column":7}]}]}`, false},
		{"an object is no ID, within an input", `mutation($i: [UserMutationInputArg!]!, $id: [ID!]) { create_User(input: $i) { name } delete_User(docID: $id) { name } }`,
			map[string]any{"i": []any{map[string]any{"name": true}}, "id": []any{map[string]any{}}},
			`{"errors":[{"message":"Variable \"$i\" got invalid value [{\"name\":true}].\nIn element #1: In field \"name\": Expected type \"String\", found true.","locations":[{"line":1,"column":10}]},{"message":"Variable \"$id\" got invalid value [{}].\nIn element #1: Expected type \"ID\", found {}.","locations":[{"line":1,"column":40}]}]}`, false},
		{"a string is no Float", `query($p: Float) { User(filter: {points: {_gt: $p}}) { name } }`,
			map[string]any{"p": "2"}, `{"errors":[{"message":"Variable \"$p\" got invalid value \"2\".\nExpected type \"Float\", found \"2\".","locations":[{"line":1,"column":7}]}]}`, false},
		{"each misfit, in its element", `query($l: [Int], $o: [UserOrderArg!]) { User(filter: {age: {_in: $l}}, order: $o) { name } }`,
			map[string]any{"l": []any{json.Number("1"), json.Number("2"), "x", json.Number("3"), true}, "o": []any{map[string]any{"name": "ASC"}, map[string]any{"nam": "ASC"}, nil, "age"}},
			`{"errors":[{"message":"Variable \"$l\" got invalid value [1,2,\"x\",3,true].\nIn element #3: Expected type \"Int\", found \"x\".\nIn element #5: Expected type \"Int\", found true.","locations":[{"line":1,"column":7}]},{"message":"Variable \"$o\" got invalid value [{\"name\":\"ASC\"},{\"nam\":\"ASC\"},null,\"age\"].\nIn element #2: In field \"nam\": Unknown field.\nIn element #3: Expected \"UserOrderArg!\", found null.\nIn element #4: Expected \"UserOrderArg\", found not an object.","locations":[{"line":1,"column":18}]}]}`, false},
		// A variable of a non-null type may have a default, its value when
		// none is sent (the specification since its June 2018 edition;
		// graphql-go refused it as "required and will not use the default").
		{"a non-null variable's default", `query($l: Int! = 1, $b: Boolean! = false, $o: Ordering! = DESC, $f: UserFilterArg! = {age: {_gt: 1}}) { User(limit: $l, order: {name: $o}, filter: $f) { name @include(if: $b) age } }`,
			nil, `{"data":{"User":[{"age":52}]}}`, true},
		{"a non-null variable's default, and a value sent", `query($l: Int! = 1, $b: Boolean! = false) { User(limit: $l, order: {name: ASC}) { name @include(if: $b) age } }`,
			map[string]any{"l": json.Number("2"), "b": true}, `{"data":{"User":[{"name":"Ada","age":36},{"name":"Bob","age":20}]}}`, true},
		{"a non-null variable's default, and null sent", `query($l: Int! = 1) { User(limit: $l) { name } }`,
			map[string]any{"l": nil}, `{"errors":[{"message":"Variable \"$l\" of non-null type \"Int!\" must not be null.","locations":[{"line":1,"column":7}]}]}`, false},
		{"null for a non-null variable", `query($b: Boolean!) { User { name @include(if: $b) } }`,
			map[string]any{"b": nil}, `{"errors":[{"message":"Variable \"$b\" of non-null type \"Boolean!\" must not be null.","locations":[{"line":1,"column":7}]}]}`, false},
		{"each of its kind", `query($s: String, $b: Boolean, $f: Float, $l: [String], $id: ID) { User(showDeleted: $b, filter: {_docID: {_ne: $id}, name: {_eq: $s, _in: $l}, points: {_gt: $f}}) { name } }`,
			map[string]any{"s": "Ada", "b": false, "f": json.Number("1"), "l": "Ada", "id": "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"},
			`{"data":{"User":[{"name":"Ada"}]}}`, true},

		// Errors of the request: refused before running, with line and column.
		{"syntax error", "{\n  User(filter: {age: {_gt: 30}) { name }\n}",
			nil, `{"errors":[{"message":"syntax error: Expected Name, found )","locations":[{"line":2,"column":31}]}]}`, false},
		{"unterminated", `{ User { name `,
			nil, `{"errors":[{"message":"syntax error: Expected Name, found EOF","locations":[{"line":1,"column":15}]}]}`, false},
		{"null matches an absent field", `{ User(filter: {age: {_eq: null}}) { name } }`,
			nil, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		{"null in a list, _ne null", `{ a: User(filter: {age: {_in: [null, 20]}}, order: {name: ASC}) { name } b: User(filter: {points: {_ne: null}, verified: {_eq: false}}, order: {name: ASC}) { name } }`,
			nil, `{"data":{"a":[{"name":"Bob"},{"name":"Dan"}],"b":[{"name":"Bob"},{"name":"Dan"}]}}`, true},
		{"null in an error message", `{ User(filter: {age: {_gtt: null}}) { name } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gtt: null}}.\nIn field \"age\": In field \"_gtt\": Unknown field.","locations":[{"line":1,"column":16}]}]}`, false},
		// A null where the schema wants a value (a non-null type) does not fit
		// its position, as the specification's validation has it: refused
		// before running, where it stands. (These once ran: @include(if:
		// null) included, create_User(input: null) created nothing.)
		{"null for a required argument", `mutation { create_User(input: null) { name } }`,
			nil, `{"errors":[{"message":"Expected type \"[UserMutationInputArg!]!\", found null.","locations":[{"line":1,"column":31}]}]}`, false},
		{"null in a list of non-null", "{ User(docID: [\"$ada\",\n  null]) { name } }",
			nil, `{"errors":[{"message":"Expected type \"ID!\", found null.","locations":[{"line":2,"column":3}]}]}`, false},
		{"null for a directive's if", `{ User(order: {name: ASC}) { name @include(if: null) } }`,
			nil, `{"errors":[{"message":"Expected type \"Boolean!\", found null.","locations":[{"line":1,"column":48}]}]}`, false},
		{"null for a required field of an input", `{ _sum(User: {field: null}) }`,
			nil, `{"errors":[{"message":"Expected type \"UserNumericFieldArg!\", found null.","locations":[{"line":1,"column":22}]}]}`, false},
		{"null in _and, an order, a groupBy", `{ a: User(filter: {_and: [null]}) { name } b: User(order: [null]) { name } c: User(groupBy: [null]) { age } }`,
			nil, `{"errors":[{"message":"Expected type \"UserFilterArg!\", found null.","locations":[{"line":1,"column":27}]},{"message":"Expected type \"UserOrderArg!\", found null.","locations":[{"line":1,"column":60}]},{"message":"Expected type \"UserGroupByArg!\", found null.","locations":[{"line":1,"column":94}]}]}`, false},
		{"null for __type's name", `{ __type(name: null) { name } }`,
			nil, `{"errors":[{"message":"Expected type \"String!\", found null.","locations":[{"line":1,"column":16}]}]}`, false},
		{"null where null fits", `{ User(limit: null, docID: null, order: {name: null}, filter: {age: {_eq: null}}) { name } }`,
			nil, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		// An inline fragment without a type condition is of the type it
		// stands in (graphql-go's validator took it to be of the field's
		// list type, and refused it).
		{"inline fragments without a type condition", `query($b: Boolean!) { ... { User(order: {name: ASC}, limit: 2) { ... { name } ... @include(if: $b) { age } } } }`,
			map[string]any{"b": true}, `{"data":{"User":[{"name":"Ada","age":36},{"name":"Bob","age":20}]}}`, true},
		{"an inline fragment left out", `query($b: Boolean!) { User(order: {name: ASC}, limit: 1) { name ... @include(if: $b) { age } } }`,
			map[string]any{"b": false}, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"an inline fragment in a mutation's answer", `mutation { ... { update_User(docID: "$dan", input: {points: 4}) { ... { name points } } } }`,
			nil, `{"data":{"update_User":[{"name":"Dan","points":4}]}}`, true},
		{"an inline fragment of another type", `{ User { ... on Post { title } } }`,
			nil, `{"errors":[{"message":"Fragment cannot be spread here as objects of type \"User\" can never be of type \"Post\".","locations":[{"line":1,"column":10}]}]}`, false},
		// Two anonymous operations are one error each, and no more (graphql-go
		// added that there can only be one operation named "").
		{"two anonymous operations", `{ User { name } } { Post { title } } query Q { User { age } } query Q { User { age } }`,
			nil, `{"errors":[{"message":"This anonymous operation must be the only defined operation.","locations":[{"line":1,"column":1}]},{"message":"This anonymous operation must be the only defined operation.","locations":[{"line":1,"column":19}]},{"message":"There can only be one operation named \"Q\".","locations":[{"line":1,"column":44},{"line":1,"column":69}]}]}`, false},
		// A request holds operations and fragments only; any other definition
		// is named, where it stands (graphql-go said neither).
		{"definitions that are not executable", "{ User { name } }\ntype Foo { a: Int } schema { query: Query }\n  extend type User { x: Int } directive @d on FIELD scalar S",
			nil, `{"errors":[{"message":"The \"Foo\" definition is not executable: a request holds operations and fragments only.","locations":[{"line":2,"column":1}]},{"message":"The schema definition is not executable: a request holds operations and fragments only.","locations":[{"line":2,"column":21}]},{"message":"The \"User\" definition is not executable: a request holds operations and fragments only.","locations":[{"line":3,"column":3}]},{"message":"The \"@d\" definition is not executable: a request holds operations and fragments only.","locations":[{"line":3,"column":31}]},{"message":"The \"S\" definition is not executable: a request holds operations and fragments only.","locations":[{"line":3,"column":53}]}]}`, false},
		// A directive stands at most once where it is used (the
		// specification's validation; graphql-go's lacks the rule, and the
		// second @skip was not seen).
		{"a directive twice", `{ User @skip(if: true) @skip(if: false) { name } }`,
			nil, `{"errors":[{"message":"The directive \"@skip\" can only be used once at this location.","locations":[{"line":1,"column":8},{"line":1,"column":24}]}]}`, false},
		{"a directive twice on a field, a spread, an inline fragment", `{ User(order: {name: ASC}) { name @include(if: true) @include(if: false) ...F @skip(if: false) @skip(if: true) ... on User @include(if: true) @include(if: true) { age } } } fragment F on User { points }`,
			nil, `{"errors":[{"message":"The directive \"@include\" can only be used once at this location.","locations":[{"line":1,"column":35},{"line":1,"column":54}]},{"message":"The directive \"@skip\" can only be used once at this location.","locations":[{"line":1,"column":79},{"line":1,"column":96}]},{"message":"The directive \"@include\" can only be used once at this location.","locations":[{"line":1,"column":124},{"line":1,"column":143}]}]}`, false},
		{"two directives, each once", `{ User(order: {name: ASC}, limit: 1) { name @include(if: true) @skip(if: false) } }`,
			nil, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"a field called null is no value", `{ x: null }`,
			nil, `{"errors":[{"message":"Cannot query field \"null\" on type \"Query\".","locations":[{"line":1,"column":3}]}]}`, false},
		{"null as a variable's default", `query($n: Int = null) { User(filter: {age: {_eq: $n}}) { name } }`,
			nil, `{"errors":[{"message":"syntax error: Unexpected Name \"null\"","locations":[{"line":1,"column":17}]}]}`, false},
		{"unknown collection", `{ Usr { name } }`,
			nil, `{"errors":[{"message":"Cannot query field \"Usr\" on type \"Query\". Did you mean \"User\"?","locations":[{"line":1,"column":3}]}]}`, false},
		{"unknown field", `{ User { name nme } }`,
			nil, `{"errors":[{"message":"Cannot query field \"nme\" on type \"User\". Did you mean \"name\"?","locations":[{"line":1,"column":15}]}]}`, false},
		{"misspelt field, close to an aggregate too", `{ User { name nmae } }`,
			nil, `{"errors":[{"message":"Cannot query field \"nmae\" on type \"User\". Did you mean \"name\"?","locations":[{"line":1,"column":15}]}]}`, false},
		{"misspelt aggregate", `{ User { name _mx } }`,
			nil, `{"errors":[{"message":"Cannot query field \"_mx\" on type \"User\". Did you mean \"_max\" or \"_min\"?","locations":[{"line":1,"column":15}]}]}`, false},
		{"unknown field in a filter", `{ User(filter: {nme: {_eq: "x"}}) { name } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {nme: {_eq: \"x\"}}.\nIn field \"nme\": Unknown field.","locations":[{"line":1,"column":16}]}]}`, false},
		{"unknown operator", `{ User(filter: {age: {_gtt: 3}}) { name } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gtt: 3}}.\nIn field \"age\": In field \"_gtt\": Unknown field.","locations":[{"line":1,"column":16}]}]}`, false},
		{"pattern on a number", `{ User(filter: {age: {_like: "3%"}}) { name } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_like: \"3%\"}}.\nIn field \"age\": In field \"_like\": Unknown field.","locations":[{"line":1,"column":16}]}]}`, false},
		{"wrong type", `{ User(filter: {age: {_gt: "thirty"}}) { name } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gt: \"thirty\"}}.\nIn field \"age\": In field \"_gt\": Expected type \"Int\", found \"thirty\".","locations":[{"line":1,"column":16}]}]}`, false},
		{"Int beyond 64 bits", `{ User(filter: {age: {_gt: 9223372036854775808}}) { name } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gt: 9223372036854775808}}.\nIn field \"age\": In field \"_gt\": Expected type \"Int\", found 9223372036854775808.","locations":[{"line":1,"column":16}]}]}`, false},
		{"bad DateTime", `{ Post(filter: {at: {_gt: "yesterday"}}) { title } }`,
			nil, `{"errors":[{"message":"Argument \"filter\" has invalid value {at: {_gt: \"yesterday\"}}.\nIn field \"at\": In field \"_gt\": Expected type \"DateTime\", found \"yesterday\".","locations":[{"line":1,"column":16}]}]}`, false},
		{"variable of the wrong type", `query($n: Int) { User(filter: {age: {_eq: $n}}) { name } }`,
			map[string]any{"n": "x"}, `{"errors":[{"message":"Variable \"$n\" got invalid value \"x\".\nExpected type \"Int\", found \"x\".","locations":[{"line":1,"column":7}]}]}`, false},
		{"no selection", `{ User }`,
			nil, `{"errors":[{"message":"Field \"User\" of type \"[User!]!\" must have a sub selection.","locations":[{"line":1,"column":3}]}]}`, false},
		{"empty request", `  `,
			nil, `{"errors":[{"message":"no query: want {\"query\": \"{ … }\"}"}]}`, false},
		{"two operations, none named", `query A { User { name } } query B { Post { title } }`,
			nil, `{"errors":[{"message":"Must provide operation name if query contains multiple operations."}]}`, false},

		// Errors while running: the field is null, the error has its path.

		{"order sent as one object with two keys", `query($o: [UserOrderArg!]) { User(order: $o) { name } }`,
			map[string]any{"o": map[string]any{"verified": "DESC", "age": "DESC"}},
			`{"data":null,"errors":[{"message":"order: a sort key sent as a variable names one field; send a list, such as [{\"name\": \"ASC\"}, {\"age\": \"DESC\"}]","locations":[{"line":1,"column":30}],"path":["User"]}]}`, true},
		{"negative limit", `{ User(limit: -1) { name } }`,
			nil, `{"data":null,"errors":[{"message":"gossipdb: invalid input: negative limit -1","locations":[{"line":1,"column":3}],"path":["User"]}]}`, true},
		{"negative offset, as sent", `query($o: Int) { User(offset: $o) { name } }`, map[string]any{"o": json.Number("-5")},
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: negative offset -5","locations":[{"line":1,"column":18}],"path":["User"]}]}`, true},
	})
}

func TestOperationName(t *testing.T) {
	f := newFixture(t, nil)
	resp, ran, err := f.e.Do(context.Background(), client.GraphQLRequest{
		Query:         `query A { User(filter: {age: {_eq: 20}}) { name } } query B { Post { title } }`,
		OperationName: "B",
	})
	if err != nil || !ran {
		t.Fatal(ran, err)
	}
	b, _ := json.Marshal(resp)
	if want := `{"data":{"Post":[{"title":"Hello"}]}}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	// The variables are those of the operation that runs: without a name to
	// choose one of several, none runs, whatever the variables.
	runCases(t, f, []requestCase{
		{"the operation chosen, its variables", `query A($x: Int) { User(limit: $x) { name } } query B($y: Int) { Post(limit: $y) { title } }`,
			map[string]any{"x": "s", "y": json.Number("1")}, `{"errors":[{"message":"Must provide operation name if query contains multiple operations."}]}`, false},
	})
	for _, c := range []struct{ name, want string }{
		{"A", `{"errors":[{"message":"Variable \"$x\" got invalid value \"s\".\nExpected type \"Int\", found \"s\".","locations":[{"line":1,"column":9}]}]}`},
		{"B", `{"data":{"Post":[{"title":"Hello"}]}}`},
	} {
		resp, _, err := f.e.Do(context.Background(), client.GraphQLRequest{OperationName: c.name, Variables: map[string]any{"x": "s", "y": json.Number("1")},
			Query: `query A($x: Int) { User(limit: $x) { name } } query B($y: Int) { Post(limit: $y) { title } }`})
		if b, _ := json.Marshal(resp); err != nil || string(b) != c.want {
			t.Errorf("operation %s: got %s, %v; want %s", c.name, b, err, c.want)
		}
	}
}

// TestNullVariableIsItsValue: a null sent for a variable with a default value
// is the variable's value, as the GraphQL specification's CoerceVariableValues
// has it; the default is for a variable not sent. Where a non-null value is
// wanted, which the validator lets such a variable stand only for its default,
// the null is refused before running. (graphql-go gave it the default: @include
// included, limit: $l limited, create_User(input: $i) created what the default
// named.)
func TestNullVariableIsItsValue(t *testing.T) {
	f := newFixture(t, nil)
	slow := &fixture{n: f.n, e: graphql.WithoutFastPath(f.e), ids: f.ids}
	null := map[string]any{"v": nil}
	cases := []requestCase{
		{"limit: null is no limit", `query($v: Int = 1) { User(limit: $v, order: {name: ASC}) { name } }`,
			null, `{"data":{"User":[{"name":"Ada"},{"name":"Bob"},{"name":"Dan"},{"name":"carol"}]}}`, true},
		{"limit not sent is the default", `query($v: Int = 1) { User(limit: $v, order: {name: ASC}) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"offset: null is none", `query($v: Int = 3) { User(offset: $v, order: {name: ASC}) { name } }`,
			null, `{"data":{"User":[{"name":"Ada"},{"name":"Bob"},{"name":"Dan"},{"name":"carol"}]}}`, true},
		{"filter: null is none", `query($v: UserFilterArg = {name: {_eq: "Ada"}}) { User(filter: $v, order: {name: ASC}) { name } }`,
			null, `{"data":{"User":[{"name":"Ada"},{"name":"Bob"},{"name":"Dan"},{"name":"carol"}]}}`, true},
		{"@include(if: null)", `query($v: Boolean = true) { User(limit: 1) { name @include(if: $v) } }`,
			null, `{"errors":[{"message":"Variable \"$v\" of type \"Boolean\" is null where type \"Boolean!\" is expected: a null sent is the variable's value, not its default; send a value, or leave the variable out.","locations":[{"line":1,"column":7},{"line":1,"column":64}]}]}`, false},
		{"@include, the default", `query($v: Boolean = false) { User(limit: 1) { name @include(if: $v) } }`,
			nil, `{"data":{"User":[{}]}}`, true},
		{"in a fragment", `query($v: Boolean = true) { User(limit: 1) { ...F } } fragment F on User { name @skip(if: $v) }`,
			null, `{"errors":[{"message":"Variable \"$v\" of type \"Boolean\" is null where type \"Boolean!\" is expected: a null sent is the variable's value, not its default; send a value, or leave the variable out.","locations":[{"line":1,"column":7},{"line":1,"column":91}]}]}`, false},
		{"create_User(input: null)", `mutation($v: [UserMutationInputArg!] = [{name: "Zed"}]) { create_User(input: $v) { name } }`,
			null, `{"errors":[{"message":"Variable \"$v\" of type \"[UserMutationInputArg!]\" is null where type \"[UserMutationInputArg!]!\" is expected: a null sent is the variable's value, not its default; send a value, or leave the variable out.","locations":[{"line":1,"column":10},{"line":1,"column":78}]}]}`, false},
		{"nothing was created", `{ _count(User: {filter: {name: {_eq: "Zed"}}}) }`, nil, `{"data":{"_count":0}}`, true},
	}
	runCases(t, f, cases)
	runCases(t, slow, cases)
}

// TestNullOperands: an operator whose operand is a list or a filter (_and,
// _or, _not, _in, _nin) given null is no condition, as a null filter is none
// and an operator whose variable is not sent is left out; DefraDB takes _or:
// null and _not: null so too. (The field failed: "_or: want a list of
// filters, got null".) A null compared with stays a value.
func TestNullOperands(t *testing.T) {
	f := newFixture(t, nil)
	all := `{"data":{"User":[{"name":"Ada"},{"name":"Bob"},{"name":"Dan"},{"name":"carol"}]}}`
	runCases(t, f, []requestCase{
		{"_or", `{ User(filter: {_or: null}, order: {name: ASC}) { name } }`, nil, all, true},
		{"_and", `{ User(filter: {_and: null}, order: {name: ASC}) { name } }`, nil, all, true},
		{"_not", `{ User(filter: {_not: null}, order: {name: ASC}) { name } }`, nil, all, true},
		{"_in", `{ User(filter: {name: {_in: null}}, order: {name: ASC}) { name } }`, nil, all, true},
		{"_nin", `{ User(filter: {name: {_nin: null}}, order: {name: ASC}) { name } }`, nil, all, true},
		{"beside other conditions, nested", `{ User(filter: {_and: null, age: {_gt: 30, _in: null}, _or: [{_not: null, name: {_nin: null}}]}, order: {name: ASC}) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"},{"name":"carol"}]}}`, true},
		{"in an aggregate", `{ _count(User: {filter: {_or: null, name: {_in: null}}}) }`, nil, `{"data":{"_count":4}}`, true},
		{"sent as variables", `query($l: [String], $o: [UserFilterArg!]) { User(filter: {_or: $o, name: {_in: $l}}, order: {name: ASC}) { name } }`,
			map[string]any{"l": nil, "o": nil}, all, true},
		{"_eq: null is still a value", `{ User(filter: {age: {_eq: null}, _or: null}) { name } }`, nil, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		{"null for _ne, _in, _nin sent as variables", `query($n: Int, $s: String, $l: [Int]) { User(filter: {age: {_ne: $n, _nin: $l}, _or: [{name: {_in: [$s, "Ada", "carol", "Dan"]}}]}, order: {name: ASC}) { name } }`,
			map[string]any{"n": nil, "s": nil, "l": []any{nil, json.Number("20")}}, `{"data":{"User":[{"name":"Ada"},{"name":"carol"}]}}`, true},
		{"a range or a pattern's variable not sent is no condition", `query($n: Int, $p: String) { User(filter: {age: {_gt: $n}, name: {_like: $p}}, order: {name: ASC}) { name } }`, nil, all, true},
	})
}

// TestNullOperandsRefused: a range (_gt, _ge, _lt, _le, and DefraDB's
// spellings) or a pattern (_like and the others) given null is refused
// before the request runs, as a value of the wrong type is, wherever the
// filter stands and whether the null is written in the request or sent as a
// variable: the error names the field and the operator, at its line and
// column. (The request ran, and its field failed: "field \"age\": _gt needs
// a value, not null".)
func TestNullOperandsRefused(t *testing.T) {
	f := newFixture(t, nil)
	const why = `Expected a value, found null (%s %s; _eq: null matches null).`
	cmp := func(op string) string { return fmt.Sprintf(why, op, "compares with a value") }
	pat := func(op string) string { return fmt.Sprintf(why, op, "matches a pattern") }
	runCases(t, f, []requestCase{
		{"_gt", `{ User(filter: {age: {_gt: null}}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gt: null}}.\nIn field \"age\": In field \"_gt\": ` + cmp("_gt") + `","locations":[{"line":1,"column":28}]}]}`, false},
		{"_like", `{ User(filter: {name: {_like: null}}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {name: {_like: null}}.\nIn field \"name\": In field \"_like\": ` + pat("_like") + `","locations":[{"line":1,"column":31}]}]}`, false},
		{"beside operators that take null, in _and, _or and _not", "{ User(filter: {age: {_eq: null, _leq: null},\n  _and: [{name: {_in: null}}, {name: {_nilike: null}}],\n  _or: {points: {_geq: null}}, _not: {_not: {name: {_nlike: null}}}}) { name } }", nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_eq: null, _leq: null}, _and: [{name: {_in: null}}, {name: {_nilike: null}}], _or: {points: {_geq: null}}, _not: {_not: {name: {_nlike: null}}}}.\nIn field \"age\": In field \"_leq\": ` + cmp("_leq") +
				`\nIn field \"_and\": In element #2: In field \"name\": In field \"_nilike\": ` + pat("_nilike") +
				`\nIn field \"_or\": In field \"points\": In field \"_geq\": ` + cmp("_geq") +
				`\nIn field \"_not\": In field \"_not\": In field \"name\": In field \"_nlike\": ` + pat("_nlike") +
				`","locations":[{"line":1,"column":40},{"line":2,"column":48},{"line":3,"column":24},{"line":3,"column":61}]}]}`, false},
		{"in _count and the other aggregates", `{ _count(User: {filter: {age: {_lt: null}}}) _sum(User: {field: age, filter: {points: {_ge: null}}}) }`, nil,
			`{"errors":[{"message":"Argument \"User\" has invalid value {filter: {age: {_lt: null}}}.\nIn field \"filter\": In field \"age\": In field \"_lt\": ` + cmp("_lt") + `","locations":[{"line":1,"column":37}]},` +
				`{"message":"Argument \"User\" has invalid value {field: age, filter: {points: {_ge: null}}}.\nIn field \"filter\": In field \"points\": In field \"_ge\": ` + cmp("_ge") + `","locations":[{"line":1,"column":93}]}]}`, false},
		{"in a mutation's filter: nothing changes", `mutation { update_User(filter: {age: {_le: null}}, input: {age: 1}) { name } delete_User(filter: {name: {_ilike: null}}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_le: null}}.\nIn field \"age\": In field \"_le\": ` + cmp("_le") + `","locations":[{"line":1,"column":44}]},` +
				`{"message":"Argument \"filter\" has invalid value {name: {_ilike: null}}.\nIn field \"name\": In field \"_ilike\": ` + pat("_ilike") + `","locations":[{"line":1,"column":114}]}]}`, false},
		{"sent as a variable", "query(\n  $n: Int, $p: String = \"A%\") { User(filter: {_or: [{age: {_gt: $n}}, {name: {_like: $p}}]}) { name } }",
			map[string]any{"n": nil, "p": nil},
			`{"errors":[{"message":"Variable \"$n\" got invalid value null.\nIn argument \"filter\": In field \"_or\": In element #1: In field \"age\": In field \"_gt\": ` + cmp("_gt") + `","locations":[{"line":2,"column":3},{"line":2,"column":65}]},` +
				`{"message":"Variable \"$p\" got invalid value null.\nIn argument \"filter\": In field \"_or\": In element #2: In field \"name\": In field \"_like\": ` + pat("_like") + `","locations":[{"line":2,"column":12},{"line":2,"column":86}]}]}`, false},
		{"sent as a variable to a mutation: nothing changes", `mutation($n: Int) { delete_User(filter: {age: {_lt: $n}}) { name } }`, map[string]any{"n": nil},
			`{"errors":[{"message":"Variable \"$n\" got invalid value null.\nIn argument \"filter\": In field \"age\": In field \"_lt\": ` + cmp("_lt") + `","locations":[{"line":1,"column":10},{"line":1,"column":53}]}]}`, false},
		{"inside a variable's filter", `query($f: UserFilterArg, $c: UserCountArg) { User(filter: $f) { name } _count(User: $c) }`,
			map[string]any{"f": map[string]any{"_or": []any{map[string]any{"age": map[string]any{"_eq": nil}}, map[string]any{"age": map[string]any{"_gt": nil}}}}, "c": map[string]any{"filter": map[string]any{"name": map[string]any{"_like": nil}}}},
			`{"errors":[{"message":"Variable \"$f\" got invalid value {\"_or\":[{\"age\":{\"_eq\":null}},{\"age\":{\"_gt\":null}}]}.\nIn field \"_or\": In element #2: In field \"age\": In field \"_gt\": ` + cmp("_gt") + `","locations":[{"line":1,"column":7}]},` +
				`{"message":"Variable \"$c\" got invalid value {\"filter\":{\"name\":{\"_like\":null}}}.\nIn field \"filter\": In field \"name\": In field \"_like\": ` + pat("_like") + `","locations":[{"line":1,"column":26}]}]}`, false},
		{"nothing was changed", `{ User(order: {name: ASC}) { name age } }`, nil,
			`{"data":{"User":[{"name":"Ada","age":36},{"name":"Bob","age":20},{"name":"Dan","age":null},{"name":"carol","age":52}]}}`, true},
	})
	// A variable counts where the operation that runs uses it, in a
	// fragment too: another operation's use of one of its name does not.
	const query = `query A($n: Int) { ...F } query B($n: Int) { User(filter: {age: {_eq: $n}}) { name } } fragment F on Query { User(filter: {age: {_gt: $n}}) { name } }`
	for _, c := range []struct{ name, want string }{
		{"A", `{"errors":[{"message":"Variable \"$n\" got invalid value null.\nIn argument \"filter\": In field \"age\": In field \"_gt\": ` + cmp("_gt") + `","locations":[{"line":1,"column":9},{"line":1,"column":135}]}]}`},
		{"B", `{"data":{"User":[{"name":"Dan"}]}}`},
	} {
		resp, _, err := f.e.Do(context.Background(), client.GraphQLRequest{OperationName: c.name, Variables: map[string]any{"n": nil}, Query: query})
		if b, _ := json.Marshal(resp); err != nil || string(b) != c.want {
			t.Errorf("operation %s: got %s, %v; want %s", c.name, b, err, c.want)
		}
	}
}

// TestNullItemOperands: a list's _any, _all or _none given null is no
// condition either. (It was read as the Go API reads _any: nil, an item equal
// to null: _any: null matched nothing, _none: null every list.)
func TestNullItemOperands(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	cols, err := n.AddCollection(context.Background(), `type T { name: String tags: [String] }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cols[0].CreateMany(context.Background(), []map[string]any{
		{"name": "a", "tags": []any{"x", "y"}}, {"name": "b"}, {"name": "c", "tags": []any{}},
	}); err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := `{"data":{"T":[{"name":"a"},{"name":"b"},{"name":"c"}]}}`
	runCases(t, &fixture{n: n, e: e}, []requestCase{
		{"_any", `{ T(filter: {tags: {_any: null}}, order: {name: ASC}) { name } }`, nil, all, true},
		{"_all", `{ T(filter: {tags: {_all: null}}, order: {name: ASC}) { name } }`, nil, all, true},
		{"_none", `{ T(filter: {tags: {_none: null}}, order: {name: ASC}) { name } }`, nil, all, true},
		{"beside another", `{ T(filter: {tags: {_any: null, _none: {_eq: "x"}}}, order: {name: ASC}) { name } }`,
			nil, `{"data":{"T":[{"name":"c"}]}}`, true},
		{"sent as a variable", `query($f: StringOperatorBlock) { T(filter: {tags: {_any: $f}}, order: {name: ASC}) { name } }`,
			map[string]any{"f": nil}, all, true},
		{"an item equal to null is still a value", `{ T(filter: {tags: {_any: {_eq: null}}}) { name } }`, nil, `{"data":{"T":[]}}`, true},
		// A range or a pattern given null is refused before running, as
		// on a field (see TestNullOperandsRefused).
		{"a range or a pattern of an item given null", `{ T(filter: {tags: {_all: {_gt: null}, _none: {_like: null}}}) { name _count(tags: {filter: {_or: [{_lt: null}]}}) } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {tags: {_all: {_gt: null}, _none: {_like: null}}}.\nIn field \"tags\": In field \"_all\": In field \"_gt\": Expected a value, found null (_gt compares with a value; _eq: null matches null).\nIn field \"tags\": In field \"_none\": In field \"_like\": Expected a value, found null (_like matches a pattern; _eq: null matches null).","locations":[{"line":1,"column":33},{"line":1,"column":55}]},` +
				`{"message":"Argument \"tags\" has invalid value {filter: {_or: [{_lt: null}]}}.\nIn field \"filter\": In field \"_or\": In element #1: In field \"_lt\": Expected a value, found null (_lt compares with a value; _eq: null matches null).","locations":[{"line":1,"column":106}]}]}`, false},
		{"a variable's operators", `query($f: StringOperatorBlock, $p: String) { T(filter: {tags: {_any: $f, _all: {_like: $p}}}) { name } }`,
			map[string]any{"f": map[string]any{"_ilike": nil}, "p": nil},
			`{"errors":[{"message":"Variable \"$f\" got invalid value {\"_ilike\":null}.\nIn field \"_ilike\": Expected a value, found null (_ilike matches a pattern; _eq: null matches null).","locations":[{"line":1,"column":7}]}]}`, false},
		{"sent as a variable by itself", `query($p: String) { T(filter: {tags: {_all: {_like: $p}}}) { name } }`, map[string]any{"p": nil},
			`{"errors":[{"message":"Variable \"$p\" got invalid value null.\nIn argument \"filter\": In field \"tags\": In field \"_all\": In field \"_like\": Expected a value, found null (_like matches a pattern; _eq: null matches null).","locations":[{"line":1,"column":7},{"line":1,"column":53}]}]}`, false},
	})
}

// TestEscapedSurrogates: a character beyond U+FFFF escaped as a UTF-16
// surrogate pair, as JSON writes it, is that character; a surrogate without
// its other half is a syntax error, as the GraphQL specification has it. (Each
// half was stored as U+FFFD.)
func TestEscapedSurrogates(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"a pair", `mutation { create_User(input: {name: "\u00e9\uD83D\uDE00\n\"\/\\\t"}) { name } }`,
			nil, `{"data":{"create_User":[{"name":"é😀\n\"/\\\t"}]}}`, true},
		{"in a variable's default and a list", `query($n: String = "\u00e9\ud83d\ude00\n\"/\\\t") { User(filter: {name: {_in: ["\u00e9\ud83d\ude00\n\"/\\\t"], _eq: $n}}) { name } }`,
			nil, `{"data":{"User":[{"name":"é😀\n\"/\\\t"}]}}`, true},
		{"found by the escapes", `{ User(filter: {name: {_eq: "\u00e9\uD83D\uDE00\n\"\/\\\t"}}) { name } }`,
			nil, `{"data":{"User":[{"name":"é😀\n\"/\\\t"}]}}`, true},
		{"a high surrogate alone", "mutation {\n  create_User(input: {name: \"ab\\uD83D\"}) { name } }",
			nil, `{"errors":[{"message":"syntax error: Invalid Unicode escape sequence: \\uD83D is half of a UTF-16 surrogate pair, without its other half.","locations":[{"line":2,"column":32}]}]}`, false},
		{"a low surrogate first", `{ User(filter: {name: {_eq: "\uDE00\uD83D"}}) { name } }`,
			nil, `{"errors":[{"message":"syntax error: Invalid Unicode escape sequence: \\uDE00 is half of a UTF-16 surrogate pair, without its other half.","locations":[{"line":1,"column":30}]}]}`, false},
		{"a high surrogate, then no low one", `{ User(filter: {name: {_eq: "\uD83D\u0041"}}) { name } }`,
			nil, `{"errors":[{"message":"syntax error: Invalid Unicode escape sequence: \\uD83D is half of a UTF-16 surrogate pair, without its other half.","locations":[{"line":1,"column":30}]}]}`, false},
		{"a block string has no escapes", `{ User(filter: {name: {_eq: """\uD83D"""}}) { name } }`,
			nil, `{"data":{"User":[]}}`, true},
		{"nothing was created", `{ _count(User: {}) }`, nil, `{"data":{"_count":5}}`, true},
	})
}

// TestCommentsBeyondASCII: a comment may hold any character, and a byte
// order mark stand wherever a space may, without changing what the request
// says; within a string they are the string's. (graphql-go's lexer read a
// name after such a comment from the wrong place: { User { # é
// name } } asked for a field "ame".)
func TestCommentsBeyondASCII(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"before a field", "{ User(order: {name: ASC}, limit: 1) { # ééé\n name } }",
			nil, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"before an operation's name, a null, an argument", "# café\nquery Q { User(filter: {age: # ü\n {_eq: # ü\n null}}, # 日本語のコメント\n limit: 1) { # ✓\n name } }",
			nil, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		{"no other field read", "{ User(filter: {name: {_eq: \"Bob\"}}) { # é\n xname } }",
			nil, `{"errors":[{"message":"Cannot query field \"xname\" on type \"User\". Did you mean \"name\"?","locations":[{"line":2,"column":2}]}]}`, false},
		{"byte order marks", "\uFEFFquery\uFEFF{ User(order: {name: ASC}, limit: 1) {\uFEFFname } }",
			nil, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"within strings", "mutation { create_User(input: {name: \"# é \\\" \uFEFF\", verified: true}) { name } } # é\n",
			nil, `{"data":{"create_User":[{"name":"# é \" \uFEFF"}]}}`, true},
		{"within a block string", "{ User(filter: {name: {_in: [\"\"\"# é \\\"\"\" ü\"\"\", \"# é \\\" \uFEFF\"]}}) { # é\n name } }",
			nil, `{"data":{"User":[{"name":"# é \" \uFEFF"}]}}`, true},
	})
}

// TestColumnsInCharacters: an error's column counts the characters of its
// line before it, as an editor does, whatever their bytes in UTF-8. (They
// were counted in bytes, or, within a string, partly in bytes.)
func TestColumnsInCharacters(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"an unknown field", `{ User(filter: {name: {_eq: "ééé"}}) { nam } }`,
			nil, `{"errors":[{"message":"Cannot query field \"nam\" on type \"User\". Did you mean \"name\"?","locations":[{"line":1,"column":40}]}]}`, false},
		{"on a later line, after a block string", "# ü\n{ User(filter: {name: {_in: [\"é\", \"\"\"ü\n ö\"\"\"]}}) { nme } }",
			nil, `{"errors":[{"message":"Cannot query field \"nme\" on type \"User\". Did you mean \"name\"?","locations":[{"line":3,"column":13}]}]}`, false},
		{"a syntax error", `{ User(filter: {name: {_eq: "日本"}}) { name } } }`,
			nil, `{"errors":[{"message":"syntax error: Unexpected }","locations":[{"line":1,"column":48}]}]}`, false},
		{"within a string", `{ User(filter: {name: {_in: ["é", "ü\q"]}}) { name } }`,
			nil, `{"errors":[{"message":"syntax error: Invalid character escape sequence: \\\\q.","locations":[{"line":1,"column":38}]}]}`, false},
		{"a string's end", "{ User(filter: {name: {_in: [\"é\", \"ü\n\"]}}) { name } }",
			nil, `{"errors":[{"message":"syntax error: Unterminated string.","locations":[{"line":1,"column":37}]}]}`, false},
		{"a surrogate alone", `{ User(filter: {name: {_in: ["é", "ü\uD800"]}}) { name } }`,
			nil, `{"errors":[{"message":"syntax error: Invalid Unicode escape sequence: \\uD800 is half of a UTF-16 surrogate pair, without its other half.","locations":[{"line":1,"column":37}]}]}`, false},
		{"a limit", "{ User(filter: {name: {_eq: \"é\"}}) " + strings.Repeat("{", 130) + strings.Repeat("}", 131),
			nil, `{"errors":[{"message":"brackets nest deeper than the limit of 128","locations":[{"line":1,"column":163}]}]}`, false},
		{"a field that failed", `{ a: User(filter: {name: {_eq: "é"}}) { name } b: User(limit: -1) { name } }`,
			nil, `{"data":null,"errors":[{"message":"gossipdb: invalid input: negative limit -1","locations":[{"line":1,"column":48}],"path":["b"]}]}`, true},
	})
}

// TestMutations creates, updates and deletes documents, and checks what is
// atomic: a list of creates, all or none.
func TestMutations(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"create one", `mutation { create_User(input: {name: "Eve", age: 41}) { name age verified } }`,
			nil, `{"data":{"create_User":[{"name":"Eve","age":41,"verified":null}]}}`, true},
		{"create a list, from a variable", `mutation($docs: [UserMutationInputArg!]!) { create_User(input: $docs) { name } }`,
			map[string]any{"docs": []any{map[string]any{"name": "Fay"}, map[string]any{"name": "Gus", "age": json.Number("7")}}},
			`{"data":{"create_User":[{"name":"Fay"},{"name":"Gus"}]}}`, true},
		{"a bad document creates none", `mutation { create_Post(input: [{title: "ok"}, {likes: 1}]) { title } }`,
			nil, `{"data":null,"errors":[{"message":"document 1: gossipdb: invalid input: field \"title\": required","locations":[{"line":1,"column":12}],"path":["create_Post"]}]}`, true},
		{"nothing was created", `{ _count(Post: {}) }`, nil, `{"data":{"_count":1}}`, true},
		{"update by docID", `mutation { update_User(docID: "$bob", input: {age: 21}) { name age } }`,
			nil, `{"data":{"update_User":[{"name":"Bob","age":21}]}}`, true},
		{"update by filter", `mutation { update_User(filter: {verified: {_eq: true}, age: {_gt: 40}}, input: {points: 0}) { name points } }`,
			nil, `{"data":{"update_User":[{"name":"carol","points":0}]}}`, true},
		{"clear a field through a variable", `mutation($none: Int) { update_User(docID: "$ada", input: {age: $none}) { name age } }`,
			map[string]any{"none": nil}, `{"data":{"update_User":[{"name":"Ada","age":null}]}}`, true},
		{"a variable not sent leaves its field as it is", `mutation($a: Int) { update_User(docID: "$bob", input: {age: $a, points: 3}) { name age points } }`,
			nil, `{"data":{"update_User":[{"name":"Bob","age":21,"points":3}]}}`, true},
		{"update adds to a counter", `mutation { update_Post(docID: "$post", input: {likes: 2}) { likes } }`,
			nil, `{"data":{"update_Post":[{"likes":5}]}}`, true},
		{"delete by a malformed docID", `mutation { delete_User(docID: "zzz") { name } }`,
			nil, `{"data":null,"errors":[{"message":"docID: gossipdb: invalid input: document ID \"zzz\" is not a gossipdb document ID","locations":[{"line":1,"column":12}],"path":["delete_User"]}]}`, true},
		{"update needs docID or filter", `mutation { update_User(input: {age: 1}) { name } }`,
			nil, `{"data":null,"errors":[{"message":"update_User: give docID or filter (filter: {} selects every document)","locations":[{"line":1,"column":12}],"path":["update_User"]}]}`, true},
		{"clear a field with null", `mutation { update_User(filter: {name: {_eq: "Eve"}}, input: {points: 1.5}) { points } }`,
			nil, `{"data":{"update_User":[{"points":1.5}]}}`, true},
		{"clear a field with null", `mutation { update_User(filter: {name: {_eq: "Eve"}}, input: {points: null}) { name points } }`,
			nil, `{"data":{"update_User":[{"name":"Eve","points":null}]}}`, true},
		{"null for a required field", `mutation { create_Post(input: {title: null}) { title } }`,
			nil, `{"data":null,"errors":[{"message":"gossipdb: invalid input: field \"title\": required","locations":[{"line":1,"column":12}],"path":["create_Post"]}]}`, true},
		{"update clearing a required field", `mutation($t: String) { update_Post(docID: "$post", input: {title: $t}) { title } }`,
			map[string]any{"t": nil}, `{"data":null,"errors":[{"message":"document $post: gossipdb: invalid input: field \"title\": required","locations":[{"line":1,"column":24}],"path":["update_Post"]}]}`, true},
		{"delete by docID", `mutation { delete_User(docID: "$dan") { _docID name } }`,
			nil, `{"data":{"delete_User":[{"_docID":"$dan","name":"Dan"}]}}`, true},
		{"delete by filter", `mutation { delete_User(filter: {name: {_in: ["Gus", "Zed"]}}) { name } }`,
			nil, `{"data":{"delete_User":[{"name":"Gus"}]}}`, true},
		{"delete of a deleted document", `mutation { delete_User(docID: "$dan") { name } }`,
			nil, `{"data":{"delete_User":[]}}`, true},
		{"two mutations run in order", `mutation { a: create_User(input: {name: "Hal"}) { name } b: delete_User(filter: {name: {_eq: "Hal"}}) { name } }`,
			nil, `{"data":{"a":[{"name":"Hal"}],"b":[{"name":"Hal"}]}}`, true},
		// add_C is DefraDB's newer name of create_C.
		{"DefraDB's add_, one document", `mutation { add_User(input: {name: "Ivy"}) { name _version { height } } }`,
			nil, `{"data":{"add_User":[{"name":"Ivy","_version":[{"height":1}]}]}}`, true},
		{"DefraDB's add_, a list, with create_ and delete_", `mutation { a: add_User(input: [{name: "Jo"}, {name: "Kim"}]) { name } b: create_User(input: {name: "Lu"}) { name } c: delete_User(filter: {name: {_in: ["Ivy", "Jo", "Kim", "Lu"]}}) { _deleted } }`,
			nil, `{"data":{"a":[{"name":"Jo"},{"name":"Kim"}],"b":[{"name":"Lu"}],"c":[{"_deleted":false},{"_deleted":false},{"_deleted":false},{"_deleted":false}]}}`, true},
		{"what is left", `{ User(order: {name: ASC}) { name age } }`,
			nil, `{"data":{"User":[{"name":"Ada","age":null},{"name":"Bob","age":21},{"name":"Eve","age":41},{"name":"Fay","age":null},{"name":"carol","age":52}]}}`, true},
	})
}

// TestUpsert: upsert_ creates the document its filter matches when there is
// none, updates it when there is one, and fails, writing nothing, when there
// are more; it is part of the request's transaction.
func TestUpsert(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"none matches: created", `mutation { upsert_User(filter: {name: {_eq: "Ivy"}}, create: {name: "Ivy", age: 30}, update: {age: 31}) { name age } }`,
			nil, `{"data":{"upsert_User":[{"name":"Ivy","age":30}]}}`, true},
		{"one matches: updated", `mutation { upsert_User(filter: {name: {_eq: "Ivy"}}, create: {name: "Ivy", age: 30}, update: {age: 31}) { name age } }`,
			nil, `{"data":{"upsert_User":[{"name":"Ivy","age":31}]}}`, true},
		{"a counter is added to", `mutation($by: Int) { upsert_Post(filter: {title: {_eq: "Hello"}}, create: {title: "Hello"}, update: {likes: $by}) { likes } }`,
			map[string]any{"by": json.Number("2")}, `{"data":{"upsert_Post":[{"likes":5}]}}`, true},
		{"two match: refused", `mutation { upsert_User(filter: {name: {_in: ["Ada", "Bob"]}}, create: {name: "Ada"}, update: {age: 1}) { name } }`,
			nil, `{"data":null,"errors":[{"message":"upsert_User: the filter matches more than one document; an upsert changes one","locations":[{"line":1,"column":12}],"path":["upsert_User"]}]}`, true},
		{"a bad create", `mutation { upsert_Post(filter: {title: {_eq: "New"}}, create: {likes: 1}, update: {likes: 1}) { title } }`,
			nil, `{"data":null,"errors":[{"message":"gossipdb: invalid input: field \"title\": required","locations":[{"line":1,"column":12}],"path":["upsert_Post"]}]}`, true},
		{"undone with the request", `mutation { a: upsert_User(filter: {name: {_eq: "Jo"}}, create: {name: "Jo"}, update: {age: 1}) { name } b: upsert_User(filter: {}, create: {}, update: {}) { name } }`,
			nil, `{"data":null,"errors":[{"message":"upsert_User: the filter matches more than one document; an upsert changes one","locations":[{"line":1,"column":105}],"path":["b"]}]}`, true},
		{"nothing of it was written", `{ _count(User: {filter: {name: {_in: ["Jo"]}}}) User(filter: {age: {_eq: 1}}) { name } }`,
			nil, `{"data":{"_count":0,"User":[]}}`, true},
		{"filter null", `mutation { upsert_User(filter: null, create: {}, update: {age: 1}) { name } }`,
			nil, `{"errors":[{"message":"Expected type \"UserFilterArg!\", found null.","locations":[{"line":1,"column":32}]}]}`, false},
		{"update null", `mutation { upsert_User(filter: {name: {_eq: "Ivy"}}, create: {}, update: null) { name } }`,
			nil, `{"errors":[{"message":"Expected type \"UserMutationInputArg!\", found null.","locations":[{"line":1,"column":74}]}]}`, false},
		{"create is required", `mutation { upsert_User(filter: {}, update: {age: 1}) { name } }`,
			nil, `{"errors":[{"message":"Field \"upsert_User\" argument \"create\" of type \"UserMutationInputArg!\" is required but not provided.","locations":[{"line":1,"column":12}]}]}`, false},
	})
}

// TestShowDeleted: showDeleted answers deleted documents too, _deleted true
// and with the values they had, in order, paged and grouped; without it they
// are left out, and _deleted is false.
func TestShowDeleted(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"delete two", `mutation { a: delete_User(filter: {name: {_eq: "Bob"}}) { name } b: delete_User(filter: {name: {_eq: "Dan"}}) { name } }`,
			nil, `{"data":{"a":[{"name":"Bob"}],"b":[{"name":"Dan"}]}}`, true},
		{"without showDeleted", `{ User(order: {name: ASC}) { name _deleted } }`, nil,
			`{"data":{"User":[{"name":"Ada","_deleted":false},{"name":"carol","_deleted":false}]}}`, true},
		{"with it", `{ User(showDeleted: true, order: {name: ASC}) { name age _deleted } }`, nil,
			`{"data":{"User":[{"name":"Ada","age":36,"_deleted":false},{"name":"Bob","age":20,"_deleted":true},{"name":"Dan","age":null,"_deleted":true},{"name":"carol","age":52,"_deleted":false}]}}`, true},
		{"filtered and paged", `query($show: Boolean) { User(showDeleted: $show, filter: {age: {_lt: 40}}, limit: 1, offset: 1, order: {age: DESC}) { name _deleted } }`,
			map[string]any{"show": true}, `{"data":{"User":[{"name":"Bob","_deleted":true}]}}`, true},
		{"plain fields (the fast path)", `{ User(showDeleted: true, order: {name: DESC}) { name } }`, nil,
			`{"data":{"User":[{"name":"carol"},{"name":"Dan"},{"name":"Bob"},{"name":"Ada"}]}}`, true},
		{"false is without", `{ User(showDeleted: false, filter: {name: {_eq: "Bob"}}) { name } }`, nil,
			`{"data":{"User":[]}}`, true},
		{"grouped, and within groups", `{ User(showDeleted: true, groupBy: [verified], order: {verified: ASC}) { verified _count(_group: {}) _group(filter: {age: {_gt: 0}}, order: {name: ASC}) { name _deleted } } }`, nil,
			`{"data":{"User":[{"verified":false,"_count":2,"_group":[{"name":"Bob","_deleted":true}]},{"verified":true,"_count":2,"_group":[{"name":"Ada","_deleted":false},{"name":"carol","_deleted":false}]}]}}`, true},
		{"not with cid", `{ User(docID: "$ada", cid: "$ada", showDeleted: true) { name } }`, nil,
			`{"errors":[{"message":"gossipdb: invalid input: showDeleted cannot go with cid: cid reads the one document docID names, as it was at that block of its history","locations":[{"line":1,"column":146}]}]}`, false},
	})
}

// TestNullTargetsNothing: a null docID or filter of an update_ or delete_ is
// absent, as null is in every argument, so it selects no documents: the field
// fails as one without either would, and writes nothing. (Both once counted as
// given and selected every document.)
func TestNullTargetsNothing(t *testing.T) {
	f := newFixture(t, nil)
	const want = `{"data":null,"errors":[{"message":"%s: give docID or filter (filter: {} selects every document)","locations":[{"line":1,"column":%d}],"path":["%[1]s"]}]}`
	runCases(t, f, []requestCase{
		{"delete, docID null", `mutation { delete_User(docID: null) { name } }`,
			nil, fmt.Sprintf(want, "delete_User", 12), true},
		{"delete, filter null", `mutation { delete_User(filter: null) { name } }`,
			nil, fmt.Sprintf(want, "delete_User", 12), true},
		{"delete, docID a null variable", `mutation($id: [ID!]) { delete_User(docID: $id) { name } }`,
			map[string]any{"id": nil}, fmt.Sprintf(want, "delete_User", 24), true},
		{"update, both null", `mutation($f: UserFilterArg) { update_User(docID: null, filter: $f, input: {age: 1}) { name } }`,
			map[string]any{"f": nil}, fmt.Sprintf(want, "update_User", 31), true},
		{"an empty docID selects none", `mutation { delete_User(docID: []) { name } update_User(docID: [], input: {age: 1}) { name } }`,
			nil, `{"data":{"delete_User":[],"update_User":[]}}`, true},
		{"in a query too (DefraDB's ignores it)", `{ User(docID: []) { name } }`,
			nil, `{"data":{"User":[]}}`, true},
		{"nothing was written", `{ _count(User: {filter: {age: {_eq: 1}}}) all: _count(User: {}) }`,
			nil, `{"data":{"_count":0,"all":4}}`, true},
	})
}

func TestCreateTooMany(t *testing.T) {
	f := newFixture(t, nil)
	docs := make([]any, graphql.MaxMutationDocuments+1)
	for i := range docs {
		docs[i] = map[string]any{"name": "x"}
	}
	got, ran := f.do(t, `mutation($d: [UserMutationInputArg!]!) { create_User(input: $d) { name } }`, map[string]any{"d": docs})
	if !ran || !strings.Contains(got, "at most 10000 documents at once, got 10001") {
		t.Fatalf("ran %v, %s", ran, got)
	}
}

// TestIntrospection runs the introspection query GraphiQL sends
// (graphql-js's getIntrospectionQuery with its default options) and checks that
// it describes the collections.
func TestIntrospection(t *testing.T) {
	f := newFixture(t, nil)
	query, err := os.ReadFile("testdata/graphiql_introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	resp, ran, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: string(query), OperationName: "IntrospectionQuery"})
	if err != nil || !ran || len(resp.Errors) > 0 {
		t.Fatalf("ran %v, err %v, errors %v", ran, err, resp.Errors)
	}
	// It is 15 deep, within the default limit.
	shallow, err := graphql.New(f.n, &graphql.Limits{MaxDepth: 14})
	if err != nil {
		t.Fatal(err)
	}
	if _, ran, _ := shallow.Do(context.Background(), client.GraphQLRequest{Query: string(query)}); ran {
		t.Fatal("the introspection query is not deeper than 14")
	}
	var out struct {
		Schema struct {
			QueryType, MutationType struct{ Name string }
			Types                   []struct {
				Kind, Name  string
				Fields      []struct{ Name string }
				InputFields []struct{ Name string }
				EnumValues  []struct{ Name string }
			}
		} `json:"__schema"`
	}
	if err := json.Unmarshal(resp.Data, &out); err != nil {
		t.Fatal(err)
	}
	if out.Schema.QueryType.Name != "Query" || out.Schema.MutationType.Name != "Mutation" {
		t.Fatalf("root types %+v %+v", out.Schema.QueryType, out.Schema.MutationType)
	}
	names := func(list []struct{ Name string }) string {
		var s []string
		for _, e := range list {
			s = append(s, e.Name)
		}
		slices.Sort(s)
		return strings.Join(s, " ")
	}
	want := map[string]string{
		"Query":                "Post User _avg _commits _count _max _min _sum",
		"Mutation":             "add_Post add_User create_Post create_User delete_Post delete_User update_Post update_User upsert_Post upsert_User",
		"User":                 "_avg _count _deleted _docID _group _max _min _sum _version age name points verified",
		"UserGroupByArg":       "age name points verified",
		"UserFilterArg":        "_and _docID _not _or age name points verified",
		"UserOrderArg":         "_docID age name points verified",
		"UserMutationInputArg": "age name points verified",
		"UserNumericFieldArg":  "age points",
		"PostOrderArg":         "_docID at likes title",
		"IntOperatorBlock":     "_eq _ge _geq _gt _in _le _leq _lt _ne _neq _nin",
		"StringOperatorBlock":  "_eq _ge _geq _gt _ilike _in _le _leq _like _lt _ne _neq _nilike _nin _nlike",
		"BooleanOperatorBlock": "_eq _in _ne _neq _nin",
		"JSONOperatorBlock":    "_eq _in _ne _neq _nin",
		"Ordering":             "ASC DESC",
		"Commit":               "author changes cid collectionName deleted delta disowned docID fieldName height links schemaVersionId txn",
		"CommitLink":           "cid name",
		"CommitOrderArg":       "height",
	}
	for _, ty := range out.Schema.Types {
		w, ok := want[ty.Name]
		if !ok {
			continue
		}
		delete(want, ty.Name)
		if got := names(ty.Fields) + names(ty.InputFields) + names(ty.EnumValues); got != w {
			t.Errorf("%s: %q, want %q", ty.Name, got, w)
		}
	}
	for name := range want {
		t.Errorf("no type %s", name)
	}
}

// TestIntrospectionIsComplete checks what graphql-js's buildClientSchema, which
// GraphiQL and other tools build their view of a node with, requires of an
// introspection answer: every type it names anywhere (a field's, an
// argument's, a directive argument's) is among __schema's types. It runs
// GraphiQL's query and graphql-js's getIntrospectionQuery with every option
// set, which asks for the members the GraphQL specification of October 2021
// added (the schema's description, specifiedByURL, isRepeatable, deprecated
// arguments and input fields).
func TestIntrospectionIsComplete(t *testing.T) {
	f := newFixture(t, nil)
	for _, file := range []string{"testdata/graphiql_introspection.graphql", "testdata/introspection_all_options.graphql"} {
		query, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		resp, ran, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: string(query)})
		if err != nil || !ran || len(resp.Errors) > 0 {
			t.Fatalf("%s: ran %v, err %v, errors %v", file, ran, err, resp.Errors)
		}
		var answer struct {
			Schema struct {
				Types      []map[string]any
				Directives []map[string]any
			} `json:"__schema"`
		}
		if err := json.Unmarshal(resp.Data, &answer); err != nil {
			t.Fatal(err)
		}
		defined := map[string]bool{}
		for _, ty := range answer.Schema.Types {
			defined[ty["name"].(string)] = true
		}
		// named walks a value of the answer, and reports each type it names:
		// a member "type" or "ofType" that is an object with a "name".
		var named func(where string, v any)
		named = func(where string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					if ref, ok := e.(map[string]any); ok && (k == "type" || k == "ofType") {
						if n, ok := ref["name"].(string); ok && !defined[n] {
							t.Errorf("%s: %s names type %s, which __schema's types lack", file, where, n)
						}
					}
					named(where, e)
				}
			case []any:
				for _, e := range v {
					named(where, e)
				}
			}
		}
		for _, ty := range answer.Schema.Types {
			named(ty["name"].(string), ty)
		}
		for _, d := range answer.Schema.Directives {
			named("@"+d["name"].(string), d)
		}
	}
}

// TestSchemaFollowsCollections checks that a collection added after the first
// request can be queried by the next one.
func TestSchemaFollowsCollections(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{n: n, e: e}
	if got, ran := f.do(t, `{ __schema { queryType { fields { name } } } }`, nil); !ran ||
		got != `{"data":{"__schema":{"queryType":{"fields":[{"name":"_collections"}]}}}}` {
		t.Fatalf("without collections: %s", got)
	}
	if got, _ := f.do(t, `{ Item { name } }`, nil); !strings.Contains(got, `Cannot query field \"Item\"`) {
		t.Fatalf("before the collection: %s", got)
	}
	nodetest.AddCollection(t, `type Item { name: String }`, n)
	if got, ran := f.do(t, `mutation { create_Item(input: {name: "x"}) { name } }`, nil); !ran || got != `{"data":{"create_Item":[{"name":"x"}]}}` {
		t.Fatalf("after the collection: %s", got)
	}
}

// TestLimits checks each limit at its edge.
func TestLimits(t *testing.T) {
	f := newFixture(t, &graphql.Limits{MaxDepth: 3, MaxFields: 6, MaxResultSize: 150})
	runCases(t, f, []requestCase{
		{"depth at the limit", `{ __type(name: "CommitLink") { fields { name } } }`,
			nil, `{"data":{"__type":{"fields":[{"name":"cid"},{"name":"name"}]}}}`, true},
		{"too deep", `{ __type(name: "User") { fields { type { name } } } }`,
			nil, `{"errors":[{"message":"selections nest deeper than the limit of 3","locations":[{"line":1,"column":42}]}]}`, false},
		{"too deep through a fragment", `{ __type(name: "User") { ...F } } fragment F on __Type { fields { type { name } } }`,
			nil, `{"errors":[{"message":"selections nest deeper than the limit of 3","locations":[{"line":1,"column":74}]}]}`, false},
		{"fields at the limit", `{ a: _count(User: {}) b: _count(User: {}) c: _count(User: {}) d: _count(User: {}) e: _count(User: {}) f: _count(User: {}) }`,
			nil, `{"data":{"a":4,"b":4,"c":4,"d":4,"e":4,"f":4}}`, true},
		{"too many fields through fragments", `{ ...F ...F ...F } fragment F on Query { a: _count(User: {}) b: _count(User: {}) }`,
			nil, `{"errors":[{"message":"the request selects more than the limit of 6 fields","locations":[{"line":1,"column":42}]}]}`, false},
		{"answer at the limit", `{ User(filter: {name: {_eq: "Ada"}}) { name } }`,
			nil, `{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"answer over the limit", `{ User { name } }`,
			nil, `{"data":null,"errors":[{"message":"the answer is larger than the limit of 150 bytes: ask for fewer documents (limit, offset), fewer fields or fewer requests at once","locations":[{"line":1,"column":3}],"path":["User"]}]}`, true},
	})
	if _, err := graphql.New(f.n, &graphql.Limits{MaxDepth: -1}); err == nil || !strings.Contains(err.Error(), "Limits.MaxDepth") {
		t.Fatalf("negative MaxDepth: %v", err)
	}
	if _, err := graphql.New(f.n, &graphql.Limits{MaxDuration: -1}); err == nil || !strings.Contains(err.Error(), "Limits.MaxDuration") {
		t.Fatalf("negative MaxDuration: %v", err)
	}
	// Each limit is taken at its ceiling and refused just over it.
	ceilings := graphql.Limits{MaxDepth: graphql.CeilingMaxDepth, MaxFields: graphql.CeilingMaxFields,
		MaxResultSize: graphql.CeilingMaxResultSize, MaxDuration: graphql.CeilingMaxDuration}
	if _, err := graphql.New(f.n, &ceilings); err != nil {
		t.Fatalf("limits at their ceilings: %v", err)
	}
	for field, over := range map[string]graphql.Limits{
		"Limits.MaxDepth":      {MaxDepth: graphql.CeilingMaxDepth + 1},
		"Limits.MaxFields":     {MaxFields: graphql.CeilingMaxFields + 1},
		"Limits.MaxResultSize": {MaxResultSize: graphql.CeilingMaxResultSize + 1},
		"Limits.MaxDuration":   {MaxDuration: graphql.CeilingMaxDuration + 1},
	} {
		if _, err := graphql.New(f.n, &over); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s over its ceiling: %v", field, err)
		}
	}
	if got := f.e.Limits(); got.MaxDepth != 3 {
		t.Fatalf("Limits() = %+v", got)
	}
	if d, _ := graphql.New(f.n, nil); d.Limits() != (graphql.Limits{MaxDepth: graphql.DefaultMaxDepth,
		MaxFields: graphql.DefaultMaxFields, MaxResultSize: graphql.DefaultMaxResultSize, MaxDuration: graphql.DefaultMaxDuration}) {
		t.Fatalf("default limits %+v", d.Limits())
	}
}

// TestHostileRequests sends requests made to exhaust the node: each is refused
// with an error, quickly and without growing the stack or the answer.
func TestHostileRequests(t *testing.T) {
	f := newFixture(t, nil)
	fragmentBomb := "{ ...F0 }"
	for i := range 20 {
		fragmentBomb += fmt.Sprintf(" fragment F%d on Query { a: __typename ...F%d ...F%d }", i, i+1, i+1)
	}
	fragmentBomb += " fragment F20 on Query { __typename }"
	for _, c := range []struct{ name, query, want string }{
		{"too long", strings.Repeat(" ", graphql.MaxQuerySize) + "{ __typename }", "the request is 262158 bytes, over the limit of 262144: send large values as variables"},
		{"deep brackets", strings.Repeat("[", 1<<17), "brackets nest deeper than the limit of 128"},
		{"deep selections", strings.Repeat("{ a ", 1<<15), "brackets nest deeper than the limit of 128"},
		{"deep filter", `{ User(filter: ` + strings.Repeat(`{_not: `, 200) + `{}` + strings.Repeat(`}`, 200) + `) { name } }`, "brackets nest deeper than the limit of 128"},
		{"deep but within brackets", strings.Repeat("{ __schema { types { fields { type { fields { type ", 3) + "{ name }" + strings.Repeat("} } } } } } ", 3), "selections nest deeper than the limit of 16"},
		{"many aliases", "{ " + strings.Repeat("a: __typename ", 10_000) + "}", "the request selects more than the limit of 1000 fields"},
		{"fragment bomb", fragmentBomb, "the request selects more than the limit of 1000 fields"},
		{"long object", `{ User(filter: {` + strings.Repeat(`_and: [] `, 20_000) + `}) { name } }`, "the request writes more than the limit of 10000 values"},
		{"many directives", `{ __typename ` + strings.Repeat(`@skip(if: false) `, 12_000) + `}`, "the request writes more than the limit of 10000 values"},
		{"fragment cycle", `{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }`, `fragment \"A\" spreads itself`},
		{"unused fragment cycle", `{ __typename } fragment A on Query { ...B } fragment B on Query { ...A }`, `fragment \"A\" spreads itself`},
		{"variable without a type", `query($A:){A}`, "a variable has no type"},
		{"unterminated string", `{ User(filter: {name: {_eq: "`, "syntax error: Unterminated string."},
		{"bad escape", `{ User(filter: {name: {_eq: "\u12"}}) { name } }`, "syntax error: Invalid character escape sequence"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ran := f.do(t, c.query, nil)
			if ran || !strings.Contains(got, c.want) {
				t.Fatalf("ran %v: %.300s; want %q", ran, got, c.want)
			}
		})
	}
}

// TestLongLiteralList: a request that writes a long list in its text (80,000
// strings fit in MaxQuerySize) is refused before graphql-go validates it,
// which cost about 2.6 KiB and 4 µs a value (212 MB, 0.3 to 0.9 s), naming the
// limit and where the request passed it. The same list as a variable costs
// about 80 bytes a value.
func TestLongLiteralList(t *testing.T) {
	f := newFixture(t, nil)
	prefix := "{\n  User(filter: {name: {_in: ["
	query := prefix + strings.Repeat(`"",`, 80_000) + `]}}) { name } }`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, ran := f.do(t, query, nil)
	runtime.ReadMemStats(&after)
	// The first value past the limit: the filter, name's object and the list
	// count too.
	col := len("  User(filter: {name: {_in: [") + 3*(graphql.MaxValues-3) + 1
	want := fmt.Sprintf(`{"errors":[{"message":"the request writes more than the limit of %d values: send large lists as variables","locations":[{"line":2,"column":%d}]}]}`, graphql.MaxValues, col)
	if ran || got != want {
		t.Fatalf("ran %v, %.300s; want %s", ran, got, want)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("refusing a list of 80,000 values allocated %d MiB", allocated>>20)
	if allocated > 64<<20 {
		t.Fatalf("refusing a list of 80,000 values allocated %d MiB", allocated>>20)
	}
}

// TestManyErrors: a request that makes an error of almost every token of its
// text is answered at once, each error with its line and column. (graphql-go
// found each error's line by scanning the text from its start: 65,000
// spreads of an unknown fragment took minutes of CPU.)
func TestManyErrors(t *testing.T) {
	f := newFixture(t, nil)
	const spreads = (graphql.MaxQuerySize - 100) / len("...M")
	query := "{ User { name " + strings.Repeat("...M", spreads) + " } }"
	done := make(chan struct{})
	var resp client.GraphQLResponse
	var ran bool
	var err error
	go func() { // f.do would call t.Fatal off the test's goroutine
		defer close(done)
		resp, ran, err = f.e.Do(context.Background(), client.GraphQLRequest{Query: query})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // it takes well under a second
		t.Fatalf("no answer to %d errors within 30s", spreads)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ran || len(resp.Errors) != spreads {
		t.Fatalf("ran %v, %d errors, want %d", ran, len(resp.Errors), spreads)
	}
	last := resp.Errors[spreads-1] // at the name of the last spread
	if want := len("{ User { name ...") + 4*(spreads-1) + 1; len(last.Locations) != 1 || last.Locations[0] != (client.GraphQLLocation{Line: 1, Column: want}) {
		t.Fatalf("last error %+v, want at 1:%d", last, want)
	}

	// Lines end with \n, \r\n or \r, before the request runs and while it does.
	runCases(t, f, []requestCase{
		{"refused", "{ User {\n\tname\r\n\t...M\r\t...N } }",
			nil, `{"errors":[{"message":"Unknown fragment \"M\".","locations":[{"line":3,"column":5}]},{"message":"Unknown fragment \"N\".","locations":[{"line":4,"column":5}]}]}`, false},
		{"failed", "{\r\n  User(limit: -1) { name }\n}",
			nil, `{"data":null,"errors":[{"message":"gossipdb: invalid input: negative limit -1","locations":[{"line":2,"column":3}],"path":["User"]}]}`, true},
	})
}

// FuzzRequest checks that no request text crashes the executor or hangs it.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{ User(filter: {age: {_gt: 30}}, order: {name: ASC}, limit: 2) { _docID name } }`,
		`mutation { create_User(input: [{name: "x"}]) { name } }`,
		`{ _count(User: {filter: {_or: [{age: {_lt: 3}}, {name: {_like: "a%"}}]}}) }`,
		`query($f: UserFilterArg) { User(filter: $f) { ...X } } fragment X on User { name }`,
		`{ __schema { types { name } } }`,
		`{ User(filter: {name: {_in: ["\uD83D\uDE00\u0041", null]}}) { name @include(if: true) } }`,
		"\uFEFF# café \"\"\"\n{ User(filter: {name: {_eq: \"# é\"}}) { # 日本\n name } }",
	} {
		f.Add(s)
	}
	fx := newFixture(f, nil)
	f.Fuzz(func(t *testing.T, query string) {
		resp, _, err := fx.e.Do(context.Background(), client.GraphQLRequest{Query: query,
			Variables: map[string]any{"f": map[string]any{"age": nil}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Data == nil && len(resp.Errors) == 0 {
			t.Fatalf("%q: neither data nor errors", query)
		}
	})
}

// TestFailingMutationUndoesTheRest checks what a request's mutations do when
// one fails: they form one transaction, so those before it are undone and
// those after it do not run.
func TestFailingMutationUndoesTheRest(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"second of three fails", `mutation { a: create_User(input: {name: "Yan"}) { name } b: create_Post(input: {likes: 1}) { title } c: create_User(input: {name: "Zoe"}) { name } }`,
			nil, `{"data":null,"errors":[{"message":"gossipdb: invalid input: field \"title\": required","locations":[{"line":1,"column":58}],"path":["b"]}]}`, true},
		{"the first is undone, the third did not run", `{ yan: _count(User: {filter: {name: {_eq: "Yan"}}}) zoe: _count(User: {filter: {name: {_eq: "Zoe"}}}) }`,
			nil, `{"data":{"yan":0,"zoe":0}}`, true},
		{"all of them in one transaction", `mutation { a: create_User(input: {name: "Yan"}) { name } b: update_User(filter: {name: {_eq: "Yan"}}, input: {age: 3}) { age } }`,
			nil, `{"data":{"a":[{"name":"Yan"}],"b":[{"age":3}]}}`, true},
	})
}

// TestConcurrentRequests runs queries and mutations from several goroutines
// while a collection is added, which makes the schema again (run with -race).
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				q := `{ User(filter: {age: {_gt: 30}}, order: {name: ASC}) { name } }`
				switch i % 4 {
				case 1, 3:
					q = fmt.Sprintf(`mutation { create_User(input: {name: "g%d-%d"}) { name } }`, g, i)
				case 2:
					q = `{ __type(name: "Ordering") { kind enumValues { name } } __schema { types { kind name } } }`
				}
				resp, ran, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: q})
				if err != nil || !ran || len(resp.Errors) > 0 {
					errs <- fmt.Sprint(q, ": ", err, resp.Errors)
					return
				}
			}
		})
	}
	nodetest.AddCollection(t, `type Later { x: Int }`, f.n)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got, _ := f.do(t, `{ _count(User: {}) Later { x } }`, nil); got != `{"data":{"_count":44,"Later":[]}}` {
		t.Fatalf("after: %s", got)
	}
}

// TestAggregateOutOfRange: a sum beyond the range of a Float is a field error,
// as other errors while running are, not an answer that cannot be encoded.
func TestAggregateOutOfRange(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.user.CreateMany(context.Background(), []map[string]any{
		{"name": "Max", "points": 1.7e308}, {"name": "Mia", "points": 1.7e308}}); err != nil {
		t.Fatal(err)
	}
	runCases(t, f, []requestCase{
		{"_sum beyond a Float", `{ _sum(User: {field: points}) }`, nil,
			`{"data":{"_sum":null},"errors":[{"message":"gossipdb: invalid input: field \"points\": sum is out of the range of a Float","locations":[{"line":1,"column":3}],"path":["_sum"]}]}`, true},
		{"_avg, _max of huge values", `{ _avg(User: {field: points, filter: {name: {_like: "M%"}}}) _max(User: {field: points}) n: _count(User: {}) }`, nil,
			`{"data":{"_avg":1.7e+308,"_max":1.7e+308,"n":6}}`, true},
	})
}

// TestAggregateOfIntIsExact: _sum, _min and _max over an Int field answer the
// int64 the Go API's Aggregate returns, every digit of it, though the schema
// types them Float: a value beyond 2^53 is not rounded to a float64.
func TestAggregateOfIntIsExact(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.user.CreateMany(context.Background(), []map[string]any{
		{"name": "Max", "age": int64(9007199254740993)}, {"name": "Mia", "age": int64(9223372036854775807) - 9007199254740993 - 108}}); err != nil {
		t.Fatal(err)
	}
	runCases(t, f, []requestCase{
		{"_sum, _min, _max of an Int", `{ _sum(User: {field: age}) _max(User: {field: age, filter: {name: {_eq: "Max"}}}) _min(User: {field: age, filter: {name: {_like: "M%"}}}) }`, nil,
			`{"data":{"_sum":9223372036854775807,"_max":9007199254740993,"_min":9007199254740993}}`, true},
		{"_max of a Float", `{ _max(User: {field: points}) }`, nil, `{"data":{"_max":9.5}}`, true},
	})
}

// TestErrorsInRequestOrder: the errors of several failing fields come in the
// order the fields stand in the request, every time (graphql-go resolves them in
// a map's order).
func TestErrorsInRequestOrder(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.user.CreateMany(context.Background(), []map[string]any{
		{"name": "Max", "points": 1.7e308}, {"name": "Mia", "points": 1.7e308}}); err != nil {
		t.Fatal(err)
	}
	const query = `{ z: _sum(User: {field: points}) m: _sum(User: {field: points}) a: _sum(User: {field: points}) }`
	var paths []string
	for range 20 {
		got, _ := f.do(t, query, nil)
		var resp struct{ Errors []struct{ Path []any } }
		if err := json.Unmarshal([]byte(got), &resp); err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, e := range resp.Errors {
			order = append(order, fmt.Sprint(e.Path...))
		}
		paths = append(paths, strings.Join(order, " "))
	}
	for i, p := range paths {
		if p != "z m a" {
			t.Fatalf("run %d: errors for the fields %q, want z m a (runs: %q)", i, p, paths)
		}
	}
}

// TestOrderByDocID: the order input's _docID orders by the document ID, alone
// or after other keys, as a literal or a variable.
func TestOrderByDocID(t *testing.T) {
	f := newFixture(t, nil)
	users := []string{"$ada", "$bob", "$carol", "$dan"}
	slices.SortFunc(users, func(a, b string) int { return strings.Compare(f.ids[a], f.ids[b]) })
	list := func(ids ...string) string {
		var out []string
		for _, id := range ids {
			out = append(out, `{"_docID":"`+id+`"}`)
		}
		return `{"data":{"User":[` + strings.Join(out, ",") + `]}}`
	}
	reversed := slices.Clone(users)
	slices.Reverse(reversed)
	// By verified, false (Bob, Dan) first, then by ID, descending.
	byVerified := func(desc bool) []string {
		var no, yes []string
		for _, u := range reversed {
			if u == "$bob" || u == "$dan" {
				no = append(no, u)
			} else {
				yes = append(yes, u)
			}
		}
		if !desc {
			return append(no, yes...)
		}
		return append(yes, no...)
	}
	runCases(t, f, []requestCase{
		{"ascending", `{ User(order: {_docID: ASC}) { _docID } }`, nil, list(users...), true},
		{"descending", `{ User(order: {_docID: DESC}) { _docID } }`, nil, list(reversed...), true},
		{"descending, paged", `{ User(order: {_docID: DESC}, limit: 2, offset: 1) { _docID } }`, nil, list(reversed[1:3]...), true},
		{"after another key", `{ User(order: [{verified: ASC}, {_docID: DESC}]) { _docID } }`, nil, list(byVerified(false)...), true},
		{"in one key after another field", `{ User(order: {verified: DESC, _docID: DESC}) { _docID } }`, nil, list(byVerified(true)...), true},
		{"as a variable", `query($o: [UserOrderArg!]) { User(order: $o) { _docID } }`,
			map[string]any{"o": []any{map[string]any{"verified": "ASC"}, map[string]any{"_docID": "DESC"}}}, list(byVerified(false)...), true},
	})
}

// TestHugeOffset: an offset and a limit whose sum overflows an int page as
// any other: past the last document there is none, sorted in memory or not.
func TestHugeOffset(t *testing.T) {
	f := newFixture(t, nil)
	runCases(t, f, []requestCase{
		{"sorted", `{ User(order: {name: ASC}, offset: 9223372036854775807, limit: 1) { name } }`,
			nil, `{"data":{"User":[]}}`, true},
		{"sorted, both large", `{ User(order: {age: DESC}, offset: 9223372036854775806, limit: 9223372036854775807) { name } }`,
			nil, `{"data":{"User":[]}}`, true},
		{"in ID order", `{ User(offset: 9223372036854775807, limit: 1) { name } }`,
			nil, `{"data":{"User":[]}}`, true},
	})
}

// TestTimeLimit: requests that read much and answer little (1,000 aliases of a
// scan that matches nothing took 9 s over 20,000 documents, and grow with the
// collection) stop at Limits.MaxDuration, each field that did not finish
// failing with an error that names the limit.
func TestTimeLimit(t *testing.T) {
	const limit = 50 * time.Millisecond
	f := newFixture(t, &graphql.Limits{MaxDuration: limit})
	for range 2 {
		docs := make([]map[string]any, gossipdb.MaxCreateMany)
		for i := range docs {
			docs[i] = map[string]any{"name": fmt.Sprint("u", i), "age": i}
		}
		if _, err := f.user.CreateMany(context.Background(), docs); err != nil {
			t.Fatal(err)
		}
	}
	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s ", i, field)
		}
		return b.String()
	}
	const nobody = `{name: {_eq: "nobody"}}`
	for _, c := range []struct{ name, query string }{
		{"count", "{ " + aliases(1000, "_count(User: {filter: "+nobody+"})") + "}"},
		{"sum", "{ " + aliases(1000, "_sum(User: {field: age, filter: "+nobody+"})") + "}"},
		{"select", "{ " + aliases(500, "User(filter: "+nobody+") { name }") + "}"},
		{"sorted", "{ " + aliases(500, "User(filter: "+nobody+", order: {age: DESC}) { name }") + "}"},
		{"update", "mutation { " + aliases(500, "update_User(filter: "+nobody+", input: {age: 1}) { name }") + "}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			resp, ran, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: c.query})
			if err != nil {
				t.Fatal(err)
			}
			// Without the limit it takes seconds; with it, well under one.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("answered after %v", d)
			}
			if !ran || resp.Data == nil || len(resp.Errors) == 0 {
				t.Fatalf("ran %v, data %.100s, %d errors, want a request that ran and failed", ran, resp.Data, len(resp.Errors))
			}
			// A field's error, or the transaction's when the time ran
			// out before it began or committed.
			want := fmt.Sprintf("the request ran longer than the limit of %v", limit)
			for _, e := range resp.Errors {
				if !strings.HasPrefix(e.Message, want) {
					t.Fatalf("error %+v, want one that starts %q", e, want)
				}
			}
		})
	}

	// A request out of time before it starts fails the same way, a mutation
	// before its transaction begins.
	e, err := graphql.New(f.n, &graphql.Limits{MaxDuration: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{`{ _count(User: {}) }`, `mutation { create_User(input: {name: "x"}) { name } }`} {
		resp, ran, err := e.Do(context.Background(), client.GraphQLRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if want := "the request ran longer than the limit of 1ns"; !ran || len(resp.Errors) != 1 || !strings.HasPrefix(resp.Errors[0].Message, want) {
			t.Fatalf("%s: ran %v, %+v; want an error that starts %q", query, ran, resp, want)
		}
	}
}

// TestIntrospectionSize asks for the schema of 100 collections of 50 fields
// under many aliases: the answer is a product of the schema's lists, which
// the limits on fields and depth do not bound (160 aliases made an answer of
// 53 MB and allocated 7.9 GB), so it counts toward MaxResultSize.
func TestIntrospectionSize(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	if _, err := n.AddCollection(context.Background(), nodetest.WideSDL(100, 50)); err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	graphiql, err := os.ReadFile("testdata/graphiql_introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	aliases := func(n int) string {
		var q strings.Builder
		q.WriteString("{")
		for i := range n {
			fmt.Fprintf(&q, " a%d: __schema { types { fields { name } inputFields { name } } }", i)
		}
		return q.String() + " }"
	}
	for _, tc := range []struct {
		query string
		ran   bool
	}{
		{string(graphiql), true},
		{aliases(1), true},
		{aliases(160), false},
		{`{ a: __type(name: "C1") { fields { type { name } } } b: __type(name: "C2") { name } }`, true},
	} {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		resp, ran, err := e.Do(context.Background(), client.GraphQLRequest{Query: tc.query})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		if ran != tc.ran || (!ran && !strings.Contains(string(b), "introspection answer is over the limit of 4194304 bytes")) {
			t.Errorf("request of %d bytes: ran %v, want %v: %.300s", len(tc.query), ran, tc.ran, b)
		}
		if alloc := ms.TotalAlloc - before; alloc > 1<<30 {
			t.Errorf("request of %d bytes allocated %d MiB", len(tc.query), alloc>>20)
		}
		// The measure is an upper bound of the answer's JSON, and close to it.
		if !ran {
			continue
		}
		if size, err := graphql.IntrospectionSize(e, tc.query); err != nil || size < len(b) || size > 3*len(b) {
			t.Errorf("request of %d bytes: answer of %d bytes measured %d, %v", len(tc.query), len(b), size, err)
		} else {
			t.Logf("request of %d bytes: answer of %d bytes measured %d", len(tc.query), len(b), size)
		}
	}
}

// TestLists: list and set fields are lists in answers and inputs (they were
// typed as their item's scalar: an answer held "[x y]", an input refused a
// list), and filters test their items with _any, _all and _none.
func TestLists(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	if _, err := n.AddCollection(context.Background(), `type Tagged { name: String tags: [String!] nums: [Int] set: [String!] @crdt(type: set) }`); err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{n: n, e: e, ids: map[string]string{}}
	runCases(t, f, []requestCase{
		{"create", `mutation { create_Tagged(input: {name: "a", tags: ["x", "y"], nums: [1, null], set: ["q", "p", "q"]}) { name tags nums set } }`, nil,
			`{"data":{"create_Tagged":[{"name":"a","tags":["x","y"],"nums":[1,null],"set":["p","q"]}]}}`, true},
		{"update", `mutation($s: [String!]) { update_Tagged(filter: {}, input: {tags: [], set: $s}) { tags set } }`, map[string]any{"s": []any{"r"}},
			`{"data":{"update_Tagged":[{"tags":[],"set":["r"]}]}}`, true},
		{"query", `{ Tagged { nums } }`, nil, `{"data":{"Tagged":[{"nums":[1,null]}]}}`, true},
		{"no null in [String!]", `mutation { create_Tagged(input: {tags: ["x", null]}) { name } }`, nil,
			`{"errors":[{"message":"Expected type \"String!\", found null.","locations":[{"line":1,"column":46}]}]}`, false},
		{"a list is not aggregated", `{ _sum(Tagged: {field: nums}) }`, nil,
			`{"errors":[{"message":"Cannot query field \"_sum\" on type \"Query\".","locations":[{"line":1,"column":3}]}]}`, false},
		{"a list's items filtered on", `{ Tagged(filter: {nums: {_any: {_eq: null}, _none: {_gt: 1}}, set: {_any: {_like: "r%"}}}) { name } }`, nil,
			`{"data":{"Tagged":[{"name":"a"}]}}`, true},
		{"every item of no items", `{ Tagged(filter: {tags: {_all: {_eq: "z"}}}) { name } }`, nil,
			`{"data":{"Tagged":[{"name":"a"}]}}`, true},
		{"no item matches", `{ _count(Tagged: {filter: {nums: {_none: {_ge: 1}}}}) }`, nil,
			`{"data":{"_count":0}}`, true},
		// As in DefraDB, _all and _none match a list with no items but not a
		// null one; a set is never null.
		{"DefraDB's null list", `mutation { create_Tagged(input: {name: "n"}) { name tags nums set } }`, nil,
			`{"data":{"create_Tagged":[{"name":"n","tags":null,"nums":null,"set":[]}]}}`, true},
		{"_all and _none of a null list", `{ a: Tagged(filter: {tags: {_all: {_eq: "z"}}}) { name } b: Tagged(filter: {nums: {_none: {_eq: 7}}}) { name } c: Tagged(filter: {set: {_none: {_eq: "z"}}}, order: {name: ASC}) { name } }`, nil,
			`{"data":{"a":[{"name":"a"}],"b":[{"name":"a"}],"c":[{"name":"a"},{"name":"n"}]}}`, true},
		{"_not of _any of a null list", `{ Tagged(filter: {_not: {nums: {_any: {_eq: 7}}}}, order: {name: ASC}) { name } }`, nil,
			`{"data":{"Tagged":[{"name":"a"},{"name":"n"}]}}`, true},
		{"the null lists", `{ Tagged(filter: {_not: {tags: {_all: {}}}}) { name tags } }`, nil,
			`{"data":{"Tagged":[{"name":"n","tags":null}]}}`, true},
		{"gone", `mutation { delete_Tagged(filter: {name: {_eq: "n"}}) { name } }`, nil,
			`{"data":{"delete_Tagged":[{"name":"n"}]}}`, true},
		{"a single value is a list of one", `mutation { create_Tagged(input: {name: "b", tags: "x", nums: 2}) { tags nums } }`, nil,
			`{"data":{"create_Tagged":[{"tags":["x"],"nums":[2]}]}}`, true},
		{"an item's _in of one value", `{ Tagged(filter: {nums: {_any: {_in: 2}}}) { name } }`, nil,
			`{"data":{"Tagged":[{"name":"b"}]}}`, true},
		{"a list takes _any, _all or _none", `{ Tagged(filter: {tags: {_eq: "x"}}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {tags: {_eq: \"x\"}}.\nIn field \"tags\": In field \"_eq\": Unknown field: a list or set field is not compared whole here (DefraDB's _eq and _neq on a list are not supported): test its items with _any, _all or _none, such as {tags: {_any: {_eq: …}}}.","locations":[{"line":1,"column":18}]}]}`, false},
		{"a set is not ordered by", `{ Tagged(order: {set: ASC}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"order\" has invalid value {set: ASC}.\nIn field \"set\": Unknown field.","locations":[{"line":1,"column":17}]}]}`, false},
	})
}

// TestSingleValueAsList: a single value where the schema wants a list is a
// list of that one value, as GraphQL's input coercion has it, in a filter's
// _and, _or, _in and _nin, written in the request or sent as a variable, on
// the fast path and through graphql-go. (A variable whose type is not a list
// cannot stand where a list is wanted: the validator refuses it, as the
// specification does.)
func TestSingleValueAsList(t *testing.T) {
	f := newFixture(t, nil)
	slow := &fixture{n: f.n, e: graphql.WithoutFastPath(f.e), ids: f.ids}
	cases := []requestCase{
		{"_or", `{ User(filter: {_or: {age: {_eq: 20}}}) { name } }`, nil,
			`{"data":{"User":[{"name":"Bob"}]}}`, true},
		{"_and", `{ User(filter: {_and: {name: {_eq: "Ada"}}}) { name } }`, nil,
			`{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"_in", `{ User(filter: {name: {_in: "Ada"}}) { name } }`, nil,
			`{"data":{"User":[{"name":"Ada"}]}}`, true},
		{"_nin", `{ User(filter: {verified: {_eq: true}, name: {_nin: "Ada"}}) { name } }`, nil,
			`{"data":{"User":[{"name":"carol"}]}}`, true},
		{"nested", `{ User(filter: {verified: {_eq: true}, _not: {_or: [{_and: {age: {_in: 20}}}, {name: {_in: "Ada"}}]}}) { name } }`, nil,
			`{"data":{"User":[{"name":"carol"}]}}`, true},
		{"in an aggregate", `{ _count(User: {filter: {_or: {name: {_in: "Bob"}}}}) }`, nil,
			`{"data":{"_count":1}}`, true},
		{"in a filter sent as a variable", `query($f: UserFilterArg) { User(filter: $f) { name } }`,
			map[string]any{"f": map[string]any{"_or": map[string]any{"name": map[string]any{"_in": "Bob"}}}},
			`{"data":{"User":[{"name":"Bob"}]}}`, true},
		{"a list variable sent as one value", `query($n: [String]) { User(filter: {name: {_in: $n}}) { name } }`,
			map[string]any{"n": "Dan"}, `{"data":{"User":[{"name":"Dan"}]}}`, true},
		{"null stays null, no condition, not [null]", `{ User(filter: {name: {_in: null}}, order: {name: ASC}) { name } }`, nil,
			`{"data":{"User":[{"name":"Ada"},{"name":"Bob"},{"name":"Dan"},{"name":"carol"}]}}`, true},
		{"a variable not of a list type", `query($n: String) { User(filter: {name: {_in: $n}}) { name } }`, map[string]any{"n": "Dan"},
			`{"errors":[{"message":"Variable \"$n\" of type \"String\" used in position expecting type \"[String]\".","locations":[{"line":1,"column":7},{"line":1,"column":47}]}]}`, false},
	}
	runCases(t, f, cases)
	runCases(t, slow, cases)
}

// TestKeysInSelectionOrder: the keys of an answer's objects come in the order
// the request selects them, on the fast path and through graphql-go alike:
// aliases, a fragment's keys where it is spread, a key selected twice where
// it first stands, nested selections and introspection.
func TestKeysInSelectionOrder(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		query string
		vars  map[string]any
		want  string
	}{
		{`{ User(order: {name: ASC}, limit: 1) { verified name _docID age } }`, nil,
			`{"User":[{"verified":true,"name":"Ada","_docID":"$ada","age":36}]}`},
		{`{ z: _count(User: {}) a: User(filter: {name: {_eq: "Bob"}}) { points n: name age name } }`, nil,
			`{"z":4,"a":[{"points":1.5,"n":"Bob","age":20,"name":"Bob"}]}`},
		{`{ User(filter: {name: {_eq: "Bob"}}) { age ...F _docID ... on User { verified } } } fragment F on User { name age points }`, nil,
			`{"User":[{"age":20,"name":"Bob","points":1.5,"_docID":"$bob","verified":false}]}`},
		{`{ __type(name: "User") { name kind fields(includeDeprecated: false) { type { name kind } name } } }`, nil, ""},
		// A field or fragment @skip or @include leaves out has no place: a key
		// it selects stands where it is selected next. (It once stood where
		// the field left out stood.)
		{`{ User(filter: {name: {_eq: "Bob"}}) { name @skip(if: true) age name } }`, nil,
			`{"User":[{"age":20,"name":"Bob"}]}`},
		{`query($in: Boolean!, $out: Boolean = false) { a: _count(User: {}) @include(if: $out) User(filter: {name: {_eq: "Bob"}}) { ... @include(if: $out) { name } age ...F @skip(if: $in) ...F @include(if: $in) } a: _count(User: {}) } fragment F on User { name _docID }`,
			map[string]any{"in": true}, `{"User":[{"age":20,"name":"Bob","_docID":"$bob"}],"a":4}`},
		{`query($in: Boolean!, $out: Boolean = false) { a: _count(User: {}) @include(if: $out) User(filter: {name: {_eq: "Bob"}}) { ... @include(if: $out) { name } age ...F @skip(if: $in) ...F @include(if: $in) } a: _count(User: {}) } fragment F on User { name _docID }`,
			map[string]any{"in": true, "out": true}, `{"a":4,"User":[{"name":"Bob","age":20,"_docID":"$bob"}]}`},
	}
	for _, e := range []*graphql.Executor{f.e, graphql.WithoutFastPath(f.e)} {
		for _, c := range cases {
			resp, ran, err := e.Do(context.Background(), client.GraphQLRequest{Query: c.query, Variables: c.vars})
			if err != nil || !ran || len(resp.Errors) > 0 {
				t.Fatalf("%s: %v %v %+v", c.query, ran, err, resp.Errors)
			}
			got := string(resp.Data)
			if c.want == "" {
				// Introspection: each field's object lists type before name.
				if !strings.HasPrefix(got, `{"__type":{"name":"User","kind":"OBJECT","fields":[{"type":{"name":`) {
					t.Errorf("%s\n got %s", c.query, got)
				}
				continue
			}
			if want := f.expand(c.want); got != want {
				t.Errorf("%s\n got %s\nwant %s", c.query, got, want)
			}
		}
	}
}

// conflicting is a request of n fields of one response name, each with
// different arguments: each pair of them conflicts.
func conflicting(n int) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&b, "_count(User: {filter: {age: {_eq: %d}}}) ", i)
	}
	b.WriteString("}")
	return b.String()
}

// TestConflictingFields: fields of one response name that cannot be merged
// are refused with one error for that name, however many of them there are
// (each pair of them was an error, and comparing them took about a
// millisecond a pair: minutes at the field limit), and as many fields that
// can be merged run.
func TestConflictingFields(t *testing.T) {
	const msg = `Use different aliases on the fields to fetch both if this was intentional.`
	for _, fields := range []int{60, graphql.DefaultMaxFields} {
		t.Run(fmt.Sprint(fields), func(t *testing.T) {
			f := newFixture(t, &graphql.Limits{MaxFields: fields})
			resp, ran, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: conflicting(fields)})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(resp)
			want := `Fields "_count" conflict because they have differing arguments. ` + msg
			if ran || len(resp.Errors) != 1 || resp.Errors[0].Message != want || len(b) > 500 {
				t.Fatalf("ran %v, %d errors, %d bytes: %.500s", ran, len(resp.Errors), len(b), b)
			}
			got, ran := f.do(t, "{ "+strings.Repeat("_count(User: {filter: {age: {_gt: 1}}}) ", fields)+"}", nil)
			if want := `{"data":{"_count":3}}`; !ran || got != want {
				t.Fatalf("ran %v, %s; want %s", ran, got, want)
			}
		})
	}
	runCases(t, newFixture(t, nil), []requestCase{
		{"different fields", `{ User { name name: age } }`,
			nil, `{"errors":[{"message":"Fields \"name\" conflict because name and age are different fields. ` + msg + `","locations":[{"line":1,"column":10},{"line":1,"column":15}]}]}`, false},
		{"subfields", `{ User { name } User { name: age } }`,
			nil, `{"errors":[{"message":"Fields \"User\" conflict because subfields \"name\" conflict because name and age are different fields. ` + msg + `","locations":[{"line":1,"column":3},{"line":1,"column":10},{"line":1,"column":17},{"line":1,"column":24}]}]}`, false},
		{"subfields of subfields", `{ __schema { types { name } } __schema { types { name: kind } } }`,
			nil, `{"errors":[{"message":"Fields \"__schema\" conflict because subfields \"types\" conflict because subfields \"name\" conflict because name and kind are different fields. ` + msg + `","locations":[{"line":1,"column":3},{"line":1,"column":14},{"line":1,"column":22},{"line":1,"column":31},{"line":1,"column":42},{"line":1,"column":50}]}]}`, false},
		{"in a fragment used twice", `{ ...F ...F } fragment F on Query { a: _count(User: {}) a: _count(Post: {}) }`,
			nil, `{"errors":[{"message":"Fields \"a\" conflict because they have differing arguments. ` + msg + `","locations":[{"line":1,"column":37},{"line":1,"column":57}]}]}`, false},
		{"arguments in another order", `{ User(limit: 1, filter: {name: {_eq: "Bob"}}) { name } User(filter: {name: {_eq: "Bob"}}, limit: 1) { name } }`,
			nil, `{"data":{"User":[{"name":"Bob"}]}}`, true},
		{"through fragments", `{ ...F User { ...G } } fragment F on Query { User { n: name } } fragment G on User { n: age }`,
			nil, `{"errors":[{"message":"Fields \"User\" conflict because subfields \"n\" conflict because name and age are different fields. ` + msg + `","locations":[{"line":1,"column":46},{"line":1,"column":53},{"line":1,"column":8},{"line":1,"column":86}]}]}`, false},
		{"in a fragment and where it is used", `{ a: User { name } ...F } fragment F on Query { a: User { name name: age } }`,
			nil, `{"errors":[{"message":"Fields \"a\" conflict because subfields \"name\" conflict because name and age are different fields. ` + msg + `","locations":[{"line":1,"column":3},{"line":1,"column":13},{"line":1,"column":49},{"line":1,"column":64}]},{"message":"Fields \"name\" conflict because name and age are different fields. ` + msg + `","locations":[{"line":1,"column":59},{"line":1,"column":64}]}]}`, false},
	})
}

// BenchmarkConflictingFields measures refusing a request of as many fields of
// one name, each with different arguments, as the field limit allows.
func BenchmarkConflictingFields(b *testing.B) {
	f := newFixture(b, nil)
	req := client.GraphQLRequest{Query: conflicting(graphql.DefaultMaxFields)}
	for b.Loop() {
		if _, ran, err := f.e.Do(context.Background(), req); err != nil || ran {
			b.Fatal(ran, err)
		}
	}
}

// TestRequiredFieldOfAnotherVersion: a node whose version of a collection
// has a required field holds documents without it, written under a version
// where it is optional (a peer's, or its own before it moved back): a query
// of the field answers null for them and the other documents as they are,
// rather than failing as a whole.
func TestRequiredFieldOfAnotherVersion(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{n: n, e: e}
	c := nodetest.AddCollection(t, `type Req { name: String! n: Int author: Req! }`, n)[0]
	_, err = c.Create(ctx, map[string]any{"name": "root", "n": 0, "author": "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Patch(ctx, `type Req { name: String n: Int author: Req }`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UseVersion(ctx, c.SchemaID()); err != nil {
		t.Fatal(err)
	}
	got, ran := f.do(t, `{ Req(order: {n: ASC}) { name n _authorID } }`, nil)
	if want := `{"data":{"Req":[{"name":"root","n":0,"_authorID":"bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"},{"name":null,"n":1,"_authorID":null}]}}`; !ran || got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
