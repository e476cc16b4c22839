package gossipdb

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// TestVersionAddedBeforeHoldIsAccepted: a gossip message whose version a
// fetch adds after accept found it unknown, but before the validator holds
// the message for it, is accepted as if the version had been known: the
// validator starts no fetch, reports no version problem in SyncStatus, and
// leaves nothing to catch-up. The test keeps the version fetches' lock while
// the validator runs, adds the version once the validator waits for that
// lock to hold the message, then lets it go.
func TestVersionAddedBeforeHoldIsAccepted(t *testing.T) {
	ctx := context.Background()
	n, cols := openNode(t, `type Item { name: String }`)
	c := cols[0]
	c.mu.Lock()
	v, err := schema.Patch(c.chainLocked(c.schema()), `type Item { name: String note: String }`)
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	def, err := schema.EncodeVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &crdt.Block{Schema: c.root.ID, Version: v.Version, Height: 1, Nonce: make([]byte, 16),
		Set: map[string]any{"name": "x"}}
	if err := b.Sign(key); err != nil {
		t.Fatal(err)
	}
	from := peer.ID("forwarder")
	msg := &pubsub.Message{Message: &pb.Message{Data: encodeMessages([]*crdt.Block{b}, time.Now())[0].data}, ReceivedFrom: from}

	vf := &n.versionFetches
	vf.mu.Lock()
	locked := true
	defer func() {
		if locked {
			vf.mu.Unlock()
		}
	}()
	res := make(chan pubsub.ValidationResult, 1)
	go func() { res <- n.validate(ctx, c, from, msg) }()
	eventually(t, 10*time.Second, func() error {
		if !holding() {
			return errors.New("the validator did not come to hold the message for its version")
		}
		return nil
	})
	if err := n.acceptVersions(c, [][]byte{def}, from); err != nil {
		t.Fatal(err)
	}
	vf.mu.Unlock()
	locked = false

	if got := <-res; got != pubsub.ValidationAccept {
		t.Errorf("validation result %v, want accept (%v): the message's version is known", got, pubsub.ValidationAccept)
	}
	if got, ok := msg.ValidatorData.([]*crdt.Block); !ok || len(got) != 1 || !got[0].CID.Equals(b.CID) {
		t.Errorf("the message carries %v on, want its block", msg.ValidatorData)
	}
	vf.mu.Lock()
	running := len(vf.running)
	vf.mu.Unlock()
	if running != 0 {
		t.Errorf("%d version fetches started, want none", running)
	}
	if got := c.versionProblems(); len(got) != 0 {
		t.Errorf("versions reported: %+v, want none", got)
	}
	if m := n.Metrics(); m.DroppedMessages != 0 || m.RejectedMessages != 0 {
		t.Errorf("%d messages dropped, %d rejected, want none", m.DroppedMessages, m.RejectedMessages)
	}
}

// holding reports whether a goroutine is in Node.holdForVersion.
func holding() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), ".(*Node).holdForVersion(")
}

// TestHeldMessageOfTwoVersionsArrives: a gossip message whose blocks name two
// versions the node does not know, a version and its child, is held for the
// first, then, once that one is fetched, for the second, and its blocks
// arrive once both are: the message is not dropped when the first arrives.
func TestHeldMessageOfTwoVersionsArrives(t *testing.T) {
	ctx := context.Background()
	n1, cols1 := openNode(t, `type Item { name: String }`)
	n2, cols2 := openNode(t, `type Item { name: String }`)
	c1, c2 := cols1[0], cols2[0]
	if err := n2.Subscribe(ctx, "Item"); err != nil {
		t.Fatal(err)
	}
	if err := n2.Connect(ctx, n1.PeerInfo()[0]); err != nil {
		t.Fatal(err)
	}
	// Node 1, which the message came through, knows both versions.
	v2, err := c1.Patch(ctx, `type Item { name: String note: String }`)
	if err != nil {
		t.Fatal(err)
	}
	v3, err := c1.Patch(ctx, `type Item { name: String note: String color: String }`)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*crdt.Block
	for _, v := range []*PatchResult{v2, v3} {
		id, err := cid.Decode(v.Version)
		if err != nil {
			t.Fatal(err)
		}
		b := &crdt.Block{Schema: c2.root.ID, Version: id, Height: 1, Nonce: make([]byte, 16), Set: map[string]any{"name": v.Version}}
		if err := b.Sign(key); err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	from := n1.host.ID()
	msg := &pubsub.Message{Message: &pb.Message{Data: encodeMessages(blocks, time.Now())[0].data}, ReceivedFrom: from}
	if got := n2.validate(ctx, c2, from, msg); got != pubsub.ValidationIgnore {
		t.Fatalf("validation result %v, want ignore (%v): the message is held", got, pubsub.ValidationIgnore)
	}
	eventually(t, 15*time.Second, func() error {
		for _, b := range blocks {
			if _, err := c2.Get(ctx, DocID(b.CID.String())); err != nil {
				return fmt.Errorf("the block under version %s did not arrive: %v (versions known: %v, reported: %+v)",
					b.Version, err, c2.Versions(), c2.versionProblems())
			}
		}
		return nil
	})
}
