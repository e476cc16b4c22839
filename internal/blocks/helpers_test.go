package blocks_test

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

// testKey signs the blocks the tests make outside a node: a fixed key, so that
// their bytes are the same on every run.
var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// testSchema is a collection with an Int field n and a String field s.
func testSchema(t testing.TB) *crdt.Schema {
	t.Helper()
	ss, err := schema.Parse(`type T { n: Int s: String }`)
	if err != nil {
		t.Fatal(err)
	}
	return ss[0]
}

// dag is one document's history, built by hand so that tests choose the parents.
type dag struct {
	schema *crdt.Schema
	blocks []*crdt.Block // creation order: parents before children
	byKey  map[string]*crdt.Block
	n      int64
}

func newDAG(t testing.TB, s *crdt.Schema, seed uint64) *dag {
	t.Helper()
	nonce := binary.BigEndian.AppendUint64(nil, seed)
	g, err := crdt.NewGenesis(s, map[string]any{"n": int64(0)}, nil, nonce, testKey)
	if err != nil {
		t.Fatal(err)
	}
	d := &dag{schema: s, byKey: map[string]*crdt.Block{}}
	d.record(g)
	return d
}

func (d *dag) record(b *crdt.Block) {
	d.blocks = append(d.blocks, b)
	d.byKey[b.CID.KeyString()] = b
}

func (d *dag) genesis() *crdt.Block { return d.blocks[0] }
func (d *dag) id() cid.Cid          { return d.genesis().CID }

// add makes a block on parents, with payload bytes of padding in field s.
func (d *dag) add(t testing.TB, parents []*crdt.Block, payload int) *crdt.Block {
	t.Helper()
	d.n++
	b := &crdt.Block{Schema: d.schema.ID, Doc: d.id(), Set: map[string]any{"n": d.n}}
	if payload > 0 {
		b.Set["s"] = strings.Repeat("x", payload)
	}
	for _, p := range parents {
		b.Prev = append(b.Prev, p.CID)
		b.Height = max(b.Height, p.Height+1)
	}
	sortCIDs(b.Prev)
	if err := d.schema.Check(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	d.record(b)
	return b
}

// linear makes a chain of n blocks (genesis included), heights 1..n.
func linear(t testing.TB, s *crdt.Schema, seed uint64, n, payload int) *dag {
	d := newDAG(t, s, seed)
	for len(d.blocks) < n {
		d.add(t, d.blocks[len(d.blocks)-1:], payload)
	}
	return d
}

// branched simulates writers that change the document on their own heads and now
// and then merge what another writer knows, for steps steps.
func branched(t testing.TB, s *crdt.Schema, seed uint64, writers, steps int) *dag {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := newDAG(t, s, seed)
	known := make([]map[string]*crdt.Block, writers)
	heads := make([][]*crdt.Block, writers)
	for w := range writers {
		known[w] = map[string]*crdt.Block{d.genesis().CID.KeyString(): d.genesis()}
		heads[w] = []*crdt.Block{d.genesis()}
	}
	for range steps {
		w := rng.IntN(writers)
		if rng.IntN(10) < 7 {
			b := d.add(t, heads[w], 0)
			known[w][b.CID.KeyString()] = b
			heads[w] = []*crdt.Block{b}
			continue
		}
		for k, b := range known[rng.IntN(writers)] {
			known[w][k] = b
		}
		heads[w] = headsOf(known[w])
	}
	return d
}

// headsOf returns the blocks of set that no block of set names as a parent.
func headsOf(set map[string]*crdt.Block) []*crdt.Block {
	referenced := map[string]bool{}
	for _, b := range set {
		for _, p := range b.Prev {
			referenced[p.KeyString()] = true
		}
	}
	var out []*crdt.Block
	for k, b := range set {
		if !referenced[k] {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *crdt.Block) int { return strings.Compare(a.CID.KeyString(), b.CID.KeyString()) })
	return out
}

// closure returns roots and all their ancestors within d.
func (d *dag) closure(roots []cid.Cid) map[string]*crdt.Block {
	out := map[string]*crdt.Block{}
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		b, ok := d.byKey[c.KeyString()]
		if !ok || out[c.KeyString()] != nil {
			continue
		}
		out[c.KeyString()] = b
		stack = append(stack, b.Prev...)
	}
	return out
}

