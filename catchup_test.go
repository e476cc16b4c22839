package gossipdb_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/streams"
)

// waitConverged waits until every collection has the same fingerprint.
func waitConverged(t *testing.T, timeout time.Duration, cs ...*gossipdb.Collection) {
	t.Helper()
	nodetest.Eventually(t, timeout, func() error {
		want, err := cs[0].Fingerprint(context.Background())
		if err != nil {
			return err
		}
		for i, c := range cs[1:] {
			got, err := c.Fingerprint(context.Background())
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("replica %d differs from replica 0", i+1)
			}
		}
		return nil
	})
}

// writeHistory fills c with docs documents, some deleted and some with long
// histories, and returns their IDs.
func writeHistory(t *testing.T, c *gossipdb.Collection, docs int) []gossipdb.DocID {
	t.Helper()
	ctx := context.Background()
	var ids []gossipdb.DocID
	batch := make([]map[string]any, 0, 1000)
	for i := range docs {
		batch = append(batch, map[string]any{"name": fmt.Sprint("user", i), "age": i})
		if len(batch) == cap(batch) || i == docs-1 {
			got, err := c.CreateMany(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, got...)
			batch = batch[:0]
		}
	}
	for i, id := range ids {
		switch {
		case i%50 == 0:
			if err := c.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		case i%500 == 1:
			for v := range 100 {
				if err := c.Update(ctx, id, map[string]any{"age": v}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return ids
}

// TestLateJoinerCatchesUp: a node that subscribes after 10,000 documents were
// written gets all of them without any further write.
func TestLateJoinerCatchesUp(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	writeHistory(t, users[0], 10_000)
	nodetest.Connect(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	waitConverged(t, 2*time.Minute, users[0], users[1])

	// In sync now: another reconciliation finds nothing and costs little.
	before, _ := n2.SyncStatus("User")
	if err := n2.StartSync(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		st, err := n2.SyncStatus("User")
		if err != nil {
			return err
		}
		if len(st.Peers) != 1 || st.Running > 0 || !st.Peers[0].Finished.After(before.Peers[0].Finished) {
			return fmt.Errorf("no new session finished: %+v", st)
		}
		if p := st.Peers[0]; p.Docs != 0 || p.Bytes > 1024 || p.Err != "" {
			return fmt.Errorf("in-sync session: %+v; want no document and at most 1 KiB", p)
		}
		return nil
	})
}

// TestLateJoinerSeveralCollections: a late joiner catches up two collections whose
// documents are mostly new (stored as their genesis alone) and reads their blocks
// through the right collection only.
func TestLateJoinerSeveralCollections(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	posts := nodetest.AddCollection(t, `type Post { title: String }`, n1, n2)
	userIDs := writeHistory(t, users[0], 300)
	var postIDs []gossipdb.DocID
	for i := range 300 {
		id, err := posts[0].Create(ctx, map[string]any{"title": fmt.Sprint("post ", i)})
		if err != nil {
			t.Fatal(err)
		}
		postIDs = append(postIDs, id)
	}
	nodetest.Connect(t, n1, n2)
	if err := n2.Subscribe(ctx, "User", "Post"); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, time.Minute, users[0], users[1])
	waitConverged(t, time.Minute, posts[0], posts[1])
	if err := n2.Check(ctx); err != nil {
		t.Fatalf("Check after catching up: %v", err)
	}
	for _, tc := range []struct {
		id         gossipdb.DocID
		own, other *gossipdb.Collection
	}{{userIDs[2], users[1], posts[1]}, {postIDs[7], posts[1], users[1]}} {
		data, err := tc.own.Block(ctx, string(tc.id))
		if err != nil || len(data) == 0 {
			t.Errorf("genesis %s through its collection: %d bytes, %v", tc.id, len(data), err)
		}
		if _, err := tc.other.Block(ctx, string(tc.id)); !errors.Is(err, gossipdb.ErrNotFound) {
			t.Errorf("genesis %s through the other collection: got %v, want ErrNotFound", tc.id, err)
		}
	}
}

// TestReturningNodeCatchesUp: a subscriber that was offline while two others kept
// writing converges when it comes back, and so do the others. The writes pick
// their documents at random, from nodetest.Seed.
func TestReturningNodeCatchesUp(t *testing.T) {
	ctx := context.Background()
	dir2 := t.TempDir()
	n1 := nodetest.Open(t, "", nil)
	n3 := nodetest.Open(t, "", nil)
	n2, err := gossipdb.Open(dir2, nil)
	if err != nil {
		t.Fatal(err)
	}
	users := nodetest.AddUser(t, n1, n2, n3)
	nodetest.Subscribe(t, "User", n1, n2, n3)
	nodetest.Connect(t, n1, n2)
	nodetest.Connect(t, n2, n3)
	nodetest.Connect(t, n1, n3)
	ids := writeHistory(t, users[0], 200)
	waitConverged(t, time.Minute, users...)
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 2))
	for i := range 300 {
		c := users[0]
		if i%2 == 1 {
			c = users[2]
		}
		id := ids[rng.IntN(len(ids))]
		var err error
		switch i % 10 {
		case 0:
			_, err = c.Create(ctx, map[string]any{"name": "new", "age": i})
		case 1:
			err = c.Delete(ctx, id)
		default:
			err = c.Update(ctx, id, map[string]any{"age": i, "verified": i%3 == 0})
		}
		if err != nil && !errors.Is(err, gossipdb.ErrDeleted) {
			t.Fatal(err)
		}
	}

	n2 = nodetest.Open(t, dir2, nil)
	users2, err := n2.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n2, n1)
	nodetest.Connect(t, n2, n3)
	waitConverged(t, time.Minute, users[0], users2, users[2])
}

// TestLossyGossipConverges: with 30% of gossip messages lost on every node,
// reconciliation alone brings everyone to the same state.
func TestLossyGossipConverges(t *testing.T) {
	ctx := context.Background()
	opts := &gossipdb.Options{SyncInterval: 500 * time.Millisecond}
	ns := []*gossipdb.Node{nodetest.Open(t, "", opts), nodetest.Open(t, "", opts), nodetest.Open(t, "", opts)}
	users := nodetest.AddUser(t, ns...)
	for _, n := range ns {
		gossipdb.SetGossipLoss(n, 0.3)
		nodetest.Subscribe(t, "User", n)
	}
	nodetest.Connect(t, ns[0], ns[1])
	nodetest.Connect(t, ns[1], ns[2])
	nodetest.Connect(t, ns[0], ns[2])
	for i := range 300 {
		c := users[i%3]
		if _, err := c.Create(ctx, map[string]any{"name": "lossy", "age": i}); err != nil {
			t.Fatal(err)
		}
	}
	waitConverged(t, time.Minute, users...)
	if k := count(t, users[0], nil); k != 300 {
		t.Errorf("%d documents after convergence, want 300", k)
	}
}

// TestPartitionHeals: two halves of a network write to the same documents while
// apart; once healed every node holds every acknowledged write.
func TestPartitionHeals(t *testing.T) {
	ctx := context.Background()
	ns := make([]*gossipdb.Node, 4)
	cs := make([]*gossipdb.Collection, 4)
	for i := range ns {
		// Without discovery, which would dial the other side again as soon
		// as the link is cut: the nodes look for peers of their collection.
		ns[i] = nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
		cols, err := ns[i].AddCollection(ctx, counterSDL)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = cols[0]
		if err := ns[i].Subscribe(ctx, "Doc"); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Connect(t, ns[0], ns[1])
	nodetest.Connect(t, ns[2], ns[3])
	nodetest.Connect(t, ns[1], ns[2])
	ids, err := cs[0].CreateMany(ctx, []map[string]any{{"a": "x", "n": 0}, {"a": "y", "n": 0}, {"a": "z", "n": 0}})
	if err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 30*time.Second, cs...)

	// Partition: cut the only link between {0,1} and {2,3}.
	nodetest.Disconnect(t, ns[1], ns[2])
	var total int64
	for i, c := range cs {
		for w := range 20 {
			inc := int64(i + 1)
			if err := c.Update(ctx, ids[w%3], map[string]any{"n": inc, "a": fmt.Sprint(i, "-", w)}); err != nil {
				t.Fatal(err)
			}
			total += inc
		}
	}

	nodetest.Connect(t, ns[1], ns[2])
	waitConverged(t, time.Minute, cs...)
	var sum int64
	for _, id := range ids {
		d, err := cs[3].Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sum += d.Fields["n"].(int64)
	}
	if sum != total {
		t.Errorf("counters sum to %d after healing, want %d: acknowledged increments lost", sum, total)
	}
}

