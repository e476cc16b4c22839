// Package index encodes field values into byte strings whose order is the
// values' order, for a node's secondary indexes and for the sort keys and
// cursors of queries, and describes the indexes a collection has.
//
// # Encoding
//
// A value of a field encodes as one component: 0x01 for null (absent or cleared),
// else 0x02 followed by
//
//	String, JSON  the bytes, 0x00 written as 0x00 0xFF, then 0x00 0x01;
//	relation      so is a relation's document ID
//	Int           8 bytes big-endian, sign bit flipped
//	Float         the IEEE 754 bits big-endian, all flipped for a negative
//	              number, the sign bit flipped for a positive one (-0 is 0)
//	Boolean       0x00 false, 0x01 true
//	DateTime      seconds since 1970 as Int, then nanoseconds as 4 bytes big-endian
//
// Components are prefix-free, so a concatenation of them orders as the tuple of
// values does, nulls first. A descending component is the bitwise complement of
// the ascending one, which reverses its order (nulls last). A document ID ends
// every key as a String component, so keys are unique and order is total.
package index

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
)

// Component tags.
const (
	tagNull  = 0x01
	tagValue = 0x02
)

// AppendValue appends the component of canonical value v (nil for null) of a
// field of kind k, complemented when desc. A value of another Go type than the
// kind's canonical one encodes as null: callers pass only canonical values.
func AppendValue(dst []byte, k crdt.Kind, v any, desc bool) []byte {
	start := len(dst)
	dst = appendAsc(dst, k, v)
	if desc {
		complement(dst[start:])
	}
	return dst
}

// AppendDocID appends the component of a document ID, complemented when desc.
func AppendDocID(dst []byte, id string, desc bool) []byte {
	start := len(dst)
	dst = append(dst, tagValue)
	dst = appendString(dst, id)
	if desc {
		complement(dst[start:])
	}
	return dst
}

func appendAsc(dst []byte, k crdt.Kind, v any) []byte {
	if v == nil {
		return append(dst, tagNull)
	}
	switch k {
	case crdt.KindString, crdt.KindJSON, crdt.KindRelation:
		if s, ok := v.(string); ok {
			return appendString(append(dst, tagValue), s)
		}
	case crdt.KindInt:
		if i, ok := v.(int64); ok {
			return binary.BigEndian.AppendUint64(append(dst, tagValue), uint64(i)^1<<63)
		}
	case crdt.KindFloat:
		if f, ok := v.(float64); ok {
			return binary.BigEndian.AppendUint64(append(dst, tagValue), floatBits(f))
		}
	case crdt.KindBoolean:
		if b, ok := v.(bool); ok {
			if b {
				return append(dst, tagValue, 1)
			}
			return append(dst, tagValue, 0)
		}
	case crdt.KindDateTime:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				dst = binary.BigEndian.AppendUint64(append(dst, tagValue), uint64(t.Unix())^1<<63)
				return binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
			}
		}
	}
	return append(dst, tagNull)
}

func floatBits(f float64) uint64 {
	if f == 0 {
		f = 0 // -0 orders and compares equal to 0
	}
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, s[i])
		}
	}
	return append(dst, 0, 1)
}

func complement(b []byte) {
	for i := range b {
		b[i] = ^b[i]
	}
}

// Complement returns the bitwise complement of b in a new slice: the key of the
// same tuple with every component's direction reversed.
func Complement(b []byte) []byte {
	c := make([]byte, len(b))
	for i := range b {
		c[i] = ^b[i]
	}
	return c
}

// PrefixEnd returns the smallest byte string greater than every string that
// starts with p, or nil if there is none (p is all 0xFF).
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// NonNull returns the bounds [lo, hi) of the components of every non-null value
// of a field in the given direction.
func NonNull(desc bool) (lo, hi []byte) {
	if desc {
		return []byte{^byte(tagValue)}, []byte{^byte(tagNull)}
	}
	return []byte{tagValue}, []byte{tagValue + 1}
}

// DocIDOf decodes a key that is a single ascending document ID component, as
// the sort key of a query without order is.
func DocIDOf(key []byte) (string, bool) { return DocIDAt(key, false) }

// DocIDAt decodes key, a single document ID component in the direction desc
// and nothing after it, as every index entry's key ends.
func DocIDAt(key []byte, desc bool) (string, bool) {
	at := func(i int) byte {
		if desc {
			return ^key[i]
		}
		return key[i]
	}
	if len(key) < 3 || at(0) != tagValue {
		return "", false
	}
	out := make([]byte, 0, len(key))
	for i := 1; i < len(key); i++ {
		if at(i) != 0 {
			out = append(out, at(i))
			continue
		}
		if i+1 >= len(key) {
			return "", false
		}
		switch at(i + 1) {
		case 0xFF:
			out = append(out, 0)
			i++
		case 1:
			return string(out), i+2 == len(key)
		default:
			return "", false
		}
	}
	return "", false
}

// ValueLen returns the length of the component of a value of kind k, in the
// direction desc, that key starts with; false when key starts with none.
func ValueLen(key []byte, k crdt.Kind, desc bool) (int, bool) {
	at := func(i int) byte {
		if desc {
			return ^key[i]
		}
		return key[i]
	}
	if len(key) == 0 {
		return 0, false
	}
	switch at(0) {
	case tagNull:
		return 1, true
	case tagValue:
	default:
		return 0, false
	}
	n := 0 // the value's bytes after the tag
	switch k {
	case crdt.KindString, crdt.KindJSON, crdt.KindRelation:
		for i := 1; i+1 < len(key); i++ {
			if at(i) != 0 {
				continue
			}
			switch at(i + 1) {
			case 0xFF:
				i++
			case 1:
				return i + 2, true
			default:
				return 0, false
			}
		}
		return 0, false
	case crdt.KindInt, crdt.KindFloat:
		n = 8
	case crdt.KindBoolean:
		n = 1
	case crdt.KindDateTime:
		n = 12
	default:
		return 0, false
	}
	if len(key) < 1+n {
		return 0, false
	}
	return 1 + n, true
}
