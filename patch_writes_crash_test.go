package gossipdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// patchWritesChildEnv makes the test binary act as the node that
// TestPatchWritesCrash kills: its value is the data directory and the seed
// of its choices, on two lines.
const patchWritesChildEnv = "GOSSIPDB_PATCH_WRITES_CHILD"

// patchWritesFields is the last field patchWritesChild adds: each round of
// TestPatchWritesCrash waits for the indexes of the fields to be built.
const patchWritesFields = 12

// patchWritesSDL is the collection's version with fields f0 to fk: each an
// Int, the odd ones with an index (named after the field) that the SDL
// declares.
func patchWritesSDL(k int) string {
	var b strings.Builder
	b.WriteString("type Pw {")
	for i := 0; i <= k; i++ {
		fmt.Fprintf(&b, " f%d: Int", i)
		if i%2 == 1 {
			fmt.Fprintf(&b, ` @index(name: "by%d")`, i)
		}
	}
	b.WriteString(" }")
	return b.String()
}

// patchWritesChild is the child process of TestPatchWritesCrash (TestMain
// runs it when patchWritesChildEnv is set). One goroutine writes documents
// whose every field holds the number of the write, through the fields the
// collection shows when the write starts, printing each write once
// acknowledged ("ACK docID number fields"; the numbers grow, from one run
// to the next too); the main one patches the
// collection with one more field every few writes, up to
// patchWritesFields, printing "PATCH k" and
// "PATCHED k" around the call that adds field fk, until it is killed.
func patchWritesChild(cfg string) {
	ctx := context.Background()
	dir, s, _ := strings.Cut(cfg, "\n")
	rng := rand.New(rand.NewPCG(childSeed(s), 7))
	_, cols := openChild(dir, nil, patchWritesSDL(0))
	pw := cols[0]
	var written atomic.Int64
	wrote := make(chan struct{}, 1)
	go func() {
		var ids []gossipdb.DocID
		// The numbers of this run's writes follow every earlier run's.
		for i := time.Now().UnixNano(); ; i++ {
			fields := map[string]any{}
			var names []string
			for _, f := range pw.Fields() {
				fields[f.Name] = i
				names = append(names, f.Name)
			}
			if len(ids) > 0 && i%2 == 0 {
				id := ids[int(i/2)%len(ids)]
				if err := pw.Update(ctx, id, fields); err != nil {
					childFail(err)
				}
				childPrintf("ACK %s %d %s", id, i, strings.Join(names, ","))
			} else {
				id, err := pw.Create(ctx, fields)
				if err != nil {
					childFail(err)
				}
				ids = append(ids, id)
				childPrintf("ACK %s %d %s", id, i, strings.Join(names, ","))
			}
			written.Add(1)
			select {
			case wrote <- struct{}{}:
			default:
			}
		}
	}()
	childPrintf("GO")
	for k := len(pw.Fields()); ; k++ {
		for until := written.Load() + rng.Int64N(20); written.Load() < until || k > patchWritesFields; {
			<-wrote
		}
		childPrintf("PATCH %d", k)
		if _, err := pw.Patch(ctx, patchWritesSDL(k)); err != nil {
			childFail(err)
		}
		childPrintf("PATCHED %d", k)
	}
}

// TestPatchWritesCrash kills with SIGKILL, at random moments
// (nodetest.Seed), a process that patches a collection with a field more
// (every other one indexed) every few writes while it writes documents
// through the fields it shows: after each restart the store is consistent,
// the collection has every field of its acknowledged patches (and the one
// under way, or not), the indexes those declare, built, answer as a scan
// does, and every acknowledged write holds its values (or those of a later
// write, under way at the kill).
func TestPatchWritesCrash(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 41))
	dir := t.TempDir()
	type write struct {
		n      int64
		fields []string
	}
	acked := map[gossipdb.DocID]write{} // the last acknowledged write of each document
	patched := 0                        // the field the last acknowledged patch added
	for round := range crashRounds(5) {
		patching := 0
		take := func(f []string) (ack bool) {
			switch {
			case len(f) == 0:
			case f[0] == "ACK" && len(f) == 4:
				x, _ := strconv.ParseInt(f[2], 10, 64)
				acked[gossipdb.DocID(f[1])] = write{x, strings.Split(f[3], ",")}
				return true
			case f[0] == "PATCH" && len(f) == 2:
				patching, _ = strconv.Atoi(f[1])
			case f[0] == "PATCHED" && len(f) == 2:
				patched, _ = strconv.Atoi(f[1])
				patching = 0
			}
			return false
		}
		c := startChild(t, round, take, patchWritesChildEnv+"="+dir+"\n"+strconv.FormatUint(rng.Uint64(), 10))
		killAfter := rng.IntN(150) // writes
		c.await("GO")
		seen := c.killAfter(killAfter)

		n := reopenKilled(t, round, dir)
		pw, err := n.Collection("Pw")
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		k := len(pw.Fields()) - 1
		if k != patched && (patching == 0 || k != patching) {
			n.Close()
			t.Fatalf("round %d: the collection has fields up to f%d; acknowledged patches up to f%d, and f%d under way", round, k, patched, patching)
		}
		for i := 0; i <= k; i++ {
			if !slices.ContainsFunc(pw.Fields(), func(f crdt.Field) bool { return f.Name == fmt.Sprint("f", i) }) {
				n.Close()
				t.Fatalf("round %d: fields %+v", round, pw.Fields())
			}
		}
		patched = k
		t.Logf("round %d: killed after %d writes, with fields up to f%d", round, seen, k)
		for id, w := range acked {
			d, err := pw.Get(ctx, id)
			if err != nil {
				n.Close()
				t.Fatalf("round %d: acknowledged document %s: %v", round, id, err)
			}
			for _, f := range w.fields {
				// A later write may have been under way at the kill.
				if v, ok := d.Fields[f].(int64); !ok || v < w.n {
					n.Close()
					t.Fatalf("round %d: document %s: %s is %v, acknowledged %d", round, id, f, d.Fields[f], w.n)
				}
			}
		}
		var names []string
		for _, ix := range pw.Indexes() {
			names = append(names, ix.Name)
		}
		for i := 1; i <= k; i += 2 {
			if !slices.Contains(names, fmt.Sprint("by", i)) {
				n.Close()
				t.Fatalf("round %d: fields up to f%d, indexes %v: by%d is missing", round, k, names, i)
			}
		}
		waitIndexes(t, pw)
		if err := n.Check(ctx); err != nil {
			n.Close()
			t.Fatalf("round %d: once built: %v", round, err)
		}
		for i := 1; i <= k; i += 2 {
			f := fmt.Sprint("f", i)
			var v any // the value of f of the first document that has one
			var want int64
			for d, err := range pw.Find(ctx, nil) {
				if err != nil {
					n.Close()
					t.Fatal(err)
				}
				if v == nil {
					v = d.Fields[f]
				}
				if v != nil && d.Fields[f] == v {
					want++
				}
			}
			if v == nil {
				continue // no write since the patch that added f
			}
			plan, err := pw.Explain(ctx, gossipdb.Query{Filter: gossipdb.Filter{f: v}})
			if err != nil {
				n.Close()
				t.Fatal(err)
			}
			if plan.Index != fmt.Sprint("by", i) || plan.Results != want {
				n.Close()
				t.Fatalf("round %d: documents with %s = %v: plan %+v, want index by%d returning %d", round, f, v, plan, i, want)
			}
		}
		n.Close()
	}
}
