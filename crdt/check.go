package crdt

import "fmt"

// Check validates b against schema version s, after Decode (or Encode) has
// checked its structure: b belongs to s's collection and names s's version
// (Block.VersionID is s.VersionID); the set, add, sadd and srem maps are keyed
// by field key (Field.ID); every field it sets is a last-writer-wins field of s
// (not a counter, a set or a derived field) and its value is canonical for the
// field's kind (see Field.Normalize; Check accepts only the canonical Go types and
// forms; a relation must be a document ID, of any collection: which collection a
// document belongs to is not in its ID); every field it adds to is a counter of s and
// the increment is an int64 (Int counter) or a finite float64 (Float counter);
// every field in sadd or srem is an add-wins set of s and its elements canonical
// items of it; a
// genesis block sets every Required non-counter field to a non-nil value and no block
// clears a Required field. Fields are checked in name order, so the error is
// deterministic. Errors wrap ErrInvalidBlock and, for a field, the *FieldError.
// Check is safe for concurrent use.
func (s *Schema) Check(b *Block) error {
	if !b.Schema.Equals(s.ID) {
		return invalid("schema %s, want %s (%s)", b.Schema, s.ID, s.Name)
	}
	if !b.VersionID().Equals(s.VersionID()) {
		return invalid("version %s, want %s (%s)", b.VersionID(), s.VersionID(), s.Name)
	}
	err := firstError(b.Set, func(k string, v any) error {
		f, ok := s.FieldByKey(k)
		switch {
		case !ok:
			return fieldInvalid(&FieldError{Field: k, Reason: "unknown field"})
		case f.Counter:
			return fieldInvalid(f.refuse("counter field takes add, not set"))
		case f.AddWinsSet:
			return fieldInvalid(f.refuse("set field takes sadd and srem, not set"))
		case f.Derived():
			return fieldInvalid(f.refuse(fmt.Sprintf("derived from the relations to %s; it holds no value", f.Relation)))
		case v == nil && f.Required:
			return fieldInvalid(f.refuse("required"))
		}
		if fe := f.checkCanonical(v); fe != nil {
			return fieldInvalid(fe)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = firstError(b.Add, func(k string, v any) error {
		f, ok := s.FieldByKey(k)
		if !ok {
			return fieldInvalid(&FieldError{Field: k, Reason: "unknown field"})
		}
		if !f.Counter {
			return fieldInvalid(f.refuse("not a counter field; it takes set, not add"))
		}
		if v == nil {
			return fieldInvalid(f.mismatch(v))
		}
		if fe := f.checkCanonical(v); fe != nil {
			return fieldInvalid(fe)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range sortedKeys(b.SAdd) {
		if err := checkSetOpElements(s, k, b.SAdd[k], func(v any) any { return v }); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(b.SRem) {
		if err := checkSetOpElements(s, k, b.SRem[k], func(r Removal) any { return r.Value }); err != nil {
			return err
		}
	}
	if b.IsGenesis() {
		for _, f := range s.Fields {
			if f.Required && !f.Counter && b.Set[f.ID()] == nil {
				return fieldInvalid(f.refuse("required"))
			}
		}
	}
	return nil
}

// checkSetOpElements checks the elements a block adds to or removes from the
// field whose key is k: it must be an add-wins set of s and each element fit it
// (see Field.checkElement).
func checkSetOpElements[E any](s *Schema, k string, list []E, value func(E) any) error {
	f, ok := s.FieldByKey(k)
	switch {
	case !ok:
		return fieldInvalid(&FieldError{Field: k, Reason: "unknown field"})
	case !f.AddWinsSet:
		return fieldInvalid(f.refuse("not a set field; it takes set, not sadd or srem"))
	}
	for _, e := range list {
		if fe := f.checkElement(value(e)); fe != nil {
			return fieldInvalid(fe)
		}
	}
	return nil
}

func fieldInvalid(fe *FieldError) error {
	return fmt.Errorf("%w: %w", ErrInvalidBlock, fe)
}

// AsParent returns what CheckParents reads of b as a parent: its CID,
// document, schema and height, without its bytes and fields, which may take a
// MiB. A caller that checks many blocks naming the same parent keeps this.
func (b *Block) AsParent() *Block {
	return &Block{CID: b.CID, Doc: b.Doc, Schema: b.Schema, Height: b.Height}
}

// CheckParents validates b against its parents, given in the order of b.Prev with
// their CIDs set: each parent is the block b.Prev names, belongs to b's document
// (it is the genesis b.Doc names, or its Doc is b.Doc) and to b's schema, and
// b.Height is 1 + the largest parent height. A genesis block has no parents. Errors
// wrap ErrInvalidBlock.
func CheckParents(b *Block, parents []*Block) error {
	if len(parents) != len(b.Prev) {
		return invalid("%d parents given for %d prev", len(parents), len(b.Prev))
	}
	if b.IsGenesis() {
		if b.Height != 1 {
			return invalid("genesis block has height %d, want 1", b.Height)
		}
		return nil
	}
	var maxHeight uint64
	for i, p := range parents {
		if p == nil {
			return invalid("parent %d missing", i)
		}
		if !p.CID.Equals(b.Prev[i]) {
			return invalid("parent %d is %s, want prev[%d] %s", i, p.CID, i, b.Prev[i])
		}
		if !p.DocID().Equals(b.Doc) {
			return invalid("parent %s belongs to document %s, not %s", p.CID, p.DocID(), b.Doc)
		}
		if !p.Schema.Equals(b.Schema) {
			return invalid("parent %s has schema %s, not %s", p.CID, p.Schema, b.Schema)
		}
		maxHeight = max(maxHeight, p.Height)
	}
	if b.Height != maxHeight+1 {
		return invalid("height %d, want %d (1 + max parent height)", b.Height, maxHeight+1)
	}
	return nil
}
