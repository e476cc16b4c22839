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
)

var kindNames = [...]string{
	KindString:   "String",
	KindInt:      "Int",
	KindFloat:    "Float",
	KindBoolean:  "Boolean",
	KindDateTime: "DateTime",
	KindJSON:     "JSON",
}

// String returns the GraphQL name of the kind ("Int"), or "Kind(n)" for an unknown one.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// KindByName returns the kind whose GraphQL name is name.
func KindByName(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n != "" && n == name {
			return Kind(k), true
		}
	}
	return 0, false
}

// Field describes one field of a collection.
type Field struct {
	Name     string
	Kind     Kind
	Required bool // declared with "!": genesis must set it and no change may clear it
	Counter  bool // declared with @crdt(type: pncounter); Kind is KindInt or KindFloat
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
