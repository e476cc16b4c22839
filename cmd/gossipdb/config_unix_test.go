//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestConfigFileNotRegularOrHuge: a config.json that is a directory, a FIFO,
// a device or a huge file is refused with its path, without blocking or
// reading it whole.
func TestConfigFileNotRegularOrHuge(t *testing.T) {
	want := map[string]string{"directory": "not a regular file", "FIFO": "not a regular file",
		"device": "not a regular file", "huge": "larger than"}
	for name, mk := range map[string]func(path string) error{
		"directory": func(path string) error { return os.Mkdir(path, 0o700) },
		"FIFO":      func(path string) error { return syscall.Mkfifo(path, 0o600) },
		"device":    func(path string) error { return os.Symlink("/dev/zero", path) },
		"huge": func(path string) error {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				return err
			}
			return os.Truncate(path, 64<<20) // sparse: 64 MiB of zeros
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, configFile)
			if err := mk(path); err != nil {
				t.Skip(err)
			}
			err := nodetest.WithoutBlocking(t, path, func() error { _, err := readConfig(dir); return err })
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want[name]) {
				t.Fatalf("readConfig = %v, want an error naming %s and saying %q", err, path, want[name])
			}
		})
	}
}

// TestTokenFileNotRegular: an api-token that is a directory or a FIFO is
// refused with its path, without blocking.
func TestTokenFileNotRegular(t *testing.T) {
	for name, mk := range map[string]func(path string) error{
		"directory": func(path string) error { return os.Mkdir(path, 0o700) },
		"FIFO":      func(path string) error { return syscall.Mkfifo(path, 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tokenFile)
			if err := mk(path); err != nil {
				t.Skip(err)
			}
			err := nodetest.WithoutBlocking(t, path, func() error { _, _, err := loadToken(dir); return err })
			if err == nil || !strings.Contains(err.Error(), path+": not a regular file") {
				t.Fatalf("loadToken = %v, want an error saying %s is not a regular file", err, path)
			}
		})
	}
}

// TestConfigFileSymlinkKept: a config.json that is a link to a file kept
// elsewhere (by a configuration tool, say) stays a link when start records
// its settings; the file it names gets them.
func TestConfigFileSymlinkKept(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	target := filepath.Join(elsewhere, "node.json")
	if err := os.WriteFile(target, []byte(`{"url": "127.0.0.1:0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, configFile)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := writeConfig(dir, config{URL: "localhost:0", LogLevel: "debug"}); err != nil {
		t.Fatalf("writeConfig: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("config.json after writeConfig: %v, %v; want the link kept", fi.Mode(), err)
	}
	c, err := readConfig(dir)
	if err != nil || c.URL != "localhost:0" || c.LogLevel != "debug" {
		t.Fatalf("read back through the link: %+v, %v", c, err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 1 {
		t.Errorf("the link's directory holds %d files, want only node.json (no temporary file left)", len(entries))
	}
}
