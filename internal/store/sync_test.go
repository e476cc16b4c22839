package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/store"
)

// newestLog returns the path of the newest file of dir with suffix: Badger's
// numbers are zero-padded, so the newest sorts last.
func newestLog(t *testing.T, dir, suffix string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no %s file in %s (%v)", suffix, dir, err)
	}
	slices.Sort(matches)
	return matches[len(matches)-1]
}

// TestGroupCommitFollowsReplacedLogs writes, from eight goroutines at once,
// enough to make Badger replace its write-ahead log several times, then a value
// large enough for the value log: after each write the group commit has synced
// the log Badger writes to now, not one it replaced, and every write is read
// back after a reopen.
func TestGroupCommitFollowsReplacedLogs(t *testing.T) {
	dir := t.TempDir()
	s := openEmpty(t, dir, &store.Options{MemTableSize: 8 << 20})
	value := []byte(strings.Repeat("v", 256<<10))
	const writers, each = 8, 16 // 32 MiB: four memtables of 8 MiB
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := s.Update(func(tx *store.Tx) error { return tx.PutMeta(fmt.Sprint("k", w, "-", i), value) })
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	newest := newestLog(t, dir, ".mem")
	if filepath.Base(newest) == "00001.mem" {
		t.Fatalf("Badger still writes to its first write-ahead log")
	}
	if wal, _ := s.SyncedLogs(); wal != newest {
		t.Fatalf("synced %q, Badger writes to %q", wal, newest)
	}
	if err := s.Update(func(tx *store.Tx) error {
		return tx.PutMeta("large", []byte(strings.Repeat("l", 1<<20)))
	}); err != nil {
		t.Fatal(err)
	}
	if _, vlog := s.SyncedLogs(); vlog != newestLog(t, dir, ".vlog") {
		t.Fatalf("synced value log %q, Badger writes to %q", vlog, newestLog(t, dir, ".vlog"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openEmpty(t, dir, nil)
	err := s.View(func(tx *store.Tx) error {
		for w := range writers {
			for i := range each {
				if v, err := tx.Meta(fmt.Sprint("k", w, "-", i)); err != nil || len(v) != len(value) {
					return fmt.Errorf("k%d-%d: %d bytes, %v", w, i, len(v), err)
				}
			}
		}
		_, err := tx.Meta("large")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoSyncSkipsGroupCommit: with Options.NoSync the store syncs no log.
func TestNoSyncSkipsGroupCommit(t *testing.T) {
	s := openEmpty(t, t.TempDir(), &store.Options{NoSync: true})
	if err := s.Update(func(tx *store.Tx) error { return tx.PutMeta("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if wal, vlog := s.SyncedLogs(); wal != "" || vlog != "" {
		t.Fatalf("synced %q and %q", wal, vlog)
	}
}

// The logs' names the group commit follows are Badger's: a test of the
// assumption, which a Badger upgrade could break silently otherwise.
func TestBadgerLogNames(t *testing.T) {
	dir := t.TempDir()
	openEmpty(t, dir, nil)
	for _, want := range []string{"00001.mem", "000001.vlog"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("a new store has no %s: %v", want, err)
		}
	}
}

// TestUpdateLater: a commit of UpdateLater is visible when it returns, and its
// change-feed entry becomes readable once its sync round has run, without
// another write; Close runs the round of a commit still waiting for one, and
// both survive a reopen.
func TestUpdateLater(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	user, _ := testSchemas(t)
	merge := func(b *crdt.Block) {
		t.Helper()
		before := s.Watermark()
		err := s.UpdateLater(func(tx *store.Tx) error {
			_, _, err := tx.Apply(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		storedState(t, s, user.ID, b.CID) // visible at once
		if s.Watermark() < before {
			t.Fatalf("watermark went back from %d to %d", before, s.Watermark())
		}
	}
	g1 := genesis(t, user, map[string]any{"name": "Ada"})
	merge(g1)
	nodetest.Eventually(t, 10*time.Second, func() error {
		if got := len(feedOf(t, s, user.ID, 0)); got != 1 {
			return fmt.Errorf("%d change-feed entries readable after a commit of UpdateLater, want 1", got)
		}
		return nil
	})
	g2 := genesis(t, user, map[string]any{"name": "Grace"})
	merge(g2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openEmpty(t, dir, nil)
	storedState(t, s, user.ID, g2.CID)
	if got := feedOf(t, s, user.ID, 0); len(got) != 2 || !got[1].Block.Equals(g2.CID) {
		t.Fatalf("after reopen the feed has %d entries, want both merges", len(got))
	}
}
