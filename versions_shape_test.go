package gossipdb_test

import (
	"context"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestAddCollectionOfSharedShapeIndexesActive: when known versions declare the
// same fields with different identities, the SDL of that shape names the
// fields of the active version, every time, so its @index is on them.
func TestAddCollectionOfSharedShapeIndexesActive(t *testing.T) {
	ctx := context.Background()
	for range 16 {
		n := nodetest.Open(t, "", nil)
		c := nodetest.AddCollection(t, `type T { a: String }`, n)[0]
		root := c.Versions()[0]
		patch(t, c, `type T { b: String @rename(from: "a") }`) // b keeps a's identity
		patch(t, c, `type T { a: String b: String }`)          // a is a new field
		if _, err := c.UseVersion(ctx, root); err != nil {
			t.Fatal(err)
		}
		patch(t, c, `type T { a: String b: String }`) // the same shape; a is the root's a
		if _, err := n.AddCollection(ctx, `type T { a: String @index b: String }`); err != nil {
			t.Fatal(err)
		}
		if ixs := c.Indexes(); len(ixs) != 1 || ixs[0].Fields[0].Field != "a" {
			t.Fatalf("indexes %+v, want one on the active version's a", ixs)
		}
	}
}
