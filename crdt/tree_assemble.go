package crdt

import (
	"bytes"
	"errors"
	"math"

	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// The dag-cbor decoder assembles a treeNode tree through the assemblers below.
// It still enforces DecodeOptions' limits on depth and allocations and rejects
// duplicate keys; blockFromNode and stateFromNode then read the tree.

// decodeTree decodes dag-cbor data with opts into a treeNode tree.
func decodeTree(opts dagcbor.DecodeOptions, data []byte) (*treeNode, error) {
	var root treeNode
	if err := opts.Decode((*asmNode)(&root), bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return &root, nil
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
// int64, which become an Int whose AsInt fails.
func (a *asmNode) AssignNode(n datamodel.Node) error {
	if _, ok := n.(datamodel.UintNode); ok {
		a.kind, a.b = datamodel.Kind_Int, true
		return nil
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
