package schema_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// TestPatchChainLimit: a chain holds at most MaxChain versions, root
// included, as peers fetch and accept no longer one; Patch refuses to make
// one longer.
func TestPatchChainLimit(t *testing.T) {
	chain := []*crdt.Schema{mustParseOne(t, `type T { a: Int }`)}
	for i := 1; i < schema.MaxChain; i++ {
		sdl := `type T { a: Int }`
		if i%2 == 1 {
			sdl = `type T { a: Int b: Int }`
		}
		chain = append([]*crdt.Schema{mustPatch(t, chain, sdl)}, chain...)
	}
	_, err := schema.Patch(chain, `type T { a: Int c: Int }`)
	if !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), "the collection has 256 versions, the most it may have") {
		t.Fatalf("a patch of a chain of %d versions: %v, want ErrInvalid saying it has 256 versions", len(chain), err)
	}
	// A patch that changes nothing makes no version, so it is not refused.
	if v, err := schema.Patch(chain, `type T { a: Int b: Int }`); err != nil || v != chain[0] {
		t.Errorf("an unchanged patch of a full chain: %v, %v", v, err)
	}
}
