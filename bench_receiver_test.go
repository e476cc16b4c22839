package gossipdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// BenchmarkSubscribedPeerCost measures what a subscribed peer on disk costs
// a writer (issue 17, cheap receivers): two writers on disk in one run, one
// alone and one with a peer on disk on the same machine subscribed to its
// collection, each making receiverRound durable creates in turn. After each
// round of the writer with a peer, and before the next timed round, the peer
// finishes merging, so that the lone writer's rounds run with the peer idle:
// what the writer with a peer pays is the peer's work while it writes. It
// reports each writer's rate and with/alone (the target is at least 0.85).
func BenchmarkSubscribedPeerCost(b *testing.B) {
	ctx := context.Background()
	alone := nodetest.Open(b, b.TempDir(), nil)
	writer := nodetest.Open(b, b.TempDir(), nil)
	peer := nodetest.Open(b, b.TempDir(), nil)
	users := nodetest.AddUser(b, alone, writer, peer)
	warmPair(b, writer, peer, users[1], users[2])
	round := func(c *gossipdb.Collection, from int) time.Duration {
		start := time.Now()
		for i := range receiverRound {
			if _, err := c.Create(ctx, p2pUser(from+i)); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var lone, withPeer time.Duration
	n := 0
	for b.Loop() {
		lone += round(users[0], n)
		want := peer.Metrics().MergedBlocks + receiverRound
		withPeer += round(users[1], n)
		waitMerged(b, peer, want, time.Millisecond)
		n += receiverRound
	}
	loneRate := float64(n) / lone.Seconds()
	peerRate := float64(n) / withPeer.Seconds()
	b.ReportMetric(loneRate, "alone-creates/s")
	b.ReportMetric(peerRate, "with-peer-creates/s")
	b.ReportMetric(peerRate/loneRate, "with/alone")
	if m := peer.Metrics(); m.Fetches != 0 || m.DroppedOrphans != 0 || m.DroppedMessages != 0 {
		b.Logf("the peer needed history fetches or dropped messages: %+v", m)
	}
}

// receiverRound is how many creates each writer makes in one op of
// BenchmarkSubscribedPeerCost.
const receiverRound = 200
