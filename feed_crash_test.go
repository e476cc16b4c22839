package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// feedCrashChildEnv makes the test binary act as the node that
// TestFeedCrashResume kills: its value is the data directory and the
// positions its feed readers of User and Quiet resume after, on three lines.
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

// feedQuietSDL is the collection of TestFeedCrashResume that a run of
// feedCrashChild writes one document to, as it starts: its reader resumes
// from a position that compaction of User's entries may have passed.
const feedQuietSDL = `type Quiet { name: String age: Int }`

// feedCrashChild is the child process of TestFeedCrashResume (TestMain runs
// it when feedCrashChildEnv is set): a node that compacts its change feed
// often, a reader of the feed of User and one of Quiet, each from the given
// position, that print each entry ("FEED collection position docID age")
// once they have it, and a writer that creates a document of Quiet, then
// creates documents of User, alone or a few in one CreateMany, and updates
// them, each write with an age of its own, printing each ("ACK collection
// docID age") once acknowledged, until it is killed.
func feedCrashChild(cfg string) {
	ctx := context.Background()
	f := strings.Split(cfg, "\n")
	if len(f) != 3 {
		childFail(fmt.Errorf("%s: %q", feedCrashChildEnv, cfg))
	}
	var since [2]uint64
	for i := range since {
		var err error
		if since[i], err = strconv.ParseUint(f[1+i], 10, 64); err != nil {
			childFail(err)
		}
	}
	n, cols := openChild(f[0], &gossipdb.Options{ChangeRetention: feedCrashRetention}, nodetest.UserSDL+"\n"+feedQuietSDL)
	users, quiet := cols[0], cols[1]
	var read [2]atomic.Uint64 // the position each reader read up to
	for i, c := range cols {
		read[i].Store(since[i])
		go func() {
			for ch, err := range c.Changes(ctx, since[i]) {
				if err != nil {
					childFail(err)
				}
				childPrintf("FEED %s %d %s %d", c.Name(), ch.Position, ch.DocID, ch.Fields["age"])
				read[i].Store(ch.Position)
			}
		}()
	}
	// The ages of this run's writes begin after every earlier run's.
	age := time.Now().UnixNano()
	id, err := quiet.Create(ctx, map[string]any{"name": "quiet", "age": age})
	if err != nil {
		childFail(err)
	}
	childPrintf("ACK Quiet %s %d", id, age)
	for read[1].Load() == since[1] { // read before compaction may pass it
		time.Sleep(time.Millisecond)
	}
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
				childFail(err)
			}
			for j, id := range got {
				childPrintf("ACK User %s %d", id, docs[j]["age"])
			}
			ids = append(ids, got...)
		case i%3 == 1 && len(ids) > 0:
			age++
			id := ids[i%len(ids)]
			if err := users.Update(ctx, id, map[string]any{"age": age}); err != nil {
				childFail(err)
			}
			childPrintf("ACK User %s %d", id, age)
		default:
			age++
			id, err := users.Create(ctx, map[string]any{"name": "one", "age": age})
			if err != nil {
				childFail(err)
			}
			childPrintf("ACK User %s %d", id, age)
			ids = append(ids, id)
		}
		for {
			pos, err := n.ChangesPosition()
			if err != nil {
				childFail(err)
			}
			if pos-read[0].Load() <= feedCrashLag {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// feedWrite is one write of feedCrashChild: a document of a collection and
// the age it wrote.
type feedWrite struct {
	collection string
	doc        gossipdb.DocID
	age        int64
}

// resumedFeed is what TestFeedCrashResume knows of its children's feed of a
// collection: every entry a reader got, and where the next reader resumes.
type resumedFeed struct {
	last uint64             // the position of the last entry read: saved, as an application saves it
	read map[feedWrite]bool // the writes whose entries were read
}

// add takes the entry at pos for write w, read after f.last, and fails t if
// it comes out of order or repeats one.
func (f *resumedFeed) add(t *testing.T, pos uint64, w feedWrite) {
	t.Helper()
	if pos <= f.last {
		t.Fatalf("%s's feed entry %d (%s age %d) after entry %d: out of order or repeated", w.collection, pos, w.doc, w.age, f.last)
	}
	if f.read[w] {
		t.Fatalf("%s's feed entry %d repeats the write of %s age %d", w.collection, pos, w.doc, w.age)
	}
	f.last, f.read[w] = pos, true
}

// TestFeedCrashResume kills with SIGKILL, at random moments
// (nodetest.Seed), a process that writes, compacts its change feed every few
// dozen writes and reads the feed of two collections, and resumes each
// reader from the last position it read in the next process, as an
// application resumes from a position it saved: across the kills each reader
// gets every entry of its collection after that position exactly once and in
// order, never ErrCompacted (compaction keeps the positions it has not read;
// the reader of Quiet, which gets an entry per process, resumes from below
// the feed's floor, above its collection's), and in the end the feed holds an
// entry of every acknowledged write; after each kill the store is consistent
// and holds every acknowledged write (or a later one, under way at the kill).
func TestFeedCrashResume(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 17))
	dir := t.TempDir()
	feeds := map[string]*resumedFeed{"User": {read: map[feedWrite]bool{}}, "Quiet": {read: map[feedWrite]bool{}}}
	acked := map[feedWrite]bool{}
	ages := map[gossipdb.DocID]int64{} // the last acknowledged age of each document
	take := func(round int, f []string) (entry bool) {
		if len(f) != 5 && len(f) != 4 || feeds[f[1]] == nil {
			return false
		}
		age, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			t.Fatalf("round %d: child printed %q", round, f)
		}
		w := feedWrite{f[1], gossipdb.DocID(f[len(f)-2]), age}
		switch {
		case f[0] == "ACK" && len(f) == 4:
			acked[w] = true
			ages[w.doc] = max(ages[w.doc], age)
		case f[0] == "FEED" && len(f) == 5:
			pos, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				t.Fatalf("round %d: child printed %q", round, f)
			}
			feeds[f[1]].add(t, pos, w)
			return w.collection == "User"
		}
		return false
	}
	belowFloor := 0 // rounds whose Quiet reader resumed from below the feed's floor
	for round := range crashRounds(5) {
		c := startChild(t, round, func(f []string) bool { return take(round, f) },
			fmt.Sprintf("%s=%s\n%d\n%d", feedCrashChildEnv, dir, feeds["User"].last, feeds["Quiet"].last))
		seen := c.killAfter(100 + rng.IntN(300)) // entries of User read
		t.Logf("round %d: killed after %d entries of User; read up to %d of User, %d of Quiet; %d writes acknowledged", round, seen, feeds["User"].last, feeds["Quiet"].last, len(acked))
		n, users := reopenAfterKill(t, round, dir)
		quiet, err := n.Collection("Quiet")
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		for _, err := range users.Changes(ctx, feeds["Quiet"].last) {
			if errors.Is(err, gossipdb.ErrCompacted) {
				belowFloor++
			}
			break
		}
		for w := range acked {
			d, err := users.Get(ctx, w.doc)
			if w.collection == "Quiet" {
				d, err = quiet.Get(ctx, w.doc)
			}
			if err != nil {
				n.Close()
				t.Fatalf("round %d: acknowledged document %s lost: %v", round, w.doc, err)
			}
			// A later update may have been under way at the kill.
			if got := d.Fields["age"].(int64); got < ages[w.doc] {
				n.Close()
				t.Fatalf("round %d: document %s: age %d, acknowledged %d", round, w.doc, got, ages[w.doc])
			}
		}
		n.Close()
	}

	t.Logf("the reader of Quiet resumed from below the feed's floor after %d of %d kills", belowFloor, crashRounds(5))

	// The rest of the feeds, read by a node that does not compact.
	n, _ := reopenAfterKill(t, crashRounds(5)-1, dir)
	defer n.Close()
	to, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	for name, feed := range feeds {
		c, err := n.Collection(name)
		if err != nil {
			t.Fatal(err)
		}
		for ch, err := range c.ChangesTo(ctx, feed.last, to) {
			if err != nil {
				t.Fatalf("resuming %s after %d: %v", name, feed.last, err)
			}
			feed.add(t, ch.Position, feedWrite{name, ch.DocID, ch.Fields["age"].(int64)})
		}
		// The children compacted the feed: a read from its start fails.
		for _, err := range c.Changes(ctx, 0) {
			if !errors.Is(err, gossipdb.ErrCompacted) {
				t.Errorf("reading %s's feed from 0: %v, want ErrCompacted (no compaction?)", name, err)
			}
			break
		}
	}
	for w := range acked {
		if !feeds[w.collection].read[w] {
			t.Errorf("no feed entry for the acknowledged write of %s %s age %d", w.collection, w.doc, w.age)
		}
	}
}
