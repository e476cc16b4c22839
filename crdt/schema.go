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

// Schema is a collection's definition as the merge and validation rules need it.
// Fields are sorted by name. ID is the CID of the canonical definition (computed by
// internal/schema); it is the collection's identity on every peer. A Schema is
// immutable once built and safe for concurrent use.
type Schema struct {
	ID     cid.Cid
	Name   string
	Fields []Field
}

// Field returns the field called name.
func (s *Schema) Field(name string) (Field, bool) {
	i := sort.Search(len(s.Fields), func(i int) bool { return s.Fields[i].Name >= name })
	if i < len(s.Fields) && s.Fields[i].Name == name {
		return s.Fields[i], true
	}
	return Field{}, false
}
