package crdt_test

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"pgregory.net/rapid"
)

// FuzzDecodeAgrees checks that the decoder accepts exactly what go-ipld-prime's
// decoder followed by the canonical-form check accepted, with the same tree, on
// real blocks and states and whatever the fuzzer makes of them.
func FuzzDecodeAgrees(f *testing.F) {
	for _, data := range append(blockSeeds(f), stateSeeds(f)...) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, err := crdt.CheckDecodeAgrees(data); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDecodeAgreesOnDrawnValues encodes drawn values in canonical dag-cbor, or
// with drawn departures from it (non-minimal heads, indefinite lengths, unsorted
// or repeated keys, narrow or non-finite floats, integers beyond int64, other
// simple values and tags, bad links, trailing bytes), and checks that the decoder
// and go-ipld-prime's path agree on each. The canonical ones within the depth
// limit must be accepted.
func TestDecodeAgreesOnDrawnValues(t *testing.T) {
	var accepted, refused int
	rapid.Check(t, func(t *rapid.T) {
		e := &drawnCBOR{t: t, mutate: rapid.Bool().Draw(t, "mutate")}
		depth := e.value(0)
		if e.mutate && rapid.IntRange(0, 9).Draw(t, "trailing") == 0 {
			e.buf = append(e.buf, rapid.SliceOfN(rapid.Byte(), 1, 3).Draw(t, "trailing bytes")...)
			e.mutated = true
		}
		ok, _, err := crdt.CheckDecodeAgrees(e.buf)
		if err != nil {
			t.Fatal(err)
		}
		if !e.mutated && depth <= 5 && !ok {
			t.Fatalf("canonical %x of depth %d refused", e.buf, depth)
		}
		if ok {
			accepted++
		} else {
			refused++
		}
	})
	t.Logf("%d encodings accepted, %d refused", accepted, refused)
	if accepted == 0 || refused == 0 {
		t.Fatalf("%d accepted, %d refused: the draws miss a side", accepted, refused)
	}
}

// drawnCBOR writes a drawn value as dag-cbor; with mutate, it departs from the
// canonical form now and then, and mutated says whether it did.
type drawnCBOR struct {
	t       *rapid.T
	buf     []byte
	mutate  bool
	mutated bool
}

// odd reports whether to depart from the canonical form at this point.
func (e *drawnCBOR) odd(label string) bool {
	return e.mutate && rapid.IntRange(0, 15).Draw(e.t, label) == 0
}

// head writes an initial byte and argument, in the shortest form unless odd.
func (e *drawnCBOR) head(major byte, arg uint64) {
	width := 0 // the shortest: 0 (in the initial byte), 1, 2, 4 or 8 bytes
	switch {
	case arg >= 1<<32:
		width = 8
	case arg >= 1<<16:
		width = 4
	case arg >= 1<<8:
		width = 2
	case arg >= 24:
		width = 1
	}
	if e.odd("wide head") {
		wider := rapid.SampledFrom([]int{1, 2, 4, 8}).Draw(e.t, "width")
		if wider > width {
			width = wider
			e.mutated = true
		}
	}
	switch width {
	case 0:
		e.buf = append(e.buf, major<<5|byte(arg))
	case 1:
		e.buf = append(e.buf, major<<5|24, byte(arg))
	case 2:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, major<<5|25), uint16(arg))
	case 4:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, major<<5|26), uint32(arg))
	default:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, major<<5|27), arg)
	}
}

