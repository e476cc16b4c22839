package gossipdb_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
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
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// writerKey is a writer of the restricted collections of these tests;
// otherKey (sign_test.go) is an outsider.
var writerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))

func keyID(k ed25519.PrivateKey) string { return gossipdb.AuthorID(k.Public().(ed25519.PublicKey)) }

// docSDL is a restricted collection Doc whose admin is admin, whose writers
// are writers and whose readers are otherKey and readers.
func docSDL(admin string, writers []string, readers ...string) string {
	q := func(ids []string) string {
		var b bytes.Buffer
		for i, id := range ids {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", id)
		}
		return b.String()
	}
	return fmt.Sprintf(`type Doc @policy(admins: [%s], writers: [%s], readers: [%s]) { title: String }`, q([]string{admin}), q(writers), q(append([]string{keyID(otherKey)}, readers...)))
}

func docSchema(t testing.TB, sdl string) *crdt.Schema {
	t.Helper()
	s, err := schema.Parse(sdl)
	if err != nil {
		t.Fatal(err)
	}
	return s[0]
}

// TestPolicyLocalWrites: in a restricted collection, a write by a key that is
// not a writer (the node's own, a reader's) fails with a PolicyError naming
// the key and the missing right, and writes nothing; a writer's writes
// succeed; Policy shows the policy, and an open collection has none.
func TestPolicyLocalWrites(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, docSDL(keyID(writerKey), nil), n)[0]
	want := &gossipdb.Policy{Admins: []string{keyID(writerKey)}, Writers: []string{}, Readers: []string{keyID(otherKey)}}
	if got := docs.Policy(); got == nil || !slices.Equal(got.Admins, want.Admins) || len(got.Writers) != 0 || !slices.Equal(got.Readers, want.Readers) {
		t.Fatalf("Policy() = %+v, want %+v", got, want)
	}
	reader, err := docs.As(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c      *gossipdb.Collection
		author string
	}{{docs, n.ID()}, {reader, keyID(otherKey)}} {
		_, err := tc.c.Create(ctx, map[string]any{"title": "forbidden"})
		var pe *gossipdb.PolicyError
		if !errors.Is(err, gossipdb.ErrForbidden) || !errors.As(err, &pe) || pe.Author != tc.author {
			t.Fatalf("Create by %s: %v, want a PolicyError naming it", tc.author, err)
		}
		if want := fmt.Sprintf("gossipdb: author %s may not write to Doc: not a writer", tc.author); err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	}
	if n, err := docs.Count(ctx, nil); err != nil || n != 0 {
		t.Fatalf("after refused writes: %d documents, %v", n, err)
	}
	admin, err := docs.As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := admin.Create(ctx, map[string]any{"title": "allowed"})
	if err != nil {
		t.Fatal(err)
	}
	if err := docs.Update(ctx, id, map[string]any{"title": "forbidden"}); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("Update by a non-writer: %v, want ErrForbidden", err)
	}
	if err := docs.Delete(ctx, id); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("Delete by a non-writer: %v, want ErrForbidden", err)
	}
	if err := admin.Update(ctx, id, map[string]any{"title": "updated"}); err != nil {
		t.Fatal(err)
	}
	if d, err := docs.Get(ctx, id); err != nil || d.Fields["title"] != "updated" {
		t.Fatalf("Get = %+v, %v", d, err)
	}
	users := nodetest.AddUser(t, n)[0]
	if p := users.Policy(); p != nil {
		t.Fatalf("an open collection's Policy() = %+v, want nil", p)
	}
}

// unauthorized is a block a restricted collection must refuse.
type unauthorized struct {
	name string
	make func(t *testing.T, s *crdt.Schema, title string) *crdt.Block
}

func nonceOf(title string) []byte {
	sum := sha256.Sum256([]byte(title))
	return sum[:]
}

func unauthorizedBlocks() []unauthorized {
	sign := func(t *testing.T, b *crdt.Block, key ed25519.PrivateKey) *crdt.Block {
		t.Helper()
		if err := b.Sign(key); err != nil {
			t.Fatal(err)
		}
		return b
	}
	genesis := func(s *crdt.Schema, title string) *crdt.Block {
		return &crdt.Block{Schema: s.ID, Height: 1, Nonce: nonceOf(title), Set: map[string]any{"title": title}}
	}
	return []unauthorized{
		{"a reader's block", func(t *testing.T, s *crdt.Schema, title string) *crdt.Block {
			return sign(t, genesis(s, title), otherKey)
		}},
	}
}

