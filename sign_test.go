package gossipdb_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// otherKey is a second author key, besides testKey.
var otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))

// badSignature is a way of getting a block's signature wrong.
type badSignature struct {
	name string
	// make returns a genesis of schema s named name whose signature is wrong.
	make func(t *testing.T, s *crdt.Schema, name string) *crdt.Block
	// verified: the block decodes and fails verification (counted in
	// SignatureRejects); else it does not even decode.
	verified bool
}

func badSignatures() []badSignature {
	genesis := func(t *testing.T, s *crdt.Schema, name string) *crdt.Block {
		return encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: []byte("nonce of " + name), Set: map[string]any{"name": name}})
	}
	reencode := func(t *testing.T, b *crdt.Block) *crdt.Block {
		t.Helper()
		if err := b.Encode(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []badSignature{
		{"forged signature", func(t *testing.T, s *crdt.Schema, name string) *crdt.Block {
			b := genesis(t, s, name)
			b.Sig[0] ^= 1
			return reencode(t, b)
		}, true},
		{"missing signature", func(t *testing.T, s *crdt.Schema, name string) *crdt.Block {
			b := genesis(t, s, name)
			// The map loses its "sg" entry: one entry fewer in its header,
			// and the key, the byte string's header and its 64 bytes gone.
			entry := append([]byte("\x62sg\x58\x40"), b.Sig...)
			i := bytes.Index(b.Data, entry)
			if i < 0 || b.Data[0] < 0xa1 || b.Data[0] > 0xb7 {
				t.Fatalf("no signature entry in %x", b.Data)
			}
			data := append([]byte{b.Data[0] - 1}, b.Data[1:i]...)
			data = append(data, b.Data[i+len(entry):]...)
			b.Data = data
			b.CID, _ = cid.V1Builder{Codec: cid.DagCBOR, MhType: 0x12}.Sum(data)
			return b
		}, false},
		{"malformed author key", func(t *testing.T, s *crdt.Schema, name string) *crdt.Block {
			b := genesis(t, s, name)
			b.Author = bytes.Repeat([]byte{0xff}, ed25519.PublicKeySize) // not a point of the curve
			return reencode(t, b)
		}, true},
		{"signed by another key", func(t *testing.T, s *crdt.Schema, name string) *crdt.Block {
			// The content names testKey as its author; otherKey signs it.
			b := genesis(t, s, name)
			msg, err := b.SignedBytes()
			if err != nil {
				t.Fatal(err)
			}
			b.Sig = ed25519.Sign(otherKey, msg)
			return reencode(t, b)
		}, true},
	}
}

// checkRejected waits until node n counts the bad block's rejection, then
// checks that its document is nowhere, that n's state is as before and that
// honest writes still flow from users[0] to users[1].
func checkRejected(t *testing.T, n *gossipdb.Node, users []*gossipdb.Collection, before gossipdb.Metrics, fingerprint string, bad badSignature, b *crdt.Block, counted func(before, now gossipdb.Metrics) bool) {
	t.Helper()
	ctx := context.Background()
	nodetest.Eventually(t, 20*time.Second, func() error {
		now := n.Metrics()
		if bad.verified && now.SignatureRejects == before.SignatureRejects {
			return fmt.Errorf("no signature rejection counted")
		}
		if !counted(before, now) {
			return fmt.Errorf("the bad block's refusal was not counted: %+v", now)
		}
		return nil
	})
	if _, err := users[1].Get(ctx, gossipdb.DocID(b.CID.String())); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("the block with a bad signature was stored: Get = %v", err)
	}
	if fp, err := users[1].Fingerprint(ctx); err != nil || fp != fingerprint {
		t.Errorf("the node's state changed: %v", err)
	}
	id, err := users[0].Create(ctx, map[string]any{"name": "honest after " + bad.name})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, map[string]any{"name": "honest after " + bad.name})
}

// TestBadSignaturesRejectedByGossip: a block whose signature is forged,
// missing, made with a malformed author key or by another key than its
// author's, published on the collection's topic, is rejected and counted; the
// node's state does not change and honest writes still arrive.
func TestBadSignaturesRejectedByGossip(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
	for _, bad := range badSignatures() {
		t.Run(bad.name, func(t *testing.T) {
			fp, _ := users[1].Fingerprint(ctx)
			before := n2.Metrics()
			b := bad.make(t, s, "gossiped "+bad.name)
			if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
				t.Fatal(err)
			}
			checkRejected(t, n2, users, before, fp, bad, b, func(before, now gossipdb.Metrics) bool {
				return now.RejectedMessages > before.RejectedMessages
			})
		})
	}
}