// TestEqualIncrementsWhileApartBothCount: two nodes apart make the same increment
// on the same heads; once connected both hold the sum of the two, not one of them.
func TestEqualIncrementsWhileApartBothCount(t *testing.T) {
	ctx := context.Background()
	// Without discovery: it would reconnect the two nodes the test keeps apart.
	opts := &gossipdb.Options{NoDiscovery: true}
	ns := []*gossipdb.Node{nodetest.Open(t, "", opts), nodetest.Open(t, "", opts)}
	cs := nodetest.AddCollection(t, counterSDL, ns...)
	nodetest.Subscribe(t, "Doc", ns...)
	nodetest.Connect(t, ns[0], ns[1])
	id, err := cs[0].Create(ctx, map[string]any{"a": "x", "n": 0})
	if err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 30*time.Second, cs...)

	nodetest.Disconnect(t, ns[0], ns[1])
	for _, c := range cs {
		if err := c.Update(ctx, id, map[string]any{"n": 1}); err != nil {
			t.Fatal(err)
		}
	}

	nodetest.Connect(t, ns[0], ns[1])
	waitConverged(t, 30*time.Second, cs...)
	for i, c := range cs {
		d, err := c.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Fields["n"] != int64(2) {
			t.Errorf("node %d: n = %v after two increments of 1, want 2", i, d.Fields["n"])
		}
	}
}

// TestHostileSyncPeerDoesNotStopCatchUp: a peer that accepts reconciliation
// streams and never answers does not keep a node from catching up with an honest one.
func TestHostileSyncPeerDoesNotStopCatchUp(t *testing.T) {
	ctx := context.Background()
	silent, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetStreamHandler("/gossipdb/sync/1", func(s network.Stream) {
		io.Copy(io.Discard, s) // reads, never answers; ends when the stream is reset
		s.Reset()
	})
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	writeHistory(t, users[0], 300)
	if err := n2.Connect(ctx, fmt.Sprintf("%s/p2p/%s", silent.Addrs()[0], silent.ID())); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n2, n1)
	nodetest.Subscribe(t, "User", n2)
	waitConverged(t, time.Minute, users[0], users[1])
}

// TestEvictedOrphansAreCaughtUp: a node whose orphan budget holds only a few
// large blocks, losing half of its gossip, refuses or drops orphans it cannot hold and still
// ends with every change; the honest writer keeps its standing.
func TestEvictedOrphansAreCaughtUp(t *testing.T) {
	n1 := nodetest.Open(t, "", nil)
	budget := int64(2<<20 + 1<<10) // one block of the largest size; a 256 KiB change costs 512 KiB
	n2 := nodetest.Open(t, "", &gossipdb.Options{OrphanBytes: budget, OrphanPeerBytes: budget, FetchWorkers: 1,
		SyncInterval: 500 * time.Millisecond})
	users := nodetest.AddUser(t, n1, n2)
	gossipdb.SetGossipLoss(n2, 0.5)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	// Gossip is lost at random, and a slow machine may fetch each orphan's
	// history before the next arrives: more history is written until node 2
	// has had to refuse or evict an orphan, 4 times at most.
	writeLargeHistory(t, users[0], 10, 8)
	for range 4 {
		if m := n2.Metrics(); m.RefusedOrphans+m.EvictedOrphans > 0 {
			break
		}
		writeLargeHistory(t, users[0], 10, 8)
	}
	waitConverged(t, time.Minute, users...)
	m := n2.Metrics()
	t.Logf("node 2: %d orphans refused, %d evicted, %d given up, %d fetches",
		m.RefusedOrphans, m.EvictedOrphans, m.DroppedOrphans, m.Fetches)
	if m.RefusedOrphans+m.EvictedOrphans == 0 {
		t.Errorf("no orphan was refused or evicted: the test did not exceed the budget")
	}
	// Refusing or evicting an honest peer's orphans costs it no standing.
	if p, err := peer.Decode(n1.ID()); err != nil || gossipdb.Standing(n2, p) != 0 {
		t.Errorf("node 1's standing on node 2: %v (%v), want 0", gossipdb.Standing(n2, p), err)
	}
}

