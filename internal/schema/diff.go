package schema

import (
	"fmt"

	"github.com/gossipdb/gossipdb/crdt"
)

// Diff describes how definition b ("new") differs from definition a
// ("existing"), one difference per string, type name first, then fields in name
// order:
//
//	name: "User" in existing, "Users" in new
//	field "age": Int in existing, Float in new
//	field "email": only in new
//	field "name": required in new
//	field "visits": pncounter in existing, lww in new
//
// It returns nil when the definitions are equal. Both schemas must have their
// Fields sorted by name, as Parse and Decode return them; a nil schema counts as
// one with no name and no fields. The IDs are not compared. Diff is safe for
// concurrent use.
func Diff(a, b *crdt.Schema) []string {
	if a == nil {
		a = &crdt.Schema{}
	}
	if b == nil {
		b = &crdt.Schema{}
	}
	var diffs []string
	if a.Name != b.Name {
		diffs = append(diffs, fmt.Sprintf("name: %q in existing, %q in new", a.Name, b.Name))
	}
	i, j := 0, 0
	for i < len(a.Fields) || j < len(b.Fields) {
		switch {
		case j == len(b.Fields) || (i < len(a.Fields) && a.Fields[i].Name < b.Fields[j].Name):
			diffs = append(diffs, fmt.Sprintf("field %q: only in existing", a.Fields[i].Name))
			i++
		case i == len(a.Fields) || b.Fields[j].Name < a.Fields[i].Name:
			diffs = append(diffs, fmt.Sprintf("field %q: only in new", b.Fields[j].Name))
			j++
		default:
			diffs = append(diffs, diffField(a.Fields[i], b.Fields[j])...)
			i++
			j++
		}
	}
	return diffs
}

// diffField describes how two fields of the same name differ.
func diffField(a, b crdt.Field) []string {
	var diffs []string
	if a.TypeName() != b.TypeName() {
		diffs = append(diffs, fmt.Sprintf("field %q: %s in existing, %s in new", a.Name, a.TypeName(), b.TypeName()))
	}
	if a.Required != b.Required {
		where := "new"
		if a.Required {
			where = "existing"
		}
		diffs = append(diffs, fmt.Sprintf("field %q: required in %s", a.Name, where))
	}
	if crdtName(a) != crdtName(b) {
		diffs = append(diffs, fmt.Sprintf("field %q: %s in existing, %s in new", a.Name, crdtName(a), crdtName(b)))
	}
	return diffs
}

func crdtName(f crdt.Field) string {
	switch {
	case f.Counter:
		return crdtPNCounter
	case f.AddWinsSet:
		return crdtSet
	}
	return crdtLWW
}
