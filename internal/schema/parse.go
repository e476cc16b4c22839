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
	MaxEncodedSize = 1 << 16 // bytes of a canonical definition or version: Encode and EncodeVersion make no larger one, Decode and DecodeVersion accept none
)

// The CRDT types a field may declare with @crdt(type: …). They are also the
// values of "crdt" in the canonical form.
const (
	crdtLWW       = "lww"
	crdtPNCounter = "pncounter"
	crdtSet       = "set"
)

const scalarList = "String, Int, Float, Boolean, DateTime, JSON or a collection"

// Parse parses SDL holding one or more object type definitions and returns one
// schema per type, in the order they appear, each with its Fields sorted by name
// and its ID set. The schemas and their slices belong to the caller.
//
// Only plain object types are accepted, whose fields are scalars (String, Int,
// Float, Boolean, DateTime, JSON), lists of scalars other than JSON ([Int],
// [Int!]; no lists of lists), relations to a collection (author: Author) and the
// inverse sides of relations (books: [Book]), each with an optional "!" and an
// optional @crdt(type: lww|pncounter|set): pncounter only on Int and Float, set
// only on a list with non-null items and no outer "!" ([String!]). A relation or
// its inverse names a type of sdl or one of known, the collections already
// defined (a type sdl declares counts rather than a known one of the same name);
// the type an inverse side [Book] names must have exactly one field of the
// declaring type (Book.author: Author), and the inverse side takes no "!".
// A type may not take a name the GraphQL API gives a type of its own (see the
// package doc).
// Descriptions and comments are ignored. Anything else, and anything beyond the limits
// (MaxInputSize, MaxNameLength, MaxFields, and MaxEncodedSize for each type's
// definition), is rejected with an *Error that wraps
// ErrInvalid and gives the line and column of the first problem. Parse is safe
// for concurrent use.
func Parse(sdl string, known ...*crdt.Schema) ([]*crdt.Schema, error) {
	return parse(sdl, nil, known)
}

// parse is Parse; with p it parses a patch's SDL, taking the directives only a
// patch may give into p, and leaves IDs unset, or, with p.define, Define's
// SDL, taking each type's @default into p.types.
func parse(sdl string, p *patchDirectives, known []*crdt.Schema) ([]*crdt.Schema, error) {
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

	// Every name declared in the input or known, so that a field typed with one
	// of them is a relation rather than an unknown scalar.
	declared := make(map[string]*ast.Definition, len(doc.Definitions))
	for _, def := range doc.Definitions {
		if _, dup := declared[def.Name]; !dup {
			declared[def.Name] = def
		}
	}
	types := make(map[string]*crdt.Schema, len(known)+len(doc.Definitions))
	for _, s := range known {
		types[s.Name] = s
	}
	isType := func(name string) bool { return declared[name] != nil || types[name] != nil }

	schemas := make([]*crdt.Schema, 0, len(doc.Definitions))
	for _, def := range doc.Definitions {
		if first := declared[def.Name]; first != def {
			return nil, errorAt(def.Position, def.Name, "", "type defined twice (first at %s)", where(first.Position))
		}
		var tp *patchDirectives
		if p != nil {
			tp = p.forType(def.Name)
		}
		s, err := convert(def, isType, tp)
		if err != nil {
			return nil, err
		}
		types[s.Name] = s
		schemas = append(schemas, s)
	}
	for _, def := range doc.Definitions {
		if err := checkInverses(def, types); err != nil {
			return nil, err
		}
	}
	if p.patching() {
		return schemas, nil
	}
	for i, s := range schemas {
		if err := setID(s); err != nil {
			if e := (*Error)(nil); errors.As(err, &e) {
				return nil, errorAt(doc.Definitions[i].Position, e.Type, e.Field, "%s", e.Msg)
			}
			return nil, err
		}
	}
	return schemas, nil
}

// checkInverses checks the inverse sides of relations that def declares: the
// type `books: [Book]` names must have exactly one relation to def's type.
func checkInverses(def *ast.Definition, types map[string]*crdt.Schema) error {
	s := types[def.Name]
	for _, fd := range def.Fields {
		f, _ := s.Field(fd.Name)
		if !f.Derived() {
			continue
		}
		if msg := inverseProblem(f, s.Name, types[f.Relation], f.Relation); msg != "" {
			return errorAt(fd.Position, def.Name, fd.Name, "%s", msg)
		}
	}
	return nil
}

