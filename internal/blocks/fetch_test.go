package blocks_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m) // no goroutine of libp2p, Badger or ours may outlive a test
}

// TestFetchLinear fetches the 950 blocks a client misses of a 1,000-block chain in
// one stream, parents first, visiting only the gap.
func TestFetchLinear(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, nil)
	d := linear(t, s, 1, 1000, 0)
	apply(t, p.serverStore, d.blocks)
	apply(t, p.clientStore, d.blocks[:50])

	got, stats := p.fetch(t, blocks.Item{Doc: d.id(), Want: []cid.Cid{d.blocks[999].CID}, Have: []cid.Cid{d.blocks[49].CID}})
	if len(got) != 950 {
		t.Fatalf("got %d blocks, want 950", len(got))
	}
	var size int64
	for i, b := range got {
		if want := d.blocks[50+i]; !b.CID.Equals(want.CID) || b.Height != uint64(51+i) {
			t.Fatalf("block %d is %s at height %d, want %s at height %d", i, b.CID, b.Height, want.CID, 51+i)
		}
		size += int64(len(b.Data))
	}
	if stats.Bytes != size || stats.Duration <= 0 {
		t.Errorf("stats %+v, want %d bytes and a duration", stats, size)
	}
	apply(t, p.clientStore, got)
	if heads := headsIn(t, p.clientStore, s, d.id()); len(heads) != 1 || !heads[0].Equals(d.blocks[999].CID) {
		t.Fatalf("client heads %v after applying, want [%s]", heads, d.blocks[999].CID)
	}
	m := p.srv.Metrics()
	if m.Streams != 1 || m.Answered != 1 || m.Blocks != 950 || m.Failed != 0 {
		t.Errorf("server metrics %+v, want 1 stream answered with 950 blocks", m)
	}
	if m.Visited > 951 {
		t.Errorf("server visited %d blocks for a gap of 950", m.Visited)
	}
}

// TestFetchBranched checks, on histories with concurrent branches and merges, that
// the answer is exactly the set difference a brute-force computation gives, parents
// first, for explicit wants and for the server's heads, including when the client
// has heads the server does not know.
func TestFetchBranched(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, nil)
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 2))
		d := branched(t, s, 100+seed, 2+rng.IntN(4), 50+rng.IntN(250))
		apply(t, p.serverStore, d.blocks)
		serverHas := keySet(d.byKey)
		n := len(d.blocks)

		// The client knows the ancestors of a few random blocks.
		var roots []cid.Cid
		for range rng.IntN(4) {
			roots = append(roots, d.blocks[rng.IntN(n)].CID)
		}
		known := d.closure(roots)
		apply(t, p.clientStore, d.inOrder(known))
		extra := seed%3 == 2 && len(known) > 0
		if extra {
			// A change only the client has, on one of its heads.
			b := d.add(t, headsOf(known)[:1], 0)
			apply(t, p.clientStore, []*crdt.Block{b})
			known[b.CID.KeyString()] = b
		}
		have := cids(headsOf(known))
		var want []cid.Cid
		if seed%2 == 1 {
			for range 1 + rng.IntN(3) {
				want = append(want, d.blocks[rng.IntN(n)].CID)
			}
		}

		// Brute force: what the server can tell the client lacks.
		wantRoots := want
		if len(want) == 0 {
			wantRoots = cids(headsOf(serverBlocks(d, serverHas)))
		}
		var haveKnown []cid.Cid
		for _, c := range have {
			if serverHas[c.KeyString()] {
				haveKnown = append(haveKnown, c)
			}
		}
		expected := difference(d.closure(wantRoots), d.closure(haveKnown))

		got, _ := p.fetch(t, blocks.Item{Doc: d.id(), Want: want, Have: have})
		if g, e := keys(got), keys(values(expected)); !slices.Equal(g, e) {
			t.Fatalf("seed %d: got %d blocks, want %d:\ngot  %v\nwant %v", seed, len(g), len(e), g, e)
		}
		checkParentsFirst(t, got, keySet(known))
		apply(t, p.clientStore, got)
		if len(want) == 0 && !extra {
			if h := headsIn(t, p.clientStore, s, d.id()); !slices.Equal(keysOf(h), keysOf(wantRoots)) {
				t.Fatalf("seed %d: client heads %v, want the server's %v", seed, h, wantRoots)
			}
		}
	}
}

