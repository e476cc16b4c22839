package reconcile

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/gossipdb/gossipdb/internal/itemsum"
)

// MaxKeySize is the longest key, in bytes, that a Set holds or a message carries.
const MaxKeySize = itemsum.MaxKeySize

// Item is one element of the reconciled set: a key, the ID of a document, and a
// hash that changes whenever the document does (in gossipdb, the hash of the
// document's sorted heads). Two sides agree on a key when they hold it with the
// same hash.
type Item struct {
	Key  string   // document ID, at most MaxKeySize bytes
	Hash [32]byte // hash of the document's state
}

// Set is one side's items, indexed so that the fingerprint of any range of keys
// costs a binary search and one SHA-256 of 40 bytes, whatever the size of the
// range.
//
// A Set made whole (NewSet) holds every item; building it hashes each once.
// A Set made of buckets (NewBucketSet) holds only their sums, and reads a
// bucket's items when a session first needs one of them: a session that
// settles a few differences reads the buckets around them, not the whole set.
//
// A Set is immutable and safe for concurrent use; one Set may serve any number
// of sessions at once.
type Set struct {
	n int // items
	// Whole: items, and sums[i], the sum modulo 2^256 of the item hashes of
	// items[:i], so that the sum of any range is the difference of two
	// entries, and the item hash of items[i] is sums[i+1] - sums[i].
	items []Item
	sums  []itemsum.Number
	// Of buckets: nil for a whole Set.
	b *bucketed
}

// NewSet indexes items, which must be sorted by Key (as byte strings) with no key
// repeated and none longer than MaxKeySize; otherwise the error wraps
// ErrInvalidSet and names the first offending item. The Set keeps items, which
// the caller must not modify afterwards. Its memory is that slice plus 32 bytes
// per item.
func NewSet(items []Item) (*Set, error) {
	sums, err := indexItems(items, bound{}, infinity)
	if err != nil {
		return nil, err
	}
	return &Set{n: len(items), items: items, sums: sums}, nil
}

// indexItems checks that items are sorted by Key with no key repeated, none
// longer than MaxKeySize and all within [lower, upper), and returns their
// prefix sums (see Set). The error wraps ErrInvalidSet.
func indexItems(items []Item, lower, upper bound) ([]itemsum.Number, error) {
	sums := make([]itemsum.Number, len(items)+1)
	var acc itemsum.Number
	var buf [MaxKeySize + 32]byte
	for i, it := range items {
		if len(it.Key) > MaxKeySize {
			return nil, fmt.Errorf("%w: item %d: key of %d bytes, at most %d", ErrInvalidSet, i, len(it.Key), MaxKeySize)
		}
		if i > 0 && items[i-1].Key >= it.Key {
			return nil, fmt.Errorf("%w: item %d: key %q is not after %q", ErrInvalidSet, i, it.Key, items[i-1].Key)
		}
		if it.Key < lower.key || !upper.inf && it.Key >= upper.key {
			return nil, fmt.Errorf("%w: item %d: key %q is outside [%v, %v)", ErrInvalidSet, i, it.Key, lower, upper)
		}
		acc = acc.Add(itemsum.Hash(it.Key, it.Hash, buf[:]))
		sums[i+1] = acc
	}
	return sums, nil
}

// BucketRead returns the items of bucket i of a Set made by NewBucketSet,
// sorted by Key: those whose keys are at least the bucket's Lower and below
// the next bucket's.
type BucketRead func(i int) ([]Item, error)

