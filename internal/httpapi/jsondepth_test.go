package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/crdt"
)

// nested returns the compact JSON text of depth arrays nested around 1.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// TestJSONDepth checks that a JSON value nesting crdt.MaxJSONDepth arrays is
// stored over HTTP and GraphQL and reads back intact through a document GET,
// a page of documents and a GraphQL query as the Go client runs it, and that
// one more level is refused with 400 naming the field and the limit, by a
// create, an update and a GraphQL mutation.
func TestJSONDepth(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Post { meta: JSON }"}`).want(t, http.StatusOK)
	atLimit, over := nested(crdt.MaxJSONDepth), nested(crdt.MaxJSONDepth+1)
	refused := fmt.Sprintf(`field "meta": JSON value nests arrays and objects deeper than the limit of %d`, crdt.MaxJSONDepth)

	id := createDocIn(t, srv, "Post", `{"meta": `+atLimit+`}`)
	path := "/api/v0/collections/Post/documents/" + id
	if a := call(t, srv, "GET", path, "").want(t, http.StatusOK); a.body != `{"_docID":"`+id+`","meta":`+atLimit+"}\n" {
		t.Errorf("GET of the value at the limit: %.300s", a.body)
	}
	if a := call(t, srv, "GET", "/api/v0/collections/Post/documents", "").want(t, http.StatusOK); a.body != `{"documents":[{"_docID":"`+id+`","meta":`+atLimit+"}]}\n" {
		t.Errorf("page with the value at the limit: %.300s", a.body)
	}
	call(t, srv, "POST", "/api/v0/collections/Post/documents", `{"meta": `+over+`}`).
		wantError(t, http.StatusBadRequest, refused)
	call(t, srv, "PATCH", path, `{"meta": `+over+`}`).
		wantError(t, http.StatusBadRequest, refused)

	cl, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const mutation = `mutation($m: JSON) { create_Post(input: [{meta: $m}]) { _docID } }`
	res, err := cl.Query(ctx, mutation, map[string]any{"m": json.RawMessage(over)})
	if err != nil || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, refused) {
		t.Errorf("GraphQL create of depth %d: %+v, %v; want an error naming meta and the limit", crdt.MaxJSONDepth+1, res, err)
	}
	if res, err = cl.Query(ctx, mutation, map[string]any{"m": json.RawMessage(atLimit)}); err != nil || len(res.Errors) != 0 {
		t.Fatalf("GraphQL create at the limit: %+v, %v", res, err)
	}
	res, err = cl.Query(ctx, `{ Post(filter: {_docID: {_eq: "`+id+`"}}) { meta } }`, nil)
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("GraphQL query: %+v, %v", res, err)
	}
	if want := `{"Post":[{"meta":` + atLimit + `}]}`; string(res.Data) != want {
		t.Errorf("GraphQL answer %.300s, want %.300s", res.Data, want)
	}
	if a := call(t, srv, "GET", "/api/v0/collections/Post/documents", "").want(t, http.StatusOK); strings.Count(a.body, `"_docID"`) != 2 {
		t.Errorf("want the two documents at the limit: %.300s", a.body)
	}
}
