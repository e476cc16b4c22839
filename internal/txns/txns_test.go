package txns_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/orphans"
	"github.com/gossipdb/gossipdb/internal/txns"
)

func link(s string) cid.Cid {
	c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.SHA2_256}.Sum([]byte(s))
	if err != nil {
		panic(err)
	}
	return c
}

var schemaA, schemaB = link("schema A"), link("schema B")

const unit = 1 << 10

var cost = orphans.Cost(part(schemaA, "t", "d", "x", 0, "p"))

// part returns a block of transaction id in document doc, named name, that
// is the seal of n parts when n > 0.
func part(schema cid.Cid, id, doc, name string, n int, via peer.ID) *crdt.Block {
	return &crdt.Block{Schema: schema, Doc: link(doc), Prev: []cid.Cid{link("p " + name)}, Height: 2,
		CID: link(name), Data: make([]byte, unit), Txn: &crdt.TxnPart{ID: []byte(id), Parts: n}}
}

func add(s *txns.Set, schema cid.Cid, id, doc, name string, n int, via peer.ID) {
	s.Add(txns.Part{Block: part(schema, id, doc, name, n, via), From: via, Via: via})
}

func newSet(units int64, peerUnits int64) *txns.Set {
	return txns.New(txns.Limits{Bytes: units * cost, PeerBytes: peerUnits * cost})
}

// summary names the complete transactions and the dropped parts of r.
func summary(r txns.Ready) string {
	var out []string
	for _, t := range r.Complete {
		out = append(out, fmt.Sprintf("complete %s/%d", t.Key.ID, len(t.Parts)))
	}
	for _, d := range r.Dropped {
		out = append(out, fmt.Sprintf("%s %s", d.Reason, d.Block.Txn.ID))
	}
	return fmt.Sprint(out)
}

func TestCompleteInAnyOrder(t *testing.T) {
	s := newSet(100, 100)
	add(s, schemaA, "t1", "d1", "b", 0, "p")
	add(s, schemaA, "t1", "d1", "b", 0, "p") // a duplicate counts once
	add(s, schemaA, "t1", "d2", "seal", 3, "q")
	if got := summary(s.Ready()); got != "[]" {
		t.Fatalf("before the last part: %s", got)
	}
	// The same ID in another collection is another transaction.
	add(s, schemaB, "t1", "d3", "other", 0, "p")
	add(s, schemaA, "t1", "d3", "a", 0, "p")
	if got := summary(s.Ready()); got != "[complete t1/3]" {
		t.Fatalf("got %s", got)
	}
	if s.Bytes() != 4*cost {
		t.Fatalf("Bytes = %d, want %d", s.Bytes(), 4*cost)
	}
	k := txns.Key{Schema: schemaA, ID: "t1"}
	if got, ok := s.Holding(link("a")); !ok || got != k {
		t.Fatalf("Holding(a) = %v, %v", got, ok)
	}
	s.Depend(k, txns.Part{Block: part(schemaA, "later", "d1", "later", 0, "p"), Via: "p"})
	deps := s.Merged(k)
	if len(deps) != 1 || deps[0].Block.CID != link("later") {
		t.Fatalf("Merged returned %v, want the dependent", deps)
	}
	if s.Bytes() != cost || s.Len() != 1 {
		t.Fatalf("after Merged: Bytes %d Len %d", s.Bytes(), s.Len())
	}
	if _, ok := s.Holding(link("a")); ok {
		t.Fatal("a merged part is still held")
	}
}

func TestLies(t *testing.T) {
	s := newSet(100, 100)
	add(s, schemaA, "t1", "d1", "s1", 3, "p")
	add(s, schemaA, "t1", "d1", "s2", 4, "p")
	if got := summary(s.Ready()); got != "[invalid t1 invalid t1]" {
		t.Fatalf("two counts: %s", got)
	}
	add(s, schemaA, "t2", "d1", "a", 0, "p")
	add(s, schemaA, "t2", "d1", "b", 0, "p")
	add(s, schemaA, "t2", "d1", "seal", 2, "p")
	if got := summary(s.Ready()); got != "[invalid t2 invalid t2 invalid t2]" {
		t.Fatalf("more parts than the seal counts: %s", got)
	}
	if s.Bytes() != 0 {
		t.Fatalf("Bytes = %d after dropping all", s.Bytes())
	}
}

