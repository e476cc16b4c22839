package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/datamodel"
)

// State map keys. A state is a dag-cbor map
//
//	{"schema": link, "doc": link, "heads": [link, …], "height": int, "deleted": bool,
//	 "fields": {name: entry, …}}
//
// where an entry is {"v": value, "h": height, "b": link} for a last-writer-wins field
// (value a scalar or a list of scalars), {"i": int} for an Int counter,
// {"f": bytes, "e": int} for a Float counter (its exact sum f × 2^e, see
// fixed.parts) and {"s": [[element, [live tag, …], [removed tag, …]], …]} for an
// add-wins set (elements in CompareValues order, tags sorted by bytes). Every key
// is always present; maps are sorted by dag-cbor.
const (
	keyHeads   = "heads"
	keyDeleted = "deleted"
	keyFields  = "fields"
	keyValue   = "v"
	keyHeight1 = "h"
	keyBlock   = "b"
	keyIntSum  = "i"
	keyFltSum  = "f"
	keyFltExp  = "e"
	keySetElts = "s"
)

// Encode returns st's canonical dag-cbor encoding: two states that merged the same
// blocks, in any order, encode to identical bytes. It fails only if st holds values
// that no merge produces.
func (st *State) Encode() ([]byte, error) {
	if err := st.validate(); err != nil {
		return nil, err
	}
	return st.marshal()
}

func (st *State) marshal() ([]byte, error) {
	data, err := encodeExact(st.appendCBOR)
	if err != nil {
		return nil, fmt.Errorf("crdt: encoding state: %w", err)
	}
	if encodeStateCheck != nil {
		encodeStateCheck(st, data)
	}
	return data, nil
}

// encodeStateCheck, when not nil, is called by marshal with each state and its
// encoding. The package's tests set it (TestMain in oracle_node_test.go) to
// compare it with the encoding of the state's data-model tree, which they
// compare with go-ipld-prime's encoder; it is nil otherwise.
var encodeStateCheck func(st *State, data []byte)

// Key lists of the maps of a state, in dag-cbor order.
var (
	stateKeys    = []string{keyDoc, keyHeads, keyFields, keyHeight, keySchema, keyDeleted}
	lwwEntryKeys = []string{keyBlock, keyHeight1, keyValue}
	intSumKeys   = []string{keyIntSum}
	floatSumKeys = []string{keyFltExp, keyFltSum}
	setEntryKeys = []string{keySetElts}
)

// appendCBOR appends the canonical dag-cbor encoding of a validated state to
// dst, written straight from the state: the bytes that encoding its
// data-model tree (maps in dag-cbor order) gives. It fails only on an
// undefined link, which no validated state holds.
func (st *State) appendCBOR(dst []byte) ([]byte, error) {
	dst, err := appendDefinedLink(appendText(appendHead(dst, 5, uint64(len(stateKeys))), keyDoc), st.Doc)
	if err != nil {
		return nil, err
	}
	if dst, err = appendLinks(appendText(dst, keyHeads), st.Heads); err != nil {
		return nil, err
	}
	names := mapKeysInOrder(st.Fields)
	dst = appendHead(appendText(dst, keyFields), 5, uint64(len(names)))
	for _, k := range names {
		if dst, err = appendFieldEntry(appendText(dst, k), st.Fields[k]); err != nil {
			return nil, err
		}
	}
	dst = appendInt(appendText(dst, keyHeight), int64(st.Height))
	if dst, err = appendDefinedLink(appendText(dst, keySchema), st.Schema); err != nil {
		return nil, err
	}
	return appendBool(appendText(dst, keyDeleted), st.Deleted), nil
}

// appendFieldEntry appends the entry of a validated field state: a map of its
// value and winning block, of its sum, or of its set's elements.
func appendFieldEntry(dst []byte, fs FieldState) ([]byte, error) {
	var n treeNode
	switch {
	case fs.AddWinsSet:
		setFieldEntryOfSet(&n, fs)
		return n.appendTo(dst)
	case !fs.Counter:
		dst, err := appendDefinedLink(appendText(appendHead(dst, 5, uint64(len(lwwEntryKeys))), keyBlock), fs.Block)
		if err != nil {
			return nil, err
		}
		dst = appendInt(appendText(dst, keyHeight1), int64(fs.Height))
		n.setScalar(fs.Value)
		return n.appendTo(appendText(dst, keyValue))
	case fs.Value == nil:
		return nil, errors.New("counter without value")
	}
	if i, ok := fs.Value.(int64); ok {
		dst = appendHead(dst, 5, uint64(len(intSumKeys)))
		return appendInt(appendText(dst, keyIntSum), i), nil
	}
	m, e := fs.exact.parts()
	dst = appendHead(dst, 5, uint64(len(floatSumKeys)))
	dst = appendInt(appendText(dst, keyFltExp), e)
	return appendBytes(appendText(dst, keyFltSum), m), nil
}

