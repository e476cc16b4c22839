//go:build unix

package main

import "golang.org/x/sys/unix"

// openFilesLimit returns the process's limit on open files (RLIMIT_NOFILE,
// which the Go runtime raises to the hard limit at start), or 0 when it cannot
// be read.
func openFilesLimit() uint64 {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil || l.Cur == unix.RLIM_INFINITY {
		return 0
	}
	return l.Cur
}
