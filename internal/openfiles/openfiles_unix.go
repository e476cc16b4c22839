//go:build unix

package openfiles

import (
	"math"

	"golang.org/x/sys/unix"
)

// Limit returns the process's limit on open files (RLIMIT_NOFILE, which the
// Go runtime raises to the hard limit at start), or 0 when it cannot be read
// or is unlimited.
func Limit() int {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil || l.Cur == unix.RLIM_INFINITY || l.Cur > math.MaxInt32 {
		return 0
	}
	return int(l.Cur)
}