// validate checks what marshal relies on and DecodeState promises.
func (st *State) validate() error {
	switch {
	case !checkLink(st.Schema):
		return stateInvalid("schema %s is not a CIDv1 dag-cbor sha2-256", st.Schema)
	case !checkLink(st.Doc):
		return stateInvalid("doc %s is not a CIDv1 dag-cbor sha2-256", st.Doc)
	case len(st.Heads) == 0:
		return stateInvalid("no heads")
	case st.Height < 1 || st.Height > math.MaxInt64:
		return stateInvalid("height %d out of range", st.Height)
	}
	for i, h := range st.Heads {
		if !checkLink(h) {
			return stateInvalid("heads[%d] %s is not a CIDv1 dag-cbor sha2-256", i, h)
		}
		if i > 0 && compareCIDs(st.Heads[i-1], h) >= 0 {
			return stateInvalid("heads not sorted or repeated")
		}
	}
	for k, fs := range st.Fields {
		if k == "" || len(k) > MaxFieldNameLen || !utf8.ValidString(k) {
			return stateInvalid("bad field name %.32q", k)
		}
		if err := fs.validate(st.Height); err != nil {
			return stateInvalid("field %q: %v", k, err)
		}
	}
	return nil
}

func (fs FieldState) validate(maxHeight uint64) error {
	if fs.AddWinsSet {
		return fs.validateSet()
	}
	if fs.items != nil {
		return fmt.Errorf("field with set elements is not a set")
	}
	if fs.Counter {
		switch fs.Value.(type) {
		case int64:
			if fs.exact != nil {
				return fmt.Errorf("Int counter with a Float sum")
			}
		case float64:
			if fs.exact == nil {
				return fmt.Errorf("Float counter without its exact sum")
			}
		default:
			return fmt.Errorf("counter value of type %T", fs.Value)
		}
		if fs.Height != 0 || fs.Block.Defined() {
			return fmt.Errorf("counter with a winning block")
		}
		return nil
	}
	if fs.exact != nil {
		return fmt.Errorf("LWW field with a sum")
	}
	if err := checkScalar(fs.Value, true); err != nil {
		return err
	}
	if fs.Height < 1 || fs.Height > maxHeight {
		return fmt.Errorf("height %d outside 1..%d", fs.Height, maxHeight)
	}
	if !checkLink(fs.Block) {
		return fmt.Errorf("block %s is not a CIDv1 dag-cbor sha2-256", fs.Block)
	}
	return nil
}

// DecodeState parses a state encoded by State.Encode. It checks the encoding is
// canonical and the content well formed (links, sorted heads, field entries), not
// that the state is reachable by merging blocks. Errors wrap ErrInvalidState.
func DecodeState(data []byte) (*State, error) {
	st, err := decodeState(data)
	if err != nil {
		return nil, err
	}
	canon, err := st.marshal()
	if err != nil {
		return nil, stateInvalid("%v", err)
	}
	if !bytes.Equal(canon, data) {
		return nil, stateInvalid("not in canonical form")
	}
	return st, nil
}

// DecodeStoredState parses a state read back from the node's own store, which
// State.Encode made: it checks the content as DecodeState does but does not
// re-encode it to prove the encoding canonical. Never use it on bytes from outside.
func DecodeStoredState(data []byte) (*State, error) {
	return decodeState(data)
}

// stateLimits bound what decodeTree may build from a state of size bytes.
func stateLimits(size int) treeLimits {
	return treeLimits{
		maxDepth: 6, // state map, fields map, field entry, set elements, element, tags
		budget:   8*int64(size) + 1024,
	}
}

