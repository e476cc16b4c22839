package sim

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"

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
