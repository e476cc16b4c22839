package itemsum_test

import (
	"crypto/sha256"
	"testing"

	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/internal/itemsum"
)

// TestEmptyFingerprint: the empty set's fingerprint is SHA-256 of 32 zero
// bytes and the count 0, cut to Size bytes.
func TestEmptyFingerprint(t *testing.T) {
	want := sha256.Sum256(make([]byte, 33))
	if got := (itemsum.Sum{}).Fingerprint(); got != [itemsum.Size]byte(want[:itemsum.Size]) {
		t.Fatalf("empty fingerprint %x, want %x", got, want[:itemsum.Size])
	}
}

// TestSumIsOrderFree: a Sum depends on its items alone: added in any order,
// split into two sums merged, or with items added and removed again, it
// gives the same fingerprint; a set with one item more or one hash changed
// gives another.
func TestSumIsOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		type item struct {
			key  string
			hash [32]byte
		}
		keys := rapid.SliceOfNDistinct(rapid.StringN(1, itemsum.MaxKeySize, itemsum.MaxKeySize), 1, 40, rapid.ID).Draw(t, "keys")
		items := make([]item, len(keys))
		for i, k := range keys {
			items[i] = item{k, [32]byte(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash"))}
		}
		var all itemsum.Sum
		for _, it := range items {
			all.Add(it.key, it.hash)
		}
		if all.Count != int64(len(items)) {
			t.Fatalf("count %d, want %d", all.Count, len(items))
		}
		perm := rapid.Permutation(items).Draw(t, "order")
		cut := rapid.IntRange(0, len(perm)).Draw(t, "cut")
		var a, b itemsum.Sum
		for _, it := range perm[:cut] {
			a.Add(it.key, it.hash)
		}
		for _, it := range perm[cut:] {
			b.Add(it.key, it.hash)
		}
		extra := item{"not among the keys, longer than any drawn one" + string(make([]byte, itemsum.MaxKeySize)), [32]byte{1}}
		b.Add(extra.key, extra.hash)
		b.Remove(extra.key, extra.hash)
		a.Merge(b)
		if a != all || a.Fingerprint() != all.Fingerprint() {
			t.Fatalf("merged sum %+v, want %+v", a, all)
		}
		more := all
		more.Add(extra.key, extra.hash)
		if more.Fingerprint() == all.Fingerprint() {
			t.Fatal("a set with one item more has the same fingerprint")
		}
		changed := all
		changed.Remove(items[0].key, items[0].hash)
		h := items[0].hash
		h[0] ^= 1
		changed.Add(items[0].key, h)
		if changed.Count != all.Count || changed.Fingerprint() == all.Fingerprint() {
			t.Fatal("a set with one hash changed has the same fingerprint")
		}
	})
}

// BenchmarkAdd measures adding one item of a 59-byte document ID, what a
// store does for each document a transaction creates.
func BenchmarkAdd(b *testing.B) {
	key := string(make([]byte, 59))
	var s itemsum.Sum
	b.ReportAllocs()
	for b.Loop() {
		s.Add(key, [32]byte{})
	}
}
