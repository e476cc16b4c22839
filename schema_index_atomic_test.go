package gossipdb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestAddCollectionBadIndexAddsNothing: an SDL whose @index the node cannot
// create (on a list, a set, a relation, a JSON field with others, or a name
// given to two indexes of other fields) fails with ErrInvalid and adds no
// collection, as every failed AddCollection does.
func TestAddCollectionBadIndexAddsNothing(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	for _, sdl := range []string{
		`type A { tags: [String] @index }`,
		`type A { tags: [String!] @crdt(type: set) @index }`,
		`type A { b: B @index } type B { x: Int }`,
		`type A { as: [B] @index } type B { a: A }`,
		`type A @index(includes: [{field: "j"}, {field: "x"}]) { j: JSON x: Int }`,
		`type A { x: Int @index(name: "same") y: Int @index(name: "same") }`,
	} {
		if _, err := n.AddCollection(ctx, sdl); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", sdl, err)
		}
		for _, name := range []string{"A", "B"} {
			if _, err := n.Collection(name); !errors.Is(err, gossipdb.ErrNotFound) {
				t.Fatalf("%s: collection %s added by a failed AddCollection", sdl, name)
			}
		}
	}
}
