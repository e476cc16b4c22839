package gossipdb_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/policy"
	"github.com/gossipdb/gossipdb/internal/policysync"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// waitRole waits until c's policy gives author role ("writer", "reader" or
// "" for none).
func waitRole(t *testing.T, c *gossipdb.Collection, author, role string) {
	t.Helper()
	nodetest.Eventually(t, 20*time.Second, func() error {
		p := c.Policy()
		var got string
		switch {
		case slices.Contains(p.Writers, author):
			got = gossipdb.RoleWriter
		case slices.Contains(p.Readers, author):
			got = gossipdb.RoleReader
		}
		if got != role {
			return fmt.Errorf("%s holds %q, want %q: %+v", author, got, role, p)
		}
		return nil
	})
}

// policyHeads returns the heads of c's policy as its changes name them: the
// changes no other change names.
func policyHeads(t *testing.T, c *gossipdb.Collection) []cid.Cid {
	t.Helper()
	named := map[string]bool{}
	changes := c.Policy().Changes
	for _, ch := range changes {
		for _, p := range ch.Prev {
			named[p] = true
		}
	}
	var heads []cid.Cid
	for _, ch := range changes {
		if !named[ch.CID] {
			heads = append(heads, cid.MustParse(ch.CID))
		}
	}
	slices.SortFunc(heads, func(a, b cid.Cid) int { return slices.Compare(a.Bytes(), b.Bytes()) })
	return heads
}

// TestGrantLetsANewWriterWrite: a reader cannot write; once an admin grants
// it the writer role, the grant reaches its node by gossip, its writes succeed
// and replicate, and both nodes show the same policy, after a restart too.
func TestGrantLetsANewWriterWrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n1 := nodetest.Open(t, dir, nil)
	n2 := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, pairSDL(n1, n2), n1, n2)
	nodetest.Subscribe(t, "Doc", n1, n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	if _, err := docs[1].Create(ctx, map[string]any{"title": "before"}); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("a reader's Create: %v, want ErrForbidden", err)
	}
	if err := docs[0].Grant(ctx, n2.ID(), gossipdb.RoleWriter); err != nil {
		t.Fatal(err)
	}
	waitRole(t, docs[0], n2.ID(), gossipdb.RoleWriter)
	waitRole(t, docs[1], n2.ID(), gossipdb.RoleWriter)
	id, err := docs[1].Create(ctx, map[string]any{"title": "granted"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[0], id, map[string]any{"title": "granted"})
	if err := docs[1].Update(ctx, id, map[string]any{"title": "granted twice"}); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[0], id, map[string]any{"title": "granted twice"})
	if got := n2.Metrics().PolicyRejects + n1.Metrics().PolicyRejects; got != 0 {
		t.Fatalf("%d policy rejects, want none", got)
	}
	want := docs[0].Policy()
	if len(want.Changes) != 1 || want.Changes[0].Author != n1.ID() || want.Changes[0].Key != n2.ID() || want.Changes[0].Role != "writer" {
		t.Fatalf("Policy().Changes = %+v", want.Changes)
	}
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	n1 = nodetest.Open(t, dir, nil)
	c, err := n1.Collection("Doc")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Policy(); !slices.Equal(got.Writers, want.Writers) || len(got.Changes) != 1 || got.Changes[0].CID != want.Changes[0].CID {
		t.Fatalf("policy after restart: %+v, want %+v", got, want)
	}
}

// TestGrantErrors: only an initial admin changes the policy, with errors that
// say which key lacks which right; bad arguments fail with ErrInvalid.
func TestGrantErrors(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, docSDL(n.ID(), []string{keyID(writerKey)}), n)[0]
	asWriter, err := docs.As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	err = asWriter.Grant(ctx, keyID(otherKey), gossipdb.RoleWriter)
	var pe *gossipdb.PolicyError
	if !errors.As(err, &pe) || !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("a writer's Grant: %v, want a PolicyError", err)
	}
	if want := fmt.Sprintf("gossipdb: author %s may not change the policy of Doc: not an admin", keyID(writerKey)); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if err := asWriter.Revoke(ctx, keyID(writerKey)); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("a writer's Revoke: %v, want ErrForbidden", err)
	}
	for name, call := range map[string]func() error{
		"unknown role":     func() error { return docs.Grant(ctx, keyID(otherKey), "admin") },
		"not an author ID": func() error { return docs.Grant(ctx, "nobody", gossipdb.RoleWriter) },
		"an admin's key":   func() error { return docs.Revoke(ctx, n.ID()) },
		"an open collection": func() error {
			return nodetest.AddUser(t, n)[0].Grant(ctx, keyID(otherKey), gossipdb.RoleWriter)
		},
	} {
		if err := call(); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if p := docs.Policy(); len(p.Changes) != 0 {
		t.Fatalf("refused changes were kept: %+v", p.Changes)
	}
}

