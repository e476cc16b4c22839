package reconcile_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

// bucketSource is a Set's items cut into buckets, as a store keeps them, and
// the reads of them a Set made of them did.
type bucketSource struct {
	items   []reconcile.Item
	buckets []itemsum.Bucket
	start   []int // start[i] is the index of bucket i's first item; one more for the end
	reads   atomic.Int64
}

// cutBuckets cuts items into buckets of random sizes (empty ones included)
// whose lower keys are sometimes an item's key and sometimes a key between
// two items'.
func cutBuckets(items []reconcile.Item, rng *rand.Rand, meanSize int) *bucketSource {
	src := &bucketSource{items: items, buckets: []itemsum.Bucket{{}}, start: []int{0}}
	for i := 0; i < len(items); {
		i += rng.IntN(2*meanSize + 1)
		if i >= len(items) {
			break
		}
		lower := items[i].Key
		if prev := src.buckets[len(src.buckets)-1].Lower; rng.IntN(3) == 0 && i > 0 {
			// The shortest key after the item before: a bound that is no item's.
			if k := items[i-1].Key + "\x00"; k < lower && k > prev {
				lower = k
			}
		}
		if lower <= src.buckets[len(src.buckets)-1].Lower {
			continue
		}
		src.buckets = append(src.buckets, itemsum.Bucket{Lower: lower})
		src.start = append(src.start, i)
	}
	src.start = append(src.start, len(items))
	for b := range src.buckets {
		for _, it := range items[src.start[b]:src.start[b+1]] {
			src.buckets[b].Sum.Add(it.Key, it.Hash)
		}
	}
	return src
}

func (src *bucketSource) read(i int) ([]reconcile.Item, error) {
	src.reads.Add(1)
	return slices.Clone(src.items[src.start[i]:src.start[i+1]]), nil
}

func (src *bucketSource) set(t tb) *reconcile.Set {
	t.Helper()
	s, err := reconcile.NewBucketSet(src.buckets, src.read)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBucketSetProperty: a Set made of buckets, whatever their sizes and
// bounds, finds the same difference
// as the whole Set of the same items, as initiator and as responder, against
// either kind of Set on the other side, with the default message limits and
// with tiny ones that force deferral; and it reads no bucket twice.
func TestBucketSetProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		p, small := drawPair(rt)
		var l limits
		if small {
			l = limits{budget: 256, limit: 1024, maxRanges: 8}
		}
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "cuts"), 5))
		srcA := cutBuckets(p.a, rng, rapid.IntRange(1, 300).Draw(rt, "sizeA"))
		srcB := cutBuckets(p.b, rng, rapid.IntRange(1, 300).Draw(rt, "sizeB"))
		a, b := srcA.set(rt), srcB.set(rt)
		wholeA, wholeB := mustSet(rt, p.a), mustSet(rt, p.b)
		if a.Len() != wholeA.Len() || b.Len() != wholeB.Len() {
			rt.Fatalf("Len %d and %d, want %d and %d", a.Len(), b.Len(), wholeA.Len(), wholeB.Len())
		}
		for _, c := range []struct {
			name string
			a, b *reconcile.Set
		}{{"buckets-buckets", a, b}, {"buckets-whole", a, wholeB}, {"whole-buckets", wholeA, b}} {
			r, done := exchangeFrom(rt, c.a, c.b, "", l, 10_000)
			if !done {
				rt.Fatalf("%s: no agreement after 10,000 rounds", c.name)
			}
			checkResult(rt, r, p)
		}
		for _, s := range []*reconcile.Set{a, b} {
			if err := s.Err(); err != nil {
				rt.Fatal(err)
			}
		}
		// Each Set served two sessions, and reads a bucket once.
		for _, src := range []*bucketSource{srcA, srcB} {
			if n := src.reads.Load(); n > int64(len(src.buckets)) {
				rt.Fatalf("%d bucket reads of %d buckets", n, len(src.buckets))
			}
		}
	})
}

