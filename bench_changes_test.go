package gossipdb_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
)

// BenchmarkChangesCatchUp reads a collection's change feed from position 0 to
// its end, as an application that was stopped while lag documents were
// created (CreateMany of 1,000, on disk). It reports events/s, the bytes
// allocated per event, and, from one more read after the timed ones that
// collects garbage every 8,192 events, the peak of the live heap above the
// heap before it: with the feed read in pages, it does not grow with the lag.
func BenchmarkChangesCatchUp(b *testing.B) {
	for _, lag := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("lag=%d", lag), func(b *testing.B) {
			c := benchCollection(b)
			benchDocs(b, c, lag)
			ctx := context.Background()
			sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			heap := func() uint64 {
				metrics.Read(sample)
				return sample[0].Value.Uint64()
			}
			read := func(each func(n int)) {
				n := 0
				for _, err := range c.ChangesTo(ctx, 0, uint64(lag)) {
					if err != nil {
						b.Fatal(err)
					}
					n++
					each(n)
				}
				if n != lag {
					b.Fatalf("read %d changes, want %d", n, lag)
				}
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			events := 0
			for b.Loop() {
				read(func(int) {})
				events += lag
			}
			runtime.ReadMemStats(&after)
			reportRate(b, events, "events/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(events), "B/event")
			runtime.GC()
			base := heap()
			peak := base
			read(func(n int) {
				if n%8192 == 0 {
					runtime.GC()
					peak = max(peak, heap())
				}
			})
			b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-MiB")
		})
	}
}
