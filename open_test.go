package gossipdb_test

import (
	"errors"
	"testing"

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
