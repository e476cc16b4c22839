package nodetest_test

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a testing.TB that keeps what Seed logs and whether it failed.
type recorder struct {
	testing.TB
	logs  []string
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestSeedIsLoggedAndTakenBack(t *testing.T) {
	t.Setenv(nodetest.SeedEnv, "")
	r := &recorder{TB: t}
	fresh := nodetest.Seed(r)
	want := fmt.Sprintf("%s=%d ", nodetest.SeedEnv, fresh)
	if len(r.logs) != 1 || !strings.Contains(r.logs[0], want) {
		t.Fatalf("Seed logged %q, want one line with %q", r.logs, want)
	}

	t.Setenv(nodetest.SeedEnv, fmt.Sprint(fresh))
	r = &recorder{TB: t}
	if got := nodetest.Seed(r); got != fresh || r.fatal != "" {
		t.Errorf("with %s=%d: Seed = %d (fatal %q), want %d", nodetest.SeedEnv, fresh, got, r.fatal, fresh)
	}
	if len(r.logs) != 1 || !strings.Contains(r.logs[0], want) {
		t.Errorf("with %s=%d: Seed logged %q, want one line with %q", nodetest.SeedEnv, fresh, r.logs, want)
	}
}

func TestSeedRejectsBadValue(t *testing.T) {
	for _, bad := range []string{"x", "-1", "18446744073709551616"} {
		t.Setenv(nodetest.SeedEnv, bad)
		r := &recorder{TB: t}
		nodetest.Seed(r)
		if !strings.Contains(r.fatal, nodetest.SeedEnv) {
			t.Errorf("%s=%q: fatal %q, want a failure naming %s", nodetest.SeedEnv, bad, r.fatal, nodetest.SeedEnv)
		}
	}
}
