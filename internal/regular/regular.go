// Package regular handles the small files a node keeps or is given beside
// its store, such as its configuration, its identity key, its API token or a
// network key. It reads them only when they are regular files (a FIFO, a
// device or a directory at such a path is refused, and opening one never
// blocks), and replaces them so that a crash leaves the old file or the new
// one, whole. It also checks that the directories that hold them are
// directories (CheckDir).
package regular

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// Errors of Open and ReadFile, wrapped with the path.
var (
	// ErrNotRegular reports a path that names something other than a
	// regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge reports a file larger than ReadFile reads.
	ErrTooLarge = errors.New("larger than allowed")
	// ErrNotDir reports a path, or one of its parents, that names something
	// other than a directory where CheckDir wants one.
	ErrNotDir = errors.New("not a directory")
	// ErrNotPrivate reports a file of secrets whose mode lets users other
	// than its owner read or write it.
	ErrNotPrivate = errors.New("other users may read it")
)

// CheckPrivate returns nil when fi, the FileInfo of the file at path (as Open
// returns it), gives no permission to users other than its owner: mode 0600 or
// less. Else it returns an error wrapping ErrNotPrivate that names path and its
// mode and says to run chmod 600 on it. Keys and tokens go through it, so each
// refuses the same modes with the same words. On Windows, where a file's mode
// bits do not say who may read it, it returns nil.
func CheckPrivate(path string, fi fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s: %w (mode %04o): run chmod 600 on it", path, ErrNotPrivate, perm)
	}
	return nil
}

// CheckDir returns nil when path is a directory (or a symbolic link to one),
// or names nothing yet, in a directory, so that os.MkdirAll can make it. Else it
// returns an error wrapping ErrNotDir that names path and says what is in the
// way: a file or another thing that is not a directory, at path or at one of
// its parents, or a symbolic link to nothing (a disk not mounted, a directory
// moved), which it does not follow to make its target.
func CheckDir(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s is %s, %w", path, kind(fi), ErrNotDir)
	case errors.Is(err, syscall.ENOTDIR):
		for p := filepath.Dir(path); p != filepath.Dir(p); p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return fmt.Errorf("%s: its parent %s is %s, %w", path, p, kind(fi), ErrNotDir)
			}
		}
		return fmt.Errorf("%s: %w", path, ErrNotDir)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if target, err := os.Readlink(path); err == nil {
		return fmt.Errorf("%s is a symbolic link to %s, which does not exist: %w", path, target, ErrNotDir)
	}
	return nil
}

// kind names what fi describes, for CheckDir's errors.
func kind(fi fs.FileInfo) string {
	if fi.Mode().IsRegular() {
		return "a file"
	}
	return "a special file (" + fi.Mode().String() + ")"
}

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
	return read(f, path, max)
}

// ReadPrivate is ReadFile for a file of secrets: one that others may read
// (see CheckPrivate) is refused, unread, with an error wrapping ErrNotPrivate.
func ReadPrivate(path string, max int64) ([]byte, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := CheckPrivate(path, fi); err != nil {
		return nil, err
	}
	return read(f, path, max)
}

// read reads at most max bytes of f, the file at path, for ReadFile and
// ReadPrivate.
func read(f *os.File, path string, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w (%d bytes at most)", path, ErrTooLarge, max)
	}
	return data, nil
}

// Replace writes data, with permissions perm, to a new file next to path,
// syncs it, renames it over path and syncs the directory: when Replace
// returns, the file at path holds data, durably, and a crash before then
// leaves the old file or the new one, never a part. The new file is removed
// if anything fails.
func Replace(path string, data []byte, perm fs.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir syncs directory dir, so that the names just made in it are on
// disk. Windows has no such call and does not need it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