// decodeState parses data, which must be canonical dag-cbor, and checks the
// content; not that data is what State.Encode makes of that content.
func decodeState(data []byte) (*State, error) {
	root, err := decodeTree(stateLimits(len(data)), data)
	if err != nil {
		return nil, stateInvalid("not dag-cbor: %v", err)
	}
	st, err := stateFromNode(root)
	if err != nil {
		return nil, err
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	return st, nil
}

func stateFromNode(n *treeNode) (*State, error) {
	if n.kind != datamodel.Kind_Map {
		return nil, stateInvalid("top level is a %s, want a map", n.kind)
	}
	st := &State{}
	for i, k := range n.keys {
		v := &n.kids[i]
		switch k {
		case keySchema, keyDoc:
			c, err := stateLink(k, v)
			if err != nil {
				return nil, err
			}
			if k == keySchema {
				st.Schema = c
			} else {
				st.Doc = c
			}
		case keyHeads:
			if v.kind != datamodel.Kind_List {
				return nil, stateInvalid("heads is a %s, want a list", v.kind)
			}
			st.Heads = make([]cid.Cid, len(v.kids))
			for i := range v.kids {
				c, err := linkValue(keyHeads, &v.kids[i])
				if err != nil {
					return nil, notStateLink(fmt.Sprintf("%s[%d]", keyHeads, i))
				}
				st.Heads[i] = c
			}
		case keyHeight:
			h, err := intValue(v)
			if err != nil || h < 1 {
				return nil, stateInvalid("height: want an int ≥ 1")
			}
			st.Height = uint64(h)
		case keyDeleted:
			if v.kind != datamodel.Kind_Bool {
				return nil, stateInvalid("deleted is a %s, want a bool", v.kind)
			}
			st.Deleted = v.b
		case keyFields:
			var err error
			if st.Fields, err = fieldsFromNode(v); err != nil {
				return nil, err
			}
		default:
			return nil, stateInvalid("unknown key %.32q", k)
		}
	}
	if len(n.keys) != len(stateKeys) || st.Fields == nil || st.Heads == nil {
		return nil, stateInvalid("missing keys")
	}
	return st, nil
}

// stateLink reads the link of a state named name.
func stateLink(name string, n *treeNode) (cid.Cid, error) {
	c, err := linkValue(name, n)
	if err != nil {
		return cid.Undef, notStateLink(name)
	}
	return c, nil
}

// notStateLink is the error of a state whose item name is not a link a state
// may hold.
func notStateLink(name string) error {
	return stateInvalid("%s is not a CIDv1 dag-cbor sha2-256 link", name)
}

func fieldsFromNode(n *treeNode) (map[string]FieldState, error) {
	if n.kind != datamodel.Kind_Map {
		return nil, stateInvalid("fields is a %s, want a map", n.kind)
	}
	fields := make(map[string]FieldState, min(len(n.kids), MaxFields))
	for i, k := range n.keys {
		fs, err := fieldFromNode(&n.kids[i])
		if err != nil {
			return nil, stateInvalid("field %.32q: %v", k, err)
		}
		fields[k] = fs
	}
	return fields, nil
}

// lookup returns the value of key in a map node, or nil.
func (n *treeNode) lookup(key string) *treeNode {
	for i, k := range n.keys {
		if k == key {
			return &n.kids[i]
		}
	}
	return nil
}

func fieldFromNode(n *treeNode) (FieldState, error) {
	var fs FieldState
	if n.kind != datamodel.Kind_Map {
		return fs, fmt.Errorf("is a %s, want a map", n.kind)
	}
	switch len(n.kids) {
	case 1:
		if v := n.lookup(keySetElts); v != nil {
			return setFromNode(v)
		}
		fs.Counter = true
		v := n.lookup(keyIntSum)
		if v == nil {
			return fs, fmt.Errorf("want key %q", keyIntSum)
		}
		i, err := intValue(v)
		if err != nil {
			return fs, fmt.Errorf("sum %v", err)
		}
		fs.Value = i
		return fs, nil
	case 2:
		fs.Counter = true
		v := n.lookup(keyFltSum)
		if v == nil {
			return fs, fmt.Errorf("want key %q", keyFltSum)
		}
		if v.kind != datamodel.Kind_Bytes {
			return fs, fmt.Errorf("sum is a %s, want bytes", v.kind)
		}
		m := []byte(v.str)
		if v = n.lookup(keyFltExp); v == nil {
			return fs, fmt.Errorf("want key %q", keyFltExp)
		}
		e, err := intValue(v)
		if err != nil {
			return fs, fmt.Errorf("exponent %v", err)
		}
		f, ok := fixedFromParts(m, e)
		if !ok {
			return fs, fmt.Errorf("malformed exact sum")
		}
		fs.exact = f
		fs.Value = f.float64()
		return fs, nil
	case 3:
		v := n.lookup(keyValue)
		if v == nil {
			return fs, fmt.Errorf("missing %q", keyValue)
		}
		var err error
		if fs.Value, err = valueOf(v); err != nil {
			return fs, fmt.Errorf("value %v", err)
		}
		h := n.lookup(keyHeight1)
		if h == nil {
			return fs, fmt.Errorf("missing %q", keyHeight1)
		}
		hv, err := intValue(h)
		if err != nil || hv < 1 {
			return fs, fmt.Errorf("height: want an int ≥ 1")
		}
		fs.Height = uint64(hv)
		b := n.lookup(keyBlock)
		if b == nil {
			return fs, fmt.Errorf("missing %q", keyBlock)
		}
		if fs.Block, err = linkValue(keyBlock, b); err != nil {
			return fs, fmt.Errorf("block is not a CIDv1 dag-cbor sha2-256 link")
		}
		return fs, nil
	}
	return fs, fmt.Errorf("has %d keys, want 1, 2 or 3", len(n.kids))
}
