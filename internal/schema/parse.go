package schema

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gossipdb/gossipdb/crdt"
)

// Limits on definitions. Parse and Decode reject anything beyond them.
const (
	MaxInputSize   = 1 << 20 // bytes of SDL accepted by Parse
	MaxNameLength  = 128     // bytes in a type or field name
	MaxFields      = 256     // fields in one type
	MaxEncodedSize = 1 << 16 // bytes of canonical definition accepted by Decode; the largest valid one is about 44 KiB
)

// The CRDT types a field may declare with @crdt(type: …). They are also the
// values of "crdt" in the canonical form.
const (
	crdtLWW       = "lww"
	crdtPNCounter = "pncounter"
)

const scalarList = "String, Int, Float, Boolean, DateTime or JSON"

// Parse parses SDL holding one or more object type definitions and returns one
// schema per type, in the order they appear, each with its Fields sorted by name
// and its ID set. The schemas and their slices belong to the caller.
//
// Only plain object types whose fields are scalars (String, Int, Float, Boolean,
// DateTime, JSON) are accepted, with an optional "!" and an optional
// @crdt(type: lww|pncounter), pncounter only on Int and Float. Descriptions and
// comments are ignored. Anything else, and anything beyond the limits
// (MaxInputSize, MaxNameLength, MaxFields), is rejected with an *Error that wraps
// ErrInvalid and gives the line and column of the first problem. Parse is safe
// for concurrent use.
func Parse(sdl string) ([]*crdt.Schema, error) {
	return parse(sdl, nil)
}

// parse is Parse; with p it parses a patch's SDL, taking the directives only a
// patch may give into p, and leaves IDs unset.
func parse(sdl string, p *patchDirectives) ([]*crdt.Schema, error) {
	if len(sdl) > MaxInputSize {
		return nil, &Error{Msg: fmt.Sprintf("definition is %d bytes, more than the limit of %d", len(sdl), MaxInputSize)}
	}
	doc, err := parser.ParseSchema(&ast.Source{Input: sdl})
	if err != nil {
		return nil, syntaxError(err)
	}
	if err := checkUnsupported(doc); err != nil {
		return nil, err
	}
	if len(doc.Definitions) == 0 {
		return nil, &Error{Msg: "no type definition"}
	}

	// Every name declared in the input, so that a field typed with one of them is
	// reported as a relation rather than as an unknown scalar.
	declared := make(map[string]*ast.Definition, len(doc.Definitions))
	for _, def := range doc.Definitions {
		if _, dup := declared[def.Name]; !dup {
			declared[def.Name] = def
		}
	}

	schemas := make([]*crdt.Schema, 0, len(doc.Definitions))
	for _, def := range doc.Definitions {
		if first := declared[def.Name]; first != def {
			return nil, errorAt(def.Position, def.Name, "", "type defined twice (first at %s)", where(first.Position))
		}
		s, err := convert(def, declared, p)
		if err != nil {
			return nil, err
		}
		if p != nil {
			schemas = append(schemas, s)
			continue
		}
		if err := setID(s); err != nil {
			return nil, err
		}
		schemas = append(schemas, s)
	}
	return schemas, nil
}

// syntaxError converts an error from the GraphQL parser.
func syntaxError(err error) error {
	var gerr *gqlerror.Error
	if !errors.As(err, &gerr) {
		return &Error{Msg: "syntax error: " + clip(err.Error(), 2*maxEcho)}
	}
	e := &Error{Msg: "syntax error: " + clip(gerr.Message, 2*maxEcho)}
	if len(gerr.Locations) > 0 && gerr.Locations[0].Line > 0 {
		e.Line, e.Column = gerr.Locations[0].Line, gerr.Locations[0].Column
	}
	return e
}

