package main_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// startIdle is how long BenchmarkStartMemory leaves the process idle before it
// reads its memory again, as the root package's memoryBenchIdle does.
const startIdle = 30 * time.Second

// BenchmarkStartMemory runs `gossipdb start` with the default options and with
// --small-memory, creates 100,000 documents of userSDL through the HTTP API,
// 1,000 per request, and reports the process's RSS and its peak (MiB-RSS,
// MiB-peak) and its resident bytes by kind of mapping (nodetest.ResidentByKind:
// MiB-anon for the Go heap and runtime, MiB-sst, MiB-mem, MiB-vlog for Badger's
// mapped files, MiB-file for the command's code), then the RSS and anonymous
// memory again after startIdle without writes.
//
// The *-cgroup-* sub-benchmarks run the process in a memory cgroup of the size
// their name says (nodetest.MemoryCgroup: root only, skipped elsewhere), as in
// a container: the defaults in 160, 256 and 320 MiB, --small-memory in 96 and
// 128 MiB; the command sets the Go memory limit from the cgroup's (90% of it,
// or 48 MiB with --small-memory when that is smaller). They create cgroupDocs
// documents the same way, a burst long enough for the store to flush and
// compact, until the kernel kills the process, which does not fail them, and
// report the documents acknowledged (docs) and their rate (docs/s), the
// cgroup's OOM kills (oom-kills) and its peak usage, page cache of the store's
// files included (MiB-cgroup-peak). Figures and commands: docs/BENCHMARKS.md,
// "Memory" and "Session 37".
func BenchmarkStartMemory(b *testing.B) {
	if bin == "" {
		b.Skip("needs the command, which TestMain builds except in short mode")
	}
	for _, bc := range []struct {
		name  string
		flags []string
	}{
		{"default", nil},
		{"small", []string{"--small-memory"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				startMemory(b, bc.flags)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
	for _, bc := range []struct {
		name  string
		limit int64
		flags []string
	}{
		{"default-cgroup-160MiB", 160 << 20, nil},
		{"default-cgroup-256MiB", 256 << 20, nil},
		{"default-cgroup-320MiB", 320 << 20, nil},
		{"small-cgroup-96MiB", 96 << 20, []string{"--small-memory"}},
		{"small-cgroup-128MiB", 128 << 20, []string{"--small-memory"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				startMemoryCgroup(b, bc.limit, bc.flags)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkStartMemory creates startDocs documents of userSDL (cgroupDocs in a
// cgroup), startPerRequest in each request.
const startDocs, cgroupDocs, startPerRequest = 100_000, 300_000, 1000

// createUsers creates docs documents of BenchmarkStartMemory through c, in
// order, and returns how many were acknowledged and when the last of them
// was, with the error that stopped it, if any.
func createUsers(c *client.Client, docs int) (int, time.Time, error) {
	batch := make([]map[string]any, startPerRequest)
	done, last := 0, time.Now()
	for ; done < docs; done += startPerRequest {
		for i := range batch {
			n := done + i
			batch[i] = map[string]any{"name": fmt.Sprintf("user-%06d", n), "age": 20 + n%80, "verified": n%2 == 0, "points": float64(n) + 0.5}
		}
		if _, err := c.CreateMany(context.Background(), "User", batch); err != nil {
			return done, last, err
		}
		last = time.Now()
	}
	return done, last, nil
}

// startMemory runs one node for BenchmarkStartMemory.
func startMemory(b *testing.B, flags []string) {
	const mib = 1 << 20
	n := startBenchNode(b, nil, flags...)
	defer n.stop(b)
	c, cmd := n.client, n.cmd
	if _, err := c.AddCollection(context.Background(), userSDL); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, _, err := createUsers(c, startDocs); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(startDocs/time.Since(start).Seconds(), "docs/s")
	report := func(suffix string) {
		rss, err := nodetest.ProcStatus(cmd.Process.Pid, "VmRSS")
		if err != nil {
			b.Skip(err)
		}
		b.ReportMetric(float64(rss)/mib, "MiB-RSS"+suffix)
		kinds, err := nodetest.ResidentByKind(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		for kind, n := range kinds {
			if suffix == "" || kind == "anon" {
				b.ReportMetric(float64(n)/mib, "MiB-"+kind+suffix)
			}
		}
	}
	report("")
	if peak, err := nodetest.ProcStatus(cmd.Process.Pid, "VmHWM"); err == nil {
		b.ReportMetric(float64(peak)/mib, "MiB-peak")
	}
	time.Sleep(startIdle) // what is measured is the process left idle: nothing to poll
	report("-idle")
}

// startMemoryCgroup runs one node for BenchmarkStartMemory in a new memory
// cgroup of limit bytes. A node that the kernel kills for passing the limit,
// while it takes the documents or while it stops, ends the run without
// failing it.
func startMemoryCgroup(b *testing.B, limit int64, flags []string) {
	const mib = 1 << 20
	cg := nodetest.MemoryCgroup(b, limit)
	n := startBenchNode(b, cg.Prefix(), flags...)
	_, err := n.client.AddCollection(context.Background(), userSDL)
	start := time.Now()
	docs, last := 0, start
	if err == nil {
		docs, last, err = createUsers(n.client, cgroupDocs)
	}
	exited := make(chan error, 1)
	go func() { exited <- n.cmd.Wait() }()
	var waitErr error
	if err == nil {
		n.cmd.Process.Signal(syscall.SIGTERM)
		waitErr = <-exited
	} else {
		// A failed request is the process killed, which exits at once, or
		// a failure of the benchmark's.
		select {
		case waitErr = <-exited:
		case <-time.After(stopTimeout):
			n.cmd.Process.Kill()
			<-exited
			b.Fatalf("after %d documents: %v; the process still ran %v later\n%s", docs, err, stopTimeout, n.logs)
		}
	}
	kills, killsErr := cg.OOMKills()
	if killsErr != nil {
		b.Fatal(killsErr)
	}
	status, _ := n.cmd.ProcessState.Sys().(syscall.WaitStatus)
	killed := kills > 0 && status.Signaled() && status.Signal() == syscall.SIGKILL
	switch {
	case killed && err != nil:
		b.Logf("killed by the kernel, out of memory, after %d documents (%v); its log:\n%s", docs, err, n.logs)
	case killed:
		b.Logf("killed by the kernel, out of memory, after all %d documents, as it stopped "+
			"on SIGTERM or just before; its log:\n%s", docs, n.logs)
	case err != nil:
		b.Fatalf("after %d documents: %v (the process: %v)\n%s", docs, err, waitErr, n.logs)
	case waitErr != nil:
		b.Fatalf("gossipdb start: %v\n%s", waitErr, n.logs)
	}
	b.ReportMetric(float64(docs), "docs")
	rate := 0.0
	if docs > 0 {
		rate = float64(docs) / last.Sub(start).Seconds()
	}
	b.ReportMetric(rate, "docs/s")
	b.ReportMetric(float64(kills), "oom-kills")
	peak, err := cg.Peak()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(peak)/mib, "MiB-cgroup-peak")
}

// benchNode is a `gossipdb start` process that a benchmark runs, and a client
// of its API.
type benchNode struct {
	cmd    *exec.Cmd
	api    string // the --url
	client *client.Client
	logs   *nodetest.LogBuffer
}

// startBenchNode runs `gossipdb start` with flags, on a new root directory and
// free ports, and waits until its API answers. The words of prefix, if any,
// come first: a command that runs it, such as taskset. The caller stops it.
func startBenchNode(b *testing.B, prefix []string, flags ...string) *benchNode {
	b.Helper()
	n := &benchNode{api: "127.0.0.1:" + strconv.Itoa(freePort(b)), logs: &nodetest.LogBuffer{}}
	args := append(slices.Clone(prefix), bin, "start", "--rootdir", b.TempDir(), "--url", n.api,
		"--p2paddr", "/ip4/127.0.0.1/tcp/"+strconv.Itoa(freePort(b)))
	n.cmd = exec.Command(args[0], append(args[1:], flags...)...)
	n.cmd.Env = cleanEnv()
	n.cmd.Stderr = n.logs
	if err := n.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	started := false
	defer func() {
		if !started { // b.Fatal below: the process must not outlive the benchmark
			n.stop(b)
		}
	}()
	c, err := client.New(n.api, nil)
	if err != nil {
		b.Fatal(err)
	}
	n.client = c
	nodetest.Eventually(b, startTimeout, func() error {
		_, err := c.Health(context.Background())
		return err
	})
	started = true
	return n
}

// stop ends the process with SIGTERM and fails b if it did not exit cleanly.
func (n *benchNode) stop(b *testing.B) {
	n.cmd.Process.Signal(syscall.SIGTERM)
	if err := n.cmd.Wait(); err != nil {
		b.Errorf("gossipdb start: %v\n%s", err, n.logs)
	}
}
