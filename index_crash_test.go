package gossipdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// indexCrashChildEnv makes the test binary act as the writer that
// TestIndexCrashSafety kills.
const indexCrashChildEnv = "GOSSIPDB_INDEX_CRASH_CHILD_DIR"

// indexCrashSeedEnv gives the child of TestIndexCrashSafety the seed of its
// writes, drawn from the test's seed so that GOSSIPDB_SEED repeats them.
const indexCrashSeedEnv = "GOSSIPDB_INDEX_CRASH_CHILD_SEED"

const indexCrashSDL = `type Item { name: String @index age: Int @index(direction: DESC) points: Float tags: [Int] @index }`

// indexCrashChild fills a collection with documents on its first run, then
// starts building an index on it and writes (creates, updates, deletes) drawn
// from indexCrashSeedEnv's seed until killed, printing each write once
// acknowledged.
func indexCrashChild(dir string) {
	ctx := context.Background()
	seed := childSeed(os.Getenv(indexCrashSeedEnv))
	_, cols := openChild(dir, nil, indexCrashSDL)
	items := cols[0]
	var ids []gossipdb.DocID
	for d, err := range items.Find(ctx, nil) {
		if err != nil {
			childFail(err)
		}
		ids = append(ids, d.ID)
	}
	if len(ids) == 0 {
		docs := make([]map[string]any, 5000)
		for i := range docs {
			docs[i] = map[string]any{"name": fmt.Sprintf("n%d", i%50), "age": i % 97, "points": float64(i) / 7, "tags": []int{i % 5, i % 7}}
		}
		var err error
		if ids, err = items.CreateMany(ctx, docs); err != nil {
			childFail(err)
		}
	}
	// A new index each run, built while the writes below go on: on two
	// fields, or every other run on the items of a list.
	fields := []gossipdb.Order{{Field: "points"}, {Field: "age"}}
	if len(items.Indexes())%2 == 1 {
		fields = []gossipdb.Order{{Field: "tags", Desc: true}}
	}
	if _, err := items.CreateIndex(ctx, fmt.Sprintf("p%d", len(items.Indexes())), fields...); err != nil {
		childFail(err)
	}
	fmt.Println("GO")
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; ; i++ {
		id := ids[rng.IntN(len(ids))]
		switch rng.IntN(4) {
		case 0:
			nid, err := items.Create(ctx, map[string]any{"name": "new", "age": i, "points": -float64(i)})
			if err != nil {
				childFail(err)
			}
			ids = append(ids, nid)
		case 1:
			if err := items.Delete(ctx, id); err != nil && !isDeleted(err) {
				childFail(err)
			}
		default:
			if err := items.Update(ctx, id, map[string]any{"age": rng.IntN(100), "name": fmt.Sprintf("u%d", i), "tags": []int{rng.IntN(9), rng.IntN(9)}}); err != nil && !isDeleted(err) {
				childFail(err)
			}
		}
		fmt.Println("OK", i)
	}
}

// TestIndexCrashSafety kills a process with SIGKILL while it builds an index
// and writes to indexed documents, at random moments, and checks that every
// index is consistent with the documents after each restart, and once built.
// The moments and the child's writes come from nodetest.Seed: GOSSIPDB_SEED
// repeats a run's choice.
func TestIndexCrashSafety(t *testing.T) {
	ctx := context.Background()
	const rounds = 4
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 11))
	dir := t.TempDir()
	for round := range rounds {
		c := startChild(t, round, nil, indexCrashChildEnv+"="+dir, indexCrashSeedEnv+"="+strconv.FormatUint(rng.Uint64(), 10))
		killAfter := rng.IntN(200)
		c.await("GO")
		seen := c.killAfter(killAfter)
		t.Logf("round %d: killed after %d writes", round, seen)
		n := reopenKilled(t, round, dir)
		if round == rounds-1 {
			items, err := n.Collection("Item")
			if err != nil {
				t.Fatal(err)
			}
			waitIndexes(t, items)
			if len(items.Indexes()) != 3+rounds {
				t.Errorf("indexes: %+v", items.Indexes())
			}
			if err := n.Check(ctx); err != nil {
				t.Errorf("once built: %v", err)
			}
		}
		n.Close()
	}
}
