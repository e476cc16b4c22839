package gossipdb

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestStandingIgnoresAfterInvalidLimit: a peer's messages are ignored once
// the invalid ones it relayed take its score below the graylist threshold on
// their own, invalidLimit in quick succession, and no longer once their count
// has decayed as GossipSub's does; the count of peers is bounded, and a full
// count forgets the peers whose count decayed away.
func TestStandingIgnoresAfterInvalidLimit(t *testing.T) {
	if invalidLimit*invalidLimit <= -graylistThreshold || (invalidLimit-1)*(invalidLimit-1) > -graylistThreshold {
		t.Fatalf("invalidLimit %d is not the first count whose square passes %d", invalidLimit, -graylistThreshold)
	}
	s := &standing{invalid: map[peer.ID]*invalidRun{}}
	p := peer.ID("p")
	for i := 1; i <= invalidLimit; i++ {
		if s.ignoring(p) {
			t.Fatalf("ignoring after %d invalid messages, want after %d", i-1, invalidLimit)
		}
		s.rejected(p)
	}
	if !s.ignoring(p) {
		t.Fatalf("not ignoring after %d invalid messages", invalidLimit)
	}
	// 8 decays below √50 in about 16 s, as GossipSub's counter does.
	s.invalid[p].at = time.Now().Add(-20 * time.Second)
	if s.ignoring(p) {
		t.Fatal("still ignoring a peer whose count decayed below the threshold")
	}
	s.rejected(p)
	if !s.ignoring(p) {
		t.Fatal("not ignoring a peer whose decayed count and one more pass the threshold")
	}
	s.invalid[p].at = time.Now().Add(-invalidForget)
	if c := s.invalid[p].decayed(time.Now()); c >= 0.1 {
		t.Fatalf("count %v after invalidForget, want a hundredth of it", c)
	}

	// Full of peers with counts above one: a new one is not counted.
	s = &standing{invalid: map[peer.ID]*invalidRun{}}
	for i := range maxDemerits {
		s.rejected(peer.ID(fmt.Sprint("busy ", i)))
		s.rejected(peer.ID(fmt.Sprint("busy ", i)))
	}
	for range invalidLimit {
		s.rejected(p)
	}
	if s.ignoring(p) || len(s.invalid) != maxDemerits {
		t.Fatalf("a peer past the bound of %d was counted (%d peers)", maxDemerits, len(s.invalid))
	}
	// Peers whose count decayed away make room.
	for _, r := range s.invalid {
		r.at = time.Now().Add(-invalidForget)
	}
	for range invalidLimit {
		s.rejected(p)
	}
	if !s.ignoring(p) || len(s.invalid) != 1 {
		t.Fatalf("decayed peers not forgotten for a new one: ignoring %v, %d peers", s.ignoring(p), len(s.invalid))
	}
}
