package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// manySchemas returns n collections, T0 … T(n-1), stored in s with one genesis-only
// document each, and those documents.
func manySchemas(tb testing.TB, s *store.Store, n int) ([]*crdt.Schema, []*crdt.Block) {
	tb.Helper()
	var sdl strings.Builder
	for i := range n {
		fmt.Fprintf(&sdl, "type T%d { n: Int }\n", i)
	}
	schemas, err := schema.Parse(sdl.String())
	if err != nil {
		tb.Fatalf("schema.Parse: %v", err)
	}
	docs := make([]*crdt.Block, n)
	err = s.Update(func(tx *store.Tx) error {
		for i, sc := range schemas {
			def, err := schema.Encode(sc)
			if err != nil {
				return err
			}
			if err := tx.PutCollection(sc.Name, def); err != nil {
				return err
			}
			docs[i] = genesis(tb, sc, map[string]any{"n": int64(i)})
			if _, _, err := tx.Apply(docs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("storing %d collections: %v", n, err)
	}
	return schemas, docs
}

// A document that has merged only its genesis is found through its collection,
// by every reader of blocks, whichever of several collections it belongs to; each
// collection's readers see only its own documents; and a lookup of a block
// through another collection than its own is ErrNotFound, whatever the block's
// kind: a genesis-only document's, a genesis that has a block record since its
// document merged a change, a change, and a deletion.
func TestBlocksFoundThroughTheirCollection(t *testing.T) {
	s := openMem(t)
	schemas, docs := manySchemas(t, s, 5)
	// T0's document merges a change, then is deleted: its genesis moves to a
	// block record and it gets blocks that are not a genesis.
	set, err := crdt.NewChange(schemas[0], localState(t, docs[0]), map[string]any{"n": int64(10)}, nil, false, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	del, err := crdt.NewChange(schemas[0], localState(t, docs[0], set), nil, nil, true, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, set, del)
	blocks := append([]*crdt.Block{set, del}, docs...)
	err = s.View(func(tx *store.Tx) error {
		for _, b := range blocks {
			i := slices.IndexFunc(schemas, func(sc *crdt.Schema) bool { return sc.ID.Equals(b.Schema) })
			own, other := schemas[i].ID, schemas[(i+1)%len(schemas)].ID
			if data, err := tx.BlockData(own, b.CID); err != nil || !bytes.Equal(data, b.Data) {
				t.Errorf("T%d, height %d: BlockData: %v", i, b.Height, err)
			}
			if got, err := tx.Block(own, b.CID); err != nil || !bytes.Equal(got.Data, b.Data) {
				t.Errorf("T%d, height %d: Block: %v", i, b.Height, err)
			}
			if ok, err := tx.Has(b); err != nil || !ok {
				t.Errorf("T%d, height %d: Has: %v, %v", i, b.Height, ok, err)
			}
			if b.IsGenesis() {
				if data, err := tx.GenesisData(own, b.CID); err != nil || !bytes.Equal(data, b.Data) {
					t.Errorf("T%d: GenesisData: %v", i, err)
				}
				if _, err := tx.GenesisData(other, b.CID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("T%d: GenesisData through another collection: got %v, want ErrNotFound", i, err)
				}
			}
			if _, err := tx.BlockData(other, b.CID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("T%d, height %d: BlockData through another collection: got %v, want ErrNotFound", i, b.Height, err)
			}
			if _, err := tx.Block(other, b.CID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("T%d, height %d: Block through another collection: got %v, want ErrNotFound", i, b.Height, err)
			}
		}
		for i, g := range docs[1:] {
			i++
			other := schemas[(i+1)%len(schemas)].ID
			if _, err := tx.State(other, g.CID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("T%d: State in another collection: got %v, want ErrNotFound", i, err)
			}
			if _, err := tx.Heads(other, g.CID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("T%d: Heads in another collection: got %v, want ErrNotFound", i, err)
			}
			want := []string{g.CID.String()}
			var listed, hashed, data []string
			if err := tx.Docs(schemas[i].ID, "", func(id string, _ *crdt.State) error { listed = append(listed, id); return nil }); err != nil {
				return err
			}
			if err := tx.HeadsHashes(schemas[i].ID, "", func(id string, _ [32]byte) error { hashed = append(hashed, id); return nil }); err != nil {
				return err
			}
			if err := tx.DocData(schemas[i].ID, func(id string, _ []byte) error { data = append(data, id); return nil }); err != nil {
				return err
			}
			if !slices.Equal(listed, want) || !slices.Equal(hashed, want) || !slices.Equal(data, want) {
				t.Errorf("T%d: Docs lists %v, HeadsHashes %v, DocData %v; want %v", i, listed, hashed, data, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := check(s); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// A block looked up through its collection costs the same whatever the number of
// collections, found or not: the lookup reads the block record, then the
// document record under the collection's schema ID, and never tries the
// collections one by one (which allocated a key for each: 624 allocations with
// 100 collections against 30 with one, in layout 2).
func TestBlockLookupIndependentOfCollections(t *testing.T) {
	allocs := func(n int) (found, missing float64) {
		s := openMem(t)
		schemas, docs := manySchemas(t, s, n)
		last, g := schemas[n-1].ID, docs[n-1] // the last collection stored
		unknown := genesis(t, schemas[n-1], nil)
		err := s.View(func(tx *store.Tx) error {
			found = testing.AllocsPerRun(100, func() {
				if _, err := tx.BlockData(last, g.CID); err != nil {
					t.Fatalf("BlockData with %d collections: %v", n, err)
				}
			})
			missing = testing.AllocsPerRun(100, func() {
				if _, err := tx.BlockData(last, unknown.CID); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("BlockData of a block not stored, with %d collections: %v", n, err)
				}
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return found, missing
	}
	oneFound, oneMissing := allocs(1)
	hundredFound, hundredMissing := allocs(100)
	if hundredFound != oneFound || hundredMissing != oneMissing {
		t.Errorf("BlockData: %v and %v allocations (found, not stored) with 100 collections, %v and %v with 1",
			hundredFound, hundredMissing, oneFound, oneMissing)
	}
}
