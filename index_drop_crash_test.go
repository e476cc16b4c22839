package gossipdb_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// dropCrashChildEnv makes the test binary act as the node that
// TestIndexDropCrash kills: its value is the data directory and the seed of
// its choices, on two lines.
const dropCrashChildEnv = "GOSSIPDB_DROP_CRASH_CHILD"

const (
	dropCrashSDL = `type Dx { a: Int b: Int }`
	// dropCrashDocs is how many documents the collection holds: their
	// index's entries take several transactions to build and to drop (the
	// store builds 1,024 documents and drops 4,096 entries per transaction).
	dropCrashDocs = 6000
	// dropCrashIndex is the index the child creates and drops, on a or on b
	// in turn.
	dropCrashIndex = "ix"
	// dropCrashRounds is how many times TestIndexDropCrash kills the child.
	dropCrashRounds = 5
)

// dropCrashChild is the child process of TestIndexDropCrash (TestMain runs
// it when dropCrashChildEnv is set). It fills the collection on its first
// run; then one goroutine updates documents, printing each update once
// acknowledged ("UPD docID a b" before each, "ACK docID a b" after), while the main one drops and creates the
// index dropCrashIndex in turn, on a then on b, printing "DROP" and "CREATE
// field" before each call and "DROPPED" and "CREATED field" once it
// returned, after a number of updates drawn from the seed, until it is
// killed. A created index builds in the background meanwhile.
func dropCrashChild(cfg string) {
	ctx := context.Background()
	dir, s, _ := strings.Cut(cfg, "\n")
	seed := childSeed(s)
	rng := rand.New(rand.NewPCG(seed, 3))
	_, cols := openChild(dir, nil, dropCrashSDL)
	dx := cols[0]
	var ids []gossipdb.DocID
	for d, err := range dx.Find(ctx, nil) {
		if err != nil {
			childFail(err)
		}
		ids = append(ids, d.ID)
	}
	if len(ids) == 0 {
		docs := make([]map[string]any, dropCrashDocs)
		for i := range docs {
			docs[i] = map[string]any{"a": i % 100, "b": i % 7}
		}
		var err error
		if ids, err = dx.CreateMany(ctx, docs); err != nil {
			childFail(err)
		}
	}
	childPrintf("GO")
	var written atomic.Int64
	wrote := make(chan struct{}, 1)
	go func() {
		wr := rand.New(rand.NewPCG(seed, 4))
		for {
			id := ids[wr.IntN(len(ids))]
			a, b := wr.IntN(100), wr.IntN(7)
			childPrintf("UPD %s %d %d", id, a, b)
			if err := dx.Update(ctx, id, map[string]any{"a": a, "b": b}); err != nil {
				childFail(err)
			}
			childPrintf("ACK %s %d %d", id, a, b)
			written.Add(1)
			select {
			case wrote <- struct{}{}:
			default:
			}
		}
	}()
	field := "a"
	for {
		for until := written.Load() + rng.Int64N(25); written.Load() < until; {
			<-wrote
		}
		if slices.ContainsFunc(dx.Indexes(), func(ix gossipdb.Index) bool { return ix.Name == dropCrashIndex }) {
			childPrintf("DROP")
			if err := dx.DropIndex(ctx, dropCrashIndex); err != nil {
				childFail(err)
			}
			childPrintf("DROPPED")
			continue
		}
		childPrintf("CREATE %s", field)
		if _, err := dx.CreateIndex(ctx, dropCrashIndex, gossipdb.Order{Field: field}); err != nil {
			childFail(err)
		}
		childPrintf("CREATED %s", field)
		field = map[string]string{"a": "b", "b": "a"}[field]
	}
}

