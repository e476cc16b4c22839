package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gossipdb/gossipdb/crdt"
)

// patchDirectives collects the directives only a patch's SDL may give:
// @default and @rename, by field name. For Define, types holds one per type
// of the SDL, each taking @default only.
type patchDirectives struct {
	defaults map[string]*ast.Directive
	renames  map[string]*ast.Directive
	err      *Error // the first directive given twice
	// define is set when the SDL defines collections (Define) rather than
	// patches one: it takes what Parse takes, and @default.
	define bool
	types  map[string]*patchDirectives
}

// patching reports whether p parses a patch's SDL.
func (p *patchDirectives) patching() bool { return p != nil && !p.define }

// forType returns the directives of type typ: p itself for a patch, else
// those types holds for it, new.
func (p *patchDirectives) forType(typ string) *patchDirectives {
	if !p.define {
		return p
	}
	t := &patchDirectives{defaults: map[string]*ast.Directive{}, define: true}
	p.types[typ] = t
	return t
}

// take records d of field if it is a patch's directive and reports whether it was.
func (p *patchDirectives) take(field string, d *ast.Directive) bool {
	if p == nil {
		return false
	}
	var m map[string]*ast.Directive
	switch {
	case d.Name == "default":
		m = p.defaults
	case d.Name == "rename" && !p.define:
		m = p.renames
	default:
		return false
	}
	if _, dup := m[field]; dup && p.err == nil {
		p.err = errorAt(d.Position, "", field, "@%s given twice", d.Name)
	}
	m[field] = d
	return true
}

// defaultArgs maps the argument of @default to the kind it gives a value of,
// with DefraDB's spellings.
var defaultArgs = map[string]crdt.Kind{
	"string":   crdt.KindString,
	"int":      crdt.KindInt,
	"float":    crdt.KindFloat,
	"bool":     crdt.KindBoolean,
	"dateTime": crdt.KindDateTime,
	"json":     crdt.KindJSON,
}

