package gossipdb_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// crashChildEnv makes the test binary act as the writer that TestCrashSafety kills.
const crashChildEnv = "GOSSIPDB_CRASH_CHILD_DIR"

// crashWriters is how many goroutines of the child of TestCrashSafety write at
// once, so that acknowledged writes include commits that shared an fsync.
const crashWriters = 4

// crashChild is the child process of TestCrashSafety (TestMain runs it when
// crashChildEnv is set): crashWriters goroutines write until it is killed,
// each printing each of its writes only after the call acknowledged it.
func crashChild(dir string) {
	ctx := context.Background()
	_, cols := openChild(dir, nil, nodetest.UserSDL)
	users := cols[0]
	for w := range crashWriters {
		go func() {
			var last gossipdb.DocID
			for i := w; ; i += crashWriters {
				if i%3 == 2 && last != "" {
					if err := users.Update(ctx, last, map[string]any{"age": i}); err != nil {
						childFail(err)
					}
					childPrintf("UPD %s %d", last, i)
				} else {
					id, err := users.Create(ctx, map[string]any{"name": "user" + strconv.Itoa(i), "age": i})
					if err != nil {
						childFail(err)
					}
					last = id
					childPrintf("NEW %s %d", id, i)
				}
			}
		}()
	}
	select {}
}

// reopenKilled opens the node in dir that the child of round left when it
// was killed, checks that its store is consistent, and returns it, for the
// caller to close.
func reopenKilled(t *testing.T, round int, dir string) *gossipdb.Node {
	t.Helper()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatalf("round %d: reopen after kill: %v", round, err)
	}
	if err := n.Check(context.Background()); err != nil {
		n.Close()
		t.Fatalf("round %d: store inconsistent after kill: %v", round, err)
	}
	return n
}

// reopenAfterKill is reopenKilled, which also returns the node's collection
// User.
func reopenAfterKill(t *testing.T, round int, dir string) (*gossipdb.Node, *gossipdb.Collection) {
	t.Helper()
	n := reopenKilled(t, round, dir)
	users, err := n.Collection("User")
	if err != nil {
		n.Close()
		t.Fatal(err)
	}
	return n, users
}

// TestCrashSafety kills a process writing from several goroutines with SIGKILL
// at random moments and checks that every acknowledged write survived and the
// store is consistent.
// The moments come from nodetest.Seed: GOSSIPDB_SEED repeats a run's choice.
func TestCrashSafety(t *testing.T) {
	rounds := 20
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 7))
	dir := t.TempDir()
	want := map[gossipdb.DocID]int64{} // acknowledged age of every document
	take := func(f []string) bool {
		if len(f) != 3 || (f[0] != "NEW" && f[0] != "UPD") {
			return false
		}
		age, _ := strconv.ParseInt(f[2], 10, 64)
		want[gossipdb.DocID(f[1])] = age
		return true
	}
	for round := range rounds {
		c := startChild(t, round, take, crashChildEnv+"="+dir)
		c.killAfter(1 + rng.IntN(150))
		verifyCrashState(t, round, dir, want)
	}
}

func verifyCrashState(t *testing.T, round int, dir string, want map[gossipdb.DocID]int64) {
	t.Helper()
	ctx := context.Background()
	n, users := reopenAfterKill(t, round, dir)
	defer n.Close()
	for id, age := range want {
		d, err := users.Get(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged document %s lost: %v", id, err)
		}
		if got := d.Fields["age"]; got.(int64) < age {
			t.Fatalf("document %s: age %v, acknowledged %d", id, got, age)
		}
	}
}

// crashRounds is how many times a crash test that kills its child in rounds
// of their own kills it: rounds, or half as many (at least 2) under the race
// detector, whose children are several times slower. The kill points come
// from nodetest.Seed, so runs together cover what fewer rounds each leave.
func crashRounds(rounds int) int {
	if raceEnabled {
		return max(2, rounds/2)
	}
	return rounds
}