// TestRevokeStopsWrites: a writer's writes replicate; once an admin revokes
// it, on every node that has the revocation its local writes fail, and a
// block signed with its key under the revoked state is refused, by gossip
// and by catch-up, while a node that was not connected during the revocation
// gets it by catch-up. Honest writes are unaffected.
func TestRevokeStopsWrites(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	n3 := nodetest.Open(t, "", nil)
	sdl := docSDL(n1.ID(), []string{keyID(writerKey)}, n2.ID(), n3.ID())
	docs := nodetest.AddCollection(t, sdl, n1, n2, n3)
	nodetest.Subscribe(t, "Doc", n1, n2, n3)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	writer, err := docs[1].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := writer.Create(ctx, map[string]any{"title": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Update(ctx, kept, map[string]any{"title": "kept, updated"}); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[0], kept, map[string]any{"title": "kept, updated"})
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatal(err)
	}
	rev := docs[0].Policy().Changes
	if len(rev) != 1 || rev[0].Role != "none" || len(rev[0].Keep) != 1 {
		t.Fatalf("revocation %+v, want one keeping the writer's one chain", rev)
	}
	waitRole(t, docs[1], keyID(writerKey), "")
	if _, err := writer.Create(ctx, map[string]any{"title": "after"}); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("a revoked writer's Create: %v, want ErrForbidden", err)
	}
	if err := writer.Update(ctx, kept, map[string]any{"title": "after"}); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("a revoked writer's Update: %v, want ErrForbidden", err)
	}

	// The revoked key signs a block under the revocation and publishes it.
	s := docSchema(t, sdl)
	b := &crdt.Block{Schema: s.ID, Height: 1, Nonce: nonceOf("revoked"), Set: map[string]any{"title": "revoked"},
		Policy: policyHeads(t, docs[0])}
	if err := b.Sign(writerKey); err != nil {
		t.Fatal(err)
	}
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
	fp, _ := docs[1].Fingerprint(ctx)
	before := n2.Metrics()
	if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, n2, docs[:2], before, fp, b, func(now gossipdb.Metrics) bool {
		return now.RejectedMessages > before.RejectedMessages
	})

	// n3 was away: catch-up brings it the revocation (no block names it)
	// and the documents.
	nodetest.Connect(t, n3, n2)
	waitRole(t, docs[2], keyID(writerKey), "")
	waitDoc(t, docs[2], kept, map[string]any{"title": "kept, updated"})
	w3, err := docs[2].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w3.Create(ctx, map[string]any{"title": "after, elsewhere"}); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("the revoked key's Create on the node that was away: %v, want ErrForbidden", err)
	}
}