// TestSyncWaitsUntilMerged: node 2 loses all gossip, as if partitioned, while
// node 1 writes. Sync returns only once node 2 has merged everything node 1
// held: at that moment the two fingerprints are equal. Called again, it finds
// the nodes equal.
func TestSyncWaitsUntilMerged(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	partition(t, n1, n2, "User")
	writeHistory(t, users[0], 300)

	peers, err := n2.Sync(ctx, "User")
	if err != nil {
		t.Fatal(err)
	}
	want, err := users[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := users[1].Fingerprint(ctx); err != nil || got != want {
		t.Fatalf("right after Sync node 2's fingerprint is %s (%v), node 1's %s", got, err, want)
	}
	if len(peers) != 1 || peers[0].Peer != n1.ID() || peers[0].Err != "" || peers[0].Finished.IsZero() {
		t.Fatalf("Sync sessions %+v, want one finished with node 1", peers)
	}
	t.Logf("Sync pulled %d of %d documents, %d blocks", peers[0].Pulled, peers[0].Docs, peers[0].Blocks)

	peers, err = n2.Sync(ctx, "User")
	if err != nil || len(peers) != 1 || !peers[0].Equal || peers[0].Docs != 0 {
		t.Fatalf("second Sync: %+v, %v; want one session that found the nodes equal", peers, err)
	}
	// A backstop session may have started since: Equal then waits for it, and
	// LastEqual still tells of the second Sync's.
	st, err := n2.SyncStatus("User")
	if err != nil || len(st.Peers) != 1 || st.Peers[0].LastEqual.Before(peers[0].Started) {
		t.Fatalf("SyncStatus after an equal session started at %v: %+v, %v", peers[0].Started, st, err)
	}
}

// partition subscribes n1 and n2 to collection, connects them and waits until
// n2 sees n1 in the collection's mesh, then makes n2 lose all gossip, as if
// partitioned from n1: what n1 writes next reaches n2 only by catch-up.
func partition(t *testing.T, n1, n2 *gossipdb.Node, collection string) {
	t.Helper()
	for _, n := range []*gossipdb.Node{n1, n2} {
		if err := n.Subscribe(context.Background(), collection); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n2, collection, n1)
	gossipdb.SetGossipLoss(n2, 1)
}

// largeName is the name writeLargeHistory gives its documents in round: 256 KiB.
func largeName(round int) string { return fmt.Sprint(round, strings.Repeat("x", 256<<10)) }

// writeLargeHistory creates docs documents in c, then updates each one's name to
// largeName(round) for each of rounds rounds, and returns their IDs.
func writeLargeHistory(t *testing.T, c *gossipdb.Collection, docs, rounds int) []gossipdb.DocID {
	t.Helper()
	ctx := context.Background()
	var ids []gossipdb.DocID
	for i := range docs {
		id, err := c.Create(ctx, map[string]any{"name": "v0", "age": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for round := range rounds {
		for _, id := range ids {
			if err := c.Update(ctx, id, map[string]any{"name": largeName(round)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// TestCatchUpOfLargeValues: node 2, partitioned, misses a history of 50
// changes of 256 KiB (12.5 MiB of blocks). Catch-up hands them to the merge
// worker in chunks of several MiB, and a merge writes a document's state and
// its change-feed entry, both holding the value, with each block: more than
// one Badger transaction takes (node 2 runs in small-memory mode, so
// that the chunks always are). Sync must still bring all of it.
func TestCatchUpOfLargeValues(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", &gossipdb.Options{SmallMemory: true})
	users := nodetest.AddUser(t, n1, n2)
	partition(t, n1, n2, "User")
	ids := writeLargeHistory(t, users[0], 10, 5)
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	peers, err := n2.Sync(sctx, "User")
	if err != nil {
		t.Fatalf("Sync: %v (sessions %+v)", err, peers)
	}
	want, err := users[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := users[1].Fingerprint(ctx); err != nil || got != want {
		t.Fatalf("after Sync node 2's fingerprint is %s (%v), node 1's %s", got, err, want)
	}
	for _, id := range ids {
		d, err := users[1].Get(ctx, id)
		if err != nil || d.Fields["name"] != largeName(4) {
			t.Fatalf("document %s on node 2 after Sync: %v", id, err)
		}
	}
}

// TestUnmergeableBlockIsRetriedLater: node 2 is in memory, where no document
// may hold 1 MiB of values, and node 1 (on disk) gives a document two fields
// of 600 KB: node 2 can never merge its second update. Catch-up pulls it
// again after a delay that doubles each time, not in one session after
// another: a few sessions until the delay reaches 4 s, where it ran 920 in
// 6 s before.
func TestUnmergeableBlockIsRetriedLater(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, t.TempDir(), nil)
	n2 := nodetest.Open(t, "", &gossipdb.Options{SyncInterval: -1})
	const sdl = "type Wide { a: String b: String }"
	var cs []*gossipdb.Collection
	for _, n := range []*gossipdb.Node{n1, n2} {
		c, err := n.AddCollection(ctx, sdl)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c[0])
	}
	partition(t, n1, n2, "Wide")
	id, err := cs[0].Create(ctx, map[string]any{"a": strings.Repeat("a", 600<<10)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs[0].Update(ctx, id, map[string]any{"b": strings.Repeat("b", 600<<10)}); err != nil {
		t.Fatal(err)
	}
	if _, err := n2.Sync(ctx, "Wide"); !errors.Is(err, gossipdb.ErrSync) || !strings.Contains(err.Error(), "in-memory") {
		t.Fatalf("Sync of a block node 2 cannot merge: %v, want ErrSync naming the in-memory store", err)
	}
	before := n2.Metrics().CatchUpsPulled
	// The delay doubles with each failure: 1 s, then 2, then 4.
	nodetest.Eventually(t, 30*time.Second, func() error {
		if d := gossipdb.RetryDelay(n2, "Wide"); d < 4*time.Second {
			return fmt.Errorf("retry delay %v, want 4s after the failures that keep coming", d)
		}
		return nil
	})
	// Meanwhile: the retries 1 and 2 s after the first failures, and the
	// sessions that follow the subscription and the connection by 1 and 4 s
	// (catchUpSettle), each of which may run once more if asked for while it
	// runs: 10 at most.
	n := n2.Metrics().CatchUpsPulled - before
	t.Logf("%d catch-up sessions pulled the unmergeable block until the retry delay reached 4 s", n)
	if n > 10 {
		t.Fatalf("%d catch-up sessions pulled the unmergeable block until the retry delay reached 4 s, want at most 10", n)
	}
	if _, err := cs[1].Get(ctx, id); err != nil {
		t.Fatalf("the document's first block, which node 2 can merge: %v", err)
	}
}

// TestSyncNamesASilentPeer: a peer subscribed to the collection that accepts
// reconciliation streams and never answers makes Sync fail with ErrSync naming
// it, once its session times out; the honest peer's session is reported too.
func TestSyncNamesASilentPeer(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	writeHistory(t, users[0], 20)
	gossipdb.SetCatchUpTimeout(n2, 2*time.Second)
	a := newAttacker(t, userSchema(t).ID.String())
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	a.h.SetStreamHandler("/gossipdb/sync/1", func(s network.Stream) {
		defer s.Reset()
		<-hung
	})
	a.join(t, n2)
	if _, err := a.topic.Subscribe(); err != nil { // as a reader would; node 2 then lists it below
		t.Fatal(err)
	}
	nodetest.WaitTopicPeers(t, n2, "User", n1)
	nodetest.Eventually(t, 10*time.Second, func() error {
		peers, err := n2.TopicPeers("User")
		if err != nil || !slices.Contains(peers, a.h.ID().String()) {
			return fmt.Errorf("node 2 does not see the silent peer on the topic: %v %v", peers, err)
		}
		return nil
	})

	peers, err := n2.Sync(ctx, "User")
	if !errors.Is(err, gossipdb.ErrSync) || strings.Count(err.Error(), a.h.ID().String()) != 1 {
		t.Fatalf("Sync with a silent peer: %v, want ErrSync naming %s once", err, a.h.ID())
	}
	if strings.Contains(err.Error(), n1.ID()) {
		t.Errorf("Sync's error names the honest peer: %v", err)
	}
	if len(peers) != 2 {
		t.Fatalf("Sync sessions %+v, want one with each peer", peers)
	}
	for _, p := range peers {
		if (p.Err == "") != (p.Peer == n1.ID()) {
			t.Errorf("session %+v: only the silent peer's should fail", p)
		}
	}
	waitConverged(t, 10*time.Second, users...)
}

// sharedGap opens three nodes that hold the same docs User documents, written
// by writeHistory on the first and caught up by the other two, without
// discovery (each test decides who connects to whom).
func sharedGap(t *testing.T, docs int) ([]*gossipdb.Node, []*gossipdb.Collection) {
	t.Helper()
	opts := &gossipdb.Options{NoDiscovery: true}
	ns := []*gossipdb.Node{nodetest.Open(t, "", opts), nodetest.Open(t, "", opts), nodetest.Open(t, "", opts)}
	users := nodetest.AddUser(t, ns...)
	writeHistory(t, users[0], docs)
	for _, n := range ns[1:] {
		nodetest.Connect(t, ns[0], n)
		nodetest.Subscribe(t, "User", n)
	}
	waitConverged(t, 2*time.Minute, users...)
	return ns, users
}

// lateJoiner opens a node without discovery, connects it to peers and
// subscribes it to User, and waits until it holds what peers[0] holds and its
// catch-up sessions have ended. It returns the node and the bytes of the
// blocks its catch-up received.
func lateJoiner(t *testing.T, want *gossipdb.Collection, peers ...*gossipdb.Node) (*gossipdb.Node, uint64) {
	t.Helper()
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	users := nodetest.AddUser(t, n)
	for _, p := range peers {
		nodetest.Connect(t, n, p)
	}
	nodetest.Subscribe(t, "User", n)
	waitConverged(t, 2*time.Minute, want, users[0])
	nodetest.Eventually(t, time.Minute, func() error {
		st, err := n.SyncStatus("User")
		if err != nil || st.Running > 0 || st.Pending > 0 || len(st.Peers) < len(peers) {
			return fmt.Errorf("catch-up still running: %+v, %v", st, err)
		}
		// The claims end with the documents in flight.
		if k := gossipdb.ClaimedDocs(n, "User"); k != 0 {
			return fmt.Errorf("%d documents still claimed", k)
		}
		return nil
	})
	return n, n.Metrics().CatchUpBytes
}

// TestCatchUpFromSeveralPeersPullsEachBlockOnce: three nodes hold the same
// documents; a fourth that connects to all three receives each block once:
// no more bytes (within 5%) than a node that catches up from one of them.
func TestCatchUpFromSeveralPeersPullsEachBlockOnce(t *testing.T) {
	const docs = 1000
	ns, users := sharedGap(t, docs)
	_, single := lateJoiner(t, users[0], ns[0])
	n, several := lateJoiner(t, users[0], ns...)
	if k := count(t, users[0], nil); k != docs-docs/50 {
		t.Fatalf("%d documents on the writer, want %d", k, docs-docs/50)
	}
	st, err := n.SyncStatus("User")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one peer: %d bytes of blocks; three peers: %d bytes (%.3f×); last sessions: %+v",
		single, several, float64(several)/float64(single), st.Peers)
	if single == 0 || float64(several) > 1.05*float64(single) {
		t.Fatalf("catching up from three peers received %d bytes of blocks, from one %d: want at most 1.05×",
			several, single)
	}
}

// TestCatchUpDoesNotWaitOnASilentPeer: of three peers that hold the same
// documents, the one a late joiner reaches first takes its block requests and
// never answers. The documents it was asked for are taken over by the
// sessions with the other two once its claim stalls: the late joiner holds
// everything long before its session with the silent peer times out.
func TestCatchUpDoesNotWaitOnASilentPeer(t *testing.T) {
	ns, users := sharedGap(t, 1000)
	taken := gossipdb.StallBlocks(ns[2])
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	mine := nodetest.AddUser(t, n)[0]
	nodetest.Connect(t, n, ns[2])
	nodetest.Subscribe(t, "User", n)
	select {
	case <-taken: // the session with the silent peer claimed its first documents
	case <-time.After(time.Minute):
		t.Fatal("the silent peer received no block request")
	}
	start := time.Now()
	nodetest.Connect(t, n, ns[0])
	nodetest.Connect(t, n, ns[1])
	waitConverged(t, 30*time.Second, users[0], mine) // the silent session's timeout is 2 minutes
	st, err := n.SyncStatus("User")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Peers {
		if p.Peer == ns[2].ID() && !p.Finished.IsZero() {
			t.Errorf("the silent peer's session has ended (%+v): the test did not show that nothing waits for it", p)
		}
	}
	t.Logf("caught up %v after connecting to the honest peers", time.Since(start).Round(time.Millisecond))
}

// TestCatchUpFromSeveralPeersGetsTheNewest: of three peers, one holds newer
// changes of some documents than the other two. A late joiner that connects
// to all three ends with the newest state of every document, whichever
// session pulled a document first, still receiving each block once.
func TestCatchUpFromSeveralPeersGetsTheNewest(t *testing.T) {
	ctx := context.Background()
	ns, users := sharedGap(t, 1000)
	nodetest.Disconnect(t, ns[2], ns[0])
	i := 0
	for id, err := range users[2].DocIDs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if i++; i%5 == 0 {
			if err := users[2].Update(ctx, id, map[string]any{"name": "newer"}); err != nil && !errors.Is(err, gossipdb.ErrDeleted) {
				t.Fatal(err)
			}
		}
	}
	if a, b := mustFingerprint(t, users[0]), mustFingerprint(t, users[2]); a == b {
		t.Fatal("the third peer holds nothing newer than the first")
	}
	_, single := lateJoiner(t, users[2], ns[2])
	n, several := lateJoiner(t, users[2], ns...) // waits until it equals the newest peer
	st, err := n.SyncStatus("User")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("from the newest peer alone: %d bytes of blocks; from all three: %d bytes (%.3f×); last sessions: %+v",
		single, several, float64(several)/float64(single), st.Peers)
	if float64(several) > 1.05*float64(single) {
		t.Fatalf("catching up from three peers received %d bytes of blocks, from the newest alone %d: want at most 1.05×",
			several, single)
	}
}

// TestLostGossipCatchesUpSoon: a message that pubsub dropped (its queues
// full during a burst) is fetched by a catch-up session with its sender about
// a second later, not at the periodic backstop (an hour here) once the
// follow-ups of the subscription have passed.
func TestLostGossipCatchesUpSoon(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", &gossipdb.Options{SyncInterval: time.Hour})
	n2 := nodetest.Open(t, "", &gossipdb.Options{SyncInterval: time.Hour})
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Connect(t, n1, n2)
	subscribed := time.Now()
	nodetest.Subscribe(t, "User", n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	// Past the follow-ups of the subscription and the connection.
	nodetest.Eventually(t, 30*time.Second, func() error {
		st, err := n2.SyncStatus("User")
		if err != nil {
			return err
		}
		for _, p := range st.Peers {
			if p.Started.After(subscribed.Add(4*time.Second)) && !p.Finished.IsZero() {
				return nil
			}
		}
		return fmt.Errorf("the follow-ups of the subscription are still due: %+v", st.Peers)
	})
	gossipdb.SetGossipLoss(n2, 1)
	id, err := users[0].Create(ctx, map[string]any{"name": "lost"})
	if err != nil {
		t.Fatal(err)
	}
	before := n2.Metrics().DroppedMessages
	if err := gossipdb.ReportGossipLost(n2, users[1], n1.ID()); err != nil {
		t.Fatal(err)
	}
	if got := n2.Metrics().DroppedMessages; got != before+1 {
		t.Errorf("DroppedMessages %d after a reported loss, want %d", got, before+1)
	}
	nodetest.Eventually(t, 15*time.Second, func() error {
		_, err := users[1].Get(ctx, id)
		return err
	})
}

// TestCatchUpBeyondReconcileLimits: a difference larger than one
// reconciliation may find (its round trips bounded, here to 3) is caught up
// in several: each pulls what it found before its limit while the next goes
// on from where it stopped, and no document is pulled twice.
func TestCatchUpBeyondReconcileLimits(t *testing.T) {
	ctx := context.Background()
	var logs nodetest.LogBuffer
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", &gossipdb.Options{Logger: logs.Logger()})
	gossipdb.SetReconcileLimits(n2, 3, 0)
	users := nodetest.AddUser(t, n1, n2)
	docs := make([]map[string]any, 5000)
	for i := range docs {
		docs[i] = map[string]any{"name": fmt.Sprint("user ", i), "age": i % 100}
	}
	if _, err := users[0].CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	waitConverged(t, time.Minute, users...)
	// The first session that pulled anything did it all: its parts went on
	// from one another (each reconciliation takes 3 round trips at most), and
	// it received each block once. Later sessions report only their last
	// state in SyncStatus, so its log line tells.
	finished := regexp.MustCompile(`msg="Catch-up finished" .* docs=(\d+) blocks=(\d+) .* rounds=(\d+)`)
	var m []string
	nodetest.Eventually(t, 30*time.Second, func() error {
		if m = finished.FindStringSubmatch(logs.String()); m == nil {
			return errors.New("no session has finished")
		}
		return nil
	})
	want := strconv.Itoa(len(docs))
	if rounds, _ := strconv.Atoi(m[3]); m[1] != want || m[2] != want || rounds <= 3 {
		t.Errorf("the session found %s documents and received %s blocks in %s round trips; want %s documents and blocks in more than 3 round trips", m[1], m[2], m[3], want)
	}
	if f := n2.Metrics().CatchUpsFailed; f != 0 {
		t.Errorf("%d catch-up sessions failed:\n%s", f, logs.String())
	}
}

// TestDisconnectedPeersAreForgotten: a node keeps catch-up records only of
// the peers it is connected to. Peer IDs cost nothing to make, so a node
// that remembered the sessions of every peer that ever connected could be
// made to hold any amount of memory by connecting again and again as new
// peers.
func TestDisconnectedPeersAreForgotten(t *testing.T) {
	const peers = 20
	ctx := context.Background()
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	nodetest.AddUser(t, n)
	nodetest.Subscribe(t, "User", n)
	info, err := gossipdb.ParseAddr(n.PeerInfo()[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range peers {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
		if err != nil {
			t.Fatal(err)
		}
		h.SetStreamHandler(reconcile.ProtocolID, func(s network.Stream) { s.Reset() })
		if err := h.Connect(ctx, *info); err != nil {
			t.Fatal(err)
		}
		// The node starts a session with each peer that connects and serves
		// catch-up; this one refuses it, so it ends at once.
		nodetest.Eventually(t, 30*time.Second, func() error {
			st, err := n.SyncStatus("User")
			if err != nil {
				return err
			}
			for _, p := range st.Peers {
				if p.Peer == h.ID().String() && !p.Finished.IsZero() {
					return nil
				}
			}
			return fmt.Errorf("peer %d: no finished session in %+v", i, st.Peers)
		})
		h.Close()
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		st, err := n.SyncStatus("User")
		if err != nil {
			return err
		}
		if k := gossipdb.CatchUpRecords(n); len(st.Peers) > 0 || k > 0 {
			return fmt.Errorf("%d peers in SyncStatus and %d catch-up records after %d peers came and went, want none",
				len(st.Peers), k, peers)
		}
		return nil
	})
}

// partialReconciler makes h answer every reconciliation as a peer whose
// reconciliations never end and settle a little more of the key space each
// round: each answer lists one more document ID (a new one, above the last)
// as held by h alone, then a fingerprint that never settles. h answers every
// request for blocks after delay, with none.
func partialReconciler(t *testing.T, h host.Host, delay time.Duration) {
	ids := make([]string, 1000)
	for i := range ids {
		c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.SHA2_256}.Sum([]byte(fmt.Sprint("missing ", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.String()
	}
	slices.Sort(ids)
	var next atomic.Int64
	frame := func(payload []byte) []byte {
		return append(binary.AppendUvarint(nil, uint64(len(payload))), payload...)
	}
	h.SetStreamHandler(reconcile.ProtocolID, func(s network.Stream) {
		defer s.Reset()
		r := bufio.NewReader(s)
		for {
			n, err := binary.ReadUvarint(r)
			if err != nil || n == 0 {
				return
			}
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return
			}
			id := ids[next.Add(1)%int64(len(ids))]
			// A diff range (mode 4) over no item of ours that lists id, up
			// to the bound id+"0", then a fingerprint (mode 1) of 5 items
			// up to +∞; see internal/reconcile's wire format.
			msg := []byte{0, 4, 0, 1, 0}
			msg = append(binary.AppendUvarint(msg, uint64(len(id))), id...)
			msg = append(binary.AppendUvarint(msg, uint64(len(id)+1)), 1, '0')
			msg = append(msg, 1)
			msg = append(msg, make([]byte, reconcile.FingerprintSize)...)
			msg = append(msg, 5, 0)
			if _, err := s.Write(frame(msg)); err != nil {
				return
			}
		}
	})
	h.SetStreamHandler(blocks.ProtocolID, func(s network.Stream) {
		defer s.Close()
		io.Copy(io.Discard, s)
		time.Sleep(delay)
		s.Write([]byte{0}) // the end of an answer without blocks
	})
}

// TestPartialReconcilesNeedBlocks: a session goes on from a reconciliation
// that reached its limits in a new part with a timeout of its own only after
// a part that brought blocks. A peer that settles a little more of the key
// space each time and never serves the documents it names held a catch-up
// worker for 64 timeouts (over two hours at the default timeout); it now
// holds it for one.
func TestPartialReconcilesNeedBlocks(t *testing.T) {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	const timeout = 500 * time.Millisecond
	partialReconciler(t, h, 100*time.Millisecond)
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	gossipdb.SetReconcileLimits(n, 2, 0)
	gossipdb.SetCatchUpTimeout(n, timeout)
	nodetest.AddUser(t, n)
	nodetest.Subscribe(t, "User", n)
	if err := n.Connect(context.Background(), fmt.Sprintf("%s/p2p/%s", h.Addrs()[0], h.ID())); err != nil {
		t.Fatal(err)
	}
	var st gossipdb.PeerSyncStatus
	nodetest.Eventually(t, time.Minute, func() error {
		s, err := n.SyncStatus("User")
		if err != nil || len(s.Peers) == 0 || s.Peers[0].Finished.IsZero() {
			return fmt.Errorf("no session finished: %+v, %v", s, err)
		}
		st = s.Peers[0]
		return nil
	})
	took := st.Finished.Sub(st.Started)
	t.Logf("%v: %d round trips, %d documents pulled, %d blocks: %s", took, st.Rounds, st.Pulled, st.Blocks, st.Err)
	if took > 6*timeout || st.Err == "" {
		t.Fatalf("the session took %v and ended with %q; want an error within about %v", took, st.Err, timeout)
	}
}

// TestCatchUpIsNotQueuedBehindSilentPeers: a node connected to many peers that
// subscribe to the collection, accept reconciliation streams and never answer
// (peer identities cost nothing to make) catches up within seconds with an
// honest peer that connects after them: each silent session waits only for
// its peer's first answer (1 s here, catchUpFirstAnswer in a node), rather
// than the reconciliation's 30 s. Once the silent peers' sessions have timed
// out, they run behind the honest peer's and never hold every worker: a
// later catch-up with the honest peer starts at once, though theirs now wait
// the whole 30 s.
func TestCatchUpIsNotQueuedBehindSilentPeers(t *testing.T) {
	const silent = 12
	ctx := context.Background()
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	gossipdb.SetCatchUpFirstAnswer(n2, time.Second)
	users := nodetest.AddUser(t, n1, n2)
	writeHistory(t, users[0], 20)
	nodetest.Subscribe(t, "User", n2)
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	for range silent {
		a := newAttacker(t, userSchema(t).ID.String())
		a.h.SetStreamHandler("/gossipdb/sync/1", func(s network.Stream) {
			defer s.Reset()
			<-hung
		})
		if _, err := a.topic.Subscribe(); err != nil {
			t.Fatal(err)
		}
		a.join(t, n2)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if st, err := n2.SyncStatus("User"); err != nil || st.Running == 0 {
			return fmt.Errorf("no session with a silent peer running: %+v, %v", st, err)
		}
		return nil
	})
	start := time.Now()
	nodetest.Connect(t, n2, n1)
	waitConverged(t, 2*time.Minute, users...)
	took := time.Since(start)
	t.Logf("caught up with the honest peer %v after it connected, %d silent peers connected", took.Round(time.Millisecond), silent)
	if took > 10*time.Second {
		t.Errorf("caught up with the honest peer %v after it connected: the silent peers held the catch-up workers", took.Round(time.Millisecond))
	}

	// Every silent peer's session times out: theirs then run behind.
	nodetest.Eventually(t, 30*time.Second, func() error {
		if k := gossipdb.StalledPeers(n2, "User"); k < silent {
			return fmt.Errorf("%d of %d silent peers' sessions timed out", k, silent)
		}
		return nil
	})
	gossipdb.SetGossipLoss(n2, 1)
	writeHistory(t, users[0], 20)
	start = time.Now()
	if err := n2.StartSync(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, 2*time.Minute, users...)
	took = time.Since(start)
	t.Logf("caught up again %v after StartSync", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("caught up again %v after StartSync: the silent peers held the catch-up workers", took.Round(time.Millisecond))
	}
}

// TestSyncAsksABusyPeerAgain: a peer that refuses Sync's session because it
// serves as many sessions as it allows is asked again a little later, and Sync
// returns once it has served it, holding everything it had. A peer still busy
// syncBusyWait after its first refusal makes Sync fail with ErrSync naming it.
func TestSyncAsksABusyPeerAgain(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.Eventually(t, 30*time.Second, func() error {
		st, err := n2.SyncStatus("User")
		if err != nil || len(st.Peers) == 0 || st.Peers[0].Finished.IsZero() {
			return fmt.Errorf("node 2's first session with node 1 has not finished: %+v, %v", st, err)
		}
		return nil
	})
	writeHistory(t, users[0], 20) // published to no one: node 1 does not subscribe

	// Busy for a while, then free: Sync returns in sync.
	release := holdReconcileSessions(t, n1)
	started := time.Now()
	done := make(chan error, 1)
	go func() { _, err := n2.Sync(ctx, "User"); done <- err }()
	waitRefusedAsBusy(t, n2, started)
	release()
	if err := <-done; err != nil {
		t.Fatalf("Sync with a peer busy for a while: %v", err)
	}
	want, err := users[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := users[1].Fingerprint(ctx); err != nil || got != want {
		t.Fatalf("after Sync node 2's fingerprint %v (%v), want node 1's %v", got, err, want)
	}

	// Busy throughout: Sync gives up, naming the peer.
	release = holdReconcileSessions(t, n1)
	defer release()
	started = time.Now()
	_, err = n2.Sync(ctx, "User")
	t.Logf("Sync with a peer busy throughout returned after %v: %v", time.Since(started), err)
	if !errors.Is(err, gossipdb.ErrSync) || !strings.Contains(err.Error(), n1.ID()) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("Sync with a peer busy throughout: %v, want ErrSync naming %s as busy", err, n1.ID())
	}
}

// TestCatchUpAsksABusyPeerAgain: catch-up with a peer that refused every
// session as busy (its reconciliation sessions all held by others), or every
// pull (its block answers all held), until the follow-ups of the connection
// had passed runs again a few seconds after the peer can serve it, not at
// the next backstop.
func TestCatchUpAsksABusyPeerAgain(t *testing.T) {
	for name, hold := range map[string]func(*testing.T, *gossipdb.Node) func(){
		"sessions": holdReconcileSessions,
		"answers":  holdBlockAnswers,
	} {
		t.Run(name, func(t *testing.T) {
			opts := &gossipdb.Options{NoDiscovery: true, SyncInterval: time.Hour}
			n1 := nodetest.Open(t, "", opts)
			n2 := nodetest.Open(t, "", opts)
			users := nodetest.AddUser(t, n1, n2)
			nodetest.Subscribe(t, "User", n2)
			writeHistory(t, users[0], 20) // published to no one: node 1 does not subscribe
			release := hold(t, n1)
			defer release()
			connected := time.Now()
			nodetest.Connect(t, n1, n2)
			// Refused at once and at each of the connection's follow-ups, the
			// last 4 s after it (catchUpSettle).
			waitRefusedAsBusy(t, n2, connected.Add(4*time.Second))
			release()
			waitConverged(t, 30*time.Second, users...)
		})
	}
}

// holdBlockAnswers holds every block answer n gives at once, from peers of
// its own, each sending the start of a request and no more. It returns the
// function that lets them go.
func holdBlockAnswers(t *testing.T, n *gossipdb.Node) (release func()) {
	t.Helper()
	ctx := context.Background()
	id, err := peer.Decode(n.ID())
	if err != nil {
		t.Fatal(err)
	}
	var held []network.Stream
	release = func() {
		for _, s := range held {
			s.Reset()
		}
	}
	for len(held) < blocks.DefaultMaxConcurrent {
		a := newAttacker(t, userSchema(t).ID.String())
		if err := n.Connect(ctx, a.addr()); err != nil {
			release()
			t.Fatal(err)
		}
		for range blocks.DefaultMaxPerPeer {
			s, err := a.h.NewStream(ctx, id, blocks.ProtocolID)
			if err != nil {
				release()
				t.Fatal(err)
			}
			held = append(held, s)
			if _, err := s.Write([]byte{0x85}); err != nil { // the start of a length
				release()
				t.Fatal(err)
			}
		}
	}
	// Held once a request from yet another peer is refused.
	probe := newAttacker(t, userSchema(t).ID.String())
	if err := n.Connect(ctx, probe.addr()); err != nil {
		release()
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		s, err := probe.h.NewStream(ctx, id, blocks.ProtocolID)
		if err != nil {
			return err
		}
		defer s.Reset()
		s.SetDeadline(time.Now().Add(time.Second))
		s.Write([]byte{0x85})
		if _, err := s.Read(make([]byte, 1)); !streams.IsRefused(err) {
			return fmt.Errorf("a request beside the held ones: %v, not refused", err)
		}
		return nil
	})
	return release
}

// holdReconcileSessions holds every reconciliation session n serves at once,
// from peers of its own, as many as n's limit for one peer requires: each
// session sends its first message and then waits for a next one that never
// comes. It returns the function that lets them go.
func holdReconcileSessions(t *testing.T, n *gossipdb.Node) (release func()) {
	t.Helper()
	var held []network.Stream
	release = func() {
		for _, s := range held {
			s.Reset()
		}
	}
	for len(held) < reconcile.DefaultMaxConcurrent {
		streams, err := holdSessionsOfOnePeer(t, n, reconcile.DefaultMaxPerPeer)
		held = append(held, streams...)
		if err != nil {
			release()
			t.Fatal(err)
		}
	}
	return release
}

// holdSessionsOfOnePeer opens k reconciliation sessions with n from one new
// peer and holds them as holdReconcileSessions does. It returns the streams
// it opened, and the first error: a session n did not begin.
func holdSessionsOfOnePeer(t *testing.T, n *gossipdb.Node, k int) ([]network.Stream, error) {
	t.Helper()
	ctx := context.Background()
	schema := userSchema(t).ID
	set, err := reconcile.NewSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	open := append(binary.AppendUvarint(nil, uint64(len(schema.Bytes()))), schema.Bytes()...)
	open = append(open, reconcile.NewSession(set).Initiate()...)
	open = append(binary.AppendUvarint(nil, uint64(len(open))), open...)
	a := newAttacker(t, schema.String())
	if err := n.Connect(ctx, a.addr()); err != nil {
		t.Fatal(err)
	}
	id, err := peer.Decode(n.ID())
	if err != nil {
		t.Fatal(err)
	}
	var held []network.Stream
	for i := range k {
		s, err := a.h.NewStream(ctx, id, reconcile.ProtocolID)
		if err != nil {
			return held, err
		}
		held = append(held, s)
		if _, err := s.Write(open); err != nil {
			return held, err
		}
		// Its answer says n has begun the session.
		if _, err := bufio.NewReader(s).ReadByte(); err != nil {
			return held, fmt.Errorf("session %d of %d from one peer: the node did not answer it: %w", i+1, k, err)
		}
	}
	return held, nil
}

// TestOnePeerHoldsAtMostItsShareOfSessions: a peer that opens as many
// reconciliation sessions as a node serves at once gets only its share
// (reconcile.DefaultMaxPerPeer), and another peer's Sync is served while it
// holds them. Before the share, one peer could hold every session and leave
// others refused as busy for as long as it liked.
func TestOnePeerHoldsAtMostItsShareOfSessions(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	users := nodetest.AddUser(t, n1, n2)
	writeHistory(t, users[0], 20) // published to no one: node 2 does not subscribe yet

	held, err := holdSessionsOfOnePeer(t, n1, reconcile.DefaultMaxConcurrent)
	defer func() {
		for _, s := range held {
			s.Reset()
		}
	}()
	if err == nil || len(held) != reconcile.DefaultMaxPerPeer+1 {
		t.Fatalf("one peer opened %d sessions (%v), want the node to refuse the one after %d", len(held), err, reconcile.DefaultMaxPerPeer)
	}
	t.Logf("the session beyond one peer's share: %v", err)

	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	if _, err := n2.Sync(ctx, "User"); err != nil {
		t.Fatalf("Sync while another peer holds its share of node 1's sessions: %v", err)
	}
	want, err := users[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := users[1].Fingerprint(ctx); err != nil || got != want {
		t.Fatalf("after Sync node 2's fingerprint %v (%v), want node 1's %v", got, err, want)
	}
}

// waitRefusedAsBusy waits until a session of n's that started after since was
// refused as busy.
func waitRefusedAsBusy(t *testing.T, n *gossipdb.Node, since time.Time) {
	t.Helper()
	nodetest.Eventually(t, 30*time.Second, func() error {
		st, err := n.SyncStatus("User")
		if err != nil {
			return err
		}
		for _, p := range st.Peers {
			if p.Started.After(since) && strings.Contains(p.Err, "busy") {
				return nil
			}
		}
		return fmt.Errorf("no session refused as busy since %v: %+v", since.Format(time.StampMilli), st.Peers)
	})
}

// TestInSyncSessionsReadNoItems: once two nodes have each read a collection
// whole, a session between them while they agree reads the items on neither
// side (each keeps their sum up to date), and one after a change that gossip
// did not carry reads the buckets of items around it, not the collection
// whole, and pulls it, as Sync promises.
func TestInSyncSessionsReadNoItems(t *testing.T) {
	ctx := context.Background()
	opts := &gossipdb.Options{NoDiscovery: true, SyncInterval: time.Hour}
	n1 := nodetest.Open(t, "", opts)
	n2 := nodetest.Open(t, "", opts)
	users := nodetest.AddUser(t, n1, n2)
	writeHistory(t, users[0], 100) // more than the 32 items a session opens with the digests of
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	waitConverged(t, 30*time.Second, users...)
	sync := func() {
		t.Helper()
		if _, err := n2.Sync(ctx, "User"); err != nil {
			t.Fatal(err)
		}
	}
	reads := func() [2]uint64 { return [2]uint64{n1.Metrics().SyncItemReads, n2.Metrics().SyncItemReads} }
	bucketReads := func() [2]uint64 { return [2]uint64{n1.Metrics().SyncBucketReads, n2.Metrics().SyncBucketReads} }
	sync() // each node has read the collection whole by now
	before, bucketsBefore := reads(), bucketReads()
	for range 3 {
		sync()
	}
	if got := reads(); got != before || bucketReads() != bucketsBefore {
		t.Fatalf("sessions between nodes in sync read the items %v times, want none", [2]uint64{got[0] - before[0], got[1] - before[1]})
	}

	gossipdb.SetGossipLoss(n2, 1)
	if _, err := users[0].Create(ctx, map[string]any{"name": "not gossiped"}); err != nil {
		t.Fatal(err)
	}
	sync()
	want, err := users[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := users[1].Fingerprint(ctx); err != nil || got != want {
		t.Fatalf("after Sync node 2's fingerprint %v (%v), want node 1's %v", got, err, want)
	}
	if got := reads(); got != before {
		t.Fatalf("a session that found a difference read the collection whole %v times, want none", [2]uint64{got[0] - before[0], got[1] - before[1]})
	}
	after := bucketReads()
	if after[0] == bucketsBefore[0] || after[1] == bucketsBefore[1] {
		t.Fatalf("a session that found a difference read %v buckets of items, want some on both sides", [2]uint64{after[0] - bucketsBefore[0], after[1] - bucketsBefore[1]})
	}
	sync()
	if got := bucketReads(); got != after || reads() != before {
		t.Fatalf("sessions in sync again read %v buckets and the collection whole %v times, want none", [2]uint64{got[0] - after[0], got[1] - after[1]}, reads())
	}
}

// TestFirstSessionCutsBuckets: a node that keeps no buckets of a
// collection's items (none of its sessions has read them since it opened)
// reads them whole once, keeping none, to cut them, and compares a Set made
// of them: what a session reads of it afterwards is a bucket.
func TestFirstSessionCutsBuckets(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	users := nodetest.AddUser(t, n)
	batch := make([]map[string]any, 1000)
	for i := range batch {
		batch[i] = map[string]any{"name": fmt.Sprintf("user %d", i)}
	}
	ids, err := users[0].CreateMany(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	found, err := gossipdb.LookUpInReconcileSet(users[0], string(ids[0]))
	if err != nil || !found {
		t.Fatalf("looking up a document in the set a session compares: %v, %v", found, err)
	}
	if m := n.Metrics(); m.SyncItemReads != 1 || m.SyncBucketReads != 1 {
		t.Fatalf("%d whole reads and %d bucket reads, want one of each: a read that cuts the buckets, then the bucket of the document", m.SyncItemReads, m.SyncBucketReads)
	}
}

// TestDifferingSessionReadsAroundTheDifference: between two nodes of 20,000
// documents that keep their items' buckets (about 80 each), a session after a
// change that gossip did not carry reads a few buckets on each side, never
// the collection whole, and pulls the change.
func TestDifferingSessionReadsAroundTheDifference(t *testing.T) {
	ctx := context.Background()
	opts := &gossipdb.Options{NoDiscovery: true, SyncInterval: time.Hour}
	n1 := nodetest.Open(t, "", opts)
	n2 := nodetest.Open(t, "", opts)
	users := nodetest.AddUser(t, n1, n2)
	const docs = 20_000
	var ids []gossipdb.DocID
	for len(ids) < docs {
		batch := make([]map[string]any, 1000)
		for i := range batch {
			batch[i] = map[string]any{"name": fmt.Sprintf("user %d", len(ids)+i), "age": i}
		}
		got, err := users[0].CreateMany(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	waitConverged(t, 60*time.Second, users...)
	gossipdb.SetGossipLoss(n2, 1)
	change := func(i int) {
		t.Helper()
		if err := users[0].Update(ctx, ids[i], map[string]any{"age": -i}); err != nil {
			t.Fatal(err)
		}
		// Bounded: a Sync waits for a session, and the test must say so if
		// none comes (see TestSyncThroughConnectionChurn).
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if _, err := n2.Sync(sctx, "User"); err != nil {
			st, _ := n2.SyncStatus("User")
			t.Fatalf("Sync after changing document %d: %v; sync status %+v", i, err, st)
		}
		waitConverged(t, 30*time.Second, users...)
	}
	type reads struct{ whole, buckets [2]uint64 }
	read := func() reads {
		m1, m2 := n1.Metrics(), n2.Metrics()
		return reads{[2]uint64{m1.SyncItemReads, m2.SyncItemReads}, [2]uint64{m1.SyncBucketReads, m2.SyncBucketReads}}
	}
	// Node 2 read the collection whole when it held none of it; a session
	// since may have cut its buckets anew (see TestFirstSessionCutsBuckets),
	// or this one does.
	change(0)
	before := read()
	change(docs / 2)
	after := read()
	if after.whole != before.whole {
		t.Fatalf("the session read the collection whole %v times, want none", [2]uint64{after.whole[0] - before.whole[0], after.whole[1] - before.whole[1]})
	}
	for side := range 2 {
		got := after.buckets[side] - before.buckets[side]
		t.Logf("node %d read %d buckets", side+1, got)
		if got == 0 || got > docs/256/2 {
			t.Errorf("node %d read %d buckets of about %d, want some and at most half", side+1, got, docs/256)
		}
	}
}

// TestSyncThroughConnectionChurn connects two nodes to each other at the same
// instant from both sides, again and again, and closes the connections in
// between: libp2p then holds two connections between them, or one whose
// closing is announced after the next one opened. Each time, both Syncs must
// end: catch-up must know its peer is connected whatever order the
// announcements of connections came in (a Sync once waited forever for a
// session that catch-up never scheduled, its peer unknown to it).
func TestSyncThroughConnectionChurn(t *testing.T) {
	ctx := context.Background()
	opts := &gossipdb.Options{NoDiscovery: true, SyncInterval: time.Hour}
	n1 := nodetest.Open(t, "", opts)
	n2 := nodetest.Open(t, "", opts)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodes := []*gossipdb.Node{n1, n2}
	const rounds = 30
	for round := range rounds {
		if _, err := users[round%2].Create(ctx, map[string]any{"name": fmt.Sprintf("user %d", round)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, n := range nodes {
			wg.Go(func() { errs[i] = n.Connect(ctx, nodes[1-i].PeerInfo()[0]) })
		}
		wg.Wait()
		if errs[0] != nil && errs[1] != nil {
			// Both dials can meet in one TCP connection (a simultaneous
			// open, both ends on their listening ports) that neither side
			// can secure; one side dials again.
			t.Logf("round %d: both dials failed: %v; %v", round, errs[0], errs[1])
			nodetest.Connect(t, n1, n2)
		}
		nodetest.Eventually(t, 10*time.Second, func() error {
			if !nodetest.HasPeer(n1, n2) || !nodetest.HasPeer(n2, n1) {
				return fmt.Errorf("round %d: the nodes do not list each other", round)
			}
			return nil
		})
		for i, n := range nodes {
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			_, err := n.Sync(sctx, "User")
			cancel()
			if err != nil {
				st, _ := n.SyncStatus("User")
				t.Fatalf("round %d: Sync of node %d: %v; sync status %+v", round, i+1, err, st)
			}
		}
		waitConverged(t, 20*time.Second, users...)
		// A connection the listening side was still setting up can outlive
		// one Disconnect: disconnect until none is left.
		nodetest.Eventually(t, 10*time.Second, func() error {
			if !nodetest.HasPeer(n1, n2) && !nodetest.HasPeer(n2, n1) {
				return nil
			}
			if err := n1.Disconnect(ctx, n2.ID()); err != nil {
				t.Fatal(err)
			}
			return fmt.Errorf("round %d: the nodes still list each other: %v %v", round, n1.ActivePeers(), n2.ActivePeers())
		})
	}
}

// TestSyncCountsASessionThatStartsAtOnce calls Sync again and again on a node
// in sync with four peers. The session a Sync asks for may start before Sync
// has looked at which sessions to wait for; it must count, or Sync waits for
// another that nothing asks for. The window is narrow: under -race about one
// session in 4,000 fell in it; four peers give four chances a Sync.
func TestSyncCountsASessionThatStartsAtOnce(t *testing.T) {
	ctx := context.Background()
	opts := &gossipdb.Options{NoDiscovery: true, SyncInterval: time.Hour}
	nodes := make([]*gossipdb.Node, 5)
	for i := range nodes {
		nodes[i] = nodetest.Open(t, "", opts)
	}
	nodetest.AddUser(t, nodes...)
	nodetest.Subscribe(t, "User", nodes...)
	for _, p := range nodes[1:] {
		nodetest.Connect(t, nodes[0], p)
	}
	for i := range 1000 {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := nodes[0].Sync(sctx, "User")
		cancel()
		if err != nil {
			t.Fatalf("Sync %d: %v", i, err)
		}
	}
}

// TestSyncAsksAgainForASessionTheFullQueueRefused syncs a node whose
// catch-up queue is full when Sync asks for its session with a peer: the
// request is refused, and Sync must ask again once there is room, rather than
// wait for a session nothing asks for (here none would come before the
// backstop, an hour away).
func TestSyncAsksAgainForASessionTheFullQueueRefused(t *testing.T) {
	ctx := context.Background()
	opts := &gossipdb.Options{NoDiscovery: true, SyncInterval: time.Hour}
	n1 := nodetest.Open(t, "", opts)
	n2 := nodetest.Open(t, "", opts)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	if _, err := users[1].Create(ctx, map[string]any{"name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	// The follow-ups of the subscription and the connection would ask for
	// the session again: let them pass.
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !gossipdb.CatchUpTimersDone(n1) {
			return errors.New("catch-up still has follow-ups to come")
		}
		return nil
	})
	release := gossipdb.FillCatchUp(n1, "User")
	wait, err := gossipdb.BeginSync(ctx, n1, "User")
	release()
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := wait(sctx)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(out) != 1 || out[0].Peer != n2.ID() {
		t.Fatalf("Sync reported sessions %+v, want one with %s", out, n2.ID())
	}
	waitConverged(t, 10*time.Second, users...)
}

// TestPeersThatLeaveAtOnceAreNoFailedCatchUp: a connection that closes as
// soon as it opens, such as the dial-back of a peer's AutoNAT checking
// whether this node can be reached (from a throwaway peer ID), is no peer to
// catch up with: the node starts no session with it, so it neither warns that
// catch-up with it failed nor counts a failed session, and it logs the
// connection at debug level only. Half the peers close once identify has
// run on their side, half without waiting for it.
func TestPeersThatLeaveAtOnceAreNoFailedCatchUp(t *testing.T) {
	const peers = 20
	ctx := context.Background()
	var logs nodetest.LogBuffer
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true, Logger: logs.Logger()})
	nodetest.AddUser(t, n)
	nodetest.Subscribe(t, "User", n)
	info, err := gossipdb.ParseAddr(n.PeerInfo()[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range peers {
		h, err := libp2p.New(libp2p.NoListenAddrs)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			err = h.Connect(ctx, *info) // returns once identify has run
		} else {
			h.Peerstore().AddAddrs(info.ID, info.Addrs, time.Minute)
			_, err = h.Network().DialPeer(ctx, info.ID)
		}
		if err != nil {
			h.Close()
			t.Fatal(err)
		}
		id := h.ID().String()
		nodetest.Eventually(t, 10*time.Second, func() error {
			if !slices.ContainsFunc(n.ActivePeers(), func(a string) bool { return strings.HasSuffix(a, id) }) {
				return fmt.Errorf("peer %d is not connected to the node", i)
			}
			return nil
		})
		h.Close()
		nodetest.Eventually(t, 10*time.Second, func() error {
			if !strings.Contains(logs.String(), `msg="Peer disconnected" peer=`+id) {
				return fmt.Errorf("peer %d: the node logged no disconnection", i)
			}
			return nil
		})
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if st, err := n.SyncStatus("User"); err != nil || st.Running > 0 || len(st.Peers) > 0 {
			return fmt.Errorf("sessions left: %+v, %v", st, err)
		}
		return nil
	})
	out := logs.String()
	if f := n.Metrics().CatchUpsFailed; f != 0 || strings.Contains(out, "Catch-up failed") {
		t.Errorf("%d catch-up sessions failed with %d peers that left at once:\n%s", f, peers, out)
	}
	if strings.Contains(out, `level=INFO msg="Peer connected"`) || strings.Contains(out, `level=INFO msg="Peer disconnected"`) {
		t.Errorf("peers that left at once logged at info level:\n%s", out)
	}
	if known := n.KnownPeers(); len(known) != 0 {
		t.Errorf("KnownPeers lists peers that do not run gossipdb: %+v", known)
	}
}

// TestPeersThatDoNotRunGossipdbHaveNoCatchUp: a libp2p peer that stays
// connected and does not run gossipdb (identify tells that it does not serve
// catch-up) has no catch-up session: no warning, no failed session, nothing in
// SyncStatus, and Sync does not wait for it. The node logs its connection
// and disconnection at debug level only. A gossipdb peer connected beside it
// is caught up with as before.
func TestPeersThatDoNotRunGossipdbHaveNoCatchUp(t *testing.T) {
	ctx := context.Background()
	var logs nodetest.LogBuffer
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true, Logger: logs.Logger()})
	users := nodetest.AddUser(t, n1, n2)
	writeHistory(t, users[0], 20)
	nodetest.Subscribe(t, "User", n2)
	info, err := gossipdb.ParseAddr(n2.PeerInfo()[0])
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	id := h.ID().String()
	if err := h.Connect(ctx, *info); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n2, n1)
	sessions, err := n2.Sync(ctx, "User")
	if err != nil || len(sessions) != 1 || sessions[0].Peer != n1.ID() {
		t.Fatalf("Sync: %+v, %v; want one session, with the gossipdb peer %s", sessions, err, n1.ID())
	}
	waitConverged(t, 10*time.Second, users...)
	var st gossipdb.SyncStatus
	nodetest.Eventually(t, 10*time.Second, func() error {
		if st, err = n2.SyncStatus("User"); err != nil || st.Running > 0 {
			return fmt.Errorf("sessions running: %+v, %v", st, err)
		}
		return nil
	})
	for _, p := range st.Peers {
		if p.Peer == id {
			t.Errorf("a catch-up session with the libp2p peer: %+v", p)
		}
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), `level=DEBUG msg="Peer connected" peer=`+id) {
			return errors.New("the node logged no connection of the libp2p peer at debug level")
		}
		return nil
	})
	h.Close()
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), `level=DEBUG msg="Peer disconnected" peer=`+id) {
			return errors.New("the node logged no disconnection of the libp2p peer at debug level")
		}
		return nil
	})
	out := logs.String()
	if f := n2.Metrics().CatchUpsFailed; f != 0 || strings.Contains(out, "Catch-up failed") {
		t.Errorf("%d catch-up sessions failed:\n%s", f, out)
	}
	if strings.Contains(out, `level=INFO msg="Peer connected" peer=`+id) || strings.Contains(out, `level=INFO msg="Peer disconnected" peer=`+id) {
		t.Errorf("the libp2p peer logged at info level:\n%s", out)
	}
	if !strings.Contains(out, `level=INFO msg="Peer connected" peer=`+n1.ID()) {
		t.Errorf("the gossipdb peer's connection not logged at info level:\n%s", out)
	}
}

// TestCatchUpStartsOnceAPeerServesIt: a peer whose identify told protocols
// without catch-up, and that serves it later (as a gossipdb node does that
// was still starting when it connected), is caught up with as soon as
// identify tells of the change.
func TestCatchUpStartsOnceAPeerServesIt(t *testing.T) {
	ctx := context.Background()
	var logs nodetest.LogBuffer
	n := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true, Logger: logs.Logger()})
	nodetest.AddUser(t, n)
	nodetest.Subscribe(t, "User", n)
	info, err := gossipdb.ParseAddr(n.PeerInfo()[0])
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	id := h.ID().String()
	if err := h.Connect(ctx, *info); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), `level=DEBUG msg="Peer connected" peer=`+id) {
			return errors.New("the node logged no connection of the peer at debug level")
		}
		return nil
	})
	asked := make(chan struct{}, 1)
	h.SetStreamHandler(reconcile.ProtocolID, func(s network.Stream) {
		s.Reset()
		select {
		case asked <- struct{}{}:
		default:
		}
	})
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatalf("no catch-up session with a peer that serves catch-up since:\n%s", logs.String())
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(logs.String(), `level=INFO msg="Peer connected" peer=`+id) {
			return errors.New("the peer's connection not logged at info level once it served catch-up")
		}
		return nil
	})
}
