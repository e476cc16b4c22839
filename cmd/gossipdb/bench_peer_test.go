//go:build linux

package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	gossipdbapi "github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// peerRound is how many creates each writer makes in one op of
// BenchmarkSubscribedPeerProcess.
const peerRound = 200

// BenchmarkSubscribedPeerProcess measures what a subscribed peer costs a
// writer when the two do not share a CPU, as nodes on two machines do not: the
// writer runs in this process, held to CPU 0, and the peer is a `gossipdb
// start` process held to CPU 1 (taskset). Both use the same disk. Each op is
// peerRound durable creates by a node of this process alone, then peerRound by
// the writer, whose peer merges them before the next op. It reports both rates
// and their ratio "with/alone". The root package's BenchmarkSubscribedPeerCost
// runs both nodes in one process on every CPU, where the peer's work takes CPU
// time from the writer too.
func BenchmarkSubscribedPeerProcess(b *testing.B) {
	if bin == "" {
		b.Skip("needs the command, which TestMain builds except in short mode")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		b.Skip("needs taskset (util-linux) to hold the peer to a CPU of its own")
	}
	if runtime.NumCPU() < 2 {
		b.Skip("needs two CPUs: one for the writer, one for the peer")
	}
	ctx := context.Background()

	peer := startBenchNode(b, []string{taskset, "-c", "1"})
	defer peer.stop(b)
	c := peer.client
	if _, err := c.AddCollection(ctx, userSDL); err != nil {
		b.Fatal(err)
	}
	if err := c.Subscribe(ctx, "User"); err != nil {
		b.Fatal(err)
	}
	addrs, err := c.PeerInfo(ctx)
	if err != nil || len(addrs) == 0 {
		b.Fatalf("the peer's addresses: %v %v", addrs, err)
	}

	// The nodes of this process, and every thread it runs, on CPU 0 only.
	defer pinProcess(b, 0)()
	alone := nodetest.Open(b, b.TempDir(), nil)
	writer := nodetest.Open(b, b.TempDir(), nil)
	users := nodetest.AddCollection(b, userSDL, alone, writer)
	if err := writer.Connect(ctx, addrs[0]); err != nil {
		b.Fatal(err)
	}
	peerID := addrs[0][strings.LastIndex(addrs[0], "/")+1:]
	nodetest.Eventually(b, 15*time.Second, func() error {
		got, err := writer.TopicPeers("User")
		if err != nil {
			return err
		}
		if !slices.Contains(got, peerID) {
			return fmt.Errorf("the writer does not see the peer on User's topic (sees %v)", got)
		}
		return nil
	})

	round := func(users *gossipdbapi.Collection, from int) time.Duration {
		start := time.Now()
		for i := range peerRound {
			if _, err := users.Create(ctx, benchUser(from+i)); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	merged := func(want int) {
		nodetest.Eventually(b, syncTimeout, func() error {
			got, err := mergedBlocks(ctx, peer.api)
			if err != nil {
				return err
			}
			if got < want {
				return fmt.Errorf("the peer merged %d of %d blocks", got, want)
			}
			return nil
		})
	}
	// Warm up: the writer's first round reaches the peer before timing starts.
	round(users[1], 0)
	merged(peerRound)

	var lone, withPeer time.Duration
	n := peerRound
	for b.Loop() {
		lone += round(users[0], n)
		withPeer += round(users[1], n)
		n += peerRound
		merged(n)
	}
	loneRate := float64(n-peerRound) / lone.Seconds()
	peerRate := float64(n-peerRound) / withPeer.Seconds()
	b.ReportMetric(loneRate, "alone-creates/s")
	b.ReportMetric(peerRate, "with-peer-creates/s")
	b.ReportMetric(peerRate/loneRate, "with/alone")
}

// benchUser is the i-th document of the benchmarks.
func benchUser(i int) map[string]any {
	return map[string]any{"name": fmt.Sprintf("user-%06d", i), "age": i % 100, "verified": i%2 == 0, "points": float64(i) + 0.5}
}

// mergedBlocks reads gossipdb_blocks_merged_total from the metrics of the node
// whose API listens on api.
func mergedBlocks(ctx context.Context, api string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+api+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "gossipdb_blocks_merged_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no gossipdb_blocks_merged_total in the peer's metrics")
}

// pinProcess holds every thread of this process, and so every thread it starts
// later, to CPU cpu, with GOMAXPROCS 1, and returns the function that gives
// them every CPU and GOMAXPROCS back.
func pinProcess(b *testing.B, cpu int) (restore func()) {
	b.Helper()
	var one, all unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		b.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(1)
	// A thread started during the first pass by one not yet held may be
	// missing from its listing: the second finds it.
	setAll(b, &one)
	setAll(b, &one)
	return func() {
		setAll(b, &all)
		runtime.GOMAXPROCS(procs)
	}
}

// setAll sets the CPU affinity of every thread of this process.
func setAll(b *testing.B, set *unix.CPUSet) {
	b.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// A thread may exit meanwhile (ESRCH): it needs no affinity then.
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			b.Fatalf("thread %d: %v", tid, err)
		}
	}
}
