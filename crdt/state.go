package crdt

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
)

// ErrInvalidState is wrapped by every error DecodeState returns and by Merge's
// refusals of a block that does not fit the state.
var ErrInvalidState = errors.New("crdt: invalid state")

// State is the merged state of one document: what every replica that merged the same
// set of blocks holds, whatever the order it merged them in. A State is not safe for
// concurrent use; Clone one to keep a snapshot. Merge replaces Heads with a new
// slice rather than modifying it, so a Heads slice read earlier stays valid.
type State struct {
	Schema  cid.Cid               // the collection's schema ID
	Doc     cid.Cid               // the document ID (its genesis CID)
	Heads   []cid.Cid             // the merged blocks no merged block names in prev, sorted by bytes
	Height  uint64                // max height among Heads (and among all merged blocks)
	Deleted bool                  // some merged block has Delete
	Fields  map[string]FieldState // by field name; only fields some merged block set or added to
}

// FieldState is the merged state of one field.
//
// A last-writer-wins field holds the assignment of the block with the greatest
// (Height, Block bytes) among the merged blocks that set it; a field whose winning
// assignment cleared it stays in State.Fields with a nil Value, so that a concurrent
// assignment that loses cannot bring it back.
//
// A counter field (Counter true) appears once a merged block adds to it, even 0; its
// Value is the sum of every merged increment: an int64 for an Int counter (summed
// with wrapping arithmetic, so that concurrent increments that overflow together
// give the same value in any order; NewChange refuses a single change that would
// overflow), a float64 for a Float counter. A Float counter keeps the
// exact sum of its float64 increments and Value is that sum rounded to the nearest
// float64, so the result does not depend on the order of the additions. NewChange
// refuses a single change whose sum would be beyond the float64 range, but
// concurrent increments can still take it there once merged: it then reads as
// ±math.MaxFloat64, while the exact sum is kept, so later increments count from
// it (the same value on every replica, whatever the order).
//
// An add-wins set field (AddWinsSet true) appears once a merged block adds to or
// removes from it; its Value is an []any of its elements in CompareValues order,
// empty (not nil) when it holds none. Per element it keeps the tags (block CIDs)
// of the merged blocks that added it and no merged block removed, and every tag a
// merged block removed (see the package doc, "Add-wins sets").
//
// FieldStates are values: copying one is safe (its exact sum and Value are never
// mutated).
type FieldState struct {
	Value      any     // canonical value; nil if the field was cleared
	Height     uint64  // LWW: height of the winning block; 0 for a counter or a set
	Block      cid.Cid // LWW: CID of the winning block; cid.Undef for a counter or a set
	Counter    bool    // the field is a counter
	AddWinsSet bool    // the field is an add-wins set

	exact *fixed    // Float counter: the exact sum of the increments
	items []setItem // add-wins set: its elements with their tags, in CompareValues order
}

func stateInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidState}, args...)...)
}

// NewState returns the state of a document that has merged only its genesis block,
// which must be a genesis block with CID set (by Encode or Decode). Errors wrap
// ErrInvalidState.
func NewState(genesis *Block) (*State, error) {
	if !genesis.IsGenesis() {
		return nil, stateInvalid("block %s is not a genesis block", genesis.CID)
	}
	if !genesis.CID.Defined() {
		return nil, stateInvalid("genesis block has no CID (not encoded)")
	}
	st := &State{
		Schema: genesis.Schema,
		Doc:    genesis.CID,
		Fields: make(map[string]FieldState, len(genesis.Set)+len(genesis.Add)),
	}
	if err := st.apply(genesis); err != nil {
		return nil, err
	}
	return st, nil
}

// Merge merges b into st. The caller guarantees that every ancestor of b has been
// merged into st and b itself has not (Merge refuses b if it is one of st's heads,
// the only case it can detect). Merge refuses, leaving st unchanged, a block of
// another document or schema, a genesis block, a block without CID, and a block whose
// fields do not fit what st holds (a set on a counter, an increment of another number
// type, a set addition to a last-writer-wins field); such errors wrap ErrInvalidState.
//
// Rules: a last-writer-wins field takes the assignment of the block with the greatest
// (height, CID bytes); a counter adds every block's increment once; an add-wins set
// tags each added element with the block's CID and removes the tags a removal
// names; once a block with
// Delete is merged, st stays Deleted (later blocks still update the fields, so the
// result does not depend on order); Heads become (Heads \ b.Prev) ∪ {b.CID}.
func (st *State) Merge(b *Block) error {
	switch {
	case !b.CID.Defined():
		return stateInvalid("block has no CID (not encoded)")
	case b.IsGenesis():
		return stateInvalid("genesis block %s cannot be merged into document %s", b.CID, st.Doc)
	case !b.Doc.Equals(st.Doc):
		return stateInvalid("block %s belongs to document %s, not %s", b.CID, b.Doc, st.Doc)
	case !b.Schema.Equals(st.Schema):
		return stateInvalid("block %s has schema %s, not %s", b.CID, b.Schema, st.Schema)
	}
	return st.apply(b)
}

