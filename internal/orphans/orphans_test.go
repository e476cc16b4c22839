package orphans_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/orphans"
)

func link(s string) cid.Cid {
	c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.SHA2_256}.Sum([]byte(s))
	if err != nil {
		panic(err)
	}
	return c
}

var schemaA, schemaB = link("schema A"), link("schema B")

// block returns a change of document doc of the given size; name makes its CID.
func block(schema cid.Cid, doc, name string, size int) *crdt.Block {
	return &crdt.Block{Schema: schema, Doc: link(doc), Prev: []cid.Cid{link("missing " + name)},
		Height: 2, CID: link(name), Data: make([]byte, size)}
}

func orphan(doc, name string, size int, via peer.ID) orphans.Orphan {
	return orphans.Orphan{Block: block(schemaA, doc, name, size), From: via, Via: via}
}

// unit is the data size of the tests' usual block; cost is what it counts.
const unit = 1 << 10

var cost = orphans.Cost(block(schemaA, "d", "x", unit))

func limits(units int64) orphans.Limits {
	return orphans.Limits{Bytes: units * cost, PeerBytes: units * cost, Fetches: 2, Queue: 100, Rounds: 3}
}

func wantDropped(t *testing.T, r orphans.Ready, want ...string) {
	t.Helper()
	var got []string
	for _, d := range r.Dropped {
		got = append(got, d.Reason.String()+" "+cidName[d.Block.CID])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("dropped %v, want %v", got, want)
	}
}

// cidName maps the CIDs the tests make back to their names.
var cidName = map[cid.Cid]string{}

