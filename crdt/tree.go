package crdt

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// Blocks and states are encoded by go-ipld-prime's dag-cbor encoder from trees of
// treeNodes, a compact read-only datamodel.Node that the encoder walks (this
// file), and decoded into the same trees by decodeTree (cbor.go). Building the same trees with
// basicnode costs several allocations per value and most of the coding time; a
// treeNode tree costs one allocation per map or list. Trees built for encoding list
// their map entries already in dag-cbor's key order (shorter keys first, then
// bytewise), so the encoder runs without its sorting pass; a test encodes with
// sorting too and checks the bytes do not change.

// encodeOptionsPresorted encodes treeNode trees, whose maps are already in order.
var encodeOptionsPresorted = dagcbor.EncodeOptions{
	AllowLinks:  true,
	MapSortMode: codec.MapSortMode_None,
}

// treeNode is one value of a tree to encode or decoded: a map (keys and kids,
// its values, in the same order), a list (kids) or a scalar. Ints and floats
// share num, strings and bytes share str, to keep the node small.
type treeNode struct {
	kind datamodel.Kind
	b    bool   // a Bool
	num  uint64 // an Int's two's complement or a Float's IEEE 754 bits
	str  string // a String, or the content of Bytes
	link cid.Cid
	keys []string
	kids []treeNode
}

func (n *treeNode) setLink(c cid.Cid) { n.kind, n.link = datamodel.Kind_Link, c }
func (n *treeNode) setInt(i int64)    { n.kind, n.num = datamodel.Kind_Int, uint64(i) }
func (n *treeNode) setBool(b bool)    { n.kind, n.b = datamodel.Kind_Bool, b }
func (n *treeNode) setBytes(b []byte) { n.kind, n.str = datamodel.Kind_Bytes, string(b) }

// setMap makes n a map with the given keys, which must be in dag-cbor order and
// are not copied, and returns its values for the caller to fill, in the same order.
func (n *treeNode) setMap(keys []string) []treeNode {
	n.kind, n.keys = datamodel.Kind_Map, keys
	n.kids = make([]treeNode, len(keys))
	return n.kids
}

// setLinks makes n a list of links.
func (n *treeNode) setLinks(cids []cid.Cid) {
	n.kind = datamodel.Kind_List
	n.kids = make([]treeNode, len(cids))
	for i, c := range cids {
		n.kids[i].setLink(c)
	}
}

// setScalar sets n to a validated value: a scalar or a list of scalars.
func (n *treeNode) setScalar(v any) {
	switch v := v.(type) {
	case nil:
		n.kind = datamodel.Kind_Null
	case string:
		n.kind, n.str = datamodel.Kind_String, v
	case int64:
		n.setInt(v)
	case float64:
		n.kind, n.num = datamodel.Kind_Float, math.Float64bits(v)
	case bool:
		n.setBool(v)
	case []any:
		n.setList(v)
	default:
		panic(fmt.Sprintf("crdt: unvalidated value of type %T", v)) // validation runs first
	}
}

// setScalarMap makes n a map of validated scalar values.
func (n *treeNode) setScalarMap(m map[string]any) {
	keys := mapKeysInOrder(m)
	vals := n.setMap(keys)
	for i, k := range keys {
		vals[i].setScalar(m[k])
	}
}

// mapKeysInOrder returns the keys of m in dag-cbor order.
func mapKeysInOrder[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareMapKeys)
	return keys
}

