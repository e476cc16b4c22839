package gossipdb_test

// Benchmarks of a node's memory (issue 17): the process's resident set after
// a node on disk has taken many documents. RSS is the whole process's, so run
// one benchmark per process (one -bench pattern naming one sub-benchmark, with
// -benchtime=1x). Figures and commands: docs/BENCHMARKS.md.

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// procStatus returns the value of a line of /proc/self/status given in kB
// (VmRSS, VmHWM, ...), in bytes; it skips the benchmark where there is none.
func procStatus(b *testing.B, key string) float64 {
	n, err := nodetest.ProcStatus(0, key)
	if err != nil {
		b.Skip(err)
	}
	return float64(n)
}

// vmRSS returns the process's resident set size in bytes.
func vmRSS(b *testing.B) float64 {
	return procStatus(b, "VmRSS")
}

// residentByKind returns nodetest.ResidentByKind of this process.
func residentByKind(b *testing.B) map[string]int64 {
	sums, err := nodetest.ResidentByKind(0)
	if err != nil {
		b.Skip(err)
	}
	return sums
}

// memoryBenchDocs is how many documents a CreateMany of the memory benchmark
// writes.
const memoryBenchDocs = 1000

// memoryBenchIdle is how long the memory benchmark leaves the node idle
// before it measures its RSS again.
const memoryBenchIdle = 30 * time.Second

// smallMemoryLimit is the Go runtime's memory limit that `gossipdb start
// --small-memory` sets (cmd/gossipdb).
const smallMemoryLimit = 48 << 20

// BenchmarkMemory fills a new node on disk with the given number of documents
// of benchSDL's User, 1,000 per CreateMany (as an application importing data
// would), then reports the process's RSS (MiB-RSS) and its peak (MiB-peak), the
// resident bytes by kind of mapping (MiB-anon: the Go heap and runtime; MiB-sst,
// MiB-mem, MiB-vlog: Badger's memory-mapped tables, memtable logs and value
// logs; MiB-file: other files, the test binary's code), the Go heap in use
// (MiB-heap) and, after a collection, live (MiB-live), the collections run
// (gcs), the store's size on disk (MiB-disk) and the write rate; then, after
// memoryBenchIdle without writes, the RSS and anonymous memory again
// (MiB-RSS-idle, MiB-anon-idle). The small-*
// runs set Options.SmallMemory and the Go memory limit as `gossipdb start
// --small-memory` does, unless GOMEMLIMIT is set. Run one sub-benchmark per
// process, with -benchtime=1x: RSS is the process's.
func BenchmarkMemory(b *testing.B) {
	small := &gossipdb.Options{SmallMemory: true}
	for _, bc := range []struct {
		name string
		docs int
		opts *gossipdb.Options
	}{
		{"default-100k", 100_000, nil},
		{"default-1M", 1_000_000, nil},
		{"small-100k", 100_000, small},
		{"small-1M", 1_000_000, small},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.opts != nil && bc.opts.SmallMemory && os.Getenv("GOMEMLIMIT") == "" {
				// As gossipdb start --small-memory does (smallMemoryLimit).
				defer debug.SetMemoryLimit(debug.SetMemoryLimit(smallMemoryLimit))
			}
			ctx := context.Background()
			batch := make([]map[string]any, memoryBenchDocs)
			var elapsed time.Duration
			for b.Loop() {
				dir := b.TempDir()
				n, err := gossipdb.Open(dir, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				cs, err := n.AddCollection(ctx, benchSDL)
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				for done := 0; done < bc.docs; done += len(batch) {
					for i := range batch {
						batch[i] = benchUser(done + i)
					}
					if _, err := cs[0].CreateMany(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				elapsed = time.Since(start)
				b.StopTimer()
				reportMemory(b)
				b.ReportMetric(float64(dirBytes(b, dir))/(1<<20), "MiB-disk")
				// Badger keeps the buffers it built tables in for the next
				// tables, and frees one every 2 s while it builds none.
				time.Sleep(memoryBenchIdle)
				b.ReportMetric(vmRSS(b)/(1<<20), "MiB-RSS-idle")
				b.ReportMetric(float64(residentByKind(b)["anon"])/(1<<20), "MiB-anon-idle")
				if err := n.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(bc.docs)/elapsed.Seconds(), "docs/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// reportMemory reports the process's memory as BenchmarkMemory describes.
func reportMemory(b *testing.B) {
	const mib = 1 << 20
	b.ReportMetric(vmRSS(b)/mib, "MiB-RSS")
	b.ReportMetric(procStatus(b, "VmHWM")/mib, "MiB-peak")
	for kind, v := range residentByKind(b) {
		b.ReportMetric(float64(v)/mib, "MiB-"+kind)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/mib, "MiB-heap")
	b.ReportMetric(float64(ms.NumGC), "gcs")
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/mib, "MiB-live")
}

// dirBytes returns the bytes allocated to the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
