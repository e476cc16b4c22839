package store_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/store"
)

// scannedSum returns the sum of the items of the collection as a read of
// every record finds them.
func scannedSum(tb testing.TB, s *store.Store, schema cid.Cid) itemsum.Sum {
	tb.Helper()
	var sum itemsum.Sum
	err := s.View(func(tx *store.Tx) error {
		return tx.HeadsHashes(schema, "", func(id string, hash [32]byte) error {
			sum.Add(id, hash)
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}

// summaryDocs is the test's view of the documents of a summary test: each
// one's blocks, to build changes on.
type summaryDocs struct {
	genesis []*crdt.Block
	blocks  [][]*crdt.Block
}

// step makes one random write to s: a new document, a change of one, two
// concurrent changes of one (two heads), its deletion, or a transaction that
// fails after writing.
func (d *summaryDocs) step(t *testing.T, rt *rapid.T, s *store.Store, user *crdt.Schema) {
	kind := rapid.IntRange(0, 4).Draw(rt, "kind")
	if len(d.genesis) == 0 {
		kind = 0
	}
	switch kind {
	case 0:
		g := genesis(t, user, map[string]any{"name": rapid.StringN(0, 8, -1).Draw(rt, "name")})
		apply(t, s, g)
		d.genesis = append(d.genesis, g)
		d.blocks = append(d.blocks, nil)
		return
	case 4:
		g := genesis(t, user, map[string]any{"name": "never stored"})
		err := s.Update(func(tx *store.Tx) error {
			if _, _, err := tx.Apply(g); err != nil {
				return err
			}
			return errors.New("abandoned")
		})
		if err == nil {
			t.Fatal("a transaction that failed committed")
		}
		return
	}
	i := rapid.IntRange(0, len(d.genesis)-1).Draw(rt, "doc")
	st := localState(t, d.genesis[i], d.blocks[i]...)
	if st.Deleted {
		return
	}
	var made []*crdt.Block
	switch kind {
	case 1:
		made = append(made, change(t, user, st, map[string]any{"age": rapid.Int64().Draw(rt, "age")}, nil))
	case 2:
		made = append(made, change(t, user, st, map[string]any{"age": int64(1)}, nil), change(t, user, st, map[string]any{"age": int64(2)}, nil))
	case 3:
		b, err := crdt.NewChange(user, st, nil, nil, true, nil, testKey)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, b)
	}
	apply(t, s, made...)
	d.blocks[i] = append(d.blocks[i], made...)
}

// TestSummaryFollowsCommits: once Items has read a collection whole, Summary
// is the sum of the items its records hold after any sequence of new
// documents, changes, concurrent changes, deletions and failed transactions,
// without reading them again; before that it is unknown.
func TestSummaryFollowsCommits(t *testing.T) {
	user, post := testSchemas(t)
	rapid.Check(t, func(rt *rapid.T) {
		s := openMem(t)
		defer s.Close()
		var d summaryDocs
		before := rapid.IntRange(0, 20).Draw(rt, "before")
		for range before {
			d.step(t, rt, s, user)
		}
		if _, ok := s.Summary(user.ID); ok {
			t.Fatal("Summary known before Items read the collection")
		}
		if err := s.Items(user.ID, "", func(string, [32]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		after := rapid.IntRange(0, 20).Draw(rt, "after")
		for range after {
			d.step(t, rt, s, user)
		}
		got, ok := s.Summary(user.ID)
		if want := scannedSum(t, s, user.ID); !ok || got != want {
			t.Fatalf("Summary %+v (%v), want the records' %+v", got, ok, want)
		}
		if _, ok := s.Summary(post.ID); ok {
			t.Fatal("Summary of a collection never read whole is known")
		}
	})
}

// TestSummaryOfAReadBesideWriters: writers that commit while Items reads the
// collection whole leave Summary equal to the records' sum: what they wrote
// before its snapshot is read, what they wrote after it is added.
func TestSummaryOfAReadBesideWriters(t *testing.T) {
	user, _ := testSchemas(t)
	for round := range 10 {
		s := openMem(t)
		var seeded []*crdt.Block
		for range 200 {
			g := genesis(t, user, map[string]any{"name": "seed"})
			apply(t, s, g)
			seeded = append(seeded, g)
		}
		stopWriters := startWriters(t, s, user, seeded)
		defer stopWriters() // once: a fatal error below must not leave them writing
		if err := s.Items(user.ID, "", func(string, [32]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		stopWriters()
		got, ok := s.Summary(user.ID)
		if want := scannedSum(t, s, user.ID); !ok || got != want {
			t.Fatalf("round %d: Summary %+v (%v), want the records' %+v", round, got, ok, want)
		}
		s.Close() // the cleanup closes it again, which is allowed
	}
}

// startWriters starts four writers committing to s until the returned
// function, which waits for them, is called: each creates documents of user
// and changes each of its share of seeded once. They report errors with
// t.Error, never fatally.
func startWriters(t *testing.T, s *store.Store, user *crdt.Schema, seeded []*crdt.Block) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			write := func(b *crdt.Block, err error) bool {
				if err == nil {
					err = s.Update(func(tx *store.Tx) error {
						_, _, err := tx.Apply(b)
						return err
					})
				}
				if err != nil {
					t.Error(err)
				}
				return err == nil
			}
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if !write(crdt.NewGenesis(user, map[string]any{"name": "new"}, nil, newNonce(), testKey)) {
					return
				}
				// Each writer changes documents of its own, once each.
				if k := w + 4*i; k < len(seeded) {
					st, err := crdt.NewState(seeded[k])
					if err != nil {
						t.Error(err)
						return
					}
					if !write(crdt.NewChange(user, st, map[string]any{"age": int64(i)}, nil, false, nil, testKey)) {
						return
					}
				}
			}
		})
	}
	return sync.OnceFunc(func() { close(done); wg.Wait() })
}
