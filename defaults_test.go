package gossipdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// taskWithDefaults defines Task with defaults, and Note, whose field of the
// same name has another one, in one call.
const taskWithDefaults = `
type Task {
	title: String
	owner: String @default(string: "nobody") @index
	priority: Int! @default(int: 3)
	weight: Float @default(float: 1.5)
	done: Boolean @default(bool: false)
	due: DateTime @default(dateTime: "2030-01-01T00:00:00Z")
	meta: JSON @default(json: "{\"a\": [1, 2]}")
	votes: Int @crdt(type: pncounter)
}
type Note { title: String @default(string: "untitled") }`

// TestAddCollectionWithDefaults: AddCollection takes @default as Patch does.
// The collection's schema ID is that of its fields without the defaults, and
// it reads through the very version a patch with the same SDL makes; a
// document without the fields reads the defaults, here and after a restart;
// the index declared on a field with a default is created with it; the same
// SDL again changes nothing, other defaults are a conflict that says which.
func TestAddCollectionWithDefaults(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n := nodetest.Open(t, dir, nil)
	cols, err := n.AddCollection(ctx, taskWithDefaults)
	if err != nil {
		t.Fatal(err)
	}
	task, note := cols[0], cols[1]
	if task.Version() == task.SchemaID() || len(task.Versions()) != 2 {
		t.Fatalf("version %s, versions %v: want a version with the defaults after the first", task.Version(), task.Versions())
	}
	if got := indexSummary(task); got != "Task_owner_ASC(owner)" {
		t.Fatalf("indexes %s", got)
	}

	// The same collection as on a node that defines it without the
	// defaults, then patches it with the same SDL.
	other := nodetest.Open(t, "", nil)
	plain := strings.NewReplacer(`@default(string: "nobody")`, "", `@default(int: 3)`, "", `@default(float: 1.5)`, "",
		`@default(bool: false)`, "", `@default(dateTime: "2030-01-01T00:00:00Z")`, "", `@default(json: "{\"a\": [1, 2]}")`, "",
		`@default(string: "untitled")`, "").Replace(taskWithDefaults)
	ocols := nodetest.AddCollection(t, plain, other)
	if ocols[0].SchemaID() != task.SchemaID() {
		t.Fatalf("schema ID %s with the defaults, %s without", task.SchemaID(), ocols[0].SchemaID())
	}
	sdl, _, _ := strings.Cut(taskWithDefaults, "type Note")
	if res := patch(t, ocols[0], sdl); res.Version != task.Version() {
		t.Fatalf("the patch made version %s, AddCollection %s", res.Version, task.Version())
	}

	id, err := task.Create(ctx, map[string]any{"title": "write"})
	if err != nil {
		t.Fatal(err)
	}
	nid, err := note.Create(ctx, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(task, note *gossipdb.Collection) {
		t.Helper()
		doc, err := task.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{"owner": "nobody", "priority": int64(3), "weight": 1.5, "done": false, "meta": map[string]any{"a": []any{1.0, 2.0}}} {
			if got := doc.Fields[k]; !equalJSONish(got, want) {
				t.Errorf("%s: %#v, want %#v", k, got, want)
			}
		}
		if d, err := note.Get(ctx, nid); err != nil || d.Fields["title"] != "untitled" {
			t.Errorf("note: %+v, %v", d, err)
		}
	}
	check(task, note)
	waitIndexReady(t, task, "Task_owner_ASC")
	if k, err := task.Count(ctx, gossipdb.Filter{"owner": "nobody"}); err != nil || k != 1 {
		t.Fatalf("count of the default owner: %d, %v", k, err)
	}

	// Again: nothing changes. Without the defaults: the collection, as is.
	version := task.Version()
	for _, sdl := range []string{taskWithDefaults, plain} {
		again, err := n.AddCollection(ctx, sdl)
		if err != nil {
			t.Fatalf("AddCollection again: %v", err)
		}
		if again[0] != task || task.Version() != version || len(task.Versions()) != 2 {
			t.Fatalf("AddCollection again changed the collection: version %s, versions %v", task.Version(), task.Versions())
		}
	}
	// Other defaults: a conflict naming the field.
	_, err = n.AddCollection(ctx, strings.Replace(taskWithDefaults, `"nobody"`, `"someone"`, 1))
	if !errors.Is(err, gossipdb.ErrSchemaConflict) || !strings.Contains(err.Error(), `field "owner": default "nobody" in existing, "someone" in new`) {
		t.Fatalf("AddCollection with another default: %v", err)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = nodetest.Open(t, dir, nil)
	task, _ = n.Collection("Task")
	note, _ = n.Collection("Note")
	if task.Version() != version {
		t.Fatalf("after a restart the version is %s, want %s", task.Version(), version)
	}
	check(task, note)
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// equalJSONish compares values as JSON.
func equalJSONish(got, want any) bool {
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	return err1 == nil && err2 == nil && string(g) == string(w)
}

// TestAddCollectionRefusesDefaultsAsPatch: a @default that Patch refuses
// is refused by AddCollection with the same error, and so is a @rename;
// nothing is added.
func TestAddCollectionRefusesDefaultsAsPatch(t *testing.T) {
	ctx := context.Background()
	for _, field := range []string{
		`f: Int @crdt(type: pncounter) @default(int: 1)`,
		`f: [Int] @default(int: 1)`,
		`f: [String!] @crdt(type: set) @default(string: "x")`,
		`f: Bad @default(string: "x")`,
		`f: Int @default(string: "x")`,
		`f: Int @default(int: 1.5)`,
		`f: Int @default(int: 99999999999999999999)`,
		`f: DateTime @default(dateTime: "yesterday")`,
		`f: JSON @default(json: "{")`,
		`f: String @default`,
		`f: String @default(string: "a") @default(string: "b")`,
	} {
		sdl := "type Bad { a: String " + field + " }"
		n := nodetest.Open(t, "", nil)
		_, addErr := n.AddCollection(ctx, sdl)
		var se *gossipdb.SchemaError
		if !errors.Is(addErr, gossipdb.ErrInvalid) || !errors.As(addErr, &se) || se.Field != "f" {
			t.Errorf("%s: AddCollection: %v, want ErrInvalid naming field f", field, addErr)
			continue
		}
		if cols := n.Collections(); len(cols) != 0 {
			t.Errorf("%s: refused, but added %d collections", field, len(cols))
		}
		c := nodetest.AddCollection(t, `type Bad { a: String }`, n)[0]
		if _, patchErr := c.Patch(ctx, sdl); patchErr == nil || patchErr.Error() != addErr.Error() {
			t.Errorf("%s: AddCollection: %v\nPatch: %v", field, addErr, patchErr)
		}
		n.Close()
	}
	n := nodetest.Open(t, "", nil)
	_, err := n.AddCollection(ctx, `type Bad { b: String @rename(from: "a") }`)
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "@rename is for changing an existing collection") {
		t.Errorf("@rename in AddCollection: %v", err)
	}
}
