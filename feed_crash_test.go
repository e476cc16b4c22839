package gossipdb_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// feedCrashChildEnv makes the test binary act as the node that
// TestFeedCrashResume kills: its value is the data directory and the
// position its feed reader resumes after, on two lines.
const feedCrashChildEnv = "GOSSIPDB_FEED_CRASH_CHILD"

const (
	// feedCrashRetention is the child's Options.ChangeRetention: small, so
	// that the node compacts its change feed every few dozen writes.
	feedCrashRetention = 200
	// feedCrashLag is how many positions the child's writer lets its feed
	// reader fall behind: less than feedCrashRetention, so that compaction
	// never passes the reader.
	feedCrashLag = 100
)

// feedCrashChild is the child process of TestFeedCrashResume (TestMain runs
// it when feedCrashChildEnv is set): a node that compacts its change feed
// often, a reader of the feed from the given position that prints each
// entry ("FEED position docID age") once it has it, and a writer that
// creates documents, alone or a few in one CreateMany, and updates them,
// each write with an age of its own, printing each ("ACK docID age") once
// acknowledged, until it is killed.
func feedCrashChild(cfg string) {
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	dir, s, _ := strings.Cut(cfg, "\n")
	since, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		fail(err)
	}
	n, err := gossipdb.Open(dir, &gossipdb.Options{ChangeRetention: feedCrashRetention})
	if err != nil {
		fail(err)
	}
	cols, err := n.AddCollection(ctx, nodetest.UserSDL)
	if err != nil {
		fail(err)
	}
	users := cols[0]
	var out sync.Mutex // one line at a time
	print := func(format string, args ...any) {
		out.Lock()
		fmt.Printf(format+"\n", args...)
		out.Unlock()
	}
	var read atomic.Uint64
	read.Store(since)
	go func() {
		for ch, err := range users.Changes(ctx, since) {
			if err != nil {
				fail(err)
			}
			print("FEED %d %s %d", ch.Position, ch.DocID, ch.Fields["age"])
			read.Store(ch.Position)
		}
	}()
	// The ages of this run's writes begin after every earlier run's.
	age := time.Now().UnixNano()
	var ids []gossipdb.DocID
	for i := 0; ; i++ {
		switch {
		case i%5 == 4:
			docs := make([]map[string]any, 1+i%4)
			for j := range docs {
				age++
				docs[j] = map[string]any{"name": "many", "age": age}
			}
			got, err := users.CreateMany(ctx, docs)
			if err != nil {
				fail(err)
			}
			for j, id := range got {
				print("ACK %s %d", id, docs[j]["age"])
			}
			ids = append(ids, got...)
		case i%3 == 1 && len(ids) > 0:
			age++
			id := ids[i%len(ids)]
			if err := users.Update(ctx, id, map[string]any{"age": age}); err != nil {
				fail(err)
			}
			print("ACK %s %d", id, age)
		default:
			age++
			id, err := users.Create(ctx, map[string]any{"name": "one", "age": age})
			if err != nil {
				fail(err)
			}
			print("ACK %s %d", id, age)
			ids = append(ids, id)
		}
		for {
			pos, err := n.ChangesPosition()
			if err != nil {
				fail(err)
			}
			if pos-read.Load() <= feedCrashLag {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// feedWrite is one write of feedCrashChild: a document and the age it wrote.
type feedWrite struct {
	doc gossipdb.DocID
	age int64
}

// resumedFeed is what TestFeedCrashResume knows of its children's feed: every
// entry a reader got, and where the next reader resumes.
type resumedFeed struct {
	last uint64             // the position of the last entry read: saved, as an application saves it
	read map[feedWrite]bool // the writes whose entries were read
}

// add takes the entry at pos for write w, read after f.last, and fails t if
// it comes out of order or repeats one.
func (f *resumedFeed) add(t *testing.T, pos uint64, w feedWrite) {
	t.Helper()
	if pos <= f.last {
		t.Fatalf("feed entry %d (%s age %d) after entry %d: out of order or repeated", pos, w.doc, w.age, f.last)
	}
	if f.read[w] {
		t.Fatalf("feed entry %d repeats the write of %s age %d", pos, w.doc, w.age)
	}
	f.last, f.read[w] = pos, true
}

// TestFeedCrashResume kills with SIGKILL, at random moments
// (nodetest.Seed), a process that writes, compacts its change feed every few
// dozen writes and reads the feed, and resumes the reader from the last
// position it read in the next process, as an application resumes from a
// position it saved: across the kills the reader gets every entry after that
// position exactly once and in order, never ErrCompacted (compaction keeps
// the positions it has not read), and in the end the feed holds an entry of
// every acknowledged write; after each kill the store is consistent and
// holds every acknowledged write (or a later one, under way at the kill).
func TestFeedCrashResume(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 17))
	dir := t.TempDir()
	feed := &resumedFeed{read: map[feedWrite]bool{}}
	acked := map[feedWrite]bool{}
	ages := map[gossipdb.DocID]int64{} // the last acknowledged age of each document
	take := func(round int, line string) (entry bool) {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "ERR" {
			t.Fatalf("round %d: child: %s", round, line)
		}
		if len(f) != 4 && len(f) != 3 {
			return false
		}
		age, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			t.Fatalf("round %d: child printed %q", round, line)
		}
		w := feedWrite{gossipdb.DocID(f[len(f)-2]), age}
		switch {
		case f[0] == "ACK" && len(f) == 3:
			acked[w] = true
			ages[w.doc] = max(ages[w.doc], age)
		case f[0] == "FEED" && len(f) == 4:
			pos, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("round %d: child printed %q", round, line)
			}
			feed.add(t, pos, w)
			return true
		}
		return false
	}
	for round := range 5 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), feedCrashChildEnv+"="+dir+"\n"+strconv.FormatUint(feed.last, 10))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 100 + rng.IntN(300) // entries read
		lines := bufio.NewScanner(out)
		seen := 0
		for seen < killAfter && lines.Scan() {
			if take(round, lines.Text()) {
				seen++
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() { // lines printed before the kill landed
			take(round, lines.Text())
		}
		cmd.Wait()
		if seen < killAfter {
			t.Fatalf("round %d: child stopped after %d entries", round, seen)
		}
		t.Logf("round %d: killed after %d entries; read up to %d, %d writes acknowledged", round, seen, feed.last, len(acked))
		n, users := reopenAfterKill(t, dir)
		for doc, age := range ages {
			d, err := users.Get(ctx, doc)
			if err != nil {
				n.Close()
				t.Fatalf("round %d: acknowledged document %s lost: %v", round, doc, err)
			}
			// A later update may have been under way at the kill.
			if got := d.Fields["age"].(int64); got < age {
				n.Close()
				t.Fatalf("round %d: document %s: age %d, acknowledged %d", round, doc, got, age)
			}
		}
		n.Close()
	}

	// The rest of the feed, read by a node that does not compact.
	n, users := reopenAfterKill(t, dir)
	defer n.Close()
	to, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	for ch, err := range users.ChangesTo(ctx, feed.last, to) {
		if err != nil {
			t.Fatalf("resuming after %d: %v", feed.last, err)
		}
		feed.add(t, ch.Position, feedWrite{ch.DocID, ch.Fields["age"].(int64)})
	}
	for w := range acked {
		if !feed.read[w] {
			t.Errorf("no feed entry for the acknowledged write of %s age %d", w.doc, w.age)
		}
	}
	// The children compacted the feed: a read from its start fails.
	for _, err := range users.Changes(ctx, 0) {
		if !errors.Is(err, gossipdb.ErrCompacted) {
			t.Errorf("reading the feed from 0: %v, want ErrCompacted (no compaction?)", err)
		}
		break
	}
}
