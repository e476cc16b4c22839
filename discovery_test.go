package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// The two collections of the discovery network: node i subscribes to Alpha
// when i%3 != 0 and to Beta when i%3 != 1, so a third of the nodes have both.
const (
	alphaSDL = `type Alpha { name: String n: Int @crdt(type: pncounter) }`
	betaSDL  = `type Beta { name: String n: Int @crdt(type: pncounter) }`
)

// discoveryNet is a network of in-memory nodes in which every node but the
// first knows one bootstrap peer, a random earlier node.
type discoveryNet struct {
	nodes   []*gossipdb.Node
	members map[string][]int                  // collection name → subscribed nodes
	cols    map[string][]*gossipdb.Collection // collection name → by node, nil if not subscribed
}

func subscribes(i int, name string) bool {
	if name == "Alpha" {
		return i%3 != 0
	}
	return i%3 != 1
}

// startDiscoveryNet opens n nodes, each knowing one earlier node chosen with
// rng, and subscribes them to Alpha and Beta in overlapping groups. Each node
// reconciles with its peers every syncInterval.
func startDiscoveryNet(tb testing.TB, n int, rng *rand.Rand, syncInterval time.Duration) *discoveryNet {
	tb.Helper()
	ctx := context.Background()
	net := &discoveryNet{
		nodes:   make([]*gossipdb.Node, n),
		members: map[string][]int{},
		cols:    map[string][]*gossipdb.Collection{"Alpha": make([]*gossipdb.Collection, n), "Beta": make([]*gossipdb.Collection, n)},
	}
	for i := range net.nodes {
		opts := &gossipdb.Options{SyncInterval: syncInterval}
		if i > 0 {
			opts.Peers = []string{net.nodes[rng.IntN(i)].PeerInfo()[0]}
		}
		nd := nodetest.Open(tb, "", opts)
		net.nodes[i] = nd
		for _, sdl := range []string{alphaSDL, betaSDL} {
			cols, err := nd.AddCollection(ctx, sdl)
			if err != nil {
				tb.Fatal(err)
			}
			name := cols[0].Name()
			if subscribes(i, name) {
				if err := nd.Subscribe(ctx, name); err != nil {
					tb.Fatal(err)
				}
				net.members[name] = append(net.members[name], i)
				net.cols[name][i] = cols[0]
			}
		}
	}
	return net
}

// shortOfPeers returns an error naming a node that has fewer than want
// connected peers subscribed to one of its collections, nil when none has.
func (net *discoveryNet) shortOfPeers(want int) error {
	for name, idx := range net.members {
		for _, i := range idx {
			got, err := net.nodes[i].TopicPeers(name)
			if err != nil {
				return err
			}
			if len(got) < want {
				return fmt.Errorf("node %d has %d peers on %s, want %d", i, len(got), name, want)
			}
		}
	}
	return nil
}

// partitioned returns an error when the subscribers of a collection, linked by
// the topic peers each one sees, do not form one connected graph: then some
// changes could not reach every subscriber by gossip.
func (net *discoveryNet) partitioned() error {
	for name, idx := range net.members {
		byID := map[string]int{}
		for _, i := range idx {
			byID[net.nodes[i].ID()] = i
		}
		seen := map[int]bool{idx[0]: true}
		queue := []int{idx[0]}
		for len(queue) > 0 {
			i := queue[0]
			queue = queue[1:]
			peers, err := net.nodes[i].TopicPeers(name)
			if err != nil {
				return err
			}
			for _, p := range peers {
				if j, ok := byID[p]; ok && !seen[j] {
					seen[j] = true
					queue = append(queue, j)
				}
			}
		}
		if len(seen) != len(idx) {
			return fmt.Errorf("%s: node %d reaches %d of the %d subscribers", name, idx[0], len(seen), len(idx))
		}
	}
	return nil
}

// TestDiscoveryFindsCollectionPeers: nodes that know only a hub not subscribed
// to their collection find each other through the DHT and connect.
func TestDiscoveryFindsCollectionPeers(t *testing.T) {
	hub := nodetest.Open(t, "", nil)
	opts := &gossipdb.Options{Peers: []string{hub.PeerInfo()[0]}}
	ns := []*gossipdb.Node{nodetest.Open(t, "", opts), nodetest.Open(t, "", opts), nodetest.Open(t, "", opts)}
	nodetest.AddUser(t, ns...)
	subscribeAll(t, ns...)
	for i, n := range ns {
		others := append(append([]*gossipdb.Node{}, ns[:i]...), ns[i+1:]...)
		nodetest.WaitTopicPeers(t, n, "User", others...)
	}
}