// TestPolicyChangeByNonAdminRefused: a policy change signed by a key that is
// not an admin, and one whose signature does not verify, published on the
// topic, are refused and counted, and change nothing; an admin's change
// published the same way is taken.
func TestPolicyChangeByNonAdminRefused(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	sdl := docSDL(keyID(writerKey), nil, n.ID())
	docs := nodetest.AddCollection(t, sdl, n)
	nodetest.Subscribe(t, "Doc", n)
	s := docSchema(t, sdl)
	a := newAttacker(t, s.ID.String())
	a.join(t, n)
	nodeKey, err := schema.AuthorKey(n.ID())
	if err != nil {
		t.Fatal(err)
	}
	grant := func(signer ed25519.PrivateKey) *policy.Change {
		ch := &policy.Change{Schema: s.ID, Key: nodeKey, Role: crdt.RoleWriter}
		if err := ch.Sign(signer); err != nil {
			t.Fatal(err)
		}
		return ch
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		counted func(before, now gossipdb.Metrics) bool
	}{
		{"signed by a reader", grant(otherKey).Data, func(before, now gossipdb.Metrics) bool { return now.PolicyRejects > before.PolicyRejects }},
		{"a forged signature", func() []byte {
			d := slices.Clone(grant(writerKey).Data)
			d[10] ^= 1 // in the signature, the map's first entry
			return d
		}(), func(before, now gossipdb.Metrics) bool { return now.SignatureRejects > before.SignatureRejects }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := n.Metrics()
			if err := a.topic.Publish(ctx, append([]byte{1}, tc.data...)); err != nil {
				t.Fatal(err)
			}
			nodetest.Eventually(t, 20*time.Second, func() error {
				if now := n.Metrics(); !tc.counted(before, now) || now.RejectedMessages == before.RejectedMessages {
					return fmt.Errorf("not counted: %+v", now)
				}
				return nil
			})
			if p := docs[0].Policy(); len(p.Changes) != 0 || len(p.Writers) != 0 {
				t.Fatalf("the policy changed: %+v", p)
			}
		})
	}
	// The admin's change, published by the same peer, is taken.
	if err := a.topic.Publish(ctx, append([]byte{1}, grant(writerKey).Data...)); err != nil {
		t.Fatal(err)
	}
	waitRole(t, docs[0], n.ID(), gossipdb.RoleWriter)
	if _, err := docs[0].Create(ctx, map[string]any{"title": "granted by gossip"}); err != nil {
		t.Fatal(err)
	}
}

// TestBlockNamingUnknownChangeWaits: a writer's block that names a policy
// change no peer has is neither stored nor refused (it waits for the change,
// which the node asks its sender for); the node stays healthy and honest
// writes still arrive.
func TestBlockNamingUnknownChangeWaits(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, pairSDL(n1, n2), n1, n2)
	nodetest.Subscribe(t, "Doc", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	s := docSchema(t, pairSDL(n1, n2))
	b := &crdt.Block{Schema: s.ID, Height: 1, Nonce: nonceOf("unknown change"), Set: map[string]any{"title": "unknown change"},
		Policy: []cid.Cid{s.ID}} // a CID of the right kind that names no change
	if err := b.Sign(writerKey); err != nil {
		t.Fatal(err)
	}
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
	before := n2.Metrics()
	if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if now := n2.Metrics(); now.MessagesIn == before.MessagesIn {
			return fmt.Errorf("the message did not arrive")
		}
		return nil
	})
	id, err := docs[0].Create(ctx, map[string]any{"title": "honest"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[1], id, map[string]any{"title": "honest"})
	if _, err := docs[1].Get(ctx, gossipdb.DocID(b.CID.String())); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("the block was stored: %v", err)
	}
	if now := n2.Metrics(); now.PolicyRejects != before.PolicyRejects || now.RejectedMessages != before.RejectedMessages {
		t.Fatalf("the waiting block was refused: %+v", now)
	}
}

