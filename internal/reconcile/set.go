package reconcile

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"
)

// MaxKeySize is the longest key, in bytes, that a Set holds or a message carries.
const MaxKeySize = 128

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
	sums []u256
}

// NewSet indexes items, which must be sorted by Key (as byte strings) with no key
// repeated and none longer than MaxKeySize; otherwise the error wraps
// ErrInvalidSet and names the first offending item. The Set keeps items (see Set).
func NewSet(items []Item) (*Set, error) {
	s := &Set{items: items, sums: make([]u256, len(items)+1)}
	var acc u256
	var buf [MaxKeySize + 32]byte
	for i, it := range items {
		if len(it.Key) > MaxKeySize {
			return nil, fmt.Errorf("%w: item %d: key of %d bytes, at most %d", ErrInvalidSet, i, len(it.Key), MaxKeySize)
		}
		if i > 0 && items[i-1].Key >= it.Key {
			return nil, fmt.Errorf("%w: item %d: key %q is not after %q", ErrInvalidSet, i, it.Key, items[i-1].Key)
		}
		acc = acc.add(itemHash(it, buf[:]))
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
const FingerprintSize = 16

// fingerprint returns the fingerprint of items[i:j]: the first 16 bytes of
// SHA-256(sum || uvarint(j-i)), where sum is the 32-byte little-endian sum modulo
// 2^256 of the item hashes.
func (s *Set) fingerprint(i, j int) [FingerprintSize]byte {
	var buf [32 + binary.MaxVarintLen64]byte
	sum := s.sums[j].sub(s.sums[i])
	sum.put(buf[:32])
	n := binary.PutUvarint(buf[32:], uint64(j-i))
	h := sha256.Sum256(buf[:32+n])
	return [FingerprintSize]byte(h[:FingerprintSize])
}

// digest returns the digest of items[i]: the first 16 bytes of its item hash.
func (s *Set) digest(i int) [FingerprintSize]byte {
	var buf [32]byte
	s.sums[i+1].sub(s.sums[i]).put(buf[:])
	return [FingerprintSize]byte(buf[:FingerprintSize])
}

// itemHash returns SHA-256(key || hash) as a number. The hash has a fixed size, so
// the concatenation is unambiguous. buf is scratch space of MaxKeySize+32 bytes.
func itemHash(it Item, buf []byte) u256 {
	sum := sha256.Sum256(append(append(buf[:0], it.Key...), it.Hash[:]...))
	return u256{
		binary.LittleEndian.Uint64(sum[0:]),
		binary.LittleEndian.Uint64(sum[8:]),
		binary.LittleEndian.Uint64(sum[16:]),
		binary.LittleEndian.Uint64(sum[24:]),
	}
}

// u256 is a number modulo 2^256, least significant limb first.
type u256 [4]uint64

func (a u256) add(b u256) u256 {
	var r u256
	var c uint64
	r[0], c = bits.Add64(a[0], b[0], 0)
	r[1], c = bits.Add64(a[1], b[1], c)
	r[2], c = bits.Add64(a[2], b[2], c)
	r[3], _ = bits.Add64(a[3], b[3], c)
	return r
}

func (a u256) sub(b u256) u256 {
	var r u256
	var c uint64
	r[0], c = bits.Sub64(a[0], b[0], 0)
	r[1], c = bits.Sub64(a[1], b[1], c)
	r[2], c = bits.Sub64(a[2], b[2], c)
	r[3], _ = bits.Sub64(a[3], b[3], c)
	return r
}

// put writes a in little-endian order to the first 32 bytes of b.
func (a u256) put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], a[0])
	binary.LittleEndian.PutUint64(b[8:], a[1])
	binary.LittleEndian.PutUint64(b[16:], a[2])
	binary.LittleEndian.PutUint64(b[24:], a[3])
}
