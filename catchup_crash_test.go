package gossipdb_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// catchUpChildEnv makes the test binary act as a receiver that kills itself
// while it catches up: its value is the receiver's data directory, the
// writer's multiaddr, when it dies (see catchUpKill) and the SDL of the
// collection it receives, on four lines and the rest.
const catchUpChildEnv = "GOSSIPDB_CATCHUP_CHILD"

// catchUpKill says when catchUpChild kills itself: after it has merged
// Merges changes, or, when Merges is 0, After its first catch-up started.
type catchUpKill struct {
	Merges int
	After  time.Duration
}

// killAfterLog is a log handler that kills its own process with SIGKILL a
// time after the node first logs the message it names.
type killAfterLog struct {
	msg   string
	after time.Duration
	once  *sync.Once
}

func (k killAfterLog) Enabled(context.Context, slog.Level) bool { return true }
func (k killAfterLog) WithAttrs([]slog.Attr) slog.Handler       { return k }
func (k killAfterLog) WithGroup(string) slog.Handler            { return k }
func (k killAfterLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == k.msg {
		k.once.Do(func() { time.AfterFunc(k.after, killSelf) })
	}
	return nil
}

// catchUpChild is the child process of catchUpUntilKilled (TestMain runs it
// when catchUpChildEnv is set): a node on disk subscribed to the collection
// and connected to the writer, which prints the document ID of each change
// it merges ("GOT docID"), from the events of its merges, and kills itself
// with SIGKILL as catchUpKill tells, while the merges go on.
func catchUpChild(cfg string) {
	ctx := context.Background()
	f := strings.SplitN(cfg, "\n", 4)
	if len(f) != 4 {
		childFail(fmt.Errorf("%s: %q", catchUpChildEnv, cfg))
	}
	var kill catchUpKill
	if _, err := fmt.Sscanf(f[2], "%d %d", &kill.Merges, &kill.After); err != nil {
		childFail(err)
	}
	opts := &gossipdb.Options{}
	if kill.Merges == 0 {
		opts.Logger = slog.New(killAfterLog{msg: "Catch-up started", after: kill.After, once: &sync.Once{}})
	}
	n, cols := openChild(f[0], opts, f[3])
	events, err := cols[0].Watch(ctx)
	if err != nil {
		childFail(err)
	}
	if err := n.Subscribe(ctx, cols[0].Name()); err != nil {
		childFail(err)
	}
	if err := n.Connect(ctx, f[1]); err != nil {
		childFail(err)
	}
	seen := 0
	for e := range events {
		fmt.Println("GOT", e.DocID)
		if seen++; seen == kill.Merges {
			killSelf()
		}
	}
	childFail(fmt.Errorf("watch ended"))
}

// catchUpUntilKilled runs catchUpChild on the receiver's data directory dir
// with the collection sdl defines, connected to writer, until it kills itself
// as kill says, adds the documents it reported merged to merged (unless nil)
// and returns how many changes it reported.
func catchUpUntilKilled(t *testing.T, round int, dir string, writer *gossipdb.Node, sdl string, kill catchUpKill, merged map[gossipdb.DocID]bool) int {
	t.Helper()
	take := func(f []string) bool {
		if len(f) != 2 || f[0] != "GOT" {
			return false
		}
		if merged != nil {
			merged[gossipdb.DocID(f[1])] = true
		}
		return true
	}
	c := startChild(t, round, take, fmt.Sprintf("%s=%s\n%s\n%d %d\n%s", catchUpChildEnv, dir, writer.PeerInfo()[0], kill.Merges, kill.After, sdl))
	if st := c.wait(); (kill.Merges > 0 && c.seen != kill.Merges) || st.ExitCode() != -1 {
		t.Fatalf("round %d: receiver ended (%v) after %d merges, to be killed %+v", round, st, c.seen, kill)
	}
	return c.seen
}

// indexedUserSDL is nodetest.UserSDL with indexes, which the receiver of
// TestCatchUpCrash keeps as it merges (indexes are local: the writer has
// none).
const indexedUserSDL = `type User { name: String @index age: Int @index(direction: DESC) verified: Boolean points: Float }`

// catchUpCrashBatch is how many documents the writer of TestCatchUpCrash
// writes while the receiver is down, before each round.
const catchUpCrashBatch = 2000

// TestCatchUpCrash kills a receiver on disk (catchUpChild, after a number
// of merges drawn from nodetest.Seed) while it catches up with a writer on
// the documents the writer wrote while the receiver was down, which it can
// only get by catch-up: after the restart its store is consistent (its
// indexes too), it holds every document it had merged, and, connected to
// the writer again, it finishes catching up by itself (no Sync call), to the
// writer's state.
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
	for round := range crashRounds(4) {
		batch := make([]map[string]any, catchUpCrashBatch)
		for i := range batch {
			batch[i] = map[string]any{"name": fmt.Sprint("user ", round, " ", i), "age": i}
		}
		if _, err := users.CreateMany(ctx, batch); err != nil {
			t.Fatal(err)
		}
		// The receiver merges at most 1,024 blocks per transaction: a kill
		// after fewer merges may come before the next transactions.
		killAfter := 1 + rng.IntN(catchUpCrashBatch/2)
		catchUpUntilKilled(t, round, dir, writer, indexedUserSDL, catchUpKill{Merges: killAfter}, merged)
		verifyCaughtUp(t, round, dir, writer, users, merged, killAfter)
	}
}

// verifyCaughtUp reopens the receiver's store in dir, killed after
// killAfter merges: it must be consistent, hold every document in merged
// and, once connected to writer, catch up to writer's users by itself, by
// catch-up (Metrics.CatchUpBlocks) when it lacks some.
func verifyCaughtUp(t *testing.T, round int, dir string, writer *gossipdb.Node, users *gossipdb.Collection, merged map[gossipdb.DocID]bool, killAfter int) {
	t.Helper()
	ctx := context.Background()
	n, got := reopenAfterKill(t, round, dir)
	defer n.Close()
	for id := range merged {
		if _, err := got.Get(ctx, id); err != nil {
			t.Fatalf("round %d: document %s merged before the kill is lost: %v", round, id, err)
		}
	}
	if ixs := got.Indexes(); len(ixs) != 2 {
		t.Fatalf("round %d: the receiver's indexes %+v, want those of indexedUserSDL", round, ixs)
	}
	held, err := got.Count(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	written, err := users.Count(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round %d: killed after %d merges; it held %d of the %d documents", round, killAfter, held, written)
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
	if m := n.Metrics(); held < written && m.CatchUpBlocks == 0 {
		t.Fatalf("round %d: the receiver caught up without catch-up: %+v", round, m)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatalf("round %d: once caught up: %v", round, err)
	}
}