// backDated returns a block signed by writerKey that names the initial
// policy, as a writer revoked since could still sign: a genesis titled title
// when st is nil, else a change of the document whose state is st.
func backDated(t *testing.T, s *crdt.Schema, st *crdt.State, title string) *crdt.Block {
	t.Helper()
	var b *crdt.Block
	var err error
	if st == nil {
		b, err = crdt.NewGenesis(s, map[string]any{"title": title}, nil, nonceOf(title), writerKey)
	} else {
		b, err = crdt.NewChange(s, st, map[string]any{"title": title}, nil, false, nil, writerKey)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitCutOff waits until c stores block b but no document state holds it: a
// genesis's document reads as deleted, a change's document keeps title.
func waitCutOff(t *testing.T, c *gossipdb.Collection, b *crdt.Block, doc gossipdb.DocID, title string) {
	t.Helper()
	ctx := context.Background()
	nodetest.Eventually(t, 20*time.Second, func() error {
		if _, err := c.Block(ctx, b.CID.String()); err != nil {
			return fmt.Errorf("block %s not stored: %w", b.CID, err)
		}
		d, err := c.Get(ctx, doc)
		switch {
		case b.IsGenesis() && !errors.Is(err, gossipdb.ErrDeleted):
			return fmt.Errorf("the back-dated document reads %+v, %v; want it deleted", d, err)
		case !b.IsGenesis() && (err != nil || d.Fields["title"] != title):
			return fmt.Errorf("document %s reads %+v, %v; want title %q", doc, d, err, title)
		}
		return nil
	})
}

// TestRevokeCutsOffBackDatedBlocks: a revoked writer signs blocks that name
// the policy of before its revocation (rule 1 lets them in); every node
// stores them but no document state holds them (rule 4), whether they come
// by gossip or by catch-up; honest writes are unaffected.
func TestRevokeCutsOffBackDatedBlocks(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	hostile := nodetest.Open(t, "", nil)
	sdl := docSDL(n1.ID(), []string{keyID(writerKey)}, n2.ID(), hostile.ID())
	docs := nodetest.AddCollection(t, sdl, n1, n2, hostile)
	nodetest.Subscribe(t, "Doc", n1, n2)
	for _, c := range docs[:2] {
		if _, err := c.CreateIndex(ctx, "", gossipdb.Order{Field: "title"}); err != nil { // Check verifies its entries
			t.Fatal(err)
		}
	}
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	writer, err := docs[0].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := writer.Create(ctx, map[string]any{"title": "kept"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[1], kept, map[string]any{"title": "kept"})
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatal(err)
	}
	waitRole(t, docs[1], keyID(writerKey), "")
	s := docSchema(t, sdl)
	keptState := func() *crdt.State {
		d, err := docs[0].Get(ctx, kept)
		if err != nil {
			t.Fatal(err)
		}
		heads, err := docs[0].Heads(ctx, kept)
		if err != nil || len(heads) != 1 {
			t.Fatalf("heads %v, %v", heads, err)
		}
		return &crdt.State{Schema: s.ID, Doc: cid.MustParse(string(kept)), Heads: []cid.Cid{cid.MustParse(heads[0])}, Height: 1,
			Fields: map[string]crdt.FieldState{"title": {Value: d.Fields["title"], Height: 1}}}
	}()

	// By gossip: a new document and a change of the kept one.
	g := backDated(t, s, nil, "back-dated by gossip")
	u := backDated(t, s, keptState, "back-dated change")
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
	if err := a.topic.Publish(ctx, frames(g.Data)); err != nil {
		t.Fatal(err)
	}
	if err := a.topic.Publish(ctx, frames(u.Data)); err != nil {
		t.Fatal(err)
	}
	for _, c := range docs[:2] {
		waitCutOff(t, c, g, gossipdb.DocID(g.CID.String()), "")
		waitCutOff(t, c, u, kept, "kept")
	}

	// By catch-up, from a node that stores a back-dated genesis.
	g2 := backDated(t, s, nil, "back-dated by catch-up")
	if err := gossipdb.StoreGeneses(hostile, g2); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, hostile, n2)
	waitCutOff(t, docs[1], g2, gossipdb.DocID(g2.CID.String()), "")

	id, err := docs[0].Create(ctx, map[string]any{"title": "honest"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[1], id, map[string]any{"title": "honest"})
	if got, want := nodetest.Snapshot(t, docs[1]), nodetest.Snapshot(t, docs[0]); len(got) != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("n2 holds %v, n1 %v; want the kept and the honest documents on both", got, want)
	}
	for _, n := range []*gossipdb.Node{n1, n2} {
		if err := n.Check(ctx); err != nil {
			t.Fatalf("Check: %v", err)
		}
	}
}

// TestRevokeCutsOffConcurrentWrites: a writer's blocks that the admin's node
// did not have when it revoked the writer leave the document state on every
// node once the revocation completes there: on the node that merged them
// before (its watchers see the document change) and on the admin's node,
// which merges them later. The nodes end with the same values.
func TestRevokeCutsOffConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, pairSDL(n1, n2), n1, n2)
	nodetest.Subscribe(t, "Doc", n1, n2)
	writer, err := docs[1].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	// Not connected: the admin does not see these writes.
	unseen, err := writer.Create(ctx, map[string]any{"title": "unseen"})
	if err != nil {
		t.Fatal(err)
	}
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatal(err)
	}
	if keep := docs[0].Policy().Changes[0].Keep; len(keep) != 0 {
		t.Fatalf("the revocation keeps %v, want nothing: the admin has no block of the writer", keep)
	}
	events, err := docs[1].Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n1, n2)
	for _, c := range docs {
		nodetest.Eventually(t, 20*time.Second, func() error {
			if _, err := c.Get(ctx, unseen); !errors.Is(err, gossipdb.ErrDeleted) {
				return fmt.Errorf("the unseen document reads %v, want it cut off", err)
			}
			return nil
		})
		// Its history keeps the block, marked as cut off, and the document
		// never read as anything at it.
		var blocks []gossipdb.BlockInfo
		for b, err := range c.History(ctx, unseen) {
			if err != nil {
				t.Fatal(err)
			}
			blocks = append(blocks, b)
		}
		if len(blocks) != 1 || !blocks[0].Disowned || blocks[0].Author != keyID(writerKey) {
			t.Errorf("history of the cut-off document: %+v, want its genesis by the writer, disowned", blocks)
		}
		if _, err := c.GetAt(ctx, unseen, string(unseen)); !errors.Is(err, gossipdb.ErrDeleted) {
			t.Errorf("the cut-off document at its genesis reads %v, want ErrDeleted", err)
		}
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-events:
			if e.DocID == unseen && e.Type == gossipdb.EventDeleted && e.Author == n1.ID() {
				return
			}
		case <-deadline:
			t.Fatal("no event for the cut-off document")
		}
	}
}