// compareMapKeys orders map keys as dag-cbor does: shorter first, then bytewise.
func compareMapKeys(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// encode returns the dag-cbor encoding of the tree rooted at n.
func (n *treeNode) encode(sizeHint int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(sizeHint)
	if err := encodeOptionsPresorted.Encode(n, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (n *treeNode) wrongKind(method string, want datamodel.KindSet) error {
	return datamodel.ErrWrongKind{MethodName: method, AppropriateKind: want, ActualKind: n.kind}
}

// Kind implements datamodel.Node.
func (n *treeNode) Kind() datamodel.Kind { return n.kind }

// LookupByString implements datamodel.Node.
func (n *treeNode) LookupByString(key string) (datamodel.Node, error) {
	if n.kind != datamodel.Kind_Map {
		return nil, n.wrongKind("LookupByString", datamodel.KindSet_JustMap)
	}
	for i, k := range n.keys {
		if k == key {
			return &n.kids[i], nil
		}
	}
	return nil, datamodel.ErrNotExists{Segment: datamodel.PathSegmentOfString(key)}
}

// LookupByNode implements datamodel.Node.
func (n *treeNode) LookupByNode(key datamodel.Node) (datamodel.Node, error) {
	s, err := key.AsString()
	if err != nil {
		return nil, err
	}
	return n.LookupByString(s)
}

// LookupByIndex implements datamodel.Node.
func (n *treeNode) LookupByIndex(idx int64) (datamodel.Node, error) {
	if n.kind != datamodel.Kind_List {
		return nil, n.wrongKind("LookupByIndex", datamodel.KindSet_JustList)
	}
	if idx < 0 || idx >= int64(len(n.kids)) {
		return nil, datamodel.ErrNotExists{Segment: datamodel.PathSegmentOfInt(idx)}
	}
	return &n.kids[idx], nil
}

// LookupBySegment implements datamodel.Node.
func (n *treeNode) LookupBySegment(seg datamodel.PathSegment) (datamodel.Node, error) {
	if n.kind == datamodel.Kind_List {
		i, err := seg.Index()
		if err != nil {
			return nil, err
		}
		return n.LookupByIndex(i)
	}
	return n.LookupByString(seg.String())
}

// MapIterator implements datamodel.Node.
func (n *treeNode) MapIterator() datamodel.MapIterator {
	if n.kind != datamodel.Kind_Map {
		return nil
	}
	return &treeMapIterator{n: n}
}

// ListIterator implements datamodel.Node.
func (n *treeNode) ListIterator() datamodel.ListIterator {
	if n.kind != datamodel.Kind_List {
		return nil
	}
	return &treeListIterator{n: n}
}

// Length implements datamodel.Node.
func (n *treeNode) Length() int64 {
	switch n.kind {
	case datamodel.Kind_Map, datamodel.Kind_List:
		return int64(len(n.kids))
	}
	return -1
}

// IsAbsent implements datamodel.Node.
func (n *treeNode) IsAbsent() bool { return false }

// IsNull implements datamodel.Node.
func (n *treeNode) IsNull() bool { return n.kind == datamodel.Kind_Null }

// AsBool implements datamodel.Node.
func (n *treeNode) AsBool() (bool, error) {
	if n.kind != datamodel.Kind_Bool {
		return false, n.wrongKind("AsBool", datamodel.KindSet_JustBool)
	}
	return n.b, nil
}

// AsInt implements datamodel.Node.
func (n *treeNode) AsInt() (int64, error) {
	if n.kind != datamodel.Kind_Int {
		return 0, n.wrongKind("AsInt", datamodel.KindSet_JustInt)
	}
	return int64(n.num), nil
}

// AsFloat implements datamodel.Node.
func (n *treeNode) AsFloat() (float64, error) {
	if n.kind != datamodel.Kind_Float {
		return 0, n.wrongKind("AsFloat", datamodel.KindSet_JustFloat)
	}
	return math.Float64frombits(n.num), nil
}

// AsString implements datamodel.Node.
func (n *treeNode) AsString() (string, error) {
	if n.kind != datamodel.Kind_String {
		return "", n.wrongKind("AsString", datamodel.KindSet_JustString)
	}
	return n.str, nil
}

// AsBytes implements datamodel.Node.
func (n *treeNode) AsBytes() ([]byte, error) {
	if n.kind != datamodel.Kind_Bytes {
		return nil, n.wrongKind("AsBytes", datamodel.KindSet_JustBytes)
	}
	return []byte(n.str), nil
}

// AsLink implements datamodel.Node.
func (n *treeNode) AsLink() (datamodel.Link, error) {
	if n.kind != datamodel.Kind_Link {
		return nil, n.wrongKind("AsLink", datamodel.KindSet_JustLink)
	}
	return cidlink.Link{Cid: n.link}, nil
}

// Prototype implements datamodel.Node: a treeNode decodes back into basicnode.
func (n *treeNode) Prototype() datamodel.NodePrototype { return basicnode.Prototype.Any }

// treeMapIterator iterates over a map treeNode. The key node it returns is its own
// and changes at the next call, which is all the dag-cbor encoder needs.
type treeMapIterator struct {
	n   *treeNode
	i   int
	key treeNode
}

func (it *treeMapIterator) Next() (datamodel.Node, datamodel.Node, error) {
	if it.Done() {
		return nil, nil, datamodel.ErrIteratorOverread{}
	}
	it.key = treeNode{kind: datamodel.Kind_String, str: it.n.keys[it.i]}
	v := &it.n.kids[it.i]
	it.i++
	return &it.key, v, nil
}

func (it *treeMapIterator) Done() bool { return it.i >= len(it.n.kids) }

type treeListIterator struct {
	n *treeNode
	i int
}

func (it *treeListIterator) Next() (int64, datamodel.Node, error) {
	if it.Done() {
		return -1, nil, datamodel.ErrIteratorOverread{}
	}
	i := it.i
	it.i++
	return int64(i), &it.n.kids[i], nil
}

func (it *treeListIterator) Done() bool { return it.i >= len(it.n.kids) }
