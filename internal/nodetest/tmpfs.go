package nodetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// isolatedEnv passes the directory of an isolated test to its child process.
const isolatedEnv = "GOSSIPDB_TEST_ISOLATED_DIR"

// Tmpfs mounts a tmpfs of size bytes on a new directory, unmounted at the end of
// the test, and returns the directory. It skips the test unless run as root.
func Tmpfs(tb testing.TB, size int64) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to mount a tmpfs; CI runs as root")
	}
	dir := filepath.Join(tb.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		tb.Fatalf("mount a tmpfs on %s: %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Isolated runs the calling top-level test again in a child process of the test
// binary, which gets dir, and fails t with the child's output when the child
// fails or dies: a crash (such as a SIGBUS in a store on a full disk) then
// fails the test instead of ending the whole test run. In the parent it returns
// false once the child passed; in the child, it returns dir and true, and the
// test goes on there.
func Isolated(t *testing.T, dir func() string) (string, bool) {
	t.Helper()
	if d := os.Getenv(isolatedEnv); d != "" {
		return d, true
	}
	d := dir()
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), isolatedEnv+"="+d)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a child process: %v\n%s", t.Name(), err, out)
	}
	t.Logf("%s in a child process:\n%s", t.Name(), out)
	return "", false
}

// Fill writes a file of size bytes at path, every byte allocated, so that a
// full-disk test can take a tmpfs's space and give it back by removing it.
func Fill(tb testing.TB, path string, size int64) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	buf := bytes.Repeat([]byte{0xff}, 1<<20)
	for size > 0 {
		n := min(size, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			tb.Fatal(err)
		}
		size -= n
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// FreeSpace returns the bytes an unprivileged process may still allocate on
// the filesystem holding dir, as the store reads it.
func FreeSpace(tb testing.TB, dir string) int64 {
	tb.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		tb.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