// inOrder returns the blocks of set in d's creation order.
func (d *dag) inOrder(set map[string]*crdt.Block) []*crdt.Block {
	var out []*crdt.Block
	for _, b := range d.blocks {
		if set[b.CID.KeyString()] != nil {
			out = append(out, b)
		}
	}
	return out
}

func cids(bs []*crdt.Block) []cid.Cid {
	out := make([]cid.Cid, len(bs))
	for i, b := range bs {
		out[i] = b.CID
	}
	return out
}

func sortCIDs(cs []cid.Cid) {
	slices.SortFunc(cs, func(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) })
}

// keys returns the sorted CID strings of blocks, for comparisons.
func keys(bs []*crdt.Block) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.CID.String()
	}
	slices.Sort(out)
	return out
}

func newStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := testSchema(t)
	def, err := schema.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(tx *store.Tx) error { return tx.PutCollection(s.Name, def) }); err != nil {
		t.Fatal(err)
	}
	return st
}

// apply merges bs, in order, in one transaction.
func apply(t testing.TB, st *store.Store, bs []*crdt.Block) {
	t.Helper()
	for len(bs) > 0 { // in chunks: a Badger transaction has a size limit
		n := min(len(bs), 500)
		err := st.Update(func(tx *store.Tx) error {
			for _, b := range bs[:n] {
				if _, _, err := tx.Apply(b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		bs = bs[n:]
	}
}

// headsIn returns the current heads of document doc in st.
func headsIn(t testing.TB, st *store.Store, s *crdt.Schema, doc cid.Cid) []cid.Cid {
	t.Helper()
	var heads []cid.Cid
	err := st.View(func(tx *store.Tx) error {
		state, err := tx.State(s.ID, doc)
		if err != nil {
			return err
		}
		heads = state.Heads
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return heads
}

// pair is a server node and a client node, connected.
type pair struct {
	server, client           host.Host
	serverStore, clientStore *store.Store
	srv                      *blocks.Server
}

func newPair(t testing.TB, opts *blocks.Options) *pair {
	t.Helper()
	p := &pair{server: streamstest.NewHost(t), client: streamstest.NewHost(t), serverStore: newStore(t), clientStore: newStore(t)}
	srv, err := blocks.NewServer(p.server, p.serverStore, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	p.srv = srv
	streamstest.Connect(t, p.client, p.server)
	return p
}

// fetch runs one Fetch from the client to the server and collects the blocks.
func (p *pair) fetch(t testing.TB, items ...blocks.Item) ([]*crdt.Block, blocks.Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []*crdt.Block
	stats, err := blocks.Fetch(ctx, p.client, p.server.ID(), testSchema(t).ID, items, func(b *crdt.Block) error {
		got = append(got, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Blocks != len(got) {
		t.Fatalf("stats say %d blocks, fn got %d", stats.Blocks, len(got))
	}
	return got, stats
}

// checkParentsFirst fails unless every block's parents are in known or come
// earlier in bs, and heights never decrease within each document's run.
func checkParentsFirst(t testing.TB, bs []*crdt.Block, known map[string]bool) {
	t.Helper()
	seen := maps.Clone(known)
	if seen == nil {
		seen = map[string]bool{}
	}
	for i, b := range bs {
		for _, p := range b.Prev {
			if !seen[p.KeyString()] {
				t.Fatalf("block %d (%s, height %d) comes before its parent %s", i, b.CID, b.Height, p)
			}
		}
		if i > 0 && bs[i-1].DocID().Equals(b.DocID()) && bs[i-1].Height > b.Height {
			t.Fatalf("block %d at height %d after height %d", i, b.Height, bs[i-1].Height)
		}
		seen[b.CID.KeyString()] = true
	}
}

func keySet(set map[string]*crdt.Block) map[string]bool {
	out := make(map[string]bool, len(set))
	for k := range set {
		out[k] = true
	}
	return out
}

// values returns the blocks of a set.
func values(set map[string]*crdt.Block) []*crdt.Block {
	out := make([]*crdt.Block, 0, len(set))
	for _, b := range set {
		out = append(out, b)
	}
	return out
}

// difference returns the blocks of a that are not in b.
func difference(a, b map[string]*crdt.Block) map[string]*crdt.Block {
	out := map[string]*crdt.Block{}
	for k, v := range a {
		if b[k] == nil {
			out[k] = v
		}
	}
	return out
}

// discard is a Fetch callback that drops the blocks.
func discard(*crdt.Block) error { return nil }
