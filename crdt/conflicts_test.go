package crdt_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/crdt"
)

// TestConcurrentMatchesBruteForce: three replicas of a document change random
// fields apart and exchange their blocks at random. Concurrent returns, for each
// field, exactly the assignments no descendant overwrites (found by checking
// every pair of blocks), winner first, and its winner is what State holds.
func TestConcurrentMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := testSchema()
		lww := []string{"age", "name", "title"}
		g, err := crdt.NewGenesis(s, map[string]any{"name": "g", "title": "t"}, nil, testNonce, testKey)
		if err != nil {
			t.Fatal(err)
		}
		blocks := map[cid.Cid]*crdt.Block{g.CID: g}
		var replicas [3]*crdt.State
		have := [3]map[cid.Cid]bool{}
		for i := range replicas {
			st, err := crdt.NewState(g)
			if err != nil {
				t.Fatal(err)
			}
			replicas[i], have[i] = st, map[cid.Cid]bool{g.CID: true}
		}
		var order []*crdt.Block // every block, parents first
		order = append(order, g)
		for step := range rapid.IntRange(1, 30).Draw(t, "steps") {
			r := rapid.IntRange(0, 2).Draw(t, "replica")
			if rapid.Bool().Draw(t, "write") {
				set := map[string]any{}
				for _, f := range lww {
					if rapid.Bool().Draw(t, "sets "+f) {
						if f == "age" {
							set[f] = int64(step)
						} else {
							set[f] = fmt.Sprint(f, " ", step, " on ", r)
						}
					}
				}
				if len(set) == 0 {
					set["name"] = fmt.Sprint("step ", step)
				}
				b, err := crdt.NewChange(s, replicas[r], set, nil, false, nil, testKey)
				if err != nil {
					t.Fatal(err)
				}
				if err := replicas[r].Merge(b); err != nil {
					t.Fatal(err)
				}
				blocks[b.CID], have[r][b.CID] = b, true
				order = append(order, b)
				continue
			}
			from := rapid.IntRange(0, 2).Draw(t, "from")
			for _, b := range order { // parents first
				if have[from][b.CID] && !have[r][b.CID] {
					if err := replicas[r].Merge(b); err != nil {
						t.Fatal(err)
					}
					have[r][b.CID] = true
				}
			}
		}
		all, err := crdt.NewState(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range order[1:] {
			if err := all.Merge(b); err != nil {
				t.Fatal(err)
			}
		}
		loads := 0
		got, err := crdt.Concurrent(all.Heads, lww, func(c cid.Cid) (*crdt.Block, error) {
			loads++
			if b, ok := blocks[c]; ok {
				return b, nil
			}
			return nil, fmt.Errorf("no block %s", c)
		})
		if err != nil {
			t.Fatal(err)
		}
		if loads > len(blocks) {
			t.Fatalf("%d loads for %d blocks", loads, len(blocks))
		}
		// Brute force: b's assignment of f is maximal if no descendant of b
		// assigns f.
		descends := func(d, a *crdt.Block) bool { // d is a descendant of a
			seen := map[cid.Cid]bool{}
			var walk func(c cid.Cid) bool
			walk = func(c cid.Cid) bool {
				if c == a.CID {
					return true
				}
				if seen[c] {
					return false
				}
				seen[c] = true
				return slices.ContainsFunc(blocks[c].Prev, walk)
			}
			return d.CID != a.CID && walk(d.CID)
		}
		for _, f := range lww {
			var want []cid.Cid
			for _, b := range order {
				if _, ok := b.Set[f]; !ok {
					continue
				}
				overwritten := slices.ContainsFunc(order, func(d *crdt.Block) bool {
					_, sets := d.Set[f]
					return sets && descends(d, b)
				})
				if !overwritten {
					want = append(want, b.CID)
				}
			}
			var gotCIDs []cid.Cid
			for _, a := range got[f] {
				gotCIDs = append(gotCIDs, a.Block)
				if a.Value != blocks[a.Block].Set[f] {
					t.Fatalf("field %s: assignment %+v does not hold its block's value", f, a)
				}
			}
			sortCIDs := func(cs []cid.Cid) {
				slices.SortFunc(cs, func(x, y cid.Cid) int { return bytes.Compare(x.Bytes(), y.Bytes()) })
			}
			sorted := slices.Clone(gotCIDs)
			sortCIDs(sorted)
			sortCIDs(want)
			if !slices.Equal(sorted, want) {
				t.Fatalf("field %s: Concurrent gave %v, want %v", f, gotCIDs, want)
			}
			if len(got[f]) > 0 && !all.Fields[f].Block.Equals(got[f][0].Block) {
				t.Fatalf("field %s: first assignment %s, but the state holds %s's", f, got[f][0].Block, all.Fields[f].Block)
			}
		}
	})
}
