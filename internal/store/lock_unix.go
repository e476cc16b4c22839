//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"

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