// inverseProblem says why f, an inverse side ([Book]) declared by type typ,
// has no relation to derive from in target, the type it names, which the
// message calls what: target has no relation to typ, or more than one. It
// returns "" when target has exactly one.
func inverseProblem(f crdt.Field, typ string, target *crdt.Schema, what string) string {
	var sides []string
	for _, g := range target.Fields {
		if g.Kind == crdt.KindRelation && !g.List && g.Relation == typ {
			sides = append(sides, g.Name)
		}
	}
	switch len(sides) {
	case 0:
		return fmt.Sprintf("[%s] is the inverse side of a relation, but %s has no field of type %s", f.Relation, what, typ)
	case 1:
		return ""
	}
	return fmt.Sprintf("[%s] is the inverse side of a relation, but %s has %d fields of type %s (%s): which one is ambiguous",
		f.Relation, what, len(sides), typ, strings.Join(sides, ", "))
}

// CheckInverses checks the inverse sides of relations ([Book]) that s, a
// collection's new version, takes part in, with known, the node's other
// collections (a schema of known named as s is s's old version, and is left
// out): each inverse side s declares, and each one of known that names s,
// must name a type with exactly one relation to the type that declares it
// (see Parse). An inverse side that names a type neither s nor known is (a
// collection the node does not define) is not checked. It fails with an
// *Error, wrapping ErrInvalid, that names the inverse side's type and field;
// when that is another collection's, it says to drop the inverse side from
// it first. Parse and Patch check s's own inverse sides already, with their
// position; CheckInverses is for a version that comes without SDL, and Patch
// calls it for the other side. It is safe for concurrent use.
func CheckInverses(s *crdt.Schema, known ...*crdt.Schema) error {
	types := make(map[string]*crdt.Schema, len(known)+1)
	for _, k := range known {
		types[k.Name] = k
	}
	types[s.Name] = s
	for _, f := range s.Fields {
		if t := types[f.Relation]; f.Derived() && t != nil {
			if msg := inverseProblem(f, s.Name, t, f.Relation); msg != "" {
				return &Error{Type: s.Name, Field: f.Name, Msg: msg}
			}
		}
	}
	for _, k := range known {
		if k.Name == s.Name {
			continue
		}
		for _, f := range k.Fields {
			if f.Derived() && f.Relation == s.Name {
				if msg := inverseProblem(f, k.Name, s, "this version of "+s.Name); msg != "" {
					return &Error{Type: k.Name, Field: f.Name, Msg: fmt.Sprintf("%s; patch %s to drop %s first", msg, k.Name, f.Name)}
				}
			}
		}
	}
	return nil
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

// convert turns one object type definition into a schema without its ID; isType
// reports whether a name is a collection, and p (nil for Parse) takes the
// directives only a patch (or, @default alone, Define) may give.
func convert(def *ast.Definition, isType func(string) bool, p *patchDirectives) (*crdt.Schema, error) {
	if msg := checkName(def.Name); msg != "" {
		return nil, errorAt(def.Position, def.Name, "", "%s", msg)
	}
	if _, ok := crdt.KindByName(def.Name); ok {
		return nil, errorAt(def.Position, def.Name, "", "type name is a scalar")
	}
	if msg := reservedName(def.Name); !p.patching() && msg != "" {
		return nil, errorAt(def.Position, def.Name, "", "%s", msg)
	}
	if len(def.Interfaces) > 0 {
		return nil, errorAt(def.Position, def.Name, "", "implements is not supported")
	}
	var policy *crdt.Policy
	for _, d := range def.Directives {
		if d.Name == "policy" {
			var msg string
			switch {
			case p.patching():
				msg = "@policy: a collection's policy is part of its identity; a later version cannot declare one"
			case policy != nil:
				msg = "@policy given twice"
			default:
				policy, msg = typePolicy(d)
			}
			if msg != "" {
				return nil, errorAt(d.Position, def.Name, "", "%s", msg)
			}
			continue
		}
		if _, msg := typeIndex(d, def); msg != "" {
			return nil, errorAt(d.Position, def.Name, "", "%s", msg)
		}
	}
	if len(def.Fields) == 0 {
		return nil, errorAt(def.Position, def.Name, "", "type has no fields")
	}

	s := &crdt.Schema{Name: def.Name, Fields: make([]crdt.Field, 0, min(len(def.Fields), MaxFields)), Policy: policy}
	seen := make(map[string]*ast.FieldDefinition, len(def.Fields))
	for i, fd := range def.Fields {
		if i == MaxFields {
			return nil, errorAt(fd.Position, def.Name, "", "more than %d fields", MaxFields)
		}
		if first, dup := seen[fd.Name]; dup {
			return nil, errorAt(fd.Position, def.Name, fd.Name, "field defined twice (first at %s)", where(first.Position))
		}
		seen[fd.Name] = fd
		f, err := convertField(def.Name, fd, isType, p)
		if err != nil {
			return nil, err
		}
		s.Fields = append(s.Fields, f)
	}
	slices.SortFunc(s.Fields, func(a, b crdt.Field) int { return strings.Compare(a.Name, b.Name) })
	return s, nil
}

// convertField turns one field definition of type typ into a field.
func convertField(typ string, fd *ast.FieldDefinition, isType func(string) bool, p *patchDirectives) (crdt.Field, error) {
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
	named := fd.Type
	f := crdt.Field{Name: fd.Name, Required: fd.Type.NonNull}
	if fd.Type.Elem != nil {
		named = fd.Type.Elem
		f.List, f.ItemsRequired = true, named.NonNull
		if named.Elem != nil {
			return fail(fd.Position, "lists of lists are not supported")
		}
	}
	kind, ok := crdt.KindByName(named.NamedType)
	switch {
	case ok && f.List && kind == crdt.KindJSON:
		return fail(fd.Position, "lists of JSON are not supported (a JSON field can hold an array)")
	case ok:
		f.Kind = kind
	case isType(named.NamedType):
		f.Kind, f.Relation = crdt.KindRelation, named.NamedType
		if f.List && (f.Required || f.ItemsRequired) {
			return fail(fd.Position, "[%s] is the inverse side of a relation, derived from %s: declare it [%s], without \"!\"",
				f.Relation, f.Relation, f.Relation)
		}
	default:
		return fail(fd.Position, "unknown type %q (want %s)", clip(named.NamedType, maxEcho), scalarList)
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
		switch ct {
		case crdtPNCounter:
			if f.List || (f.Kind != crdt.KindInt && f.Kind != crdt.KindFloat) {
				return fail(d.Position, "@crdt(type: pncounter) needs Int or Float, not %s", f.TypeName())
			}
			f.Counter = true
		case crdtSet:
			if !f.List || f.Kind == crdt.KindRelation {
				return fail(d.Position, "@crdt(type: set) needs a list of String, Int, Float, Boolean or DateTime, not %s", f.TypeName())
			}
			if !f.ItemsRequired {
				return fail(d.Position, "@crdt(type: set) needs non-null items: declare %s", crdt.Field{Kind: f.Kind, List: true, ItemsRequired: true}.TypeName())
			}
			if f.Required {
				return fail(d.Position, "@crdt(type: set) cannot be required (removals can empty a set): drop the outer \"!\"")
			}
			f.AddWinsSet = true
		}
	}
	return f, nil
}

// The names of the types the GraphQL API (internal/graphql) generates besides
// the collections': whole names (Commit and CommitLink are a document's
// history), and the endings of those it makes for each collection or scalar
// (UserFilterArg, IntOperatorBlock).
var (
	graphQLNames    = []string{"Query", "Mutation", "ID", "Ordering", "Commit", "CommitLink"}
	graphQLSuffixes = []string{"FilterArg", "OrderArg", "MutationInputArg", "NumericFieldArg", "CountArg", "AggregateArg", "GroupByArg", "OperatorBlock"}
)

// reservedName returns why a new collection cannot be called name, a name
// the GraphQL API gives a type of its own, or "" if it can. A collection is
// never dropped, so one of these names would leave the node without a GraphQL
// schema for good. Only Parse checks it: a collection stored under such a name
// still loads and takes patches.
func reservedName(name string) string {
	if slices.Contains(graphQLNames, name) {
		return fmt.Sprintf("type name %s is the GraphQL API's", name)
	}
	for _, suffix := range graphQLSuffixes {
		if strings.HasSuffix(name, suffix) {
			return fmt.Sprintf("type names ending in %s are the GraphQL API's", suffix)
		}
	}
	return ""
}

// crdtType returns the type argument of a @crdt directive, or a message saying
// why the directive is invalid.
func crdtType(d *ast.Directive) (string, string) {
	const want = "want @crdt(type: lww), @crdt(type: pncounter) or @crdt(type: set)"
	if len(d.Arguments) != 1 || d.Arguments[0].Name != "type" || d.Arguments[0].Value == nil {
		return "", want
	}
	v := d.Arguments[0].Value
	if v.Kind != ast.EnumValue || (v.Raw != crdtLWW && v.Raw != crdtPNCounter && v.Raw != crdtSet) {
		return "", fmt.Sprintf("unknown CRDT type %s (%s)", clip(v.String(), maxEcho), want)
	}
	return v.Raw, ""
}

// isString reports whether v is a string, quoted ("x") or a block string
// ("""x"""), whose value is v.Raw either way.
func isString(v *ast.Value) bool {
	return v.Kind == ast.StringValue || v.Kind == ast.BlockValue
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
