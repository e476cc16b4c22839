package graphql_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
)

// bothWays runs a request through the executor (fast path where it has one)
// and through graphql-go alone, and fails unless the answers are the same
// bytes. It reports whether the fast path answered the request itself.
func bothWays(t *testing.T, e, slow *graphql.Executor, req client.GraphQLRequest) (answer string, fast bool) {
	t.Helper()
	ctx := context.Background()
	got, gotRan, err := e.Do(ctx, req)
	want, wantRan, slowErr := slow.Do(ctx, req)
	if fmt.Sprint(err) != fmt.Sprint(slowErr) {
		t.Fatalf("%s %v\n fast path: error %v\n graphql-go: error %v", req.Query, req.Variables, err, slowErr)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) || gotRan != wantRan {
		t.Fatalf("%s %v\n fast path (ran %v): %s\n graphql-go (ran %v): %s", req.Query, req.Variables, gotRan, g, wantRan, w)
	}
	_, planned, ferr := graphql.RunFast(e, req)
	return string(g), planned && ferr == nil
}

// TestFastPathSameAnswers runs DefraDB-style requests through the fast path
// and through graphql-go alone and checks that the answers are the same bytes,
// and that the fast path answers the requests it is meant to.
func TestFastPathSameAnswers(t *testing.T) {
	f := newFixture(t, nil)
	slow := graphql.WithoutFastPath(f.e)
	for _, c := range []struct {
		query string
		vars  map[string]any
		op    string
		fast  bool // the fast path answers it itself
	}{
		{`{ User(filter: {age: {_gt: 30}}, order: {name: ASC}) { name age } }`, nil, "", true},
		{`{ User(order: {age: DESC}, limit: 2, offset: 1) { name } }`, nil, "", true},
		{`{ User(order: {verified: DESC, name: ASC}) { name verified points _docID } }`, nil, "", true},
		{`{ User(order: [{verified: ASC}, {name: DESC}]) { name } }`, nil, "", true},
		{`{ User(order: {age: ASC}, limit: 1) { name age } }`, nil, "", true},
		{`{ User(filter: {_or: [{age: {_lt: 25}}, {_and: [{verified: {_eq: true}}, {_not: {name: {_eq: "Ada"}}}]}]}) { name } }`, nil, "", true},
		{`{ User(filter: {name: {_in: ["Ada", "Dan", "Zed"]}, age: {_nin: [36]}}) { name } }`, nil, "", true},
		{`{ User(filter: {name: {_ilike: "C%"}}) { name } }`, nil, "", true},
		{`{ User(docID: "$ada") { _docID name } }`, nil, "", true},
		{`{ User(docID: ["$ada", "$bob"], filter: {age: {_lt: 30}}) { name } }`, nil, "", true},
		{`{ User(filter: {_docID: {_eq: "$carol"}}) { name } }`, nil, "", true},
		{`{ User(filter: {name: {_eq: "Zed"}}) { name } }`, nil, "", true},
		{`{ User(showDeleted: true, order: {name: ASC}) { name } }`, nil, "", true},
		{`{ User(showDeleted: true) { name _deleted } }`, nil, "", false},
		{`{ old: User(filter: {age: {_gt: 50}}) { n: name a: age } young: User(filter: {age: {_lt: 30}}) { name } }`, nil, "", true},
		{`{ User { z: name a: name name age age } }`, nil, "", true},
		{`{ User { x: name x: name } }`, nil, "", true},
		{`{ all: _count(User: {}) verified: _count(User: {filter: {verified: {_eq: true}}}) }`, nil, "", true},
		{`{ _sum(User: {field: age}) _avg(User: {field: age}) _min(User: {field: points}) _max(User: {field: age, filter: {verified: {_eq: false}}}) }`, nil, "", true},
		{`{ _avg(User: {field: age, filter: {name: {_eq: "Zed"}}}) }`, nil, "", true},
		{`{ _count(User: {limit: 2, offset: 1}) _sum(User: {field: age, limit: 2, order: {age: DESC}}) _min(User: {field: points, offset: 1, order: [{points: ASC}, {name: DESC}]}) }`, nil, "", true},
		{`query($a: UserAggregateArg) { _max(User: $a) }`, map[string]any{"a": map[string]any{"field": "age", "limit": json.Number("1"), "order": []any{map[string]any{"name": "ASC"}}}}, "", true},
		{`{ Post(filter: {at: {_ge: "2026-01-01T00:00:00Z"}}) { title likes at meta _docID } }`, nil, "", true},
		{`{ Post { meta } User(limit: 1) { name } _count(Post: {}) }`, nil, "", true},
		{`{ User(filter: {age: {_eq: null}}) { name age points } }`, nil, "", true},
		{`{ a: User(filter: {age: {_in: [null, 20]}}) { name } b: User(filter: {points: {_ne: null}}) { name } }`, nil, "", true},
		{`query Q { User(limit: null) { name } }`, nil, "Q", true},
		{`query Q { User(limit: 1) { name } }`, nil, "", true},

		// Variables.
		{`query($n: Int) { User(filter: {age: {_eq: $n}}) { name } }`, map[string]any{"n": nil}, "", true},
		{`query($n: Int) { User(filter: {age: {_eq: $n}}) { name } }`, map[string]any{"n": json.Number("20")}, "", true},
		{`query($f: UserFilterArg) { User(filter: $f) { name } }`,
			map[string]any{"f": map[string]any{"age": map[string]any{"_ne": nil}, "name": map[string]any{"_like": "%o%"}}}, "", true},
		{`query($min: Int = 50) { User(filter: {age: {_gt: $min}}) { name } }`, nil, "", true},
		{`query($o: [UserOrderArg!]) { User(order: $o, limit: 1) { name } }`,
			map[string]any{"o": []any{map[string]any{"verified": "DESC"}, map[string]any{"age": "DESC"}}}, "", true},
		{`query($o: [UserOrderArg!]) { User(order: $o) { name } }`, map[string]any{"o": map[string]any{"age": "DESC"}}, "", true},
		{`query($l: Int, $o: Int) { User(order: {name: DESC}, limit: $l, offset: $o) { name } }`,
			map[string]any{"l": json.Number("1"), "o": json.Number("1")}, "", true},
		{`query($l: Int = 2) { User(order: {name: DESC}, limit: $l) { name } }`, nil, "", true},
		{`query($l: Int = 2) { User(order: {name: DESC}, limit: $l) { name } }`, map[string]any{"l": nil}, "", true},
		{`query($l: Int!) { User(limit: $l) { name } }`, map[string]any{"l": 3.0}, "", true},
		{`query($ids: [ID!]) { User(docID: $ids) { name } }`, map[string]any{"ids": []any{"$ada", "$dan"}}, "", true},
		{`query($id: [ID!]) { User(docID: $id) { name } }`, map[string]any{"id": "$bob"}, "", true},
		{`query($f: UserFilterArg) { _count(User: {filter: $f}) }`, map[string]any{"f": map[string]any{"verified": map[string]any{"_eq": true}}}, "", true},
		{`query($a: Int) { User(limit: $a) { name } }`, map[string]any{"a": "x"}, "", false},
		{`query($a: Int!) { User(limit: $a) { name } }`, nil, "", false},
		{`query($f: UserFilterArg) { User(filter: $f) { name } }`, map[string]any{"f": map[string]any{"nme": nil}}, "", false},
		{`query($f: UserFilterArg) { User(filter: $f) { name } }`, map[string]any{"f": "x"}, "", false},
		{`query($o: [UserOrderArg!]) { User(order: $o) { name } }`, map[string]any{"o": []any{map[string]any{"age": "UP"}}}, "", false},
		{`query($o: [UserOrderArg!]) { User(order: $o) { name } }`, map[string]any{"o": []any{nil}}, "", false},
		{`query($a: Int) { User(limit: $a) { name } }`, map[string]any{"a": json.Number("9223372036854775808")}, "", false},

		// Errors: graphql-go answers.
		{`{ User(limit: -1) { name } }`, nil, "", false},
		{`{ a: User(limit: 1) { name } b: _avg(User: {field: age}) c: _count(User: {}, Post: {}) }`, nil, "", false},
		{`query($o: [UserOrderArg!]) { User(order: $o) { name } }`,
			map[string]any{"o": map[string]any{"verified": "DESC", "age": "DESC"}}, "", false},
		{`query A { User { name } }`, nil, "B", false},

		// Not planned: graphql-go answers.
		{`{ User { __typename name } }`, nil, "", false},
		{`{ __typename }`, nil, "", false},
		{`{ User { ...F } } fragment F on User { name }`, nil, "", false},
		{`{ User { ... on User { name } } }`, nil, "", false},
		{`{ User { name @include(if: false) age } }`, nil, "", false},
		{`query A { User { name } } query B { Post { title } }`, nil, "B", false},
		{`{ User(limit: 1) { name } User(limit: 1) { age } }`, nil, "", false},
		{`{ __type(name: "User") { name } }`, nil, "", false},
		{`mutation { update_User(filter: {name: {_eq: "Nobody"}}, input: {age: 1}) { name } }`, nil, "", false},
		{`{ User { nme } }`, nil, "", false},
		{`{ User }`, nil, "", false},
		{`{ User(groupBy: [verified]) { verified } }`, nil, "", false}, // groups, not documents
		{`{ User(groupBy: [verified], order: {verified: DESC}) { verified _count(_group: {}) } }`, nil, "", false},
		{`{ User { name _version { cid height } } }`, nil, "", false}, // commits, not a document's fields
		{`{ _commits(docID: "$ada") { cid height } }`, nil, "", false},
		{`{ User(docID: "$ada", cid: "$ada") { name age } }`, nil, "", true}, // a document at a block
	} {
		req := client.GraphQLRequest{Query: f.expand(c.query), Variables: c.vars, OperationName: c.op}
		for k, v := range c.vars {
			switch v := v.(type) {
			case string:
				req.Variables[k] = f.expand(v)
			case []any:
				for i, e := range v {
					if s, ok := e.(string); ok {
						v[i] = f.expand(s)
					}
				}
			}
		}
		_, fast := bothWays(t, f.e, slow, req)
		if fast != c.fast {
			t.Errorf("%s %v: answered by the fast path %v, want %v", c.query, c.vars, fast, c.fast)
		}
	}
}

