//go:build unix

package regular_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gossipdb/gossipdb/internal/regular"
)

// TestOpenRefusesFIFOsAndDevices checks that a FIFO with no writer and a
// device are refused, naming the path, and that opening the FIFO does not
// block (the test would hang).
func TestOpenRefusesFIFOsAndDevices(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	for _, path := range []string{fifo, os.DevNull} {
		f, _, err := regular.Open(path)
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, regular.ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s): %v, want ErrNotRegular naming it", path, err)
		}
	}
}
