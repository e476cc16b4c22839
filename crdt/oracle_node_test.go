package crdt

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// The oracle for encode: go-ipld-prime's dag-cbor encoder, which encoded blocks
// and states before it, walking a treeNode tree as a read-only datamodel.Node.

// oracleEncodeOptions encodes as blocks and states were encoded: trees are
// presorted, so without the encoder's sorting pass.
var oracleEncodeOptions = dagcbor.EncodeOptions{
	AllowLinks:  true,
	MapSortMode: codec.MapSortMode_None,
}

// sortingEncodeOptions is go-ipld-prime's dag-cbor encoding with its own key
// sorting.
var sortingEncodeOptions = dagcbor.EncodeOptions{AllowLinks: true, MapSortMode: codec.MapSortMode_RFC7049}

// oracleEncode returns go-ipld-prime's dag-cbor encoding of the tree rooted at n.
func oracleEncode(n *treeNode) ([]byte, error) {
	var buf bytes.Buffer
	if err := oracleEncodeOptions.Encode(n, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkEncoding returns an error unless data, encode's bytes for the tree n,
// are as long as encodedLen says, are what go-ipld-prime's encoder writes for
// n, with and without its own key sorting (so n's maps are in dag-cbor order),
// and decode back into n.
func checkEncoding(n *treeNode, data []byte) error {
	if size, err := n.encodedLen(); err != nil || size != len(data) {
		return fmt.Errorf("encodedLen of %s is %d, %v; encode wrote %d bytes", n.debug(), size, err, len(data))
	}
	want, err := oracleEncode(n)
	if err != nil {
		return fmt.Errorf("oracle refuses %s: %w", n.debug(), err)
	}
	if !bytes.Equal(data, want) {
		return fmt.Errorf("encode of %s:\n got %x\nwant %x", n.debug(), data, want)
	}
	var sorted bytes.Buffer
	if err := sortingEncodeOptions.Encode(n, &sorted); err != nil {
		return err
	}
	if !bytes.Equal(data, sorted.Bytes()) {
		return fmt.Errorf("tree not in dag-cbor key order:\n got %x\nwant %x", data, sorted.Bytes())
	}
	back, err := decodeTree(treeLimits{maxDepth: 64, budget: math.MaxInt64}, data)
	if err != nil {
		return fmt.Errorf("decoding %x, the encoding of %s: %w", data, n.debug(), err)
	}
	if !treesEqual(back, n) {
		return fmt.Errorf("%x decodes to %s, not to %s", data, back.debug(), n.debug())
	}
	return nil
}

// TestMain makes encode check every tree the package's tests encode, every
// block and state they build, against the oracle (checkEncoding); not while
// benchmarking, where the oracle would count in the figures.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		encodeCheck = func(n *treeNode, data []byte) {
			if err := checkEncoding(n, data); err != nil {
				panic("crdt: encode disagrees with go-ipld-prime: " + err.Error())
			}
		}
		encodeBlockCheck = func(b *Block, signed bool, data []byte) {
			if err := checkBlockEncoding(b, signed, data); err != nil {
				panic("crdt: a block's encoding disagrees with its tree's: " + err.Error())
			}
		}
		encodeStateCheck = func(st *State, data []byte) {
			if err := checkStateEncoding(st, data); err != nil {
				panic("crdt: a state's encoding disagrees with its tree's: " + err.Error())
			}
		}
	}
	os.Exit(m.Run())
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
