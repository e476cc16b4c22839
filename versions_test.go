package gossipdb_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// The versions of the Item collection the tests move through: v2 adds a field
// with a default and renames one, v3 drops one.
const (
	itemV1 = `type Item { name: String title: String count: Int @crdt(type: pncounter) note: String }`
	itemV2 = `type Item { name: String heading: String @rename(from: "title") count: Int @crdt(type: pncounter)
		note: String color: String @default(string: "grey") }`
	itemV3 = `type Item { name: String heading: String count: Int @crdt(type: pncounter) color: String @default(string: "grey") }`
)

func patch(t testing.TB, c *gossipdb.Collection, sdl string) *gossipdb.PatchResult {
	t.Helper()
	res, err := c.Patch(context.Background(), sdl)
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	return res
}

// converged waits until every collection has the same fingerprint (the same
// merged state, byte for byte) and cond holds.
func converged(t testing.TB, cs []*gossipdb.Collection, cond func() error) {
	t.Helper()
	ctx := context.Background()
	nodetest.Eventually(t, 60*time.Second, func() error {
		want, err := cs[0].Fingerprint(ctx)
		if err != nil {
			return err
		}
		for i, c := range cs[1:] {
			if got, err := c.Fingerprint(ctx); err != nil || got != want {
				return fmt.Errorf("node %d differs from node 0 (%v)", i+1, err)
			}
		}
		if cond != nil {
			return cond()
		}
		return nil
	})
}

func fieldNames(d *gossipdb.Document) string {
	return strings.Join(slices.Sorted(maps.Keys(d.Fields)), ",")
}

