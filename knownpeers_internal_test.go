package gossipdb

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gossipdb/gossipdb/internal/reconcile"
)

// TestKnownPeersBounded: a node that meets peers without end remembers
// MaxKnownPeers of those that left, the last ones, and forgets the older.
func TestKnownPeersBounded(t *testing.T) {
	n, _ := openNode(t, "")
	addr := ma.StringCast("/ip4/127.0.0.1/tcp/1")
	var ids []peer.ID
	for range MaxKnownPeers + 50 {
		_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		// A gossipdb node, as identify tells.
		if err := n.host.Peerstore().AddProtocols(id, reconcile.ProtocolID); err != nil {
			t.Fatal(err)
		}
		// A connection of a peer opened and closed: the network no longer
		// has it.
		n.peerEvents.seen(n.host.Network(), id, addr)
	}
	got := n.KnownPeers()
	if len(got) != MaxKnownPeers {
		t.Fatalf("KnownPeers holds %d peers after %d left, want %d", len(got), len(ids), MaxKnownPeers)
	}
	if len(n.peerEvents.known) != MaxKnownPeers || n.peerEvents.gone != MaxKnownPeers {
		t.Fatalf("the record holds %d peers, %d gone, want %d", len(n.peerEvents.known), n.peerEvents.gone, MaxKnownPeers)
	}
	if got[0].ID != ids[len(ids)-1].String() || got[0].Connected || got[0].LastSeen.IsZero() {
		t.Errorf("first listed: %+v, want the last to leave, %s, disconnected", got[0], ids[len(ids)-1])
	}
	for _, p := range got {
		for _, old := range ids[:50] {
			if p.ID == old.String() {
				t.Fatalf("KnownPeers still lists %s, among the first to leave", old)
			}
		}
	}
}

// TestKnownPeersKeepsNodeThatUnregisteredFirst: a node that closes
// unregisters its protocols before its connections close, and identify may
// tell its peers so first; a peer still lists it as a node that left, not as
// a plain libp2p peer to forget.
func TestKnownPeersKeepsNodeThatUnregisteredFirst(t *testing.T) {
	n1, _ := openNode(t, "")
	n2, _ := openNode(t, "")
	if err := n2.Connect(context.Background(), n1.PeerInfo()[0]); err != nil {
		t.Fatal(err)
	}
	p2 := n2.host.ID()
	eventually(t, 20*time.Second, func() error {
		if !n1.servesCatchUp(p2) {
			return errors.New("node 1 does not know that node 2 serves catch-up")
		}
		return nil
	})
	// What Close does first, told to node 1 before the connection closes.
	n2.host.RemoveStreamHandler(reconcile.ProtocolID)
	eventually(t, 20*time.Second, func() error {
		if n1.servesCatchUp(p2) {
			return errors.New("identify did not tell node 1 that node 2 no longer serves catch-up")
		}
		return nil
	})
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if got := n1.KnownPeers(); len(got) != 1 || got[0].ID != p2.String() || got[0].Connected || got[0].LastSeen.IsZero() {
			return fmt.Errorf("node 1 knows %+v, want node 2 (%s) as a node that left", got, p2)
		}
		return nil
	})
}
