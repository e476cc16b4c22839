//go:build unix

package gossipdb_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
)

// TestReadNetworkKeyFileFIFO: a network key path that is a FIFO is refused
// as not a regular file, without blocking.
func TestReadNetworkKeyFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarm.key")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() { _, err := gossipdb.ReadNetworkKeyFile(path); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("ReadNetworkKeyFile = %v, want ErrInvalid saying not a regular file", err)
		}
	case <-time.After(10 * time.Second):
		os.OpenFile(path, os.O_WRONLY, 0) // unblock the reader of the FIFO
		t.Fatal("ReadNetworkKeyFile blocked")
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
			done := make(chan error, 1)
			go func() {
				n, err := gossipdb.Open(dir, nil)
				if err == nil {
					n.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				wantDamaged(t, "Open", err, key)
			case <-time.After(30 * time.Second):
				os.OpenFile(key, os.O_WRONLY, 0) // unblock the reader of a FIFO
				t.Fatal("Open blocked")
			}
		})
	}
}
