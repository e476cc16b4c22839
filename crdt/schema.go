package crdt

import (
	"sort"
	"strconv"

	"github.com/ipfs/go-cid"
)

// Kind is the scalar type of a field.
type Kind uint8

// The field kinds a collection may use.
const (
	KindString   Kind = iota + 1 // Go string
	KindInt                      // Go int64
	KindFloat                    // Go float64, finite
	KindBoolean                  // Go bool
	KindDateTime                 // RFC 3339 text in blocks, time.Time in the API
	KindJSON                     // compact JSON text in blocks, any JSON value in the API
	KindRelation                 // a document ID of the collection Field.Relation names: its CID string
)

var kindNames = [...]string{
	KindString:   "String",
	KindInt:      "Int",
	KindFloat:    "Float",
	KindBoolean:  "Boolean",
	KindDateTime: "DateTime",
	KindJSON:     "JSON",
	KindRelation: "Relation",
}

// String returns the GraphQL name of the kind ("Int"), or "Kind(n)" for an unknown one.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// KindByName returns the scalar kind whose GraphQL name is name. KindRelation is
// not a scalar: a relation is spelled with the name of its collection.
func KindByName(name string) (Kind, bool) {
	for k, n := range kindNames[:KindRelation] {
		if n != "" && n == name {
			return Kind(k), true
		}
	}
	return 0, false
}

// Field describes one field of a collection.
//
// A list field (List) holds a list of values of Kind, one of String, Int, Float,
// Boolean and DateTime: by default it is last-writer-wins on the whole list; with
// AddWinsSet it is an add-wins set of such values (see the package doc). A
// relation (Kind KindRelation) holds the document ID of a document of the
// collection called Relation; a list of relations is the derived inverse side
// of one (see Derived) and holds nothing.
type Field struct {
	Name          string
	Kind          Kind
	Required      bool   // declared with "!": genesis must set it and no change may clear it
	Counter       bool   // declared with @crdt(type: pncounter); Kind is KindInt or KindFloat
	List          bool   // declared as a list, [Kind]
	ItemsRequired bool   // a list declared with non-null items, [Kind!]: no item is null
	AddWinsSet    bool   // a list declared with @crdt(type: set): an add-wins set, items required
	Relation      string // the collection a KindRelation field refers to

	// Key is the field's identity: the key of its entries in blocks' set, add,
	// sadd and srem maps and in State.Fields, the same in every version of the
	// collection whatever the field is called there (see the package doc). ""
	// means Name, as for every field of a collection's first version.
	Key string
	// Default is the canonical value that a document which never had the field
	// reads as (see Schema.Read); nil for none. Only later versions have one.
	Default any
}

// Derived reports whether f is the inverse side of a relation (`books: [Book]` on
// Author, derived from Book's relation to Author): no block sets it and no
// state holds it.
func (f Field) Derived() bool { return f.Kind == KindRelation && f.List }

// TypeName returns f's type as SDL spells it, without the outer "!": "Int",
// "[String!]", "Author", "[Book]".
func (f Field) TypeName() string {
	name := f.Kind.String()
	if f.Kind == KindRelation {
		name = f.Relation
	}
	if !f.List {
		return name
	}
	if f.ItemsRequired {
		name += "!"
	}
	return "[" + name + "]"
}

// ID returns the field's key: Key, or Name when Key is "".
func (f Field) ID() string {
	if f.Key == "" {
		return f.Name
	}
	return f.Key
}

// Schema is one version of a collection's definition as the merge and validation
// rules need it. Fields are sorted by name. ID is the CID of the collection's
// first (root) canonical definition (computed by internal/schema); it is the
// collection's identity on every peer, in every version. Version is the CID of
// this version's definition: cid.Undef (or ID) for the root version. Parent is
// the version this one evolves from, cid.Undef for the root. Policy is the
// collection's initial write and read policy, nil for an open collection; it
// belongs to the root definition (so the schema ID covers it) and every
// version of the collection has its root's. A Schema is immutable once built
// and safe for concurrent use.
type Schema struct {
	ID      cid.Cid
	Version cid.Cid
	Parent  cid.Cid
	Name    string
	Fields  []Field
	Policy  *Policy
}

// VersionID returns the CID of this version's definition: Version, or ID for
// the root version.
func (s *Schema) VersionID() cid.Cid {
	if s.Version.Defined() {
		return s.Version
	}
	return s.ID
}

// blockVersion returns what a block written under s carries as its version:
// cid.Undef for the root version, else s.Version.
func (s *Schema) blockVersion() cid.Cid {
	if s.Version.Defined() && !s.Version.Equals(s.ID) {
		return s.Version
	}
	return cid.Undef
}

// FieldByKey returns the field whose key (Field.ID) is key.
func (s *Schema) FieldByKey(key string) (Field, bool) {
	if f, ok := s.Field(key); ok && f.ID() == key {
		return f, true
	}
	for _, f := range s.Fields {
		if f.ID() == key {
			return f, true
		}
	}
	return Field{}, false
}

// Read returns the values a reader of this version sees in st, in a new map
// owned by the caller, by field name: each field of s reads the value held under
// its key, exported (see Field.Export); a field the document never had reads as
// its Default, a counter never added to as 0 (int64 or float64), and any other
// absent or cleared field as nil; an add-wins set never added to reads as an
// empty slice (see Field.Export). A derived field (the inverse side of a
// relation) holds nothing and is not in the map. Entries of st under keys s does
// not have (fields of other versions) are not shown, and st keeps them.
func (s *Schema) Read(st *State) map[string]any {
	out := make(map[string]any, len(s.Fields))
	for _, f := range s.Fields {
		if !f.Derived() {
			out[f.Name] = f.Export(s.value(f, st))
		}
	}
	return out
}

// value returns the canonical value field f of s reads as in st, as Read does
// but not exported; nil when absent or cleared.
func (s *Schema) value(f Field, st *State) any {
	fs, ok := st.Fields[f.ID()]
	return f.Reads(fs.Value, ok)
}

// Reads returns the canonical value field f reads as when a document's state
// holds v for it (present: the state has an entry for the field, v nil when it
// is cleared): v, else 0 for a counter, else f.Default for a field the state
// does not hold; nil when cleared.
func (f Field) Reads(v any, present bool) any {
	switch {
	case v != nil:
		return v
	case f.Counter && f.Kind == KindFloat:
		return float64(0)
	case f.Counter:
		return int64(0)
	case !present:
		return f.Default
	}
	return nil
}

// Value returns the canonical value of the field called name as a reader of
// this version sees it in st (see Read), and false if it reads as nil or s has
// no such field.
func (s *Schema) Value(st *State, name string) (any, bool) {
	f, ok := s.Field(name)
	if !ok {
		return nil, false
	}
	v := s.value(f, st)
	return v, v != nil
}

// Field returns the field called name.
func (s *Schema) Field(name string) (Field, bool) {
	i := sort.Search(len(s.Fields), func(i int) bool { return s.Fields[i].Name >= name })
	if i < len(s.Fields) && s.Fields[i].Name == name {
		return s.Fields[i], true
	}
	return Field{}, false
}