// TestThreeVersionsSync: three nodes on v1, v2 and v3 of one collection write
// concurrently to the same documents. Every change reaches every node, the
// merged states are byte-identical, each node reads through its own version,
// and the v1 node, moved to v3, shows what it carried all along.
func TestThreeVersionsSync(t *testing.T) {
	ctx := context.Background()
	ns := make([]*gossipdb.Node, 3)
	var logs nodetest.LogBuffer
	for i := range ns {
		opts := &gossipdb.Options{SyncInterval: time.Hour}
		if i == 0 {
			opts.Logger = logs.Logger()
		}
		ns[i] = nodetest.Open(t, "", opts)
	}
	cs := nodetest.AddCollection(t, itemV1, ns...)
	v2 := patch(t, cs[1], itemV2)
	patch(t, cs[2], itemV2)
	v3 := patch(t, cs[2], itemV3)
	if v2.Diff == nil || strings.Join(v3.Diff, "; ") != `field "note": dropped` {
		t.Fatalf("diffs: v2 %q, v3 %q", v2.Diff, v3.Diff)
	}
	if cs[1].Version() != v2.Version || cs[2].Version() != v3.Version || cs[0].Version() != cs[0].SchemaID() {
		t.Fatalf("versions %s %s %s", cs[0].Version(), cs[1].Version(), cs[2].Version())
	}
	for i, n := range ns {
		nodetest.Subscribe(t, "Item", n)
		if cs[i].SchemaID() != cs[0].SchemaID() {
			t.Fatalf("node %d: schema ID changed by a patch", i)
		}
	}
	nodetest.Connect(t, ns[0], ns[1])
	nodetest.Connect(t, ns[1], ns[2])
	nodetest.Connect(t, ns[0], ns[2])
	for i, n := range ns {
		var others []*gossipdb.Node
		for j, o := range ns {
			if j != i {
				others = append(others, o)
			}
		}
		nodetest.WaitTopicPeers(t, n, "Item", others...)
	}

	// Each node creates documents; then all write to all of them at once.
	const perNode, writes = 4, 40
	var ids []gossipdb.DocID
	for i, c := range cs {
		for d := range perNode {
			fields := map[string]any{"name": fmt.Sprintf("n%d-%d", i, d)}
			id, err := c.Create(ctx, fields)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	converged(t, cs, func() error {
		for _, c := range cs {
			for _, id := range ids {
				if _, err := c.Get(ctx, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	seed := nodetest.Seed(t)
	counts := make([]int64, len(ids))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for w := range writes {
				d := rng.IntN(len(ids) - 1) // the last document keeps only its creation
				fields := map[string]any{"count": 1}
				switch i {
				case 0:
					fields["title"] = fmt.Sprintf("v1-%d", w)
					fields["note"] = fmt.Sprintf("note-%d", w)
				case 1:
					fields["heading"] = fmt.Sprintf("v2-%d", w)
					fields["color"] = fmt.Sprintf("c2-%d", w)
				case 2:
					fields["heading"] = fmt.Sprintf("v3-%d", w)
					fields["color"] = fmt.Sprintf("c3-%d", w)
				}
				if err := c.Update(ctx, ids[d], fields); err != nil {
					t.Errorf("node %d: %v", i, err)
					return
				}
				mu.Lock()
				counts[d]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	converged(t, cs, nil)

	for d, id := range ids {
		var docs [3]*gossipdb.Document
		for i, c := range cs {
			doc, err := c.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			docs[i] = doc
		}
		if got := fieldNames(docs[0]); got != "count,name,note,title" {
			t.Errorf("v1 reads fields %s", got)
		}
		if got := fieldNames(docs[1]); got != "color,count,heading,name,note" {
			t.Errorf("v2 reads fields %s", got)
		}
		if got := fieldNames(docs[2]); got != "color,count,heading,name" {
			t.Errorf("v3 reads fields %s", got)
		}
		for i, doc := range docs {
			if doc.Fields["count"] != counts[d] {
				t.Errorf("doc %d on node %d: count %v, want %d", d, i, doc.Fields["count"], counts[d])
			}
		}
		if docs[0].Fields["title"] != docs[1].Fields["heading"] || docs[1].Fields["heading"] != docs[2].Fields["heading"] {
			t.Errorf("doc %d: renamed field differs: %v %v %v", d, docs[0].Fields["title"], docs[1].Fields["heading"], docs[2].Fields["heading"])
		}
		if docs[1].Fields["color"] != docs[2].Fields["color"] || docs[1].Fields["note"] != docs[0].Fields["note"] {
			t.Errorf("doc %d: fields differ between versions", d)
		}
		if d == len(ids)-1 && (docs[1].Fields["color"] != "grey" || docs[0].Fields["count"] != int64(0)) {
			t.Errorf("untouched doc reads color %v and count %v, want the default and 0", docs[1].Fields["color"], docs[0].Fields["count"])
		}
	}

	// The v1 node learned v2 and v3 from the blocks; moved to v3 it shows the
	// colors it had been carrying.
	if got := strings.Join(cs[0].Versions(), ","); !strings.Contains(got, v2.Version) || !strings.Contains(got, v3.Version) {
		t.Fatalf("v1 node knows versions %s", got)
	}
	for _, v := range []string{v2.Version, v3.Version} {
		if !strings.Contains(logs.String(), `msg="Added collection version" collection=Item version=`+v) {
			t.Errorf("node 0 did not log that it added version %s", v)
		}
	}
	if _, err := cs[0].UseVersion(ctx, v3.Version); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		a, _ := cs[0].Get(ctx, id)
		c, _ := cs[2].Get(ctx, id)
		if !maps.Equal(a.Fields, c.Fields) {
			t.Errorf("doc %s: after moving to v3, node 0 reads %v, node 2 %v", id, a.Fields, c.Fields)
		}
	}
	for i, n := range ns {
		st, err := n.SyncStatus("Item")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Versions) != 0 {
			t.Errorf("node %d: versions not accepted: %+v", i, st.Versions)
		}
	}
}

// TestRenamedFieldMergesAsOne: writes under a field's old name and under its
// new name are writes to one field.
func TestRenamedFieldMergesAsOne(t *testing.T) {
	ctx := context.Background()
	a := nodetest.Open(t, "", &gossipdb.Options{SyncInterval: time.Hour})
	b := nodetest.Open(t, "", &gossipdb.Options{SyncInterval: time.Hour})
	cs := nodetest.AddCollection(t, itemV1, a, b)
	patch(t, cs[1], itemV2)
	nodetest.Subscribe(t, "Item", a, b)
	id, err := cs[0].Create(ctx, map[string]any{"title": "first"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, a, b)
	converged(t, cs, func() error { _, err := cs[1].Get(ctx, id); return err })
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := cs[0].Update(ctx, id, map[string]any{"title": fmt.Sprint("old-", i)}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := cs[1].Update(ctx, id, map[string]any{"heading": fmt.Sprint("new-", i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	converged(t, cs, nil)
	da, _ := cs[0].Get(ctx, id)
	db, _ := cs[1].Get(ctx, id)
	if da.Fields["title"] != db.Fields["heading"] || da.Fields["title"] == nil {
		t.Fatalf("old name reads %v, new name %v", da.Fields["title"], db.Fields["heading"])
	}
	if _, ok := db.Fields["title"]; ok {
		t.Errorf("v2 still shows the old name")
	}
}

// TestRestartWithPatchedVersion: a node restarted after a patch keeps its
// version, documents, IDs and subscriptions, and its peer notices nothing.
func TestRestartWithPatchedVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	port := freePort(t)
	opts := func() *gossipdb.Options {
		return &gossipdb.Options{ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}}
	}
	a, err := gossipdb.Open(dir, opts())
	if err != nil {
		t.Fatal(err)
	}
	peer := nodetest.Open(t, "", nil)
	cs := nodetest.AddCollection(t, itemV1, a, peer)
	nodetest.Subscribe(t, "Item", a, peer)
	nodetest.Connect(t, peer, a)
	id, err := cs[0].Create(ctx, map[string]any{"title": "t", "count": 2})
	if err != nil {
		t.Fatal(err)
	}
	v2 := patch(t, cs[0], itemV2)
	converged(t, cs, func() error { _, err := cs[1].Get(ctx, id); return err })
	before, _ := cs[0].Fingerprint(ctx)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	a = nodetest.Open(t, dir, opts())
	c, err := a.Collection("Item")
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != v2.Version || c.SchemaID() != cs[1].SchemaID() {
		t.Fatalf("after restart: version %s (want %s), schema ID %s", c.Version(), v2.Version, c.SchemaID())
	}
	if after, _ := c.Fingerprint(ctx); after != before {
		t.Errorf("restart changed the state")
	}
	if subs := a.Subscriptions(); len(subs) != 1 || subs[0] != "Item" {
		t.Errorf("subscriptions %v", subs)
	}
	doc, err := c.Get(ctx, id)
	if err != nil || doc.Fields["heading"] != "t" || doc.Fields["color"] != "grey" || doc.Fields["count"] != int64(2) {
		t.Fatalf("document after restart: %v, %v", doc, err)
	}
	nodetest.Connect(t, peer, a)
	if err := c.Update(ctx, id, map[string]any{"heading": "from v2", "color": "red"}); err != nil {
		t.Fatal(err)
	}
	id2, err := cs[1].Create(ctx, map[string]any{"title": "from v1"})
	if err != nil {
		t.Fatal(err)
	}
	converged(t, []*gossipdb.Collection{c, cs[1]}, func() error {
		d, err := cs[1].Get(ctx, id)
		if err != nil || d.Fields["title"] != "from v2" {
			return fmt.Errorf("peer reads %v (%v)", d, err)
		}
		_, err = c.Get(ctx, id2)
		return err
	})
}

// TestOversizedDefinitionRefused: a patch whose version would encode in more
// than a definition may take (a long default), or a collection whose first
// version would (many long relation fields), fails with ErrInvalid and
// changes nothing; the node, closed and opened again, reads through its
// version as before. (Such a definition, once stored, could be decoded
// neither by the node when it opens nor by its peers.)
func TestOversizedDefinitionRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := nodetest.AddCollection(t, itemV1, n)[0]
	id, err := c.Create(ctx, map[string]any{"title": "t"})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", schema.MaxEncodedSize)
	_, err = c.Patch(ctx, `type Item { name: String title: String count: Int @crdt(type: pncounter) note: String @default(string: "`+long+`") }`)
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "more than the limit") {
		t.Fatalf("patch with a default of %d bytes: %v", len(long), err)
	}
	typ := "T" + strings.Repeat("t", schema.MaxNameLength-1)
	var sdl strings.Builder
	sdl.WriteString("type " + typ + " {")
	for i := range schema.MaxFields {
		fmt.Fprintf(&sdl, " f%03d%s: %s", i, strings.Repeat("x", schema.MaxNameLength-4), typ)
	}
	sdl.WriteString(" }")
	if _, err := n.AddCollection(ctx, sdl.String()); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "more than the limit") {
		t.Fatalf("collection of 256 long relation fields: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n = nodetest.Open(t, dir, nil)
	c, err = n.Collection("Item")
	if err != nil {
		t.Fatal(err)
	}
	if c.Version() != c.SchemaID() || len(c.Versions()) != 1 || len(n.Collections()) != 1 {
		t.Fatalf("after the refusals: version %s of %v, %d collections", c.Version(), c.Versions(), len(n.Collections()))
	}
	if d, err := c.Get(ctx, id); err != nil || d.Fields["title"] != "t" || d.Fields["note"] != nil {
		t.Fatalf("document: %v, %v", d, err)
	}
}

// TestAddCollectionOfChangedDefinition: AddCollection accepts the SDL of the
// first or active version and refuses another, saying to patch.
func TestAddCollectionOfChangedDefinition(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, itemV1, n)[0]
	patch(t, c, itemOther)
	for _, sdl := range []string{itemV1, itemOther} {
		if _, err := n.AddCollection(ctx, sdl); err != nil {
			t.Errorf("AddCollection(%s): %v", sdl, err)
		}
	}
	_, err := n.AddCollection(ctx, `type Item { name: Int }`)
	if !errors.Is(err, gossipdb.ErrSchemaConflict) || !strings.Contains(err.Error(), "collection patch") {
		t.Fatalf("AddCollection of a changed definition: %v", err)
	}
	_, err = c.Patch(ctx, `type Item { name: Int title: String count: Int @crdt(type: pncounter) }`)
	var se *gossipdb.SchemaError
	if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &se) || se.Field != "name" || !strings.Contains(se.Msg, "add a new field instead") {
		t.Fatalf("refused patch: %v", err)
	}
	if _, err := c.UseVersion(ctx, c.SchemaID()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UseVersion(ctx, "bafyreigarbage"); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("UseVersion of a malformed ID: %v", err)
	}
}

// itemOther is another version of v1: it drops note and adds color.
const itemOther = `type Item { name: String title: String count: Int @crdt(type: pncounter) color: String }`

// TestHostileVersionDefinitions: a peer whose blocks name a version it serves
// malformed, conflicting with the collection, or not at all as named is not
// believed: the version is reported in SyncStatus (and, when the definition
// itself is invalid, logged at Warn), the blocks are not merged, and the
// collection keeps syncing with the honest peer.
func TestHostileVersionDefinitions(t *testing.T) {
	ctx := context.Background()
	s := userSchema(t)
	conflicting, err := schema.VersionOf(&crdt.Schema{ID: s.ID, Parent: s.ID, Name: "User", Fields: []crdt.Field{
		{Name: "age", Key: "age", Kind: crdt.KindString}, // age is an Int in the root
		{Name: "name", Key: "name", Kind: crdt.KindString},
	}})
	if err != nil {
		t.Fatal(err)
	}
	conflictingDef, err := schema.EncodeVersion(conflicting)
	if err != nil {
		t.Fatal(err)
	}
	malformed := []byte("not a definition")
	for _, tc := range []struct {
		mode    string
		def     []byte  // what the attacker serves
		version cid.Cid // what its block names
		refused bool
	}{
		{"malformed", malformed, mustSum(t, malformed), true},
		{"conflicting", conflictingDef, conflicting.Version, true},
		{"lying", conflictingDef, mustSum(t, []byte("another definition")), false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			var logs nodetest.LogBuffer
			n1 := nodetest.Open(t, "", nil)
			n2 := nodetest.Open(t, "", &gossipdb.Options{Logger: logs.Logger()})
			users := nodetest.AddUser(t, n1, n2)
			nodetest.Subscribe(t, "User", n2)
			nodetest.Connect(t, n1, n2)
			honest, err := users[0].Create(ctx, map[string]any{"name": "honest"})
			if err != nil {
				t.Fatal(err)
			}
			waitDoc(t, users[1], honest, nil)

			a := newAttacker(t, s.ID.String())
			a.h.SetStreamHandler(versions.ProtocolID, func(st network.Stream) {
				defer st.Close()
				r := bufio.NewReader(st)
				size, err := binary.ReadUvarint(r)
				if err != nil || size > 1<<10 {
					st.Reset()
					return
				}
				if _, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
					return
				}
				st.Write(frames(tc.def))
			})
			a.join(t, n2)
			g := encoded(t, &crdt.Block{Schema: s.ID, Version: tc.version, Height: 1, Nonce: make([]byte, 16),
				Set: map[string]any{"name": "hostile"}})
			if err := a.topic.Publish(ctx, frames(g.Data)); err != nil {
				t.Fatal(err)
			}
			nodetest.Eventually(t, 15*time.Second, func() error {
				st, err := n2.SyncStatus("User")
				if err != nil {
					return err
				}
				if len(st.Versions) != 1 || st.Versions[0].Version != tc.version.String() ||
					st.Versions[0].Refused != tc.refused || st.Versions[0].Peer != a.h.ID().String() {
					return fmt.Errorf("SyncStatus.Versions = %+v", st.Versions)
				}
				return nil
			})
			if tc.refused && !strings.Contains(logs.String(), "level=WARN msg=\"Refused collection version\"") {
				t.Errorf("no warning logged:\n%s", logs.String())
			}
			if err := users[0].Update(ctx, honest, map[string]any{"name": "still flowing"}); err != nil {
				t.Fatal(err)
			}
			waitDoc(t, users[1], honest, map[string]any{"name": "still flowing"})
			if _, err := users[1].Get(ctx, gossipdb.DocID(g.CID.String())); !errors.Is(err, gossipdb.ErrNotFound) {
				t.Errorf("the hostile block's document: %v", err)
			}
		})
	}
}

func mustSum(t testing.TB, data []byte) cid.Cid {
	t.Helper()
	c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.SHA2_256}.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUnansweredVersionsStayWithinBounds: a peer that floods blocks naming
// versions it never serves ties up at most a few definition fetches; the rest
// of its messages are dropped (and counted), and honest changes keep flowing.
func TestUnansweredVersionsStayWithinBounds(t *testing.T) {
	ctx := context.Background()
	s := userSchema(t)
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	honest, err := users[0].Create(ctx, map[string]any{"name": "honest"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], honest, nil)

	// Its queue to the victim holds the whole flood: publishing unsigned
	// messages is faster than the connection drains them.
	a := newAttacker(t, s.ID.String(), pubsub.WithPeerOutboundQueueSize(64))
	stalled := make(chan struct{})
	t.Cleanup(func() { close(stalled) })
	a.h.SetStreamHandler(versions.ProtocolID, func(st network.Stream) {
		defer st.Reset()
		<-stalled // never answers
	})
	a.join(t, n2)
	before := n2.Metrics().DroppedMessages
	const flood = 40
	for i := range flood {
		g := encoded(t, &crdt.Block{Schema: s.ID, Version: mustSum(t, fmt.Appendf(nil, "version %d", i)), Height: 1,
			Nonce: make([]byte, 16), Set: map[string]any{"name": "x"}})
		if err := a.topic.Publish(ctx, frames(g.Data)); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Eventually(t, 15*time.Second, func() error {
		if got := n2.Metrics().DroppedMessages - before; got < flood-4 {
			return fmt.Errorf("%d of the %d messages beyond the fetches dropped", got, flood-4)
		}
		return nil
	})
	if err := users[0].Update(ctx, honest, map[string]any{"name": "still flowing"}); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], honest, map[string]any{"name": "still flowing"})
}

// TestStalledVersionFetchesRefuseNoHonestBlock: while a peer keeps every
// definition fetch a node may run waiting on versions it never sends, an
// honest peer's blocks under a new version are not refused for their schema
// (the version could not be fetched yet: nothing is wrong with them), and
// arrive once the stalled fetches time out.
func TestStalledVersionFetchesRefuseNoHonestBlock(t *testing.T) {
	// Long enough for the honest block, and the catch-up its drop starts, to
	// meet the stalled fetches; versions.Timeout is 10 s.
	const stall = 3 * time.Second
	ctx := context.Background()
	_, n2, users := writerAndVictim(t, &gossipdb.Options{SyncInterval: time.Second})

	gossipdb.SetVersionFetchTimeout(n2, stall)
	stallVersionFetches(t, n2)
	start, dropped := time.Now(), n2.Metrics().DroppedMessages

	patch(t, users[0], `type User { name: String age: Int verified: Boolean points: Float email: String }`)
	id, err := users[0].Create(ctx, map[string]any{"name": "honest", "email": "h@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// Node 2 drops the honest block while the fetches stall, and catches up
	// with node 1, which brings it again, meanwhile.
	nodetest.Eventually(t, stall, func() error {
		if got := n2.Metrics().DroppedMessages; got == dropped {
			return errors.New("node 2 did not drop the block under the new version")
		}
		return nil
	})
	if took := time.Since(start); took >= stall/2 {
		t.Fatalf("the honest block took %v to reach node 2: the stall of %v may have ended before catch-up brought it", took, stall)
	}
	// The version arrives once the stalled fetches time out.
	nodetest.Eventually(t, 5*stall, func() error {
		_, err := users[1].Get(ctx, id)
		return err
	})
	if got := n2.Metrics().SchemaRejects; got != 0 {
		t.Errorf("%d blocks refused for their schema, want 0: the honest blocks' version could not be fetched yet", got)
	}
}

// writerAndVictim opens node 1, the honest writer, and node 2, opened with
// opts, whose definition fetches the tests stall; both hold the collection
// User and subscribe to it, connected, node 2 with node 1 in its topic.
func writerAndVictim(t *testing.T, opts *gossipdb.Options) (n1, n2 *gossipdb.Node, users []*gossipdb.Collection) {
	t.Helper()
	n1 = nodetest.Open(t, "", nil)
	n2 = nodetest.Open(t, "", opts)
	users = nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n2, "User", n1)
	return n1, n2, users
}

// historyUnderStalledVersion has the writer's users create a document under
// a new version, which victim, its definition fetches stalled, drops, then
// update it under the old version: on victim the update is an orphan whose
// history fetch brings the first block, whose version cannot be fetched
// yet. It returns the document's ID; its fields are then name "honest" and
// age 7.
func historyUnderStalledVersion(t *testing.T, victim *gossipdb.Node, users *gossipdb.Collection) gossipdb.DocID {
	t.Helper()
	ctx := context.Background()
	dropped := victim.Metrics().DroppedMessages
	v1 := patch(t, users, `type User { name: String age: Int verified: Boolean points: Float email: String }`).Parent
	id, err := users.Create(ctx, map[string]any{"name": "honest", "email": "h@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if got := victim.Metrics().DroppedMessages; got == dropped {
			return errors.New("the victim did not drop the block under the new version")
		}
		return nil
	})
	if _, err := users.UseVersion(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if err := users.Update(ctx, id, map[string]any{"age": 7}); err != nil {
		t.Fatal(err)
	}
	return id
}

// stallVersionFetches has an attacker join victim and take every definition
// fetch the victim may run (maxVersionFetches, 4) with blocks under versions
// it never sends: it answers none of them until release is called, or the
// test ends. The attacker refuses every request for history as busy.
func stallVersionFetches(t *testing.T, victim *gossipdb.Node) (release func()) {
	t.Helper()
	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	a.refuseFetches()
	stalled := make(chan struct{})
	release = sync.OnceFunc(func() { close(stalled) })
	t.Cleanup(release)
	a.h.SetStreamHandler(versions.ProtocolID, func(st network.Stream) {
		defer st.Reset()
		<-stalled // answers nothing
	})
	a.join(t, victim)
	for i := range 8 {
		g := encoded(t, &crdt.Block{Schema: s.ID, Version: mustSum(t, fmt.Appendf(nil, "version %d", i)), Height: 1,
			Nonce: make([]byte, 16), Set: map[string]any{"name": "x"}})
		if err := a.topic.Publish(context.Background(), frames(g.Data)); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if got := victim.Metrics().DroppedMessages; got < 4 {
			return fmt.Errorf("%d messages beyond the fetches dropped, want 4", got)
		}
		return nil
	})
	return release
}

// TestStalledVersionFetchesGiveUpNoHonestHistory: while a peer keeps every
// definition fetch a node may run waiting, the history fetch of an honest
// author's change, whose history has a block under a version the node
// cannot fetch yet, waits as for a busy peer rather than giving the document
// up (which counts against the author): once the fetches are free, the
// history arrives, and nothing was given up.
func TestStalledVersionFetchesGiveUpNoHonestHistory(t *testing.T) {
	n1, n2, users := writerAndVictim(t, nil)
	writer, err := peer.Decode(n1.ID())
	if err != nil {
		t.Fatal(err)
	}
	release := stallVersionFetches(t, n2)

	id := historyUnderStalledVersion(t, n2, users[0])
	// The fetch asks node 1 and the attacker (busy) once, then again: or it
	// gives the document up.
	nodetest.Eventually(t, 10*time.Second, func() error {
		if m := n2.Metrics(); m.DroppedOrphans == 0 && m.FailedFetches < 4 {
			return fmt.Errorf("%d failed fetch attempts, want 4", m.FailedFetches)
		}
		return nil
	})
	release()
	waitDoc(t, users[1], id, map[string]any{"name": "honest", "age": int64(7)})
	m := n2.Metrics()
	if m.DroppedOrphans != 0 {
		t.Errorf("node 2 gave up on %d documents, want 0: the honest history's version could not be fetched yet", m.DroppedOrphans)
	}
	if got := gossipdb.Standing(n2, writer); got != 0 {
		t.Errorf("node 2 holds %v points against the honest writer", got)
	}
}

// TestStalledVersionFetchesOutlastNoHonestHistory: when the definition
// fetches a node may run stay taken longer than a history fetch asks again
// (they began shortly before it, and a stalled one times out only after
// versions.Timeout), the fetch lets the document's orphans go, but holds
// nothing against their honest author: another peer kept the version from
// being fetched. Catch-up brings the document once the version can be
// fetched.
func TestStalledVersionFetchesOutlastNoHonestHistory(t *testing.T) {
	n1, n2, users := writerAndVictim(t, &gossipdb.Options{SyncInterval: time.Second})
	writer, err := peer.Decode(n1.ID())
	if err != nil {
		t.Fatal(err)
	}
	// The history fetch asks again for 0.63 s in all, while the stalled
	// definition fetches last versions.Timeout.
	gossipdb.SetFetchBackoff(n2, 10*time.Millisecond)
	release := stallVersionFetches(t, n2)

	id := historyUnderStalledVersion(t, n2, users[0])
	nodetest.Eventually(t, versions.Timeout/2, func() error {
		if n2.Metrics().DroppedOrphans == 0 {
			return errors.New("node 2 still waits for the history")
		}
		return nil
	})
	if got := gossipdb.GivenUp(n2, writer); got != 0 {
		t.Errorf("node 2 holds %v points against the honest writer", got)
	}
	release()
	waitDoc(t, users[1], id, map[string]any{"name": "honest", "age": int64(7)})
	if got := gossipdb.GivenUp(n2, writer); got != 0 {
		t.Errorf("after catch-up, node 2 holds %v points against the honest writer", got)
	}
}

// TestExcusedHistoryComesSoonAfterStall: once a history fetch has let a
// document's orphans go because other peers kept a version of its history
// from being fetched, the catch-up that the drop starts fails too while
// those fetches stall; catch-up asks again, a few seconds apart at most, and
// brings the document soon after the stall ends, not at the next periodic
// catch-up (SyncInterval, here long enough that the test would time out).
func TestExcusedHistoryComesSoonAfterStall(t *testing.T) {
	ctx := context.Background()
	const interval = 10 * time.Minute
	n1, n2, users := writerAndVictim(t, &gossipdb.Options{SyncInterval: interval})
	// The follow-ups of the subscription and the connection (4 s at most)
	// run first: none of them may be what brings the document.
	nodetest.Eventually(t, 15*time.Second, func() error {
		if next := time.Until(gossipdb.NextCatchUp(n2)); next < interval/2 {
			return fmt.Errorf("node 2 catches up of its own accord in %v", next)
		}
		return nil
	})
	gossipdb.SetFetchBackoff(n2, 10*time.Millisecond) // 0.63 s of retries, well within the stall
	// The stalled fetches last until release, however slow the set-up
	// below; catch-up then asks again at most stall/2 apart.
	const stall = 30 * time.Second
	gossipdb.SetVersionFetchTimeout(n2, stall)
	release := stallVersionFetches(t, n2)

	id := historyUnderStalledVersion(t, n2, users[0])
	var waiting time.Time // when node 2 was last seen waiting for the history
	nodetest.Eventually(t, versions.Timeout/2, func() error {
		now := time.Now()
		if n2.Metrics().DroppedOrphans == 0 {
			waiting = now
			return errors.New("node 2 still waits for the history")
		}
		return nil
	})
	// The catch-up with node 1 that the drop started cannot fetch the
	// version either. (The one that the drop of the first block started
	// began before the history fetch's 0.63 s of retries.)
	nodetest.Eventually(t, versions.Timeout/2, func() error {
		st, err := n2.SyncStatus("User")
		if err != nil {
			return err
		}
		for _, p := range st.Peers {
			if p.Peer == n1.ID() && p.Started.After(waiting) && !p.Finished.IsZero() && p.Err != "" {
				t.Logf("catch-up with node 1 failed: %s", p.Err)
				return nil
			}
		}
		return errors.New("no catch-up with node 1 has failed since the drop")
	})
	if _, err := users[1].Get(ctx, id); err == nil {
		t.Fatal("node 2 holds the document while the version fetches stall")
	}
	release()
	// Well within SyncInterval: the document must come from catch-up asked
	// again, not from the periodic one.
	nodetest.Eventually(t, stall, func() error {
		d, err := users[1].Get(ctx, id)
		if err != nil {
			return err
		}
		if d.Fields["name"] != "honest" || d.Fields["age"] != int64(7) {
			return fmt.Errorf("node 2 has %v, want name honest and age 7", d.Fields)
		}
		want, err := users[0].Fingerprint(ctx)
		if err != nil {
			return err
		}
		if got, err := users[1].Fingerprint(ctx); err != nil || got != want {
			return fmt.Errorf("node 2 differs from node 1 (%v)", err)
		}
		return nil
	})
}

// syncAsync runs n's Sync of User, bounded by a minute, and returns the
// channel its error comes on.
func syncAsync(n *gossipdb.Node) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := n.Sync(ctx, "User")
		done <- err
	}()
	return done
}

// waitUnfetchedSession waits until n's session of User with p, begun
// after since, has failed for want of a collection version.
func waitUnfetchedSession(t *testing.T, n, p *gossipdb.Node, since time.Time) {
	t.Helper()
	nodetest.Eventually(t, 30*time.Second, func() error {
		st, err := n.SyncStatus("User")
		if err != nil {
			return err
		}
		for _, s := range st.Peers {
			if s.Peer == p.ID() && s.Started.After(since) && strings.Contains(s.Err, "unknown collection version") {
				t.Logf("catch-up with %s failed: %s", p.ID(), s.Err)
				return nil
			}
		}
		return fmt.Errorf("no session with %s has lacked a version since %v: %+v", p.ID(), since.Format(time.StampMilli), st.Peers)
	})
}

// TestSyncWaitsOutStalledVersionFetches: a Sync whose session fails for
// want of a collection version that another peer keeps from being fetched
// waits for the session catch-up asks for again, as for a busy peer: once
// the stall ends, within the wait, Sync returns in sync, the document there.
func TestSyncWaitsOutStalledVersionFetches(t *testing.T) {
	ctx := context.Background()
	n1, n2, users := writerAndVictim(t, nil)
	gossipdb.SetVersionFetchTimeout(n2, 30*time.Second) // the stall lasts until release
	release := stallVersionFetches(t, n2)
	id := historyUnderStalledVersion(t, n2, users[0])

	began := time.Now()
	done := syncAsync(n2)
	waitUnfetchedSession(t, n2, n1, began)
	release()
	if err := <-done; err != nil {
		t.Fatalf("Sync through a stall of the version fetches that ended: %v", err)
	}
	t.Logf("Sync returned %v after it began", time.Since(began).Round(time.Millisecond))
	d, err := users[1].Get(ctx, id)
	if err != nil {
		t.Fatalf("after Sync node 2 lacks the document: %v", err)
	}
	if d.Fields["name"] != "honest" || d.Fields["age"] != int64(7) {
		t.Fatalf("after Sync node 2 has %v, want name honest and age 7", d.Fields)
	}
}

// TestSyncReportsVersionFetchesStalledThroughout: a Sync whose sessions
// fail for want of a collection version that another peer keeps from being
// fetched for longer than Sync's wait returns ErrSync naming the peer, once
// the wait has passed.
func TestSyncReportsVersionFetchesStalledThroughout(t *testing.T) {
	ctx := context.Background()
	n1, n2, users := writerAndVictim(t, nil)
	gossipdb.SetVersionFetchTimeout(n2, 30*time.Second) // the stall lasts until the test ends
	const wait = 2 * time.Second
	gossipdb.SetSyncUnfetchedWait(n2, wait)
	stallVersionFetches(t, n2)
	id := historyUnderStalledVersion(t, n2, users[0])

	began := time.Now()
	err := <-syncAsync(n2)
	took := time.Since(began)
	t.Logf("Sync through a stall that outlasts its wait returned after %v: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, gossipdb.ErrSync) || !strings.Contains(err.Error(), n1.ID()) || !strings.Contains(err.Error(), "unknown collection version") {
		t.Fatalf("Sync: %v, want ErrSync naming %s and the version it lacks", err, n1.ID())
	}
	if took < wait {
		t.Errorf("Sync returned %v after it began, before its wait of %v: it did not wait for catch-up to ask again", took, wait)
	}
	if _, err := users[1].Get(ctx, id); err == nil {
		t.Error("node 2 holds the document while the version fetches stall")
	}
}

// TestSyncReportsAVersionItsPeerWithholds: a Sync whose session fails
// because its own peer does not send a collection version it was asked for
// returns ErrSync at once: catch-up does not ask that session again soon,
// and Sync does not wait for it.
func TestSyncReportsAVersionItsPeerWithholds(t *testing.T) {
	ctx := context.Background()
	n1, n2, users := writerAndVictim(t, nil)
	gossipdb.StallVersions(n1)
	gossipdb.SetVersionFetchTimeout(n2, time.Second)
	const wait = time.Minute
	gossipdb.SetSyncUnfetchedWait(n2, wait)
	patch(t, users[0], `type User { name: String age: Int verified: Boolean points: Float email: String }`)
	if _, err := users[0].Create(ctx, map[string]any{"name": "withheld"}); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	err := <-syncAsync(n2)
	took := time.Since(began)
	t.Logf("Sync with a peer that withholds a version returned after %v: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, gossipdb.ErrSync) || !strings.Contains(err.Error(), n1.ID()) || !strings.Contains(err.Error(), "unknown collection version") {
		t.Fatalf("Sync: %v, want ErrSync naming %s and the version it lacks", err, n1.ID())
	}
	if took >= wait/2 {
		t.Errorf("Sync returned %v after it began: it waited for its peer to send the version", took)
	}
}

// TestUnservedVersionGivesUpItsAuthor: an author whose history names a
// version it does not send when asked is given up on, as one that does not
// send the history: only a version that other peers keep from being fetched
// excuses the author.
func TestUnservedVersionGivesUpItsAuthor(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	nodetest.AddUser(t, n)
	nodetest.Subscribe(t, "User", n)
	gossipdb.SetFetchBackoff(n, 10*time.Millisecond) // 0.63 s of retries, not 6.3 s
	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	signed := func(b *crdt.Block) *crdt.Block {
		if err := b.Sign(a.key); err != nil {
			t.Fatal(err)
		}
		return b
	}
	g := signed(&crdt.Block{Schema: s.ID, Version: mustSum(t, []byte("a version nobody sends")), Height: 1,
		Nonce: make([]byte, 16), Set: map[string]any{"name": "x"}})
	a.answerFetches(g.Data)
	a.serveVersions() // sends no definition
	a.join(t, n)
	o := signed(&crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: 2, Set: map[string]any{"name": "y"}})
	if err := a.topic.Publish(context.Background(), frames(o.Data)); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if n.Metrics().DroppedOrphans == 0 {
			return errors.New("the node still waits for the history")
		}
		return nil
	})
	if got := gossipdb.GivenUp(n, a.h.ID()); got == 0 {
		t.Errorf("the node holds nothing against the author: a version the author does not send excused it")
	}
}

