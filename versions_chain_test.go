package gossipdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// TestLongChainSyncs: a node that knows only the root of a collection learns
// a version whose chain of parents is longer than one answer of
// /gossipdb/versions/1 carries, and accepts the blocks that name it.
func TestLongChainSyncs(t *testing.T) {
	ctx := context.Background()
	a := nodetest.Open(t, "", nil)
	b := nodetest.Open(t, "", nil)
	cs := nodetest.AddCollection(t, `type Item { name: String }`, a, b)
	for i := range versions.MaxChain + 6 {
		sdl := `type Item { name: String }`
		if i%2 == 0 {
			sdl = `type Item { name: String extra: Int }`
		}
		patch(t, cs[1], sdl)
	}
	id, err := cs[1].Create(ctx, map[string]any{"name": "deep"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Subscribe(t, "Item", a)
	nodetest.Connect(t, a, b)
	nodetest.Eventually(t, 20*time.Second, func() error {
		_, err := cs[0].Get(ctx, id)
		return err
	})
}
