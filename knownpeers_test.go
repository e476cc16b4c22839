package gossipdb_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestKnownPeersKeepsPeersThatLeft: a peer that disconnects stays in
// KnownPeers, marked disconnected with when it left and where it was
// reached, where ActivePeers lists only those connected now; it shows as
// connected again when it comes back.
func TestKnownPeersKeepsPeersThatLeft(t *testing.T) {
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	if got := n1.KnownPeers(); got == nil || len(got) != 0 {
		t.Fatalf("KnownPeers of a lone node: %#v, want an empty slice", got)
	}
	ctx := context.Background()
	if err := n2.Connect(ctx, n1.PeerInfo()[0]); err != nil {
		t.Fatal(err)
	}
	known := func(want bool) gossipdb.KnownPeer {
		var p gossipdb.KnownPeer
		nodetest.Eventually(t, 20*time.Second, func() error {
			got := n1.KnownPeers()
			if len(got) != 1 || got[0].ID != n2.ID() || got[0].Connected != want {
				return fmt.Errorf("KnownPeers: %+v, want %s, connected %v", got, n2.ID(), want)
			}
			p = got[0]
			return nil
		})
		return p
	}
	p := known(true)
	if !p.LastSeen.IsZero() || !strings.HasSuffix(p.Addr, "/p2p/"+n2.ID()) {
		t.Errorf("a connected peer: %+v, want its address and no LastSeen", p)
	}
	nodetest.WaitIdentified(t, n1, n2) // else node 1 forgets node 2 once it leaves
	before := time.Now()
	if err := n1.Disconnect(ctx, n2.ID()); err != nil {
		t.Fatal(err)
	}
	p = known(false)
	if p.LastSeen.Before(before) || p.LastSeen.After(time.Now()) || !strings.HasSuffix(p.Addr, "/p2p/"+n2.ID()) {
		t.Errorf("a peer that left at %v: %+v, want its last address and when it left", before, p)
	}
	if got := n1.ActivePeers(); len(got) != 0 {
		t.Errorf("ActivePeers after the peer left: %v", got)
	}
	if err := n2.Connect(ctx, n1.PeerInfo()[0]); err != nil {
		t.Fatal(err)
	}
	if p := known(true); !p.LastSeen.IsZero() {
		t.Errorf("a peer that came back: %+v, want no LastSeen", p)
	}
}
