package gossipdb_test

import (
	"context"
	"testing"

	"github.com/gossipdb/gossipdb"
)

// BenchmarkWriteInMemory measures what Create, Update and CreateMany cost
// without the disk: an in-memory node, whose commits wait for no fsync, shows
// the CPU a change to the write path adds, which a durable write's fsync hides
// (and makes noisy on a shared disk). Built at two commits and run
// alternately, it gives the ratio of their costs.
func BenchmarkWriteInMemory(b *testing.B) {
	open := func(b *testing.B) *gossipdb.Collection {
		n, err := gossipdb.Open("", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		cs, err := n.AddCollection(context.Background(), benchSDL)
		if err != nil {
			b.Fatal(err)
		}
		return cs[0]
	}
	ctx := context.Background()
	b.Run("Create", func(b *testing.B) {
		c := open(b)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if _, err := c.Create(ctx, benchUser(n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
	b.Run("Update", func(b *testing.B) {
		c := open(b)
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
	})
	b.Run("CreateMany", func(b *testing.B) {
		c := open(b)
		docs := make([]map[string]any, 1000)
		for i := range docs {
			docs[i] = benchUser(i)
		}
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if _, err := c.CreateMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
			n += len(docs)
		}
		reportRate(b, n, "docs/s")
	})
}
