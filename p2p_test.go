package gossipdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// waitDoc waits until c holds document id with the given field values.
func waitDoc(t *testing.T, c *gossipdb.Collection, id gossipdb.DocID, want map[string]any) {
	t.Helper()
	nodetest.Eventually(t, 15*time.Second, func() error {
		d, err := c.Get(context.Background(), id)
		if err != nil {
			return err
		}
		for k, v := range want {
			if d.Fields[k] != v {
				return fmt.Errorf("field %s = %v, want %v", k, d.Fields[k], v)
			}
		}
		return nil
	})
}

// TestEmptyListsAreJSONArrays checks that a running node with no peers and no
// subscriptions lists them as empty slices, which encode as [] rather than null.
func TestEmptyListsAreJSONArrays(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	for name, got := range map[string][]string{"ActivePeers": n.ActivePeers(), "Subscriptions": n.Subscriptions()} {
		data, err := json.Marshal(got)
		if err != nil || string(data) != "[]" {
			t.Errorf("%s of a lone node encodes as %s (%v), want []", name, data, err)
		}
	}
}

// TestSeedWalkthrough follows shared/seed/pubsub-p2p.txt step by step.
func TestSeedWalkthrough(t *testing.T) {
	ctx := context.Background()
	var log2 nodetest.LogBuffer
	dir2 := t.TempDir()
	n1 := nodetest.Open(t, "", nil)
	n2, err := gossipdb.Open(dir2, &gossipdb.Options{Logger: log2.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	users := nodetest.AddUser(t, n1, n2)
	if users[0].SchemaID() != users[1].SchemaID() {
		t.Fatalf("same SDL, different schema IDs: %s, %s", users[0].SchemaID(), users[1].SchemaID())
	}

	// p2p info: full multiaddrs ending in this node's peer ID.
	info := n1.PeerInfo()
	if len(info) == 0 || !strings.HasPrefix(info[0], "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(info[0], "/p2p/"+n1.ID()) {
		t.Fatalf("PeerInfo = %v", info)
	}
	// p2p connect, and the relationship is mutual.
	if err := n2.Connect(ctx, info[0]); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !nodetest.HasPeer(n1, n2) || !nodetest.HasPeer(n2, n1) {
			return fmt.Errorf("active peers: %v / %v", n1.ActivePeers(), n2.ActivePeers())
		}
		return nil
	})
	if got := n2.ActivePeers(); !slices.Contains(got, info[0]) {
		t.Errorf("node 2 active peers %v do not contain node 1's address %s", got, info[0])
	}

	// p2p collection add User on node 2.
	nodetest.Subscribe(t, "User", n2)
	topic := users[1].SchemaID()
	if line := `msg="Adding pubsub topic" PeerID=` + n2.ID() + " Topic=" + topic; !strings.Contains(log2.String(), line) {
		t.Errorf("node 2 log lacks %q:\n%s", line, log2.String())
	}
	if got := n2.Subscriptions(); !slices.Equal(got, []string{"User"}) {
		t.Errorf("Subscriptions = %v", got)
	}
	nodetest.WaitTopicPeers(t, n1, "User", n2)

	// A document created on node 1 reaches node 2, and so do its changes.
	id, err := users[0].Create(ctx, map[string]any{"name": "Ada", "age": 36, "verified": true, "points": 1.5})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, map[string]any{"name": "Ada", "age": int64(36), "verified": true, "points": 1.5})
	if line := `msg="Received new pubsub message" PeerID=` + n2.ID() + " SenderId=" + n1.ID() + " Topic=" + topic; !strings.Contains(log2.String(), line) {
		t.Errorf("node 2 log lacks %q", line)
	}
	if err := users[0].Update(ctx, id, map[string]any{"age": 37}); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, map[string]any{"age": int64(37)})
	gone, err := users[0].Create(ctx, map[string]any{"name": "Gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := users[0].Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 15*time.Second, func() error {
		if _, err := users[1].Get(ctx, gone); !errors.Is(err, gossipdb.ErrDeleted) {
			return fmt.Errorf("deleted document on node 2: %v", err)
		}
		return nil
	})

	// Node 1 is not subscribed: node 2's changes do not reach it until it subscribes.
	if err := users[1].Update(ctx, id, map[string]any{"name": "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	posts := nodetest.AddCollection(t, `type Post { title: String }`, n1, n2)
	nodetest.Subscribe(t, "Post", n1)
	marker, err := posts[1].Create(ctx, map[string]any{"title": "published after the User change"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, posts[0], marker, nil)
	if d, _ := users[0].Get(ctx, id); d.Fields["name"] != "Ada" {
		t.Fatalf("node 1, not subscribed to User, took node 2's change: %v", d.Fields)
	}
	nodetest.Subscribe(t, "User", n1)
	nodetest.WaitTopicPeers(t, n2, "User", n1)
	if err := users[1].Update(ctx, id, map[string]any{"verified": false}); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[0], id, map[string]any{"name": "Ada Lovelace", "verified": false})

	// Restart node 2: same peer ID, subscription kept, no peers until reconnected.
	id2 := n2.ID()
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	log2 = nodetest.LogBuffer{}
	n2 = nodetest.Open(t, dir2, &gossipdb.Options{Logger: log2.Logger()})
	if n2.ID() != id2 {
		t.Errorf("peer ID changed: %s → %s", id2, n2.ID())
	}
	if got := n2.Subscriptions(); !slices.Equal(got, []string{"User"}) {
		t.Errorf("Subscriptions after restart = %v", got)
	}
	if !strings.Contains(log2.String(), `msg="Adding pubsub topic" PeerID=`+n2.ID()+" Topic="+topic) {
		t.Errorf("restored subscription not logged:\n%s", log2.String())
	}
	if got := n2.ActivePeers(); len(got) != 0 {
		t.Errorf("ActivePeers after restart = %v, want none", got)
	}
	users2, err := n2.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n2, n1)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	after, err := users[0].Create(ctx, map[string]any{"name": "After restart"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users2, after, map[string]any{"name": "After restart"})
}

const counterSDL = `type Doc { a: String b: Int c: Float n: Int @crdt(type: pncounter) }`

// TestMeshConvergence: five nodes in a line, all writing the same documents at
// once, end byte-identical. The writes are random, from nodetest.Seed.
func TestMeshConvergence(t *testing.T) {
	ctx := context.Background()
	const nodes, docs, writesPerNode = 5, 20, 60
	ns := make([]*gossipdb.Node, nodes)
	cs := make([]*gossipdb.Collection, nodes)
	for i := range ns {
		ns[i] = nodetest.Open(t, "", &gossipdb.Options{SyncInterval: time.Hour})
		cols, err := ns[i].AddCollection(ctx, counterSDL)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = cols[0]
		if err := ns[i].Subscribe(ctx, "Doc"); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			nodetest.Connect(t, ns[i-1], ns[i])
		}
	}
	for i := range ns {
		var neighbours []*gossipdb.Node
		if i > 0 {
			neighbours = append(neighbours, ns[i-1])
		}
		if i+1 < nodes {
			neighbours = append(neighbours, ns[i+1])
		}
		nodetest.WaitTopicPeers(t, ns[i], "Doc", neighbours...)
	}
	ids := make([]gossipdb.DocID, docs)
	for i := range ids {
		var err error
		if ids[i], err = cs[0].Create(ctx, map[string]any{"a": "start", "n": 0}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs[1:] {
		for _, id := range ids {
			waitDoc(t, c, id, nil)
		}
	}

	var wg sync.WaitGroup
	totals := make([][]int64, nodes) // counter increments per node and document
	seed := nodetest.Seed(t)
	for i, c := range cs {
		totals[i] = make([]int64, docs)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for w := range writesPerNode {
				d := rng.IntN(docs - 1) // the last document is deleted below
				inc := int64(rng.IntN(5) - 2)
				fields := map[string]any{"n": inc}
				// Nodes often write the same b or c with the same increment on
				// the same heads: each such increment must still count once.
				switch rng.IntN(3) {
				case 0:
					fields["a"] = fmt.Sprintf("node%d-%d", i, w)
				case 1:
					fields["b"] = w
				default:
					fields["c"] = float64(w) / 3
				}
				if err := c.Update(ctx, ids[d], fields); err != nil {
					t.Errorf("node %d: %v", i, err)
					return
				}
				totals[i][d] += inc
			}
		})
	}
	if err := cs[2].Delete(ctx, ids[docs-1]); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

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
		return nil
	})
	for d, id := range ids[:docs-1] {
		var sum int64
		for i := range totals {
			sum += totals[i][d]
		}
		for i, c := range cs {
			doc, err := c.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if doc.Fields["n"] != sum {
				t.Errorf("node %d, doc %d: counter %v, want %d", i, d, doc.Fields["n"], sum)
			}
		}
	}
	for i, c := range cs {
		if _, err := c.Get(ctx, ids[docs-1]); !errors.Is(err, gossipdb.ErrDeleted) {
			t.Errorf("node %d: deleted document: %v", i, err)
		}
	}
}