// Patch returns the version that the SDL of one type makes of a collection
// whose active version is active and whose chain, from active back to its
// root, is chain (chain[0] is active, the last element the root). The SDL is
// the whole new type, as for AddCollection (relations name the collection
// itself or one of known, as for Parse), and may also give
//
//	field: Type @default(string: "x")     // or int:, float:, bool:, dateTime:, json:
//	newName: Type @rename(from: "oldName")
//
// A field keeps its identity (its key) when it keeps its name or is renamed
// with @rename; a field of the active version the SDL leaves out is dropped (its
// data stays in every document); a new field gets a new key, or the key of a
// dropped field of the same name, kind and CRDT type in the chain, which brings
// its data back. A field with a @default reads as it in documents that never had
// the field.
//
// Adding or dropping the inverse side of a relation ([Book]) is a patch like
// any other: it holds no data. The inverse sides of known that name the
// collection must keep exactly one relation to derive from (see
// CheckInverses): a patch that adds a second relation to their type, or
// drops the only one, is refused (a rename keeps it: the inverse side is
// derived from the relation's type, not its name).
//
// Patch refuses, with an *Error that wraps ErrInvalid and names the field, a
// change of a field's type (its kind, list-ness, non-null items, or a
// relation's target) or CRDT type (last-writer-wins, counter or set): add a new
// field instead. It also refuses a @default on a list, a set or a relation,
// making an
// optional field required without a default, dropping the default of a
// required field, a new required field without a
// default (a list or a relation has none: it is added optional and stays
// so), a @rename of a field the active version lacks (unless it has the new
// name already: a patch applied again changes nothing) or the SDL still
// declares, re-adding a dropped field with another type, a new version when
// chain holds MaxChain versions already, and every rule of Parse. It returns
// active itself when the SDL describes it unchanged. Patch is safe for
// concurrent use.
func Patch(chain []*crdt.Schema, sdl string, known ...*crdt.Schema) (*crdt.Schema, error) {
	if len(chain) == 0 {
		return nil, &Error{Msg: "no version to patch"}
	}
	active, root := chain[0], chain[len(chain)-1]
	p := &patchDirectives{defaults: map[string]*ast.Directive{}, renames: map[string]*ast.Directive{}}
	schemas, err := parse(sdl, p, known)
	if err != nil {
		return nil, err
	}
	if p.err != nil {
		p.err.Type = schemas[0].Name
		return nil, p.err
	}
	if len(schemas) != 1 {
		return nil, &Error{Msg: fmt.Sprintf("a patch gives one type, not %d", len(schemas))}
	}
	s := schemas[0]
	if s.Name != active.Name {
		return nil, &Error{Type: s.Name, Msg: fmt.Sprintf("a patch of collection %s must keep its name", active.Name)}
	}
	// Fields of active renamed away, by their old name.
	renamedFrom := make(map[string]string, len(p.renames))
	for name, d := range p.renames {
		from, msg := renameFrom(d)
		if msg != "" {
			return nil, errorAt(d.Position, s.Name, name, "%s", msg)
		}
		if _, ok := active.Field(from); !ok {
			if _, done := active.Field(name); done {
				// Renamed already: the same patch, applied again.
				delete(p.renames, name)
				continue
			}
			return nil, errorAt(d.Position, s.Name, name, "@rename(from: %q): the active version has no field %q", clip(from, maxEcho), clip(from, maxEcho))
		}
		if _, still := s.Field(from); still {
			return nil, errorAt(d.Position, s.Name, name, "@rename(from: %q): %q is still declared; a rename replaces it", clip(from, maxEcho), clip(from, maxEcho))
		}
		if other, dup := renamedFrom[from]; dup {
			return nil, errorAt(d.Position, s.Name, name, "@rename(from: %q): %q is renamed to %q already", clip(from, maxEcho), clip(from, maxEcho), other)
		}
		renamedFrom[from] = name
	}
	used := make(map[string]string, len(s.Fields)) // key → field name
	for i := range s.Fields {
		f := &s.Fields[i]
		old, kept := active.Field(f.Name)
		if d := p.renames[f.Name]; d != nil {
			from, _ := renameFrom(d)
			old, kept = active.Field(from)
		} else if _, gone := renamedFrom[f.Name]; gone {
			kept = false
		}
		if newly := !kept || !old.Required && sameType(old, *f); newly && f.Required && (f.List || f.Kind == crdt.KindRelation) {
			return nil, requiredWithoutDefault(s.Name, *f, kept)
		}
		if d := p.defaults[f.Name]; d != nil {
			if f.Default, err = defaultValue(s.Name, *f, d); err != nil {
				return nil, err
			}
		}
		switch {
		case kept:
			f.Key = old.ID()
			if err := checkChange(s.Name, old, *f); err != nil {
				return nil, err
			}
			if f.Required && !f.Counter && old.Default != nil && f.Default == nil {
				// Not a rule of CheckVersion: versions peers made before it
				// stay acceptable.
				return nil, &Error{Type: s.Name, Field: f.Name, Msg: "cannot drop the default of a required field: documents without it exist, and read the default; keep a @default (another value will do) or make the field optional"}
			}
		default:
			if f.Required && f.Default == nil && !f.Counter {
				return nil, &Error{Type: s.Name, Field: f.Name, Msg: "a new required field needs a @default: documents without it exist"}
			}
			if f.Key, err = newKey(s.Name, chain, *f); err != nil {
				return nil, err
			}
		}
		if other, dup := used[f.Key]; dup {
			return nil, &Error{Type: s.Name, Field: f.Name, Msg: fmt.Sprintf("its identity is field %q's already; choose another name", other)}
		}
		used[f.Key] = f.Name
	}
	if sameFields(active, s) {
		return active, nil
	}
	if len(chain) >= MaxChain {
		return nil, &Error{Type: s.Name, Msg: fmt.Sprintf("the collection has %d versions, the most it may have: no patch can add another", len(chain))}
	}
	s.ID, s.Parent = root.ID, active.VersionID()
	v, err := VersionOf(s)
	if err != nil {
		return nil, err
	}
	if err := CheckVersion(root, active, v); err != nil {
		return nil, err
	}
	if err := CheckInverses(v, known...); err != nil {
		return nil, err
	}
	return v, nil
}

