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
