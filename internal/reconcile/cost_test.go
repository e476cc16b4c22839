package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/internal/reconcile"
)

// fullListSize is the size of a list of 100,000 document IDs and hashes, what a
// naive exchange would send.
const fullListSize = 100_000 * (59 + 32)

// scenarios are the differences measured at n = 100,000.
var scenarios = []struct {
	name string
	d    int
}{
	{"in-sync", 0},
	{"1", 1},
	{"10", 10},
	{"1pct", 1_000},
	{"10pct", 10_000},
	{"100pct", 100_000},
}

// TestCost100k runs the in-memory exchange at n = 100,000 for each scenario,
// checks the difference found and the cost bounds, and logs the figures (message
// bytes, without framing).
func TestCost100k(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if testing.Short() && sc.d > 10 {
				t.Skip("large difference")
			}
			p := docPair(100_000, sc.d, 1)
			r := exchange(t, mustSet(t, p.a), mustSet(t, p.b), limits{}, reconcile.DefaultMaxRounds)
			checkResult(t, r, p)
			total := r.BytesSent + r.BytesReceived
			t.Logf("%d differing: %d rounds, %d bytes (%d sent, %d received), %.2f%% of the full list",
				sc.d, r.Rounds, total, r.BytesSent, r.BytesReceived, 100*float64(total)/fullListSize)
			switch {
			case sc.d == 0 && (total > 1024 || r.Rounds != 1):
				t.Fatalf("agreement cost %d bytes in %d rounds", total, r.Rounds)
			case sc.d == 10 && total >= fullListSize/10:
				t.Fatalf("10 differences cost %d bytes", total)
			}
		})
	}
}

// BenchmarkReconcile runs sessions over libp2p between two hosts on 127.0.0.1 at
// n = 100,000, for each scenario, and reports the bytes of both directions
// (framing included) and the round trips of a session. The time includes both
// sides indexing their snapshots.
func BenchmarkReconcile(b *testing.B) {
	e := newEnv(b, nil)
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			p := docPair(100_000, sc.d, 1)
			col := collectionID(b, sc.name)
			e.cols.mu.Lock()
			e.cols.sets[col] = p.b
			e.cols.mu.Unlock()
			var r reconcile.Result
			for b.Loop() {
				var err error
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				r, err = reconcile.Reconcile(ctx, e.client, e.server.ID(), col, p.a, "", nil)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
			checkResult(b, r, p)
			b.ReportMetric(float64(r.BytesSent+r.BytesReceived), "bytes/op")
			b.ReportMetric(float64(r.Rounds), "rounds/op")
		})
	}
}

// Example reconciles two small sets in memory: the initiator holds a, b and c,
// the responder a, b (another version) and d.
func Example() {
	item := func(key, version string) reconcile.Item {
		var h [32]byte
		copy(h[:], version)
		return reconcile.Item{Key: key, Hash: h}
	}
	ours, _ := reconcile.NewSet([]reconcile.Item{item("a", "1"), item("b", "1"), item("c", "1")})
	theirs, _ := reconcile.NewSet([]reconcile.Item{item("a", "1"), item("b", "2"), item("d", "1")})

	s := reconcile.NewSession(ours)
	msg := s.Initiate()
	for {
		answer, err := reconcile.Respond(theirs, msg) // on the peer
		if err != nil {
			panic(err)
		}
		next, done, err := s.Reply(answer)
		if err != nil {
			panic(err)
		}
		if done {
			break
		}
		msg = next
	}
	r := s.Result()
	fmt.Println("need:", r.Need)
	fmt.Println("offer:", r.Offer)
	fmt.Println("rounds:", r.Rounds)
	// Output:
	// need: [b d]
	// offer: [b c]
	// rounds: 1
}

// BenchmarkNewSet measures indexing a snapshot of 100,000 items, which each side
// of a session does once.
func BenchmarkNewSet(b *testing.B) {
	p := docPair(100_000, 0, 1)
	for b.Loop() {
		if _, err := reconcile.NewSet(p.a); err != nil {
			b.Fatal(err)
		}
	}
}
