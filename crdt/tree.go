package crdt

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/datamodel"
)

// Blocks and states are decoded into trees of treeNodes (this file) by
// decodeTree, and encoded straight from their fields by Block.appendCBOR and
// State.appendCBOR, which write the top-level maps, links, byte strings and
// integers directly and build a small tree for each other value (a block's
// maps of fields set, added to, or changed in sets, its transaction mark, a
// state field's value or set): both are our own canonical dag-cbor
// (cbor.go), with go-ipld-prime's encoder and decoder kept in the tests as
// oracles that must agree with them (oracle_test.go). The tests also build the
// whole tree of every block and state they encode and check that the direct
// encoding is that tree's (encode_oracle_test.go). Building the same trees
// with basicnode costs several allocations per value; a treeNode tree costs
// one allocation per map or list. Trees list their map entries already in
// dag-cbor's key order (shorter keys first, then bytewise), which the encoders
// rely on, since they write them in order; a test encodes them with
// go-ipld-prime's sorting encoder too and checks the bytes do not change.

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