// pairSDL is Doc with n1 as admin, writerKey as writer and n2 as a reader.
func pairSDL(n1, n2 *gossipdb.Node) string {
	return docSDL(n1.ID(), []string{keyID(writerKey)}, n2.ID())
}

// checkRefused waits until n counts the block's refusal for its policy, then
// checks that its document is nowhere, that n's state is as before and that
// honest writes still flow from docs[0] to docs[1].
func checkRefused(t *testing.T, n *gossipdb.Node, docs []*gossipdb.Collection, before gossipdb.Metrics, fingerprint string, b *crdt.Block, counted func(now gossipdb.Metrics) bool) {
	t.Helper()
	ctx := context.Background()
	nodetest.Eventually(t, 20*time.Second, func() error {
		now := n.Metrics()
		if now.PolicyRejects == before.PolicyRejects || !counted(now) {
			return fmt.Errorf("the block's refusal was not counted: %+v", now)
		}
		return nil
	})
	if _, err := docs[1].Get(ctx, gossipdb.DocID(b.DocID().String())); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("the unauthorized block was stored: Get = %v", err)
	}
	if fp, err := docs[1].Fingerprint(ctx); err != nil || fp != fingerprint {
		t.Errorf("the node's state changed: %v", err)
	}
	id, err := docs[0].Create(ctx, map[string]any{"title": "honest after " + b.CID.String()})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[1], id, map[string]any{"title": "honest after " + b.CID.String()})
}

// TestPolicyRejectedByGossip: unauthorized blocks published on a restricted
// collection's topic are refused, counted as "policy", never stored; honest
// writes still arrive.
func TestPolicyRejectedByGossip(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, pairSDL(n1, n2), n1, n2)
	nodetest.Subscribe(t, "Doc", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	s := docSchema(t, pairSDL(n1, n2))
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
	for _, bad := range unauthorizedBlocks() {
		t.Run(bad.name, func(t *testing.T) {
			fp, _ := docs[1].Fingerprint(ctx)
			before := n2.Metrics()
			b := bad.make(t, s, "gossiped "+bad.name)
			if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
				t.Fatal(err)
			}
			checkRefused(t, n2, docs, before, fp, b, func(now gossipdb.Metrics) bool {
				return now.RejectedMessages > before.RejectedMessages
			})
		})
	}
}

// TestPolicyRejectedByHistoryFetch: a peer gossips a writer's change whose
// parent, served when asked for the history, is unauthorized: the fetch
// fails, nothing of the document is stored, honest writes still arrive.
func TestPolicyRejectedByHistoryFetch(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	docs := nodetest.AddCollection(t, pairSDL(n1, n2), n1, n2)
	nodetest.Subscribe(t, "Doc", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	s := docSchema(t, pairSDL(n1, n2))
	for _, bad := range unauthorizedBlocks() {
		t.Run(bad.name, func(t *testing.T) {
			g := bad.make(t, s, "fetched "+bad.name)
			change := &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: 2, Set: map[string]any{"title": "child"}}
			if err := change.Sign(writerKey); err != nil {
				t.Fatal(err)
			}
			a := newAttacker(t, s.ID.String())
			a.answerFetches(g.Data)
			a.join(t, n2)
			fp, _ := docs[1].Fingerprint(ctx)
			before := n2.Metrics()
			if err := a.topic.Publish(ctx, frames(change.Data)); err != nil {
				t.Fatal(err)
			}
			checkRefused(t, n2, docs, before, fp, g, func(now gossipdb.Metrics) bool {
				return now.FailedFetches > before.FailedFetches
			})
		})
	}
}

// TestPolicyRejectedByCatchUp: a node whose store holds an unauthorized
// genesis (as a hostile node would serve it) offers it to catch-up: the
// joining node refuses it, counts it, stores nothing of it, and still
// receives an honest node's documents.
func TestPolicyRejectedByCatchUp(t *testing.T) {
	ctx := context.Background()
	for _, bad := range unauthorizedBlocks() {
		t.Run(bad.name, func(t *testing.T) {
			hostile := nodetest.Open(t, "", nil)
			n1 := nodetest.Open(t, "", nil)
			n2 := nodetest.Open(t, "", nil)
			docs := nodetest.AddCollection(t, pairSDL(n1, n2), hostile, n1, n2)[1:]
			s := docSchema(t, pairSDL(n1, n2))
			honest, err := docs[0].Create(ctx, map[string]any{"title": "honest"})
			if err != nil {
				t.Fatal(err)
			}
			g := bad.make(t, s, "caught up "+bad.name)
			if err := gossipdb.StoreGeneses(hostile, g); err != nil {
				t.Fatal(err)
			}
			nodetest.Connect(t, n1, n2)
			nodetest.Subscribe(t, "Doc", n2)
			waitDoc(t, docs[1], honest, map[string]any{"title": "honest"})
			fp, _ := docs[1].Fingerprint(ctx)
			before := n2.Metrics()
			nodetest.Connect(t, hostile, n2)
			checkRefused(t, n2, docs, before, fp, g, func(now gossipdb.Metrics) bool {
				return now.CatchUpsFailed > before.CatchUpsFailed
			})
		})
	}
}