// TestMissingHistoryIsFetched: a node that missed a long run of changes fetches
// the whole gap in a bounded number of requests when the next change arrives.
func TestMissingHistoryIsFetched(t *testing.T) {
	ctx := context.Background()
	for _, gap := range []int{50, 1000} {
		t.Run(fmt.Sprint(gap), func(t *testing.T) {
			n1 := nodetest.Open(t, "", nil)
			n2 := nodetest.Open(t, "", nil)
			users := nodetest.AddUser(t, n1, n2)
			nodetest.Connect(t, n1, n2)
			id, err := users[0].Create(ctx, map[string]any{"name": "v0", "age": 0})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= gap; i++ {
				if err := users[0].Update(ctx, id, map[string]any{"age": i}); err != nil {
					t.Fatal(err)
				}
			}
			nodetest.Subscribe(t, "User", n2)
			nodetest.WaitTopicPeers(t, n1, "User", n2)
			if err := users[0].Update(ctx, id, map[string]any{"name": "last"}); err != nil {
				t.Fatal(err)
			}
			waitDoc(t, users[1], id, map[string]any{"name": "last", "age": int64(gap)})
			h1, _ := users[0].Heads(ctx, id)
			h2, _ := users[1].Heads(ctx, id)
			if !slices.Equal(h1, h2) {
				t.Errorf("heads differ: %v / %v", h1, h2)
			}
			if f := n2.Metrics().Fetches; f > 3 {
				t.Errorf("%d fetches for a gap of %d blocks; want at most 3", f, gap)
			}
		})
	}
}