// serverBlocks returns the blocks of d the server has.
func serverBlocks(d *dag, has map[string]bool) map[string]*crdt.Block {
	out := map[string]*crdt.Block{}
	for k, b := range d.byKey {
		if has[k] {
			out[k] = b
		}
	}
	return out
}

func keysOf(cs []cid.Cid) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.String()
	}
	slices.Sort(out)
	return out
}

// TestFetchManyDocs asks in one request for the server's heads of documents the
// client partly has, does not have, has alone and has completely.
func TestFetchManyDocs(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, nil)
	a := branched(t, s, 1, 3, 120)
	b := linear(t, s, 2, 30, 0)
	c := linear(t, s, 3, 5, 0)    // the client's alone
	e := branched(t, s, 4, 2, 40) // both have all of it
	for _, d := range []*dag{a, b, e} {
		apply(t, p.serverStore, d.blocks)
	}
	knownA := a.closure([]cid.Cid{a.blocks[60].CID})
	apply(t, p.clientStore, a.inOrder(knownA))
	apply(t, p.clientStore, c.blocks)
	apply(t, p.clientStore, e.blocks)

	items := []blocks.Item{
		{Doc: a.id(), Have: cids(headsOf(knownA))},
		{Doc: c.id(), Have: headsIn(t, p.clientStore, s, c.id())},
		{Doc: b.id()},
		{Doc: e.id(), Have: headsIn(t, p.clientStore, s, e.id())},
	}
	got, _ := p.fetch(t, items...)
	wantA := difference(a.byKey, knownA)
	if len(got) != len(wantA)+len(b.blocks) {
		t.Fatalf("got %d blocks, want %d of a and %d of b", len(got), len(wantA), len(b.blocks))
	}
	gotA, gotB := got[:len(wantA)], got[len(wantA):]
	if !slices.Equal(keys(gotA), keys(values(wantA))) {
		t.Fatal("the first part of the answer is not the blocks of a the client lacks")
	}
	if !slices.Equal(keys(gotB), keys(b.blocks)) {
		t.Fatal("the second part of the answer is not the blocks of b")
	}
	checkParentsFirst(t, got, keySet(knownA))
	apply(t, p.clientStore, got)
	for _, d := range []*dag{a, b} {
		if h, w := headsIn(t, p.clientStore, s, d.id()), headsIn(t, p.serverStore, s, d.id()); !slices.Equal(keysOf(h), keysOf(w)) {
			t.Fatalf("client heads %v, server heads %v", h, w)
		}
	}

	// Nothing left to fetch: an empty answer, still one stream.
	before := p.srv.Metrics().Streams
	items[0].Have = headsIn(t, p.clientStore, s, a.id())
	items[2].Have = headsIn(t, p.clientStore, s, b.id())
	if got, _ := p.fetch(t, items...); len(got) != 0 {
		t.Fatalf("got %d blocks when up to date", len(got))
	}
	if n := p.srv.Metrics().Streams - before; n != 1 {
		t.Fatalf("%d streams for one fetch", n)
	}
}

