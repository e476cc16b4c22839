package gossipdb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// largeField is the size of each of the two large fields of
// BenchmarkLargeDocumentUpdate's document: together just over the 1 MiB from
// which Badger keeps a value in its value log.
const largeField = 700_000

// BenchmarkLargeDocumentUpdate measures what a small update of a large
// document costs on disk: a node on disk creates a document whose two String
// fields hold largeField bytes each (a state of about 1.4 MB), then makes b.N
// durable updates of one Int field of it. Each update's merge writes the
// document's whole state again, in its document record and in its change-feed
// entry; values of 1 MiB or more go to Badger's value log, which the store
// does not collect. It reports the bytes the store's directory grew by per
// update (disk-B/update), against the state's size (state-B). Figures:
// docs/BENCHMARKS.md, "Session 37".
func BenchmarkLargeDocumentUpdate(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	n := nodetest.Open(b, dir, nil)
	cols, err := n.AddCollection(ctx, "type Large { a: String b: String n: Int }")
	if err != nil {
		b.Fatal(err)
	}
	c := cols[0]
	id, err := c.Create(ctx, map[string]any{"a": strings.Repeat("a", largeField)})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Update(ctx, id, map[string]any{"b": strings.Repeat("b", largeField)}); err != nil {
		b.Fatal(err)
	}
	before := dirBytes(b, dir)
	i := 0
	for b.Loop() {
		if err := c.Update(ctx, id, map[string]any{"n": i}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(dirBytes(b, dir)-before)/float64(i), "disk-B/update")
	b.ReportMetric(2*largeField, "state-B")
}