// TestBurstReplication: 20,000 documents written as fast as the API allows reach
// a subscriber through gossip alone, none lost.
func TestBurstReplication(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Connect(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	const total = 10_000
	for i := range total {
		if _, err := users[0].Create(ctx, map[string]any{"name": "one", "age": i}); err != nil {
			t.Fatal(err)
		}
	}
	batch := make([]map[string]any, 100)
	for b := range total / len(batch) {
		for i := range batch {
			batch[i] = map[string]any{"name": "many", "age": b*len(batch) + i}
		}
		if _, err := users[0].CreateMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Eventually(t, 120*time.Second, func() error {
		if got := n2.Metrics().MergedBlocks; got < 2*total {
			return fmt.Errorf("node 2 merged %d of %d blocks", got, 2*total)
		}
		return nil
	})
	if k := count(t, users[1], nil); k != 2*total {
		t.Errorf("node 2 has %d documents, want %d", k, 2*total)
	}
	if m := n2.Metrics(); m.Fetches != 0 || m.DroppedOrphans != 0 {
		t.Errorf("gossip alone should carry a burst of creates: %+v", m)
	}
	if u := n1.Metrics().Unpublished; u != 0 {
		t.Errorf("node 1 left %d blocks unpublished", u)
	}
}

// TestPublishQueueFull: writes made while the publish queue is full are
// acknowledged, not published, and reach a subscriber through catch-up; the
// queue takes writes again once it has room.
func TestPublishQueueFull(t *testing.T) {
	ctx := context.Background()
	opts := func() *gossipdb.Options { return &gossipdb.Options{SyncInterval: 200 * time.Millisecond} }
	n1 := nodetest.Open(t, "", opts())
	n2 := nodetest.Open(t, "", opts())
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Connect(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)

	release := gossipdb.HoldPublishQueue(n1)
	for i := range 20 {
		if _, err := users[0].Create(ctx, map[string]any{"name": "held", "age": i}); err != nil {
			t.Fatal(err)
		}
	}
	batch := make([]map[string]any, 50)
	for i := range batch {
		batch[i] = map[string]any{"name": "held many", "age": i}
	}
	if _, err := users[0].CreateMany(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if u := n1.Metrics().Unpublished; u != 70 {
		t.Fatalf("%d blocks unpublished while the queue was full, want 70", u)
	}
	release()
	if _, err := users[0].Create(ctx, map[string]any{"name": "after", "age": 0}); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 60*time.Second, func() error {
		if k := count(t, users[1], nil); k != 71 {
			return fmt.Errorf("node 2 has %d of 71 documents", k)
		}
		return nil
	})
	if u := n1.Metrics().Unpublished; u != 70 {
		t.Errorf("%d blocks unpublished in all, want 70: the queue did not take the write after it had room", u)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestBootstrapPeerRestart: a node re-dials its bootstrap peer after that peer
// restarts, and receives its new changes.
func TestBootstrapPeerRestart(t *testing.T) {
	ctx := context.Background()
	dir1 := t.TempDir()
	opts1 := &gossipdb.Options{ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t))}}
	n1, err := gossipdb.Open(dir1, opts1)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.AddUser(t, n1)
	addr := n1.PeerInfo()[0]
	n2 := nodetest.Open(t, "", &gossipdb.Options{Peers: []string{addr}})
	users2 := nodetest.AddUser(t, n2)[0]
	nodetest.Subscribe(t, "User", n2)
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !nodetest.HasPeer(n2, n1) {
			return errors.New("node 2 not connected to its bootstrap peer")
		}
		return nil
	})
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if nodetest.HasPeer(n2, n1) {
			return errors.New("node 2 still lists the closed node 1")
		}
		return nil
	})
	n1 = nodetest.Open(t, dir1, opts1)
	nodetest.Eventually(t, 20*time.Second, func() error {
		if !nodetest.HasPeer(n2, n1) {
			return errors.New("node 2 did not re-dial its restarted bootstrap peer")
		}
		return nil
	})
	users1, err := n1.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	id, err := users1.Create(ctx, map[string]any{"name": "back"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users2, id, map[string]any{"name": "back"})
}