// TestPolicyNonMemberCannotRead: a node that knows a restricted collection's
// definition but whose key holds no role gets none of its documents: not by
// subscribing (it is never in the topic's mesh), not by catch-up (the
// member answers as if it did not hold the collection), not by fetching the
// blocks of a document ID it learned; a member gets them all.
func TestPolicyNonMemberCannotRead(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	n3 := nodetest.Open(t, "", nil)
	sdl := fmt.Sprintf(`type Doc @policy(admins: [%q], readers: [%q]) { title: String }`, n1.ID(), n2.ID())
	docs := nodetest.AddCollection(t, sdl, n1, n2, n3)
	var ids []gossipdb.DocID
	for i := range 3 {
		id, err := docs[0].Create(ctx, map[string]any{"title": fmt.Sprint("before ", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, n := range []*gossipdb.Node{n2, n3} {
		nodetest.Subscribe(t, "Doc", n)
		nodetest.Connect(t, n1, n)
	}
	for _, id := range ids {
		waitDoc(t, docs[1], id, nil) // by catch-up
	}
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	id, err := docs[0].Create(ctx, map[string]any{"title": "gossiped"})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, id)
	waitDoc(t, docs[1], id, nil) // by gossip
	nodetest.Eventually(t, 20*time.Second, func() error {
		st, err := n3.SyncStatus("Doc")
		if err != nil {
			return err
		}
		for _, p := range st.Peers {
			if p.Peer == n1.ID() && !p.Finished.IsZero() {
				return nil
			}
		}
		return fmt.Errorf("no catch-up session with the member finished: %+v", st)
	})
	if n, err := docs[2].Count(ctx, nil); err != nil || n != 0 {
		t.Fatalf("the non-member holds %d documents (%v); metrics %+v", n, err, n3.Metrics())
	}
	if m := n3.Metrics(); m.GossipBlocks != 0 || m.CatchUpBlocks != 0 || m.FetchedBlocks != 0 {
		t.Fatalf("the non-member received blocks: %+v", m)
	}
	// A non-member that learned the document IDs asks for their blocks.
	s := docSchema(t, sdl)
	a := newAttacker(t, s.ID.String())
	if err := n1.Connect(ctx, a.addr()); err != nil {
		t.Fatal(err)
	}
	member, err := peer.Decode(n1.ID())
	if err != nil {
		t.Fatal(err)
	}
	items := make([]blocks.Item, len(ids))
	for i, id := range ids {
		c, err := cid.Decode(string(id))
		if err != nil {
			t.Fatal(err)
		}
		items[i] = blocks.Item{Doc: c}
	}
	got := 0
	_, err = blocks.Fetch(ctx, a.h, member, s.ID, items, func(*crdt.Block) error { got++; return nil })
	if err == nil || got != 0 {
		t.Fatalf("a non-member fetched %d blocks (%v), want none and an error", got, err)
	}
}

// TestPolicyEarlySubscriberDropped: a non-member that subscribed to a
// restricted collection's topic before a member knew the collection is not
// left among the member's topic peers (the filter could not judge it then):
// the member disconnects it when it adds the collection, and the non-member
// receives none of the member's writes.
func TestPolicyEarlySubscriberDropped(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil) // the admin, who adds the collection last
	n2 := nodetest.Open(t, "", nil) // a reader
	n3 := nodetest.Open(t, "", nil) // no role
	sdl := fmt.Sprintf(`type Doc @policy(admins: [%q], readers: [%q]) { title: String }`, n1.ID(), n2.ID())
	topic := docSchema(t, sdl).ID.String()
	for _, n := range []*gossipdb.Node{n2, n3} {
		nodetest.AddCollection(t, sdl, n)
		nodetest.Subscribe(t, "Doc", n)
		nodetest.Connect(t, n1, n)
	}
	outsider, err := peer.Decode(n3.ID())
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if !slices.Contains(gossipdb.SubscribedPeers(n1, topic), outsider) {
			return errors.New("n1 has not heard the non-member's subscription")
		}
		return nil
	})
	docs := nodetest.AddCollection(t, sdl, n1)
	nodetest.Subscribe(t, "Doc", n1)
	nodetest.Eventually(t, 20*time.Second, func() error {
		if slices.Contains(gossipdb.SubscribedPeers(n1, topic), outsider) {
			return errors.New("the non-member is still among n1's subscribers of the topic")
		}
		return nil
	})
	nodetest.WaitTopicPeers(t, n1, "Doc", n2)
	id, err := docs[0].Create(ctx, map[string]any{"title": "members only"})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := n2.Collection("Doc")
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, reader, id, nil)
	if slices.Contains(gossipdb.SubscribedPeers(n1, topic), outsider) {
		t.Fatal("the non-member is among n1's subscribers of the topic again")
	}
	if m := n3.Metrics(); m.GossipBlocks != 0 || m.CatchUpBlocks != 0 || m.FetchedBlocks != 0 {
		t.Fatalf("the non-member received blocks: %+v", m)
	}
}

