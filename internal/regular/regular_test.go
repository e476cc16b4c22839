package regular_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/regular"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "small")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := regular.ReadFile(path, 10); err != nil || string(data) != "0123456789" {
		t.Errorf("ReadFile of 10 bytes, at most 10: %q, %v", data, err)
	}
	if _, err := regular.ReadFile(path, 9); !errors.Is(err, regular.ErrTooLarge) || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadFile of 10 bytes, at most 9: %v, want ErrTooLarge naming the file", err)
	}
	if _, err := regular.ReadFile(filepath.Join(dir, "missing"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestOpenRefusesADirectory checks that a directory is refused, naming it.
func TestOpenRefusesADirectory(t *testing.T) {
	dir := t.TempDir()
	f, _, err := regular.Open(dir)
	if err == nil {
		f.Close()
	}
	if !errors.Is(err, regular.ErrNotRegular) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open(%s): %v, want ErrNotRegular naming it", dir, err)
	}
}
