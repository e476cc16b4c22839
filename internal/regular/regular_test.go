package regular_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "settings")
	for _, content := range []string{"first", "second, longer than the first"} {
		if err := regular.Replace(path, []byte(content), 0o600); err != nil {
			t.Fatalf("Replace: %v", err)
		}
		if data, err := regular.ReadFile(path, 1<<10); err != nil || string(data) != content {
			t.Errorf("after Replace with %q: %q, %v", content, data, err)
		}
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("the replaced file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d files after Replace, want 1 (no temporary file left)", len(entries))
	}
	// A rename that fails (a directory in the way) leaves the temporary
	// file removed and the directory as it was.
	blocked := filepath.Join(dir, "blocked")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "inside"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := regular.Replace(blocked, []byte("x"), 0o600); err == nil {
		t.Error("Replace of a directory that holds a file succeeded")
	}
	if _, err := os.Stat(blocked + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the temporary file after a failed Replace: %v, want it removed", err)
	}
}

func TestCheckDir(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	toDir, dangling := filepath.Join(base, "to-dir"), filepath.Join(base, "dangling")
	if err := os.Symlink(base, toDir); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := os.Symlink(filepath.Join(base, "gone"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{base, toDir, filepath.Join(base, "new", "sub")} {
		if err := regular.CheckDir(path); err != nil {
			t.Errorf("CheckDir(%s): %v, want nil", path, err)
		}
	}
	for path, want := range map[string]string{
		file:                          file + " is a file, not a directory",
		filepath.Join(file, "a", "b"): filepath.Join(file, "a", "b") + ": its parent " + file + " is a file, not a directory",
		dangling:                      dangling + " is a symbolic link to " + filepath.Join(base, "gone") + ", which does not exist",
	} {
		if err := regular.CheckDir(path); !errors.Is(err, regular.ErrNotDir) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CheckDir(%s): %v, want ErrNotDir saying %q", path, err, want)
		}
	}
}
