//go:build linux || darwin || freebsd

package store

import "golang.org/x/sys/unix"

// statFree returns the bytes an unprivileged process may still allocate on the
// filesystem holding path.
func statFree(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize)), nil
}

// allocated returns the bytes of disk the file at path takes (less than its size
// when it is sparse).
func allocated(path string) (int64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Blocks * 512, nil
}
