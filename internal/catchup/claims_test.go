package catchup_test

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/internal/catchup"
)

const stall = 3 * time.Second

func wantClaim(t *testing.T, c *catchup.Claims, now time.Time, p string, ids, mine, others []string) {
	t.Helper()
	gotMine, gotOthers := c.Claim(now, peer.ID(p), ids)
	if !slices.Equal(gotMine, mine) || !slices.Equal(gotOthers, others) {
		t.Fatalf("%s claims %v: mine %v, others %v; want %v, %v", p, ids, gotMine, gotOthers, mine, others)
	}
}

func wantWaiting(t *testing.T, c *catchup.Claims, now time.Time, p string, ids []string, held int, until time.Time) {
	t.Helper()
	gotHeld, gotUntil := c.Waiting(now, peer.ID(p), ids)
	if gotHeld != held || !gotUntil.Equal(until) {
		t.Fatalf("%s waits for %v: %d held until %v, want %d until %v", p, ids, gotHeld, gotUntil, held, until)
	}
}

// TestClaimsEachDocumentOnce: a document claimed by one session is left by the
// others until its blocks are merged; then anyone may claim it again.
func TestClaimsEachDocumentOnce(t *testing.T) {
	c := catchup.NewClaims(stall)
	wantClaim(t, c, t0, "a", []string{"1", "2"}, []string{"1", "2"}, nil)
	wantClaim(t, c, t0, "b", []string{"1", "2", "3"}, []string{"3"}, []string{"1", "2"})
	wantWaiting(t, c, t0, "b", []string{"1", "2"}, 2, t0.Add(stall))
	wantWaiting(t, c, t0, "a", []string{"1", "2", "3"}, 1, t0.Add(stall))

	// a's pull queued its blocks at position 7: merging, they stall no more.
	if c.Pulled(peer.ID("a"), []string{"1", "2"}, 7) {
		t.Fatal("Pulled with blocks queued released a claim at once")
	}
	wantWaiting(t, c, t0.Add(time.Hour), "b", []string{"1", "2"}, 2, time.Time{})
	wantClaim(t, c, t0.Add(time.Hour), "b", []string{"1"}, nil, []string{"1"})
	// Not even a itself pulls them again before they are merged.
	wantClaim(t, c, t0, "a", []string{"2"}, nil, []string{"2"})
	c.Merged(6)
	wantWaiting(t, c, t0, "b", []string{"1", "2"}, 2, time.Time{})
	c.Merged(7)
	wantWaiting(t, c, t0, "b", []string{"1", "2"}, 0, time.Time{})
	if c.Len() != 1 {
		t.Fatalf("%d claims after the merge, want 1 (b's on 3)", c.Len())
	}
	wantClaim(t, c, t0, "b", []string{"1", "2"}, []string{"1", "2"}, nil)

	// A pull whose blocks were merged before it reported ends its claims at once.
	if !c.Pulled(peer.ID("b"), []string{"1", "2", "3"}, 5) {
		t.Fatal("Pulled at an already merged position did not release the claims")
	}
	if c.Len() != 0 {
		t.Fatalf("%d claims left, want 0", c.Len())
	}
}

// TestClaimsMergedInAnyOrder: pulls report their positions in any order;
// Merged ends exactly the claims up to its position.
func TestClaimsMergedInAnyOrder(t *testing.T) {
	c := catchup.NewClaims(stall)
	for _, p := range []string{"a", "b", "c"} {
		wantClaim(t, c, t0, p, []string{p}, []string{p}, nil)
	}
	c.Pulled(peer.ID("b"), []string{"b"}, 9)
	c.Pulled(peer.ID("c"), []string{"c"}, 3)
	c.Pulled(peer.ID("a"), []string{"a"}, 9)
	c.Merged(3)
	wantWaiting(t, c, t0, "x", []string{"a", "b", "c"}, 2, time.Time{})
	c.Merged(8)
	wantWaiting(t, c, t0, "x", []string{"a", "b", "c"}, 2, time.Time{})
	c.Merged(9)
	if c.Len() != 0 {
		t.Fatalf("%d claims left after merging everything, want 0", c.Len())
	}
}

// TestClaimsFailedPullReleasesAtOnce: a pull that queued nothing, and a
// session that ends, release their claims at once; only the owner's own
// claims are affected.
func TestClaimsFailedPullReleasesAtOnce(t *testing.T) {
	c := catchup.NewClaims(stall)
	wantClaim(t, c, t0, "a", []string{"1", "2", "3"}, []string{"1", "2", "3"}, nil)
	if c.Pulled(peer.ID("b"), []string{"1"}, 0) || c.End(peer.ID("b")) {
		t.Fatal("another session released a's claims")
	}
	if !c.Pulled(peer.ID("a"), []string{"1"}, 0) {
		t.Fatal("a failed pull did not release its claim")
	}
	wantWaiting(t, c, t0, "b", []string{"1", "2", "3"}, 2, t0.Add(stall))
	c.Pulled(peer.ID("a"), []string{"2"}, 4)
	if !c.End(peer.ID("a")) {
		t.Fatal("ending the session released nothing")
	}
	// The merging claim stays: its blocks wait for the merge worker.
	wantWaiting(t, c, t0, "b", []string{"1", "2", "3"}, 1, time.Time{})
	c.Merged(4)
	if c.Len() != 0 {
		t.Fatalf("%d claims left, want 0", c.Len())
	}
}

// TestClaimsStall: a pulling claim whose owner makes no progress for the stall
// duration is taken over; progress, or being busy with what it received,
// keeps it.
func TestClaimsStall(t *testing.T) {
	c := catchup.NewClaims(stall)
	wantClaim(t, c, t0, "slow", []string{"1", "2"}, []string{"1", "2"}, nil)
	wantClaim(t, c, t0.Add(stall-time.Millisecond), "b", []string{"1"}, nil, []string{"1"})

	c.Progress(t0.Add(2*time.Second), peer.ID("slow"))
	wantWaiting(t, c, t0.Add(4*time.Second), "b", []string{"1", "2"}, 2, t0.Add(2*time.Second+stall))
	c.Busy(peer.ID("slow"))
	wantWaiting(t, c, t0.Add(time.Hour), "b", []string{"1", "2"}, 2, time.Time{})
	c.Progress(t0.Add(10*time.Second), peer.ID("slow"))
	wantWaiting(t, c, t0.Add(10*time.Second+stall), "b", []string{"1", "2"}, 0, time.Time{})

	// b takes over 1; the slow session's late report of it changes nothing,
	// and its claim on 2 stays stalled, free for anyone.
	wantClaim(t, c, t0.Add(10*time.Second+stall), "b", []string{"1"}, []string{"1"}, nil)
	c.Pulled(peer.ID("slow"), []string{"1"}, 0)
	wantWaiting(t, c, t0.Add(10*time.Second+stall), "c", []string{"1"}, 1, t0.Add(10*time.Second+2*stall))
	wantClaim(t, c, t0.Add(time.Minute), "c", []string{"2"}, []string{"2"}, nil)
	c.End(peer.ID("slow"))
	if c.Len() != 2 {
		t.Fatalf("%d claims, want 2 (b's and c's)", c.Len())
	}
}
