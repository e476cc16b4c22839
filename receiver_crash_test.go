package gossipdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
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
	ctx := context.Background()
	dir, writer, _ := strings.Cut(cfg, "\n")
	n, cols := openChild(dir, nil, nodetest.UserSDL)
	events, err := cols[0].Watch(ctx)
	if err != nil {
		childFail(err)
	}
	if err := n.Subscribe(ctx, "User"); err != nil {
		childFail(err)
	}
	if err := n.Connect(ctx, writer); err != nil {
		childFail(err)
	}
	fmt.Println("READY")
	for e := range events {
		fmt.Println("GOT", e.DocID)
	}
	childFail(fmt.Errorf("watch ended"))
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
	take := func(f []string) bool {
		if len(f) != 2 || f[0] != "GOT" {
			return false
		}
		merged[gossipdb.DocID(f[1])] = true
		return true
	}
	for round := range 5 {
		c := startChild(t, round, take, receiverCrashChildEnv+"="+dir+"\n"+writer.PeerInfo()[0])
		c.await("READY")
		nodetest.Eventually(t, 15*time.Second, func() error {
			if ps, err := writer.TopicPeers("User"); err != nil || len(ps) == 0 {
				return fmt.Errorf("the receiver has not joined the writer's topic (%v)", err)
			}
			return nil
		})
		// The writer writes until the receiver is dead: at most 200 batches.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		stopWriter := sync.OnceFunc(func() { close(stop); wg.Wait() })
		t.Cleanup(stopWriter) // if the test fails before the kill
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
		seen := c.killAfter(1 + rng.IntN(1000)) // merges
		stopWriter()
		t.Logf("round %d: killed after %d merges; %d documents merged in all, %d written", round, seen, len(merged), written)
		verifyReceiver(t, round, dir, writer, users, merged)
	}
}

// verifyReceiver reopens the receiver's store in dir: it must be consistent
// and hold every document in merged, and, connected to writer again, catch up
// to writer's users.
func verifyReceiver(t *testing.T, round int, dir string, writer *gossipdb.Node, users *gossipdb.Collection, merged map[gossipdb.DocID]bool) {
	t.Helper()
	ctx := context.Background()
	n, got := reopenAfterKill(t, round, dir)
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
