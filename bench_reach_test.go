package gossipdb_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// arrivalLog records when each node's Watch delivered each remote change.
type arrivalLog struct {
	mu sync.Mutex
	at map[gossipdb.DocID][]time.Time
}

func (a *arrivalLog) watch(ctx context.Context, b *testing.B, c *gossipdb.Collection, wg *sync.WaitGroup) {
	events, err := c.Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	wg.Go(func() {
		for ev := range events {
			if ev.Remote() {
				now := time.Now()
				a.mu.Lock()
				a.at[ev.DocID] = append(a.at[ev.DocID], now)
				a.mu.Unlock()
			}
		}
	})
}

// wait returns the first and last arrival of id once want nodes have it.
func (a *arrivalLog) wait(b *testing.B, id gossipdb.DocID, want int) (first, last time.Time) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a.mu.Lock()
		ts := a.at[id]
		if len(ts) >= want {
			first = slices.MinFunc(ts, time.Time.Compare)
			last = slices.MaxFunc(ts, time.Time.Compare)
			delete(a.at, id)
		}
		a.mu.Unlock()
		if !first.IsZero() {
			return first, last
		}
		if time.Now().After(deadline) {
			b.Fatalf("document %s reached %d of %d nodes", id, len(ts), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkFiftyNodes: the network of TestDiscoveryNetworkConverges (50
// nodes, each knowing one random earlier node; Alpha and Beta in overlapping
// groups of 33). It reports the seconds from the first Open until every node
// has at least 3 peers on each of its collections (s-to-3-peers; and from the
// last Open, s-after-open), then for creates on random Alpha subscribers
// (one per op, after writing for p2pWarmUp): the latency until the first other subscriber has the change
// (one-hop) and until the last one has it (last-node), p50 and p99; the pubsub
// messages and bytes each subscriber received per write (gossip amplification,
// duplicates and mesh control included); and the process's RSS per node.
func BenchmarkFiftyNodes(b *testing.B) {
	selectedByName(b)
	const nodes = 50
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seed := nodetest.Seed(b)
	rng := rand.New(rand.NewPCG(seed, 0))
	start := time.Now()
	net := startDiscoveryNet(b, nodes, rng, time.Hour)
	opened := time.Now()
	nodetest.Eventually(b, 60*time.Second, func() error { return net.shortOfPeers(3) })
	toPeers, afterOpen := time.Since(start), time.Since(opened)

	members := net.members["Alpha"]
	log := &arrivalLog{at: map[gossipdb.DocID][]time.Time{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, i := range members {
		log.watch(ctx, b, net.cols["Alpha"][i], &wg)
	}
	gossip := func() (msgs, bytes uint64) {
		for _, i := range members {
			m := net.nodes[i].Metrics()
			msgs += m.GossipMessages
			bytes += m.GossipBytes
		}
		return msgs, bytes
	}
	write := func() (oneHop, last time.Duration) {
		c := net.cols["Alpha"][members[rng.IntN(len(members))]]
		t0 := time.Now()
		id, err := c.Create(ctx, map[string]any{"name": "x", "n": 1})
		if err != nil {
			b.Fatal(err)
		}
		first, lastAt := log.wait(b, id, len(members)-1)
		return first.Sub(t0), lastAt.Sub(t0)
	}
	for t0 := time.Now(); time.Since(t0) < p2pWarmUp; { // meshes and discovery settle
		write()
	}
	msgs0, bytes0 := gossip()
	var hop, all []time.Duration
	for b.Loop() {
		h, l := write()
		hop = append(hop, h)
		all = append(all, l)
	}
	msgs1, bytes1 := gossip()
	// b.Loop clears the metrics reported before it.
	b.ReportMetric(toPeers.Seconds(), "s-to-3-peers")
	b.ReportMetric(afterOpen.Seconds(), "s-after-open")
	writes := float64(len(hop))
	receivers := float64(len(members))
	b.ReportMetric(float64(percentile(hop, 0.5).Microseconds())/1000, "ms-one-hop-p50")
	b.ReportMetric(float64(percentile(hop, 0.99).Microseconds())/1000, "ms-one-hop-p99")
	b.ReportMetric(float64(percentile(all, 0.5).Microseconds())/1000, "ms-last-node-p50")
	b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "ms-last-node-p99")
	b.ReportMetric(float64(msgs1-msgs0)/writes/receivers, "msgs/write/node")
	b.ReportMetric(float64(bytes1-bytes0)/writes/receivers, "B/write/node")
	b.ReportMetric(vmRSS(b)/nodes/(1<<20), "MiB-RSS/node")
}

// BenchmarkNATDirect: the network of TestNATHolePunching. It reports the
// seconds from starting the nodes until the two NATed nodes are connected
// directly (s-to-direct: AutoNAT, relay reservation, discovery through the
// relay, hole punching), then, over the punched connection, the latency of a
// create on one until the other has it (one op is one create), and the
// end-to-end throughput of one CreateMany of 1,000 documents of 1 KiB: from
// the call on one node until the other has merged the last document.
func BenchmarkNATDirect(b *testing.B) {
	selectedByName(b)
	start := time.Now()
	lab := startNATLab(b)
	lab.waitDirect(b, 90*time.Second)
	toDirect := time.Since(start)
	var lat []time.Duration
	for b.Loop() {
		r := lab.a.call(netRequest{Op: "create", Count: 1, Size: 8})
		at := lab.b.waitDoc(r.ID, 30*time.Second)
		lat = append(lat, time.Duration(at-r.Start))
	}
	b.ReportMetric(toDirect.Seconds(), "s-to-direct")
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "ms-p99")
	const docs, size = 1000, 1 << 10
	r := lab.a.call(netRequest{Op: "create", Count: docs, Size: size})
	at := lab.b.waitDoc(r.ID, 60*time.Second)
	b.ReportMetric(float64(docs*size)/(1<<20)/time.Duration(at-r.Start).Seconds(), "MiB/s")
}
