package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// indexedUsersSDL declares indexes on every kind of field a merge can change:
// last-writer-wins fields (single and composite), a counter, and the items
// of a list.
const indexedUsersSDL = `type User @index(includes: [{field: "name"}, {field: "age", direction: DESC}]) {
	name: String @index
	age: Int @index
	verified: Boolean
	points: Float @index(direction: DESC)
	at: DateTime
	visits: Int @crdt(type: pncounter) @index
	tags: [Int] @index
}`

// TestIndexesAfterConcurrentMerges: two nodes write the same documents at once
// (so last-writer-wins fields flip between the two nodes' values as merges
// arrive, counters add up, deletes win), one of them building an index
// meanwhile, and a third joins late and catches up. Every node's indexes must
// then be exact (Check), and random queries must agree with a model of the
// merged documents on every node.
func TestIndexesAfterConcurrentMerges(t *testing.T) {
	ctx := context.Background()
	seed := nodetest.Seed(t)
	opts := &gossipdb.Options{SyncInterval: time.Hour}
	var ns []*gossipdb.Node
	var cs []*gossipdb.Collection
	for range 2 {
		n := nodetest.Open(t, "", opts)
		c := nodetest.AddCollection(t, indexedUsersSDL, n)[0]
		nodetest.Subscribe(t, "User", n)
		ns, cs = append(ns, n), append(cs, c)
	}
	nodetest.Connect(t, ns[0], ns[1])
	nodetest.WaitTopicPeers(t, ns[0], "User", ns[1])
	nodetest.WaitTopicPeers(t, ns[1], "User", ns[0])

	rng := rand.New(rand.NewPCG(seed, 0))
	draw := func(rng *rand.Rand, field string) any {
		if rng.IntN(5) == 0 {
			return nil
		}
		d := domain(field)
		return d[rng.IntN(len(d))]
	}
	drawTags := func(rng *rand.Rand) any {
		if rng.IntN(5) == 0 {
			return nil
		}
		items := make([]any, rng.IntN(4))
		for i := range items {
			items[i] = draw(rng, "tags")
		}
		return items
	}
	const docs = 40
	in := make([]map[string]any, docs)
	for i := range in {
		in[i] = map[string]any{}
		for _, f := range modelFields {
			in[i][f] = draw(rng, f)
		}
		in[i]["tags"] = drawTags(rng)
	}
	ids, err := cs[0].CreateMany(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	converged(t, cs, nil)

	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i+1)))
			for range 150 {
				id := ids[rng.IntN(docs)]
				var err error
				switch k := rng.IntN(20); {
				case k == 0:
					err = c.Delete(ctx, id)
				case k < 6:
					err = c.Update(ctx, id, map[string]any{"visits": rng.IntN(7) - 3})
				case k < 8:
					err = c.Update(ctx, id, map[string]any{"tags": drawTags(rng)})
				default:
					f := modelFields[rng.IntN(len(modelFields))]
					err = c.Update(ctx, id, map[string]any{f: draw(rng, f)})
				}
				if err != nil && !isDeleted(err) {
					t.Errorf("node %d: %v", i, err)
					return
				}
			}
		})
	}
	// Node 1 adds an index while the merges run; it is built meanwhile.
	if _, err := cs[1].CreateIndex(ctx, "", gossipdb.Order{Field: "verified"}, gossipdb.Order{Field: "at", Desc: true}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// A third node joins late and catches up.
	late := nodetest.Open(t, "", opts)
	lc := nodetest.AddCollection(t, indexedUsersSDL, late)[0]
	nodetest.Subscribe(t, "User", late)
	nodetest.Connect(t, late, ns[0])
	ns, cs = append(ns, late), append(cs, lc)
	converged(t, cs, nil)

	model := nodetest.Snapshot(t, cs[0])
	for i, c := range cs {
		waitIndexes(t, c)
		if err := ns[i].Check(ctx); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		rapid.Check(t, func(t *rapid.T) { checkQueries(t, c, model, nil) })
	}
}

// isDeleted reports an update or delete of a document another node deleted.
func isDeleted(err error) bool { return err != nil && errors.Is(err, gossipdb.ErrDeleted) }

// TestPagingWhileAnotherNodeWrites pages through a collection by cursor while
// another node creates, changes and deletes documents that merge into it: each
// document that exists throughout comes exactly once, with an index and without.
func TestPagingWhileAnotherNodeWrites(t *testing.T) {
	ctx := context.Background()
	seed := nodetest.Seed(t)
	opts := &gossipdb.Options{SyncInterval: time.Hour}
	a, b := nodetest.Open(t, "", opts), nodetest.Open(t, "", opts)
	ca := nodetest.AddCollection(t, indexedUsersSDL, a)[0]
	cb := nodetest.AddCollection(t, indexedUsersSDL, b)[0]
	nodetest.Subscribe(t, "User", a, b)
	nodetest.Connect(t, a, b)
	nodetest.WaitTopicPeers(t, a, "User", b)
	rng := rand.New(rand.NewPCG(seed, 0))
	in := make([]map[string]any, 400)
	for i := range in {
		in[i] = map[string]any{"name": fmt.Sprintf("n%03d", rng.IntN(100)), "age": rng.IntN(50), "points": float64(i)}
	}
	ids, err := ca.CreateMany(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	converged(t, []*gossipdb.Collection{ca, cb}, nil)

	for _, order := range [][]gossipdb.Order{nil, {{Field: "age"}}, {{Field: "name", Desc: true}, {Field: "age"}}, {{Field: "verified"}}} {
		deleted := map[gossipdb.DocID]bool{}
		var wg sync.WaitGroup
		wrng := rand.New(rand.NewPCG(seed, uint64(len(order)+1)))
		wg.Go(func() { // node a writes while node b pages
			for i := range 300 {
				id := ids[wrng.IntN(len(ids))]
				var err error
				switch i % 3 {
				case 0:
					_, err = ca.Create(ctx, map[string]any{"name": fmt.Sprintf("n%03d", wrng.IntN(100)), "age": wrng.IntN(50)})
				case 1:
					err = ca.Update(ctx, id, map[string]any{"points": float64(i), "visits": 1})
				default:
					if i%9 == 2 {
						deleted[id] = true
						err = ca.Delete(ctx, id)
					}
				}
				if err != nil && !isDeleted(err) {
					t.Error(err)
					return
				}
			}
		})
		seen := map[gossipdb.DocID]int{}
		q := gossipdb.Query{Order: order, Limit: 7}
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatalf("order %v: more than 1000 pages", order)
			}
			var last *gossipdb.Document
			for d, err := range cb.Query(ctx, q) {
				if err != nil {
					t.Fatal(err)
				}
				seen[d.ID]++
				last = d
			}
			if last == nil {
				break
			}
			if q.After, err = cb.Cursor(q, last); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		for _, id := range ids {
			if !deleted[id] && seen[id] != 1 {
				t.Errorf("order %v: document %s seen %d times", order, id, seen[id])
			}
		}
		for id, k := range seen {
			if k > 1 {
				t.Errorf("order %v: document %s seen %d times", order, id, k)
			}
		}
		live := ids[:0:0]
		for _, id := range ids {
			if !deleted[id] {
				live = append(live, id)
			}
		}
		ids = live
	}
}
