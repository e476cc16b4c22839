package gossipdb_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// BenchmarkTxnUpdate10 runs transactions that each update two fields of 10
// documents, on a durable node (on disk, fsync at each commit): one op is one
// transaction. serial runs them one after the other, so each pays a whole
// fsync; parallel runs them from 8 goroutines on disjoint documents, as
// concurrent clients would, and Badger commits those that arrive together with
// one fsync. serial-nosync is serial with Options.NoSync: what the
// transaction costs besides the fsync. Target: ≥ 2,000 txns/s.
func BenchmarkTxnUpdate10(b *testing.B) {
	const perTxn = 10
	ctx := context.Background()
	open := func(b *testing.B, opts *gossipdb.Options) (*gossipdb.Node, []gossipdb.DocID) {
		n, err := gossipdb.Open(b.TempDir(), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close() })
		cs, err := n.AddCollection(ctx, benchSDL)
		if err != nil {
			b.Fatal(err)
		}
		return n, benchDocs(b, cs[0], 1000)
	}
	update := func(b *testing.B, n *gossipdb.Node, ids []gossipdb.DocID, k int) {
		err := n.Update(ctx, func(tx *gossipdb.Txn) error {
			for i := range perTxn {
				if err := tx.Update("User", ids[(k*perTxn+i)%len(ids)], map[string]any{"age": k % 100, "points": float64(k)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Error(err)
		}
	}
	serial := func(opts *gossipdb.Options) func(b *testing.B) {
		return func(b *testing.B) {
			n, ids := open(b, opts)
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				update(b, n, ids, k)
				k++
			}
			reportRate(b, k, "txns/s")
		}
	}
	b.Run("serial", serial(nil))
	b.Run("serial-nosync", serial(&gossipdb.Options{NoSync: true}))
	b.Run("parallel", func(b *testing.B) {
		const writers = 8
		n, ids := open(b, nil)
		var next atomic.Int64
		b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			w := int(next.Add(1)) // each writer its own 100 documents
			own := ids[(w%writers)*100 : (w%writers+1)*100]
			for k := 0; pb.Next(); k++ {
				update(b, n, own, k)
			}
		})
		reportRate(b, b.N, "txns/s")
	})
}

// BenchmarkReplicationTxns: node 1 creates 10,000 documents in transactions
// of 10 (each with its seal); an op is the time from the first write until
// node 2 has merged all of them, each transaction whole, by gossip. Both nodes
// are in memory, as in BenchmarkReplicationThroughput. Target: ≥ 10,000 docs/s.
func BenchmarkReplicationTxns(b *testing.B) {
	const total, perTxn = 10_000, 10
	ctx := context.Background()
	n1 := nodetest.Open(b, "", nil)
	n2 := nodetest.Open(b, "", nil)
	nodetest.AddUser(b, n1, n2)
	nodetest.Connect(b, n1, n2)
	subscribeAll(b, n2)
	nodetest.WaitTopicPeers(b, n1, "User", n2)
	txn := func(base int) {
		err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
			for j := range perTxn {
				if _, err := tx.Create("User", p2pUser(base+j)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for start, i := time.Now(), 0; time.Since(start) < p2pWarmUp; i++ {
		want := n2.Metrics().MergedBlocks + perTxn + 1
		txn(i * perTxn)
		waitMerged(b, n2, want, time.Millisecond)
	}
	var writing time.Duration
	ops := 0
	for b.Loop() {
		ops++
		want := n2.Metrics().MergedBlocks + total + total/perTxn
		start := time.Now()
		for i := 0; i < total; i += perTxn {
			txn(i)
		}
		writing += time.Since(start)
		waitMerged(b, n2, want, time.Millisecond)
	}
	b.ReportMetric(float64(total*ops)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(total*ops)/writing.Seconds(), "write-docs/s")
	if m := n2.Metrics(); m.Fetches != 0 || m.EvictedTxnBlocks != 0 || m.DroppedMessages != 0 {
		b.Logf("node 2 needed history fetches or dropped blocks: %+v", m)
	}
}
