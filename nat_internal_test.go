package gossipdb

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
)

// TestPunchLogWarnsOncePerPeer: every new relayed connection to a peer behind
// a symmetric NAT tries hole punching again and fails again; the node warns
// once for that peer until it punches through, then warns again if it fails
// later.
func TestPunchLogWarnsOncePerPeer(t *testing.T) {
	var buf strings.Builder
	l := &punchLog{log: slog.New(slog.NewTextHandler(&buf, nil)), failed: map[peer.ID]bool{}}
	a, b := peer.ID("peer-a"), peer.ID("peer-b")
	end := func(p peer.ID, ok bool) {
		l.Trace(&holepunch.Event{Remote: p, Evt: &holepunch.EndHolePunchEvt{Success: ok, Error: "no direct connection"}})
	}
	for range 5 {
		end(a, false)
		end(b, false)
	}
	end(a, true)
	end(a, false)
	l.Trace(&holepunch.Event{Remote: b, Evt: &holepunch.StartHolePunchEvt{}})
	out := buf.String()
	if w := strings.Count(out, "level=WARN"); w != 3 {
		t.Errorf("%d warnings, want 3 (a, b, a again after it punched through):\n%s", w, out)
	}
	if c := strings.Count(out, "Connected directly"); c != 1 {
		t.Errorf("%d successes logged, want 1:\n%s", c, out)
	}
}
