package nodetest

import (
	"sync"
	"testing"
	"time"
)

// ConcurrentRound is how many calls each goroutine makes in one op of
// OneAgainstEight.
const ConcurrentRound = 16

// OneAgainstEight measures write, a durable write of the i-th document, from
// one goroutine and from eight in the same run: each op is ConcurrentRound
// calls from one goroutine, then ConcurrentRound from each of eight, so that a
// disk whose fsync speed drifts weighs on both alike. It reports both rates,
// named after who writes ("1-writer-creates/s", "8-writers-creates/s"), and
// their ratio "8/1". A failed write fails the benchmark.
func OneAgainstEight(b *testing.B, who string, write func(i int) error) {
	var one, eight time.Duration
	var ones, eights int
	n := 0
	for b.Loop() {
		start := time.Now()
		for range ConcurrentRound {
			if err := write(n); err != nil {
				b.Fatal(err)
			}
			n++
		}
		one += time.Since(start)
		ones += ConcurrentRound
		start = time.Now()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range ConcurrentRound {
					if err := write(n + w*ConcurrentRound + i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		eight += time.Since(start)
		eights += 8 * ConcurrentRound
		n += 8 * ConcurrentRound
	}
	oneRate := float64(ones) / one.Seconds()
	eightRate := float64(eights) / eight.Seconds()
	b.ReportMetric(oneRate, "1-"+who+"-creates/s")
	b.ReportMetric(eightRate, "8-"+who+"s-creates/s")
	b.ReportMetric(eightRate/oneRate, "8/1")
}
