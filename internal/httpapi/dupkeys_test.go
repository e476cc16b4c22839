package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDuplicateKeysRefused: a body whose object holds a key twice, at any
// depth, is refused with a 400 naming the key and where its object is, rather
// than stored with the last value; the same key escaped otherwise ("\u0061")
// counts, and so do keys in other case that a request struct takes for one
// field. Nothing is written.
func TestDuplicateKeysRefused(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada", "age": 36}`)
	const docs = "/api/v0/collections/User/documents"
	for _, c := range []struct{ method, path, body, want string }{
		{"POST", docs, `{"name": "a", "name": "b"}`, `duplicate key \"name\"`},
		{"POST", docs, `{"name": "a", "\u006eame": "b"}`, `duplicate key \"name\"`},
		{"POST", docs, `[{"name": "a"}, {"age": 1, "name": "a", "age": 2}]`, `duplicate key \"age\" in [1]`},
		{"POST", docs, `{"name": {"x": 1, "y": [{"z": 1, "z": 1}]}}`, `duplicate key \"z\" in name.y[0]`},
		{"PATCH", docs + "/" + id, `{"age": 1, "age": 2}`, `duplicate key \"age\"`},
		{"POST", "/api/v0/tx", `{"ops": [{"op": "create", "collection": "User", "fields": {"name": "a", "name": "b"}}]}`,
			`duplicate key \"name\" in ops[0].fields`},
		{"POST", "/api/v0/tx", `{"ops": [{"op": "create", "collection": "User", "op": "create", "fields": {"name": "a"}}]}`,
			`duplicate key \"op\" in ops[0]`},
		{"POST", "/api/v0/graphql", `{"query": "{ User { name } }", "query": "{ User { age } }"}`, `duplicate key \"query\"`},
		{"POST", "/api/v0/graphql", `{"query": "mutation($n: String) { create_User(input: {name: $n}) { name } }", "variables": {"n": "a", "n": "b"}}`,
			`duplicate key \"n\" in variables`},
		{"POST", "/api/v0/collections", `{"sdl": "type A { a: Int }", "sdl": "type B { b: Int }"}`, `duplicate key \"sdl\"`},
		// Keys that encoding/json takes for one field of a request, in other case.
		{"POST", "/api/v0/collections", `{"sdl": "type A { a: Int }", "SDL": "type B { b: Int }"}`,
			`duplicate key \"SDL\" (the same as \"sdl\": keys are matched regardless of case)`},
		{"POST", "/api/v0/graphql", `{"query": "{ User { name } }", "Query": "{ User { age } }"}`,
			`duplicate key \"Query\" (the same as \"query\": keys are matched regardless of case)`},
		{"POST", "/api/v0/tx", `{"ops": [{"op": "create", "collection": "User", "Op": "update", "fields": {"name": "a"}}]}`,
			`duplicate key \"Op\" in ops[0] (the same as \"op\": keys are matched regardless of case)`},
	} {
		got := call(t, srv, c.method, c.path, c.body)
		want := `{"error":"invalid JSON body: ` + c.want + `"}`
		if got.want(t, http.StatusBadRequest); strings.TrimSpace(got.body) != want {
			t.Errorf("%s %s %s: %s, want %s", c.method, c.path, c.body, got.body, want)
		}
	}
	if got := call(t, srv, "GET", "/api/v0/collections/User/docIDs", "").want(t, http.StatusOK); strings.Count(got.body, "bafyrei") != 1 {
		t.Errorf("docIDs after refused creates: %s", got.body)
	}
	got := call(t, srv, "GET", docs+"/"+id, "")
	if got.want(t, http.StatusOK); !strings.Contains(got.body, `"age":36`) {
		t.Errorf("document after refused updates: %s", got.body)
	}
	got = call(t, srv, "GET", docs+"?where="+url.QueryEscape(`{"name": "Ada", "name": "Bob"}`), "")
	if got.want(t, http.StatusBadRequest); strings.TrimSpace(got.body) != `{"error":"where: duplicate key \"name\""}` {
		t.Errorf("where: %s", got.body)
	}
}
