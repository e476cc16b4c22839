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
// last-writer-wins fields (single and composite) and a counter.
const indexedUsersSDL = `type User @index(includes: [{field: "name"}, {field: "age", direction: DESC}]) {
	name: String @index
	age: Int @index
	verified: Boolean
	points: Float @index(direction: DESC)
	at: DateTime
	visits: Int @crdt(type: pncounter) @index
}`

// converged waits until every collection has the first one's fingerprint.
func converged(t *testing.T, cs ...*gossipdb.Collection) {
	t.Helper()
	ctx := context.Background()
	nodetest.Eventually(t, 60*time.Second, func() error {
		want, err := cs[0].Fingerprint(ctx)
		if err != nil {
			return err
		}
		for i, c := range cs[1:] {
			if got, err := c.Fingerprint(ctx); err != nil || got != want {
				return fmt.Errorf("node %d differs from node 0 (%v)", i+1, err)
			}
		}
		return nil
	})
}

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
		if err := n.Subscribe(ctx, "User"); err != nil {
			t.Fatal(err)
		}
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
	const docs = 40
	in := make([]map[string]any, docs)
	for i := range in {
		in[i] = map[string]any{}
		for _, f := range modelFields {
			in[i][f] = draw(rng, f)
		}
	}
	ids, err := cs[0].CreateMany(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	converged(t, cs...)

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
	if err := late.Subscribe(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, late, ns[0])
	ns, cs = append(ns, late), append(cs, lc)
	converged(t, cs...)

	model := nodetest.Snapshot(t, cs[0])
	for i, c := range cs {
		waitIndexes(t, c)
		if err := ns[i].Check(ctx); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		rapid.Check(t, func(t *rapid.T) { checkQueries(t, c, model) })
	}
}

// isDeleted reports an update or delete of a document another node deleted.
func isDeleted(err error) bool { return err != nil && errors.Is(err, gossipdb.ErrDeleted) }
