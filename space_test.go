package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/store"
)

// bigName is the name of the i-th document a full-disk test writes: 60 KiB.
func bigName(i int) string {
	return fmt.Sprintf("%08d", i) + strings.Repeat("n", 60<<10-8)
}

// checkDocs checks that the documents ids, written by bigName order, are stored.
func checkDocs(tb testing.TB, users *gossipdb.Collection, ids []gossipdb.DocID) {
	tb.Helper()
	for i, id := range ids {
		doc, err := users.Get(context.Background(), id)
		if err != nil {
			tb.Fatalf("acknowledged document %d: %v", i, err)
		}
		if doc.Fields["name"] != bigName(i) {
			tb.Fatalf("acknowledged document %d: wrong name", i)
		}
	}
}

// A node whose disk fills up refuses writes with ErrNoSpace instead of crashing,
// keeps every acknowledged write, serves reads, refuses to merge received blocks
// without losing them (and Sync says it cannot), opens again on the full disk, and takes writes and the
// blocks it missed once space is freed, without a restart. The node runs in a
// child process, so that a crash fails the test.
func TestFullDisk(t *testing.T) {
	const (
		diskSize   = 448 << 20 // takes a memtable flush (64 MiB) before the reserve is reached
		fillerSize = 192 << 20
		maxWrites  = 10_000 // 600 MiB of documents: more than the disk holds
	)
	dir, child := nodetest.Isolated(t, func() string { return nodetest.Tmpfs(t, diskSize) })
	if !child {
		return
	}
	ctx := context.Background()
	filler := filepath.Join(dir, "filler")
	nodetest.Fill(t, filler, fillerSize)
	root := filepath.Join(dir, "node")
	opts := &gossipdb.Options{SyncInterval: -1} // catch-up only when a connection or the freed space calls for it
	a := nodetest.Open(t, root, opts)
	users := nodetest.AddUser(t, a)[0]
	nodetest.Subscribe(t, "User", a)
	var ids []gossipdb.DocID
	for {
		if len(ids) == maxWrites {
			t.Fatalf("%d writes of 60 KiB on a %d MiB disk and no ErrNoSpace", len(ids), diskSize>>20)
		}
		id, err := users.Create(ctx, map[string]any{"name": bigName(len(ids))})
		if errors.Is(err, gossipdb.ErrNoSpace) {
			t.Logf("write %d: %v", len(ids), err)
			break
		}
		if err != nil {
			t.Fatalf("write %d: %v", len(ids), err)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		t.Fatal("the first write was refused: the test fills too much")
	}
	t.Logf("%d writes of 60 KiB acknowledged on a %d MiB disk with %d MiB of other files", len(ids), diskSize>>20, fillerSize>>20)
	checkDocs(t, users, ids)
	if _, err := a.AddCollection(ctx, "type Post { title: String }"); !errors.Is(err, gossipdb.ErrNoSpace) {
		t.Fatalf("add a collection on the full disk: got %v, want ErrNoSpace", err)
	}

	// A peer's change reaches the node, which cannot merge it yet.
	b := nodetest.Open(t, "", nil)
	bUsers := nodetest.AddUser(t, b)[0]
	nodetest.Connect(t, a, b)
	nodetest.WaitTopicPeers(t, b, "User", a)
	fromB, err := bUsers.Create(ctx, map[string]any{"name": "from b"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if a.Metrics().NoSpaceMerges == 0 {
			return errors.New("no merge refused for lack of space")
		}
		return nil
	})
	if _, err := users.Get(ctx, fromB); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("get the peer's document on the full disk: got %v, want ErrNotFound", err)
	}
	// Sync cannot merge what it would pull: it says so, and pulls nothing.
	if _, err := a.Sync(ctx, "User"); !errors.Is(err, gossipdb.ErrSync) || !errors.Is(err, gossipdb.ErrNoSpace) {
		t.Fatalf("Sync on the full disk: got %v, want ErrSync and ErrNoSpace", err)
	}

	// Open again on the still full disk: reads are served, writes refused.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = nodetest.Open(t, root, opts)
	users, err = a.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	checkDocs(t, users, ids)
	if _, err := users.Create(ctx, map[string]any{"name": "x"}); !errors.Is(err, gossipdb.ErrNoSpace) {
		t.Fatalf("write after reopening on the full disk: got %v, want ErrNoSpace", err)
	}
	nodetest.Connect(t, a, b)

	// Free space: writes succeed again and the peer's change arrives.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Create(ctx, map[string]any{"name": "after"}); err != nil {
		t.Fatalf("write after freeing space: %v", err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		_, err := users.Get(ctx, fromB)
		return err
	})
}

