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

// A document that has merged only its genesis is found by its CID, by every reader
// of blocks, whichever of several collections it belongs to; and each collection's
// readers see only its own documents.
func TestGenesisFoundByCIDAmongCollections(t *testing.T) {
	s := openMem(t)
	schemas, docs := manySchemas(t, s, 5)
	err := s.View(func(tx *store.Tx) error {
		for i, g := range docs {
			if data, err := tx.BlockData(g.CID); err != nil || !bytes.Equal(data, g.Data) {
				t.Errorf("T%d: BlockData: %v", i, err)
			}
			if data, err := tx.GenesisData(g.CID); err != nil || !bytes.Equal(data, g.Data) {
				t.Errorf("T%d: GenesisData: %v", i, err)
			}
			if b, err := tx.Block(g.CID); err != nil || !b.Schema.Equals(schemas[i].ID) {
				t.Errorf("T%d: Block: %v", i, err)
			}
			if ok, err := tx.Has(g); err != nil || !ok {
				t.Errorf("T%d: Has: %v, %v", i, ok, err)
			}
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
			if err := tx.HeadsHashes(schemas[i].ID, func(id string, _ [32]byte) error { hashed = append(hashed, id); return nil }); err != nil {
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

// Finding a genesis by CID costs the same whatever the number of collections: it
// reads the document's record, whose key is the document ID, and never tries the
// collections one by one (which allocated a key for each).
func TestGenesisLookupIndependentOfCollections(t *testing.T) {
	allocs := func(n int) float64 {
		s := openMem(t)
		_, docs := manySchemas(t, s, n)
		g := docs[n-1] // the last collection stored
		var a float64
		err := s.View(func(tx *store.Tx) error {
			a = testing.AllocsPerRun(100, func() {
				if _, err := tx.BlockData(g.CID); err != nil {
					t.Fatalf("BlockData with %d collections: %v", n, err)
				}
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	one, hundred := allocs(1), allocs(100)
	if hundred > one {
		t.Errorf("BlockData of a genesis-only document: %v allocations with 100 collections, %v with 1", hundred, one)
	}
}
