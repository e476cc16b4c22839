//go:build unix

package gossipdb_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestReadNetworkKeyFileFIFO: a network key path that is a FIFO is refused
// as not a regular file, without blocking.
func TestReadNetworkKeyFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarm.key")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	err := nodetest.WithoutBlocking(t, path, func() error { _, err := gossipdb.ReadNetworkKeyFile(path); return err })
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("ReadNetworkKeyFile = %v, want ErrInvalid saying not a regular file", err)
	}
}

// TestIdentityKeyReadableByOthers: an identity key file that others may
// read is refused like the API token and a network key, saying to chmod it;
// it used to be accepted. Once chmod 600, it opens with the same peer ID.
func TestIdentityKeyReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := n.ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "identity.key")
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		n, err := gossipdb.Open(dir, nil)
		if err == nil {
			n.Close()
			t.Fatalf("Open with an identity key of mode %04o succeeded", mode)
		}
		if msg := err.Error(); !strings.Contains(msg, key) || !strings.Contains(msg, "other users may read it") ||
			!strings.Contains(msg, "chmod 600") {
			t.Fatalf("Open with an identity key of mode %04o: %q, want it to name the file and say chmod 600", mode, msg)
		}
		if !errors.Is(err, gossipdb.ErrInvalid) {
			t.Fatalf("Open with an identity key of mode %04o: %v, want ErrInvalid, as for a network key", mode, err)
		}
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err = gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.ID() != id {
		t.Fatalf("peer ID %s after chmod 600, want %s", n.ID(), id)
	}
}

// TestIdentityKeyNotRegularOrHuge: an identity key that is a FIFO, or a link
// to an endless device, used to make Open block, or read without end; both
// are refused as damage, naming the file.
func TestIdentityKeyNotRegularOrHuge(t *testing.T) {
	for name, replace := range map[string]func(path string) error{
		"FIFO":              func(path string) error { return syscall.Mkfifo(path, 0o600) },
		"link to /dev/zero": func(path string) error { return os.Symlink("/dev/zero", path) },
		"huge file": func(path string) error {
			return os.WriteFile(path, make([]byte, 1<<20), 0o600)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := openedDir(t)
			key := filepath.Join(dir, "identity.key")
			if err := os.Remove(key); err != nil {
				t.Fatal(err)
			}
			if err := replace(key); err != nil {
				t.Skip(err)
			}
			err := nodetest.WithoutBlocking(t, key, func() error {
				n, err := gossipdb.Open(dir, nil)
				if err == nil {
					n.Close()
				}
				return err
			})
			wantDamaged(t, "Open", err, key)
			if n := strings.Count(err.Error(), key); n != 1 {
				t.Errorf("Open: %v names the file %d times, want once", err, n)
			}
		})
	}
}