// TestBadSignaturesRejectedByHistoryFetch: a peer gossips a validly signed
// change whose parent, which it serves when asked for the history, has a bad
// signature: the fetch fails and counts, nothing of the document is stored,
// and honest writes still arrive.
func TestBadSignaturesRejectedByHistoryFetch(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	s := userSchema(t)
	for _, bad := range badSignatures() {
		t.Run(bad.name, func(t *testing.T) {
			g := bad.make(t, s, "fetched "+bad.name)
			change := encoded(t, &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: 2, Set: map[string]any{"name": "child"}})
			a := newAttacker(t, s.ID.String())
			a.answerFetches(g.Data)
			a.join(t, n2)
			fp, _ := users[1].Fingerprint(ctx)
			before := n2.Metrics()
			if err := a.topic.Publish(ctx, frames(change.Data)); err != nil {
				t.Fatal(err)
			}
			checkRejected(t, n2, users, before, fp, bad, g, func(before, now gossipdb.Metrics) bool {
				return now.FailedFetches > before.FailedFetches
			})
			if _, err := users[1].Get(ctx, gossipdb.DocID(change.DocID().String())); !errors.Is(err, gossipdb.ErrNotFound) {
				t.Errorf("the document of a parent with a bad signature was stored: %v", err)
			}
		})
	}
}

// TestBadSignaturesRejectedByCatchUp: a node whose store holds a genesis with
// a bad signature (as a hostile node would serve it) offers it to catch-up: the
// joining node refuses it and counts it, stores nothing of it, and still
// receives an honest node's documents.
func TestBadSignaturesRejectedByCatchUp(t *testing.T) {
	ctx := context.Background()
	s := userSchema(t)
	for _, bad := range badSignatures() {
		t.Run(bad.name, func(t *testing.T) {
			hostile := nodetest.Open(t, "", nil)
			n1 := nodetest.Open(t, "", nil)
			n2 := nodetest.Open(t, "", nil)
			users := nodetest.AddUser(t, hostile, n1, n2)[1:]
			honest, err := users[0].Create(ctx, map[string]any{"name": "honest"})
			if err != nil {
				t.Fatal(err)
			}
			g := bad.make(t, s, "caught up "+bad.name)
			if err := gossipdb.StoreGeneses(hostile, g); err != nil {
				t.Fatal(err)
			}
			nodetest.Connect(t, n1, n2)
			nodetest.Subscribe(t, "User", n2)
			waitDoc(t, users[1], honest, map[string]any{"name": "honest"})
			fp, _ := users[1].Fingerprint(ctx)
			before := n2.Metrics()
			nodetest.Connect(t, hostile, n2)
			checkRejected(t, n2, users, before, fp, bad, g, func(before, now gossipdb.Metrics) bool {
				return now.CatchUpsFailed > before.CatchUpsFailed
			})
		})
	}
}

// TestWriteAsAnotherAuthor: writes through Collection.As name its key as
// their author in documents, events and conflicts, on the writing node and
// on its peer; the node's own writes name its peer ID; its peer ID does not
// change.
func TestWriteAsAnotherAuthor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	if _, err := users[0].As(testKey[:5]); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("As with a short key: %v, want ErrInvalid", err)
	}
	alice, err := users[0].As(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	aliceID := gossipdb.AuthorID(otherKey.Public().(ed25519.PublicKey))
	if aliceID == "" || aliceID == n1.ID() {
		t.Fatalf("AuthorID = %q", aliceID)
	}
	var events [2]<-chan gossipdb.Event
	for i, c := range users {
		if events[i], err = c.Watch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	id, err := alice.Create(ctx, map[string]any{"name": "by alice"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, nil)
	if err := users[0].Update(ctx, id, map[string]any{"age": 3}); err != nil {
		t.Fatal(err)
	}
	for i, c := range users {
		doc, err := c.Get(ctx, id)
		if err != nil || doc.Author != aliceID {
			t.Errorf("node %d: Get = %+v, %v; want author %s", i+1, doc, err, aliceID)
		}
		for j, want := range []string{aliceID, n1.ID()} {
			select {
			case e := <-events[i]:
				if e.Author != want {
					t.Errorf("node %d, event %d: author %q, want %q", i+1, j, e.Author, want)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("node %d: no event %d", i+1, j)
			}
		}
	}
	if n1.ID() == aliceID {
		t.Error("writing as another key changed the node's peer ID")
	}

	// Alice and the node set the name concurrently (node 2 loses gossip
	// meanwhile): the conflict names both.
	gossipdb.SetGossipLoss(n2, 1)
	if err := alice.Update(ctx, id, map[string]any{"name": "alice's"}); err != nil {
		t.Fatal(err)
	}
	if err := users[1].Update(ctx, id, map[string]any{"name": "node 2's"}); err != nil {
		t.Fatal(err)
	}
	gossipdb.SetGossipLoss(n2, 0)
	if _, err := n2.Sync(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	conflicts, err := users[1].Conflicts(ctx, id)
	if err != nil || len(conflicts) != 1 {
		t.Fatalf("Conflicts = %+v, %v; want one", conflicts, err)
	}
	got := []string{conflicts[0].Author, conflicts[0].WinnerAuthor}
	if !(got[0] == aliceID && got[1] == n2.ID()) && !(got[0] == n2.ID() && got[1] == aliceID) {
		t.Errorf("conflict authors %q, want %s and %s", got, aliceID, n2.ID())
	}
}
