package gossipdb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gossipdb/gossipdb"
)

// BenchmarkCreateManyPolicy compares CreateMany of 1,000 documents in an open
// collection with the same in a restricted one written by its admin, whose
// documents are built and signed one after the other in the transaction
// (each names its author's previous block; see newBlock), on one
// durable node, alternating. Figures: docs/BENCHMARKS.md.
func BenchmarkCreateManyPolicy(b *testing.B) {
	for _, restricted := range []bool{false, true} {
		name := "open"
		if restricted {
			name = "restricted"
		}
		b.Run(name, func(b *testing.B) {
			n, err := gossipdb.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { n.Close() })
			sdl := benchSDL
			if restricted {
				sdl = fmt.Sprintf(`type User @policy(admins: [%q]) { name: String age: Int verified: Boolean points: Float }`, n.ID())
			}
			cs, err := n.AddCollection(context.Background(), sdl)
			if err != nil {
				b.Fatal(err)
			}
			createMany(b, cs[0])
		})
	}
}