// TestOtherAuthorCannotLie: blocks of another author with a transaction's ID
// make a transaction of their own, whatever count they claim and whichever
// peer relays them: the honest one completes beside it, and the other
// author's lies drop its own transaction only, within its peer's share.
func TestOtherAuthorCannotLie(t *testing.T) {
	s := newSet(10, 3)
	by := func(author, name string, n int, via peer.ID) txns.Part {
		b := part(schemaA, "t", "d", name, n, via)
		b.Author = []byte(author)
		return txns.Part{Block: b, From: via, Via: via}
	}
	s.Add(by("honest", "a", 0, "good"))
	s.Add(by("evil", "x", crdt.MaxTxnParts, "evil"))
	s.Add(by("evil", "y", 0, "good")) // relayed by an honest peer
	s.Add(by("honest", "seal", 2, "evil"))
	r := s.Ready()
	if got := summary(r); got != "[complete t/2]" {
		t.Fatalf("got %s", got)
	}
	if k := r.Complete[0].Key; k.Author != "honest" {
		t.Fatalf("completed %q's transaction, want the honest one", k.Author)
	}
	s.Merged(txns.KeyOf(by("honest", "a", 0, "good")))
	s.Add(by("evil", "z", 3, "evil"))
	if got := summary(s.Ready()); got != "[invalid t invalid t invalid t]" || s.Bytes() != 0 {
		t.Fatalf("the liar's own transaction: %s, %d bytes held", got, s.Bytes())
	}
	for i := range 10 {
		s.Add(by("evil", fmt.Sprint("w", i), 0, "evil"))
		if s.Bytes() > 3*cost {
			t.Fatalf("holds %d bytes, the peer's share is %d", s.Bytes(), 3*cost)
		}
	}
}

// TestBudgetAdversary has a peer send the first parts of many transactions of
// many parts and never the rest: it never holds more than its share, its own
// oldest go first, and another peer's complete transaction still arrives.
func TestBudgetAdversary(t *testing.T) {
	s := newSet(10, 4)
	add(s, schemaA, "honest", "d", "h1", 0, "good")
	for i := range 100 {
		add(s, schemaA, fmt.Sprintf("bad%d", i), "d", fmt.Sprintf("x%d", i), crdt.MaxTxnParts, "evil")
		if s.Bytes() > 10*cost {
			t.Fatalf("holds %d bytes, budget %d", s.Bytes(), 10*cost)
		}
	}
	r := s.Ready()
	if len(r.Dropped) != 96 {
		t.Fatalf("dropped %d, want 96", len(r.Dropped))
	}
	for _, d := range r.Dropped {
		if d.Via != "evil" || d.Reason != txns.Evicted {
			t.Fatalf("dropped %v of %s", d.Reason, d.Via)
		}
	}
	add(s, schemaA, "honest", "d", "h2", 2, "good")
	if got := summary(s.Ready()); got != "[complete honest/2]" {
		t.Fatalf("got %s", got)
	}
	// A total budget smaller than the peers' shares evicts the oldest of all.
	s = newSet(3, 3)
	add(s, schemaA, "a", "d", "a1", 0, "p")
	add(s, schemaA, "b", "d", "b1", 0, "q")
	add(s, schemaA, "c", "d", "c1", 0, "r")
	add(s, schemaA, "d", "d", "d1", 0, "s")
	if got := summary(s.Ready()); got != "[evicted a]" {
		t.Fatalf("got %s", got)
	}
	// A transaction evicted whole takes its dependents with it.
	add(s, schemaA, "b", "d", "b2", 3, "q")
	s.Depend(txns.Key{Schema: schemaA, ID: "b"}, txns.Part{Block: part(schemaA, "x", "d", "dep", 0, "q"), Via: "q"})
	if got := summary(s.Ready()); got != "[evicted c evicted d]" {
		t.Fatalf("got %s", got)
	}
	add(s, schemaA, "e", "d", "e1", 0, "t")
	if got := summary(s.Ready()); got != "[evicted b evicted b evicted x]" {
		t.Fatalf("got %s", got)
	}
}