// TestCatchUpBringsVersions: a node that joins after a peer wrote under a
// version it does not know learns the version through catch-up alone.
func TestCatchUpBringsVersions(t *testing.T) {
	ctx := context.Background()
	var logs nodetest.LogBuffer
	a := nodetest.Open(t, "", &gossipdb.Options{Logger: logs.Logger()})
	b := nodetest.Open(t, "", nil)
	cs := nodetest.AddCollection(t, itemV1, a, b)
	v2 := patch(t, cs[1], itemV2)
	v3 := patch(t, cs[1], itemV3)
	var ids []gossipdb.DocID
	for i := range 50 {
		id, err := cs[1].Create(ctx, map[string]any{"heading": fmt.Sprint("h", i), "color": "red", "count": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	nodetest.Subscribe(t, "Item", a)
	nodetest.Connect(t, a, b)
	nodetest.Eventually(t, 30*time.Second, func() error {
		for i, id := range ids {
			d, err := cs[0].Get(ctx, id)
			if err != nil {
				return err
			}
			if d.Fields["title"] != fmt.Sprint("h", i) || d.Fields["count"] != int64(i) {
				return fmt.Errorf("node a reads %v", d.Fields)
			}
		}
		return nil
	})
	// Fetching v3 brought v2, its parent, along: the log names both.
	for _, v := range []string{v2.Version, v3.Version} {
		if !strings.Contains(logs.String(), `msg="Added collection version" collection=Item version=`+v) {
			t.Errorf("node a did not log that it added version %s", v)
		}
	}
	if _, err := cs[0].UseVersion(ctx, v3.Version); err != nil {
		t.Fatal(err)
	}
	if d, _ := cs[0].Get(ctx, ids[0]); d.Fields["color"] != "red" {
		t.Errorf("after moving to v3, node a reads %v", d.Fields)
	}
}

// TestLongChainSyncs: a node that knows only the root of a collection learns
// a version whose chain of parents is longer than one answer of
// /gossipdb/versions/1 carries, and accepts the blocks that name it.
func TestLongChainSyncs(t *testing.T) {
	ctx := context.Background()
	a := nodetest.Open(t, "", nil)
	b := nodetest.Open(t, "", nil)
	cs := nodetest.AddCollection(t, `type Item { name: String }`, a, b)
	for i := range versions.MaxChain + 6 {
		sdl := `type Item { name: String }`
		if i%2 == 0 {
			sdl = `type Item { name: String extra: Int }`
		}
		patch(t, cs[1], sdl)
	}
	id, err := cs[1].Create(ctx, map[string]any{"name": "deep"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Subscribe(t, "Item", a)
	nodetest.Connect(t, a, b)
	nodetest.Eventually(t, 20*time.Second, func() error {
		_, err := cs[0].Get(ctx, id)
		return err
	})
}

// TestAddCollectionOfSharedShapeIndexesActive: when known versions declare the
// same fields with different identities, the SDL of that shape names the
// fields of the active version, every time, so its @index is on them.
func TestAddCollectionOfSharedShapeIndexesActive(t *testing.T) {
	ctx := context.Background()
	for range 16 {
		n := nodetest.Open(t, "", nil)
		c := nodetest.AddCollection(t, `type T { a: String }`, n)[0]
		root := c.Versions()[0]
		patch(t, c, `type T { b: String @rename(from: "a") }`) // b keeps a's identity
		patch(t, c, `type T { a: String b: String }`)          // a is a new field
		if _, err := c.UseVersion(ctx, root); err != nil {
			t.Fatal(err)
		}
		patch(t, c, `type T { a: String b: String }`) // the same shape; a is the root's a
		if _, err := n.AddCollection(ctx, `type T { a: String @index b: String }`); err != nil {
			t.Fatal(err)
		}
		if ixs := c.Indexes(); len(ixs) != 1 || ixs[0].Fields[0].Field != "a" {
			t.Fatalf("indexes %+v, want one on the active version's a", ixs)
		}
	}
}
