package gossipdb_test

// Benchmarks of a node's local work (issue 2), on disk in a temporary directory
// with the default options, so every write is durable (fsync at each commit).
// Figures and the command that reproduces them: docs/BENCHMARKS.md.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

const benchSDL = `type User { name: String age: Int verified: Boolean points: Float }`

// benchUser returns the fields of the i-th benchmark document. Every document has
// the same shape and nearly the same size.
func benchUser(i int) map[string]any {
	return map[string]any{
		"name":     fmt.Sprintf("user-%06d", i),
		"age":      20 + i%80,
		"verified": i%2 == 0,
		"points":   float64(i) + 0.5,
	}
}

// benchCollection opens a durable node in a temporary directory, closed when the
// benchmark ends, and returns its User collection.
func benchCollection(b *testing.B) *gossipdb.Collection {
	b.Helper()
	n, err := gossipdb.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := n.Close(); err != nil {
			b.Error(err)
		}
	})
	cs, err := n.AddCollection(context.Background(), benchSDL)
	if err != nil {
		b.Fatal(err)
	}
	return cs[0]
}

// benchDocs creates n documents, 1,000 per transaction, and returns their IDs.
func benchDocs(b *testing.B, c *gossipdb.Collection, n int) []gossipdb.DocID {
	b.Helper()
	var ids []gossipdb.DocID
	for len(ids) < n {
		batch := make([]map[string]any, min(1000, n-len(ids)))
		for i := range batch {
			batch[i] = benchUser(len(ids) + i)
		}
		got, err := c.CreateMany(context.Background(), batch)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, got...)
	}
	return ids
}

// reportRate adds a per-second rate of what the benchmark counted in n.
func reportRate(b *testing.B, n int, unit string) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), unit)
}

// BenchmarkCreate creates one document per call; each returns once the document is
// on disk.
func BenchmarkCreate(b *testing.B) {
	c := benchCollection(b)
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := c.Create(ctx, benchUser(n)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRate(b, n, "ops/s")
}

// BenchmarkCreateMany creates 1,000 documents per call, in one durable transaction.
func BenchmarkCreateMany(b *testing.B) { createMany(b, benchCollection(b)) }

// createMany is the loop of the CreateMany benchmarks: 1,000 documents per call.
func createMany(b *testing.B, c *gossipdb.Collection) {
	const perCall = 1000
	docs := make([]map[string]any, perCall)
	for i := range docs {
		docs[i] = benchUser(i)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := c.CreateMany(context.Background(), docs); err != nil {
			b.Fatal(err)
		}
		n += perCall
	}
	reportRate(b, n, "docs/s")
}

// BenchmarkUpdate changes two fields of one document per call, durably. The
// document's history grows by one block per call, which does not change the cost
// (see store's BenchmarkMergeUpdate).
func BenchmarkUpdate(b *testing.B) {
	c := benchCollection(b)
	ctx := context.Background()
	id, err := c.Create(ctx, benchUser(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := c.Update(ctx, id, map[string]any{"age": n % 100, "points": float64(n)}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRate(b, n, "ops/s")
}

// BenchmarkGet reads documents by ID, cycling through 1,000.
func BenchmarkGet(b *testing.B) {
	c := benchCollection(b)
	ctx := context.Background()
	ids := benchDocs(b, c, 1000)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		d, err := c.Get(ctx, ids[n%len(ids)])
		if err != nil {
			b.Fatal(err)
		}
		if d.Fields["name"] == nil {
			b.Fatalf("document %s has no name", d.ID)
		}
		n++
	}
	reportRate(b, n, "ops/s")
}

// BenchmarkFind10k iterates over all 10,000 documents of a collection.
func BenchmarkFind10k(b *testing.B) {
	const total = 10_000
	c := benchCollection(b)
	ctx := context.Background()
	benchDocs(b, c, total)
	b.ReportAllocs()
	docs := 0
	for b.Loop() {
		n := 0
		for d, err := range c.Find(ctx, nil) {
			if err != nil {
				b.Fatal(err)
			}
			if d.Fields["name"] == nil {
				b.Fatalf("document %s has no name", d.ID)
			}
			n++
		}
		if n != total {
			b.Fatalf("Find gave %d documents, want %d", n, total)
		}
		docs += n
	}
	reportRate(b, docs, "docs/s")
}

// createWrites returns the key and value sizes of the records one Create writes
// (see the key layout in internal/store/doc.go), measured on a genesis block like the ones
// BenchmarkCreate makes. A new document is one record:
//
//	'd' schema ID, document ID (string) → heads hash (32 bytes), kind (1), genesis block
func createWrites(b *testing.B) (keys, values []int) {
	b.Helper()
	ss, err := schema.Parse(benchSDL)
	if err != nil {
		b.Fatal(err)
	}
	user := ss[0]
	set := map[string]any{}
	for name, v := range benchUser(123456) {
		f, _ := user.Field(name)
		if set[name], err = f.Normalize(v); err != nil {
			b.Fatal(err)
		}
	}
	g, err := crdt.NewGenesis(user, set, nil, make([]byte, 16), testKey) // Create's nonce is 16 bytes
	if err != nil {
		b.Fatal(err)
	}
	keys = []int{1 + len(user.ID.Bytes()) + len(g.CID.String())}
	values = []int{32 + 1 + len(g.Data)}
	return keys, values
}

// rawWriter is the baseline for a durable Create: a Badger database opened with
// the options store.Open uses, in which each write is one durable transaction of as
// many keys and bytes as one Create writes (random keys, like CIDs).
type rawWriter struct {
	db           *badger.DB
	keys, values []int
	rng          *rand.ChaCha8
}

func newRawWriter(b *testing.B) *rawWriter {
	b.Helper()
	keys, values := createWrites(b)
	db, err := badger.Open(badger.DefaultOptions(b.TempDir()).
		WithSyncWrites(true).
		WithLogger(nil).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithNumVersionsToKeep(1).
		WithMetricsEnabled(false))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	return &rawWriter{db: db, keys: keys, values: values, rng: rand.NewChaCha8([32]byte{1})}
}

func (w *rawWriter) random(n int) []byte {
	p := make([]byte, n)
	w.rng.Read(p)
	return p
}

func (w *rawWriter) write() error {
	return w.db.Update(func(txn *badger.Txn) error {
		for i := range w.keys {
			if err := txn.Set(w.random(w.keys[i]), w.random(w.values[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkRawBadgerTxn is the baseline for BenchmarkCreate: one durable Badger
// transaction writing as many keys and bytes as one Create.
func BenchmarkRawBadgerTxn(b *testing.B) {
	w := newRawWriter(b)
	b.Logf("one Create writes keys of %v bytes and values of %v bytes", w.keys, w.values)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := w.write(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRate(b, n, "ops/s")
}

// BenchmarkCreateVsRaw alternates one durable Create and one raw Badger transaction
// of the same size (BenchmarkRawBadgerTxn), timing each, so that both see the same
// machine: on a shared machine the load, and with it the fsync time, drifts between
// two separate benchmarks. It reports the mean time of each and create/raw, the
// Create rate as a fraction of the raw rate.
func BenchmarkCreateVsRaw(b *testing.B) {
	c := benchCollection(b)
	w := newRawWriter(b)
	ctx := context.Background()
	var create, raw time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Create(ctx, benchUser(n)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := w.write(); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(t1)
		create += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(create.Microseconds())/float64(n), "create-µs")
	b.ReportMetric(float64(raw.Microseconds())/float64(n), "raw-µs")
	b.ReportMetric(float64(raw)/float64(create), "create/raw")
}