func TestBlockedWakes(t *testing.T) {
	s := newSet(100, 100)
	add(s, schemaA, "t", "d1", "a", 0, "p")
	add(s, schemaA, "t", "d2", "seal", 2, "p")
	if got := summary(s.Ready()); got != "[complete t/2]" {
		t.Fatalf("got %s", got)
	}
	k := txns.Key{Schema: schemaA, ID: "t"}
	s.Blocked(k)
	add(s, schemaA, "t", "d1", "a", 0, "p") // arrives again: no second hand-over
	s.Wake(schemaB, link("d1"))
	s.Wake(schemaA, link("d9"))
	if got := summary(s.Ready()); got != "[]" {
		t.Fatalf("woken by another document: %s", got)
	}
	s.Wake(schemaA, link("d2"))
	if got := summary(s.Ready()); got != "[complete t/2]" {
		t.Fatalf("got %s", got)
	}
	s.Reject(k)
	if got := summary(s.Ready()); got != "[invalid t invalid t]" {
		t.Fatalf("got %s", got)
	}
	add(s, schemaA, "u", "d1", "u1", 0, "p")
	s.Forget(schemaA)
	if got := summary(s.Ready()); got != "[abandoned u]" || s.Len() != 0 || s.Bytes() != 0 {
		t.Fatalf("got %s", got)
	}
}

// TestDependentsNeverEvictTheirTransaction: blocks that build on a held
// transaction give way to it: a dependent that does not fit is dropped, not
// the transaction, and the transaction's next part drops dependents first.
func TestDependentsNeverEvictTheirTransaction(t *testing.T) {
	s := newSet(3, 3)
	add(s, schemaA, "t", "d1", "a", 0, "p")
	k := txns.Key{Schema: schemaA, ID: "t"}
	dep := func(name string) txns.Part {
		return txns.Part{Block: part(schemaA, "later", "d1", name, 0, "p"), Via: "p"}
	}
	s.Depend(k, dep("x"))
	s.Depend(k, dep("x")) // a duplicate counts once
	s.Depend(k, dep("y"))
	if got := summary(s.Ready()); got != "[]" || s.Bytes() != 3*cost {
		t.Fatalf("got %s, %d bytes", got, s.Bytes())
	}
	s.Depend(k, dep("z")) // no room but the transaction's: the other dependents go
	if got := summary(s.Ready()); got != "[evicted later evicted later]" || s.Len() != 1 {
		t.Fatalf("got %s, %d transactions", got, s.Len())
	}
	add(s, schemaA, "t", "d2", "b", 0, "p")
	add(s, schemaA, "t", "d2", "seal", 3, "p") // its parts push out the last dependent
	if got := summary(s.Ready()); got != "[complete t/3 evicted later]" {
		t.Fatalf("got %s", got)
	}
}

// TestCompleteIsNotEvicted: a chain of transactions larger than the budget,
// added in causal order, lets the first complete; a complete transaction
// handed over is never evicted: the block that needs its room is dropped.
func TestCompleteIsNotEvicted(t *testing.T) {
	s := newSet(3, 3)
	add(s, schemaA, "t1", "d", "a", 0, "p")
	add(s, schemaA, "t1", "d", "seal1", 2, "p")
	add(s, schemaA, "t2", "d", "b", 0, "p")
	add(s, schemaA, "t2", "d", "seal2", 2, "p") // no room: t1 is about to be merged
	if got := summary(s.Ready()); got != "[complete t1/2 evicted t2 evicted t2]" {
		t.Fatalf("got %s", got)
	}
	s.Merged(txns.Key{Schema: schemaA, ID: "t1"})
	add(s, schemaA, "t2", "d", "b", 0, "p") // catch-up brings t2 again
	add(s, schemaA, "t2", "d", "seal2", 2, "p")
	if got := summary(s.Ready()); got != "[complete t2/2]" {
		t.Fatalf("after t1 merged: %s", got)
	}
}

