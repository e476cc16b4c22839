package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// BenchmarkMergeUpdate measures merging one more change into a document that
// already has `history` blocks (between history and 2×history while the benchmark
// runs: each document takes at most `history` new changes, then the next one is
// used). Each operation is what a local Update does in the store: read the state,
// build a change on its heads, Apply it (read its parent, check, merge, write the
// block, the log entry and the state) and commit. The cost is the same at both
// sizes because Apply reads only the parents and the state, never the history.
//
// The store is in memory so that disk flushes, which cost the same at either size,
// neither hide the merge's own cost nor add their noise to it.
func BenchmarkMergeUpdate(b *testing.B) {
	for _, history := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			benchMergeUpdate(b, history)
		})
	}
}

func benchMergeUpdate(b *testing.B, history int) {
	user, _ := testSchemas(b)
	s := openMem(b)
	docs := make([]*crdt.Block, b.N/history+1)
	for i := range docs {
		docs[i] = buildHistory(b, s, user, history)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		doc := docs[i/history].CID
		err := s.Update(func(tx *store.Tx) error {
			st, err := tx.State(user.ID, doc)
			if err != nil {
				return err
			}
			c, err := crdt.NewChange(user, st, map[string]any{"age": int64(i)}, map[string]any{"hits": int64(1)}, false, newNonce(), testKey)
			if err != nil {
				return err
			}
			_, _, err = tx.Apply(c)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// buildHistory stores a new document with n blocks in a chain (its genesis and n-1
// changes) and returns its genesis.
func buildHistory(tb testing.TB, s *store.Store, user *crdt.Schema, n int) *crdt.Block {
	tb.Helper()
	g := genesis(tb, user, map[string]any{"name": "Ada", "age": int64(0), "verified": true, "points": 1.5})
	st := apply(tb, s, g)
	const perTxn = 500 // stays well inside Badger's transaction size limit
	for done := 1; done < n; {
		err := s.Update(func(tx *store.Tx) error {
			cur := st
			for k := done; k < min(n, done+perTxn); k++ {
				c, err := crdt.NewChange(user, cur, map[string]any{"age": int64(k)}, map[string]any{"hits": int64(1)}, false, newNonce(), testKey)
				if err != nil {
					return err
				}
				if cur, _, err = tx.Apply(c); err != nil {
					return err
				}
			}
			st = cur
			return nil
		})
		if err != nil {
			tb.Fatalf("building a history of %d blocks: %v", n, err)
		}
		done = min(n, done+perTxn)
	}
	if st.Height != uint64(n) {
		tb.Fatalf("history built to height %d, want %d", st.Height, n)
	}
	return g
}

// BenchmarkApplyGenesis is the store's share of a durable Create: build a genesis
// block and apply it in its own transaction, with the default (durable) options.
// The difference from the root BenchmarkCreate is what the node adds around the
// store (input conversion, events, publishing).
func BenchmarkApplyGenesis(b *testing.B) {
	user, _ := testSchemas(b)
	s := openStore(b, b.TempDir(), nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		g := genesis(b, user, map[string]any{"name": fmt.Sprintf("user-%06d", n), "age": int64(20 + n%80), "verified": n%2 == 0, "points": float64(n) + 0.5})
		err := s.Update(func(tx *store.Tx) error {
			_, _, err := tx.Apply(g)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkApplyGenesisMany applies 1,000 genesis blocks per durable transaction:
// the store's share of a CreateMany.
func BenchmarkApplyGenesisMany(b *testing.B) {
	const perTxn = 1000
	user, _ := testSchemas(b)
	s := openStore(b, b.TempDir(), nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		blocks := make([]*crdt.Block, perTxn)
		for i := range blocks {
			k := n + i
			blocks[i] = genesis(b, user, map[string]any{"name": fmt.Sprintf("user-%06d", k), "age": int64(20 + k%80), "verified": k%2 == 0, "points": float64(k) + 0.5})
		}
		err := s.Update(func(tx *store.Tx) error {
			for _, g := range blocks {
				if _, _, err := tx.Apply(g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		n += perTxn
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkOpen opens and closes a store of 100,000 documents, flushed to table
// files: the cost of Open, including its check of every table file.
func BenchmarkOpen(b *testing.B) {
	const docs, perTxn = 100_000, 1000
	user, _ := testSchemas(b)
	dir := b.TempDir()
	s := openStore(b, dir, nil)
	for k := 0; k < docs; k += perTxn {
		err := s.Update(func(tx *store.Tx) error {
			for i := k; i < k+perTxn; i++ {
				g := genesis(b, user, map[string]any{"name": fmt.Sprintf("user-%06d", i), "age": int64(20 + i%80), "verified": i%2 == 0, "points": float64(i) + 0.5})
				if _, _, err := tx.Apply(g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	var size int64
	for _, t := range tables {
		if st, err := os.Stat(t); err == nil {
			size += st.Size()
		}
	}
	for b.Loop() {
		s, err := store.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/(1<<20), "table-MiB")
}

// BenchmarkHeadsHashesBeside measures HeadsHashes, reconciliation's scan, of a
// Post collection of 100 documents, alone in the store and beside a User
// collection of 10,000. A document record's key starts with its collection's
// schema ID, so the two cost the same: a scan reads its own collection only (see
// the package doc, "Finding a block by CID").
func BenchmarkHeadsHashesBeside(b *testing.B) {
	for _, others := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			user, post := testSchemas(b)
			s := openMem(b)
			err := s.Update(func(tx *store.Tx) error {
				for i := range 100 + others {
					g := genesis(b, post, map[string]any{"title": fmt.Sprint(i)})
					if i >= 100 {
						g = genesis(b, user, map[string]any{"name": fmt.Sprint(i)})
					}
					if _, _, err := tx.Apply(g); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				err := s.View(func(tx *store.Tx) error {
					return tx.HeadsHashes(post.ID, "", func(string, [32]byte) error { n++; return nil })
				})
				if err != nil || n != 100 {
					b.Fatalf("HeadsHashes listed %d documents of 100: %v", n, err)
				}
			}
		})
	}
}

// BenchmarkFeedCost measures what the change feed adds to writes: each
// iteration runs the same write twice, once with the feed's entries recorded
// and once without (SetFeed), in alternating order, and reports the median time
// of each and their ratio, so that the machine's load weighs on both alike and
// outliers (an fsync stalled by another process, a collection) do not.
// The writes are a local Create (one new document per durable transaction),
// a CreateMany of 1,000 documents, and an Update (one change per durable
// transaction). "disk" commits durably in a temporary directory, "mem" in
// memory, where no fsync hides the feed's CPU.
func BenchmarkFeedCost(b *testing.B) {
	for _, where := range []string{"disk", "mem"} {
		for _, op := range []string{"Create", "CreateMany", "Update"} {
			b.Run(where+"/"+op, func(b *testing.B) {
				dir := ""
				if where == "disk" {
					dir = b.TempDir()
				}
				benchFeedCost(b, openStore(b, dir, nil), op)
			})
		}
	}
}

func benchFeedCost(b *testing.B, s *store.Store, op string) {
	user, _ := testSchemas(b)
	doc := genesis(b, user, map[string]any{"name": "Ada", "age": int64(0), "verified": true, "points": 1.5})
	apply(b, s, doc)
	n := 0
	write := func() {
		var err error
		switch op {
		case "Create", "CreateMany":
			count := 1
			if op == "CreateMany" {
				count = 1000
			}
			gs := make([]*store.Genesis, count)
			for i := range gs {
				gs[i] = store.NewGenesis(genesis(b, user, map[string]any{"name": "Ada", "age": int64(n + i), "verified": true, "points": 1.5}))
			}
			err = s.Update(func(tx *store.Tx) error {
				for _, g := range gs {
					if err := tx.PutGenesis(g); err != nil {
						return err
					}
				}
				return nil
			})
		case "Update":
			err = s.Update(func(tx *store.Tx) error {
				st, err := tx.State(user.ID, doc.CID)
				if err != nil {
					return err
				}
				c, err := crdt.NewChange(user, st, map[string]any{"age": int64(n), "points": float64(n)}, nil, false, nil, testKey)
				if err != nil {
					return err
				}
				_, _, err = tx.Apply(c)
				return err
			})
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	var on, off []time.Duration
	for i := 0; b.Loop(); i++ {
		for k := range 2 {
			feed := (i+k)%2 == 0
			s.SetFeed(feed)
			start := time.Now()
			write()
			if feed {
				on = append(on, time.Since(start))
			} else {
				off = append(off, time.Since(start))
			}
		}
	}
	s.SetFeed(true)
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2])
	}
	b.ReportMetric(median(on), "ns/op-feed")
	b.ReportMetric(median(off), "ns/op-nofeed")
	b.ReportMetric(median(on)/median(off), "ratio")
}
