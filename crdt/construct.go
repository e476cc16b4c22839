package crdt

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
)

// NewGenesis builds and encodes the first block of a new document of schema s: it
// sets the fields in set, adds the increments in add and carries nonce (random,
// MinNonceLen to MaxNonceLen bytes, so that two equal creates make two documents).
// The maps are keyed by field key (Field.ID) and the block names s's version.
// Values must already be canonical (see Field.Normalize); the maps and nonce are
// copied. For an add-wins set field, set gives its elements: the block adds them.
// The block is checked with s.Check and signed by key (see Sign), or left
// unsigned for SignBatch if key is nil; errors wrap ErrInvalidBlock.
func NewGenesis(s *Schema, set, add map[string]any, nonce []byte, key ed25519.PrivateKey) (*Block, error) {
	return NewGenesisPart(s, set, add, nonce, nil, key)
}

// NewGenesisPart is NewGenesis for a block that is part txn of a transaction
// (nil: none). txn is not copied.
func NewGenesisPart(s *Schema, set, add map[string]any, nonce []byte, txn *TxnPart, key ed25519.PrivateKey) (*Block, error) {
	b := &Block{
		Txn:     txn,
		Schema:  s.ID,
		Version: s.blockVersion(),
		Height:  1,
		Set:     cloneMap(set),
		Add:     cloneMap(add),
		Nonce:   slices.Clone(nonce),
	}
	splitSets(s, nil, b)
	if err := finish(s, b, key); err != nil {
		return nil, err
	}
	return b, nil
}

// NewChange builds and encodes a change to the document whose merged state is st:
// it builds on st.Heads at height st.Height+1, sets the fields in set, adds the
// increments in add and, if del, deletes the document. A change with increments
// carries nonce, which the caller draws at random for each change (MinNonceLen to
// MaxNonceLen bytes), so that two replicas making the same increment on the same
// heads make two blocks and both count; a change without increments takes a nil
// nonce. The maps are keyed by field key (Field.ID) and the block names s's
// version. For an add-wins set field, set gives the set's whole new content
// (elements sorted and distinct, as Normalize makes them; nil empties it): the
// change adds the elements st lacks and removes, naming all their live tags, the
// elements st has and the content lacks. A change that names a set field may be
// given a nonce whether or not it turns out to add an element; it carries one
// only if it does (or has increments). Values must already be canonical; the
// maps and nonce are copied. The
// block is checked with s.Check and signed by key (see Sign), or left unsigned
// for SignBatch if key is nil; errors wrap ErrInvalidBlock, except
// that an increment that would take an Int counter's value in st beyond the int64
// range, or a Float counter's beyond the float64 range, is refused with a
// *FieldError. (Increments made concurrently on other replicas can still
// overflow together once merged: see FieldState.)
func NewChange(s *Schema, st *State, set, add map[string]any, del bool, nonce []byte, key ed25519.PrivateKey) (*Block, error) {
	return NewChangePart(s, st, set, add, del, nonce, nil, key)
}

// NewChangePart is NewChange for a block that is part txn of a transaction
// (nil: none). With txn a seal (Parts set), the change may be empty. txn is
// not copied.
func NewChangePart(s *Schema, st *State, set, add map[string]any, del bool, nonce []byte, txn *TxnPart, key ed25519.PrivateKey) (*Block, error) {
	for name, v := range add {
		if err := checkAdd(s, st, name, v); err != nil {
			return nil, err
		}
	}
	b := &Block{
		Schema:  s.ID,
		Version: s.blockVersion(),
		Doc:     st.Doc,
		Prev:    slices.Clone(st.Heads),
		Height:  st.Height + 1,
		Set:     cloneMap(set),
		Add:     cloneMap(add),
		Delete:  del,
		Nonce:   slices.Clone(nonce),
		Txn:     txn,
	}
	if !st.Schema.Equals(s.ID) {
		return nil, invalid("state of schema %s, not %s (%s)", st.Schema, s.ID, s.Name)
	}
	if splitSets(s, st, b) && len(b.Add) == 0 && len(b.SAdd) == 0 {
		b.Nonce = nil
	}
	if len(b.Add) > 0 && len(b.Nonce) == 0 {
		return nil, invalid("a change with add needs a nonce")
	}
	if err := finish(s, b, key); err != nil {
		return nil, err
	}
	return b, nil
}

// checkAdd refuses an increment v of the counter whose key is key whose sum
// with the value in st is beyond int64 (an Int counter) or beyond the float64
// range (a Float counter, summed with its exact sum in st). A Float counter
// already beyond that range, as concurrent increments can take it, takes
// increments that bring its sum nearer to the range, not those that take it
// further. Other increments are left to s.Check.
func checkAdd(s *Schema, st *State, key string, v any) error {
	f, known := s.FieldByKey(key)
	if !known {
		return nil
	}
	switch d := v.(type) {
	case int64:
		if f.Kind != KindInt {
			return nil
		}
		cur, _ := st.Fields[key].Value.(int64)
		if (d > 0 && cur > math.MaxInt64-d) || (d < 0 && cur < math.MinInt64-d) {
			return f.refuse(fmt.Sprintf("adding %d to the counter's %d would go beyond the Int range", d, cur))
		}
	case float64:
		if f.Kind != KindFloat || math.IsNaN(d) || math.IsInf(d, 0) {
			return nil
		}
		fs := st.Fields[key]
		sum := fs.exact.add(d)
		if _, beyond := sum.round(); !beyond {
			return nil
		}
		cur, _ := fs.Value.(float64)
		add := strconv.FormatFloat(d, 'g', -1, 64)
		if _, was := fs.exact.round(); was {
			if (*big.Int)(sum).CmpAbs((*big.Int)(fs.exact)) <= 0 {
				return nil
			}
			return f.refuse(fmt.Sprintf("the counter's sum is already beyond the Float range (it reads %s); adding %s would take it further",
				strconv.FormatFloat(cur, 'g', -1, 64), add))
		}
		return f.refuse(fmt.Sprintf("adding %s to the counter's %s would go beyond the Float range",
			add, strconv.FormatFloat(cur, 'g', -1, 64)))
	}
	return nil
}

// splitSets moves the add-wins set fields of b.Set into b.SAdd and b.SRem, as
// the changes that make each set in st (nil for genesis) hold the given content,
// and reports whether b.Set named one. Other values are left to s.Check.
func splitSets(s *Schema, st *State, b *Block) bool {
	named := false
	for key, v := range b.Set {
		content, isList := v.([]any)
		if f, ok := s.FieldByKey(key); !ok || !f.AddWinsSet || (v != nil && !isList) {
			continue
		}
		named = true
		delete(b.Set, key)
		adds, rems := setDiff(st, key, content)
		if len(adds) > 0 {
			if b.SAdd == nil {
				b.SAdd = map[string][]any{}
			}
			b.SAdd[key] = adds
		}
		if len(rems) > 0 {
			if b.SRem == nil {
				b.SRem = map[string][]Removal{}
			}
			b.SRem[key] = rems
		}
	}
	if len(b.Set) == 0 {
		b.Set = nil
	}
	return named
}

// finish checks b against s and signs it with key; a nil key leaves b
// unsigned, for SignBatch.
func finish(s *Schema, b *Block, key ed25519.PrivateKey) error {
	if err := s.Check(b); err != nil || key == nil {
		return err
	}
	return b.Sign(key)
}

// cloneMap copies m; an empty or nil map gives nil.
func cloneMap(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
