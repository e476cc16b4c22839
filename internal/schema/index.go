package schema

import (
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gossipdb/gossipdb/crdt"
)

// Index is a secondary index declared in SDL, DefraDB's way: @index on a field,
// or on the type with the fields it includes, in order:
//
//	type User @index(includes: [{field: "name"}, {field: "age", direction: DESC}]) {
//		name: String @index
//		age: Int @index(direction: DESC, name: "by_age")
//	}
//
// Indexes are not part of a collection's definition: they do not change its
// schema ID, and each node keeps the indexes it wants.
type Index struct {
	Name   string // as given with name: …; "" when not given
	Fields []IndexField
}

// IndexField is one field of an index and its direction.
type IndexField struct {
	Name string
	Desc bool
}

// Indexes returns the indexes declared in sdl, per type in the order Define
// returns the types. It fails as Define does (with the same known
// collections), for sdl Define refuses.
func Indexes(sdl string, known ...*crdt.Schema) ([][]Index, error) {
	if _, _, err := Define(sdl, known...); err != nil {
		return nil, err
	}
	return declaredIndexes(sdl)
}

// PatchIndexes returns the indexes declared in sdl, the SDL of a patch that
// Patch accepted, whose fields it names as the version Patch made does. It
// checks sdl no further than its syntax: call it after Patch.
func PatchIndexes(sdl string) ([]Index, error) {
	ixs, err := declaredIndexes(sdl)
	if err != nil {
		return nil, err
	}
	if len(ixs) != 1 {
		return nil, &Error{Msg: fmt.Sprintf("a patch gives one type, not %d", len(ixs))}
	}
	return ixs[0], nil
}

// declaredIndexes returns the indexes declared in sdl, which Parse or Patch
// accepted, per type.
func declaredIndexes(sdl string) ([][]Index, error) {
	doc, err := parser.ParseSchema(&ast.Source{Input: sdl})
	if err != nil {
		return nil, syntaxError(err)
	}
	out := make([][]Index, len(doc.Definitions))
	for i, def := range doc.Definitions {
		for _, d := range def.Directives {
			if d.Name == "policy" {
				continue
			}
			ix, _ := typeIndex(d, def)
			out[i] = append(out[i], ix)
		}
		for _, fd := range def.Fields {
			for _, d := range fd.Directives {
				if d.Name == "index" {
					ix, _ := fieldIndex(d, fd.Name)
					out[i] = append(out[i], ix)
				}
			}
		}
	}
	return out, nil
}

// maxIndexFields is the most fields an index may include.
const maxIndexFields = 8

// typeIndex reads a type's @index(includes: […], name: "…"), or says why it
// is invalid.
func typeIndex(d *ast.Directive, def *ast.Definition) (Index, string) {
	if d.Name != "index" {
		return Index{}, fmt.Sprintf("directive @%s is not supported on a type (only @index and @policy)", clip(d.Name, maxEcho))
	}
	var ix Index
	var includes *ast.Value
	for _, a := range d.Arguments {
		switch a.Name {
		case "name":
			name, msg := indexName(a.Value)
			if msg != "" {
				return Index{}, msg
			}
			ix.Name = name
		case "includes":
			includes = a.Value
		default:
			return Index{}, fmt.Sprintf("@index: unknown argument %s (want includes and name)", clip(a.Name, maxEcho))
		}
	}
	if includes == nil || includes.Kind != ast.ListValue || len(includes.Children) == 0 {
		return Index{}, `@index on a type needs includes: [{field: "…"}, …]`
	}
	if len(includes.Children) > maxIndexFields {
		return Index{}, fmt.Sprintf("@index includes more than %d fields", maxIndexFields)
	}
	for _, c := range includes.Children {
		v := c.Value
		if v.Kind != ast.ObjectValue {
			return Index{}, `@index includes: want objects {field: "…", direction: ASC|DESC}`
		}
		var f IndexField
		for _, kv := range v.Children {
			switch kv.Name {
			case "field":
				if !isString(kv.Value) {
					return Index{}, "@index includes: field must be a string"
				}
				f.Name = kv.Value.Raw
			case "direction":
				desc, msg := direction(kv.Value)
				if msg != "" {
					return Index{}, msg
				}
				f.Desc = desc
			default:
				return Index{}, fmt.Sprintf("@index includes: unknown key %s (want field and direction)", clip(kv.Name, maxEcho))
			}
		}
		if def.Fields.ForName(f.Name) == nil {
			return Index{}, fmt.Sprintf("@index includes unknown field %q", clip(f.Name, maxEcho))
		}
		if slices.ContainsFunc(ix.Fields, func(o IndexField) bool { return o.Name == f.Name }) {
			return Index{}, fmt.Sprintf("@index includes field %q twice", clip(f.Name, maxEcho))
		}
		ix.Fields = append(ix.Fields, f)
	}
	return ix, ""
}

// fieldIndex reads a field's @index(direction: …, name: "…", unique: false),
// or says why it is invalid.
func fieldIndex(d *ast.Directive, field string) (Index, string) {
	ix := Index{Fields: []IndexField{{Name: field}}}
	for _, a := range d.Arguments {
		switch a.Name {
		case "name":
			name, msg := indexName(a.Value)
			if msg != "" {
				return Index{}, msg
			}
			ix.Name = name
		case "direction":
			desc, msg := direction(a.Value)
			if msg != "" {
				return Index{}, msg
			}
			ix.Fields[0].Desc = desc
		case "unique":
			if a.Value.Kind != ast.BooleanValue || a.Value.Raw != "false" {
				return Index{}, "@index(unique: true) is not supported"
			}
		default:
			return Index{}, fmt.Sprintf("@index: unknown argument %s (want name, direction or unique)", clip(a.Name, maxEcho))
		}
	}
	return ix, ""
}

// CheckIndexName returns an error that says why name cannot name an index,
// or nil if it can: an index is named as a type or a field is (GraphQL's name
// syntax, not starting with "_", at most MaxNameLength bytes), whether in
// @index(name: …) or by the API.
func CheckIndexName(name string) error {
	if msg := checkName(name); msg != "" {
		return fmt.Errorf("index name: %s", msg)
	}
	return nil
}

func indexName(v *ast.Value) (string, string) {
	if !isString(v) {
		return "", "@index name must be a string"
	}
	if msg := checkName(v.Raw); msg != "" {
		return "", "@index name: " + msg
	}
	return v.Raw, ""
}

func direction(v *ast.Value) (bool, string) {
	if v.Kind != ast.EnumValue || (v.Raw != "ASC" && v.Raw != "DESC") {
		return false, "@index direction must be ASC or DESC"
	}
	return v.Raw == "DESC", ""
}
