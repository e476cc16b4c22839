package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"

	"github.com/gossipdb/gossipdb/crdt"
)

// The version definition.
//
// WIRE FORMAT, next to the root definition's (see canonical.go), which it does
// not change: the ID of every later version of a collection is the CID of these
// bytes, and peers exchange and store them. A collection's first version, its
// root, keeps the root format; every later version is encoded with
// go-ipld-prime's dag-cbor codec (map keys in dag-cbor's order) as
//
//	{
//		"root":   <link: the collection's schema ID>,
//		"parent": <link: the version this one evolves from>,
//		"name":   <type name, the root's>,
//		"fields": [                          // 1 to MaxFields entries, sorted by name, bytewise
//			{
//				"name":     <field name>,
//				"key":      <the field's key: its identity in blocks and states>,
//				"kind":     <as in the root format>,
//				"required": <bool>,
//				"crdt":     <as in the root format>,
//				"default":  <canonical value of the kind; only if the field has one>,
//			},
//			…
//		],
//	}
//
// and nothing else. The name, kind, required and crdt entries are those of the
// root format (one field encoding for both). A key is either the name of a
// field of the root, with the root field's kind and CRDT type (renamed or not),
// or AddedKey of the field as it was added: "name@Type/crdt", the type as the
// kind entry spells it ("email@String/lww", "tags@[String!]/set",
// "author@Author/lww"). Keys are unique within a version. A default is the
// canonical block value of the field's kind (DateTime as RFC 3339 text, JSON as
// compact JSON text); counters have none, as they read 0, and lists, sets and
// relations have none.
const (
	keyRoot    = "root"
	keyParent  = "parent"
	keyKey     = "key"
	keyDefault = "default"
)

// MaxChain is the most versions a collection's chain may hold, root included:
// Patch makes no longer one, and versions.FetchChain walks from a version
// towards its root no further.
const MaxChain = 256

// AddedKey returns the key of a field added by a later version: its name, "@",
// its type as SDL spells it (crdt.Field.TypeName) and "/", its CRDT type
// ("nick@String/lww", "tags@[String!]/set", "author@Author/lww"). Naming the
// type and CRDT type makes a key mean one kind and one merge rule on every
// peer: two versions that add the same name independently with different
// types get different keys.
func AddedKey(f crdt.Field) string {
	return f.Name + "@" + f.TypeName() + "/" + crdtName(f)
}

// maxAddedName is the longest name a field added by a later version may have,
// so that its key fits in a block (crdt.MaxFieldNameLen).
func maxAddedName(f crdt.Field) int {
	return crdt.MaxFieldNameLen - len(AddedKey(typeOf(f)))
}

// typeOf returns f without its name, key and default: what AddedKey spells
// after the "@".
func typeOf(f crdt.Field) crdt.Field {
	f.Name, f.Key, f.Default, f.Required = "", "", nil, false
	return f
}

