package gossipdb_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// catchUpCrashBatch is how many documents the writer of TestCatchUpCrash
// writes while the receiver is down, before each round.
const catchUpCrashBatch = 2000

// TestCatchUpCrash kills with SIGKILL, at random moments (nodetest.Seed), a
// receiver on disk (receiverCrashChild) while it catches up with a writer on
// the documents it wrote while the receiver was down, which it can only get
// by catch-up: after the restart its store is consistent, it holds every
// document it had merged, and, connected to the writer again, it finishes
// catching up by itself (no Sync call), to the writer's state.
func TestCatchUpCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 4 child processes: skipped in -short")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 23))
	writer := nodetest.Open(t, t.TempDir(), nil)
	users := nodetest.AddUser(t, writer)[0]
	dir := t.TempDir()
	merged := map[gossipdb.DocID]bool{}
	for round := range 4 {
		batch := make([]map[string]any, catchUpCrashBatch)
		for i := range batch {
			batch[i] = map[string]any{"name": fmt.Sprint("user ", round, " ", i), "age": i}
		}
		if _, err := users.CreateMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), receiverCrashChildEnv+"="+dir+"\n"+writer.PeerInfo()[0])
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 1 + rng.IntN(catchUpCrashBatch-1) // merges of this round's documents
		lines := bufio.NewScanner(out)
		seen := 0
		for seen < killAfter && lines.Scan() {
			if strings.HasPrefix(lines.Text(), "ERR") {
				t.Fatalf("round %d: receiver: %s", round, lines.Text())
			}
			if id, ok := strings.CutPrefix(lines.Text(), "GOT "); ok {
				merged[gossipdb.DocID(id)] = true
				seen++
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() { // merges reported before the kill landed
			if id, ok := strings.CutPrefix(lines.Text(), "GOT "); ok {
				merged[gossipdb.DocID(id)] = true
				seen++
			}
		}
		cmd.Wait()
		if seen < killAfter {
			t.Fatalf("round %d: receiver stopped after %d of %d merges", round, seen, killAfter)
		}
		t.Logf("round %d: killed after %d of the %d documents written while it was down", round, seen, catchUpCrashBatch)
		verifyCaughtUp(t, dir, writer, users, merged, seen < catchUpCrashBatch)
	}
}

// verifyCaughtUp reopens the receiver's store in dir: it must be consistent,
// hold every document in merged and, once connected to writer, catch up to
// writer's users by itself; by catch-up (Metrics.CatchUpBlocks) when
// missing says it lacks some.
func verifyCaughtUp(t *testing.T, dir string, writer *gossipdb.Node, users *gossipdb.Collection, merged map[gossipdb.DocID]bool, missing bool) {
	t.Helper()
	ctx := context.Background()
	n, got := reopenAfterKill(t, dir)
	defer n.Close()
	for id := range merged {
		if _, err := got.Get(ctx, id); err != nil {
			t.Fatalf("document %s merged before the kill is lost: %v", id, err)
		}
	}
	want, err := users.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Connect(ctx, writer.PeerInfo()[0]); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if fp, err := got.Fingerprint(ctx); err != nil || fp != want {
			return fmt.Errorf("receiver's fingerprint %v (%v), writer's %v", fp, err, want)
		}
		return nil
	})
	if m := n.Metrics(); missing && m.CatchUpBlocks == 0 {
		t.Fatalf("the receiver caught up without catch-up: %+v", m)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatalf("once caught up: %v", err)
	}
}
