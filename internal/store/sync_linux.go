package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData writes f's data, and the metadata needed to read it back, to disk:
// fdatasync, as Badger's msync of a log does.
func syncData(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
