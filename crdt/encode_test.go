package crdt

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/multiformats/go-multihash"
	"pgregory.net/rapid"
)

// TestEncodeAgrees checks encode against go-ipld-prime's encoder, and the
// round trip through decodeTree, on drawn trees of every kind, with integers,
// lengths and counts on both sides of each size of head (checkEncoding).
func TestEncodeAgrees(t *testing.T) {
	rapid.Check(t, checkDrawnTree)
}

// FuzzEncodeAgrees is TestEncodeAgrees driven by the fuzzer.
func FuzzEncodeAgrees(f *testing.F) {
	f.Fuzz(rapid.MakeFuzz(checkDrawnTree))
}

func checkDrawnTree(t *rapid.T) {
	n := drawTree(t, 0)
	data, err := n.encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkEncoding(&n, data); err != nil {
		t.Fatal(err)
	}
}

// headEdges are the arguments on both sides of each size of a head.
var headEdges = []uint64{0, 1, 23, 24, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64}

// drawLen draws a length: mostly small, sometimes at an edge of a head's size.
func drawLen(t *rapid.T, label string, most int) int {
	if rapid.IntRange(0, 9).Draw(t, label+" edge") == 0 {
		edges := []int{0, 23, 24, 255, 256}
		if most >= 65536 {
			edges = append(edges, 65535, 65536)
		}
		return rapid.SampledFrom(edges).Draw(t, label)
	}
	return rapid.IntRange(0, min(most, 8)).Draw(t, label)
}

// drawTree draws a tree of any kind at depth: maps (keys in dag-cbor order)
// and lists down to depth 3, scalars, links of several CID versions, codecs and
// lengths. Floats are finite, since decodeTree refuses NaN and infinities and no
// block or state holds them.
func drawTree(t *rapid.T, depth int) treeNode {
	var n treeNode
	kinds := 9
	if depth >= 3 {
		kinds = 7
	}
	switch rapid.IntRange(0, kinds-1).Draw(t, "kind") {
	case 0:
		n.kind = datamodel.Kind_Null
	case 1:
		n.setBool(rapid.Bool().Draw(t, "bool"))
	case 2:
		i := rapid.Int64().Draw(t, "int")
		if rapid.Bool().Draw(t, "int at an edge") {
			i = int64(rapid.SampledFrom(headEdges).Draw(t, "edge"))
			if rapid.Bool().Draw(t, "negative") {
				i = -1 - i
			}
		}
		n.setInt(i)
	case 3:
		f := rapid.Float64().Draw(t, "float")
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = math.Copysign(0, f)
		}
		n.kind, n.num = datamodel.Kind_Float, math.Float64bits(f)
	case 4:
		n.kind, n.str = datamodel.Kind_String, drawString(t, "string")
	case 5:
		n.setBytes([]byte(strings.Repeat("\xff", drawLen(t, "bytes", 1<<17))))
	case 6:
		n.setLink(drawAnyCID(t))
	case 7:
		n.kind = datamodel.Kind_List
		n.kids = make([]treeNode, drawLen(t, "items", 300))
		for i := range n.kids {
			n.kids[i] = drawTree(t, depth+1)
		}
	case 8:
		keys := rapid.SliceOfNDistinct(rapid.Custom(func(t *rapid.T) string { return drawString(t, "key") }),
			0, -1, func(k string) string { return k }).Draw(t, "keys")
		if rapid.IntRange(0, 9).Draw(t, "many keys") == 0 {
			for i := range rapid.SampledFrom([]int{23, 24, 255, 256}).Draw(t, "count") {
				keys = append(keys, strings.Repeat("k", i+30))
			}
		}
		n.setMap(mapKeysInOrder(setOf(keys)))
		for i := range n.kids {
			n.kids[i] = drawTree(t, depth+1)
		}
	}
	return n
}

// drawString draws a string: any runes, or long enough for each size of head.
func drawString(t *rapid.T, label string) string {
	if l := drawLen(t, label+" length", 1<<17); l > 8 {
		return strings.Repeat("é", l/2) + strings.Repeat("a", l%2)
	}
	return rapid.String().Draw(t, label)
}

// drawAnyCID draws a CIDv0 or a CIDv1 of several codecs, hashes and lengths
// (an identity hash holds any bytes, up to a link longer than 255 bytes).
func drawAnyCID(t *rapid.T) cid.Cid {
	data := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "cid data")
	var c cid.Cid
	var err error
	switch rapid.IntRange(0, 2).Draw(t, "cid form") {
	case 0:
		c, err = cid.V0Builder{}.Sum(data)
	case 1:
		c, err = linkPrefix.Sum(data)
	default:
		codec := rapid.SampledFrom([]uint64{cid.Raw, cid.DagCBOR, cid.DagJSON}).Draw(t, "codec")
		c, err = cid.Prefix{Version: 1, Codec: codec, MhType: multihash.IDENTITY, MhLength: -1}.Sum(data)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setOf returns the keys as a set, for mapKeysInOrder.
func setOf(keys []string) map[string]struct{} {
	m := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		m[k] = struct{}{}
	}
	return m
}

// TestEncodeStateUndefinedLink: a state whose document, heads, schema or
// winning block is an undefined CID does not encode (errUndefinedLink), where
// the same state with every link defined does.
func TestEncodeStateUndefinedLink(t *testing.T) {
	sum, err := multihash.Sum([]byte("a block"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := cid.NewCidV1(cid.DagCBOR, sum)
	state := func() *State {
		return &State{Doc: c, Schema: c, Heads: []cid.Cid{c}, Height: 1,
			Fields: map[string]FieldState{"name": {Value: "Ada", Height: 1, Block: c}}}
	}
	if _, err := state().marshal(); err != nil {
		t.Fatalf("a state with every link defined: %v", err)
	}
	for name, undefine := range map[string]func(*State){
		"document": func(st *State) { st.Doc = cid.Undef },
		"head":     func(st *State) { st.Heads = []cid.Cid{c, cid.Undef} },
		"schema":   func(st *State) { st.Schema = cid.Undef },
		"block":    func(st *State) { st.Fields["name"] = FieldState{Value: "Ada", Height: 1} },
	} {
		st := state()
		undefine(st)
		if _, err := st.marshal(); !errors.Is(err, errUndefinedLink) {
			t.Errorf("undefined %s: %v, want %v", name, err, errUndefinedLink)
		}
	}
}
