package reconcile_test

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gossipdb/gossipdb/internal/reconcile"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// docKey returns a key shaped like a document ID, a CIDv1 in base32: 59 bytes
// that start with "bafyrei".
func docKey(i uint64) string {
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, i))
	return "bafyrei" + strings.ToLower(b32.EncodeToString(h[:]))[:52]
}

// hashOf returns the hash of version v of the document with key k.
func hashOf(k string, v uint64) [32]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64([]byte(k), v))
}

// kind says where a key of a generated pair of sets is.
type kind int

const (
	same    kind = iota // on both sides, same hash
	onlyA               // only on the initiator's side
	onlyB               // only on the responder's side
	changed             // on both sides, different hashes
)

// pair is two sets and the difference they should reconcile to.
type pair struct {
	a, b            []reconcile.Item
	need, offer     []string // expected Result.Need and Result.Offer for a as initiator
	differing, size int
}

// makePair builds the sets of keys 0..n-1 where key i is of kinds(i).
func makePair(keys []string, kinds func(i int) kind) *pair {
	p := &pair{size: len(keys)}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	for i, k := range sorted {
		switch kinds(i) {
		case same:
			p.a = append(p.a, reconcile.Item{Key: k, Hash: hashOf(k, 0)})
			p.b = append(p.b, reconcile.Item{Key: k, Hash: hashOf(k, 0)})
		case onlyA:
			p.a = append(p.a, reconcile.Item{Key: k, Hash: hashOf(k, 0)})
			p.offer = append(p.offer, k)
			p.differing++
		case onlyB:
			p.b = append(p.b, reconcile.Item{Key: k, Hash: hashOf(k, 0)})
			p.need = append(p.need, k)
			p.differing++
		case changed:
			p.a = append(p.a, reconcile.Item{Key: k, Hash: hashOf(k, 1)})
			p.b = append(p.b, reconcile.Item{Key: k, Hash: hashOf(k, 2)})
			p.need = append(p.need, k)
			p.offer = append(p.offer, k)
			p.differing++
		}
	}
	return p
}

// docPair returns n document keys of which d, spread at random, differ: a third
// each only on A, only on B and changed.
func docPair(n, d int, seed uint64) *pair {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = docKey(seed<<32 | uint64(i))
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	kinds := make([]kind, n)
	for i, j := range rng.Perm(n)[:d] {
		kinds[j] = kind(1 + i%3)
	}
	return makePair(keys, func(i int) kind { return kinds[i] })
}

// tb is what the helpers need of a *testing.T, *testing.B or *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func mustSet(t tb, items []reconcile.Item) *reconcile.Set {
	t.Helper()
	s, err := reconcile.NewSet(items)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// limits are message limits for the in-memory exchange; zero means the defaults.
type limits struct{ budget, limit, maxRanges int }

// exchange runs a session between a (initiator) and b (responder) in memory and
// returns its result; it fails the test after maxRounds rounds.
func exchange(t tb, a, b *reconcile.Set, l limits, maxRounds int) reconcile.Result {
	t.Helper()
	r, done := exchangeFrom(t, a, b, "", l, maxRounds)
	if !done {
		t.Fatalf("no agreement after %d rounds", maxRounds)
	}
	return r
}

// exchangeFrom runs a session of the keys from from on between a (initiator) and
// b (responder) in memory, and returns its result once the sides agree (done)
// or once it has taken maxRounds rounds, as Reconcile cuts a session at its
// limit.
func exchangeFrom(t tb, a, b *reconcile.Set, from string, l limits, maxRounds int) (r reconcile.Result, done bool) {
	t.Helper()
	s := reconcile.NewSessionFrom(a, from)
	respond := func(msg []byte) ([]byte, error) { return reconcile.Respond(b, msg) }
	if l != (limits{}) {
		s = reconcile.NewSessionWithLimitsForTest(a, from, l.budget, l.limit, l.maxRanges)
		respond = func(msg []byte) ([]byte, error) {
			return reconcile.RespondWithLimitsForTest(b, msg, l.budget, l.limit, l.maxRanges)
		}
	}
	msg := s.Initiate()
	for {
		if len(msg) > reconcile.MaxMessageSizeForTest {
			t.Fatalf("initiator message of %d bytes", len(msg))
		}
		reply, err := respond(msg)
		if err != nil {
			t.Fatalf("Respond: %v", err)
		}
		if len(reply) > reconcile.MaxMessageSizeForTest {
			t.Fatalf("responder message of %d bytes", len(reply))
		}
		next, done, err := s.Reply(reply)
		if err != nil {
			t.Fatalf("Reply: %v", err)
		}
		if done || s.Result().Rounds >= maxRounds {
			return s.Result(), done
		}
		msg = next
	}
}

// checkResult fails unless r has exactly the expected difference.
func checkResult(t tb, r reconcile.Result, p *pair) {
	t.Helper()
	if !slices.Equal(r.Need, p.need) {
		t.Fatalf("Need has %d keys, want %d\n got %q\nwant %q", len(r.Need), len(p.need), trim(r.Need), trim(p.need))
	}
	if !slices.Equal(r.Offer, p.offer) {
		t.Fatalf("Offer has %d keys, want %d\n got %q\nwant %q", len(r.Offer), len(p.offer), trim(r.Offer), trim(p.offer))
	}
}

func trim(s []string) []string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}