// Define is Parse for SDL whose fields may also give defaults, as Patch
// takes them (field: Type @default(string: "x"), or int:, float:, bool:,
// dateTime:, json:): it returns the roots Parse returns for the SDL without
// them and, for each, the version a collection defined by the SDL reads
// through: the root itself when its type gives no default, else the version
// Patch makes of the root with the SDL (the root's fields, with the
// defaults). A root does not hold defaults, so they change no schema ID.
// Define refuses what Parse refuses and what Patch refuses of a @default (on
// a counter, a list, a set or a relation, or of another kind than the
// field's), and a @rename: there is no field to rename yet. Define is safe
// for concurrent use.
func Define(sdl string, known ...*crdt.Schema) (roots, versions []*crdt.Schema, err error) {
	p := &patchDirectives{define: true, types: map[string]*patchDirectives{}}
	roots, err = parse(sdl, p, known)
	if err != nil {
		return nil, nil, err
	}
	versions = make([]*crdt.Schema, len(roots))
	for i, root := range roots {
		t := p.types[root.Name]
		if t.err != nil {
			t.err.Type = root.Name
			return nil, nil, t.err
		}
		if len(t.defaults) == 0 {
			versions[i] = root
			continue
		}
		s := &crdt.Schema{ID: root.ID, Parent: root.VersionID(), Name: root.Name, Fields: slices.Clone(root.Fields)}
		for j := range s.Fields {
			f := &s.Fields[j]
			f.Key = f.ID()
			if d := t.defaults[f.Name]; d != nil {
				if f.Default, err = defaultValue(s.Name, *f, d); err != nil {
					return nil, nil, err
				}
			}
		}
		v, err := VersionOf(s)
		if err != nil {
			return nil, nil, err
		}
		if err := CheckVersion(root, root, v); err != nil {
			return nil, nil, err
		}
		versions[i] = v
	}
	return roots, versions, nil
}

// requiredWithoutDefault refuses f, a list or a relation of type typ, which
// takes no default, added required or, when kept, made required: documents
// without it exist, and no default can stand in for it.
func requiredWithoutDefault(typ string, f crdt.Field, kept bool) *Error {
	msg := fmt.Sprintf("a required %s cannot be added to an existing collection: documents without it exist, and a %s has no default for them to read; add it optional (%s: %s)",
		f.TypeName(), kindOf(f), f.Name, f.TypeName())
	if kept {
		msg = fmt.Sprintf("a %s cannot be made required: documents without it exist, and a %s has no default for them to read; keep it optional (%s: %s)",
			f.TypeName(), kindOf(f), f.Name, f.TypeName())
	}
	return &Error{Type: typ, Field: f.Name, Msg: msg}
}

// kindOf names f's kind of type for a message: list or relation.
func kindOf(f crdt.Field) string {
	if f.List {
		return "list"
	}
	return "relation"
}

// renameFrom returns the argument of @rename(from: "name"), or why it is invalid.
func renameFrom(d *ast.Directive) (string, string) {
	const want = `want @rename(from: "oldName")`
	if len(d.Arguments) != 1 || d.Arguments[0].Name != "from" || d.Arguments[0].Value == nil ||
		!isString(d.Arguments[0].Value) {
		return "", want
	}
	return d.Arguments[0].Value.Raw, ""
}

