package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// The oracle for decodeTree: how Decode parsed blocks before it, with
// go-ipld-prime's dag-cbor decoder assembling a treeNode tree, then checking the
// key order and re-encoding the tree with go-ipld-prime's encoder to compare with
// the input. CheckDecodeAgrees compares the two on any input.

// oracleBlockOptions and oracleStateOptions are the options blocks and states were
// decoded with.
var (
	oracleBlockOptions = dagcbor.DecodeOptions{
		AllowLinks:            true,
		AllocationBudget:      2 * MaxBlockSize,
		MaxCollectionPrealloc: MaxFields,
		MaxDepth:              5,
	}
	oracleStateOptions = func(data []byte) dagcbor.DecodeOptions {
		opts := oracleBlockOptions
		opts.MaxDepth = 6
		opts.AllocationBudget = 8*int64(len(data)) + 1024
		return opts
	}
)

// oracleDecode parses data as Decode did before decodeTree: the tree, or an error
// if go-ipld-prime's decoder refuses data or data is not the tree's canonical
// encoding.
func oracleDecode(opts dagcbor.DecodeOptions, data []byte) (*treeNode, error) {
	var root treeNode
	if err := opts.Decode((*asmNode)(&root), bytes.NewReader(data)); err != nil {
		return nil, err
	}
	if !root.inKeyOrder() {
		return nil, errors.New("map keys out of order")
	}
	canon, err := oracleEncode(&root)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, data) {
		return nil, errors.New("not in canonical form")
	}
	return &root, nil
}

// CheckDecodeAgrees returns an error if decodeTree and oracleDecode disagree on
// data, with a block's limits or a state's: one accepts and the other refuses, or
// both accept with different trees; or if encode does not give data back from
// the tree decodeTree accepted. It reports whether decodeTree accepted data
// with a block's limits and with a state's.
func CheckDecodeAgrees(data []byte) (block, state bool, err error) {
	for _, c := range []struct {
		what     string
		lim      treeLimits
		opts     dagcbor.DecodeOptions
		accepted *bool
	}{
		{"block", blockLimits, oracleBlockOptions, &block},
		{"state", stateLimits(len(data)), oracleStateOptions(data), &state},
	} {
		got, err := decodeTree(c.lim, data)
		want, oerr := oracleDecode(c.opts, data)
		switch {
		case (err == nil) != (oerr == nil):
			return false, false, fmt.Errorf("%s limits on %x: decodeTree error %v, oracle error %v", c.what, data, err, oerr)
		case err == nil && !treesEqual(got, want):
			return false, false, fmt.Errorf("%s limits on %x: decodeTree gives %s, oracle %s", c.what, data, got.debug(), want.debug())
		case err == nil:
			// decodeTree accepts canonical encodings only: encode gives data back.
			if again, err := got.encode(); err != nil || !bytes.Equal(again, data) {
				return false, false, fmt.Errorf("%s limits on %x: encode of the tree gives %x, %v", c.what, data, again, err)
			}
		}
		*c.accepted = err == nil
	}
	return block, state, nil
}

// inKeyOrder reports whether every map in the tree rooted at n lists its keys in
// dag-cbor order, each once.
func (n *treeNode) inKeyOrder() bool {
	for i := 1; i < len(n.keys); i++ {
		if compareMapKeys(n.keys[i-1], n.keys[i]) >= 0 {
			return false
		}
	}
	for i := range n.kids {
		if !n.kids[i].inKeyOrder() {
			return false
		}
	}
	return true
}

// treesEqual reports whether two trees hold the same values.
func treesEqual(a, b *treeNode) bool {
	if a.kind != b.kind || a.b != b.b || a.num != b.num || a.str != b.str || !a.link.Equals(b.link) ||
		len(a.keys) != len(b.keys) || len(a.kids) != len(b.kids) {
		return false
	}
	for i := range a.keys {
		if a.keys[i] != b.keys[i] {
			return false
		}
	}
	for i := range a.kids {
		if !treesEqual(&a.kids[i], &b.kids[i]) {
			return false
		}
	}
	return true
}

// debug describes a tree for a failure message.
func (n *treeNode) debug() string {
	var buf bytes.Buffer
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		switch n.kind {
		case datamodel.Kind_Map:
			buf.WriteString("{")
			for i, k := range n.keys {
				fmt.Fprintf(&buf, "%q: ", k)
				walk(&n.kids[i])
				buf.WriteString(", ")
			}
			buf.WriteString("}")
		case datamodel.Kind_List:
			buf.WriteString("[")
			for i := range n.kids {
				walk(&n.kids[i])
				buf.WriteString(", ")
			}
			buf.WriteString("]")
		default:
			fmt.Fprintf(&buf, "%s(b=%t num=%#x str=%q link=%s)", n.kind, n.b, n.num, n.str, n.link)
		}
	}
	walk(n)
	return buf.String()
}

