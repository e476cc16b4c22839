package gossipdb_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/gossipdb/gossipdb"
)

// TestOpenHeldDirectory checks that a data directory an open node holds cannot
// be opened again, with ErrLocked and a message naming the directory and its
// holder, and that it opens once the first node closed. `gossipdb start` is tested with a real
// second process in cmd/gossipdb.
func TestOpenHeldDirectory(t *testing.T) {
	dir := t.TempDir()
	first, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := gossipdb.Open(dir, nil)
	if want := "gossipdb: data directory in use: " + dir + " (held by another node of this process)"; !errors.Is(err, gossipdb.ErrLocked) || err.Error() != want {
		if second != nil {
			second.Close()
		}
		first.Close()
		t.Fatalf("second Open of %s: %v, want ErrLocked: %q", dir, err, want)
	}
	id := first.ID()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer again.Close()
	if again.ID() != id {
		t.Errorf("reopened node has peer ID %s, want %s", again.ID(), id)
	}
}

// TestOpenOtherLayout checks that a data directory whose store records a
// layout this version does not read is refused with ErrLayout, a message
// naming both layouts, and left as it was. The store's own test
// (internal/store TestOtherLayoutsRefused) covers each earlier layout.
func TestOpenOtherLayout(t *testing.T) {
	dir := openedDir(t)
	// A later release's layout, as its store would record it (the "m" prefix
	// of the store's own records, then "layout": internal/store/doc.go).
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(dir, "store")).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("mlayout"), []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		n, err := gossipdb.Open(dir, nil)
		if !errors.Is(err, gossipdb.ErrLayout) || !strings.Contains(err.Error(), `unsupported layout "99", this version reads layout `) {
			if n != nil {
				n.Close()
			}
			t.Fatalf("Open: %v, want ErrLayout naming layout 99", err)
		}
	}
}

// TestOpenNewDirectoryRace opens a new data directory from several goroutines
// at once, as two `gossipdb start` on a new --rootdir would: one Open wins and
// every other fails with ErrLocked, and the identity key on disk is the one
// the winner runs with, so that its peer ID stays the same when it reopens.
func TestOpenNewDirectoryRace(t *testing.T) {
	const opens = 8
	for round := range 5 {
		dir := filepath.Join(t.TempDir(), "data")
		nodes := make([]*gossipdb.Node, opens)
		errs := make([]error, opens)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range opens {
			wg.Go(func() {
				<-start
				nodes[i], errs[i] = gossipdb.Open(dir, nil)
			})
		}
		close(start)
		wg.Wait()
		var winner *gossipdb.Node
		for i, n := range nodes {
			switch {
			case errs[i] == nil && winner == nil:
				winner = n
			case errs[i] == nil:
				n.Close()
				t.Errorf("round %d: two Opens of %s succeeded at once", round, dir)
			case !errors.Is(errs[i], gossipdb.ErrLocked):
				t.Errorf("round %d: Open %d: %v, want ErrLocked", round, i, errs[i])
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no Open of %s succeeded", round, dir)
		}
		id := winner.ID()
		if err := winner.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := gossipdb.Open(dir, nil)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		if got := again.ID(); got != id {
			t.Errorf("round %d: reopened with peer ID %s, want the winner's %s: its identity key was replaced", round, got, id)
		}
		if err := again.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenNotADirectory checks that a data directory path that names a file,
// or a symbolic link to nothing, is refused with ErrInvalid and a message
// that says what is there, rather than a bare "file exists".
func TestOpenNotADirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(base, "unmounted", "data")
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		file: file + " is a file, not a directory",
		link: link + " is a symbolic link to " + target + ", which does not exist",
	} {
		n, err := gossipdb.Open(dir, nil)
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), want) {
			if n != nil {
				n.Close()
			}
			t.Errorf("Open(%s): %v, want ErrInvalid saying %q", dir, err, want)
		}
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open made the missing target of %s: %v", link, err)
	}
}
