package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/httpapi"
)

func TestGraphQL(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	const path = "/api/v0/graphql"

	create := call(t, srv, "POST", path, `{"query": "mutation { create_User(input: [{name: \"Ada\", age: 36}, {name: \"Bob\", age: 20}]) { name } }"}`)
	if create.want(t, http.StatusOK); create.body != `{"data":{"create_User":[{"name":"Ada"},{"name":"Bob"}]}}`+"\n" {
		t.Fatalf("create: %s", create.body)
	}
	query := call(t, srv, "POST", path, `{"query": "query($min: Int) { User(filter: {age: {_gt: $min}}) { name age } }", "variables": {"min": 30}}`)
	if query.want(t, http.StatusOK); query.body != `{"data":{"User":[{"name":"Ada","age":36}]}}`+"\n" {
		t.Fatalf("query: %s", query.body)
	}
	failed := call(t, srv, "POST", path, `{"query": "{ _count(User: {}, Nope: {}) }"}`)
	if failed.want(t, http.StatusBadRequest); !strings.Contains(failed.body, `Unknown argument \"Nope\" on field \"_count\" of type \"Query\".","locations":[{"line":1,"column":20}]`) {
		t.Fatalf("unknown collection: %s", failed.body)
	}
	ranWithErrors := call(t, srv, "POST", path, `{"query": "{ User(limit: -1) { name } }"}`)
	if ranWithErrors.want(t, http.StatusOK); ranWithErrors.body != `{"data":null,"errors":[{"message":"gossipdb: invalid input: negative limit -1","locations":[{"line":1,"column":3}],"path":["User"]}]}`+"\n" {
		t.Fatalf("ran with errors: %s", ranWithErrors.body)
	}
	// A range or a pattern given null is refused before running, as a value
	// of the wrong type is; _eq, _ne and _in take null.
	nullGt := call(t, srv, "POST", path, `{"query": "{\n  User(filter: {age: {_gt: null}}) { name }\n}"}`)
	if nullGt.want(t, http.StatusBadRequest); nullGt.body != `{"errors":[{"message":"Argument \"filter\" has invalid value {age: {_gt: null}}.\nIn field \"age\": In field \"_gt\": Expected a value, found null (_gt compares with a value; _eq: null matches null).","locations":[{"line":2,"column":28}]}]}`+"\n" {
		t.Fatalf("_gt: null: %s", nullGt.body)
	}
	nullLike := call(t, srv, "POST", path, `{"query": "query($p: String) { User(filter: {name: {_like: $p}}) { name } }", "variables": {"p": null}}`)
	if nullLike.want(t, http.StatusBadRequest); nullLike.body != `{"errors":[{"message":"Variable \"$p\" got invalid value null.\nIn argument \"filter\": In field \"name\": In field \"_like\": Expected a value, found null (_like matches a pattern; _eq: null matches null).","locations":[{"line":1,"column":7},{"line":1,"column":49}]}]}`+"\n" {
		t.Fatalf("_like: $p, null: %s", nullLike.body)
	}
	nullEq := call(t, srv, "POST", path, `{"query": "query($n: Int) { a: User(filter: {age: {_ne: $n, _in: [null, 36]}}) { name } b: User(filter: {age: {_eq: null}}) { name } }", "variables": {"n": null}}`)
	if nullEq.want(t, http.StatusOK); nullEq.body != `{"data":{"a":[{"name":"Ada"}],"b":[]}}`+"\n" {
		t.Fatalf("_eq, _ne, _in null: %s", nullEq.body)
	}
	syntax := call(t, srv, "POST", path, `{"query": "{\n  User {\n    name\n"}`)
	if syntax.want(t, http.StatusBadRequest); syntax.body != `{"errors":[{"message":"syntax error: Expected Name, found EOF","locations":[{"line":4,"column":1}]}]}`+"\n" {
		t.Fatalf("syntax error: %s", syntax.body)
	}

	// Bodies that are not a GraphQL request get the API's usual errors.
	call(t, srv, "POST", path, `{"query": `).wantError(t, http.StatusBadRequest, "invalid JSON body")
	call(t, srv, "POST", path, `{"query": 5}`).wantError(t, http.StatusBadRequest, "invalid JSON body")
	call(t, srv, "POST", path, `{"query": "{ User(filter: {name: {_eq: \"\ud800\"}}) { name } }"}`).wantError(t, http.StatusBadRequest, "lone UTF-16 surrogate")
	call(t, srv, "GET", path, "").wantError(t, http.StatusMethodNotAllowed, "allowed: POST")
}

