package reconcile_test

import (
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"
)

// TestExchangeProperty checks that, for random pairs of sets with heavy overlap,
// any mix of differences and either side empty, the in-memory exchange finds
// exactly the difference, split into Need and Offer, with the default message
// limits and with tiny ones that force deferral. The sets' seed is a rapid draw,
// so rapid's own mechanism repeats a run: a failure prints -rapid.seed=N, which
// replays it (the other randomised tests use nodetest.SeedEnv).
func TestExchangeProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(0, 2000).Draw(rt, "n")
		w := [4]int{
			rapid.IntRange(0, 1000).Draw(rt, "same"),
			rapid.IntRange(0, 10).Draw(rt, "onlyA"),
			rapid.IntRange(0, 10).Draw(rt, "onlyB"),
			rapid.IntRange(0, 10).Draw(rt, "changed"),
		}
		if w == [4]int{} {
			w[0] = 1
		}
		short := rapid.Bool().Draw(rt, "shortKeys")
		seed := rapid.Uint64().Draw(rt, "seed")
		small := rapid.Bool().Draw(rt, "smallLimits")

		rng := rand.New(rand.NewPCG(seed, 3))
		keys := make([]string, n)
		for i := range keys {
			if short {
				// Keys of up to 6 bytes from a 3-letter alphabet, so that many
				// are prefixes of others.
				b := make([]byte, rng.IntN(7))
				for j := range b {
					b[j] = "\x00a\xff"[rng.IntN(3)]
				}
				keys[i] = string(b)
			} else {
				keys[i] = docKey(rng.Uint64())
			}
		}
		total := w[0] + w[1] + w[2] + w[3]
		p := makePair(keys, func(int) kind {
			x := rng.IntN(total)
			for k := range w {
				if x < w[k] {
					return kind(k)
				}
				x -= w[k]
			}
			panic("unreachable")
		})
		var l limits
		if small {
			l = limits{budget: 256, limit: 1024, maxRanges: 8}
		}
		r := exchange(rt, mustSet(rt, p.a), mustSet(rt, p.b), l, 10_000)
		checkResult(rt, r, p)
	})
}