// text writes a string (major 3) or byte string (major 2), in chunks of an
// indefinite-length string if odd.
func (e *drawnCBOR) text(major byte, s []byte) {
	if e.odd("indefinite string") {
		e.mutated = true
		e.buf = append(e.buf, major<<5|31)
		if len(s) > 0 {
			e.head(major, uint64(len(s)))
			e.buf = append(e.buf, s...)
		}
		e.buf = append(e.buf, 0xff)
		return
	}
	e.head(major, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// drawnInts are integers at the edges of each head width and of int64.
var drawnInts = []int64{0, 1, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxInt64,
	-1, -24, -25, -256, -257, -65536, -65537, -1 << 32, -1<<32 - 1, math.MinInt64}

// drawnFloats include -0, a subnormal whose bits fit 32 bits, and values a float32
// holds exactly.
var drawnFloats = []float64{0, math.Copysign(0, -1), math.Float64frombits(1), 1.5, -2.25, 1e300, math.MaxFloat64,
	math.SmallestNonzeroFloat64, 0.1}

// drawnKeys are short keys, so that drawn maps often share and order them.
var drawnKeys = []string{"", "a", "b", "ab", "ba", "aa", "set", "sg", "prev", "\xff", "é"}

// value writes a drawn value at depth and returns how deep collections nest in
// it (0 for a scalar).
func (e *drawnCBOR) value(depth int) int {
	kinds := []string{"int", "bytes", "string", "bool", "null", "float", "link"}
	if depth < 7 {
		kinds = append(kinds, "list", "map", "map")
	}
	if e.mutate {
		kinds = append(kinds, "odd")
	}
	switch rapid.SampledFrom(kinds).Draw(e.t, "kind") {
	case "int":
		i := rapid.OneOf(rapid.Int64(), rapid.SampledFrom(drawnInts)).Draw(e.t, "int")
		if i < 0 {
			e.head(1, uint64(-1-i))
		} else {
			e.head(0, uint64(i))
		}
	case "bytes":
		e.text(2, rapid.SliceOfN(rapid.Byte(), 0, 30).Draw(e.t, "bytes"))
	case "string":
		// Any bytes: dag-cbor wants UTF-8, but neither decoder checks.
		e.text(3, rapid.OneOf(rapid.SliceOfN(rapid.Byte(), 0, 30), rapid.Just([]byte("text ü"))).Draw(e.t, "string"))
	case "bool":
		e.buf = append(e.buf, rapid.SampledFrom([]byte{0xf4, 0xf5}).Draw(e.t, "bool"))
	case "null":
		e.buf = append(e.buf, 0xf6)
	case "float":
		f := rapid.OneOf(rapid.Float64(), rapid.SampledFrom(drawnFloats)).Draw(e.t, "float")
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xfb), math.Float64bits(f))
	case "link":
		e.link()
	case "list":
		n := rapid.IntRange(0, 4).Draw(e.t, "items")
		indefinite := e.odd("indefinite list")
		if indefinite {
			e.mutated = true
			e.buf = append(e.buf, 0x9f)
		} else {
			e.head(4, uint64(n))
		}
		deepest := depth + 1
		for range n {
			deepest = max(deepest, e.value(depth+1))
		}
		if indefinite {
			e.buf = append(e.buf, 0xff)
		}
		return deepest
	case "map":
		return e.dict(depth)
	case "odd":
		e.mutated = true
		e.oddValue(depth)
		return depth + 1 // not canonical anyway
	}
	return depth
}

// dict writes a map with drawn keys, in dag-cbor order unless odd.
func (e *drawnCBOR) dict(depth int) int {
	keys := rapid.SliceOfN(rapid.OneOf(rapid.SampledFrom(drawnKeys), rapid.String()), 0, 5).Draw(e.t, "keys")
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
	})
	keys = slices.Compact(keys)
	if len(keys) > 0 && e.odd("repeat key") {
		keys = append(keys, keys[rapid.IntRange(0, len(keys)-1).Draw(e.t, "repeated")])
		e.mutated = true
	}
	if len(keys) > 1 && e.odd("shuffle keys") {
		keys = rapid.Permutation(keys).Draw(e.t, "shuffled")
		e.mutated = true // perhaps still in order: then both must accept, which they are checked to
	}
	indefinite := e.odd("indefinite map")
	if indefinite {
		e.mutated = true
		e.buf = append(e.buf, 0xbf)
	} else {
		e.head(5, uint64(len(keys)))
	}
	deepest := depth + 1
	for _, k := range keys {
		if e.odd("key not text") {
			e.mutated = true
			e.text(2, []byte(k))
		} else {
			e.text(3, []byte(k))
		}
		deepest = max(deepest, e.value(depth+1))
	}
	if indefinite {
		e.buf = append(e.buf, 0xff)
	}
	return deepest
}

