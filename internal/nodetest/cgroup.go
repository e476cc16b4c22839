package nodetest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cgroupEmptyTimeout is how long a Cgroup's cleanup waits for the processes
// in it to exit before it gives up removing it.
const cgroupEmptyTimeout = 30 * time.Second

// Cgroup is a memory cgroup that MemoryCgroup made: a process run with its
// Prefix is charged to it, and the kernel kills a process in it (OOM) when
// what they hold together passes the limit. Its methods are safe for
// concurrent use.
type Cgroup struct {
	dir string // the cgroup's directory
	v2  bool   // in a cgroup v2 hierarchy; otherwise in cgroup v1's memory hierarchy
}

// MemoryCgroup makes a new memory cgroup whose processes may hold limit bytes
// of memory (swap included, where the kernel counts it), under the root of
// cgroup v1's memory hierarchy or else of a cgroup v2 hierarchy that has the
// memory controller (enabling it for its children if needed); it is removed at
// the end of the test, once the processes in it have exited. It skips the test,
// saying why, unless run as root on Linux with a memory controller it can make
// a cgroup in.
func MemoryCgroup(tb testing.TB, limit int64) *Cgroup {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to make a memory cgroup; CI runs as root")
	}
	root, v2, err := memoryHierarchy()
	if err != nil {
		tb.Skipf("needs a memory cgroup: %v", err)
	}
	if v2 {
		if err := enableMemory(root); err != nil {
			tb.Skipf("needs a memory cgroup: %v", err)
		}
	}
	dir, err := os.MkdirTemp(root, "gossipdb-test-")
	if err != nil {
		tb.Skipf("needs a memory cgroup: %v", err)
	}
	c := &Cgroup{dir: dir, v2: v2}
	tb.Cleanup(func() {
		if err := c.remove(); err != nil {
			tb.Error(err)
		}
	})
	files := []string{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}
	if v2 {
		files = []string{"memory.max", "memory.swap.max"}
	}
	if err := os.WriteFile(filepath.Join(dir, files[0]), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
		tb.Fatalf("set the limit of cgroup %s: %v", dir, err)
	}
	// Swap would let a process past the limit page out instead of being
	// killed. The file is missing where the kernel does not count swap.
	swap := strconv.FormatInt(limit, 10)
	if v2 {
		swap = "0"
	}
	if err := os.WriteFile(filepath.Join(dir, files[1]), []byte(swap), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatalf("set the swap limit of cgroup %s: %v", dir, err)
	}
	return c
}

// memoryHierarchy returns the mount point of cgroup v1's memory hierarchy, or
// else of a cgroup v2 hierarchy whose cgroup.controllers lists memory, from
// /proc/self/mountinfo.
func memoryHierarchy() (root string, v2 bool, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	var unified []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		// 34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
		fields := strings.Fields(s.Text())
		sep := slices.Index(fields, "-")
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		mountPoint, fsType, options := fields[4], fields[sep+1], fields[sep+3]
		switch {
		case fsType == "cgroup" && slices.Contains(strings.Split(options, ","), "memory"):
			return mountPoint, false, nil
		case fsType == "cgroup2":
			unified = append(unified, mountPoint)
		}
	}
	if err := s.Err(); err != nil {
		return "", false, err
	}
	for _, m := range unified {
		controllers, err := os.ReadFile(filepath.Join(m, "cgroup.controllers"))
		if err == nil && slices.Contains(strings.Fields(string(controllers)), "memory") {
			return m, true, nil
		}
	}
	return "", false, errors.New("no cgroup v1 memory hierarchy, and no cgroup v2 hierarchy with the memory controller, is mounted")
}

// enableMemory enables the memory controller for the children of the cgroup v2
// directory root, unless it is already.
func enableMemory(root string) error {
	path := filepath.Join(root, "cgroup.subtree_control")
	enabled, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if slices.Contains(strings.Fields(string(enabled)), "memory") {
		return nil
	}
	if err := os.WriteFile(path, []byte("+memory"), 0); err != nil {
		return fmt.Errorf("enable the memory controller in %s: %w", path, err)
	}
	return nil
}

// Prefix returns the words that run a command in the cgroup: a shell that
// moves itself into it, then executes the words that follow the prefix. The
// caller owns the slice.
func (c *Cgroup) Prefix() []string {
	return []string{"sh", "-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(c.dir, "cgroup.procs")}
}

// Peak returns the most memory, in bytes, that the cgroup's processes have
// held together since it was made (v1's memory.max_usage_in_bytes, v2's
// memory.peak, which needs Linux 5.19).
func (c *Cgroup) Peak() (int64, error) {
	name := "memory.max_usage_in_bytes"
	if c.v2 {
		name = "memory.peak"
	}
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// OOMKills returns how many processes in the cgroup the kernel has killed for
// passing its limit (the oom_kill line of v1's memory.oom_control, which needs
// Linux 4.13, or of v2's memory.events).
func (c *Cgroup) OOMKills() (int64, error) {
	name := "memory.oom_control"
	if c.v2 {
		name = "memory.events"
	}
	path := filepath.Join(c.dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no oom_kill in %s", path)
}

// remove waits until no process is left in the cgroup, then removes it.
func (c *Cgroup) remove() error {
	procs := filepath.Join(c.dir, "cgroup.procs")
	err := Poll(cgroupEmptyTimeout, func() error {
		b, err := os.ReadFile(procs)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			err = fmt.Errorf("processes %s still in it", strings.Join(strings.Fields(string(b)), ","))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("cgroup %s not removed: %w", c.dir, err)
	}
	if err := os.Remove(c.dir); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", c.dir, err)
	}
	return nil
}