// Options.DiskReserve below MinDiskReserve is refused, naming the field.
func TestDiskReserveOption(t *testing.T) {
	_, err := gossipdb.Open("", &gossipdb.Options{DiskReserve: gossipdb.MinDiskReserve - 1})
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "Options.DiskReserve") {
		t.Fatalf("got %v, want ErrInvalid naming Options.DiskReserve", err)
	}
	if got := gossipdb.DefaultOptions().DiskReserve; got != store.DefaultReserve {
		t.Fatalf("default DiskReserve %d, want store.DefaultReserve (%d)", got, store.DefaultReserve)
	}
}

// TestOpenNewDirectoryFullDisk: Open of a new data directory on a disk with no
// space left fails with ErrNoSpace, as it does for an existing one, and opens
// once space is freed.
func TestOpenNewDirectoryFullDisk(t *testing.T) {
	mnt := nodetest.Tmpfs(t, 256<<20)
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for buf := make([]byte, 1<<20); ; {
		if _, err := f.Write(buf); err != nil {
			break // the disk is full
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "data")
	if n, err := gossipdb.Open(dir, nil); !errors.Is(err, gossipdb.ErrNoSpace) {
		if err == nil {
			n.Close()
		}
		t.Fatalf("Open of a new directory on a full disk: %v, want ErrNoSpace", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatalf("Open after freeing space: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

// A node whose merge of received blocks was refused for lack of space waits
// until there is room for that merge, not merely for an empty write: with room
// for small writes but not for the peer's blocks, it neither declares the space
// freed nor has catch-up pull the same blocks again every second. Once space is
// freed, the blocks arrive.
func TestFullDiskWaitsForRoomOfMerge(t *testing.T) {
	dir, child := nodetest.Isolated(t, func() string { return nodetest.Tmpfs(t, 256<<20) })
	if !child {
		return
	}
	ctx := context.Background()
	a, logs, want, filler := fullDiskPeer(t, dir, 8)
	users, err := a.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	// The node checks the free space every second: wait for a few checks, or
	// for it to declare the space freed.
	checks := gossipdb.SpaceChecks(a)
	nodetest.Eventually(t, 20*time.Second, func() error {
		if got := gossipdb.SpaceChecks(a) - checks; got < 3 && !strings.Contains(logs.String(), "Disk space freed") {
			return fmt.Errorf("%d checks of the free space, want 3", got)
		}
		return nil
	})
	if strings.Contains(logs.String(), "Disk space freed") {
		t.Fatalf("the node declared space freed with room for none of the peer's blocks:\n%s", logs.String())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		for _, id := range want {
			if _, err := users.Get(ctx, id); err != nil {
				return fmt.Errorf("the peer's document %s: %w", id, err)
			}
		}
		return nil
	})
}

// fullDiskPeer opens, in dir (a tmpfs), a node subscribed to User with free
// space for small writes only (1 MiB beyond its reserve), and a peer holding
// docs documents of 600 KiB, connected to it once they are written: the
// node's merges of the peer's blocks are refused for lack of space. It returns
// the node, its log, the peer's documents and the file whose removal frees
// the space.
func fullDiskPeer(t *testing.T, dir string, docs int) (a *gossipdb.Node, logs *nodetest.LogBuffer, want []gossipdb.DocID, filler string) {
	t.Helper()
	const (
		margin  = 1 << 20   // free space left beyond the reserve
		docSize = 600 << 10 // each peer document: two do not fit in the margin
	)
	ctx := context.Background()
	logs = &nodetest.LogBuffer{}
	a = nodetest.Open(t, filepath.Join(dir, "node"), &gossipdb.Options{SyncInterval: -1, Logger: logs.Logger()})
	users := nodetest.AddUser(t, a)[0]
	nodetest.Subscribe(t, "User", a)
	free := nodetest.FreeSpace(t, dir)
	filler = filepath.Join(dir, "filler")
	nodetest.Fill(t, filler, free-gossipdb.DefaultOptions().DiskReserve-margin)
	// Small writes are still accepted.
	if _, err := users.Create(ctx, map[string]any{"name": "small"}); err != nil {
		t.Fatalf("a small write with %d bytes beyond the reserve: %v", margin, err)
	}

	b := nodetest.Open(t, "", nil)
	bUsers := nodetest.AddUser(t, b)[0]
	for i := range docs {
		id, err := bUsers.Create(ctx, map[string]any{"name": fmt.Sprintf("%d", i) + strings.Repeat("b", docSize)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	nodetest.Connect(t, a, b)
	nodetest.Eventually(t, 20*time.Second, func() error {
		if a.Metrics().NoSpaceMerges == 0 {
			return errors.New("no merge refused for lack of space")
		}
		return nil
	})
	return a, logs, want, filler
}

// caughtUpAfter waits until a's latest session of User with its peer
// started after since has finished, and returns it.
func caughtUpAfter(t *testing.T, a *gossipdb.Node, since time.Time) gossipdb.PeerSyncStatus {
	t.Helper()
	var out gossipdb.PeerSyncStatus
	nodetest.Eventually(t, 20*time.Second, func() error {
		st, err := a.SyncStatus("User")
		if err != nil {
			return err
		}
		for _, p := range st.Peers {
			if p.Started.After(since) && !p.Finished.IsZero() {
				out = p
				return nil
			}
		}
		return errors.New("no session finished since the request")
	})
	return out
}

// While merges of a peer's blocks wait for free space, the node pulls none of
// them again: catch-up sessions of the collection are deferred until there is
// room (SyncStatus shows why), and Sync fails at once with ErrSync and
// ErrNoSpace instead of pulling blocks only to drop them. Once space is freed,
// the blocks arrive.
func TestFullDiskPullsNothingItCannotMerge(t *testing.T) {
	dir, child := nodetest.Isolated(t, func() string { return nodetest.Tmpfs(t, 256<<20) })
	if !child {
		return
	}
	ctx := context.Background()
	a, _, want, filler := fullDiskPeer(t, dir, 8)
	users, err := a.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if st, err := a.SyncStatus("User"); err != nil || st.Running > 0 {
			return fmt.Errorf("sessions still running: %+v, %v", st, err)
		}
		return nil
	})
	pulled := a.Metrics().CatchUpBlocks

	// A session asked for now pulls nothing, and says why.
	since := time.Now()
	if err := a.StartSync(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	st := caughtUpAfter(t, a, since)
	if got := a.Metrics().CatchUpBlocks; got != pulled {
		t.Fatalf("catch-up pulled %d blocks it could not merge", got-pulled)
	}
	if !strings.Contains(st.Err, "disk full") {
		t.Fatalf("the deferred session: %+v, want an error saying the disk is full", st)
	}
	// Sync says the node cannot sync, and pulls nothing either.
	if _, err := a.Sync(ctx, "User"); !errors.Is(err, gossipdb.ErrSync) || !errors.Is(err, gossipdb.ErrNoSpace) {
		t.Fatalf("Sync on the full disk: got %v, want ErrSync and ErrNoSpace", err)
	}
	if got := a.Metrics().CatchUpBlocks; got != pulled {
		t.Fatalf("Sync pulled %d blocks it could not merge", got-pulled)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		for _, id := range want {
			if _, err := users.Get(ctx, id); err != nil {
				return fmt.Errorf("the peer's document %s: %w", id, err)
			}
		}
		return nil
	})
	if _, err := a.Sync(ctx, "User"); err != nil {
		t.Fatalf("Sync once space is freed: %v", err)
	}
}

// Catch-up sessions of a collection whose merges wait for free disk space
// are deferred without a check of the free space each: they wait for the
// node's own wait, which checks every second, to find room. A session that
// the full disk stopped says so, with the peer's name once, and blames no
// block.
func TestFullDiskDeferredSessionsWait(t *testing.T) {
	dir, child := nodetest.Isolated(t, func() string { return nodetest.Tmpfs(t, 256<<20) })
	if !child {
		return
	}
	ctx := context.Background()
	// 24 MiB of documents: the first session pulls them in chunks of 4 MiB,
	// and the merge of the first one fails.
	a, logs, want, filler := fullDiskPeer(t, dir, 40)
	users, err := a.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	var stopped string
	nodetest.Eventually(t, 20*time.Second, func() error {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "Catch-up stopped") {
				stopped = line
				return nil
			}
		}
		return errors.New("no session stopped for lack of space")
	})
	t.Logf("a session stopped: %s", stopped)
	if strings.Contains(stopped, "block ") || strings.Count(stopped, "peer") != 1 || !strings.Contains(stopped, "disk full") {
		t.Errorf("the line of a session the full disk stopped names a block, or its peer other than once, or not the full disk:\n%s", stopped)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if st, err := a.SyncStatus("User"); err != nil || st.Running > 0 {
			return fmt.Errorf("sessions still running: %+v, %v", st, err)
		}
		return nil
	})

	const sessions = 10
	reads, checks := gossipdb.SpaceReads(a), gossipdb.SpaceChecks(a)
	for range sessions {
		since := time.Now()
		if err := a.StartSync(ctx, "User"); err != nil {
			t.Fatal(err)
		}
		if st := caughtUpAfter(t, a, since); !strings.Contains(st.Err, "disk full") {
			t.Fatalf("a session on the full disk: %+v, want one deferred, saying the disk is full", st)
		}
	}
	// The wait's own checks run meanwhile, one a second (one may be counted
	// before its read), and a background write of the node's may read too.
	if got, wait := gossipdb.SpaceReads(a)-reads, int64(gossipdb.SpaceChecks(a)-checks); got > wait+3 {
		t.Errorf("%d deferred sessions: %d reads of the free space, %d of them the wait's", sessions, got, wait)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		for _, id := range want {
			if _, err := users.Get(ctx, id); err != nil {
				return fmt.Errorf("the peer's document %s: %w", id, err)
			}
		}
		return nil
	})
}
