package gossipdb_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// receiverCrashChildEnv makes the test binary act as the receiver that
// TestReceiverCrash kills: its value is the receiver's data directory and the
// writer's multiaddr, on two lines.
const receiverCrashChildEnv = "GOSSIPDB_RECEIVER_CRASH_CHILD"

// receiverCrashChild is the child process of TestReceiverCrash (TestMain runs
// it when receiverCrashChildEnv is set): a node on disk subscribed to User and
// connected to the writer, which prints the ID of each document once it has
// merged it, until it is killed.
func receiverCrashChild(cfg string) {
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	dir, writer, _ := strings.Cut(cfg, "\n")
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		fail(err)
	}
	cols, err := n.AddCollection(ctx, nodetest.UserSDL)
	if err != nil {
		fail(err)
	}
	events, err := cols[0].Watch(ctx)
	if err != nil {
		fail(err)
	}
	if err := n.Subscribe(ctx, "User"); err != nil {
		fail(err)
	}
	if err := n.Connect(ctx, writer); err != nil {
		fail(err)
	}
	fmt.Println("READY")
	for e := range events {
		fmt.Println("GOT", e.DocID)
	}
	fail(fmt.Errorf("watch ended"))
}

// TestReceiverCrash kills a receiver on disk with SIGKILL while it merges a
// writer's stream of documents, at random moments (nodetest.Seed), and checks
// what a crash can cost a receiver (see "Syncing later" in internal/store):
// every document it had merged is still there after the restart, since a
// crash of the process alone loses nothing Badger committed even before its
// sync round, its store is consistent, and once it reconnects, catch-up makes
// it equal to the writer.
func TestReceiverCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 5 child processes: skipped in -short")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 11))
	writer := nodetest.Open(t, t.TempDir(), nil)
	users := nodetest.AddUser(t, writer)[0]
	dir := t.TempDir()
	merged := map[gossipdb.DocID]bool{}
	written := 0
	for round := range 5 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), receiverCrashChildEnv+"="+dir+"\n"+writer.PeerInfo()[0])
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		for lines.Scan() && lines.Text() != "READY" {
			if strings.HasPrefix(lines.Text(), "ERR") {
				t.Fatalf("round %d: receiver: %s", round, lines.Text())
			}
		}
		nodetest.Eventually(t, 15*time.Second, func() error {
			if ps, err := writer.TopicPeers("User"); err != nil || len(ps) == 0 {
				return fmt.Errorf("the receiver has not joined the writer's topic (%v)", err)
			}
			return nil
		})
		// The writer writes until the receiver is dead: at most 200 batches.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := make([]map[string]any, 20)
				for j := range batch {
					batch[j] = map[string]any{"name": fmt.Sprint("user ", written+j), "age": j}
				}
				if _, err := users.CreateMany(ctx, batch); err != nil {
					t.Error(err)
					return
				}
				written += len(batch)
			}
		})
		killAfter := 1 + rng.IntN(1000)
		seen := 0
		for seen < killAfter && lines.Scan() {
			if id, ok := strings.CutPrefix(lines.Text(), "GOT "); ok {
				merged[gossipdb.DocID(id)] = true
				seen++
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() { // merges reported before the kill landed
			if id, ok := strings.CutPrefix(lines.Text(), "GOT "); ok {
				merged[gossipdb.DocID(id)] = true
			}
		}
		cmd.Wait()
		close(stop)
		wg.Wait()
		if seen < killAfter {
			t.Fatalf("round %d: receiver stopped after %d of %d merges", round, seen, killAfter)
		}
		t.Logf("round %d: killed after %d merges; %d documents merged in all, %d written", round, seen, len(merged), written)
		verifyReceiver(t, dir, writer, users, merged)
	}
}

// verifyReceiver reopens the receiver's store in dir: it must be consistent
// and hold every document in merged, and, connected to writer again, catch up
// to writer's users.
func verifyReceiver(t *testing.T, dir string, writer *gossipdb.Node, users *gossipdb.Collection, merged map[gossipdb.DocID]bool) {
	t.Helper()
	ctx := context.Background()
	n, got := reopenAfterKill(t, dir)
	defer n.Close()
	for id := range merged {
		if _, err := got.Get(ctx, id); err != nil {
			t.Fatalf("document %s merged before the kill is lost: %v", id, err)
		}
	}
	if err := n.Connect(ctx, writer.PeerInfo()[0]); err != nil {
		t.Fatal(err)
	}
	want, err := users.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if _, err := n.Sync(ctx, "User"); err != nil {
			return err
		}
		if fp, err := got.Fingerprint(ctx); err != nil || fp != want {
			return fmt.Errorf("receiver's fingerprint %v (%v), writer's %v", fp, err, want)
		}
		return nil
	})
}
