//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockDir takes a flock on directory dir, exclusive or shared, without
// waiting, and returns the function that lets it go; the kernel lets it go
// too when the process ends, however it ends. While another holder's lock
// conflicts with it, it fails with ErrLocked naming dir.
//
// The store takes dir shared (lockDir), against the exclusive lock Badger
// takes while a process has the store open; gossipdb.Open takes its data
// directory exclusive, so that one Node at a time owns it.
func LockDir(dir string, exclusive bool) (release func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

// Holder describes the holder of the data directory dir of a gossipdb node
// (the directory that holds its store, in dir/store) from the process ID that
// Badger writes to store/LOCK while it has the store open. The file is missing
// while the holder has yet to open its store, and may name a process a kill
// ended, so only a running process is named.
func Holder(dir string) string {
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