// asmNode assembles one value into the treeNode it points to.
type asmNode treeNode

func (a *asmNode) BeginMap(sizeHint int64) (datamodel.MapAssembler, error) {
	a.kind = datamodel.Kind_Map
	a.keys = make([]string, 0, max(sizeHint, 0))
	a.kids = make([]treeNode, 0, max(sizeHint, 0))
	return (*asmMap)(a), nil
}

func (a *asmNode) BeginList(sizeHint int64) (datamodel.ListAssembler, error) {
	a.kind = datamodel.Kind_List
	a.kids = make([]treeNode, 0, max(sizeHint, 0))
	return (*asmList)(a), nil
}

func (a *asmNode) AssignNull() error { a.kind = datamodel.Kind_Null; return nil }

func (a *asmNode) AssignBool(b bool) error { (*treeNode)(a).setBool(b); return nil }

func (a *asmNode) AssignInt(i int64) error { (*treeNode)(a).setInt(i); return nil }

func (a *asmNode) AssignFloat(f float64) error {
	a.kind, a.num = datamodel.Kind_Float, math.Float64bits(f)
	return nil
}

func (a *asmNode) AssignString(s string) error { a.kind, a.str = datamodel.Kind_String, s; return nil }

func (a *asmNode) AssignBytes(b []byte) error { (*treeNode)(a).setBytes(b); return nil }

func (a *asmNode) AssignLink(l datamodel.Link) error {
	cl, ok := l.(cidlink.Link)
	if !ok {
		return errors.New("link is not a CID")
	}
	(*treeNode)(a).setLink(cl.Cid)
	return nil
}

// AssignNode copies n; the dag-cbor decoder uses it only for integers beyond
// int64, which no block or state holds and which re-encoding refused.
func (a *asmNode) AssignNode(n datamodel.Node) error {
	if _, ok := n.(datamodel.UintNode); ok {
		return errors.New("integer beyond int64")
	}
	return datamodel.Copy(n, a)
}

func (a *asmNode) Prototype() datamodel.NodePrototype { return basicnode.Prototype.Any }

// asmMap assembles the entries of a map.
type asmMap treeNode

func (m *asmMap) AssembleKey() datamodel.NodeAssembler {
	m.keys = append(m.keys, "")
	return (*asmKey)(&m.keys[len(m.keys)-1])
}

func (m *asmMap) AssembleValue() datamodel.NodeAssembler {
	m.kids = append(m.kids, treeNode{})
	return (*asmNode)(&m.kids[len(m.kids)-1])
}

func (m *asmMap) AssembleEntry(k string) (datamodel.NodeAssembler, error) {
	m.keys = append(m.keys, k)
	return m.AssembleValue(), nil
}

func (m *asmMap) Finish() error {
	if len(m.keys) != len(m.kids) {
		return errors.New("map key without a value")
	}
	return nil
}

func (m *asmMap) KeyPrototype() datamodel.NodePrototype { return basicnode.Prototype.String }

func (m *asmMap) ValuePrototype(string) datamodel.NodePrototype { return basicnode.Prototype.Any }

// asmList assembles the items of a list.
type asmList treeNode

func (l *asmList) AssembleValue() datamodel.NodeAssembler {
	l.kids = append(l.kids, treeNode{})
	return (*asmNode)(&l.kids[len(l.kids)-1])
}

func (l *asmList) Finish() error { return nil }

func (l *asmList) ValuePrototype(int64) datamodel.NodePrototype { return basicnode.Prototype.Any }

// asmKey assembles a map key, which must be a string.
type asmKey string

var errKeyKind = errors.New("map key is not a string")

func (k *asmKey) BeginMap(int64) (datamodel.MapAssembler, error)   { return nil, errKeyKind }
func (k *asmKey) BeginList(int64) (datamodel.ListAssembler, error) { return nil, errKeyKind }
func (k *asmKey) AssignNull() error                                { return errKeyKind }
func (k *asmKey) AssignBool(bool) error                            { return errKeyKind }
func (k *asmKey) AssignInt(int64) error                            { return errKeyKind }
func (k *asmKey) AssignFloat(float64) error                        { return errKeyKind }
func (k *asmKey) AssignString(s string) error                      { *k = asmKey(s); return nil }
func (k *asmKey) AssignBytes([]byte) error                         { return errKeyKind }
func (k *asmKey) AssignLink(datamodel.Link) error                  { return errKeyKind }
func (k *asmKey) Prototype() datamodel.NodePrototype               { return basicnode.Prototype.String }

func (k *asmKey) AssignNode(n datamodel.Node) error {
	s, err := n.AsString()
	if err != nil {
		return errKeyKind
	}
	*k = asmKey(s)
	return nil
}
