package gossipdb

import (
	"context"
	"crypto/ed25519"
	"runtime"
	"strings"
	"testing"
	"time"

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
	n, err := Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	cols, err := n.AddCollection(ctx, `type Item { name: String }`)
	if err != nil {
		t.Fatal(err)
	}
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
	deadline := time.Now().Add(10 * time.Second)
	for !holding() {
		if time.Now().After(deadline) {
			t.Fatal("the validator did not come to hold the message for its version")
		}
		time.Sleep(time.Millisecond)
	}
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