// TestCollectionPeersProtected: the connection manager keeps the peers of a
// subscribed collection, and lets them go once the node unsubscribes.
func TestCollectionPeersProtected(t *testing.T) {
	ctx := context.Background()
	a, b := nodetest.Open(t, "", nil), nodetest.Open(t, "", nil)
	nodetest.AddUser(t, a, b)
	subscribeAll(t, a, b)
	nodetest.Connect(t, a, b)
	protected := func(want bool) func() error {
		return func() error {
			if got := gossipdb.CollectionProtected(a, b.ID()); got != want {
				return fmt.Errorf("b protected on a: %v, want %v", got, want)
			}
			return nil
		}
	}
	nodetest.Eventually(t, 10*time.Second, protected(true))
	if err := a.Unsubscribe(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, protected(false))
}

// TestDiscoveryNetworkConverges: 50 nodes, each knowing one bootstrap peer,
// subscribed to two collections in overlapping groups, find at least three
// peers per collection each, then converge after concurrent writes on every
// node. With the race detector, which makes 50 nodes take minutes on two
// cores, the network has 20 nodes.
func TestDiscoveryNetworkConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("50 nodes: not in -short")
	}
	ctx := context.Background()
	const writes = 4
	nodes := 50
	if raceEnabled {
		nodes = 20
	}
	seed := nodetest.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	start := time.Now()
	// Gossip may lose changes on a loaded machine; catch-up every 5 s repairs
	// them, as SyncInterval does in any network.
	net := startDiscoveryNet(t, nodes, rng, 5*time.Second)
	t.Logf("%d nodes open after %v", nodes, time.Since(start))
	nodetest.Eventually(t, 60*time.Second, func() error {
		if err := net.shortOfPeers(3); err != nil {
			return err
		}
		return net.partitioned()
	})
	t.Logf("3 peers per collection after %v", time.Since(start))

	var wg sync.WaitGroup
	for name, idx := range net.members {
		for _, i := range idx {
			c := net.cols[name][i]
			wg.Go(func() {
				for w := range writes {
					id, err := c.Create(ctx, map[string]any{"name": fmt.Sprintf("node%d-%d", i, w), "n": 1})
					if err != nil {
						t.Errorf("node %d: %v", i, err)
						return
					}
					if err := c.Update(ctx, id, map[string]any{"n": 2}); err != nil {
						t.Errorf("node %d: %v", i, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	t.Logf("writes done after %v", time.Since(start))
	for name, idx := range net.members {
		first := net.cols[name][idx[0]]
		nodetest.Eventually(t, 60*time.Second, func() error {
			want, err := first.Fingerprint(ctx)
			if err != nil {
				return err
			}
			for _, i := range idx[1:] {
				if got, err := net.cols[name][i].Fingerprint(ctx); err != nil || got != want {
					return fmt.Errorf("%s: node %d differs from node %d (%v)", name, i, idx[0], err)
				}
			}
			return nil
		})
		snap := nodetest.Snapshot(t, first)
		if len(snap) != writes*len(idx) {
			t.Errorf("%s: %d documents, want %d", name, len(snap), writes*len(idx))
		}
		for id, doc := range snap {
			if doc["n"] != int64(3) {
				t.Errorf("%s: document %s has n = %v, want 3", name, id, doc["n"])
			}
		}
	}
}

func TestDiscoveryOptionsValidated(t *testing.T) {
	for _, tc := range []struct {
		opts  gossipdb.Options
		field string
	}{
		{gossipdb.Options{PeersPerCollection: -1}, "Options.PeersPerCollection"},
		{gossipdb.Options{PeersPerCollection: 65}, "Options.PeersPerCollection"},
		{gossipdb.Options{Relays: []string{"/ip4/127.0.0.1/tcp/1"}}, "Options.Relays"},
	} {
		_, err := gossipdb.Open("", &tc.opts)
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Open(%+v) = %v, want ErrInvalid naming %s", tc.opts, err, tc.field)
		}
	}
}