// TestRevokeCutsOffManyDocuments: a revocation that disowns more documents
// than one store transaction can rebuild (the writer's 10,000 documents, unseen
// by the admin, on a node with the small memtable of Options.SmallMemory)
// still cuts off every one of them on the node that merged them.
func TestRevokeCutsOffManyDocuments(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", &gossipdb.Options{SmallMemory: true})
	docs := nodetest.AddCollection(t, pairSDL(n1, n2), n1, n2)
	nodetest.Subscribe(t, "Doc", n1, n2)
	writer, err := docs[1].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	const total = 10_000
	batch := make([]map[string]any, 1000)
	for done := 0; done < total; done += len(batch) {
		for i := range batch {
			batch[i] = map[string]any{"title": fmt.Sprint("unseen ", done+i)}
		}
		if _, err := writer.CreateMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n1, n2)
	nodetest.Eventually(t, 120*time.Second, func() error {
		if k := count(t, docs[1], nil); k != 0 {
			return fmt.Errorf("%d of the writer's %d documents still read on node 2, want all cut off", k, total)
		}
		return nil
	})
	for _, n := range []*gossipdb.Node{n1, n2} {
		if err := n.Check(ctx); err != nil {
			t.Fatalf("Check: %v", err)
		}
	}
}

// TestGrantRevokeThreeNodesConverge: three nodes on a line, the admin at one
// end, write concurrently as two keys while the admin grants and revokes
// them at random, so that writes race with the changes that allow or forbid
// them, and gossip is lost at random. Every node ends with the same policy
// and the same documents. The seed is logged; repeat a run with
// nodetest.SeedEnv.
func TestGrantRevokeThreeNodesConverge(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 15))
	nodes := []*gossipdb.Node{nodetest.Open(t, "", nil), nodetest.Open(t, "", nil), nodetest.Open(t, "", nil)}
	sdl := docSDL(nodes[0].ID(), []string{keyID(writerKey)}, nodes[1].ID(), nodes[2].ID())
	docs := nodetest.AddCollection(t, sdl, nodes...)
	nodetest.Subscribe(t, "Doc", nodes...)
	nodetest.Connect(t, nodes[0], nodes[1])
	nodetest.Connect(t, nodes[1], nodes[2])
	// Gossip is lost at random (blocks and policy changes alike); catch-up
	// brings what was lost, in whatever order it finds it.
	for _, n := range nodes {
		gossipdb.SetGossipLoss(n, 0.3*rng.Float64())
	}
	keys := []ed25519.PrivateKey{writerKey, otherKey}
	var writers []*gossipdb.Collection // by node, then key
	for _, c := range docs {
		for _, k := range keys {
			w, err := c.As(k)
			if err != nil {
				t.Fatal(err)
			}
			writers = append(writers, w)
		}
	}
	var ids []gossipdb.DocID
	for i := range 60 {
		title := fmt.Sprint("write ", i)
		switch op := rng.IntN(10); {
		case op < 4 || len(ids) == 0:
			id, err := writers[rng.IntN(len(writers))].Create(ctx, map[string]any{"title": title})
			if err == nil {
				ids = append(ids, id)
			} else if !errors.Is(err, gossipdb.ErrForbidden) {
				t.Fatal(err)
			}
		case op < 7:
			err := writers[rng.IntN(len(writers))].Update(ctx, ids[rng.IntN(len(ids))], map[string]any{"title": title})
			if err != nil && !errors.Is(err, gossipdb.ErrForbidden) && !errors.Is(err, gossipdb.ErrNotFound) && !errors.Is(err, gossipdb.ErrDeleted) {
				t.Fatal(err)
			}
		case op < 9:
			if err := docs[0].Grant(ctx, keyID(keys[rng.IntN(len(keys))]), gossipdb.RoleWriter); err != nil {
				t.Fatal(err)
			}
		default:
			if err := docs[0].Revoke(ctx, keyID(keys[rng.IntN(len(keys))])); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond) // let some messages arrive in between
		}
	}
	for _, n := range nodes {
		gossipdb.SetGossipLoss(n, 0)
	}
	nodetest.Eventually(t, 60*time.Second, func() error {
		for _, n := range nodes {
			if err := n.StartSync(ctx, "Doc"); err != nil {
				return err
			}
		}
		want, wantPolicy := nodetest.Snapshot(t, docs[0]), fmt.Sprint(docs[0].Policy())
		wantFP, err := docs[0].Fingerprint(ctx)
		if err != nil {
			return err
		}
		for i, c := range docs[1:] {
			if got := fmt.Sprint(c.Policy()); got != wantPolicy {
				return fmt.Errorf("node %d's policy %s differs from node 0's %s", i+1, got, wantPolicy)
			}
			if fp, err := c.Fingerprint(ctx); err != nil || fp != wantFP {
				var diff []string
				for _, id := range ids {
					d0, err0 := docs[0].Get(ctx, id)
					d1, err1 := c.Get(ctx, id)
					h0, _ := docs[0].Heads(ctx, id)
					h1, _ := c.Heads(ctx, id)
					if fmt.Sprint(d0, err0) != fmt.Sprint(d1, err1) {
						diff = append(diff, fmt.Sprintf("%s: %v %v %v / %v %v %v", id, d0, err0, h0, d1, err1, h1))
					}
				}
				// Whether each node still has a revocation to cut off tells a
				// revocation not complete on one node from a cut-off missed.
				return fmt.Errorf("node %d's documents differ from node 0's (%v; a revocation not cut off yet: node 0 %v, node %d %v): %v",
					i+1, err, gossipdb.Uncut(docs[0]), i+1, gossipdb.Uncut(c), diff)
			}
			if got := nodetest.Snapshot(t, c); fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("node %d holds %v, node 0 %v", i+1, got, want)
			}
		}
		return nil
	})
	t.Logf("%d documents written, %d live, %d policy changes", len(ids), len(nodetest.Snapshot(t, docs[0])), len(docs[0].Policy().Changes))
}

