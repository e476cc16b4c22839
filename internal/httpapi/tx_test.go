package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// TestTx applies operations atomically: a good request writes all of them and
// answers their IDs; a request with one bad operation names it and writes
// nothing; malformed and oversized requests are refused.
func TestTx(t *testing.T) {
	n, srv := newServer(t)
	ctx := context.Background()
	if _, err := n.AddCollection(ctx, userSDL); err != nil {
		t.Fatal(err)
	}
	users, _ := n.Collection("User")
	id, err := users.Create(ctx, map[string]any{"name": "Ada", "age": 36})
	if err != nil {
		t.Fatal(err)
	}
	var res client.TxResult
	call(t, srv, "POST", "/api/v0/tx", fmt.Sprintf(`{"ops": [
		{"op": "create", "collection": "User", "fields": {"name": "Bob", "age": 20}},
		{"op": "update", "collection": "User", "docID": %q, "fields": {"age": 37}},
		{"op": "delete", "collection": "User", "docID": %q}]}`, id, id)).want(t, http.StatusOK).decode(t, &res)
	if len(res.Results) != 3 || res.Results[1].DocID != string(id) || res.Results[0].DocID == "" {
		t.Fatalf("results %+v", res)
	}
	before, err := users.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"ops": [{"op": "create", "collection": "User", "fields": {"name": "Cy"}}, {"op": "create", "collection": "User", "fields": {"age": "old"}}]}`, "op 1:"},
		{`{"ops": [{"op": "create", "collection": "User", "fields": {"name": "Cy"}}, {"op": "update", "collection": "User", "docID": "bafyreinope", "fields": {"age": 1}}]}`, "op 1:"},
		{`{"ops": [{"op": "create", "collection": "Nope", "fields": {}}]}`, "op 0:"},
		{`{"ops": [{"op": "upsert", "collection": "User"}]}`, "unknown op"},
		{`{"ops": [{"op": "delete", "collection": "User"}]}`, "needs a docID"},
		{`{"ops": [{"op": "create", "collection": "User", "fields": ["x"]}]}`, "fields"},
		{`{"ops": [{"op": "create", "collection": "User", "fields": {"name": "\ud800"}}]}`, "surrogate"},
		{`{"ops": [], "extra": 1}`, "unknown field"},
		{`[]`, "invalid JSON body: want an object, got a list"},
		{`{"ops": [1]}`, `invalid JSON body: \"ops\": want an object, got a number`},
		{`{"ops": [{"op": 1, "collection": "User"}]}`, `invalid JSON body: \"ops.op\": want a string, got a number`},
	} {
		a := call(t, srv, "POST", "/api/v0/tx", tc.body)
		if a.status < 400 || a.status > 404 || !strings.Contains(a.body, tc.want) {
			t.Errorf("%s: status %d, body %s; want an error containing %q", tc.body, a.status, a.body, tc.want)
		}
	}
	ops := make([]string, client.MaxTxOps+1)
	for i := range ops {
		ops[i] = `{"op": "delete", "collection": "User", "docID": "x"}`
	}
	call(t, srv, "POST", "/api/v0/tx", `{"ops": [`+strings.Join(ops, ",")+`]}`).wantError(t, http.StatusBadRequest, "at most")
	after, err := users.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Error("a refused transaction request wrote something")
	}
	// The client's Tx.
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := c.Tx(ctx, []client.TxOp{{Op: client.OpCreate, Collection: "User", Fields: map[string]any{"name": "Dee"}}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("client Tx = %v, %v", ids, err)
	}
	if _, err := c.Tx(ctx, []client.TxOp{{Op: client.OpDelete, Collection: "User", DocID: ids[0]}, {Op: client.OpDelete, Collection: "User", DocID: ids[0]}}); err == nil || !strings.Contains(err.Error(), "op 1:") {
		t.Fatalf("client Tx deleting twice: %v, want an error naming op 1", err)
	}
	if _, err := users.Get(ctx, gossipdb.DocID(ids[0])); err != nil {
		t.Fatalf("the failed request deleted the document: %v", err)
	}
}
