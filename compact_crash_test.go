package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gossipdb/gossipdb"
)

// compactCrashChildEnv makes the test binary act as the node that
// TestCompactionCrash kills: its value is the data directory.
const compactCrashChildEnv = "GOSSIPDB_COMPACT_CRASH_CHILD_DIR"

// compactCrashSDL is two collections, whose change-feed entries interleave.
const compactCrashSDL = "type Ca { a: Int }\ntype Cb { b: Int }"

// compacted reports whether the entries of c's feed from its start were
// compacted (its first read fails with ErrCompacted).
func compacted(c *gossipdb.Collection) (bool, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, err := range c.Changes(ctx, 0) {
		if errors.Is(err, gossipdb.ErrCompacted) {
			return true, nil
		}
		return false, err
	}
	return false, errors.New("no change")
}

// compactCrashChild is the child process of TestCompactionCrash (TestMain
// runs it when compactCrashChildEnv is set): it opens the node with a
// ChangeRetention of 1, so that it compacts its whole change feed at once,
// in several transactions, and kills itself with SIGKILL as soon as one of
// the collections' feeds is compacted and the other's not yet: between two
// of the compaction's transactions. It prints "MIDWAY" then, and "LATE"
// (and exits) if it finds both compacted.
func compactCrashChild(dir string) {
	n, err := gossipdb.Open(dir, &gossipdb.Options{ChangeRetention: 1})
	if err != nil {
		childFail(err)
	}
	var cols [2]*gossipdb.Collection
	for i, name := range []string{"Ca", "Cb"} {
		if cols[i], err = n.Collection(name); err != nil {
			childFail(err)
		}
	}
	for {
		var done [2]bool
		for i, c := range cols {
			if done[i], err = compacted(c); err != nil {
				childFail(err)
			}
		}
		switch {
		case done[0] != done[1]:
			fmt.Println("MIDWAY")
			killSelf()
		case done[0]:
			fmt.Println("LATE")
			os.Exit(3)
		}
	}
}

// TestCompactionCrash kills a node with SIGKILL in the middle of a
// compaction of its change feed (CompactChanges, which deletes records in
// transactions of 1,000) that spans two collections: after the restart its
// store is consistent, and the feed of the collection whose entries were not
// compacted yet still holds an entry of every document.
func TestCompactionCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := n.AddCollection(ctx, compactCrashSDL)
	if err != nil {
		n.Close()
		t.Fatal(err)
	}
	// 6,400 writes, each its own record: more than six transactions of
	// the compaction, the collections' records interleaved in positions.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 800 {
				c := cols[(w+i)%2]
				if _, err := c.Create(ctx, map[string]any{strings.ToLower(c.Name()[1:]): i}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := n.Close(); err != nil || t.Failed() {
		t.Fatal(err)
	}

	var said []string
	take := func(f []string) bool {
		said = append(said, strings.Join(f, " "))
		return false
	}
	st := startChild(t, 0, take, compactCrashChildEnv+"="+dir).wait()
	if len(said) != 1 || said[0] != "MIDWAY" || st.ExitCode() != -1 {
		t.Fatalf("the child ended (%v) saying %q, want it killed midway through the compaction", st, said)
	}

	n, err = gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Check(ctx); err != nil {
		t.Fatalf("inconsistent after a kill midway through a compaction: %v", err)
	}
	for _, name := range []string{"Ca", "Cb"} {
		c, err := n.Collection(name)
		if err != nil {
			t.Fatal(err)
		}
		if done, err := compacted(c); err != nil || done {
			continue
		}
		docs, err := c.Count(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		to, err := n.ChangesPosition()
		if err != nil {
			t.Fatal(err)
		}
		entries := 0
		for _, err := range c.ChangesTo(ctx, 0, to) {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			entries++
		}
		if int64(entries) != docs {
			t.Errorf("%s, not compacted yet: %d feed entries for %d documents", name, entries, docs)
		}
	}
}
