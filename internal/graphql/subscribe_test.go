package graphql_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// subscribe runs query as a subscription until the test ends, and returns
// the channel of its answers, each encoded as JSON.
func subscribe(t *testing.T, e *graphql.Executor, query string, vars map[string]any) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	answers, refused, err := e.Subscribe(ctx, client.GraphQLRequest{Query: query, Variables: vars})
	if err != nil || answers == nil {
		cancel()
		t.Fatalf("Subscribe: %v %+v", err, refused)
	}
	out := make(chan string)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(out)
		for resp := range answers {
			b, err := json.Marshal(resp)
			if err != nil {
				t.Error(err)
				return
			}
			select {
			case out <- string(b):
			case <-ctx.Done():
				return
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return out
}

// next returns the next answer of a subscription, failing after a while.
func next(t *testing.T, answers <-chan string) string {
	t.Helper()
	select {
	case a, ok := <-answers:
		if !ok {
			t.Fatal("the subscription ended")
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer in 10s")
	}
	return ""
}

func TestSubscription(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	answers := subscribe(t, f.e, `subscription { User(filter: {age: {_gt: 30}}) { _docID name age } }`, nil)

	young, err := f.user.Create(ctx, map[string]any{"name": "Eve", "age": 12})
	if err != nil {
		t.Fatal(err)
	}
	old, err := f.user.Create(ctx, map[string]any{"name": "Fay", "age": 40})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data":{"User":[{"_docID":"` + string(old) + `","name":"Fay","age":40}]}}`
	if got := next(t, answers); got != want {
		t.Fatalf("create: got %s, want %s", got, want)
	}
	if err := f.user.Update(ctx, young, map[string]any{"age": 13}); err != nil { // still no match
		t.Fatal(err)
	}
	if err := f.user.Delete(ctx, old); err != nil {
		t.Fatal(err)
	}
	post, err := f.n.Collection("Post") // another collection's changes answer nothing
	if err != nil {
		t.Fatal(err)
	}
	if _, err := post.Create(ctx, map[string]any{"title": "x", "likes": 40}); err != nil {
		t.Fatal(err)
	}
	if err := f.user.Update(ctx, young, map[string]any{"age": 31}); err != nil {
		t.Fatal(err)
	}
	want = `{"data":{"User":[{"_docID":"` + string(young) + `","name":"Eve","age":31}]}}`
	if got := next(t, answers); got != want {
		t.Fatalf("update: got %s, want %s", got, want)
	}
}

func TestSubscriptionDocIDAndAlias(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	answers := subscribe(t, f.e, f.expand(`subscription S($id: [ID!]) { who: User(docID: $id) { n: name } }`),
		map[string]any{"id": []any{f.ids["$bob"]}})
	if err := f.user.Update(ctx, gossipdb.DocID(f.ids["$ada"]), map[string]any{"age": 37}); err != nil {
		t.Fatal(err)
	}
	if err := f.user.Update(ctx, gossipdb.DocID(f.ids["$bob"]), map[string]any{"age": 21}); err != nil {
		t.Fatal(err)
	}
	if got, want := next(t, answers), `{"data":{"who":[{"n":"Bob"}]}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestSubscriptionVariableDefault: a variable of a non-null type takes its
// default when none is sent, in a subscription too.
func TestSubscriptionVariableDefault(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	answers := subscribe(t, f.e, `subscription S($n: String! = "Bob") { User(filter: {name: {_eq: $n}}) { name age } }`, nil)
	if err := f.user.Update(ctx, gossipdb.DocID(f.ids["$ada"]), map[string]any{"age": 37}); err != nil {
		t.Fatal(err)
	}
	if err := f.user.Update(ctx, gossipdb.DocID(f.ids["$bob"]), map[string]any{"age": 21}); err != nil {
		t.Fatal(err)
	}
	if got, want := next(t, answers), `{"data":{"User":[{"name":"Bob","age":21}]}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestSubscriptionRefused(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name, query string
		vars        map[string]any
		want        string
	}{
		{"two root fields", `subscription { User { name } Post { title } }`, nil,
			`{"errors":[{"message":"a subscription selects exactly one root field, one collection such as User(filter: …) { … }; this one selects 2","locations":[{"line":1,"column":1}]}]}`},
		{"typename", `subscription { __typename }`, nil,
			`{"errors":[{"message":"a subscription selects one collection such as User(filter: …) { … }, not __typename","locations":[{"line":1,"column":1}]}]}`},
		{"bad filter", "subscription {\n  User(filter: {age: {_gtt: 3}}) { name }\n}", nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gtt: 3}}.\nIn field \"age\": In field \"_gtt\": Unknown field.","locations":[{"line":2,"column":16}]}]}`},
		{"a range given null", `subscription { User(filter: {age: {_gt: null}}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gt: null}}.\nIn field \"age\": In field \"_gt\": Expected a value, found null (_gt compares with a value; _eq: null matches null).","locations":[{"line":1,"column":41}]}]}`},
		{"a pattern given null by a variable", `subscription($p: String) { User(filter: {name: {_like: $p}}) { name } }`, map[string]any{"p": nil},
			`{"errors":[{"message":"Variable \"$p\" got invalid value null.\nIn argument \"filter\": In field \"name\": In field \"_like\": Expected a value, found null (_like matches a pattern; _eq: null matches null).","locations":[{"line":1,"column":14},{"line":1,"column":56}]}]}`},
		{"query", `{ User { name } }`, nil,
			`{"errors":[{"message":"the query operation is not a subscription: send it as a request that is answered once"}]}`},
		{"bad variable", `subscription($f: UserFilterArg) { User(filter: $f) { name } }`,
			map[string]any{"f": map[string]any{"age": map[string]any{"_gt": "old"}}}, ""},
		{"a variable of the wrong kind", "subscription(\n  $n: String) { User(filter: {name: {_eq: $n}}) { name } }", map[string]any{"n": json.Number("5")},
			`{"errors":[{"message":"Variable \"$n\" got invalid value 5.\nExpected type \"String\", found 5.","locations":[{"line":2,"column":3}]}]}`},
		{"a null sent where a non-null value is wanted", `subscription($b: Boolean = true) { User { name @include(if: $b) } }`, map[string]any{"b": nil},
			`{"errors":[{"message":"Variable \"$b\" of type \"Boolean\" is null where type \"Boolean!\" is expected: a null sent is the variable's value, not its default; send a value, or leave the variable out.","locations":[{"line":1,"column":14},{"line":1,"column":61}]}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := c.vars
			answers, refused, err := f.e.Subscribe(context.Background(), client.GraphQLRequest{Query: c.query, Variables: vars})
			if err != nil || answers != nil {
				t.Fatalf("got %v, %v; want refused", answers != nil, err)
			}
			b, _ := json.Marshal(refused)
			if c.want == "" {
				if len(refused.Errors) == 0 {
					t.Fatal("no error")
				}
				return
			}
			if string(b) != c.want {
				t.Fatalf("got  %s\nwant %s", b, c.want)
			}
		})
	}
	// Do answers a subscription with what to do instead.
	got, ran := f.do(t, `subscription { User { name } }`, nil)
	if ran || !strings.Contains(got, "run it with Subscribe") {
		t.Fatalf("Do: %s, %v", got, ran)
	}
}

func TestSubscriptionDropped(t *testing.T) {
	n := nodetest.Open(t, "", &gossipdb.Options{WatchBuffer: 1})
	cols, err := n.AddCollection(context.Background(), sdl)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	answers := subscribe(t, e, `subscription { User { name } }`, nil)
	// The answers are not read while the documents are created: the watch
	// holds one and then drops them.
	for i := range 20 {
		if _, err := cols[0].Create(context.Background(), map[string]any{"name": "u", "age": i}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		got := next(t, answers)
		if strings.HasPrefix(got, `{"errors":[{"message":"`) && strings.Contains(got, "changes of User were missed") {
			return
		}
		if got != `{"data":{"User":[{"name":"u"}]}}` {
			t.Fatalf("got %s", got)
		}
	}
}
