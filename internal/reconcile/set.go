package reconcile

import (
	"fmt"
	"sort"

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
// range. Building it hashes every item once.
//
// A Set is immutable and safe for concurrent use; one Set may serve any number of
// sessions at once. It keeps the slice given to NewSet, which the caller must not
// modify afterwards. Its memory is that slice plus 32 bytes per item.
type Set struct {
	items []Item
	// sums[i] is the sum modulo 2^256 of the item hashes of items[:i], so that
	// the sum of any range is the difference of two entries, and the item hash of
	// items[i] is sums[i+1] - sums[i].
	sums []itemsum.Number
}

// NewSet indexes items, which must be sorted by Key (as byte strings) with no key
// repeated and none longer than MaxKeySize; otherwise the error wraps
// ErrInvalidSet and names the first offending item. The Set keeps items (see Set).
func NewSet(items []Item) (*Set, error) {
	s := &Set{items: items, sums: make([]itemsum.Number, len(items)+1)}
	var acc itemsum.Number
	var buf [MaxKeySize + 32]byte
	for i, it := range items {
		if len(it.Key) > MaxKeySize {
			return nil, fmt.Errorf("%w: item %d: key of %d bytes, at most %d", ErrInvalidSet, i, len(it.Key), MaxKeySize)
		}
		if i > 0 && items[i-1].Key >= it.Key {
			return nil, fmt.Errorf("%w: item %d: key %q is not after %q", ErrInvalidSet, i, it.Key, items[i-1].Key)
		}
		acc = acc.Add(itemsum.Hash(it.Key, it.Hash, buf[:]))
		s.sums[i+1] = acc
	}
	return s, nil
}

// Len returns the number of items in s.
func (s *Set) Len() int { return len(s.items) }

// search returns the index of the first item whose key is at least b; len(items)
// for +∞.
func (s *Set) search(b bound) int {
	if b.inf {
		return len(s.items)
	}
	return sort.Search(len(s.items), func(i int) bool { return s.items[i].Key >= b.key })
}

// FingerprintSize is the size of a range fingerprint and of an item digest.
const FingerprintSize = itemsum.Size

// fingerprint returns the fingerprint of items[i:j] (itemsum.Fingerprint).
func (s *Set) fingerprint(i, j int) [FingerprintSize]byte {
	return itemsum.Fingerprint(s.sums[j].Sub(s.sums[i]), uint64(j-i))
}

// digest returns the digest of items[i]: the first 16 bytes of its item hash.
func (s *Set) digest(i int) [FingerprintSize]byte {
	var buf [32]byte
	s.sums[i+1].Sub(s.sums[i]).Put(buf[:])
	return [FingerprintSize]byte(buf[:FingerprintSize])
}