// TestFetchInParts checks that answers beyond the server's limits come lowest
// first and that fetching again completes the history.
func TestFetchInParts(t *testing.T) {
	s := testSchema(t)
	t.Run("blocks", func(t *testing.T) {
		p := newPair(t, &blocks.Options{MaxAnswerBlocks: 100})
		d := linear(t, s, 1, 350, 0)
		apply(t, p.serverStore, d.blocks)
		apply(t, p.clientStore, d.blocks[:1])
		var sizes []int
		for {
			got, _ := p.fetch(t, blocks.Item{Doc: d.id(), Have: headsIn(t, p.clientStore, s, d.id())})
			if len(got) == 0 {
				break
			}
			base := 1 + 100*len(sizes)
			for i, b := range got {
				if !b.CID.Equals(d.blocks[base+i].CID) {
					t.Fatalf("part %d block %d at height %d, want height %d", len(sizes), i, b.Height, base+i+1)
				}
			}
			sizes = append(sizes, len(got))
			apply(t, p.clientStore, got)
		}
		if !slices.Equal(sizes, []int{100, 100, 100, 49}) {
			t.Fatalf("parts of %v blocks, want [100 100 100 49]", sizes)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		p := newPair(t, &blocks.Options{MaxAnswerBytes: crdt.MaxBlockSize})
		d := linear(t, s, 2, 30, 100_000)
		apply(t, p.serverStore, d.blocks)
		var parts int
		var have []cid.Cid
		for {
			got, stats := p.fetch(t, blocks.Item{Doc: d.id(), Want: []cid.Cid{d.blocks[29].CID}, Have: have})
			if stats.Bytes > crdt.MaxBlockSize {
				t.Fatalf("answer of %d bytes", stats.Bytes)
			}
			if len(got) == 0 {
				break
			}
			parts++
			checkParentsFirst(t, got, keySet(d.closure(have)))
			apply(t, p.clientStore, got)
			have = headsIn(t, p.clientStore, s, d.id())
		}
		if parts < 3 {
			t.Fatalf("%d parts, want at least 3", parts)
		}
		if h := headsIn(t, p.clientStore, s, d.id()); !h[0].Equals(d.blocks[29].CID) {
			t.Fatal("history incomplete")
		}
	})
	t.Run("items", func(t *testing.T) {
		// The budget runs out in the second item: its lowest blocks come.
		p := newPair(t, &blocks.Options{MaxAnswerBlocks: 100})
		a, b := linear(t, s, 3, 80, 0), linear(t, s, 4, 80, 0)
		apply(t, p.serverStore, a.blocks)
		apply(t, p.serverStore, b.blocks)
		got, _ := p.fetch(t, blocks.Item{Doc: a.id()}, blocks.Item{Doc: b.id()})
		if !slices.Equal(keys(got), keys(append(slices.Clone(a.blocks), b.blocks[:20]...))) {
			t.Fatal("answer is not all of a then the 20 lowest of b")
		}
	})
}

// TestFetchThroughCollection checks that a request finds documents in the
// collection it names only, among several: a document that has merged only its
// genesis and one with a history come through their own collection, whole or
// from their heads, and nothing of them comes through another collection the
// server stores.
func TestFetchThroughCollection(t *testing.T) {
	p := newPair(t, nil)
	ts := testSchema(t)
	ss, err := schema.Parse(`type U { n: Int s: String }`)
	if err != nil {
		t.Fatal(err)
	}
	us := ss[0]
	def, err := schema.Encode(us)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.serverStore.Update(func(tx *store.Tx) error { return tx.PutCollection(us.Name, def) }); err != nil {
		t.Fatal(err)
	}
	sole, long := newDAG(t, us, 1), linear(t, ts, 2, 10, 0)
	apply(t, p.serverStore, sole.blocks)
	apply(t, p.serverStore, long.blocks)
	fetch := func(schemaID cid.Cid, it blocks.Item) []*crdt.Block {
		t.Helper()
		var got []*crdt.Block
		_, err := blocks.Fetch(context.Background(), p.client, p.server.ID(), schemaID, []blocks.Item{it}, func(b *crdt.Block) error {
			got = append(got, b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tc := range []struct {
		d     *dag
		own   *crdt.Schema
		other *crdt.Schema
	}{{sole, us, ts}, {long, ts, us}} {
		for name, it := range map[string]blocks.Item{
			"whole":      {Doc: tc.d.id()},
			"from heads": {Doc: tc.d.id(), Have: []cid.Cid{tc.d.id()}},
			"wanted":     {Doc: tc.d.id(), Want: cids(tc.d.blocks[len(tc.d.blocks)-1:])},
		} {
			want := tc.d.blocks
			if len(it.Have) > 0 {
				want = want[1:]
			}
			if got := fetch(tc.own.ID, it); !slices.Equal(keys(got), keys(want)) {
				t.Errorf("%s, %s of %d blocks through its collection: got %d blocks", tc.own.Name, name, len(tc.d.blocks), len(got))
			}
			if got := fetch(tc.other.ID, it); len(got) != 0 {
				t.Errorf("%s, %s through collection %s: got %d blocks, want none", tc.own.Name, name, tc.other.Name, len(got))
			}
		}
	}
}

// TestPlan compares the server's sweep with brute force on random histories and
// budgets: the chosen blocks are the lowest of the difference in (height, CID)
// order, as many as fit.
func TestPlan(t *testing.T) {
	s := testSchema(t)
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 3))
		st := newStore(t)
		d := branched(t, s, seed, 1+rng.IntN(5), 1+rng.IntN(150))
		apply(t, st, d.blocks)
		pick := func() []cid.Cid {
			var out []cid.Cid
			for range rng.IntN(4) {
				out = append(out, d.blocks[rng.IntN(len(d.blocks))].CID)
			}
			return out
		}
		want, have := pick(), pick()
		roots := want
		if len(want) == 0 {
			roots = cids(headsOf(d.byKey))
		}
		diff := values(difference(d.closure(roots), d.closure(have)))
		slices.SortFunc(diff, func(a, b *crdt.Block) int {
			if a.Height != b.Height {
				return int(a.Height) - int(b.Height)
			}
			return strings.Compare(a.CID.KeyString(), b.CID.KeyString())
		})
		maxBlocks := 1 + rng.IntN(len(d.blocks)+1)
		maxBytes := 1 + rng.IntN(200*len(d.blocks))
		var expected []*crdt.Block
		size := 0
		for _, b := range diff {
			if len(expected) == maxBlocks || size+len(b.Data) > maxBytes {
				break
			}
			size += len(b.Data)
			expected = append(expected, b)
		}
		got, visited, err := blocks.PlanForTest(st, testSchema(t).ID, blocks.Item{Doc: d.id(), Want: want, Have: have}, maxBlocks, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, cids(expected), cid.Cid.Equals) {
			t.Fatalf("seed %d: chose %d blocks, want %d", seed, len(got), len(expected))
		}
		if visited > len(d.blocks) {
			t.Fatalf("seed %d: visited %d of %d blocks", seed, visited, len(d.blocks))
		}
	}
}

// TestPlanOtherDocument ignores wanted and had blocks of other documents and
// documents the server does not know.
func TestPlanOtherDocument(t *testing.T) {
	s := testSchema(t)
	st := newStore(t)
	a, b := linear(t, s, 1, 10, 0), linear(t, s, 2, 10, 0)
	apply(t, st, a.blocks)
	apply(t, st, b.blocks)
	for _, it := range []blocks.Item{
		{Doc: a.id(), Want: []cid.Cid{b.blocks[9].CID}},
		{Doc: b.blocks[3].CID}, // not a document ID
		{Doc: linear(t, s, 3, 1, 0).id()},
	} {
		if got, _, err := blocks.PlanForTest(st, testSchema(t).ID, it, 100, 1<<20); err != nil || len(got) != 0 {
			t.Fatalf("item %+v: chose %d blocks, err %v", it, len(got), err)
		}
	}
	// A have of another document does not hide anything.
	got, _, err := blocks.PlanForTest(st, testSchema(t).ID, blocks.Item{Doc: a.id(), Have: []cid.Cid{b.blocks[9].CID}}, 100, 1<<20)
	if err != nil || len(got) != 10 {
		t.Fatalf("chose %d blocks, err %v; want 10", len(got), err)
	}
}

// TestFetchCallbackError returns fn's error and stops the exchange.
func TestFetchCallbackError(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, nil)
	d := linear(t, s, 1, 100, 0)
	apply(t, p.serverStore, d.blocks)
	errStop := errors.New("stop")
	n := 0
	stats, err := blocks.Fetch(context.Background(), p.client, p.server.ID(), testSchema(t).ID, []blocks.Item{{Doc: d.id()}}, func(*crdt.Block) error {
		if n++; n == 10 {
			return errStop
		}
		return nil
	})
	var pe *blocks.PeerError
	if !errors.Is(err, errStop) || !errors.As(err, &pe) || pe.Peer != p.server.ID() {
		t.Fatalf("err %v, want errStop in a PeerError", err)
	}
	if stats.Blocks != 9 {
		t.Fatalf("stats count %d blocks, want the 9 accepted", stats.Blocks)
	}
}

// TestFetchRequestLimits refuses requests beyond the protocol's limits before
// opening a stream.
func TestFetchRequestLimits(t *testing.T) {
	p := newPair(t, nil)
	d := linear(t, testSchema(t), 1, 1, 0)
	many := make([]cid.Cid, blocks.MaxLinks+1)
	for i := range many {
		many[i] = d.id()
	}
	// Items of 10 documents, each with 1,000 links in each list.
	large := make([]blocks.Item, 10)
	for i := range large {
		large[i] = blocks.Item{Doc: linear(t, testSchema(t), uint64(10+i), 1, 0).id(), Want: many[:1000], Have: many[:1000]}
	}
	for name, items := range map[string][]blocks.Item{
		"items": make([]blocks.Item, blocks.MaxItems+1),
		"want":  {{Doc: d.id(), Want: many}},
		"have":  {{Doc: d.id(), Have: many}},
		"bytes": large,
	} {
		for i := range items {
			if !items[i].Doc.Defined() {
				items[i].Doc = d.id()
			}
		}
		_, err := blocks.Fetch(context.Background(), p.client, p.server.ID(), testSchema(t).ID, items, discard)
		if !errors.Is(err, blocks.ErrLimit) {
			t.Errorf("%s: err %v, want ErrLimit", name, err)
		}
	}
	if _, err := blocks.Fetch(context.Background(), p.client, p.server.ID(), testSchema(t).ID, []blocks.Item{{}}, discard); err == nil {
		t.Error("no error for an undefined document ID")
	}
	if _, err := blocks.Fetch(context.Background(), p.client, p.server.ID(), testSchema(t).ID, []blocks.Item{{Doc: d.id()}, {Doc: d.id()}}, discard); err == nil {
		t.Error("no error for a document named twice")
	}
	if _, err := blocks.Fetch(context.Background(), p.client, p.server.ID(), cid.Undef, []blocks.Item{{Doc: d.id()}}, discard); err == nil {
		t.Error("no error for an undefined schema ID")
	}
	if stats, err := blocks.Fetch(context.Background(), p.client, p.server.ID(), testSchema(t).ID, nil, discard); err != nil || stats.Blocks != 0 {
		t.Errorf("no items: %+v, %v", stats, err)
	}
	if n := p.srv.Metrics().Streams; n != 0 {
		t.Errorf("%d streams opened", n)
	}
}

func TestOptions(t *testing.T) {
	h, st := streamstest.NewHost(t), newStore(t)
	for _, o := range []blocks.Options{
		{MaxAnswerBlocks: blocks.MaxAnswerBlocks + 1},
		{MaxAnswerBlocks: -1},
		{MaxAnswerBytes: crdt.MaxBlockSize - 1},
		{MaxAnswerBytes: blocks.MaxAnswerBytes + 1},
		{MaxConcurrent: -1},
		{MaxPerPeer: -1},
		{MaxConcurrent: 2, MaxPerPeer: 3},
		{Timeout: -time.Second},
		{CacheSize: -1},
	} {
		if _, err := blocks.NewServer(h, st, &o); err == nil || !strings.Contains(err.Error(), "Options.") {
			t.Errorf("%+v: err %v, want one naming the field", o, err)
		}
	}
}

// BenchmarkFetch1000 fetches a 1,000-block history over loopback TCP.
func BenchmarkFetch1000(b *testing.B) {
	s := testSchema(b)
	p := newPair(b, nil)
	d := linear(b, s, 1, 1000, 0)
	apply(b, p.serverStore, d.blocks)
	item := blocks.Item{Doc: d.id(), Want: []cid.Cid{d.blocks[999].CID}}
	ctx := context.Background()
	var bytes int64
	for b.Loop() {
		stats, err := blocks.Fetch(ctx, p.client, p.server.ID(), s.ID, []blocks.Item{item}, func(*crdt.Block) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		if stats.Blocks != 1000 {
			b.Fatalf("%d blocks", stats.Blocks)
		}
		bytes = stats.Bytes
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "blocks/s")
}

// TestPlanMatchesServer checks that Plan chooses what the Server sends: the same blocks in the
// same order, within the same limits.
func TestPlanMatchesServer(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, &blocks.Options{MaxAnswerBlocks: 100})
	d := branched(t, s, 7, 3, 60)
	e := linear(t, s, 8, 300, 0)
	apply(t, p.serverStore, d.blocks)
	apply(t, p.serverStore, e.blocks)
	items := []blocks.Item{{Doc: d.id(), Have: []cid.Cid{d.blocks[10].CID}}, {Doc: e.id()}}
	got, _ := p.fetch(t, items...)
	var planned []cid.Cid
	err := p.serverStore.View(func(tx *store.Tx) error {
		var err error
		planned, err = blocks.NewPlanner(64).Plan(context.Background(), tx, s.ID, items, 100, blocks.MaxAnswerBytes)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 || !slices.Equal(keysOf(planned), keysOf(cids(got))) {
		t.Fatalf("Plan chose %d blocks, the Server sent %d; want the same 100", len(planned), len(got))
	}
}

// TestHaveDiverged is the regression test of a catch-up that never progressed
// (found by the simulator, seeds 7000-7011 with 4-block answers and deep
// histories): when the two sides' histories diverged, the requester's heads
// are unknown to the server, which then answers with the lowest blocks of the
// whole document; cut at its limit, that answer holds only blocks the requester
// has, every time. Have names blocks below the heads too, so the answer starts
// where the histories diverged.
func TestHaveDiverged(t *testing.T) {
	s := testSchema(t)
	p := newPair(t, &blocks.Options{MaxAnswerBlocks: 4})
	d := linear(t, s, 3, 40, 0)
	mine := d.add(t, d.blocks[39:40], 0)   // the client's concurrent change
	theirs := d.add(t, d.blocks[39:40], 0) // the server's
	apply(t, p.serverStore, append(d.blocks[:40:40], theirs))
	apply(t, p.clientStore, append(d.blocks[:40:40], mine))

	got, _ := p.fetch(t, blocks.Item{Doc: d.id(), Have: []cid.Cid{mine.CID}})
	if len(got) != 4 || !got[0].CID.Equals(d.id()) {
		t.Fatalf("with the heads alone: got %d blocks from %s, want the 4 lowest, from the genesis", len(got), got[0].CID)
	}
	var have []cid.Cid
	err := p.clientStore.View(func(tx *store.Tx) error {
		var err error
		have, err = blocks.Have(tx, s.ID, d.id())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = p.fetch(t, blocks.Item{Doc: d.id(), Have: have})
	if len(got) != 1 || !got[0].CID.Equals(theirs.CID) {
		t.Fatalf("with Have: got %d blocks, want only the server's change %s", len(got), theirs.CID)
	}
}
