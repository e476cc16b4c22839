package gossipdb_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
)

// patchCrashChildEnv makes the test binary act as the node that
// TestPatchCrashKeepsDeclaredIndexes kills.
const patchCrashChildEnv = "GOSSIPDB_PATCH_CRASH_CHILD_DIR"

const (
	patchCrashSDL   = `type Px { a: Int }`
	patchCrashPatch = `type Px { a: Int @index b: String @index(name: "byB") }`
)

// killAtLog is a log handler that kills its own process with SIGKILL when
// the node logs the message it names: a crash at that very point.
type killAtLog string

func (k killAtLog) Enabled(context.Context, slog.Level) bool { return true }
func (k killAtLog) WithAttrs([]slog.Attr) slog.Handler       { return k }
func (k killAtLog) WithGroup(string) slog.Handler            { return k }
func (k killAtLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == string(k) {
		killSelf()
	}
	return nil
}

// patchCrashChild defines a collection of documents, then patches it with
// SDL that declares indexes, and dies by SIGKILL as soon as the node logs
// that the collection reads through the new version.
func patchCrashChild(dir string) {
	ctx := context.Background()
	_, cols := openChild(dir, &gossipdb.Options{Logger: slog.New(killAtLog("Patched collection"))}, patchCrashSDL)
	docs := make([]map[string]any, 100)
	for i := range docs {
		docs[i] = map[string]any{"a": i}
	}
	if _, err := cols[0].CreateMany(ctx, docs); err != nil {
		childFail(err)
	}
	_, err := cols[0].Patch(ctx, patchCrashPatch)
	childFail(fmt.Errorf("the patch returned (%v) instead of dying", err))
}

// TestPatchCrashKeepsDeclaredIndexes kills a process right after a patch
// made its new version the collection's active one: the indexes the patch's
// SDL declares must be there after the restart, in the same state as the
// version, and be built.
func TestPatchCrashKeepsDeclaredIndexes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if st := startChild(t, 0, nil, patchCrashChildEnv+"="+dir).wait(); st.ExitCode() != -1 {
		t.Fatalf("child was not killed: %v", st)
	}
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	c, err := n.Collection("Px")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.Fields(), func(f crdt.Field) bool { return f.Name == "b" }) {
		t.Fatalf("the crash lost the patch: version %s", c.Version())
	}
	var names []string
	for _, ix := range c.Indexes() {
		names = append(names, ix.Name)
	}
	for _, want := range []string{"Px_a_ASC", "byB"} {
		if !slices.Contains(names, want) {
			t.Fatalf("after the crash the version is in force but its index %s is not: indexes %v", want, names)
		}
	}
	waitIndexes(t, c)
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := c.Explain(ctx, gossipdb.Query{Filter: gossipdb.Filter{"a": 7}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Index != "Px_a_ASC" || plan.Results != 1 {
		t.Fatalf("plan %+v, want index Px_a_ASC returning 1 document", plan)
	}
}
