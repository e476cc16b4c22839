//go:build unix

package gossipdb_test

import (
	"bytes"
	"context"
	"runtime/pprof"
	"slices"
	"testing"

	"github.com/google/pprof/profile"
)

// CPU attribution. The overhead benchmarks compare plain and loaded ops, and
// the difference of two noisy figures cannot show a cost of 1%. They also
// profile the loaded ops and count, sample by sample, what the API spent:
// every goroutine of an API server is labelled roleServer (the server starts
// inside pprof.Do, so its connections' goroutines inherit the label, and so do
// the watches a stream starts), the benchmark's own HTTP clients are labelled
// roleClient, and the node's own share of serving a watcher, queueing events
// in the goroutine that merged the blocks, is found by its function.
const (
	roleLabel  = "role"
	roleServer = "api"
	roleClient = "client"
)

// watcherFuncs are the functions, run by the node's own goroutines, that
// exist only to feed watchers.
var watcherFuncs = []string{"github.com/gossipdb/gossipdb.(*watchers).emit"}

// withRole runs f with the calling goroutine, and every goroutine it starts,
// labelled role.
func withRole(role string, f func()) {
	pprof.Do(context.Background(), pprof.Labels(roleLabel, role), func(context.Context) { f() })
}

// cpuShares accumulates CPU profiles of the loaded ops.
type cpuShares struct {
	buf              bytes.Buffer
	on               bool
	api, client, all int64 // nanoseconds of CPU sampled
}

// start starts profiling; it does nothing (and the shares are not reported) if
// another CPU profile is running, such as go test's -cpuprofile.
func (s *cpuShares) start(b *testing.B) {
	s.buf.Reset()
	if err := pprof.StartCPUProfile(&s.buf); err != nil {
		b.Logf("CPU shares not measured: %v", err)
		return
	}
	s.on = true
}

// stop stops profiling and adds the profile's samples to the shares.
func (s *cpuShares) stop(b *testing.B) {
	if !s.on {
		return
	}
	pprof.StopCPUProfile()
	s.on = false
	p, err := profile.Parse(&s.buf)
	if err != nil {
		b.Fatal(err)
	}
	cpu := len(p.SampleType) - 1 // samples, then CPU nanoseconds
	for _, sm := range p.Sample {
		v := sm.Value[cpu]
		s.all += v
		switch role := sm.Label[roleLabel]; {
		case len(role) > 0 && role[0] == roleClient:
			s.client += v
		case len(role) > 0 && role[0] == roleServer, feedsWatchers(sm):
			s.api += v
		}
	}
}

// feedsWatchers reports whether a sample's stack runs one of watcherFuncs.
func feedsWatchers(sm *profile.Sample) bool {
	for _, loc := range sm.Location {
		for _, line := range loc.Line {
			if line.Function != nil && slices.Contains(watcherFuncs, line.Function.Name) {
				return true
			}
		}
	}
	return false
}

// report reports the API's share of the CPU the process spent outside the
// benchmark's clients, in percent, as name, and the clients' share of the
// whole as "client-cpu-%".
func (s *cpuShares) report(b *testing.B, name string) {
	if s.all == 0 {
		return
	}
	b.ReportMetric(100*float64(s.api)/float64(s.all-s.client), name)
	b.ReportMetric(100*float64(s.client)/float64(s.all), "client-cpu-%")
}