// TestRevokedKeyRefusedByFetchAndCatchUp: after a revocation, a block signed
// with the revoked key under it is refused when a history fetch brings it
// and when catch-up brings it, and back-dated blocks a history fetch brings
// are stored but cut off; honest writes are unaffected.
func TestRevokedKeyRefusedByFetchAndCatchUp(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	hostile := nodetest.Open(t, "", nil)
	sdl := docSDL(n1.ID(), []string{keyID(writerKey)}, n2.ID(), hostile.ID())
	docs := nodetest.AddCollection(t, sdl, n1, n2, hostile)
	nodetest.Subscribe(t, "Doc", n1, n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatal(err)
	}
	waitRole(t, docs[1], keyID(writerKey), "")
	s := docSchema(t, sdl)
	heads := policyHeads(t, docs[0])
	revoked := func(title string) *crdt.Block {
		b := &crdt.Block{Schema: s.ID, Height: 1, Nonce: nonceOf(title), Set: map[string]any{"title": title}, Policy: heads}
		if err := b.Sign(writerKey); err != nil {
			t.Fatal(err)
		}
		return b
	}
	childOf := func(g *crdt.Block, policy []cid.Cid) *crdt.Block {
		c := &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: 2, Set: map[string]any{"title": "child"}, Policy: policy}
		if err := c.Sign(writerKey); err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("history fetch, under the revocation", func(t *testing.T) {
		g := revoked("fetched under the revocation")
		a := newAttacker(t, s.ID.String())
		a.answerFetches(g.Data)
		a.join(t, n2)
		fp, _ := docs[1].Fingerprint(ctx)
		before := n2.Metrics()
		if err := a.topic.Publish(ctx, frames(childOf(g, nil).Data)); err != nil {
			t.Fatal(err)
		}
		checkRefused(t, n2, docs[:2], before, fp, g, func(now gossipdb.Metrics) bool {
			return now.FailedFetches > before.FailedFetches
		})
	})
	t.Run("history fetch, back-dated", func(t *testing.T) {
		g := backDated(t, s, nil, "fetched back-dated")
		child := childOf(g, nil)
		a := newAttacker(t, s.ID.String())
		a.answerFetches(g.Data)
		a.join(t, n2)
		if err := a.topic.Publish(ctx, frames(child.Data)); err != nil {
			t.Fatal(err)
		}
		waitCutOff(t, docs[1], g, gossipdb.DocID(g.CID.String()), "")
		if _, err := docs[1].Block(ctx, child.CID.String()); err != nil {
			t.Fatalf("the back-dated change is not stored: %v", err)
		}
	})
	t.Run("catch-up, under the revocation", func(t *testing.T) {
		g := revoked("caught up under the revocation")
		if err := gossipdb.StoreGeneses(hostile, g); err != nil {
			t.Fatal(err)
		}
		fp, _ := docs[1].Fingerprint(ctx)
		before := n2.Metrics()
		nodetest.Connect(t, hostile, n2)
		checkRefused(t, n2, docs[:2], before, fp, g, func(now gossipdb.Metrics) bool {
			return now.CatchUpsFailed > before.CatchUpsFailed
		})
	})
}