// checkUnsupported rejects every top-level definition that is not an object
// type, reporting the first one in the input.
func checkUnsupported(doc *ast.SchemaDocument) error {
	var errs []*Error
	for _, def := range doc.Definitions {
		if def.Kind != ast.Object {
			errs = append(errs, errorAt(def.Position, "", "", "%s %s: only object types are supported",
				kindKeyword(def.Kind), clip(def.Name, maxEcho)))
		}
	}
	for _, def := range doc.Extensions {
		errs = append(errs, errorAt(def.Position, "", "", "extend %s %s: extensions are not supported",
			kindKeyword(def.Kind), clip(def.Name, maxEcho)))
	}
	for _, def := range doc.Schema {
		errs = append(errs, errorAt(def.Position, "", "", "schema definitions are not supported"))
	}
	for _, def := range doc.SchemaExtension {
		errs = append(errs, errorAt(def.Position, "", "", "extend schema: extensions are not supported"))
	}
	for _, def := range doc.Directives {
		errs = append(errs, errorAt(def.Position, "", "", "directive @%s: directive definitions are not supported", clip(def.Name, maxEcho)))
	}
	for _, def := range doc.DirectiveExtensions {
		errs = append(errs, errorAt(def.Position, "", "", "extend directive @%s: extensions are not supported", clip(def.Name, maxEcho)))
	}
	if len(errs) == 0 {
		return nil
	}
	return slices.MinFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// kindKeyword returns the SDL keyword that declares a definition of kind k.
func kindKeyword(k ast.DefinitionKind) string {
	switch k {
	case ast.Scalar:
		return "scalar"
	case ast.Object:
		return "type"
	case ast.Interface:
		return "interface"
	case ast.Union:
		return "union"
	case ast.Enum:
		return "enum"
	case ast.InputObject:
		return "input"
	}
	return strings.ToLower(string(k))
}

// convert turns one object type definition into a schema without its ID.
func convert(def *ast.Definition, declared map[string]*ast.Definition, p *patchDirectives) (*crdt.Schema, error) {
	if msg := checkName(def.Name); msg != "" {
		return nil, errorAt(def.Position, def.Name, "", "%s", msg)
	}
	if _, ok := crdt.KindByName(def.Name); ok {
		return nil, errorAt(def.Position, def.Name, "", "type name is a scalar")
	}
	if len(def.Interfaces) > 0 {
		return nil, errorAt(def.Position, def.Name, "", "implements is not supported")
	}
	for _, d := range def.Directives {
		if _, msg := typeIndex(d, def); msg != "" {
			return nil, errorAt(d.Position, def.Name, "", "%s", msg)
		}
	}
	if len(def.Fields) == 0 {
		return nil, errorAt(def.Position, def.Name, "", "type has no fields")
	}

	s := &crdt.Schema{Name: def.Name, Fields: make([]crdt.Field, 0, min(len(def.Fields), MaxFields))}
	seen := make(map[string]*ast.FieldDefinition, len(def.Fields))
	for i, fd := range def.Fields {
		if i == MaxFields {
			return nil, errorAt(fd.Position, def.Name, "", "more than %d fields", MaxFields)
		}
		if first, dup := seen[fd.Name]; dup {
			return nil, errorAt(fd.Position, def.Name, fd.Name, "field defined twice (first at %s)", where(first.Position))
		}
		seen[fd.Name] = fd
		f, err := convertField(def.Name, fd, declared, p)
		if err != nil {
			return nil, err
		}
		s.Fields = append(s.Fields, f)
	}
	slices.SortFunc(s.Fields, func(a, b crdt.Field) int { return strings.Compare(a.Name, b.Name) })
	return s, nil
}

// convertField turns one field definition of type typ into a field.
func convertField(typ string, fd *ast.FieldDefinition, declared map[string]*ast.Definition, p *patchDirectives) (crdt.Field, error) {
	fail := func(pos *ast.Position, format string, args ...any) (crdt.Field, error) {
		return crdt.Field{}, errorAt(pos, typ, fd.Name, format, args...)
	}
	if msg := checkName(fd.Name); msg != "" {
		return fail(fd.Position, "%s", msg)
	}
	if len(fd.Arguments) > 0 {
		return fail(fd.Position, "field arguments are not supported")
	}
	if fd.Type == nil {
		return fail(fd.Position, "no type")
	}
	if fd.Type.Elem != nil {
		return fail(fd.Position, "lists are not supported yet")
	}
	f := crdt.Field{Name: fd.Name, Required: fd.Type.NonNull}
	kind, ok := crdt.KindByName(fd.Type.NamedType)
	switch {
	case ok:
		f.Kind = kind
	case declared[fd.Type.NamedType] != nil:
		return fail(fd.Position, "relations are not supported yet")
	default:
		return fail(fd.Position, "unknown type %q (want %s)", clip(fd.Type.NamedType, maxEcho), scalarList)
	}

	var crdtDirective *ast.Directive
	for _, d := range fd.Directives {
		if p.take(fd.Name, d) {
			continue
		}
		if d.Name == "default" || d.Name == "rename" {
			return fail(d.Position, "@%s is for changing an existing collection (collection patch), not for defining one", d.Name)
		}
		if d.Name == "index" {
			if _, msg := fieldIndex(d, fd.Name); msg != "" {
				return fail(d.Position, "%s", msg)
			}
			continue
		}
		if d.Name != "crdt" {
			return fail(d.Position, "directive @%s is not supported (only @crdt and @index)", clip(d.Name, maxEcho))
		}
		if crdtDirective != nil {
			return fail(d.Position, "@crdt given twice")
		}
		crdtDirective = d
		ct, err := crdtType(d)
		if err != "" {
			return fail(d.Position, "%s", err)
		}
		if ct == crdtPNCounter {
			if f.Kind != crdt.KindInt && f.Kind != crdt.KindFloat {
				return fail(d.Position, "@crdt(type: pncounter) needs Int or Float, not %s", f.Kind)
			}
			f.Counter = true
		}
	}
	return f, nil
}

// crdtType returns the type argument of a @crdt directive, or a message saying
// why the directive is invalid.
func crdtType(d *ast.Directive) (string, string) {
	const want = "want @crdt(type: lww) or @crdt(type: pncounter)"
	if len(d.Arguments) != 1 || d.Arguments[0].Name != "type" || d.Arguments[0].Value == nil {
		return "", want
	}
	v := d.Arguments[0].Value
	if v.Kind != ast.EnumValue || (v.Raw != crdtLWW && v.Raw != crdtPNCounter) {
		return "", fmt.Sprintf("unknown CRDT type %s (%s)", clip(v.String(), maxEcho), want)
	}
	return v.Raw, ""
}

// errorAt returns an *Error at pos (which may be nil).
func errorAt(pos *ast.Position, typ, field, format string, args ...any) *Error {
	line, col := position(pos)
	return &Error{Type: typ, Field: field, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func position(pos *ast.Position) (line, col int) {
	if pos == nil {
		return 0, 0
	}
	return pos.Line, pos.Column
}

// where describes pos for a message.
func where(pos *ast.Position) string {
	line, col := position(pos)
	return fmt.Sprintf("line %d, column %d", line, col)
}
