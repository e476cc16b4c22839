package main

import (
	"math"
	"testing"
)

// TestGoMemoryLimit: $GOMEMLIMIT wins; a container's limit gives 90% of it,
// or smallMemoryLimit with --small-memory when that is smaller; without a
// container limit only --small-memory sets one.
func TestGoMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name          string
		envSet, small bool
		container     uint64
		want          int64
		fromContainer bool
	}{
		{"no container", false, false, 0, 0, false},
		{"no container, small", false, true, 0, smallMemoryLimit, false},
		{"GOMEMLIMIT", true, false, 0, 0, false},
		{"GOMEMLIMIT, small", true, true, 0, 0, false},
		{"GOMEMLIMIT, container", true, false, 128 * mib, 0, false},
		{"GOMEMLIMIT, small, container", true, true, 32 * mib, 0, false},
		{"container", false, false, 128 * mib, 128 * mib * 9 / 10, true},
		{"container 256 MiB", false, false, 256 * mib, 241591910, true},
		{"container, rounded down", false, false, 19, 17, true},
		{"small, larger container", false, true, 128 * mib, smallMemoryLimit, false},
		{"small, container's share the same", false, true, smallMemoryLimit*10/9 + 1, smallMemoryLimit, false},
		{"small, container's share just below", false, true, smallMemoryLimit * 10 / 9, smallMemoryLimit - 1, true},
		{"small, smaller container", false, true, 48 * mib, 48 * mib * 9 / 10, true},
		{"huge container", false, false, math.MaxUint64, math.MaxInt64, true},
		{"container near MaxInt64", false, false, math.MaxInt64, 8301034833169298226, true},
	} {
		got, fromContainer := goMemoryLimit(tc.envSet, tc.small, tc.container)
		if got != tc.want || fromContainer != tc.fromContainer {
			t.Errorf("%s: goMemoryLimit(%v, %v, %d) = %d, %v; want %d, %v",
				tc.name, tc.envSet, tc.small, tc.container, got, fromContainer, tc.want, tc.fromContainer)
		}
	}
}