// TestFastPathResultSize exceeds Limits.MaxResultSize on the fast path: it
// stops there, and the request's answer is graphql-go's error.
func TestFastPathResultSize(t *testing.T) {
	f := newFixture(t, &graphql.Limits{MaxResultSize: 150})
	req := client.GraphQLRequest{Query: `{ a: User(filter: {name: {_eq: "Ada"}}) { name } b: User { name } }`}
	if _, planned, err := graphql.RunFast(f.e, req); !planned || err == nil || errors.Is(err, graphql.ErrNotFast) ||
		!strings.Contains(err.Error(), "the answer is larger than the limit of 150 bytes") {
		t.Fatalf("planned %v, err %v; want the size limit's error", planned, err)
	}
	got, _ := bothWays(t, f.e, graphql.WithoutFastPath(f.e), req)
	want := `{"data":null,"errors":[{"message":"the answer is larger than the limit of 150 bytes: ask for fewer documents (limit, offset), fewer fields or fewer requests at once","locations":[{"line":1,"column":50}],"path":["b"]}]}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	// Within the limit, the fast path answers.
	req.Query = `{ User(filter: {name: {_eq: "Ada"}}) { name } }`
	if _, fast := bothWays(t, f.e, graphql.WithoutFastPath(f.e), req); !fast {
		t.Fatal("the fast path did not answer a request within the limit")
	}
}

var seed = flag.Uint64("graphql.seed", 0, "seed of TestFastPathRandom (0: from the clock)")

// TestFastPathRandom makes random documents and random queries (selections,
// aliases, filters, orders, pages, aggregates, variables) and checks that the
// fast path answers each with the same bytes as graphql-go.
func TestFastPathRandom(t *testing.T) {
	sd := *seed
	if sd == 0 {
		sd = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -graphql.seed=%d)", sd, sd)
	rng := rand.New(rand.NewPCG(sd, 0))
	f := newFixture(t, nil)
	slow := graphql.WithoutFastPath(f.e)
	ctx := context.Background()

	strs := []string{"Ada", "bob", "", "é\u2028x", "quo\"te", "back\\slash", "tab\tnew\nline", "<&>", "\x01ctl", "日本"}
	floats := []float64{0, -0.5, 1.5, 1e21, 1e-7, 123456789.25, -3, math.MaxFloat64, 5e-324}
	var docs []map[string]any
	for range 20 + rng.IntN(40) {
		d := map[string]any{}
		if rng.IntN(4) > 0 {
			d["name"] = strs[rng.IntN(len(strs))]
		}
		if rng.IntN(4) > 0 {
			d["age"] = rng.Int64N(200) - 50
		}
		if rng.IntN(3) > 0 {
			d["verified"] = rng.IntN(2) == 0
		}
		if rng.IntN(3) > 0 {
			d["points"] = floats[rng.IntN(len(floats))]
		}
		docs = append(docs, d)
	}
	if _, err := f.user.CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}

	fields := []string{"_docID", "name", "age", "verified", "points"}
	aliases := []string{"a", "b", "name", "age", "Z", "_x"}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	lit := func(field string) string {
		switch field {
		case "name":
			b, _ := json.Marshal(pick(strs))
			return string(b)
		case "age":
			return fmt.Sprint(rng.IntN(200) - 50)
		case "verified":
			return fmt.Sprint(rng.IntN(2) == 0)
		case "points":
			return fmt.Sprint(pick([]string{"0", "1.5", "-3", "1e21", "100"}))
		}
		return `"x"`
	}
	filter := func() string {
		var parts []string
		for range rng.IntN(3) {
			field := pick(fields[1:])
			ops := []string{"_eq", "_ne"}
			if field != "verified" {
				ops = append(ops, "_gt", "_le")
			}
			val := lit(field)
			if rng.IntN(6) == 0 {
				val = "null"
			}
			op := pick(ops)
			if op != "_eq" && op != "_ne" && val == "null" {
				val = lit(field) // a range of null is an error
			}
			parts = append(parts, fmt.Sprintf("%s: {%s: %s}", field, op, val))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	fast := 0
	const requests = 300
	for i := range requests {
		vars := map[string]any{}
		var decls []string
		var top []string
		for j := range 1 + rng.IntN(3) {
			key := fmt.Sprintf("f%d", j)
			switch rng.IntN(6) {
			case 5:
				var sel []string
				for range 1 + rng.IntN(4) {
					sel = append(sel, pick([]string{"title", "likes", "at", "meta", "_docID", "t: title"}))
				}
				top = append(top, fmt.Sprintf("%s: Post(limit: %s) { %s }", key, pick([]string{"null", "0", "1"}), strings.Join(sel, " ")))
			case 0:
				top = append(top, fmt.Sprintf("%s: _count(User: {filter: %s})", key, filter()))
			case 1:
				op := pick([]string{"_sum", "_avg", "_min", "_max"})
				top = append(top, fmt.Sprintf("%s: %s(User: {field: %s, filter: %s})", key, op, pick([]string{"age", "points"}), filter()))
			default:
				var args []string
				if rng.IntN(2) == 0 {
					if rng.IntN(3) == 0 {
						name := fmt.Sprintf("v%d", j)
						decls = append(decls, "$"+name+": UserFilterArg")
						var m map[string]any
						json.Unmarshal([]byte(`{"age": {"_ge": 10}}`), &m)
						if rng.IntN(2) == 0 {
							m = map[string]any{"name": map[string]any{"_ne": nil}}
						}
						vars[name] = m
						args = append(args, "filter: $"+name)
					} else {
						args = append(args, "filter: "+filter())
					}
				}
				if rng.IntN(2) == 0 {
					// Each field once (twice is an error), so that at most
					// one field of a request fails: which one graphql-go
					// reports first varies from run to run.
					var keys []string
					for _, field := range rng.Perm(len(fields))[:1+rng.IntN(2)] {
						keys = append(keys, fmt.Sprintf("{%s: %s}", fields[field], pick([]string{"ASC", "DESC"})))
					}
					args = append(args, "order: ["+strings.Join(keys, ", ")+"]")
				}
				for _, page := range []string{"limit", "offset"} {
					switch rng.IntN(4) {
					case 0:
						args = append(args, fmt.Sprintf("%s: %d", page, rng.IntN(8)))
					case 1:
						name := fmt.Sprintf("%s%d", page, j)
						decl := "$" + name + ": Int"
						if rng.IntN(2) == 0 {
							decl += fmt.Sprintf(" = %d", rng.IntN(5))
						}
						decls = append(decls, decl)
						switch rng.IntN(3) {
						case 0:
							vars[name] = json.Number(fmt.Sprint(rng.IntN(8)))
						case 1:
							vars[name] = nil
						}
						args = append(args, page+": $"+name)
					}
				}
				var sel []string
				for range 1 + rng.IntN(6) {
					s := pick(fields)
					if rng.IntN(3) == 0 {
						s = pick(aliases) + ": " + s
					}
					sel = append(sel, s)
				}
				call := "User"
				if len(args) > 0 {
					call += "(" + strings.Join(args, ", ") + ")"
				}
				top = append(top, fmt.Sprintf("%s: %s { %s }", key, call, strings.Join(sel, " ")))
			}
		}
		q := "{ " + strings.Join(top, " ") + " }"
		if len(decls) > 0 {
			q = "query(" + strings.Join(decls, ", ") + ") " + q
		}
		req := client.GraphQLRequest{Query: q, Variables: vars}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, ok := bothWays(t, f.e, slow, req); ok {
				fast++
			}
		})
	}
	t.Logf("the fast path answered %d of %d requests", fast, requests)
	if fast < requests/2 {
		t.Errorf("the fast path answered %d of %d requests, want most", fast, requests)
	}
}

// TestResultSizeCountsEachCopy: a document's field selected under several
// aliases, or through fragments, is in the answer once per alias, and counts
// toward Limits.MaxResultSize as often, on both paths and in a mutation's
// answer. It counted once, so a request could select one large field under a
// thousand aliases and make the node build an answer a thousand times the
// limit.
func TestResultSizeCountsEachCopy(t *testing.T) {
	f := newFixture(t, &graphql.Limits{MaxResultSize: 2000})
	long := strings.Repeat("x", 900)
	if _, err := f.user.Create(context.Background(), map[string]any{"name": long}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"n": long}
	const over = "the answer is larger than the limit of 2000 bytes"
	for _, c := range []struct {
		query  string
		within bool
	}{
		{`query($n: String) { User(filter: {name: {_eq: $n}}) { name } }`, true},
		{`query($n: String) { User(filter: {name: {_eq: $n}}) { name name } }`, true}, // one key in the answer
		{`query($n: String) { User(filter: {name: {_eq: $n}}) { a: name b: name c: name } }`, false},
		{`query($n: String) { User(filter: {name: {_eq: $n}}) { a: name ...F } } fragment F on User { b: name c: name }`, false},
		{`query($n: String) { User(filter: {name: {_eq: $n}}) { a: name ... on User { b: name c: name } } }`, false},
	} {
		got, _ := bothWays(t, f.e, graphql.WithoutFastPath(f.e), client.GraphQLRequest{Query: c.query, Variables: vars})
		if c.within == strings.Contains(got, over) {
			t.Errorf("%s: %.200s; want it within the limit: %v", c.query, got, c.within)
		}
	}
	ans, _, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: `mutation($n: String) {
		update_User(filter: {name: {_eq: $n}}, input: {age: 1}) { a: name b: name c: name } }`, Variables: vars})
	if got, _ := json.Marshal(ans); err != nil || !strings.Contains(string(got), over) {
		t.Errorf("a mutation answering three copies: %.200s, %v; want the limit's error", got, err)
	}
}

// TestResultSizeCountsWhatIsSelected: a document's fields that a request does
// not select count nothing toward the answer's size, nor do those only its
// filter or order test: five documents of a 900-byte field and a small one
// answer the small one within a limit that four of the large one fill. (Each
// document counted its every field: such a request failed, however little
// it answered.)
func TestResultSizeCountsWhatIsSelected(t *testing.T) {
	f := newFixture(t, &graphql.Limits{MaxResultSize: 3600})
	long := strings.Repeat("x", 900)
	for range 5 {
		if _, err := f.user.Create(context.Background(), map[string]any{"name": long, "age": 99}); err != nil {
			t.Fatal(err)
		}
	}
	const over = "the answer is larger than the limit of 3600 bytes"
	for _, c := range []struct {
		query  string
		within bool
	}{
		{`{ User(filter: {age: {_eq: 99}}) { age } }`, true},
		{`{ User(filter: {age: {_eq: 99}}) { _docID } }`, true},
		{`{ User(filter: {age: {_eq: 99}, name: {_like: "x%"}}) { age } }`, true},
		{`{ User(filter: {age: {_eq: 99}}, order: {name: ASC}) { age } }`, true},
		{`{ User(filter: {age: {_eq: 99}}, limit: 3) { name } }`, true},
		{`{ User(filter: {age: {_eq: 99}}) { name } }`, false},
		{`{ User(filter: {age: {_eq: 99}}) { age ... on User { name } } }`, false},
	} {
		got, _ := bothWays(t, f.e, graphql.WithoutFastPath(f.e), client.GraphQLRequest{Query: c.query})
		if c.within == strings.Contains(got, over) {
			t.Errorf("%s: %.200s; want it within the limit: %v", c.query, got, c.within)
		}
	}
	for _, c := range []struct {
		query  string
		within bool
	}{
		{`mutation { update_User(filter: {age: {_eq: 99}}, input: {verified: true}) { age } }`, true},
		{`mutation { update_User(filter: {age: {_eq: 99}}, input: {verified: true}) { name } }`, false},
	} {
		ans, _, err := f.e.Do(context.Background(), client.GraphQLRequest{Query: c.query})
		if got, _ := json.Marshal(ans); err != nil || c.within == strings.Contains(string(got), over) {
			t.Errorf("%s: %.200s, %v; want it within the limit: %v", c.query, got, err, c.within)
		}
	}
}