// TestBucketSetReadsAroundDifferences: a session between two sets of 100,000
// items in buckets of 256 that differ in a few items reads the buckets around
// them, not the whole set; and Lookup finds every item and no other.
func TestBucketSetReadsAroundDifferences(t *testing.T) {
	const n = 100_000
	p := docPair(n, 3, 11)
	rng := rand.New(rand.NewPCG(11, 12))
	srcA, srcB := cutBuckets(p.a, rng, 256), cutBuckets(p.b, rng, 256)
	a, b := srcA.set(t), srcB.set(t)
	r := exchange(t, a, b, limits{}, 100)
	checkResult(t, r, p)
	// Each round splits a differing range in 16 at most 15 times, reading the
	// bucket at each cut and the one before; 3 differences take 3 rounds.
	for side, src := range map[string]*bucketSource{"initiator": srcA, "responder": srcB} {
		t.Logf("%s: %d of %d buckets read", side, src.reads.Load(), len(src.buckets))
		if max := int64(3 * 3 * 2 * 16); src.reads.Load() > max {
			t.Errorf("%s read %d buckets of %d, more than %d", side, src.reads.Load(), len(src.buckets), max)
		}
	}

	for _, it := range p.a[:1000] {
		if h, ok := a.Lookup(it.Key); !ok || h != it.Hash {
			t.Fatalf("Lookup(%q) = %x, %v; want %x", it.Key, h, ok, it.Hash)
		}
		if _, ok := a.Lookup(it.Key + "\x00"); ok {
			t.Fatalf("Lookup found %q, which the set does not hold", it.Key+"\x00")
		}
	}
	if _, ok := a.Lookup(""); ok {
		t.Fatal(`Lookup found "", which the set does not hold`)
	}
}

// TestBucketSetFailures: a bucket whose read fails, or whose items are not
// the ones its sum counts, fails the session answering from it with an error
// that names the bucket; the buckets themselves are checked when the Set is
// made.
func TestBucketSetFailures(t *testing.T) {
	p := docPair(2000, 10, 3)
	rng := rand.New(rand.NewPCG(3, 4))
	src := cutBuckets(p.b, rng, 50)
	if len(src.buckets) < 4 {
		t.Fatalf("%d buckets", len(src.buckets))
	}
	errDisk := errors.New("disk on fire")
	for _, tc := range []struct {
		name string
		read func(i int) ([]reconcile.Item, error)
		want string
	}{
		{"error", func(i int) ([]reconcile.Item, error) { return nil, errDisk }, "disk on fire"},
		{"item missing", func(i int) ([]reconcile.Item, error) {
			items, _ := src.read(i)
			if len(items) > 0 {
				items = items[1:]
			}
			return items, nil
		}, "do not match"},
		{"hash changed", func(i int) ([]reconcile.Item, error) {
			items, _ := src.read(i)
			if len(items) > 0 {
				items[0].Hash[0]++
			}
			return items, nil
		}, "do not match"},
		{"item of the next bucket", func(i int) ([]reconcile.Item, error) {
			return slices.Clone(src.items[src.start[i]+1 : min(src.start[i+1]+1, len(src.items))]), nil
		}, "outside"},
		{"out of order", func(i int) ([]reconcile.Item, error) {
			items, _ := src.read(i)
			slices.Reverse(items)
			return items, nil
		}, "not after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := reconcile.NewBucketSet(src.buckets, tc.read)
			if err != nil {
				t.Fatal(err)
			}
			s := reconcile.NewSession(mustSet(t, p.a))
			_, err = reconcile.Respond(b, s.Initiate())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bucket") {
				t.Fatalf("Respond: %v, want an error naming a bucket and %q", err, tc.want)
			}
			if b.Err() == nil {
				t.Fatal("Err is nil after a failed read")
			}
			if tc.name == "error" && !errors.Is(err, errDisk) {
				t.Fatalf("Respond: %v, want it to wrap the read's error", err)
			}
		})
	}

	for _, tc := range []struct {
		name    string
		buckets []itemsum.Bucket
	}{
		{"none", nil},
		{"first not at the empty key", []itemsum.Bucket{{Lower: "a"}}},
		{"lowers not increasing", []itemsum.Bucket{{}, {Lower: "b"}, {Lower: "b"}}},
		{"negative count", []itemsum.Bucket{{}, {Lower: "b", Sum: itemsum.Sum{Count: -1}}}},
	} {
		if _, err := reconcile.NewBucketSet(tc.buckets, src.read); !errors.Is(err, reconcile.ErrInvalidSet) {
			t.Errorf("%s: NewBucketSet: %v, want ErrInvalidSet", tc.name, err)
		}
	}
}

