package reconcile_test

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/reconcile"
)

// TestExchangeProperty checks that, for random pairs of sets with heavy overlap,
// any mix of differences and either side empty, the in-memory exchange finds
// exactly the difference, split into Need and Offer, with the default message
// limits and with tiny ones that force deferral. The sets' seed is a rapid draw,
// so rapid's own mechanism repeats a run: a failure prints -rapid.seed=N, which
// replays it (the other randomised tests use nodetest.SeedEnv).
func TestExchangeProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p, small := drawPair(rt)
		var l limits
		if small {
			l = limits{budget: 256, limit: 1024, maxRanges: 8}
		}
		r := exchange(rt, mustSet(rt, p.a), mustSet(rt, p.b), l, 10_000)
		checkResult(rt, r, p)
	})
}

// TestSessionSumProperty: a session opened from the sum of the initiator's
// items (NewSessionSum) finds what one opened from the items finds, in the
// same messages, and reads the items only when the sides differ.
func TestSessionSumProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p, _ := drawPair(rt)
		if len(p.a) <= 32 {
			return // opened with digests, which need the items (see ReconcileSum)
		}
		a, b := mustSet(rt, p.a), mustSet(rt, p.b)
		var sum itemsum.Sum
		for _, it := range p.a {
			sum.Add(it.Key, it.Hash)
		}
		loads := 0
		lazy := reconcile.NewSessionSum(sum, func() (*reconcile.Set, error) { loads++; return a, nil })
		eager := reconcile.NewSession(a)
		msg, want := lazy.Initiate(), eager.Initiate()
		for round := 0; ; round++ {
			if !bytes.Equal(msg, want) {
				rt.Fatalf("round %d: the session from the sum sends %x, from the items %x", round, msg, want)
			}
			reply, err := reconcile.Respond(b, msg)
			if err != nil {
				rt.Fatal(err)
			}
			next, done, err := lazy.Reply(reply)
			if err != nil {
				rt.Fatal(err)
			}
			wantNext, wantDone, err := eager.Reply(reply)
			if err != nil {
				rt.Fatal(err)
			}
			if done != wantDone {
				rt.Fatalf("round %d: done %v from the sum, %v from the items", round, done, wantDone)
			}
			if done {
				break
			}
			msg, want = next, wantNext
		}
		checkResult(rt, lazy.Result(), p)
		if differ := p.differing > 0; (loads == 1) != differ || loads > 1 {
			rt.Fatalf("items read %d times; the sides differ: %v", loads, differ)
		}
	})
}

// TestResumeProperty checks sessions cut after a few rounds, each going on from
// where the last stopped (Result.Resume), as catch-up goes on after a session
// reaches its limit: each part finds only true differences of the keys from its
// start on, every difference below its Resume, and together they find the whole
// difference.
func TestResumeProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p, small := drawPair(rt)
		l := limits{budget: 2048, limit: 4096, maxRanges: 32}
		if small {
			l = limits{budget: 256, limit: 1024, maxRanges: 8}
		}
		rounds := rapid.IntRange(1, 8).Draw(rt, "rounds")
		a, b := mustSet(rt, p.a), mustSet(rt, p.b)
		from := ""
		var need, offer []string
		for part := 0; ; part++ {
			if part > 10_000 {
				rt.Fatal("no agreement after 10,000 parts")
			}
			r, done := exchangeFrom(rt, a, b, from, l, rounds)
			checkPart(rt, r.Need, p.need, from, r.Resume, done, "Need")
			checkPart(rt, r.Offer, p.offer, from, r.Resume, done, "Offer")
			need, offer = append(need, r.Need...), append(offer, r.Offer...)
			if done {
				break
			}
			if r.Resume < from {
				rt.Fatalf("part %d from %q resumes at %q, before its start", part, from, r.Resume)
			}
			if r.Resume == from {
				rounds *= 2 // settled nothing below its first range yet: give the next part more rounds
			}
			from = r.Resume
		}
		slices.Sort(need)
		slices.Sort(offer)
		checkResult(rt, reconcile.Result{Need: slices.Compact(need), Offer: slices.Compact(offer)}, p)
	})
}

// checkPart fails unless got, a part's keys of one kind, holds only keys of
// want from from on, and every one of them below resume (all of them from from
// on when the part ended in agreement).
func checkPart(t *rapid.T, got, want []string, from, resume string, done bool, what string) {
	t.Helper()
	for _, k := range got {
		if _, ok := slices.BinarySearch(want, k); !ok || k < from {
			t.Fatalf("%s holds %q, not a difference from %q on", what, k, from)
		}
	}
	for _, k := range want {
		if k >= from && (done || k < resume) {
			if _, ok := slices.BinarySearch(got, k); !ok {
				t.Fatalf("%s lacks %q, a difference in the settled keys [%q, %q) (done %v)", what, k, from, resume, done)
			}
		}
	}
}

// drawPair draws a pair of sets with heavy overlap, any mix of differences
// and either side empty, and whether the exchange uses tiny message limits.
func drawPair(rt *rapid.T) (*pair, bool) {
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
	return makePair(keys, func(int) kind {
		x := rng.IntN(total)
		for k := range w {
			if x < w[k] {
				return kind(k)
			}
			x -= w[k]
		}
		panic("unreachable")
	}), small
}