// TestGraphQLGuarded checks that the endpoint is behind the guard like every
// other: a web page cannot post a GraphQL request as a simple form.
func TestGraphQLGuarded(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{Token: "secret"})
	req, _ := http.NewRequest("POST", srv.URL+"/api/v0/graphql", strings.NewReader(`{"query": "{ __typename }"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain body: status %d, want 415", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/api/v0/graphql", strings.NewReader(`{"query": "{ __typename }"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: status %d, want 401", resp.StatusCode)
	}
}

func TestGraphQLLimitsOption(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{GraphQL: graphql.Limits{MaxDepth: 1}})
	call(t, srv, "POST", "/api/v0/graphql", `{"query": "{ __schema { queryType { name } } }"}`).want(t, http.StatusBadRequest)
	if _, err := httpapi.NewHandler(n, &httpapi.Options{GraphQL: graphql.Limits{MaxFields: -1}}); err == nil ||
		!strings.Contains(err.Error(), "Options.GraphQL") || !strings.Contains(err.Error(), "MaxFields") {
		t.Fatalf("negative MaxFields: %v", err)
	}

	// A request out of time ran: its fields fail.
	slow := serve(t, n, &httpapi.Options{GraphQL: graphql.Limits{MaxDuration: time.Nanosecond}})
	addUser(t, slow)
	late := call(t, slow, "POST", "/api/v0/graphql", `{"query": "{ _count(User: {}) }"}`)
	if late.want(t, http.StatusOK); !strings.Contains(late.body, `"message":"the request ran longer than the limit of 1ns: `) {
		t.Fatalf("out of time: %s", late.body)
	}
}

// TestGraphQLContentLength checks that an answer larger than net/http's
// buffer (2 KiB) is sent whole with its length, not in chunks.
func TestGraphQLContentLength(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	const path = "/api/v0/graphql"
	var docs []string
	for i := range 100 {
		docs = append(docs, fmt.Sprintf(`{name: \"user-%d\", age: %d}`, i, i))
	}
	call(t, srv, "POST", path, `{"query": "mutation { create_User(input: [`+strings.Join(docs, ", ")+`]) { age } }"}`).want(t, http.StatusOK)
	for _, q := range []string{`{ User { _docID name age } }`, `{ User(limit: 1) { name } }`, `{ User(limit: -1) { name } }`, `{ User { nope } }`} {
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(`{"query": "`+q+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) > 0 || !strings.HasSuffix(string(body), "}\n") {
			t.Fatalf("%s: Content-Length %d, Transfer-Encoding %v, %d bytes: %.200s", q, resp.ContentLength, resp.TransferEncoding, len(body), body)
		}
	}
}

// TestGraphQLBadBodies checks the errors of bodies that are not a GraphQL
// request, each for the first thing wrong with it: its JSON syntax, a second
// value, its strings, then the types of its members.
func TestGraphQLBadBodies(t *testing.T) {
	_, srv := newServer(t)
	for _, c := range []struct{ body, want string }{
		{``, `{"error":"empty request body: want JSON"}`},
		{`  `, `{"error":"empty request body: want JSON"}`},
		{`{"query": `, `{"error":"invalid JSON body: unexpected end of input"}`},
		{`{"query": "{ a }"} {}`, `{"error":"invalid JSON body: more than one JSON value"}`},
		{`{"query": "{ a }"} ]`, `{"error":"invalid JSON body: invalid character ']' looking for beginning of value"}`},
		{`{"query": 5, "x": "\ud800"} {}`, `{"error":"invalid JSON body: more than one JSON value"}`},
		{`{"query": 5, "x": "\ud800"}`, `{"error":"invalid JSON body: a string is not valid UTF-8 or holds a lone UTF-16 surrogate"}`},
		{"{\"query\": 5, \"x\": \"\xff\"}", `{"error":"invalid JSON body: a string is not valid UTF-8 or holds a lone UTF-16 surrogate"}`},
		{`{"query": 5}`, `{"error":"invalid JSON body: \"query\": want a string, got a number"}`},
		{`[1]`, `{"error":"invalid JSON body: want an object, got a list"}`},
	} {
		got := call(t, srv, "POST", "/api/v0/graphql", c.body)
		if got.want(t, http.StatusBadRequest); strings.TrimSpace(got.body) != c.want {
			t.Errorf("%q: %s, want %s", c.body, got.body, c.want)
		}
	}
}

// TestGraphQLAggregateOutOfRange: a sum beyond the range of a Float fails its
// field, 200 with an error, not the whole request with a 500.
func TestGraphQLAggregateOutOfRange(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	const path = "/api/v0/graphql"
	call(t, srv, "POST", path, `{"query": "mutation { create_User(input: [{name: \"Ada\", points: 1.7e308}, {name: \"Bob\", points: 1.7e308}]) { name } }"}`).want(t, http.StatusOK)
	got := call(t, srv, "POST", path, `{"query": "{ _sum(User: {field: points}) }"}`)
	if got.want(t, http.StatusOK); got.body != `{"data":{"_sum":null},"errors":[{"message":"gossipdb: invalid input: field \"points\": sum is out of the range of a Float","locations":[{"line":1,"column":3}],"path":["_sum"]}]}`+"\n" {
		t.Fatalf("sum: %s", got.body)
	}
}
