package gossipdb_test

import (
	"context"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// BenchmarkCreateConcurrent compares eight goroutines each creating one
// document per durable call with one goroutine doing the same, on one node on
// disk, in one run (issue 17, group commit; see nodetest.OneAgainstEight). It reports
// each one's rate and their ratio (the target is at least 4): concurrent
// writes that reach the store together share an fsync.
func BenchmarkCreateConcurrent(b *testing.B) {
	c := benchCollection(b)
	ctx := context.Background()
	nodetest.OneAgainstEight(b, "writer", func(i int) error {
		_, err := c.Create(ctx, benchUser(i))
		return err
	})
}
