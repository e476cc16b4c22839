package reconcile_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/gossipdb/gossipdb/internal/reconcile"
)

// fuzzSeeds returns real messages of sessions over small sets, and hand-made ones
// of every mode.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, d := range []int{0, 3, 40} {
		p := docPair(300, d, uint64(d))
		a, b := mustSet(f, p.a), mustSet(f, p.b)
		s := reconcile.NewSession(a)
		msg := s.Initiate()
		for range 10 {
			seeds = append(seeds, msg)
			reply, err := reconcile.Respond(b, msg)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, reply)
			next, done, err := s.Reply(reply)
			if err != nil {
				f.Fatal(err)
			}
			if done {
				break
			}
			msg = next
		}
	}
	fp := bytes.Repeat([]byte{0xab}, reconcile.FingerprintSize)
	seeds = append(seeds,
		nil,
		[]byte{reconcile.ModeSkip, 0},
		[]byte{reconcile.ModeAgain, 1, 1, 'k', reconcile.ModeSkip, 0},
		cat([]byte{reconcile.ModeFingerprint}, fp, []byte{7, 0}),
		cat([]byte{reconcile.ModeDigests, 2}, fp, fp, []byte{1, 1, 'm'}),
		cat([]byte{reconcile.ModeItems, 2, 0, 2, 'a', 'b'}, fp, []byte{1, 1, 'c'}, fp, []byte{0}),
		[]byte{reconcile.ModeDiff, 10, 0xff, 0x03, 2, 0, 1, 'a', 0, 1, 'b', 0},
		[]byte{reconcile.ModeDiff, 10, 0xff, 0x07, 0, 0}, // non-zero padding
	)
	return seeds
}

// FuzzDecode feeds arbitrary messages to the decoder: it must refuse or accept
// them without panicking, and what it accepts must encode to a message that
// decodes to the same ranges and encodes to the same bytes again.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		again, n, err := reconcile.ReencodeForTest(data)
		if err != nil {
			return
		}
		if n > reconcile.MaxRanges {
			t.Fatalf("accepted %d ranges", n)
		}
		third, m, err := reconcile.ReencodeForTest(again)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if m != n || !bytes.Equal(third, again) {
			t.Fatalf("message changes through a round trip:\n%x\n%x", again, third)
		}
	})
}

// FuzzRespond feeds arbitrary messages to both roles, each with a whole Set
// and with a Set made of buckets: neither may panic, and what they send is a
// valid message within the limits.
func FuzzRespond(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	p := docPair(300, 30, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	srcA, srcB := cutBuckets(p.a, rng, 8), cutBuckets(p.b, rng, 8)
	wholeA, wholeB := mustSet(f, p.a), mustSet(f, p.b)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, sets := range [][2]*reconcile.Set{{wholeA, wholeB}, {srcA.set(t), srcB.set(t)}} {
			respondBoth(t, sets[0], sets[1], data)
		}
	})
}

// respondBoth gives data to a responder of b and to the initiator of a
// session of a, and checks what they answer (see FuzzRespond).
func respondBoth(t *testing.T, a, b *reconcile.Set, data []byte) {
	t.Helper()
	check := func(out []byte) {
		if len(out) > reconcile.MaxMessageSizeForTest {
			t.Fatalf("answer of %d bytes", len(out))
		}
		if _, _, err := reconcile.ReencodeForTest(out); err != nil {
			t.Fatalf("answer does not decode: %v", err)
		}
	}
	if out, err := reconcile.Respond(b, data); err == nil {
		check(out)
	}
	s := reconcile.NewSession(a)
	s.Initiate()
	if next, _, err := s.Reply(data); err == nil {
		check(next)
	}
}
