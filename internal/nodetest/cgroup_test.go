package nodetest_test

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// allocateEnv makes the test binary a child that takes allocateEnv's bytes.
const allocateEnv = "GOSSIPDB_TEST_ALLOCATE"

// TestMemoryCgroup: a process run with the cgroup's prefix is charged to it,
// and killed when it takes more than the limit; Peak and OOMKills say so. It
// runs the test binary as a child that takes 64 MiB in a 32 MiB cgroup.
func TestMemoryCgroup(t *testing.T) {
	if os.Getenv(allocateEnv) != "" {
		b := make([]byte, 64<<20)
		for i := 0; i < len(b); i += 4096 { // each page resident
			b[i] = 1
		}
		os.Exit(int(b[len(b)-4096]) - 1)
	}
	const limit = 32 << 20
	c := nodetest.MemoryCgroup(t, limit)
	if n, err := c.OOMKills(); err != nil || n != 0 {
		t.Fatalf("OOMKills of a new cgroup: %d, %v; want 0", n, err)
	}
	args := append(c.Prefix(), os.Args[0], "-test.run=^TestMemoryCgroup$")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), allocateEnv+"=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("a child taking 64 MiB in a %d-byte cgroup: %v, want killed by SIGKILL:\n%s", limit, err, out)
	}
	if n, err := c.OOMKills(); err != nil || n != 1 {
		t.Errorf("OOMKills: %d, %v; want 1", n, err)
	}
	if peak, err := c.Peak(); err != nil || peak < limit/2 || peak > limit {
		t.Errorf("Peak: %d, %v; want from %d to the limit, %d", peak, err, limit/2, limit)
	}
}