// defaultValue returns the canonical value @default gives field f.
func defaultValue(typ string, f crdt.Field, d *ast.Directive) (any, error) {
	fail := func(format string, args ...any) (any, error) {
		return nil, errorAt(d.Position, typ, f.Name, format, args...)
	}
	if f.Counter {
		return fail("a counter has no default: it reads 0 until added to")
	}
	if f.List || f.Kind == crdt.KindRelation {
		return fail("a %s field has no default: it reads as null (a set as empty) until written", f.TypeName())
	}
	if len(d.Arguments) != 1 || d.Arguments[0].Value == nil {
		return fail("want @default(%s: value)", argFor(f.Kind))
	}
	arg := d.Arguments[0]
	kind, ok := defaultArgs[arg.Name]
	if !ok || kind != f.Kind {
		return fail("@default(%s: …) on a %s field; want @default(%s: value)", clip(arg.Name, maxEcho), f.Kind, argFor(f.Kind))
	}
	v := arg.Value
	var in any
	switch {
	case f.Kind == crdt.KindInt && v.Kind == ast.IntValue:
		n, err := strconv.ParseInt(v.Raw, 10, 64)
		if err != nil {
			return fail("default %s is not an Int", clip(v.Raw, maxEcho))
		}
		in = n
	case f.Kind == crdt.KindFloat && (v.Kind == ast.FloatValue || v.Kind == ast.IntValue):
		x, err := strconv.ParseFloat(v.Raw, 64)
		if err != nil {
			return fail("default %s is not a Float", clip(v.Raw, maxEcho))
		}
		in = x
	case f.Kind == crdt.KindBoolean && v.Kind == ast.BooleanValue:
		in = v.Raw == "true"
	case f.Kind == crdt.KindJSON && isString(v):
		in = json.RawMessage(v.Raw)
	case (f.Kind == crdt.KindString || f.Kind == crdt.KindDateTime) && isString(v):
		in = v.Raw
	default:
		return fail("default %s is not a %s", clip(v.String(), maxEcho), f.Kind)
	}
	f.Required = false
	nv, err := f.Normalize(in)
	if err != nil {
		return fail("default: %v", err)
	}
	return nv, nil
}

// argFor returns the @default argument for kind k.
func argFor(k crdt.Kind) string {
	for arg, kind := range defaultArgs {
		if kind == k {
			return arg
		}
	}
	return "value"
}

// newKey returns the key of a field the active version (chain[0]) does not
// have: that of a dropped field of the same name in the chain, when its kind
// and CRDT type match, else AddedKey(f).
func newKey(typ string, chain []*crdt.Schema, f crdt.Field) (string, error) {
	for _, v := range chain[1:] {
		old, ok := v.Field(f.Name)
		if !ok {
			continue
		}
		if !sameType(old, f) {
			if now, renamed := chain[0].FieldByKey(old.ID()); renamed {
				return "", &Error{Type: typ, Field: f.Name, Msg: fmt.Sprintf("an earlier version had it as %s %s, renamed since to %q, which keeps its identity and data; choose another name",
					old.TypeName(), crdtName(old), clip(now.Name, maxEcho))}
			}
			return "", &Error{Type: typ, Field: f.Name, Msg: fmt.Sprintf("an earlier version had it as %s %s and its data is kept; re-add it as %s %s, or choose another name",
				old.TypeName(), crdtName(old), old.TypeName(), crdtName(old))}
		}
		if _, inUse := chain[0].FieldByKey(old.ID()); !inUse {
			return old.ID(), nil
		}
		break
	}
	if m := maxAddedName(f); len(f.Name) > m {
		if m < 1 {
			return "", &Error{Type: typ, Field: f.Name, Msg: fmt.Sprintf("an added field's key names its type, and %s is too long for one (a key is at most %d bytes)",
				clip(f.TypeName(), maxEcho), crdt.MaxFieldNameLen)}
		}
		return "", &Error{Type: typ, Field: f.Name, Msg: fmt.Sprintf("an added %s field's name is at most %d bytes", f.TypeName(), m)}
	}
	return AddedKey(f), nil
}

// sameFields reports whether versions a and b have the same fields: names,
// keys, types, "!", CRDT types and defaults.
func sameFields(a, b *crdt.Schema) bool {
	return slices.EqualFunc(a.Fields, b.Fields, func(x, y crdt.Field) bool {
		return x.Name == y.Name && x.ID() == y.ID() && sameType(x, y) && x.Required == y.Required && x.Default == y.Default
	})
}

// sameType reports whether fields a and b have the same type as SDL spells it
// (kind, list-ness, non-null items, relation target) and the same CRDT type:
// what a field's key fixes.
func sameType(a, b crdt.Field) bool {
	return a.TypeName() == b.TypeName() && crdtName(a) == crdtName(b)
}

// SameShape reports whether a and b declare the same fields as SDL does: names,
// types, "!" and CRDT types, whatever their keys and defaults. AddCollection
// uses it to accept the SDL of a known version.
func SameShape(a, b *crdt.Schema) bool {
	return a.Name == b.Name && slices.EqualFunc(a.Fields, b.Fields, func(x, y crdt.Field) bool {
		return x.Name == y.Name && sameType(x, y) && x.Required == y.Required
	})
}
