package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// TestIndexesFollowMerges writes at random to two stores and merges each
// one's blocks into the other, concurrent changes included, while indexes on
// an add-wins set, a list, a counter and a composite are added, built a page
// at a time and dropped, and runs Check on the store each step changed: whichever
// way a state changes (a genesis stored or merged, a change, a merge that
// changes a set's items or a list's winner, a delete), its index entries
// change with it. The writes come from nodetest.Seed.
func TestIndexesFollowMerges(t *testing.T) {
	ss, err := schema.Parse(`type D { name: String tags: [String!] @crdt(type: set) labels: [String] n: Int @crdt(type: pncounter) }`)
	if err != nil {
		t.Fatal(err)
	}
	sc := ss[0]
	def, err := schema.Encode(sc)
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) string { f, _ := sc.Field(name); return f.ID() }
	indexes := [][]store.IndexField{
		{{Key: key("tags"), Kind: crdt.KindString, List: true}},
		{{Key: key("labels"), Kind: crdt.KindString, List: true, Desc: true}},
		{{Key: key("name"), Kind: crdt.KindString}, {Key: key("n"), Kind: crdt.KindInt, Desc: true}},
		{{Key: key("n"), Kind: crdt.KindInt}},
	}
	var stores [2]*store.Store
	for i := range stores {
		stores[i] = openEmpty(t, "", &store.Options{BuildPage: 2})
	}
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 3))
	for round := range 3 {
		for _, s := range stores {
			if err := s.Reset(); err != nil {
				t.Fatal(err)
			}
			if err := s.Update(func(tx *store.Tx) error { return tx.PutCollection(sc.Name, def) }); err != nil {
				t.Fatal(err)
			}
		}
		r := indexRound{t: t, rng: rng, sc: sc, stores: stores, indexes: indexes}
		for step := range 150 {
			i, what, err := r.step()
			if err != nil {
				t.Fatalf("round %d, step %d (%s): %v", round, step, what, err)
			}
			if err := check(stores[i]); err != nil {
				t.Fatalf("round %d, step %d (%s): %v", round, step, what, err)
			}
		}
	}
}

// indexRound is one round of TestIndexesFollowMerges.
type indexRound struct {
	t       *testing.T
	rng     *rand.Rand
	sc      *crdt.Schema
	stores  [2]*store.Store
	indexes [][]store.IndexField
	blocks  []*crdt.Block // every block written, in order
	docs    []cid.Cid
}

var indexWords = []string{"", "a", "b", "c", "d"} // sorted, as a set's items are

// items returns some of indexWords: distinct and sorted for a set, else
// maybe with a repeated item; nil or empty sometimes.
func (r *indexRound) items(set bool) []any {
	var out []any
	for _, w := range indexWords {
		if r.rng.IntN(2) == 0 {
			out = append(out, w)
		}
	}
	if !set && len(out) > 0 && r.rng.IntN(2) == 0 {
		out = append(out, out[0])
	}
	if len(out) == 0 && r.rng.IntN(2) == 0 {
		return nil
	}
	return out
}

func (r *indexRound) nonce() []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(r.rng.Uint32())
	}
	return b
}

// step runs one random operation on one of the stores, and returns which
// store and what operation.
func (r *indexRound) step() (int, string, error) {
	i := r.rng.IntN(2)
	what, err := r.op(i)
	return i, what, err
}

// op runs one random operation on store i, and says which.
func (r *indexRound) op(i int) (string, error) {
	s := r.stores[i]
	switch n := r.rng.IntN(12); {
	case n < 2 || len(r.docs) == 0:
		return fmt.Sprintf("create on %d", i), r.create(s)
	case n < 6:
		return fmt.Sprintf("change on %d", i), r.change(s)
	case n < 8:
		return fmt.Sprintf("merge into %d", i), r.merge(s, r.stores[1-i])
	case n < 9:
		k := r.rng.IntN(len(r.indexes))
		_, err := s.AddIndex(r.sc.ID, fmt.Sprint("ix", k), r.indexes[k])
		if errors.Is(err, store.ErrIndex) {
			err = nil // it exists
		}
		return fmt.Sprintf("add index ix%d on %d", k, i), err
	case n < 11:
		for _, ix := range s.Indexes(r.sc.ID) {
			if ix.State == store.IndexBuilding {
				_, err := s.BuildIndex(r.sc.ID, ix.ID)
				return fmt.Sprintf("build %s on %d", ix.Name, i), err
			}
		}
		return "nothing to build", nil
	default:
		k := r.rng.IntN(len(r.indexes))
		err := s.DropIndex(r.sc.ID, fmt.Sprint("ix", k))
		if errors.Is(err, store.ErrIndex) {
			err = nil // not added
		}
		return fmt.Sprintf("drop index ix%d on %d", k, i), err
	}
}

// create stores a new document, as a local write (PutGenesis) or as a
// merge (Apply).
func (r *indexRound) create(s *store.Store) error {
	set := map[string]any{"name": indexWords[r.rng.IntN(len(indexWords))], "labels": r.items(false)}
	if tags := r.items(true); tags != nil {
		set["tags"] = tags
	}
	var add map[string]any
	if r.rng.IntN(2) == 0 {
		add = map[string]any{"n": int64(r.rng.IntN(3))}
	}
	g, err := crdt.NewGenesis(r.sc, set, add, r.nonce(), testKey)
	if err != nil {
		return err
	}
	r.blocks, r.docs = append(r.blocks, g), append(r.docs, g.CID)
	if r.rng.IntN(2) == 0 {
		return s.Update(func(tx *store.Tx) error { return tx.PutGenesis(store.NewGenesis(g)) })
	}
	return s.Update(func(tx *store.Tx) error { _, _, err := tx.Apply(g); return err })
}

// change writes a change to a document the store holds: a field set, an
// increment, or a delete.
func (r *indexRound) change(s *store.Store) error {
	doc := r.docs[r.rng.IntN(len(r.docs))]
	return s.Update(func(tx *store.Tx) error {
		st, err := tx.State(r.sc.ID, doc)
		if errors.Is(err, store.ErrNotFound) || err == nil && st.Deleted {
			return nil
		}
		if err != nil {
			return err
		}
		set := map[string]any{}
		switch r.rng.IntN(4) {
		case 0:
			set["tags"] = r.items(true)
		case 1:
			set["labels"] = r.items(false)
		case 2:
			set["name"] = indexWords[r.rng.IntN(len(indexWords))]
		}
		var add map[string]any
		if r.rng.IntN(2) == 0 || len(set) == 0 {
			add = map[string]any{"n": int64(r.rng.IntN(5) - 2)}
		}
		var nonce []byte // with increments or a set's items
		if _, tags := set["tags"]; tags || add != nil {
			nonce = r.nonce()
		}
		b, err := crdt.NewChange(r.sc, st, set, add, r.rng.IntN(15) == 0, nonce, testKey)
		if err != nil {
			return err
		}
		r.blocks = append(r.blocks, b)
		_, _, err = tx.Apply(b)
		return err
	})
}

// merge applies to dst, in one transaction, the blocks src holds, in the
// order they were written (parents first).
func (r *indexRound) merge(dst, src *store.Store) error {
	var held []*crdt.Block
	err := src.View(func(tx *store.Tx) error {
		for _, b := range r.blocks {
			if _, err := tx.BlockData(r.sc.ID, b.CID); err == nil {
				held = append(held, b)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return dst.Update(func(tx *store.Tx) error {
		for _, b := range held {
			if _, _, err := tx.Apply(b); err != nil {
				return err
			}
		}
		return nil
	})
}
