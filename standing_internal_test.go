package gossipdb

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestStandingIgnoresAfterInvalidLimit: a peer's messages are ignored once it
// relayed invalidLimit invalid ones, until it relayed none for invalidForget;
// the count of peers is bounded, and a full count forgets idle peers first.
func TestStandingIgnoresAfterInvalidLimit(t *testing.T) {
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
	s.invalid[p].last = time.Now().Add(-invalidForget - time.Second)
	if s.ignoring(p) {
		t.Fatal("still ignoring a peer idle for longer than invalidForget")
	}
	s.rejected(p)
	if got := s.invalid[p].count; got != 1 {
		t.Fatalf("count %d after an invalid message following a quiet spell, want 1", got)
	}

	// Full of recent peers: a new one is not counted.
	s = &standing{invalid: map[peer.ID]*invalidRun{}}
	for i := range maxDemerits {
		s.rejected(peer.ID(fmt.Sprint("busy ", i)))
	}
	for range invalidLimit {
		s.rejected(p)
	}
	if s.ignoring(p) || len(s.invalid) != maxDemerits {
		t.Fatalf("a peer past the bound of %d was counted (%d peers)", maxDemerits, len(s.invalid))
	}
	// Idle peers make room.
	for _, r := range s.invalid {
		r.last = time.Now().Add(-invalidForget - time.Second)
	}
	for range invalidLimit {
		s.rejected(p)
	}
	if !s.ignoring(p) || len(s.invalid) != 1 {
		t.Fatalf("idle peers not forgotten for a new one: ignoring %v, %d peers", s.ignoring(p), len(s.invalid))
	}
}