// TestPolicyChangesNotServedToNonMembers: the policy exchange answers a peer
// that holds no role in the collection with no changes, and a member with
// them.
func TestPolicyChangesNotServedToNonMembers(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	sdl := docSDL(n1.ID(), nil)
	docs := nodetest.AddCollection(t, sdl, n1)
	if err := docs[0].Grant(ctx, keyID(writerKey), gossipdb.RoleWriter); err != nil {
		t.Fatal(err)
	}
	s := docSchema(t, sdl)
	a := newAttacker(t, s.ID.String())
	if err := n1.Connect(ctx, a.addr()); err != nil {
		t.Fatal(err)
	}
	admin, err := peer.Decode(n1.ID())
	if err != nil {
		t.Fatal(err)
	}
	got, err := policysync.Fetch(ctx, a.h, admin, s.ID, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("a non-member fetched %d policy changes (%v), want none", len(got), err)
	}
	if err := docs[0].Grant(ctx, a.h.ID().String(), gossipdb.RoleReader); err != nil {
		t.Fatal(err)
	}
	if got, err = policysync.Fetch(ctx, a.h, admin, s.ID, nil); err != nil || len(got) != 2 {
		t.Fatalf("a reader fetched %d policy changes (%v), want 2", len(got), err)
	}
}

