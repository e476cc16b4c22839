package sim

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/internal/nodetest"

	"github.com/gossipdb/gossipdb/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	seedFlag  = flag.Uint64("seed", 0, "replay the schedule with this seed only (0: run -sim.schedules schedules)")
	traceFlag = flag.Bool("trace", false, "print every event of the schedules run")
)

// openStores opens n small in-memory stores, closed at the end of the test.
func openStores(tb testing.TB, n int) []*store.Store {
	tb.Helper()
	var out []*store.Store
	for range n {
		s, err := store.Open("", &store.Options{MemTableSize: 8 << 20})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

func TestSimFaultFree(t *testing.T) {
	stores := openStores(t, 5)
	cfg := Config{Seed: 1, Ops: 200}
	if *traceFlag {
		cfg.Trace = os.Stdout
	}
	r, err := Run(cfg, stores)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if r.Acked == 0 || r.Converged < 0 {
		t.Fatalf("report %+v: want writes and convergence", r)
	}
}

var schedules = flag.Int("sim.schedules", defaultSchedules, "how many schedules TestSim runs (each of 5 nodes, 200 operations, 20 faults)")

// TestSim runs -sim.schedules schedules with seeds drawn from nodetest's seed,
// or only the one of -seed, and fails with the seed of each failing schedule.
func TestSim(t *testing.T) {
	stores := openStores(t, 5)
	seeds := []uint64{*seedFlag}
	if *seedFlag == 0 {
		base := nodetest.Seed(t)
		seeds = seeds[:0]
		for i := range uint64(*schedules) {
			seeds = append(seeds, base+i)
		}
	}
	var total Totals
	for _, seed := range seeds {
		cfg := Config{Seed: seed, Ops: 200, Faults: 20}
		if *traceFlag {
			cfg.Trace = os.Stdout
		}
		r, err := Run(cfg, stores)
		if r != nil {
			total.Add(r)
		}
		if err != nil {
			t.Errorf("%v\nreplay: go test ./internal/sim -run 'Sim$' -seed=%d -trace", err, seed)
		}
	}
	t.Log(total.String())
}