// TestWaitingGivesWay: a transaction that completes while it builds on a held
// part of an incomplete transaction is not handed over (it could not be
// merged), and gives way to that transaction when room is short. Added in
// height order, t2's parts complete it before t1's last part, which lies
// deeper in another document; before, t2 was handed over and kept, t1
// evicted itself, and each catch-up repeated it (found by the simulation).
func TestWaitingGivesWay(t *testing.T) {
	for _, room := range []int64{5, 100} {
		s := newSet(100, room)
		add(s, schemaA, "t1", "d1", "a", 0, "p")
		add(s, schemaA, "t2", "d2", "b", 0, "p")
		add(s, schemaA, "t1", "d1", "seal1", 3, "p")
		add(s, schemaA, "t2", "d2", "seal2", 3, "p")
		c := part(schemaA, "t2", "d1", "c", 0, "p")
		c.Prev = []cid.Cid{link("seal1")}
		s.Add(txns.Part{Block: c, From: "p", Via: "p"})
		if got := summary(s.Ready()); got != "[]" {
			t.Fatalf("room %d: t2 handed over before t1: %s", room, got)
		}
		add(s, schemaA, "t1", "d3", "z", 0, "p")
		want := "[complete t1/3]"
		if room == 5 {
			want = "[complete t1/3 evicted t2 evicted t2 evicted t2]"
		}
		if got := summary(s.Ready()); got != want {
			t.Fatalf("room %d: got %s, want %s", room, got, want)
		}
		s.Merged(txns.Key{Schema: schemaA, ID: "t1"})
		s.Wake(schemaA, link("d1")) // the node wakes the documents t1 merged
		if want = "[complete t2/3]"; room == 5 {
			want = "[]"
		}
		if got := summary(s.Ready()); got != want {
			t.Fatalf("room %d, t1 merged: got %s, want %s", room, got, want)
		}
	}
}

// partAt returns a part from peer "p" of transaction id in document doc, named
// name, at height height, that is the seal of n parts when n > 0, and whose
// parent is the block named prev (if not "").
func partAt(id, doc, name string, height uint64, n int, prev string) txns.Part {
	b := part(schemaA, id, doc, name, n, "p")
	b.Height = height
	if prev != "" {
		b.Prev = []cid.Cid{link(prev)}
	}
	return txns.Part{Block: b, From: "p", Via: "p"}
}

// TestAddAllInDependencyOrder: a batch in height order would add t2's first
// parts before t1's seal, deep in another document, and evict t1, which t2
// builds on (found by the simulation); AddAll adds t1 whole first, so it
// completes, and t2, which does not fit beside it, comes again later.
func TestAddAllInDependencyOrder(t *testing.T) {
	s := newSet(100, 4)
	s.AddAll([]txns.Part{
		partAt("t1", "d1", "a", 2, 0, ""),
		partAt("t1", "d2", "b", 2, 0, ""),
		partAt("t2", "d3", "c", 2, 0, ""),
		partAt("t2", "d1", "e", 3, 0, "a"),
		partAt("t2", "d3", "seal2", 3, 3, ""),
		partAt("t1", "d2", "seal1", 5, 3, ""),
	}, nil)
	if got := summary(s.Ready()); got != "[complete t1/3 evicted t2 evicted t2]" {
		t.Fatalf("got %s", got)
	}
	s.Merged(txns.Key{Schema: schemaA, ID: "t1"})
	s.AddAll([]txns.Part{partAt("t2", "d1", "e", 3, 0, "a"), partAt("t2", "d3", "c", 2, 0, "")}, nil) // catch-up brings t2 again
	if got := summary(s.Ready()); got != "[complete t2/3]" {
		t.Fatalf("after t1 merged: %s", got)
	}
	// Transactions that build on each other, which no honest author writes,
	// are added still.
	s = newSet(100, 100)
	s.AddAll([]txns.Part{partAt("x", "d1", "x1", 2, 0, "y1"), partAt("y", "d2", "y1", 2, 0, "x1")}, nil)
	if s.Len() != 2 {
		t.Fatalf("a cycle: %d transactions held, want 2", s.Len())
	}
}