func init() {
	for i := range 1000 {
		for _, p := range []string{"o", "a", "b", "h"} {
			n := fmt.Sprintf("%s%d", p, i)
			cidName[link(n)] = n
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	good := limits(10)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]orphans.Limits{
		"no bytes":         {PeerBytes: 1, Fetches: 1, Queue: 1, Rounds: 1},
		"share over total": {Bytes: 1, PeerBytes: 2, Fetches: 1, Queue: 1, Rounds: 1},
		"no fetches":       {Bytes: 1, PeerBytes: 1, Queue: 1, Rounds: 1},
		"no queue":         {Bytes: 1, PeerBytes: 1, Fetches: 1, Rounds: 1},
		"no rounds":        {Bytes: 1, PeerBytes: 1, Fetches: 1, Queue: 1},
	} {
		if err := l.Validate(); !errors.Is(err, orphans.ErrLimits) {
			t.Errorf("%s: %v, want ErrLimits", name, err)
		}
	}
}

// TestBudgetDropsOldest: over the total budget the oldest orphans go first, and
// the bytes held never exceed the budget.
func TestBudgetDropsOldest(t *testing.T) {
	s := orphans.New(limits(3))
	for i := range 5 {
		s.Park(orphan(fmt.Sprintf("doc%d", i), fmt.Sprintf("o%d", i), unit, "p"), 0)
		if s.Bytes() > 3*cost {
			t.Fatalf("after %d orphans: %d bytes held, budget %d", i+1, s.Bytes(), 3*cost)
		}
	}
	wantDropped(t, s.Ready(), "evicted o0", "evicted o1")
	if s.Len() != 3 || s.Bytes() != 3*cost {
		t.Fatalf("%d orphans, %d bytes; want 3, %d", s.Len(), s.Bytes(), 3*cost)
	}
}

// TestPeerShare: a peer over its share evicts its own oldest orphans, not
// another peer's, even when that other peer's are older.
func TestPeerShare(t *testing.T) {
	l := limits(4)
	l.PeerBytes = 2 * cost
	s := orphans.New(l)
	s.Park(orphan("h", "h0", unit, "honest"), 0)
	for i := range 4 {
		s.Park(orphan(fmt.Sprintf("a%d", i), fmt.Sprintf("a%d", i), unit, "attacker"), 0)
	}
	wantDropped(t, s.Ready(), "evicted a0", "evicted a1")
	if s.Len() != 3 {
		t.Fatalf("%d orphans held, want 3", s.Len())
	}
	// A block costing more than a peer's share is never parked.
	s.Park(orphan("big", "b0", 3*unit, "honest"), 0)
	wantDropped(t, s.Ready(), "evicted b0")
	// Two peers within their shares but over the total: the oldest of all goes.
	s.Park(orphan("h1", "h1", unit, "honest"), 0)
	wantDropped(t, s.Ready())
	s.Park(orphan("b1", "b1", unit, "third"), 0)
	wantDropped(t, s.Ready(), "evicted h0")
}

// TestDuplicateParkedOnce: the same block from two peers is held once.
func TestDuplicateParkedOnce(t *testing.T) {
	s := orphans.New(limits(10))
	s.Park(orphan("d", "o1", unit, "p"), 0)
	s.Park(orphan("d", "o1", unit, "q"), 0)
	if s.Len() != 1 || s.Bytes() != cost {
		t.Fatalf("%d orphans, %d bytes after a duplicate", s.Len(), s.Bytes())
	}
}

// TestFetchesCoalesceAndQueue: one fetch per document however many of its
// orphans arrive; at most Limits.Fetches in flight; the rest wait in order.
func TestFetchesCoalesceAndQueue(t *testing.T) {
	s := orphans.New(limits(100))
	for i := range 3 {
		s.Park(orphan("d0", fmt.Sprintf("o%d", i), unit, "p"), 0)
	}
	s.Park(orphan("d1", "o10", unit, "q"), 0)
	s.Park(orphan("d2", "o20", unit, "r"), 0)
	r := s.Ready()
	if len(r.Fetches) != 2 || s.InFlight() != 2 {
		t.Fatalf("%d fetches started, %d in flight; want 2", len(r.Fetches), s.InFlight())
	}
	f := r.Fetches[0]
	if !f.Doc.Equals(link("d0")) || f.Round != 1 || f.Via != "p" || !f.Schema.Equals(schemaA) {
		t.Fatalf("first fetch %+v", f)
	}
	// It started at the first orphan; the next two came while it ran.
	if len(f.Want) != 1 || !f.Want[0].Equals(link("o0")) {
		t.Fatalf("first fetch wants %v", f.Want)
	}
	if !r.Fetches[1].Doc.Equals(link("d1")) {
		t.Fatalf("second fetch is of %s, want d1", r.Fetches[1].Doc)
	}
	s.Park(orphan("d0", "o3", unit, "p"), 0) // its fetch is in flight: no new one
	if r := s.Ready(); len(r.Fetches) != 0 {
		t.Fatalf("started %d fetches while one of the document runs", len(r.Fetches))
	}
	s.Park(orphan("d2", "o21", unit, "s"), 0) // d2 waits: wanted newest first
	s.Done(link("d0"), true)
	r = s.Ready()
	if len(r.Fetches) != 1 || !r.Fetches[0].Doc.Equals(link("d2")) {
		t.Fatalf("after a Done: fetches %+v, want d2's", r.Fetches)
	}
	if f := r.Fetches[0]; fmt.Sprint(f.Want) != fmt.Sprint([]cid.Cid{link("o21"), link("o20")}) || f.Via != "s" {
		t.Fatalf("d2's fetch wants %v via %s; want o21, o20 via s", f.Want, f.Via)
	}
	if got := s.Take(link("d0")); len(got) != 4 {
		t.Fatalf("took %d orphans of d0, want 4", len(got))
	}
	if s.Len() != 3 {
		t.Fatalf("%d orphans left, want 3", s.Len())
	}
}

// TestFetchQueueFull: when the queue is full the document waiting longest is
// dropped with its orphans and counted.
func TestFetchQueueFull(t *testing.T) {
	l := limits(100)
	l.Fetches, l.Queue = 1, 2
	s := orphans.New(l)
	for i := range 4 {
		s.Park(orphan(fmt.Sprintf("d%d", i), fmt.Sprintf("o%d", i), unit, "p"), 0)
	}
	r := s.Ready()
	if len(r.Fetches) != 1 || r.DroppedFetches != 1 {
		t.Fatalf("%d fetches, %d dropped fetches; want 1, 1", len(r.Fetches), r.DroppedFetches)
	}
	wantDropped(t, r, "evicted o1")
}

// TestRoundsGiveUp: a document whose orphans keep missing ancestors after each
// fetch is given up on after Limits.Rounds fetches; a failed fetch gives up at once.
func TestRoundsGiveUp(t *testing.T) {
	s := orphans.New(limits(100))
	o := orphan("d", "o1", unit, "p")
	s.Park(o, 0)
	for round := 1; ; round++ {
		r := s.Ready()
		if len(r.Dropped) > 0 {
			wantDropped(t, r, "unresolved o1")
			if round != 4 {
				t.Fatalf("given up before round %d, want after 3 rounds", round)
			}
			break
		}
		if len(r.Fetches) != 1 || r.Fetches[0].Round != round {
			t.Fatalf("round %d: fetches %+v", round, r.Fetches)
		}
		s.Done(o.Block.DocID(), true)
		// The fetched blocks did not complete the history: the orphan comes back.
		for _, back := range s.Take(o.Block.DocID()) {
			s.Park(back, r.Fetches[0].Round)
		}
	}
	if s.Len() != 0 || s.Bytes() != 0 || s.InFlight() != 0 {
		t.Fatalf("left %d orphans, %d bytes, %d fetches", s.Len(), s.Bytes(), s.InFlight())
	}

	s.Park(orphan("e", "o2", unit, "p"), 0)
	s.Park(orphan("e", "o3", unit, "q"), 0)
	s.Ready()
	s.Done(link("e"), false)
	wantDropped(t, s.Ready(), "unresolved o2", "unresolved o3")
}

// TestEvictedWhileQueuedOrFetching: a document whose orphans were all evicted no
// longer waits for a fetch; one in flight still ends with Done.
func TestEvictedWhileQueuedOrFetching(t *testing.T) {
	l := limits(2)
	l.Fetches = 1
	s := orphans.New(l)
	s.Park(orphan("d0", "o0", unit, "p"), 0) // fetching
	s.Park(orphan("d1", "o1", unit, "p"), 0) // queued
	s.Park(orphan("d2", "o2", unit, "p"), 0) // evicts o0
	s.Park(orphan("d3", "o3", unit, "p"), 0) // evicts o1: d1 leaves the queue
	r := s.Ready()
	wantDropped(t, r, "evicted o0", "evicted o1")
	s.Done(link("d0"), true)
	r = s.Ready()
	if len(r.Fetches) != 1 || !r.Fetches[0].Doc.Equals(link("d2")) {
		t.Fatalf("after evictions: fetches %+v, want d2's", r.Fetches)
	}
	if got := s.Take(link("d0")); len(got) != 0 {
		t.Fatalf("took %d orphans of an evicted document", len(got))
	}
}

// TestGiveUpAfterEviction: a fetch that fails is held against the authors of
// the document's orphans even when a flood through the same peer evicted them
// while the fetch was in flight; a fetch that completes is held against nobody.
func TestGiveUpAfterEviction(t *testing.T) {
	l := limits(2)
	l.Fetches = 1
	s := orphans.New(l)
	s.Park(orphan("d0", "o0", unit, "p"), 0) // fetching
	s.Park(orphan("d1", "o1", unit, "p"), 0)
	s.Park(orphan("d2", "o2", unit, "p"), 0) // evicts o0
	s.Park(orphan("d3", "o3", unit, "p"), 0) // evicts o1
	if r := s.Ready(); len(r.GivenUp) != 0 {
		t.Fatalf("given up %+v before any fetch ended", r.GivenUp)
	}
	s.Done(link("d0"), false)
	r := s.Ready()
	if len(r.GivenUp) != 1 || !r.GivenUp[0].Doc.Equals(link("d0")) || r.GivenUp[0].Author != "p" || r.GivenUp[0].Bytes != unit {
		t.Fatalf("given up %+v, want d0 by p, %d bytes", r.GivenUp, unit)
	}
	if len(r.Fetches) != 1 {
		t.Fatalf("fetches %+v, want the next document's", r.Fetches)
	}
	s.Done(r.Fetches[0].Doc, true)
	s.Take(r.Fetches[0].Doc)
	if r := s.Ready(); len(r.GivenUp) != 0 {
		t.Fatalf("a complete fetch gave up %+v", r.GivenUp)
	}
}

// TestExcuseGivesUpOnNobody: an excused fetch drops its document's orphans as
// a failed one does, frees its slot, and is held against no author, even one
// counted for orphans evicted while it was in flight.
func TestExcuseGivesUpOnNobody(t *testing.T) {
	l := limits(2)
	l.Fetches = 1
	s := orphans.New(l)
	s.Park(orphan("d0", "o0", unit, "p"), 0) // fetching
	s.Park(orphan("d0", "o1", unit, "q"), 0)
	s.Park(orphan("d1", "o2", unit, "p"), 0) // queued; evicts o0
	s.Ready()
	s.Excuse(link("d0"))
	r := s.Ready()
	wantDropped(t, r, "unresolved o1")
	if len(r.GivenUp) != 0 {
		t.Fatalf("an excused fetch gave up %+v", r.GivenUp)
	}
	if len(r.Fetches) != 1 || !r.Fetches[0].Doc.Equals(link("d1")) || s.InFlight() != 1 {
		t.Fatalf("fetches %+v, %d in flight; want d1's, 1", r.Fetches, s.InFlight())
	}
	s.Excuse(link("d0")) // no longer in flight
	s.Pause(link("d1"))
	s.Excuse(link("d1")) // paused: not in flight either
	if r := s.Ready(); len(r.Dropped) != 0 || len(r.GivenUp) != 0 || s.Len() != 1 {
		t.Fatalf("an Excuse of a fetch not in flight: %+v, %d orphans parked", r, s.Len())
	}
	// d0 parked again starts afresh: a later failure is held against the
	// authors of its new orphans only.
	s.Resume(link("d1"))
	s.Ready()
	s.Done(link("d1"), true)
	s.Take(link("d1"))
	s.Park(orphan("d0", "o3", unit, "q"), 0)
	s.Ready()
	s.Done(link("d0"), false)
	r = s.Ready()
	if len(r.GivenUp) != 1 || r.GivenUp[0].Author != "q" || r.GivenUp[0].Bytes != unit {
		t.Fatalf("given up %+v, want d0 by q, %d bytes", r.GivenUp, unit)
	}
}

// TestPauseFreesTheSlot: a fetch paused to wait for busy peers holds no slot,
// so the next document's fetch starts; resumed, it is queued again as the
// same round's retry, wanting the orphans parked meanwhile. One whose
// orphans were taken or forgotten meanwhile is not resumed, and one whose
// orphans were all evicted meanwhile is given up on at once.
func TestPauseFreesTheSlot(t *testing.T) {
	l := limits(100)
	l.Fetches = 1
	s := orphans.New(l)
	s.Park(orphan("d0", "o0", unit, "p"), 0) // fetching
	s.Park(orphan("d1", "o1", unit, "q"), 0) // queued
	s.Ready()
	s.Pause(link("d0"))
	r := s.Ready()
	if len(r.Fetches) != 1 || !r.Fetches[0].Doc.Equals(link("d1")) || s.InFlight() != 1 {
		t.Fatalf("after a pause: fetches %+v, %d in flight; want d1's, 1", r.Fetches, s.InFlight())
	}
	s.Park(orphan("d0", "o2", unit, "p"), 0) // a paused fetch is not started again
	s.Done(link("d0"), false)                // nor ended by a Done
	if r := s.Ready(); len(r.Fetches) != 0 || len(r.Dropped) != 0 {
		t.Fatalf("a paused fetch's document: %+v", r)
	}
	for retry := 1; retry <= 5; retry++ { // retries are no rounds (Limits.Rounds is 3)
		s.Resume(link("d0"))
		if r := s.Ready(); len(r.Fetches) != 0 {
			t.Fatalf("resumed while d1 holds the slot: %+v", r.Fetches)
		}
		s.Done(link("d1"), true)
		s.Take(link("d1"))
		s.Park(orphan("d1", fmt.Sprintf("o1%d", retry), unit, "q"), 0) // holds the slot next time
		r := s.Ready()
		if len(r.Fetches) != 1 {
			t.Fatalf("retry %d: fetches %+v, want d0's", retry, r.Fetches)
		}
		f := r.Fetches[0]
		if !f.Doc.Equals(link("d0")) || f.Round != 1 || f.Retry != retry || fmt.Sprint(f.Want) != fmt.Sprint([]cid.Cid{link("o2"), link("o0")}) {
			t.Fatalf("retry %d: fetch %+v, want d0's round 1, retry %d, wanting o2 and o0", retry, f, retry)
		}
		s.Pause(f.Doc)
		s.Ready() // d1's next fetch
	}
	s.Resume(link("d0"))
	s.Done(link("d1"), true)
	s.Take(link("d1"))
	s.Ready()
	s.Done(link("d0"), false)
	r = s.Ready()
	wantDropped(t, r, "unresolved o0", "unresolved o2")
	if len(r.GivenUp) != 1 || r.GivenUp[0].Author != "p" {
		t.Fatalf("given up %+v, want d0 by p", r.GivenUp)
	}

	// Taken, or forgotten, while paused: never resumed, held against nobody.
	for _, end := range []func(){func() { s.Take(link("d2")) }, func() { s.Forget(schemaA) }} {
		s.Park(orphan("d2", "o3", unit, "p"), 0)
		if r := s.Ready(); len(r.Fetches) != 1 {
			t.Fatalf("fetches %+v, want d2's", r.Fetches)
		}
		s.Pause(link("d2"))
		end()
		s.Resume(link("d2"))
		if r := s.Ready(); len(r.Fetches) != 0 || len(r.GivenUp) != 0 || s.InFlight() != 0 {
			t.Fatalf("resumed after its orphans went: %+v, %d in flight", r, s.InFlight())
		}
	}

	// Evicted while paused: given up on at once.
	l.Bytes, l.PeerBytes = 2*cost, 2*cost
	s = orphans.New(l)
	s.Park(orphan("d3", "o4", unit, "p"), 0)
	s.Ready()
	s.Pause(link("d3"))
	s.Park(orphan("d4", "o5", unit, "p"), 0)
	s.Park(orphan("d5", "o6", unit, "p"), 0) // evicts o4
	r = s.Ready()
	if len(r.GivenUp) != 1 || !r.GivenUp[0].Doc.Equals(link("d3")) {
		t.Fatalf("given up %+v, want d3, whose orphans were evicted while it waited", r.GivenUp)
	}
	s.Resume(link("d3"))
	if r := s.Ready(); len(r.Fetches) != 0 {
		t.Fatalf("resumed a document given up on: %+v", r.Fetches)
	}
}

// TestCrowdedOutWhilePausedGivesUpOnNobody: a paused fetch whose orphans
// other peers' orphans crowded out of the global budget is held against no
// author (an honest author waiting on busy peers would otherwise lose standing
// to anyone who fills the budget), whether they went while it was paused or
// while it was in flight; its own peer's orphans crowding it out still give it
// up (TestPauseFreesTheSlot).
func TestCrowdedOutWhilePausedGivesUpOnNobody(t *testing.T) {
	l := limits(2)
	l.Fetches = 1
	for _, pauseFirst := range []bool{true, false} {
		s := orphans.New(l)
		s.Park(orphan("d0", "o0", unit, "p"), 0) // fetching
		s.Ready()
		if pauseFirst {
			s.Pause(link("d0"))
		}
		s.Park(orphan("d1", "o1", unit, "q"), 0)
		s.Park(orphan("d2", "o2", unit, "r"), 0) // evicts o0, p's
		if !pauseFirst {
			s.Pause(link("d0"))
		}
		r := s.Ready()
		if len(r.GivenUp) != 0 {
			t.Fatalf("paused first %v: given up %+v, want none: other peers crowded p's orphan out", pauseFirst, r.GivenUp)
		}
		s.Resume(link("d0"))
		for _, f := range append(r.Fetches, s.Ready().Fetches...) {
			if f.Doc.Equals(link("d0")) {
				t.Fatalf("paused first %v: d0 fetched again after its orphans went: %+v", pauseFirst, f)
			}
		}
	}
}

// TestRoom: Room is what a peer's orphans may still cost before one is evicted.
func TestRoom(t *testing.T) {
	l := limits(10)
	l.PeerBytes = 3 * cost
	s := orphans.New(l)
	if got := s.Room("p"); got != 3*cost {
		t.Fatalf("room of a peer with no orphans %d, want %d", got, 3*cost)
	}
	s.Park(orphan("d0", "o0", unit, "p"), 0)
	s.Park(orphan("d1", "o1", unit, "q"), 0)
	if got := s.Room("p"); got != 2*cost {
		t.Fatalf("room of p %d, want %d", got, 2*cost)
	}
}

// TestForget drops a collection's orphans as abandoned, and only its.
func TestForget(t *testing.T) {
	s := orphans.New(limits(10))
	s.Park(orphan("d0", "o0", unit, "p"), 0)
	s.Park(orphans.Orphan{Block: block(schemaB, "d1", "o1", unit), From: "p", Via: "p"}, 0)
	s.Ready()
	s.Forget(schemaA)
	wantDropped(t, s.Ready(), "abandoned o0")
	if s.Len() != 1 {
		t.Fatalf("%d orphans left, want 1", s.Len())
	}
	s.Done(link("d0"), true) // its fetch was in flight
	if s.InFlight() != 1 {
		t.Fatalf("%d in flight, want 1 (d1's)", s.InFlight())
	}
}

var seed = flag.Uint64("orphans.seed", 0, "seed of TestRandomInputs (0: from the clock)")

// TestRandomInputs drives a Set with random inputs and checks after each one
// that it holds what it says, within its budgets, and that every orphan parked
// is eventually taken back or dropped exactly once.
func TestRandomInputs(t *testing.T) {
	sd := *seed
	if sd == 0 {
		sd = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -orphans.seed=%d)", sd, sd)
	rng := rand.New(rand.NewPCG(sd, 0))
	l := orphans.Limits{Bytes: 20 * cost, PeerBytes: 8 * cost, Fetches: 3, Queue: 4, Rounds: 3}
	s := orphans.New(l)
	peers := []peer.ID{"p0", "p1", "p2", "p3"}
	parked := map[cid.Cid]int{} // by block: how many times parked and not yet let go
	var inFlight []orphans.Fetch
	var paused []cid.Cid
	collect := func() {
		r := s.Ready()
		inFlight = append(inFlight, r.Fetches...)
		for _, d := range r.Dropped {
			parked[d.Block.CID]--
		}
	}
	for step := range 20_000 {
		switch k := rng.IntN(12); {
		case k == 10 && len(inFlight) > 0:
			i := rng.IntN(len(inFlight))
			paused = append(paused, inFlight[i].Doc)
			s.Pause(inFlight[i].Doc)
			inFlight = append(inFlight[:i], inFlight[i+1:]...)
			collect()
		case k == 11 && len(paused) > 0:
			i := rng.IntN(len(paused))
			s.Resume(paused[i])
			paused = append(paused[:i], paused[i+1:]...)
			collect()
		case k < 6:
			name := fmt.Sprintf("o%d", rng.IntN(1000))
			size := rng.IntN(3 * unit)
			o := orphans.Orphan{Block: block(schemaA, fmt.Sprintf("d%d", rng.IntN(12)), name, size),
				From: peers[rng.IntN(len(peers))], Via: peers[rng.IntN(len(peers))]}
			if parked[o.Block.CID] == 0 { // else the Set holds it already
				parked[o.Block.CID]++
			}
			s.Park(o, 0)
			collect()
		case k < 9 && len(inFlight) > 0:
			i := rng.IntN(len(inFlight))
			f := inFlight[i]
			inFlight = append(inFlight[:i], inFlight[i+1:]...)
			if rng.IntN(5) == 0 {
				s.Excuse(f.Doc)
			} else {
				s.Done(f.Doc, rng.IntN(4) > 0)
			}
			collect()
			for _, o := range s.Take(f.Doc) {
				parked[o.Block.CID]--
				if rng.IntN(2) == 0 {
					parked[o.Block.CID]++
					s.Park(o, f.Round)
					collect()
				}
			}
		default:
			s.Forget(schemaA)
			collect()
		}
		if s.Bytes() > l.Bytes || s.InFlight() > l.Fetches || s.InFlight() != len(inFlight) {
			t.Fatalf("step %d: %d bytes (budget %d), %d in flight (limit %d, %d started)",
				step, s.Bytes(), l.Bytes, s.InFlight(), l.Fetches, len(inFlight))
		}
		held := 0
		for c, n := range parked {
			if n != 0 && n != 1 {
				t.Fatalf("step %d: block %s parked %d times", step, c, n)
			}
			held += n
		}
		if held != s.Len() {
			t.Fatalf("step %d: %d orphans held, %d parked and not let go", step, s.Len(), held)
		}
	}
}

func TestFetchPeers(t *testing.T) {
	f := orphans.Fetch{Via: "v", Author: "a"}
	for _, c := range []struct {
		connected []peer.ID
		n         int
		want      []peer.ID
	}{
		{[]peer.ID{"x", "a", "v", "y"}, 3, []peer.ID{"v", "a", "x"}},
		{[]peer.ID{"x", "y", "z"}, 3, []peer.ID{"v", "x", "y"}}, // the author is not connected
		{nil, 3, []peer.ID{"v"}},
		{[]peer.ID{"a", "x"}, 1, []peer.ID{"v", "a"}}, // Via and the author come first
	} {
		if got := f.Peers(c.connected, c.n); !slices.Equal(got, c.want) {
			t.Errorf("Peers(%v, %d) = %v, want %v", c.connected, c.n, got, c.want)
		}
	}
	if got := f.Attempts(4); got != 4 {
		t.Errorf("a forwarded block: Attempts = %d, want 4", got)
	}
	if got := (orphans.Fetch{Via: "b", Author: "a", Retry: 1}).Attempts(4); got != 1 {
		t.Errorf("a retry: Attempts = %d, want 1", got)
	}
	if got := (orphans.Fetch{Via: "a", Author: "a"}).Attempts(4); got != 1 {
		t.Errorf("a block from its author: Attempts = %d, want 1", got)
	}
}
