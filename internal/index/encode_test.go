package index_test

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
)

// drawValue draws a canonical value of kind k, or nil, with the Go value to
// compare it by.
func drawValue(t *rapid.T, k crdt.Kind, label string) (canon, cmpBy any) {
	if rapid.IntRange(0, 6).Draw(t, label+"Null") == 0 {
		return nil, nil
	}
	switch k {
	case crdt.KindString:
		s := rapid.OneOf(rapid.SampledFrom([]string{"", "a", "a\x00", "a\x00b", "ab", "\xff"}), rapid.String()).Draw(t, label)
		return s, s
	case crdt.KindInt:
		i := rapid.Int64().Draw(t, label)
		return i, i
	case crdt.KindFloat:
		f := rapid.OneOf(rapid.Float64(), rapid.SampledFrom([]float64{0, -1, 1, 1e308, -1e308, 5e-324, -5e-324})).Draw(t, label)
		return f, f
	case crdt.KindBoolean:
		b := rapid.Bool().Draw(t, label)
		return b, b
	}
	sec := rapid.Int64Range(-62135596800, 253402300799).Draw(t, label+".sec")
	nsec := rapid.SampledFrom([]int64{0, 1, 500_000_000, 999_999_999, 120_000}).Draw(t, label+".nsec")
	tm := time.Unix(sec, nsec).UTC()
	return tm.Format(time.RFC3339Nano), tm
}

func compare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch a := a.(type) {
	case string:
		return strings.Compare(a, b.(string))
	case int64:
		return cmp.Compare(a, b.(int64))
	case float64:
		return cmp.Compare(a, b.(float64))
	case bool:
		if a == b.(bool) {
			return 0
		}
		if a {
			return 1
		}
		return -1
	case time.Time:
		return a.Compare(b.(time.Time))
	}
	panic("unknown type")
}

// TestOrder: the encodings of two tuples order as the tuples do, field by
// field in each direction, then by document ID.
func TestOrder(t *testing.T) {
	kinds := []crdt.Kind{crdt.KindString, crdt.KindInt, crdt.KindFloat, crdt.KindBoolean, crdt.KindDateTime}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 3).Draw(t, "fields")
		ks := make([]crdt.Kind, n)
		desc := make([]bool, n)
		for i := range ks {
			ks[i] = rapid.SampledFrom(kinds).Draw(t, "kind")
			desc[i] = rapid.Bool().Draw(t, "desc")
		}
		var keys [2][]byte
		var by [2][]any
		ids := [2]string{rapid.StringMatching("[a-z\x00]{0,4}").Draw(t, "id0"), rapid.StringMatching("[a-z\x00]{0,4}").Draw(t, "id1")}
		for j := range 2 {
			for i, k := range ks {
				c, v := drawValue(t, k, "v")
				keys[j] = index.AppendValue(keys[j], k, c, desc[i])
				by[j] = append(by[j], v)
			}
			keys[j] = index.AppendDocID(keys[j], ids[j], desc[n-1])
		}
		want := 0
		for i := range ks {
			c := compare(by[0][i], by[1][i])
			if desc[i] {
				c = -c
			}
			if c != 0 {
				want = c
				break
			}
		}
		if want == 0 {
			want = strings.Compare(ids[0], ids[1])
			if desc[n-1] {
				want = -want
			}
		}
		if got := bytes.Compare(keys[0], keys[1]); got != want {
			t.Fatalf("%v %v vs %v %v: keys compare %d, want %d", by[0], ids[0], by[1], ids[1], got, want)
		}
	})
}

// TestDecodeKey: a key of components, as an index entry's, splits back into
// them: ValueLen gives each value's length in either direction, and DocIDAt
// the document ID that ends the key. A key cut short, or with a byte too
// many, does not decode.
func TestDecodeKey(t *testing.T) {
	kinds := []crdt.Kind{crdt.KindString, crdt.KindInt, crdt.KindFloat, crdt.KindBoolean, crdt.KindDateTime, crdt.KindJSON, crdt.KindRelation}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 3).Draw(t, "fields")
		ks := make([]crdt.Kind, n)
		desc := make([]bool, n)
		var key []byte
		var lens []int
		for i := range ks {
			ks[i] = rapid.SampledFrom(kinds).Draw(t, "kind")
			desc[i] = rapid.Bool().Draw(t, "desc")
			k := ks[i]
			if k == crdt.KindJSON || k == crdt.KindRelation {
				k = crdt.KindString // their canonical values are text
			}
			c, _ := drawValue(t, k, "v")
			start := len(key)
			key = index.AppendValue(key, ks[i], c, desc[i])
			lens = append(lens, len(key)-start)
		}
		id := rapid.StringMatching("[a-z2-7\x00]{1,60}").Draw(t, "id")
		key = index.AppendDocID(key, id, desc[n-1])
		rest := key
		for i, k := range ks {
			l, ok := index.ValueLen(rest, k, desc[i])
			if !ok || l != lens[i] {
				t.Fatalf("field %d (%v, desc %v) of %x: length %d, %v; want %d", i, k, desc[i], key, l, ok, lens[i])
			}
			rest = rest[l:]
		}
		if got, ok := index.DocIDAt(rest, desc[n-1]); !ok || got != id {
			t.Fatalf("document ID of %x: %q, %v; want %q", key, got, ok, id)
		}
		if _, ok := index.DocIDAt(rest[:len(rest)-1], desc[n-1]); ok {
			t.Fatalf("a document ID cut short decoded: %x", rest[:len(rest)-1])
		}
		if _, ok := index.DocIDAt(append(slices.Clone(rest), 7), desc[n-1]); ok {
			t.Fatalf("a document ID with a byte after it decoded: %x", rest)
		}
		if l, ok := index.ValueLen(key[:lens[0]-1], ks[0], desc[0]); ok {
			t.Fatalf("a value cut short decoded, length %d: %x", l, key[:lens[0]-1])
		}
	})
}
