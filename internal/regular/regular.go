// Package regular opens files a node reads from outside, such as its
// configuration, its API token or a network key, only when they are regular
// files: a FIFO, a device or a directory at such a path is refused, and
// opening one never blocks.
package regular

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Errors of Open and ReadFile, wrapped with the path.
var (
	// ErrNotRegular reports a path that names something other than a
	// regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge reports a file larger than ReadFile reads.
	ErrTooLarge = errors.New("larger than allowed")
)

// Open opens the file at path for reading and returns it with its FileInfo,
// if it is a regular file. It looks at the file it opened, not at the path
// before opening it, so a file swapped for a FIFO or a device in between
// cannot slip past; and it opens without waiting, so a FIFO with no writer
// does not block it. Anything else fails with an error wrapping
// ErrNotRegular and naming path.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	return f, fi, nil
}

// ReadFile reads the regular file at path (see Open), of at most max bytes;
// a larger one is an error naming path and wrapping ErrTooLarge.
func ReadFile(path string, max int64) ([]byte, error) {
	f, _, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w (%d bytes at most)", path, ErrTooLarge, max)
	}
	return data, nil
}
