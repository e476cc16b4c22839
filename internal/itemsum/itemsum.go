// Package itemsum is the arithmetic of set reconciliation's fingerprints
// (internal/reconcile describes the protocol). An item, a document's ID with
// the hash of its heads, hashes to a number modulo 2^256; the fingerprint of a
// set of items is a hash of the sum of their numbers and of their count.
// Sums add and subtract, so a store keeps the Sum of a whole collection up to
// date as its documents change, and a session between two replicas that
// agree ends without either of them reading its items.
package itemsum

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// Size is the size of a fingerprint.
const Size = 16

// MaxKeySize is the longest key, in bytes, an item has.
const MaxKeySize = 128

// Number is a number modulo 2^256, least significant limb first.
type Number [4]uint64

// Add returns a+b modulo 2^256.
func (a Number) Add(b Number) Number {
	var r Number
	var c uint64
	r[0], c = bits.Add64(a[0], b[0], 0)
	r[1], c = bits.Add64(a[1], b[1], c)
	r[2], c = bits.Add64(a[2], b[2], c)
	r[3], _ = bits.Add64(a[3], b[3], c)
	return r
}

// Sub returns a-b modulo 2^256.
func (a Number) Sub(b Number) Number {
	var r Number
	var c uint64
	r[0], c = bits.Sub64(a[0], b[0], 0)
	r[1], c = bits.Sub64(a[1], b[1], c)
	r[2], c = bits.Sub64(a[2], b[2], c)
	r[3], _ = bits.Sub64(a[3], b[3], c)
	return r
}

// Put writes a in little-endian order to the first 32 bytes of b.
func (a Number) Put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], a[0])
	binary.LittleEndian.PutUint64(b[8:], a[1])
	binary.LittleEndian.PutUint64(b[16:], a[2])
	binary.LittleEndian.PutUint64(b[24:], a[3])
}

// Hash returns the item hash of the item with key and hash: SHA-256(key ||
// hash) read as a little-endian number. The hash has a fixed size, so the
// concatenation is unambiguous. buf is scratch space of MaxKeySize+32 bytes
// (nil allocates it).
func Hash(key string, hash [32]byte, buf []byte) Number {
	sum := sha256.Sum256(append(append(buf[:0], key...), hash[:]...))
	return Number{
		binary.LittleEndian.Uint64(sum[0:]),
		binary.LittleEndian.Uint64(sum[8:]),
		binary.LittleEndian.Uint64(sum[16:]),
		binary.LittleEndian.Uint64(sum[24:]),
	}
}

// Fingerprint returns the fingerprint of count items whose item hashes sum to
// sum: the first Size bytes of SHA-256(sum || uvarint(count)), sum in 32
// little-endian bytes.
func Fingerprint(sum Number, count uint64) [Size]byte {
	var buf [32 + binary.MaxVarintLen64]byte
	sum.Put(buf[:32])
	n := binary.PutUvarint(buf[32:], count)
	h := sha256.Sum256(buf[:32+n])
	return [Size]byte(h[:Size])
}

// Sum is the sum of a set of items' hashes and their number: the summary of a
// set from which its fingerprint follows. Its zero value is the empty set's.
// A Sum that records a change (Add of the new item, Remove of the old) can be
// merged into another, and Count may then be negative.
type Sum struct {
	Total Number
	Count int64
}

// Add adds the item with key and hash.
func (s *Sum) Add(key string, hash [32]byte) {
	var buf [MaxKeySize + 32]byte
	s.Total = s.Total.Add(Hash(key, hash, buf[:0]))
	s.Count++
}

// Remove takes away the item with key and hash, which s holds.
func (s *Sum) Remove(key string, hash [32]byte) {
	var buf [MaxKeySize + 32]byte
	s.Total = s.Total.Sub(Hash(key, hash, buf[:0]))
	s.Count--
}

// Merge adds the items of o (and takes away those o removed).
func (s *Sum) Merge(o Sum) {
	s.Total = s.Total.Add(o.Total)
	s.Count += o.Count
}

// Fingerprint returns the fingerprint of the set s sums.
func (s Sum) Fingerprint() [Size]byte {
	return Fingerprint(s.Total, uint64(s.Count))
}

// Bucket is a run of consecutive items of a set sorted by key: those whose key
// is at least Lower and below the next bucket's Lower (the last bucket's run
// has no end), and their Sum. A list of buckets whose first Lower is "" and
// whose Lowers strictly increase covers every key; the fingerprint of a range
// of whole buckets then follows from their sums alone.
type Bucket struct {
	Lower string
	Sum   Sum
}
