package sim

import (
	"maps"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/internal/store"
)

// runWorld runs a short schedule over three nodes and returns its world, for
// tests that look inside.
func runWorld(t *testing.T, cfg Config) *world {
	t.Helper()
	w, err := newWorld(cfg, openStores(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.run(); err != nil {
		t.Fatal(err)
	}
	if w.report.Failed() {
		t.Fatalf("seed %d failed: %v", cfg.Seed, w.report.Problems)
	}
	return w
}

// TestCheckFindsFaults proves that each check can fail: a replica that lost an
// acknowledged block, holds a document nobody created, holds values and
// counter totals nobody wrote, or differs from the others, is reported.
func TestCheckFindsFaults(t *testing.T) {
	w := runWorld(t, Config{Seed: 7, Ops: 60})
	var reps []replica
	for _, nd := range w.subscribers() {
		reps = append(reps, w.snapshot(nd))
	}
	var live []int // documents not deleted
	for i, d := range reps[min(1, len(reps)-1)].docs {
		if !d.state.Deleted {
			live = append(live, i)
		}
	}
	if len(reps) < 2 || len(live) < 2 {
		t.Fatalf("want two subscribers with two live documents, got %d and %d", len(reps), len(live))
	}
	if lost, unexpected, divergent, p := w.model.check(reps); lost+unexpected+divergent != 0 {
		t.Fatalf("a converged schedule fails its checks: %v", p)
	}
	clone := func() []replica {
		out := make([]replica, len(reps))
		for i, r := range reps {
			out[i] = replica{node: r.node, has: maps.Clone(r.has), docs: append([]docState(nil), r.docs...)}
		}
		return out
	}
	for _, c := range []struct {
		name                        string
		damage                      func(r []replica)
		lost, unexpected, divergent bool
	}{
		{"lost block", func(r []replica) { r[1].has[w.model.blocks[len(w.model.blocks)-1]] = false }, true, false, false},
		{"unknown document", func(r []replica) {
			r[1].docs = append(r[1].docs, docState{id: cid.NewCidV1(cid.Raw, []byte("x")).String(), state: r[1].docs[0].state})
		}, false, true, true},
		{"values nobody wrote", func(r []replica) {
			d := r[1].docs
			d[live[0]].state, d[live[1]].state = d[live[1]].state, d[live[0]].state
		}, false, true, false},
		{"divergent replica", func(r []replica) {
			r[1].docs[0].data = append([]byte{0}, r[1].docs[0].data...)
		}, false, false, true},
	} {
		r := clone()
		c.damage(r)
		lost, unexpected, divergent, problems := w.model.check(r)
		if (lost > 0) != c.lost || (unexpected > 0) != c.unexpected || (divergent > 0) != c.divergent {
			t.Errorf("%s: lost %d unexpected %d divergent %d (%v), want lost %v unexpected %v divergent %v",
				c.name, lost, unexpected, divergent, problems, c.lost, c.unexpected, c.divergent)
		}
	}
}

// TestCheckFindsNoConvergence proves the liveness check can fail: a schedule
// whose nodes can never reach each other does not converge, and says so.
func TestCheckFindsNoConvergence(t *testing.T) {
	w, err := newWorld(Config{Seed: 3, Ops: 40}, openStores(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	for i := range w.nodes {
		for j := range w.nodes {
			if i != j {
				w.oneWay[i][j]++ // never healed
			}
		}
	}
	if err := w.run(); err != nil {
		t.Fatal(err)
	}
	if w.report.Converged >= 0 || w.report.Lost == 0 || !w.report.Failed() {
		t.Fatalf("isolated nodes: report %+v, want not converged and lost writes", w.report)
	}
}

// TestCheckFindsBudget proves the budget check can fail: a node whose inbox
// holds more than its budget is reported.
func TestCheckFindsBudget(t *testing.T) {
	w := runWorld(t, Config{Seed: 5, Ops: 20})
	nd := w.nodes[0]
	nd.inbox.budget.Add(inboxBytes) // an accounting mistake: bytes admitted past the rules
	nd.push(arrival{cost: inboxBytes})
	nd.inbox.budget.Add(1)
	nd.push(arrival{cost: 1})
	if w.report.Budget != 1 || !w.report.Failed() {
		t.Fatalf("an inbox over budget: report %+v, want one budget violation", w.report)
	}
}

// TestCheckFindsIndexDifferences proves the reads of the indexes can fail: an
// index read that lacks a live document, or holds one that is not, is
// reported.
func TestCheckFindsIndexDifferences(t *testing.T) {
	w := runWorld(t, Config{Seed: 7, Ops: 60})
	nd := w.nodes[0]
	checked := 0
	nd.view(func(tx *store.Tx) error {
		docs, err := w.liveDocs(tx)
		if err != nil {
			return err
		}
		if len(docs) < 2 {
			t.Fatalf("want two live documents, got %d", len(docs))
		}
		extra := ixDoc{id: cid.NewCidV1(cid.Raw, []byte("x")).String(), values: docs[0].values}
		for _, ix := range tx.Indexes(w.schema.ID) {
			if ix.State != store.IndexReady {
				continue
			}
			checked++
			for _, c := range []struct {
				name string
				docs []ixDoc
				fail bool
			}{
				{"the documents", docs, false},
				{"a document missing", docs[1:], true},
				{"a document too many", append(slices.Clone(docs), extra), true},
			} {
				problems, err := w.probeIndex(tx, ix, c.docs)
				if err != nil {
					return err
				}
				if (len(problems) > 0) != c.fail {
					t.Errorf("index %q against %s: problems %q, want some: %v", ix.Name, c.name, problems, c.fail)
				}
			}
		}
		return nil
	})
	if checked == 0 {
		t.Fatal("no index ready at the end of the schedule")
	}
}
