package gossipdb

import (
	"fmt"
	"testing"
	"time"
)

// TestWorstPeers: of many peers, the per-peer sync series describe the
// maxPeerSeries that lag most, worst first; peers never found equal (lag -1)
// come after those with a lag, by documents differing.
func TestWorstPeers(t *testing.T) {
	var peers []peerLag
	for i := range 3 * maxPeerSeries {
		peers = append(peers, peerLag{peer: fmt.Sprintf("p%03d", i), lag: time.Duration(i) * time.Second})
	}
	peers = append(peers, peerLag{peer: "never-equal", lag: -1, differing: 5})
	got := worstPeers(peers)
	if len(got) != maxPeerSeries {
		t.Fatalf("%d peers kept, want %d", len(got), maxPeerSeries)
	}
	for i, p := range got {
		if want := fmt.Sprintf("p%03d", 3*maxPeerSeries-1-i); p.peer != want {
			t.Fatalf("peer %d: %s, want %s", i, p.peer, want)
		}
	}

	few := worstPeers([]peerLag{
		{peer: "a", lag: -1, differing: 1},
		{peer: "b", lag: -1, differing: 9},
		{peer: "c", lag: time.Second},
	})
	if len(few) != 3 || few[0].peer != "c" || few[1].peer != "b" || few[2].peer != "a" {
		t.Errorf("order %+v, want c (a lag), then b (more differing), then a", few)
	}
}
