//go:build unix

package regular_test

import (
	"errors"
	"fmt"
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

// TestReadPrivate: a file of secrets is read only while its owner alone may
// read or write it; else the error names it and its mode and says to chmod it.
func TestReadPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if data, err := regular.ReadPrivate(path, 10); err != nil || string(data) != "key" {
			t.Errorf("ReadPrivate of mode %04o: %q, %v", mode, data, err)
		}
	}
	for _, mode := range []os.FileMode{0o644, 0o660, 0o602, 0o610} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s: other users may read it (mode %04o): run chmod 600 on it", path, mode)
		if _, err := regular.ReadPrivate(path, 10); !errors.Is(err, regular.ErrNotPrivate) || err.Error() != want {
			t.Errorf("ReadPrivate of mode %04o: %v, want %q", mode, err, want)
		}
	}
}