// TestServerAnswersFromBuckets: a Server whose Options.Buckets gives a Set
// made of buckets answers from it over libp2p, reading a few of them, and
// releases it when the session ends; a collection it has no buckets for is
// answered from the Source; a bucket that fails to read fails the session
// with ErrRemote, without its details.
func TestServerAnswersFromBuckets(t *testing.T) {
	p := docPair(20_000, 2, 21)
	src := cutBuckets(p.b, rand.New(rand.NewPCG(21, 22)), 256)
	withBuckets, failing := collectionID(t, "buckets"), collectionID(t, "failing")
	var mu sync.Mutex
	released := 0
	opts := &reconcile.Options{Buckets: func(_ context.Context, col cid.Cid) (*reconcile.Set, func(), bool, error) {
		read := src.read
		switch col {
		case withBuckets:
		case failing:
			read = func(int) ([]reconcile.Item, error) { return nil, errors.New("disk on fire") }
		default:
			return nil, nil, false, nil
		}
		s, err := reconcile.NewBucketSet(src.buckets, read)
		return s, func() { mu.Lock(); released++; mu.Unlock() }, err == nil, err
	}}
	e := newEnv(t, opts)
	sourced := collectionID(t, "sourced")
	e.cols.mu.Lock()
	e.cols.sets[sourced] = p.b
	e.cols.mu.Unlock()

	for _, col := range []cid.Cid{withBuckets, sourced} {
		r, err := e.reconcile(t, col, p.a, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, p)
	}
	if reads := src.reads.Load(); reads == 0 || reads > int64(len(src.buckets)/2) {
		t.Fatalf("the server read %d of %d buckets", reads, len(src.buckets))
	}
	e.cols.mu.Lock()
	froms := len(e.cols.froms)
	e.cols.mu.Unlock()
	if froms != 1 {
		t.Fatalf("the Source was asked %d times, want once (for the collection without buckets)", froms)
	}

	_, err := e.reconcile(t, failing, p.a, nil)
	if !errors.Is(err, reconcile.ErrRemote) || strings.Contains(err.Error(), "fire") {
		t.Fatalf("err %v, want ErrRemote without the server's details", err)
	}
	streamstest.WaitFor(t, "both Sets of buckets released", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return released == 2
	})
}

// TestBucketSnapshotsWithinBudget: a session answered from a Set made of
// buckets counts against MaxSnapshotBytes what it has read, as it reads it:
// a silent session that has read buckets beyond the budget makes the next
// session busy until it ends.
func TestBucketSnapshotsWithinBudget(t *testing.T) {
	col := collectionID(t, "buckets")
	p := docPair(2000, 20, 12)
	src := cutBuckets(p.b, rand.New(rand.NewPCG(12, 13)), 50)
	e := newEnv(t, &reconcile.Options{
		// Room for two sessions' buckets and 100 items read.
		MaxSnapshotBytes: 2*int64(len(src.buckets))*reconcile.BucketBytes + 100*reconcile.SnapshotItemBytes,
		Buckets: func(context.Context, cid.Cid) (*reconcile.Set, func(), bool, error) {
			s, err := reconcile.NewBucketSet(src.buckets, src.read)
			return s, func() {}, err == nil, err
		},
	})

	silent := openSilentSession(t, e, col, p.a)
	if n := src.reads.Load(); n*40 < 100 {
		t.Fatalf("the first answer read %d buckets of about 50 items: too few for the test", n)
	}
	if _, err := e.reconcile(t, col, p.a, nil); !errors.Is(err, reconcile.ErrBusy) {
		t.Fatalf("a session beside one that read %d buckets: %v, want ErrBusy", src.reads.Load(), err)
	}

	endSilentSession(t, e, col, p, silent)
}