// TestIndexDropCrash kills with SIGKILL, at random moments (nodetest.Seed),
// a process that creates an index, drops it while its build runs or after,
// and creates it again on another field, while it updates the indexed
// documents: after each restart the store is consistent, every acknowledged
// update is there (or the one under way at the kill, of the same document),
// an acknowledged drop holds and an acknowledged create holds with its field
// (either holds when the kill came during the call), and the index, once
// built, answers queries as a scan does.
func TestIndexDropCrash(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 19))
	dir := t.TempDir()
	type ab struct{ a, b int64 }
	acked := map[gossipdb.DocID]ab{}
	type update struct {
		doc gossipdb.DocID
		ab
	}
	// The states the index may be in after the kill: "" (dropped) or the
	// field it is on; two while a call was cut short.
	may := []string{""}
	cut := 0 // kills that came during a call
	for round := range crashRounds(dropCrashRounds) {
		var pending update // the update under way
		take := func(f []string) (ack bool) {
			switch {
			case len(f) == 0:
			case (f[0] == "UPD" || f[0] == "ACK") && len(f) == 4:
				a, _ := strconv.ParseInt(f[2], 10, 64)
				b, _ := strconv.ParseInt(f[3], 10, 64)
				if pending = (update{gossipdb.DocID(f[1]), ab{a, b}}); f[0] == "ACK" {
					acked[pending.doc] = pending.ab
					pending = update{}
					return true
				}
			case f[0] == "DROP":
				may = []string{may[0], ""}
			case f[0] == "CREATE" && len(f) == 2:
				may = []string{may[0], f[1]}
			case f[0] == "DROPPED" || f[0] == "CREATED":
				may = may[1:]
			}
			return false
		}
		c := startChild(t, round, take, dropCrashChildEnv+"="+dir+"\n"+strconv.FormatUint(rng.Uint64(), 10))
		killAfter := rng.IntN(300) // updates
		c.await("GO")
		seen := c.killAfter(killAfter)
		if len(may) > 1 {
			cut++
		}
		t.Logf("round %d: killed after %d updates; the index may be on %q", round, seen, may)

		n := reopenKilled(t, round, dir)
		dx, err := n.Collection("Dx")
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		on := "" // the field of the index, "" when there is none
		for _, ix := range dx.Indexes() {
			if ix.Name != dropCrashIndex {
				continue
			}
			if len(ix.Fields) != 1 {
				n.Close()
				t.Fatalf("round %d: index %+v", round, ix)
			}
			on = ix.Fields[0].Field
		}
		if !slices.Contains(may, on) {
			n.Close()
			t.Fatalf("round %d: after the kill the index is on %q, want one of %q", round, on, may)
		}
		may = []string{on}
		for id, want := range acked {
			d, err := dx.Get(ctx, id)
			if err != nil {
				n.Close()
				t.Fatalf("round %d: document %s: %v", round, id, err)
			}
			got := ab{d.Fields["a"].(int64), d.Fields["b"].(int64)}
			if got != want && (id != pending.doc || got != pending.ab) {
				n.Close()
				t.Fatalf("round %d: document %s: %v, acknowledged %v (and %+v under way)", round, id, got, want, pending)
			}
			acked[id] = got
		}
		if on != "" {
			waitIndexes(t, dx)
			if err := n.Check(ctx); err != nil {
				n.Close()
				t.Fatalf("round %d: once built: %v", round, err)
			}
			checkIndexedQuery(t, dx, on)
		}
		n.Close()
	}
	t.Logf("%d of %d kills came during a create or a drop", cut, crashRounds(dropCrashRounds))
}

// checkIndexedQuery checks that queries of dx on field that index
// dropCrashIndex answers find the documents a scan finds.
func checkIndexedQuery(t *testing.T, dx *gossipdb.Collection, field string) {
	t.Helper()
	ctx := context.Background()
	want := map[int64]int{} // documents by value of field
	for d, err := range dx.Find(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		want[d.Fields[field].(int64)]++
	}
	for _, v := range []int64{0, 3, 6, 42} {
		plan, err := dx.Explain(ctx, gossipdb.Query{Filter: gossipdb.Filter{field: v}})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Index != dropCrashIndex || plan.Results != int64(want[v]) {
			t.Fatalf("query %s = %d: plan %+v, want index %s returning %d documents", field, v, plan, dropCrashIndex, want[v])
		}
	}
}
