package main_test

import (
	"strings"
	"testing"
)

// TestCollectionPatch: `collection patch` gives a collection a new version that
// keeps its schema ID and documents, answers with the version and a diff, and
// refuses incompatible changes naming the field; `collection add` of a changed
// definition says to patch.
func TestCollectionPatch(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	var cols []collectionInfo
	decodeJSON(t, ok(t, "client", "collection", "add", `type Todo { title: String done: Boolean votes: Int @crdt(type: pncounter) }`, "--url", url), &cols)
	var created struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "Todo", `{"title": "write docs"}`, "--url", url), &created)

	var res struct {
		Name, Version, Parent string
		Diff                  []string
	}
	decodeJSON(t, ok(t, "client", "collection", "patch", "--name", "Todo", `type Todo {
		text: String @rename(from: "title")
		done: Boolean
		votes: Int @crdt(type: pncounter)
		owner: String @default(string: "nobody")
	}`, "--url", url), &res)
	if res.Name != "Todo" || res.Parent != cols[0].SchemaID || !strings.HasPrefix(res.Version, "bafyrei") ||
		strings.Join(res.Diff, "; ") != `field "owner": added; field "text": renamed from "title"` {
		t.Fatalf("patch printed %+v", res)
	}
	got := ok(t, "client", "collection", "get", "--name", "Todo", created.DocID, "--url", url)
	for _, want := range []string{`"text": "write docs"`, `"owner": "nobody"`, `"votes": 0`, `"done": null`} {
		if !strings.Contains(got, want) {
			t.Errorf("get printed %s, without %s", got, want)
		}
	}
	decodeJSON(t, ok(t, "client", "collection", "list", "--name", "Todo", "--url", url), &cols)
	if cols[0].SchemaID != res.Parent {
		t.Errorf("the schema ID changed: %+v", cols[0])
	}

	fails(t, []string{"client", "collection", "patch", "--name", "Todo", `type Todo { text: Int done: Boolean votes: Int @crdt(type: pncounter) }`, "--url", url},
		`field "text"`, "cannot change the type from String to Int; add a new field instead")
	fails(t, []string{"client", "collection", "patch", "--name", "Todo", `type Todo { text: String done: Boolean! votes: Int @crdt(type: pncounter) }`, "--url", url},
		`field "done"`, "without a default")
	fails(t, []string{"client", "collection", "add", `type Todo { title: String }`, "--url", url}, "collection patch")
	fails(t, []string{"client", "collection", "patch", "--name", "Todo", "--version", "bafyreinope", "--url", url}, "invalid input")
	decodeJSON(t, ok(t, "client", "collection", "patch", "--name", "Todo", "--version", res.Parent, "--url", url), &res)
	if len(res.Diff) == 0 {
		t.Errorf("moving back to the first version printed no diff")
	}
}

// TestCollectionAddWithDefaults: `collection add` takes @default as
// `collection patch` does: documents without the field read the default,
// the collection lists its version and defaults, the same SDL again changes
// nothing, and a @default a patch refuses is refused with the same error.
func TestCollectionAddWithDefaults(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	const sdl = `type Todo { title: String owner: String @default(string: "nobody") @index votes: Int @crdt(type: pncounter) }`
	var cols []struct {
		collectionInfo
		Version string `json:"version"`
	}
	decodeJSON(t, ok(t, "client", "collection", "add", sdl, "--url", url), &cols)
	if len(cols) != 1 || cols[0].Version == "" || cols[0].Version == cols[0].SchemaID {
		t.Fatalf("add printed %+v, want a version after the first", cols)
	}
	version := cols[0].Version
	var created struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "Todo", `{"title": "write docs"}`, "--url", url), &created)
	got := ok(t, "client", "collection", "get", "--name", "Todo", created.DocID, "--url", url)
	if !strings.Contains(got, `"owner": "nobody"`) {
		t.Errorf("get printed %s, without the default owner", got)
	}
	if got := ok(t, "client", "collection", "list", "--name", "Todo", "--url", url); !strings.Contains(got, `"default": "nobody"`) {
		t.Errorf("list printed %s, without the default", got)
	}
	if got := ok(t, "client", "index", "list", "--collection", "Todo", "--url", url); !strings.Contains(got, "Todo_owner_ASC") {
		t.Errorf("index list printed %s, without the declared index", got)
	}
	decodeJSON(t, ok(t, "client", "collection", "add", sdl, "--url", url), &cols)
	if cols[0].Version != version {
		t.Errorf("the same SDL again moved the collection to version %s from %s", cols[0].Version, version)
	}
	fails(t, []string{"client", "collection", "add", strings.Replace(sdl, `"nobody"`, `"anyone"`, 1), "--url", url},
		`field "owner": default "nobody" in existing, "anyone" in new`, "collection patch")

	const bad = `type Other { a: String votes: Int @crdt(type: pncounter) @default(int: 1) }`
	const msg = `line 1, column 59: type Other, field "votes": a counter has no default: it reads 0 until added to`
	fails(t, []string{"client", "collection", "add", bad, "--url", url}, msg)
	ok(t, "client", "collection", "add", `type Other { a: String votes: Int @crdt(type: pncounter) }`, "--url", url)
	fails(t, []string{"client", "collection", "patch", "--name", "Other", bad, "--url", url}, msg)
}