// apply merges b after checking it fits; st is unchanged on error.
func (st *State) apply(b *Block) error {
	if _, found := slices.BinarySearchFunc(st.Heads, b.CID, compareCIDs); found {
		return stateInvalid("block %s already merged", b.CID)
	}
	if st.Fields == nil {
		st.Fields = make(map[string]FieldState, len(b.Set)+len(b.Add))
	}
	for k := range b.Set {
		if fs, ok := st.Fields[k]; ok && (fs.Counter || fs.AddWinsSet) {
			return stateInvalid("field %q is a counter or a set; block %s sets it", k, b.CID)
		}
	}
	for _, fields := range [][]string{sortedKeys(b.SAdd), sortedKeys(b.SRem)} {
		for _, k := range fields {
			if fs, ok := st.Fields[k]; ok && !fs.AddWinsSet {
				return stateInvalid("field %q is not a set; block %s adds to or removes from it", k, b.CID)
			}
		}
	}
	for k, v := range b.Add {
		switch v.(type) {
		case int64, float64:
		default:
			return stateInvalid("field %q: increment of type %T", k, v)
		}
		fs, ok := st.Fields[k]
		if !ok {
			continue
		}
		if !fs.Counter {
			return stateInvalid("field %q is not a counter; block %s adds to it", k, b.CID)
		}
		if !sameNumberType(fs.Value, v) {
			return stateInvalid("field %q: counter of %T, block %s adds a %T", k, fs.Value, b.CID, v)
		}
	}

	for k, v := range b.Set {
		fs, ok := st.Fields[k]
		if ok && !wins(b.Height, b.CID, fs.Height, fs.Block) {
			continue
		}
		st.Fields[k] = FieldState{Value: v, Height: b.Height, Block: b.CID}
	}
	for k, v := range b.Add {
		fs := st.Fields[k]
		fs.Counter = true
		switch v := v.(type) {
		case int64:
			sum, _ := fs.Value.(int64)
			fs.Value = sum + v // wraps: addition modulo 2^64 is order-free
		case float64:
			fs.exact = fs.exact.add(v)
			fs.Value = fs.exact.float64()
		}
		st.Fields[k] = fs
	}
	for k, adds := range b.SAdd {
		st.Fields[k] = mergeSetOps(st.Fields[k], b.CID, adds, b.SRem[k])
	}
	for k, rems := range b.SRem {
		if _, added := b.SAdd[k]; !added {
			st.Fields[k] = mergeSetOps(st.Fields[k], b.CID, nil, rems)
		}
	}

	heads := make([]cid.Cid, 0, len(st.Heads)+1)
	for _, h := range st.Heads {
		if _, parent := slices.BinarySearchFunc(b.Prev, h, compareCIDs); !parent {
			heads = append(heads, h)
		}
	}
	i, _ := slices.BinarySearchFunc(heads, b.CID, compareCIDs)
	st.Heads = slices.Insert(heads, i, b.CID)
	st.Height = max(st.Height, b.Height)
	st.Deleted = st.Deleted || b.Delete
	return nil
}

// wins reports whether (h1, c1) is greater than (h2, c2): by height, then CID bytes.
func wins(h1 uint64, c1 cid.Cid, h2 uint64, c2 cid.Cid) bool {
	if h1 != h2 {
		return h1 > h2
	}
	return c1.KeyString() > c2.KeyString()
}

// Value returns the canonical value of the field called name, and false if the field
// is absent or cleared. A counter is absent until a merged block adds to it.
func (st *State) Value(name string) (any, bool) {
	fs, ok := st.Fields[name]
	if !ok || fs.Value == nil {
		return nil, false
	}
	return fs.Value, true
}

// Stored returns what st holds for the field whose key is key, as ScanState
// reads it: its value, Null when cleared, nil when st has no entry for it.
func (st *State) Stored(key string) any {
	fs, ok := st.Fields[key]
	switch {
	case !ok:
		return nil
	case fs.Value == nil:
		return Null
	}
	return fs.Value
}

// Values returns every present (non-nil) field value, canonical, in a new map owned
// by the caller.
func (st *State) Values() map[string]any {
	m := make(map[string]any, len(st.Fields))
	for k, fs := range st.Fields {
		if fs.Value != nil {
			m[k] = fs.Value
		}
	}
	return m
}

// Clone returns a deep copy of st that shares nothing mutable with it.
func (st *State) Clone() *State {
	c := *st
	c.Heads = slices.Clone(st.Heads)
	c.Fields = make(map[string]FieldState, len(st.Fields))
	for k, fs := range st.Fields {
		fs.items = slices.Clone(fs.items) // Merge changes a set's items in place
		c.Fields[k] = fs
	}
	return &c
}

// HeadsHash returns the SHA-256 of the concatenated bytes of heads sorted by bytes;
// heads may be given in any order and is not modified. Two replicas of a document
// with the same heads have the same hash.
func HeadsHash(heads []cid.Cid) [32]byte {
	if !slices.IsSortedFunc(heads, compareCIDs) {
		heads = slices.Clone(heads)
		sortCIDs(heads)
	}
	h := sha256.New()
	for _, c := range heads {
		h.Write([]byte(c.KeyString()))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

func sameNumberType(a, b any) bool {
	switch a.(type) {
	case int64:
		_, ok := b.(int64)
		return ok
	case float64:
		_, ok := b.(float64)
		return ok
	}
	return false
}
