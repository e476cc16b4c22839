package crdt

import (
	"bytes"
	"fmt"

	"github.com/ipld/go-ipld-prime/datamodel"
)

// The tests' oracle of State.appendCBOR and Block.appendCBOR: the data-model
// tree of a state or block, maps in dag-cbor order, whose encoding
// encodeCheck compares with go-ipld-prime's. TestMain has every state and
// block the package encodes compared with it.

// encode returns the encoding of the tree rooted at n (see appendTo) in a
// slice of exactly its length, after encodeCheck, when set, has compared it
// with go-ipld-prime's.
func (n *treeNode) encode() ([]byte, error) {
	size, err := n.encodedLen()
	if err != nil {
		return nil, err
	}
	data := n.appendCBOR(make([]byte, 0, size))
	if encodeCheck != nil {
		encodeCheck(n, data)
	}
	return data, nil
}

// encodeCheck, when not nil, is called by encode with each tree and its
// encoding. TestMain (oracle_node_test.go) sets it to compare them with
// go-ipld-prime's encoder, except when benchmarks run.
var encodeCheck func(n *treeNode, data []byte)

// checkStateEncoding returns an error if data is not the encoding of st's tree.
func checkStateEncoding(st *State, data []byte) error {
	return checkTreeEncoding("state", stateTree(st), data)
}

// checkBlockEncoding returns an error if data is not the encoding of b's tree.
func checkBlockEncoding(b *Block, signed bool, data []byte) error {
	return checkTreeEncoding("block", blockTree(b, signed), data)
}

// checkTreeEncoding returns an error if data is not the encoding of tree, that
// of a value of the kind what.
func checkTreeEncoding(what string, tree *treeNode, data []byte) error {
	want, err := tree.encode()
	if err != nil {
		return err
	}
	if !bytes.Equal(want, data) {
		return fmt.Errorf("%s encoded as %x, its tree as %x", what, data, want)
	}
	return nil
}

// blockTree returns the data-model tree of a validated block, maps in
// dag-cbor order, with "sg" if signed.
func blockTree(b *Block, signed bool) *treeNode {
	keys := b.keys(signed)
	var root treeNode
	vals := root.setMap(keys)
	for i, k := range keys {
		v := &vals[i]
		switch k {
		case keyAdd:
			v.setScalarMap(b.Add)
		case keyDoc:
			v.setLink(b.Doc)
		case keySet:
			v.setScalarMap(b.Set)
		case keyPrev:
			v.setLinks(b.Prev)
		case keyPolicy:
			v.setLinks(b.Policy)
		case keyAuthorPrev:
			v.setLink(b.AuthorPrev)
		case keySAdd:
			v.setAddMap(b.SAdd)
		case keySRem:
			v.setRemMap(b.SRem)
		case keyNonce:
			v.setBytes(b.Nonce)
		case keyAuthor:
			v.setBytes(b.Author)
		case keySig:
			v.setBytes(b.Sig)
		case keyProof:
			v.setBytes(b.Proof)
		case keyDelete:
			v.setBool(true)
		case keyHeight:
			v.setInt(int64(b.Height))
		case keySchema:
			v.setLink(b.Schema)
		case keyVersion:
			v.setLink(b.Version)
		case keyTxn:
			v.setTxn(b.Txn)
		}
	}
	return &root
}

// stateTree returns the data-model tree of a validated state.
func stateTree(st *State) *treeNode {
	var root treeNode
	vals := root.setMap(stateKeys)
	vals[0].setLink(st.Doc)
	vals[1].setLinks(st.Heads)
	names := mapKeysInOrder(st.Fields)
	entries := vals[2].setMap(names)
	for i, k := range names {
		setFieldEntry(&entries[i], st.Fields[k])
	}
	vals[3].setInt(int64(st.Height))
	vals[4].setLink(st.Schema)
	vals[5].setBool(st.Deleted)
	return &root
}

// setFieldEntry sets n to the entry of a validated field state.
func setFieldEntry(n *treeNode, fs FieldState) {
	n.kind = datamodel.Kind_Map
	switch {
	case fs.AddWinsSet:
		setFieldEntryOfSet(n, fs)
		return
	case !fs.Counter:
		n.keys, n.kids = lwwEntryKeys, make([]treeNode, len(lwwEntryKeys))
		n.kids[0].setLink(fs.Block)
		n.kids[1].setInt(int64(fs.Height))
		n.kids[2].setScalar(fs.Value)
		return
	}
	if i, ok := fs.Value.(int64); ok {
		n.keys, n.kids = intSumKeys, make([]treeNode, len(intSumKeys))
		n.kids[0].setInt(i)
		return
	}
	m, e := fs.exact.parts()
	n.keys, n.kids = floatSumKeys, make([]treeNode, len(floatSumKeys))
	n.kids[0].setInt(e)
	n.kids[1].setBytes(m)
}