// NewBucketSet returns the Set of the items that buckets sum, which reads a
// bucket's items with read when a session first needs one of them. The
// buckets must cover every key: the first Lower is "", Lowers strictly
// increase, and no count is negative; otherwise the error wraps
// ErrInvalidSet. A bucket whose read items do not match its sum, are not
// sorted or fall outside it makes the Set fail (Err), as does an error of
// read: the sessions answering from it then fail with that error.
//
// The Set keeps what it reads, so that no bucket is read twice (the ranges
// of a session's rounds come back to the same buckets), and 40 bytes per
// bucket besides buckets itself, which the caller must not modify
// afterwards. A session that settles many differences spread over the whole
// key space so reads every bucket once, as a whole read would.
func NewBucketSet(buckets []itemsum.Bucket, read BucketRead) (*Set, error) {
	if len(buckets) == 0 || buckets[0].Lower != "" {
		return nil, fmt.Errorf("%w: the first bucket must start at the empty key", ErrInvalidSet)
	}
	b := &bucketed{list: buckets, read: read, first: make([]int, len(buckets)+1), before: make([]itemsum.Number, len(buckets)+1)}
	for i, bk := range buckets {
		if i > 0 && buckets[i-1].Lower >= bk.Lower {
			return nil, fmt.Errorf("%w: bucket %d: lower key %q is not after %q", ErrInvalidSet, i, bk.Lower, buckets[i-1].Lower)
		}
		if bk.Sum.Count < 0 {
			return nil, fmt.Errorf("%w: bucket %d: %d items", ErrInvalidSet, i, bk.Sum.Count)
		}
		b.first[i+1] = b.first[i] + int(bk.Sum.Count)
		b.before[i+1] = b.before[i].Add(bk.Sum.Total)
	}
	return &Set{n: b.first[len(buckets)], b: b}, nil
}

// bucketed is the state of a Set made of buckets.
type bucketed struct {
	list []itemsum.Bucket
	read BucketRead
	// first[i] is the index of bucket i's first item, the count of the items
	// before it; before[i] the sum of their item hashes. Both have an entry
	// for the end.
	first  []int
	before []itemsum.Number

	mu     sync.Mutex
	held   map[int]*heldBucket
	nHeld  int   // items held
	failed error // the first failure; the Set answers nothing from then on
}

// heldBucket is a bucket's items as read, and their prefix sums (see Set).
type heldBucket struct {
	items []Item
	sums  []itemsum.Number
}

// snapshotBytes is the memory a Set made of buckets takes, as
// Options.MaxSnapshotBytes counts it: SnapshotItemBytes an item it holds, and
// BucketBytes a bucket.
func (s *Set) snapshotBytes() int64 {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return int64(s.b.nHeld)*SnapshotItemBytes + int64(len(s.b.list))*BucketBytes
}

// Len returns the number of items in s.
func (s *Set) Len() int { return s.n }