// TestAddAllThroughPlainBlocks: t2 builds on t1 only through changes outside
// any transaction (t1's last part in d1, then two plain changes of d1, then
// t2's part), all in one batch, and the two do not fit side by side. AddAll
// adds t1 whole first, though t2's parts come first in the batch and t2 is
// complete: t1 completes and t2 gives way. Before, t2 went first (its part's
// parent is no part), t1 gave way to it, and catch-up brought both again and
// again without end (found by the simulation, seed 1384012108326053741).
func TestAddAllThroughPlainBlocks(t *testing.T) {
	s := newSet(100, 5)
	plain := func(doc, name string, height uint64, prev string) *crdt.Block {
		return &crdt.Block{Schema: schemaA, Doc: link(doc), Prev: []cid.Cid{link(prev)}, Height: height, CID: link(name), Data: make([]byte, unit)}
	}
	t2 := []txns.Part{partAt("t2", "d3", "f", 2, 0, ""), partAt("t2", "d4", "g", 2, 0, ""), partAt("t2", "d1", "seal2", 7, 3, "m2")}
	t1 := []txns.Part{partAt("t1", "d2", "b", 3, 0, ""), partAt("t1", "d1", "a", 3, 0, ""), partAt("t1", "d1", "seal1", 4, 3, "a")}
	parts := append(slices.Clone(t2), t1...)
	batch := []*crdt.Block{plain("d1", "m1", 5, "seal1"), plain("d1", "m2", 6, "m1")}
	for _, q := range parts {
		batch = append(batch, q.Block)
	}
	s.AddAll(parts, batch)
	if got := summary(s.Ready()); got != "[complete t1/3 evicted t2 evicted t2 evicted t2]" {
		t.Fatalf("got %s, want t1 complete and t2 evicted", got)
	}
	// Without the plain blocks, nothing says t2 builds on t1: batch order.
	s = newSet(100, 5)
	s.AddAll(parts, nil)
	if got := summary(s.Ready()); got != "[complete t2/3 evicted t1 evicted t1 evicted t1]" {
		t.Fatalf("without the batch: got %s", got)
	}
}

// TestParentNotEvictedForChild: t2 builds on t1 through a plain block held as
// t1's dependent, and its parts come before t1's last (t2 completes first).
// Before, t2's seal evicted t1, the oldest, with its dependent; t2 could not
// be merged without them and was evicted in turn when catch-up brought t1
// again, and the two kept changing places (found by the simulation). The
// transactions a transaction builds on are never evicted for it: t2 gives
// way, t1 completes, and t2 comes again after it.
func TestParentNotEvictedForChild(t *testing.T) {
	s := newSet(100, 4)
	p := func(id, doc, name string, n int, prev string) txns.Part {
		b := part(schemaA, id, doc, name, n, "p")
		if prev != "" {
			b.Prev = []cid.Cid{link(prev)}
		}
		return txns.Part{Block: b, From: "p", Via: "p"}
	}
	summary := func(r txns.Ready) string {
		var out []string
		for _, t := range r.Complete {
			out = append(out, fmt.Sprintf("complete %s/%d", t.Key.ID, len(t.Parts)))
		}
		for _, d := range r.Dropped {
			id := "plain"
			if d.Block.Txn != nil {
				id = string(d.Block.Txn.ID)
			}
			out = append(out, fmt.Sprintf("%s %s", d.Reason, id))
		}
		return fmt.Sprint(out)
	}
	k1 := txns.Key{Schema: schemaA, ID: "t1"}
	s.Add(p("t1", "d1", "a", 0, ""))
	s.Add(p("t1", "d1", "b", 3, "a"))
	plain := p("", "d1", "plain", 0, "b")
	plain.Block.Txn = nil
	s.Depend(k1, plain)
	s.Add(p("t2", "d1", "c", 0, "plain"))
	s.Add(p("t2", "d1", "seal2", 2, "c")) // no room: t2 gives way to t1, which it builds on
	if got := summary(s.Ready()); got != "[evicted t2 evicted t2]" {
		t.Fatalf("got %s", got)
	}
	s.Add(p("t1", "d2", "z", 0, ""))
	if got := summary(s.Ready()); got != "[complete t1/3]" {
		t.Fatalf("t1's last part: got %s", got)
	}
	if deps := s.Merged(k1); len(deps) != 1 {
		t.Fatalf("t1 merged: %d dependents, want 1", len(deps))
	}
	s.Add(p("t2", "d1", "c", 0, "plain")) // catch-up brings t2 again
	s.Add(p("t2", "d1", "seal2", 2, "c"))
	if got := summary(s.Ready()); got != "[complete t2/2]" {
		t.Fatalf("after t1 merged: %s", got)
	}
}
