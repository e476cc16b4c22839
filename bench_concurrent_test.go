package gossipdb_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// BenchmarkCreateConcurrent compares eight goroutines each creating one
// document per durable call with one goroutine doing the same, on one node on
// disk, in one run (issue 17, group commit): each op is a round of
// concurrentRound creates from one writer, then concurrentRound from each of
// eight, so a disk whose fsync speed drifts weighs on both alike. It reports
// each one's rate and their ratio (the target is at least 4): concurrent
// writes that reach the store together share an fsync.
func BenchmarkCreateConcurrent(b *testing.B) {
	c := benchCollection(b)
	ctx := context.Background()
	var one, eight time.Duration
	var ones, eights int
	n := 0
	for b.Loop() {
		t := time.Now()
		for range concurrentRound {
			if _, err := c.Create(ctx, benchUser(n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
		one += time.Since(t)
		ones += concurrentRound
		t = time.Now()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range concurrentRound {
					if _, err := c.Create(ctx, benchUser(n+w*concurrentRound+i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		eight += time.Since(t)
		eights += 8 * concurrentRound
		n += 8 * concurrentRound
	}
	oneRate := float64(ones) / one.Seconds()
	eightRate := float64(eights) / eight.Seconds()
	b.ReportMetric(oneRate, "1-writer-creates/s")
	b.ReportMetric(eightRate, "8-writers-creates/s")
	b.ReportMetric(eightRate/oneRate, "8/1")
}

// concurrentRound is how many creates each writer makes in one op of
// BenchmarkCreateConcurrent.
const concurrentRound = 16