// TestBootstrapPeerUnreachableLogged: a bootstrap peer that cannot be reached
// is logged at warn level once per outage, not at each re-dial, and its
// return at info level. It used to be logged at debug level only, so a node
// started with a wrong --peers said nothing at the default level.
func TestBootstrapPeerUnreachableLogged(t *testing.T) {
	const (
		warning   = `level=WARN msg="Bootstrap peer unreachable; retrying until it answers"`
		retry     = `level=DEBUG msg="Bootstrap peer unreachable"`
		recovered = `level=INFO msg="Bootstrap peer reachable again"`
	)
	dir1 := t.TempDir()
	opts1 := &gossipdb.Options{ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t))}}
	n1, err := gossipdb.Open(dir1, opts1)
	if err != nil {
		t.Fatal(err)
	}
	addr := n1.PeerInfo()[0]
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	var logs nodetest.LogBuffer
	n2 := nodetest.Open(t, "", &gossipdb.Options{Peers: []string{addr}, Logger: logs.Logger()})
	count := func(line string) int { return strings.Count(logs.String(), line) }
	nodetest.Eventually(t, 10*time.Second, func() error {
		if count(retry) < 3 {
			return fmt.Errorf("%d re-dials logged, want 3", count(retry))
		}
		return nil
	})
	if got := count(warning); got != 1 {
		t.Fatalf("after %d failed re-dials, %d warnings, want 1:\n%s", count(retry), got, logs.String())
	}
	if !strings.Contains(logs.String(), "peer="+n1.ID()) {
		t.Errorf("the warning does not name peer %s:\n%s", n1.ID(), logs.String())
	}

	n1 = nodetest.Open(t, dir1, opts1)
	nodetest.Eventually(t, 20*time.Second, func() error {
		if !nodetest.HasPeer(n2, n1) || count(recovered) != 1 {
			return fmt.Errorf("connected %v, %d lines saying the peer is back", nodetest.HasPeer(n2, n1), count(recovered))
		}
		return nil
	})
	if got := count(warning); got != 1 {
		t.Fatalf("%d warnings once the peer is back, want 1:\n%s", got, logs.String())
	}

	// Another outage, another warning.
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if got := count(warning); got != 2 {
			return fmt.Errorf("%d warnings after the peer went away again, want 2", got)
		}
		return nil
	})
}

