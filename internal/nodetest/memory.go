package nodetest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcStatus returns the value, in bytes, of a line of /proc/PID/status given
// in kB (VmRSS, VmHWM, ...); pid 0 means this process. It fails where /proc is
// missing (not Linux).
func ProcStatus(pid int, key string) (int64, error) {
	f, err := os.Open(procFile(pid, "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), key+":"); ok {
			return kB(rest)
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, f.Name())
}

// ResidentByKind sums the resident bytes of the mappings of process pid (0:
// this process) by kind, from /proc/PID/smaps: "sst", "mem" and "vlog" for
// Badger's table files, memtable logs and value logs, "file" for other files
// (the program's code), and "anon" for anonymous memory (the Go heap, stacks
// and the runtime's own).
func ResidentByKind(pid int) (map[string]int64, error) {
	f, err := os.Open(procFile(pid, "smaps"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]int64{}
	kind := ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if rest, ok := strings.CutPrefix(line, "Rss:"); ok {
			n, err := kB(rest)
			if err != nil {
				return nil, err
			}
			sums[kind] += n
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 5 || !strings.Contains(fields[0], "-") || strings.HasSuffix(fields[0], ":") {
			continue // an attribute line of the current mapping
		}
		kind = "anon"
		if len(fields) >= 6 && strings.HasPrefix(fields[5], "/") {
			switch name := fields[5]; {
			case strings.HasSuffix(name, ".sst"):
				kind = "sst"
			case strings.HasSuffix(name, ".vlog"):
				kind = "vlog"
			case strings.HasSuffix(name, ".mem"):
				kind = "mem"
			default:
				kind = "file"
			}
		}
	}
	return sums, s.Err()
}

// procFile returns the path of a file of /proc for process pid (0: self).
func procFile(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// kB parses a /proc value such as " 1234 kB" into bytes.
func kB(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(s), " kB"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a size in kB: %q", s)
	}
	return n << 10, nil
}
