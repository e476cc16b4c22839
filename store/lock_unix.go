//go:build unix

package store

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockHeld reports whether another Open holds the store in dir. Badger's error
// for a held lock keeps only the text of the errno, so after a failed Open the
// store tries the lock Badger takes (flock of the directory) itself: if even a
// shared lock would block, an exclusive one is held. A lock it gets is released
// at once.
func lockHeld(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
