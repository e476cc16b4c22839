package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTx applies a file of operations through `gossipdb client tx`: all of
// them, then a file with a bad operation that writes none.
func TestTx(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)
	var created struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", `{"name": "Ada", "age": 36}`, "--url", url), &created)
	dir := t.TempDir()
	file := filepath.Join(dir, "ops.json")
	ops := fmt.Sprintf(`[{"op": "create", "collection": "User", "fields": {"name": "Bob"}},
		{"op": "update", "collection": "User", "docID": %q, "fields": {"age": 37}}]`, created.DocID)
	if err := os.WriteFile(file, []byte(ops), 0o600); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Results []struct {
			DocID string `json:"_docID"`
		}
	}
	decodeJSON(t, ok(t, "client", "tx", file, "--url", url), &res)
	if len(res.Results) != 2 || !strings.HasPrefix(res.Results[0].DocID, "bafyrei") || res.Results[1].DocID != created.DocID {
		t.Fatalf("tx printed %+v", res)
	}
	bad := fmt.Sprintf(`[{"op": "delete", "collection": "User", "docID": %q}, {"op": "create", "collection": "User", "fields": {"age": "x"}}]`, created.DocID)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"client", "tx", file, "--url", url}, "op 1:", `field "age"`)
	ok(t, "client", "collection", "get", "--name", "User", created.DocID, "--url", url) // not deleted
	fails(t, []string{"client", "tx", filepath.Join(dir, "none.json"), "--url", url}, "no such file")
	if err := os.WriteFile(file, []byte(`{"op": "create"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"client", "tx", file, "--url", url}, "want a JSON list", `or {"ops": [...]}: unknown field "op"`)
	// The body of POST /api/v0/tx is read too.
	if err := os.WriteFile(file, []byte(`{"ops": [{"op": "create", "collection": "User", "fields": {"name": "Cy"}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, ok(t, "client", "tx", file, "--url", url), &res)
	if len(res.Results) != 1 || !strings.HasPrefix(res.Results[0].DocID, "bafyrei") {
		t.Fatalf("tx of {\"ops\": ...} printed %+v", res)
	}
	if err := os.WriteFile(file, []byte(`{"ops": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"client", "tx", file, "--url", url}, `"ops": want a list, got an object`)
	if err := os.WriteFile(file, []byte(`[{"op": 1}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"client", "tx", file, "--url", url}, `"op": want a string, got a number`)
	// A key given twice is refused, not sent with one of its values.
	if err := os.WriteFile(file, []byte(`[{"op": "create", "collection": "User", "fields": {"name": "Di", "name": "Ed"}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"client", "tx", file, "--url", url}, `invalid JSON operations: duplicate key "name" in [0].fields`)
	if err := os.WriteFile(file, []byte(`[{"op": "create", "collection": "User", "Collection": "Post", "fields": {"name": "Di"}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"client", "tx", file, "--url", url}, `invalid JSON operations: duplicate key "Collection" in [0] (the same as "collection"`)
}
