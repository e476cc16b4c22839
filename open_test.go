package gossipdb_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/gossipdb/gossipdb"
)

// TestOpenHeldDirectory checks that a data directory an open node holds cannot
// be opened again, with ErrLocked and a message naming the directory, and that
// it opens once the first node closed. `gossipdb start` is tested with a real
// second process in cmd/gossipdb.
func TestOpenHeldDirectory(t *testing.T) {
	dir := t.TempDir()
	first, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := gossipdb.Open(dir, nil)
	if want := "gossipdb: data directory in use by another process: " + dir; !errors.Is(err, gossipdb.ErrLocked) || err.Error() != want {
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