// link writes tag 42 around a CID: one of several codecs and hashes, CIDv0
// included, or if odd a broken one.
func (e *drawnCBOR) link() {
	c := testCID(rapid.String().Draw(e.t, "linked"))
	raw := cid.NewCidV1(cid.Raw, c.Hash())
	id, err := multihash.Sum([]byte("id"), multihash.IDENTITY, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	cids := []cid.Cid{c, raw, cid.NewCidV0(c.Hash()), cid.NewCidV1(cid.DagCBOR, id)}
	content := append([]byte{0}, rapid.SampledFrom(cids).Draw(e.t, "cid").Bytes()...)
	if e.odd("bad link") {
		e.mutated = true
		switch rapid.IntRange(0, 4).Draw(e.t, "how") {
		case 0:
			content = content[1:] // no multibase prefix
		case 1:
			content = content[:rapid.IntRange(0, len(content)-1).Draw(e.t, "cut")]
		case 2:
			content = append(content, 0)
		case 3:
			content[rapid.IntRange(0, len(content)-1).Draw(e.t, "byte")] ^= rapid.Byte().Draw(e.t, "xor")
		default:
			content[0] = 1
		}
	}
	e.head(6, 42)
	e.text(2, content)
}

// oddValue writes something dag-cbor does not allow, or writes differently.
func (e *drawnCBOR) oddValue(depth int) {
	switch rapid.IntRange(0, 8).Draw(e.t, "odd kind") {
	case 0: // a float in 16 or 32 bits
		if rapid.Bool().Draw(e.t, "half") {
			e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xf9), rapid.Uint16().Draw(e.t, "bits"))
		} else {
			e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xfa), rapid.Uint32().Draw(e.t, "bits"))
		}
	case 1: // NaN or an infinity
		f := rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}).Draw(e.t, "non-finite")
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xfb), math.Float64bits(f))
	case 2: // an integer beyond int64
		e.head(rapid.SampledFrom([]byte{0, 1}).Draw(e.t, "sign"),
			rapid.OneOf(rapid.Uint64Range(math.MaxInt64+1, math.MaxUint64), rapid.Just(uint64(math.MaxUint64))).Draw(e.t, "big"))
	case 3: // undefined or another simple value
		e.buf = append(e.buf, rapid.SampledFrom([]byte{0xf7, 0xe0, 0xf3, 0xf8, 0xfc, 0xff}).Draw(e.t, "simple"))
		if e.buf[len(e.buf)-1] == 0xf8 {
			e.buf = append(e.buf, rapid.Byte().Draw(e.t, "simple value"))
		}
	case 4: // another tag
		e.head(6, rapid.SampledFrom([]uint64{0, 1, 41, 43, 42 + 256}).Draw(e.t, "tag"))
		e.value(depth)
	case 5: // tag 42 around something else
		e.head(6, 42)
		e.value(depth)
	case 6: // a reserved additional information
		e.buf = append(e.buf, rapid.SampledFrom([]byte{0x1c, 0x3d, 0x5e, 0x9c, 0xdd}).Draw(e.t, "reserved"))
	case 7: // a length longer than the data left
		e.head(byte(rapid.IntRange(2, 5).Draw(e.t, "major")), rapid.Uint64Range(1, math.MaxUint64).Draw(e.t, "length"))
	default: // cut short
		e.buf = append(e.buf, rapid.SampledFrom([]byte{0x18, 0x19, 0x1a, 0x1b, 0xfb, 0x61, 0x82, 0xa1, 0xd8}).Draw(e.t, "cut"))
	}
}

// TestDecodeLimitsAgree checks the decoder against go-ipld-prime's path at the
// edges of the allocation budget and of the longest string: a block's budget is
// 2 × MaxBlockSize units, and a list of n booleans costs 6n (n for the list, 4 and
// 1 per item); a string is at most 32 MiB, which only a state can hold.
func TestDecodeLimitsAgree(t *testing.T) {
	bools := func(n int) []byte {
		data := binary.BigEndian.AppendUint32([]byte{0x9a}, uint32(n))
		return append(data, bytes.Repeat([]byte{0xf5}, n)...)
	}
	most := 2 * crdt.MaxBlockSize / 6
	for _, n := range []int{most, most + 1} {
		ok, _, err := crdt.CheckDecodeAgrees(bools(n))
		if err != nil {
			t.Fatal(err)
		}
		if ok != (n == most) {
			t.Errorf("list of %d booleans: accepted %t, want %t", n, ok, n == most)
		}
	}
	for _, n := range []int{32 << 20, 32<<20 + 1} {
		data := append(binary.BigEndian.AppendUint32([]byte{0x7a}, uint32(n)), make([]byte, n)...)
		_, ok, err := crdt.CheckDecodeAgrees(data)
		if err != nil {
			t.Fatal(err)
		}
		if ok != (n == 32<<20) {
			t.Errorf("state of a %d-byte string: accepted %t, want %t", n, ok, n == 32<<20)
		}
	}
}
