package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/client"
)

// TestHistoryCommands lists a document's blocks with `gossipdb client
// collection history` against a running node, and prints the document as it
// was at one of them with `collection get --at`.
func TestHistoryCommands(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)
	var created client.DocIDResult
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", `{"name": "Ada", "age": 36}`, "--url", url), &created)
	id := created.DocID
	ok(t, "client", "collection", "update", "--name", "User", "--docID", id, `{"age": 37}`, "--url", url)

	out := ok(t, "client", "collection", "history", "--name", "User", id, "--url", url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("history of two blocks printed %d lines:\n%s", len(lines), out)
	}
	var update, genesis client.BlockInfo
	for i, v := range []*client.BlockInfo{&update, &genesis} {
		if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, lines[i])
		}
	}
	if update.Height != 2 || update.Set["age"] != 37.0 || genesis.CID != id || genesis.Set["name"] != "Ada" {
		t.Fatalf("history:\n%s", out)
	}
	var then client.Document
	decodeJSON(t, ok(t, "client", "collection", "get", "--name", "User", "--at", genesis.CID, id, "--url", url), &then)
	if then.ID != id || then.Fields["age"] != json.Number("36") {
		t.Errorf("at the genesis: %+v, want age 36", then)
	}
	fails(t, []string{"client", "collection", "get", "--name", "User", "--at", "nonsense", id, "--url", url}, "nonsense")
	fails(t, []string{"client", "collection", "history", "--name", "Nope", id, "--url", url}, "Nope")
	fails(t, []string{"client", "collection", "history", "--name", "User", "--url", url}, "DOCID")
}
