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

// BenchmarkStartMemory runs `gossipdb start` with the default options and with
// --small-memory, creates 100,000 documents of userSDL through the HTTP API,
// 1,000 per request, and reports the process's RSS and its peak (MiB-RSS,
// MiB-peak) and its resident bytes by kind of mapping (nodetest.ResidentByKind:
// MiB-anon for the Go heap and runtime, MiB-sst, MiB-mem, MiB-vlog for Badger's
// mapped files, MiB-file for the command's code), then the RSS and anonymous
// memory again after startIdle without writes. Figures and commands:
// docs/BENCHMARKS.md, "Memory".
// startIdle is how long BenchmarkStartMemory leaves the process idle before it
// reads its memory again, as the root package's memoryBenchIdle does.
const startIdle = 30 * time.Second

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
}

// startMemory runs one node for BenchmarkStartMemory.
func startMemory(b *testing.B, flags []string) {
	const docs, perRequest, mib = 100_000, 1000, 1 << 20
	ctx := context.Background()
	n := startBenchNode(b, nil, flags...)
	defer n.stop(b)
	c, cmd := n.client, n.cmd
	if _, err := c.AddCollection(ctx, userSDL); err != nil {
		b.Fatal(err)
	}
	batch := make([]map[string]any, perRequest)
	start := time.Now()
	for done := 0; done < docs; done += perRequest {
		for i := range batch {
			n := done + i
			batch[i] = map[string]any{"name": fmt.Sprintf("user-%06d", n), "age": 20 + n%80, "verified": n%2 == 0, "points": float64(n) + 0.5}
		}
		if _, err := c.CreateMany(ctx, "User", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(docs/time.Since(start).Seconds(), "docs/s")
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