// TestPolicySurvivesRestart: a restricted collection read back from the store
// has its policy, which still refuses a non-writer's write.
func TestPolicySurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n := nodetest.Open(t, dir, nil)
	nodetest.AddCollection(t, docSDL(keyID(writerKey), nil), n)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = nodetest.Open(t, dir, nil)
	docs, err := n.Collection("Doc")
	if err != nil {
		t.Fatal(err)
	}
	if p := docs.Policy(); p == nil || len(p.Admins) != 1 || p.Admins[0] != keyID(writerKey) {
		t.Fatalf("policy after restart: %+v", p)
	}
	if _, err := docs.Create(ctx, map[string]any{"title": "x"}); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Fatalf("a non-writer's Create after restart: %v, want ErrForbidden", err)
	}
}

// TestPolicyThreeNodesConverge: three nodes on a line (an admin, a writer, a
// reader that also writes as writerKey) write concurrently in a random order
// while an outsider publishes its own blocks to the reader; the reader's own
// key is refused locally. Every node ends with the same documents, all of
// them by writers, and none of the outsider's. The seed is logged; repeat
// a run with nodetest.SeedEnv.
func TestPolicyThreeNodesConverge(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 14))
	nodes := []*gossipdb.Node{nodetest.Open(t, "", nil), nodetest.Open(t, "", nil), nodetest.Open(t, "", nil)}
	sdl := fmt.Sprintf(`type Doc @policy(admins: [%q], writers: [%q, %q], readers: [%q]) { title: String }`,
		nodes[0].ID(), nodes[1].ID(), keyID(writerKey), nodes[2].ID())
	docs := nodetest.AddCollection(t, sdl, nodes...)
	nodetest.Subscribe(t, "Doc", nodes...)
	nodetest.Connect(t, nodes[0], nodes[1])
	nodetest.Connect(t, nodes[1], nodes[2])
	s := docSchema(t, sdl)
	a := newAttacker(t, s.ID.String())
	if err := nodes[2].Connect(ctx, a.addr()); err != nil {
		t.Fatal(err)
	}
	asWriter, err := docs[2].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	writers := []*gossipdb.Collection{docs[0], docs[1], asWriter}
	var ids []gossipdb.DocID
	var outsider []*crdt.Block
	for i := range 40 {
		title := fmt.Sprint("write ", i)
		switch op := rng.IntN(10); {
		case op < 5 || len(ids) == 0:
			id, err := writers[rng.IntN(len(writers))].Create(ctx, map[string]any{"title": title})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		case op < 8:
			// An update of a document the writer's node may not have yet
			// fails with ErrNotFound; that is not the policy's business.
			err := writers[rng.IntN(len(writers))].Update(ctx, ids[rng.IntN(len(ids))], map[string]any{"title": title})
			if err != nil && !errors.Is(err, gossipdb.ErrNotFound) {
				t.Fatal(err)
			}
		case op < 9:
			if _, err := docs[2].Create(ctx, map[string]any{"title": title}); !errors.Is(err, gossipdb.ErrForbidden) {
				t.Fatalf("a reader's Create: %v, want ErrForbidden", err)
			}
		default:
			b := &crdt.Block{Schema: s.ID, Height: 1, Nonce: nonceOf(title), Set: map[string]any{"title": title}}
			if err := b.Sign(otherKey); err != nil {
				t.Fatal(err)
			}
			outsider = append(outsider, b)
			if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		want, err := docs[0].Fingerprint(ctx)
		if err != nil {
			return err
		}
		for i, c := range docs {
			if n, err := c.Count(ctx, nil); err != nil || n != int64(len(ids)) {
				return fmt.Errorf("node %d holds %d documents (%v), want %d", i, n, err, len(ids))
			}
			if fp, err := c.Fingerprint(ctx); err != nil || fp != want {
				return fmt.Errorf("node %d's fingerprint differs from node 0's (%v)", i, err)
			}
		}
		return nil
	})
	for _, b := range outsider {
		for i, c := range docs {
			if _, err := c.Get(ctx, gossipdb.DocID(b.CID.String())); !errors.Is(err, gossipdb.ErrNotFound) {
				t.Fatalf("node %d holds the outsider's document %s: %v", i, b.CID, err)
			}
		}
	}
}