// EncodeVersion returns the version definition of s, a later version of a
// collection (s.ID is the root, s.Parent its parent), whose CID is s's version
// ID. It ignores s.Version. It returns an *Error wrapping ErrInvalid if s breaks
// a rule of the format (see DecodeVersion) or encodes in more than
// MaxEncodedSize bytes (long defaults can make it so). The slice is the caller's.
// EncodeVersion is safe for concurrent use.
func EncodeVersion(s *crdt.Schema) ([]byte, error) {
	if err := validateVersion(s); err != nil {
		return nil, err
	}
	n, err := qp.BuildMap(basicnode.Prototype.Map, 4, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, keyRoot, qp.Link(cidlink.Link{Cid: s.ID}))
		qp.MapEntry(ma, keyParent, qp.Link(cidlink.Link{Cid: s.Parent}))
		qp.MapEntry(ma, keyName, qp.String(s.Name))
		qp.MapEntry(ma, keyFields, qp.List(int64(len(s.Fields)), func(la datamodel.ListAssembler) {
			for _, f := range s.Fields {
				size := int64(5)
				if f.Default != nil {
					size++
				}
				qp.ListEntry(la, qp.Map(size, func(ma datamodel.MapAssembler) {
					assembleField(ma, f)
					qp.MapEntry(ma, keyKey, qp.String(f.ID()))
					if f.Default != nil {
						qp.MapEntry(ma, keyDefault, scalar(f.Default))
					}
				}))
			}
		}))
	})
	if err != nil {
		return nil, fmt.Errorf("schema: building version of %s: %w", s.Name, err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(n, &buf); err != nil {
		return nil, fmt.Errorf("schema: encoding version of %s: %w", s.Name, err)
	}
	if err := checkEncodedSize(s.Name, "version", "give fewer fields, shorter names or shorter defaults", buf.Len()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isID reports whether c is a CIDv1, dag-cbor, sha2-256 with a full digest, as
// every definition's ID is.
func isID(c cid.Cid) bool {
	p := c.Prefix()
	return c.Defined() && p.Version == 1 && p.Codec == idPrefix.Codec && p.MhType == idPrefix.MhType && p.MhLength == 32
}

// scalar assembles a canonical default value, which validateVersion checked.
func scalar(v any) qp.Assemble {
	switch v := v.(type) {
	case string:
		return qp.String(v)
	case int64:
		return qp.Int(v)
	case float64:
		return qp.Float(v)
	case bool:
		return qp.Bool(v)
	}
	panic(fmt.Sprintf("schema: default of type %T", v)) // validateVersion refuses it
}

// VersionOf returns s with its Version set to the CID of EncodeVersion(s).
func VersionOf(s *crdt.Schema) (*crdt.Schema, error) {
	data, err := EncodeVersion(s)
	if err != nil {
		return nil, err
	}
	v := *s
	v.Version = sum(data)
	return &v, nil
}

// DecodeVersion parses a version definition, as returned by EncodeVersion, and
// returns the version with ID (its root), Parent and Version (computed from
// data) set. It accepts exactly the bytes EncodeVersion produces for a valid
// version; anything else is rejected with an *Error that wraps ErrInvalid. It
// checks the version alone; CheckVersion checks it against its root and parent.
// DecodeVersion does not keep data and is safe for concurrent use.
func DecodeVersion(data []byte) (*crdt.Schema, error) {
	if len(data) > MaxEncodedSize {
		return nil, &Error{Msg: fmt.Sprintf("encoded version is %d bytes, more than the limit of %d", len(data), MaxEncodedSize)}
	}
	nb := basicnode.Prototype.Any.NewBuilder()
	opts := dagcbor.DecodeOptions{MaxDepth: 4, AllocationBudget: 4 * MaxEncodedSize, AllowLinks: true}
	if err := opts.Decode(nb, bytes.NewReader(data)); err != nil {
		return nil, &Error{Msg: "malformed version: " + err.Error()}
	}
	s, err := versionFromNode(nb.Build())
	if err != nil {
		return nil, err
	}
	canon, err := EncodeVersion(s)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, data) {
		return nil, &Error{Type: s.Name, Msg: "version is not in canonical form"}
	}
	s.Version = sum(data)
	return s, nil
}

// versionFromNode reads a version out of a decoded definition, checking its
// shape; validateVersion checks the rest.
func versionFromNode(n datamodel.Node) (*crdt.Schema, error) {
	if err := checkKeys(n, "", "version", keyRoot, keyParent, keyName, keyFields); err != nil {
		return nil, err
	}
	name, err := stringAt(n, keyName, "", "", "version")
	if err != nil {
		return nil, err
	}
	s := &crdt.Schema{Name: name}
	for _, k := range []string{keyRoot, keyParent} {
		ln, _ := n.LookupByString(k)
		l, err := ln.AsLink()
		if err != nil {
			return nil, &Error{Type: name, Msg: fmt.Sprintf("%q is a %s, want a link", k, ln.Kind())}
		}
		cl, ok := l.(cidlink.Link)
		if !ok || !isID(cl.Cid) {
			return nil, &Error{Type: name, Msg: fmt.Sprintf("%q is not a CIDv1 dag-cbor sha2-256", k)}
		}
		if k == keyRoot {
			s.ID = cl.Cid
		} else {
			s.Parent = cl.Cid
		}
	}
	list, _ := n.LookupByString(keyFields)
	if list.Kind() != datamodel.Kind_List {
		return nil, &Error{Type: name, Msg: fmt.Sprintf("%q is a %s, want a list", keyFields, list.Kind())}
	}
	if l := list.Length(); l == 0 || l > MaxFields {
		return nil, &Error{Type: name, Msg: fmt.Sprintf("%d fields, want 1 to %d", l, MaxFields)}
	}
	s.Fields = make([]crdt.Field, 0, list.Length())
	for it := list.ListIterator(); !it.Done(); {
		i, fn, err := it.Next()
		if err != nil {
			return nil, &Error{Type: name, Msg: "malformed version: " + err.Error()}
		}
		where := fmt.Sprintf("field %d", i)
		keys := []string{keyName, keyKey, keyKind, keyRequired, keyCRDT}
		if _, err := fn.LookupByString(keyDefault); err == nil {
			keys = append(keys, keyDefault)
		}
		if err := checkKeys(fn, name, where, keys...); err != nil {
			return nil, err
		}
		f, err := fieldFromNode(fn, name, where)
		if err != nil {
			return nil, err
		}
		if f.Key, err = stringAt(fn, keyKey, name, f.Name, where); err != nil {
			return nil, err
		}
		if dn, err := fn.LookupByString(keyDefault); err == nil {
			if f.Default, err = scalarFromNode(dn); err != nil {
				return nil, &Error{Type: name, Field: f.Name, Msg: "default: " + err.Error()}
			}
		}
		s.Fields = append(s.Fields, f)
	}
	return s, nil
}

// scalarFromNode reads a default value.
func scalarFromNode(n datamodel.Node) (any, error) {
	switch n.Kind() {
	case datamodel.Kind_String:
		return n.AsString()
	case datamodel.Kind_Int:
		return n.AsInt()
	case datamodel.Kind_Float:
		return n.AsFloat()
	case datamodel.Kind_Bool:
		return n.AsBool()
	}
	return nil, fmt.Errorf("is a %s, want a scalar", n.Kind())
}

// validateVersion checks that s is a later version EncodeVersion may encode.
func validateVersion(s *crdt.Schema) error {
	if s == nil {
		return &Error{Msg: "no schema"}
	}
	if !isID(s.ID) || !isID(s.Parent) {
		return &Error{Type: s.Name, Msg: "a version needs its root and parent IDs (CIDv1 dag-cbor sha2-256)"}
	}
	if msg := checkName(s.Name); msg != "" {
		return &Error{Type: s.Name, Msg: msg}
	}
	if len(s.Fields) == 0 {
		return &Error{Type: s.Name, Msg: "type has no fields"}
	}
	if len(s.Fields) > MaxFields {
		return &Error{Type: s.Name, Msg: fmt.Sprintf("%d fields, more than %d", len(s.Fields), MaxFields)}
	}
	keys := make(map[string]bool, len(s.Fields))
	for i, f := range s.Fields {
		if i > 0 && s.Fields[i-1].Name >= f.Name {
			if s.Fields[i-1].Name == f.Name {
				return &Error{Type: s.Name, Field: f.Name, Msg: "field defined twice"}
			}
			return &Error{Type: s.Name, Field: f.Name, Msg: "fields not sorted by name"}
		}
		if err := validateField(s.Name, f); err != nil {
			return err
		}
		key := f.ID()
		if keys[key] {
			return &Error{Type: s.Name, Field: f.Name, Msg: fmt.Sprintf("key %q used twice", clip(key, maxEcho))}
		}
		keys[key] = true
		if at := strings.IndexByte(key, '@'); at >= 0 {
			// An added field's key names its kind and CRDT type.
			added := typeOf(f)
			added.Name = key[:at]
			if checkName(added.Name) != "" || AddedKey(added) != key {
				want := typeOf(f)
				want.Name = "name"
				return &Error{Type: s.Name, Field: f.Name, Msg: fmt.Sprintf("key %q does not name the field's kind and CRDT type (want %q)",
					clip(key, maxEcho), clip(AddedKey(want), maxEcho))}
			}
			if len(key) > crdt.MaxFieldNameLen {
				return &Error{Type: s.Name, Field: f.Name, Msg: fmt.Sprintf("key is %d bytes, more than %d", len(key), crdt.MaxFieldNameLen)}
			}
		} else if msg := checkName(key); msg != "" {
			return &Error{Type: s.Name, Field: f.Name, Msg: "key: " + msg}
		}
		if f.Default != nil {
			if err := checkDefault(s.Name, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDefault checks that f's default is a canonical value of its kind.
func checkDefault(typ string, f crdt.Field) error {
	if f.Counter {
		return &Error{Type: typ, Field: f.Name, Msg: "a counter has no default: it reads 0 until added to"}
	}
	if f.List || f.Kind == crdt.KindRelation {
		return &Error{Type: typ, Field: f.Name, Msg: fmt.Sprintf("a %s field has no default", f.TypeName())}
	}
	in := f.Default
	if s, ok := in.(string); ok && f.Kind == crdt.KindJSON {
		in = json.RawMessage(s)
	}
	f.Required = false
	nv, err := f.Normalize(in)
	if err != nil {
		return &Error{Type: typ, Field: f.Name, Msg: "default: " + err.Error()}
	}
	if nv != f.Default {
		return &Error{Type: typ, Field: f.Name, Msg: "default is not in canonical form"}
	}
	return nil
}

// CheckVersion checks that v, a decoded version, is a valid evolution of parent
// within the collection whose root version is root: v names root as its root
// and parent as its parent, keeps the type name, gives each field a key that is
// either a root field's (with its kind and CRDT type) or an added field's (see
// AddedKey), and makes no change Patch refuses to a field it keeps (see Patch).
// Errors are *Error wrapping ErrInvalid and name the field. CheckVersion is safe
// for concurrent use.
func CheckVersion(root, parent, v *crdt.Schema) error {
	switch {
	case !v.ID.Equals(root.ID):
		return &Error{Type: v.Name, Msg: fmt.Sprintf("version of collection %s, not %s", v.ID, root.ID)}
	case !v.Parent.Equals(parent.VersionID()):
		return &Error{Type: v.Name, Msg: fmt.Sprintf("parent %s, not %s", v.Parent, parent.VersionID())}
	case v.Name != root.Name:
		return &Error{Type: v.Name, Msg: fmt.Sprintf("type name differs from the collection's %s", root.Name)}
	}
	for _, f := range v.Fields {
		key := f.ID()
		if !strings.Contains(key, "@") {
			rf, ok := root.Field(key)
			if !ok {
				return &Error{Type: v.Name, Field: f.Name, Msg: fmt.Sprintf("key %q is not a field of the first version", clip(key, maxEcho))}
			}
			if !sameType(rf, f) {
				return &Error{Type: v.Name, Field: f.Name, Msg: fmt.Sprintf("%s %s, but its key %q is %s %s",
					f.TypeName(), crdtName(f), key, rf.TypeName(), crdtName(rf))}
			}
		}
		if pf, ok := parent.FieldByKey(key); ok {
			if err := checkChange(v.Name, pf, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkChange refuses the changes of a kept field that a patch may not make,
// saying what to do instead. The key fixes the type (kind, list-ness, non-null
// items, relation target) and the CRDT type.
func checkChange(typ string, old, f crdt.Field) error {
	switch {
	case old.TypeName() != f.TypeName():
		return &Error{Type: typ, Field: f.Name, Msg: fmt.Sprintf("cannot change the type from %s to %s; add a new field instead", old.TypeName(), f.TypeName())}
	case crdtName(old) != crdtName(f):
		return &Error{Type: typ, Field: f.Name, Msg: fmt.Sprintf("cannot change the CRDT type from %s to %s; add a new field instead", crdtName(old), crdtName(f))}
	case f.Required && !old.Required && f.Default == nil && !f.Counter:
		return &Error{Type: typ, Field: f.Name, Msg: "cannot make an optional field required without a default: documents without it exist; give it a @default or add a new field instead"}
	}
	return nil
}

// VersionDiff describes how version b differs from version a, one change per
// line, fields by key in b's name order, then the fields b drops:
//
//	field "email": added
//	field "fullName": renamed from "name"
//	field "age": default 0 in new
//	field "nick": dropped
//
// and the differences Diff describes for a field kept under its name. It returns
// nil when the versions have the same fields. VersionDiff is safe for concurrent use.
func VersionDiff(a, b *crdt.Schema) []string {
	var diffs []string
	for _, f := range b.Fields {
		old, ok := a.FieldByKey(f.ID())
		if !ok {
			diffs = append(diffs, fmt.Sprintf("field %q: added", f.Name))
			continue
		}
		if old.Name != f.Name {
			diffs = append(diffs, fmt.Sprintf("field %q: renamed from %q", f.Name, old.Name))
			old.Name = f.Name
		}
		diffs = append(diffs, diffField(old, f)...)
		if old.Default != f.Default {
			diffs = append(diffs, fmt.Sprintf("field %q: default %s in new", f.Name, describeDefault(f.Default)))
		}
	}
	for _, f := range a.Fields {
		if _, ok := b.FieldByKey(f.ID()); !ok {
			diffs = append(diffs, fmt.Sprintf("field %q: dropped", f.Name))
		}
	}
	return diffs
}

func describeDefault(v any) string {
	if v == nil {
		return "none"
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", clip(s, maxEcho))
	}
	return fmt.Sprint(v)
}