// Err returns the error that made a Set of buckets fail (see NewBucketSet),
// or nil. Once it fails, what the Set reports is meaningless.
func (s *Set) Err() error {
	if s == nil || s.b == nil {
		return nil
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.b.failed
}

// Lookup returns the hash of the item with the given key, and whether s holds
// one.
func (s *Set) Lookup(key string) ([32]byte, bool) {
	i := s.search(bound{key: key})
	if i < s.n && s.key(i) == key {
		return s.item(i).Hash, true
	}
	return [32]byte{}, false
}

// search returns the index of the first item whose key is at least b; len(items)
// for +∞.
func (s *Set) search(b bound) int {
	if b.inf {
		return s.n
	}
	if s.b == nil {
		return sort.Search(len(s.items), func(i int) bool { return s.items[i].Key >= b.key })
	}
	// The last bucket whose Lower is at most the key holds it, if anyone does.
	k := sort.Search(len(s.b.list), func(i int) bool { return s.b.list[i].Lower > b.key }) - 1
	if s.b.list[k].Lower == b.key || s.b.list[k].Sum.Count == 0 {
		return s.b.first[k]
	}
	h := s.b.bucket(k)
	if h == nil {
		return s.b.first[k]
	}
	return s.b.first[k] + sort.Search(len(h.items), func(i int) bool { return h.items[i].Key >= b.key })
}

// prefix returns the sum of the item hashes of the items before index i.
func (s *Set) prefix(i int) itemsum.Number {
	if s.b == nil {
		return s.sums[i]
	}
	if i == s.n {
		return s.b.before[len(s.b.list)]
	}
	k, j := s.b.locate(i)
	if j == 0 {
		return s.b.before[k]
	}
	h := s.b.bucket(k)
	if h == nil {
		return itemsum.Number{}
	}
	return s.b.before[k].Add(h.sums[j])
}

// itemHash returns items[i], with its item hash.
func (s *Set) itemHash(i int) (Item, itemsum.Number) {
	if s.b == nil {
		return s.items[i], s.sums[i+1].Sub(s.sums[i])
	}
	k, j := s.b.locate(i)
	h := s.b.bucket(k)
	if h == nil {
		return Item{}, itemsum.Number{}
	}
	return h.items[j], h.sums[j+1].Sub(h.sums[j])
}

// item returns items[i].
func (s *Set) item(i int) Item {
	it, _ := s.itemHash(i)
	return it
}

// key returns the key of items[i].
func (s *Set) key(i int) string {
	if s.b == nil {
		return s.items[i].Key
	}
	return s.item(i).Key
}

// boundary returns the index at of the first item of a bucket, and the
// bucket's lower key, where lo < at < hi and at is within slack of want, the
// nearest such; ok is false when there is none, or s is a whole Set. Between
// the items at-1 and at, the key separates them as a bound.
func (s *Set) boundary(lo, want, hi, slack int) (at int, key string, ok bool) {
	if s.b == nil || slack <= 0 {
		return 0, "", false
	}
	first := s.b.first[:len(s.b.list)]
	j := sort.SearchInts(first, want) // the first bucket starting at want or after
	best := -1
	for _, c := range []int{j - 1, j} {
		if c < 0 || c >= len(first) || first[c] <= lo || first[c] >= hi || abs(first[c]-want) > slack {
			continue
		}
		if best < 0 || abs(first[c]-want) < abs(first[best]-want) {
			best = c
		}
	}
	if best < 0 {
		return 0, "", false
	}
	return first[best], s.b.list[best].Lower, true
}

func abs(x int) int { return max(x, -x) }

// FingerprintSize is the size of a range fingerprint and of an item digest.
const FingerprintSize = itemsum.Size

// fingerprint returns the fingerprint of items[i:j] (itemsum.Fingerprint).
func (s *Set) fingerprint(i, j int) [FingerprintSize]byte {
	return itemsum.Fingerprint(s.prefix(j).Sub(s.prefix(i)), uint64(j-i))
}

// digest returns the digest of items[i]: the first 16 bytes of its item hash.
func (s *Set) digest(i int) [FingerprintSize]byte {
	_, h := s.itemHash(i)
	return digestOf(h)
}

// digestOf returns the digest of an item whose item hash is h.
func digestOf(h itemsum.Number) [FingerprintSize]byte {
	var buf [32]byte
	h.Put(buf[:])
	return [FingerprintSize]byte(buf[:FingerprintSize])
}

// locate returns the bucket that holds item i, for i < Len, and i's index in
// it.
func (b *bucketed) locate(i int) (k, j int) {
	k = sort.Search(len(b.list), func(k int) bool { return b.first[k+1] > i })
	return k, i - b.first[k]
}

// errReadMismatch marks a bucket whose items, as read, are not the ones its
// sum counts.
var errReadMismatch = errors.New("the items read do not match the bucket's sum")

// bucket returns bucket k's items, reading them if it does not hold them; nil
// once the Set has failed.
func (b *bucketed) bucket(k int) *heldBucket {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed != nil {
		return nil
	}
	if h := b.held[k]; h != nil {
		return h
	}
	items, err := b.read(k)
	if err != nil {
		b.failed = fmt.Errorf("reconcile: reading bucket %d: %w", k, err)
		return nil
	}
	upper := infinity
	if k+1 < len(b.list) {
		upper = bound{key: b.list[k+1].Lower}
	}
	sums, err := indexItems(items, bound{key: b.list[k].Lower}, upper)
	if err == nil && (len(items) != int(b.list[k].Sum.Count) || sums[len(items)] != b.list[k].Sum.Total) {
		err = fmt.Errorf("%w: %d items read, %d in its sum", errReadMismatch, len(items), b.list[k].Sum.Count)
	}
	if err != nil {
		b.failed = fmt.Errorf("reconcile: bucket %d: %w", k, err)
		return nil
	}
	if b.held == nil {
		b.held = map[int]*heldBucket{}
	}
	h := &heldBucket{items: items, sums: sums}
	b.held[k] = h
	b.nHeld += len(items)
	return h
}