// TestPolicyNonWriterAddsNoVersion: a key that may not write to a restricted
// collection sends a block under a version of the collection it made (a
// field renamed), and serves the version's definition: the block is refused
// as any of its blocks is, and the node neither fetches nor stores the
// version, by gossip or by catch-up. A writer's block under a version the
// node lacks still brings it.
func TestPolicyNonWriterAddsNoVersion(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	h := nodetest.Open(t, "", nil) // a reader, that stores a reader's block under its own version
	sdl := docSDL(n.ID(), []string{keyID(writerKey)}, h.ID())
	docs := nodetest.AddCollection(t, sdl, n, h)
	nodetest.Subscribe(t, "Doc", n, h)
	s := docSchema(t, sdl)
	version := func(name string) (*crdt.Schema, []byte) {
		fields := slices.Clone(s.Fields)
		fields[0].Name, fields[0].Key = name, fields[0].ID()
		v, err := schema.VersionOf(&crdt.Schema{ID: s.ID, Parent: s.ID, Name: s.Name, Fields: fields, Policy: s.Policy})
		if err != nil {
			t.Fatal(err)
		}
		def, err := schema.EncodeVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		return v, def
	}
	a := newAttacker(t, s.ID.String())
	serve := a.serveVersions()
	a.join(t, n)
	for i, key := range []ed25519.PrivateKey{a.key, otherKey} { // a stranger, a reader
		v, def := version(fmt.Sprint("heading", i))
		serve(v.Version, def)
		b, err := crdt.NewGenesis(v, map[string]any{"title": "not a writer"}, nil, nonceOf(fmt.Sprint("not a writer ", i)), key)
		if err != nil {
			t.Fatal(err)
		}
		before := n.Metrics()
		if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
			t.Fatal(err)
		}
		nodetest.Eventually(t, 20*time.Second, func() error {
			if now := n.Metrics(); now.PolicyRejects == before.PolicyRejects {
				return fmt.Errorf("the block was not refused: %+v", now)
			}
			return nil
		})
		if got := docs[0].Versions(); slices.Contains(got, v.Version.String()) {
			t.Fatalf("the node took the version of a key that may not write: %v", got)
		}
	}
	// By catch-up, from the reader's node.
	hv, err := docs[1].Patch(ctx, `type Doc { heading: String @rename(from: "title") }`)
	if err != nil {
		t.Fatal(err)
	}
	b := &crdt.Block{Schema: s.ID, Version: cid.MustParse(hv.Version), Height: 1, Nonce: nonceOf("by catch-up"),
		Set: map[string]any{"title": "by catch-up"}}
	if err := b.Sign(otherKey); err != nil {
		t.Fatal(err)
	}
	if err := gossipdb.StoreGeneses(h, b); err != nil {
		t.Fatal(err)
	}
	before := n.Metrics()
	nodetest.Connect(t, n, h)
	nodetest.Eventually(t, 20*time.Second, func() error {
		if now := n.Metrics(); now.PolicyRejects == before.PolicyRejects {
			return fmt.Errorf("the block was not refused: %+v", now)
		}
		return nil
	})
	if got := docs[0].Versions(); slices.Contains(got, hv.Version) {
		t.Fatalf("the node took, by catch-up, the version of a key that may not write: %v", got)
	}

	// The writer's version is fetched and its block merged.
	v, def := version("writerHeading")
	serve(v.Version, def)
	b, err = crdt.NewGenesis(v, map[string]any{"title": "a writer"}, nil, nonceOf("a writer"), writerKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, docs[0], gossipdb.DocID(b.CID.String()), nil)
	if got := docs[0].Versions(); !slices.Contains(got, v.Version.String()) {
		t.Fatalf("the writer's version is not known: %v", got)
	}
}
