package graphql

import (
	"testing"

	"github.com/gossipdb/gossipdb/client"
)

// TestChargeKeepsWhatItCounts: charge drops the values of a document that no
// field of the answer reads, so that the bytes the answer holds are the bytes
// it counted, and keeps those a selected field reads besides its own: the ID
// a relation holds (for _authorID), a list (for an aggregate over it), the
// document's ID.
func TestChargeKeepsWhatItCounts(t *testing.T) {
	r := &request{e: &Executor{lim: Limits{}.withDefaults()}}
	doc := map[string]any{client.DocIDKey: "id", "name": "Ada", "bio": "a long text", "author": "a1", "tags": []any{"x"}}
	shape := docShape{times: map[string]int{"name": 2}, keys: len("a") + len("b"), reads: map[string]bool{"author": true, "tags": true}}
	if err := r.charge(doc, shape); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["bio"]; ok || len(doc) != 4 {
		t.Fatalf("kept %v; want all but bio", doc)
	}
	// The response keys, then each field kept: its name, and its value (a
	// string's length, a list's items and brackets) once for each place.
	want := 2 + len(client.DocIDKey) + len("id") + len("name") + 2*len("Ada") + len("author") + len("a1") + len("tags") + len("x") + 3
	if r.size != want {
		t.Fatalf("counted %d bytes; want %d", r.size, want)
	}
}