// TestRevokedReaderLeavesTheTopic: a reader whose role is revoked is no longer
// among the admin's subscribers of the collection's topic (its node is
// disconnected; its subscription is judged again if it reconnects), and the
// admin's later writes reach a remaining reader but not it.
func TestRevokedReaderLeavesTheTopic(t *testing.T) {
	ctx := context.Background()
	admin := nodetest.Open(t, "", nil)
	reader := nodetest.Open(t, "", nil)
	witness := nodetest.Open(t, "", nil)
	sdl := fmt.Sprintf(`type Doc @policy(admins: [%q], readers: [%q, %q]) { title: String }`, admin.ID(), reader.ID(), witness.ID())
	topic := docSchema(t, sdl).ID.String()
	docs := nodetest.AddCollection(t, sdl, admin, reader, witness)
	nodetest.Subscribe(t, "Doc", admin, reader, witness)
	nodetest.Connect(t, admin, reader)
	nodetest.Connect(t, admin, witness)
	nodetest.WaitTopicPeers(t, admin, "Doc", reader, witness)
	before, err := docs[0].Create(ctx, map[string]any{"title": "before"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[1], before, nil)

	if err := docs[0].Revoke(ctx, reader.ID()); err != nil {
		t.Fatal(err)
	}
	p, err := peer.Decode(reader.ID())
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if slices.Contains(gossipdb.SubscribedPeers(admin, topic), p) {
			return errors.New("the revoked reader is still among the admin's subscribers of the topic")
		}
		return nil
	})
	merged := reader.Metrics().GossipBlocks
	var after []gossipdb.DocID
	for i := range 5 {
		id, err := docs[0].Create(ctx, map[string]any{"title": fmt.Sprint("after ", i)})
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, id)
	}
	for _, id := range after {
		waitDoc(t, docs[2], id, nil) // the remaining reader has them all
	}
	if got := reader.Metrics().GossipBlocks; got != merged {
		t.Fatalf("the revoked reader received %d blocks by gossip after its revocation", got-merged)
	}
}

// TestRevokeAfterCatchUp: an admin whose node caught up on a writer's
// documents (stored in the order catch-up brings them, not the order the
// writer wrote them) revokes it; the revocation keeps the writer's one chain,
// so its documents stay on both nodes.
func TestRevokeAfterCatchUp(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, pairSDL(n1, n2), n1, n2)
	nodetest.Subscribe(t, "Doc", n1, n2)
	writer, err := docs[1].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	const total = 2 * policy.MaxKeep
	for i := range total {
		if _, err := writer.Create(ctx, map[string]any{"title": fmt.Sprint("written ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Connect(t, n1, n2)
	nodetest.Eventually(t, 30*time.Second, func() error {
		if k := count(t, docs[0], nil); k != total {
			return fmt.Errorf("the admin holds %d of the writer's %d documents", k, total)
		}
		return nil
	})
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatalf("Revoke after catching up on %d documents: %v", total, err)
	}
	if keep := docs[0].Policy().Changes[0].Keep; len(keep) != 1 {
		t.Fatalf("the revocation keeps %d chain heads, want the writer's one chain", len(keep))
	}
	waitRole(t, docs[1], keyID(writerKey), "")
	for _, c := range docs {
		nodetest.Eventually(t, 20*time.Second, func() error {
			if gossipdb.Uncut(c) {
				return fmt.Errorf("the revocation is not cut off yet")
			}
			return nil
		})
		if k := count(t, c, nil); k != total {
			t.Fatalf("%d of the writer's %d documents read after the revocation, want all", k, total)
		}
	}
}

// TestRevokeForkedWriter: a writer that forks its chain into more chains
// than a revocation keeps (here, geneses that name no previous block, sent
// by gossip) can still be revoked: the revocation keeps as many chains as it
// may, and the blocks of the others are cut off.
func TestRevokeForkedWriter(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	sdl := docSDL(n.ID(), []string{keyID(writerKey)})
	docs := nodetest.AddCollection(t, sdl, n)
	nodetest.Subscribe(t, "Doc", n)
	s := docSchema(t, sdl)
	a := newAttacker(t, s.ID.String())
	a.join(t, n)
	const forks = policy.MaxKeep + 16
	var data [][]byte
	for i := range forks {
		data = append(data, backDated(t, s, nil, fmt.Sprint("fork ", i)).Data)
	}
	if err := a.topic.Publish(ctx, frames(data...)); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if k := count(t, docs[0], nil); k != forks {
			return fmt.Errorf("the node holds %d of the writer's %d documents", k, forks)
		}
		return nil
	})
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatalf("Revoke of a writer with %d chains: %v", forks, err)
	}
	if keep := docs[0].Policy().Changes[0].Keep; len(keep) != policy.MaxKeep {
		t.Fatalf("the revocation keeps %d chain heads, want %d", len(keep), policy.MaxKeep)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if k := count(t, docs[0], nil); k != policy.MaxKeep {
			return fmt.Errorf("%d of the writer's documents read, want the %d the revocation keeps", k, policy.MaxKeep)
		}
		return nil
	})
	if _, err := docs[0].Create(ctx, map[string]any{"title": "honest"}); err != nil {
		t.Fatal(err)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}
