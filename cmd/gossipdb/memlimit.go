package main

import (
	"errors"
	"io/fs"
	"math"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// goMemoryLimit decides the Go runtime's memory limit, in bytes, that start
// sets: 0 for none (the runtime's default, no limit, or $GOMEMLIMIT's stands).
// envSet says whether $GOMEMLIMIT is set, small whether --small-memory is
// given, and container is the memory limit of the cgroup the process runs in,
// in bytes, or 0 when it has none. fromContainer says that the limit is the
// container's share, so that start can say where it comes from.
//
// $GOMEMLIMIT always wins. Otherwise a container limit gives 90% of it (the
// rest is for what is not Go heap: stacks, and the pages of the store's
// mapped files that the kernel must write back before it can reclaim them),
// and --small-memory gives smallMemoryLimit, or the container's share if that
// is smaller.
func goMemoryLimit(envSet, small bool, container uint64) (limit int64, fromContainer bool) {
	if envSet {
		return 0, false
	}
	if container > 0 {
		// 90% rounded down, without overflow.
		share := min(container/10*9+container%10*9/10, math.MaxInt64)
		if !small || share < smallMemoryLimit {
			return int64(share), true
		}
	}
	if small {
		return smallMemoryLimit, false
	}
	return 0, false
}

// containerMemory returns the memory limit, in bytes, of the cgroup the
// process runs in (cgroup v1's memory.limit_in_bytes, or the smallest
// memory.max on the way to the root of a v2 hierarchy), or 0 when there is
// none: no limit ("max"), no memory cgroup, no cgroups (not Linux). An error
// means that there are cgroups whose limit it could not read.
func containerMemory() (uint64, error) {
	limit, err := memlimit.FromCgroup()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit), errors.Is(err, memlimit.ErrNoCgroup),
		errors.Is(err, memlimit.ErrCgroupsNotSupported), errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return limit, nil
}