// TestBootstrapPeerBackByItsOwnDial: a bootstrap peer that comes back by
// dialling the node itself (a restarted peer with the node among its own
// --peers often does so first) ends the outage as one the node re-dials
// does: its return is logged, and its next outage is warned of again. The
// outage used to stay open, so the return went unlogged and every later
// outage of that peer was logged at debug level only.
func TestBootstrapPeerBackByItsOwnDial(t *testing.T) {
	const (
		warning   = `level=WARN msg="Bootstrap peer unreachable; retrying until it answers"`
		recovered = `level=INFO msg="Bootstrap peer reachable again"`
	)
	dir1 := t.TempDir()
	n1, err := gossipdb.Open(dir1, &gossipdb.Options{ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t))}})
	if err != nil {
		t.Fatal(err)
	}
	addr := n1.PeerInfo()[0]
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	var logs nodetest.LogBuffer
	n2 := nodetest.Open(t, "", &gossipdb.Options{Peers: []string{addr}, Logger: logs.Logger()})
	count := func(line string) int { return strings.Count(logs.String(), line) }
	nodetest.Eventually(t, 10*time.Second, func() error {
		if count(warning) != 1 {
			return fmt.Errorf("%d warnings, want 1", count(warning))
		}
		return nil
	})

	// The peer comes back on another port, which node 2 does not know, and
	// dials node 2: only its own dial can end the outage.
	n1 = nodetest.Open(t, dir1, &gossipdb.Options{ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t))}})
	if err := n1.Connect(context.Background(), n2.PeerInfo()[0]); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if count(recovered) != 1 {
			return fmt.Errorf("%d lines saying the peer is back, want 1", count(recovered))
		}
		return nil
	})

	// Another outage, another warning.
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if got := count(warning); got != 2 {
			return fmt.Errorf("%d warnings after the peer went away again, want 2", got)
		}
		return nil
	})
}

// TestConnectNamesAnotherPeer: an address whose peer ID is not the node's
// listening there (copied from an earlier run) fails with an error that says
// so, and names the node that listens, rather than blaming a network key.
func TestConnectNamesAnotherPeer(t *testing.T) {
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	other := nodetest.Open(t, "", nil)
	addr1, err := gossipdb.ParseAddr(n1.PeerInfo()[0])
	if err != nil {
		t.Fatal(err)
	}
	wrong := fmt.Sprintf("%s/p2p/%s", addr1.Addrs[0], other.ID())
	err = n2.Connect(context.Background(), wrong)
	if err == nil {
		t.Fatalf("Connect to %s succeeded", wrong)
	}
	if msg := err.Error(); !strings.Contains(msg, "the node listening at that address is "+n1.ID()) ||
		strings.Contains(msg, "network key") {
		t.Errorf("Connect to another peer's ID: %v, want it to name %s as the node listening there, and no network key", err, n1.ID())
	}
}

// TestBootstrapPeerSelfRefused: the node's own address among Options.Peers is
// refused at Open, naming the option, as Connect to it is; the node used to
// dial itself every 5 s for ever, silently.
func TestBootstrapPeerSelfRefused(t *testing.T) {
	dir := t.TempDir()
	n := nodetest.Open(t, dir, nil)
	self := n.PeerInfo()[0]
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n, err := gossipdb.Open(dir, &gossipdb.Options{Peers: []string{self}})
	if err == nil {
		n.Close()
		t.Fatal("Open with the node's own address in Options.Peers succeeded")
	}
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "Options.Peers") ||
		!strings.Contains(err.Error(), self) || !strings.Contains(err.Error(), "own address") {
		t.Fatalf("Open: %v, want ErrInvalid naming Options.Peers and the address as the node's own", err)
	}
}

// TestConnectNamesUnresolvableHost: a /dns4 address whose name does not
// resolve fails with an error that says so. libp2p's own error lists only
// the addresses it dialled, which leaves that one out.
func TestConnectNamesUnresolvableHost(t *testing.T) {
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	other := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := "/dns4/no-such-host.invalid/tcp/9/p2p/" + other.ID()
	err := n.Connect(ctx, addr)
	if err == nil || !strings.Contains(err.Error(), "no-such-host.invalid does not resolve") {
		t.Fatalf("Connect(%s) = %v, want an error saying the name does not resolve", addr, err)
	}
}

// TestConnectNamesAddressesNotGiven: Connect dials, besides the address
// given, those the node knew for the peer from an earlier connection, and
// libp2p's error lists them all: the error says where those come from.
func TestConnectNamesAddressesNotGiven(t *testing.T) {
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	nodetest.Connect(t, n1, n2)
	old, err := gossipdb.ParseAddr(n2.PeerInfo()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if p := n1.ActivePeers(); len(p) > 0 {
			return fmt.Errorf("node 1 still lists %v", p)
		}
		return nil
	})
	addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", freePort(t), old.ID)
	err = n1.Connect(context.Background(), addr)
	if err == nil || !strings.Contains(err.Error(), "besides the address given, this node dialled those it knew for the peer from earlier connections: "+old.Addrs[0].String()) {
		t.Fatalf("Connect(%s) to a peer gone from %s: %v, want an error naming that address as known from earlier", addr, old.Addrs[0], err)
	}
}
