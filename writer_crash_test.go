package gossipdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// writerCrashChildEnv makes the test binary act as the writer that
// TestWriterCrash kills: its value is the writer's data directory and the
// subscriber's multiaddr, on two lines.
const writerCrashChildEnv = "GOSSIPDB_WRITER_CRASH_CHILD"

// writerCrashChild is the child process of TestWriterCrash (TestMain runs it
// when writerCrashChildEnv is set): a node on disk subscribed to User and
// connected to the subscriber, which creates and updates documents, each
// write with an age of its own, printing each ("ACK docID age") once
// acknowledged, until it is killed.
func writerCrashChild(cfg string) {
	ctx := context.Background()
	dir, sub, _ := strings.Cut(cfg, "\n")
	n, cols := openChild(dir, nil, nodetest.UserSDL)
	users := cols[0]
	if err := n.Subscribe(ctx, "User"); err != nil {
		childFail(err)
	}
	if err := n.Connect(ctx, sub); err != nil {
		childFail(err)
	}
	if err := nodetest.Poll(15*time.Second, func() error {
		if ps, err := n.TopicPeers("User"); err != nil || len(ps) == 0 {
			return fmt.Errorf("the subscriber has not joined the topic (%v)", err)
		}
		return nil
	}); err != nil {
		childFail(err)
	}
	fmt.Println("READY")
	// The ages of this run's writes begin after every earlier run's.
	age := time.Now().UnixNano()
	var ids []gossipdb.DocID
	for i := 0; ; i++ {
		age++
		if i%3 == 2 {
			id := ids[i%len(ids)]
			if err := users.Update(ctx, id, map[string]any{"age": age}); err != nil {
				childFail(err)
			}
			fmt.Println("ACK", id, age)
			continue
		}
		id, err := users.Create(ctx, map[string]any{"name": "w", "age": age})
		if err != nil {
			childFail(err)
		}
		ids = append(ids, id)
		fmt.Println("ACK", id, age)
	}
}

// TestWriterCrash kills with SIGKILL, at random moments (nodetest.Seed), a
// writer on disk whose writes a connected subscriber receives by gossip,
// then restarts it: its store is consistent and holds every acknowledged
// write, and the subscriber, which missed the writes the kill kept from being
// published, gets every acknowledged write once the writer is back, by
// catch-up (no Sync call).
func TestWriterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 4 child processes: skipped in -short")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 43))
	sub := nodetest.Open(t, "", nil)
	got := nodetest.AddUser(t, sub)[0]
	nodetest.Subscribe(t, "User", sub)
	dir := t.TempDir()
	ages := map[gossipdb.DocID]int64{} // the last acknowledged age of each document
	take := func(f []string) bool {
		if len(f) != 3 || f[0] != "ACK" {
			return false
		}
		age, _ := strconv.ParseInt(f[2], 10, 64)
		ages[gossipdb.DocID(f[1])] = age
		return true
	}
	for round := range crashRounds(4) {
		c := startChild(t, round, take, writerCrashChildEnv+"="+dir+"\n"+sub.PeerInfo()[0])
		seen := c.killAfter(1 + rng.IntN(300)) // writes
		missing := 0
		for id, age := range ages {
			if d, err := got.Get(ctx, id); err != nil || d.Fields["age"].(int64) < age {
				missing++
			}
		}
		t.Logf("round %d: killed after %d writes; the subscriber lacked %d of the %d documents' acknowledged writes", round, seen, missing, len(ages))

		w, users := reopenAfterKill(t, round, dir)
		for id, age := range ages {
			d, err := users.Get(ctx, id)
			if err != nil {
				w.Close()
				t.Fatalf("round %d: acknowledged document %s lost: %v", round, id, err)
			}
			// A later update may have been under way at the kill.
			if d.Fields["age"].(int64) < age {
				w.Close()
				t.Fatalf("round %d: document %s: age %v, acknowledged %d", round, id, d.Fields["age"], age)
			}
		}
		if err := w.Connect(ctx, sub.PeerInfo()[0]); err != nil {
			w.Close()
			t.Fatal(err)
		}
		want, err := users.Fingerprint(ctx)
		if err != nil {
			w.Close()
			t.Fatal(err)
		}
		nodetest.Eventually(t, 30*time.Second, func() error {
			if fp, err := got.Fingerprint(ctx); err != nil || fp != want {
				return fmt.Errorf("the subscriber's fingerprint %v (%v), the writer's %v", fp, err, want)
			}
			return nil
		})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
