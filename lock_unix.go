//go:build unix

package gossipdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gossipdb/gossipdb/internal/store"
)

// lockDir takes the lock that makes one open Node at a time, in this process or
// another, the owner of data directory dir: an exclusive flock on the
// directory (store.LockDir), which the kernel lets go when the process ends,
// however it ends. release lets it go. Open takes it before it reads or
// writes anything in dir. While another node holds dir it fails with
// ErrLocked, naming dir and, where it can, the holder.
func lockDir(dir string) (release func(), err error) {
	release, err = store.LockDir(dir, true)
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: %s (%s)", ErrLocked, dir, holder(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("gossipdb: %w", err)
	}
	return release, nil
}

// holder describes the holder of data directory dir from the process ID that
// its store's engine (Badger) writes to store/LOCK while it has the store open.
// The file is missing while the holder has yet to open its store, and may name
// a process a kill ended, so only a running process is named.
func holder(dir string) string {
	data, _ := os.ReadFile(filepath.Join(dir, "store", "LOCK"))
	const unknown = "held by another process, or another node of this one"
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return unknown
	}
	if pid == os.Getpid() {
		return "held by another node of this process"
	}
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return unknown // no such process
	}
	return "held by process " + strconv.Itoa(pid)
}
