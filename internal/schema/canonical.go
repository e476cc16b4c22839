package schema

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/crdt"
)

// The canonical definition.
//
// WIRE FORMAT: the schema ID of every collection is the CID of these bytes, and
// peers exchange and store them. Changing anything here (a key, a value's
// spelling, the order of fields, the codec, the hash) changes every schema ID and
// splits the network. Do not; add a new format next to this one instead.
//
// A definition is encoded with go-ipld-prime's dag-cbor codec (map keys in
// dag-cbor's canonical length-first order) as
//
//	{
//		"name":   <type name, string>,
//		"fields": [                          // 1 to MaxFields entries, sorted by name, bytewise
//			{
//				"name":     <field name, string>,
//				"kind":     <the field's type as SDL spells it, without the outer "!">,
//				"required": <bool>,          // declared with "!"
//				"crdt":     "lww" | "pncounter" | "set",
//			},
//			…
//		],
//		"policy": {…},                       // a restricted collection's only: see policy.go
//	}
//
// and nothing else: no other keys, no links, no descriptions. A kind is a scalar
// ("String", "Int", "Float", "Boolean", "DateTime", "JSON"), a list of a scalar
// other than JSON with nullable or non-null items ("[Int]", "[Int!]"), a
// collection's name for a relation ("Author"), or a list of one for the inverse
// side of a relation ("[Book]"); a name that is not a scalar's names a
// collection, so a scalar added later must take a name no collection may have
// had (every collection name is checked not to be a scalar's, as of its
// definition). Kinds and "crdt" values beyond "lww", "pncounter" and the six
// scalars are newer spellings: every definition that uses only the older ones
// encodes, and so is identified, exactly as before them. Names follow the
// GraphQL name syntax, do not start with "_" and are at most MaxNameLength bytes;
// the type name is not a scalar name; "pncounter" is only allowed with "Int" or
// "Float", "set" only with a list of non-null items that is not required; an
// inverse side is neither required nor has non-null items. The inverse side is
// part of the definition because the definition is all a node keeps and passes
// on of a collection: it holds no data, but without it the field would be gone
// after a restart and on peers. The schema ID is the CIDv1 of the bytes with
// codec dag-cbor (0x71) and multihash sha2-256.
const (
	keyName     = "name"
	keyFields   = "fields"
	keyKind     = "kind"
	keyRequired = "required"
	keyCRDT     = "crdt"
)

// idPrefix describes schema IDs: CIDv1, dag-cbor, sha2-256.
var idPrefix = cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}

// Encode returns the canonical definition of s, whose CID (v1, dag-cbor,
// sha2-256) is s's schema ID: the dag-cbor encoding of
//
//	{"name": "User", "fields": [{"name": "age", "kind": "Int", "required": false, "crdt": "lww"}, …]}
//
// with the fields sorted by name and "crdt" "lww", "pncounter" or "set". It is a
// wire format: peers exchange these bytes, and changing them changes every ID.
// Encode ignores s.ID. It returns an *Error wrapping ErrInvalid if s is not a definition
// Parse could have produced: invalid or reserved names, no or too many fields,
// fields not sorted by name or repeated, an unknown kind, a counter that is
// not Int or Float, or more than MaxEncodedSize bytes of encoding. The
// returned slice belongs to the caller. Encode is safe for concurrent use.
func Encode(s *crdt.Schema) ([]byte, error) {
	if err := validate(s); err != nil {
		return nil, err
	}
	n, err := qp.BuildMap(basicnode.Prototype.Map, 3, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, keyName, qp.String(s.Name))
		qp.MapEntry(ma, keyFields, qp.List(int64(len(s.Fields)), func(la datamodel.ListAssembler) {
			for _, f := range s.Fields {
				qp.ListEntry(la, qp.Map(4, func(ma datamodel.MapAssembler) { assembleField(ma, f) }))
			}
		}))
		if s.Policy != nil {
			assemblePolicy(ma, s.Policy)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("schema: building definition of %s: %w", s.Name, err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(n, &buf); err != nil {
		return nil, fmt.Errorf("schema: encoding definition of %s: %w", s.Name, err)
	}
	if err := checkEncodedSize(s.Name, "definition", "give fewer fields or shorter names", buf.Len()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkEncodedSize refuses a definition of type typ (what: "definition" or
// "version") that encodes in more than MaxEncodedSize bytes, saying what to do
// instead: Decode and DecodeVersion, on this node after a restart and on every
// peer, would refuse it.
func checkEncodedSize(typ, what, instead string, size int) error {
	if size <= MaxEncodedSize {
		return nil
	}
	return &Error{Type: typ, Msg: fmt.Sprintf("the %s encodes in %d bytes, more than the limit of %d: %s",
		what, size, MaxEncodedSize, instead)}
}

// assembleField writes the entries every format gives a field: name, kind (its
// type as SDL spells it, see crdt.Field.TypeName), required and crdt.
func assembleField(ma datamodel.MapAssembler, f crdt.Field) {
	qp.MapEntry(ma, keyName, qp.String(f.Name))
	qp.MapEntry(ma, keyKind, qp.String(f.TypeName()))
	qp.MapEntry(ma, keyRequired, qp.Bool(f.Required))
	qp.MapEntry(ma, keyCRDT, qp.String(crdtName(f)))
}

// parseKind reads a canonical kind ("Int", "[Int!]", "Author", "[Book]") into
// the Kind, List, ItemsRequired and Relation of a field. Names are left to
// validate.
func parseKind(k string) (crdt.Field, bool) {
	var f crdt.Field
	if inner, ok := strings.CutPrefix(k, "["); ok {
		if k, ok = strings.CutSuffix(inner, "]"); !ok {
			return f, false
		}
		f.List = true
		k, f.ItemsRequired = strings.CutSuffix(k, "!")
	}
	if kind, ok := crdt.KindByName(k); ok {
		f.Kind = kind
		return f, true
	}
	f.Kind, f.Relation = crdt.KindRelation, k
	return f, validName(k)
}

// ID returns the schema ID of s: the CID of Encode(s). It returns cid.Undef if s
// is not valid (see Encode). It ignores s.ID. ID is safe for concurrent use.
func ID(s *crdt.Schema) cid.Cid {
	data, err := Encode(s)
	if err != nil {
		return cid.Undef
	}
	return sum(data)
}

func sum(data []byte) cid.Cid {
	id, err := idPrefix.Sum(data)
	if err != nil {
		// sha2-256 is always available; this cannot happen.
		panic("schema: hashing definition: " + err.Error())
	}
	return id
}

// setID computes s.ID.
func setID(s *crdt.Schema) error {
	data, err := Encode(s)
	if err != nil {
		return err
	}
	s.ID = sum(data)
	return nil
}

// Decode parses a canonical definition, as returned by Encode, and returns the
// schema with its ID computed from data. It accepts exactly the bytes Encode
// produces for a valid schema: anything else (malformed or non-canonical
// dag-cbor, a missing or extra key, a wrong type, an invalid definition, more
// than MaxEncodedSize bytes) is rejected with an *Error that wraps ErrInvalid.
// Decode does not keep data; the schema belongs to the caller. Decode is safe
// for concurrent use.
func Decode(data []byte) (*crdt.Schema, error) {
	if len(data) > MaxEncodedSize {
		return nil, &Error{Msg: fmt.Sprintf("encoded definition is %d bytes, more than the limit of %d", len(data), MaxEncodedSize)}
	}
	nb := basicnode.Prototype.Any.NewBuilder()
	opts := dagcbor.DecodeOptions{MaxDepth: 4, AllocationBudget: 4 * MaxEncodedSize}
	if err := opts.Decode(nb, bytes.NewReader(data)); err != nil {
		return nil, &Error{Msg: "malformed definition: " + err.Error()}
	}
	s, err := fromNode(nb.Build())
	if err != nil {
		return nil, err
	}
	// Encode validates s. Comparing its bytes with data rejects every other
	// encoding of the same definition, so one definition has one ID.
	canon, err := Encode(s)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, data) {
		return nil, &Error{Type: s.Name, Msg: "definition is not in canonical form"}
	}
	s.ID = sum(data)
	return s, nil
}

// fromNode reads a schema out of a decoded definition, checking its shape.
// Names and their rules are left to validate.
func fromNode(n datamodel.Node) (*crdt.Schema, error) {
	keys := []string{keyName, keyFields}
	if pn, err := n.LookupByString(keyPolicy); err == nil && pn != nil {
		keys = append(keys, keyPolicy)
	}
	if err := checkKeys(n, "", "definition", keys...); err != nil {
		return nil, err
	}
	name, err := stringAt(n, keyName, "", "", "definition")
	if err != nil {
		return nil, err
	}
	list, _ := n.LookupByString(keyFields)
	if list.Kind() != datamodel.Kind_List {
		return nil, &Error{Type: name, Msg: fmt.Sprintf("%q is a %s, want a list", keyFields, list.Kind())}
	}
	if l := list.Length(); l == 0 || l > MaxFields {
		return nil, &Error{Type: name, Msg: fmt.Sprintf("%d fields, want 1 to %d", l, MaxFields)}
	}
	s := &crdt.Schema{Name: name, Fields: make([]crdt.Field, 0, list.Length())}
	for it := list.ListIterator(); !it.Done(); {
		i, fn, err := it.Next()
		if err != nil {
			return nil, &Error{Type: name, Msg: "malformed definition: " + err.Error()}
		}
		where := fmt.Sprintf("field %d", i)
		if err := checkKeys(fn, name, where, keyName, keyKind, keyRequired, keyCRDT); err != nil {
			return nil, err
		}
		f, err := fieldFromNode(fn, name, where)
		if err != nil {
			return nil, err
		}
		s.Fields = append(s.Fields, f)
	}
	if len(keys) == 3 {
		pn, _ := n.LookupByString(keyPolicy)
		if s.Policy, err = policyFromNode(pn, name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// fieldFromNode reads the entries every format gives a field (name, kind,
// required, crdt) out of field map fn of type typ, which has them.
func fieldFromNode(fn datamodel.Node, typ, where string) (crdt.Field, error) {
	fname, err := stringAt(fn, keyName, typ, "", where)
	if err != nil {
		return crdt.Field{}, err
	}
	kname, err := stringAt(fn, keyKind, typ, fname, where)
	if err != nil {
		return crdt.Field{}, err
	}
	f, ok := parseKind(kname)
	if !ok {
		return crdt.Field{}, &Error{Type: typ, Field: fname, Msg: fmt.Sprintf("unknown kind %q", clip(kname, maxEcho))}
	}
	rn, _ := fn.LookupByString(keyRequired)
	required, err := rn.AsBool()
	if err != nil {
		return crdt.Field{}, &Error{Type: typ, Field: fname, Msg: fmt.Sprintf("%q is a %s, want a bool", keyRequired, rn.Kind())}
	}
	ct, err := stringAt(fn, keyCRDT, typ, fname, where)
	if err != nil {
		return crdt.Field{}, err
	}
	if ct != crdtLWW && ct != crdtPNCounter && ct != crdtSet {
		return crdt.Field{}, &Error{Type: typ, Field: fname, Msg: fmt.Sprintf("unknown CRDT type %q", clip(ct, maxEcho))}
	}
	f.Name, f.Required, f.Counter, f.AddWinsSet = fname, required, ct == crdtPNCounter, ct == crdtSet
	return f, nil
}

// checkKeys checks that n is a map with exactly the given keys.
func checkKeys(n datamodel.Node, typ, where string, keys ...string) error {
	if n.Kind() != datamodel.Kind_Map {
		return &Error{Type: typ, Msg: fmt.Sprintf("%s is a %s, want a map", where, n.Kind())}
	}
	if n.Length() != int64(len(keys)) {
		return &Error{Type: typ, Msg: fmt.Sprintf("%s has %d keys, want %s", where, n.Length(), strings.Join(keys, ", "))}
	}
	for _, k := range keys {
		if _, err := n.LookupByString(k); err != nil {
			return &Error{Type: typ, Msg: fmt.Sprintf("%s has no %q", where, k)}
		}
	}
	return nil
}

// stringAt returns the string under key in map n, which has the key.
func stringAt(n datamodel.Node, key, typ, field, where string) (string, error) {
	v, _ := n.LookupByString(key)
	s, err := v.AsString()
	if err != nil {
		return "", &Error{Type: typ, Field: field, Msg: fmt.Sprintf("%s: %q is a %s, want a string", where, key, v.Kind())}
	}
	return s, nil
}

// validate checks that s is a definition Parse could have produced.
func validate(s *crdt.Schema) error {
	if s == nil {
		return &Error{Msg: "no schema"}
	}
	if s.Parent.Defined() {
		return &Error{Type: s.Name, Msg: "a later version has the version format (see EncodeVersion)"}
	}
	for _, f := range s.Fields {
		if f.ID() != f.Name || f.Default != nil {
			return &Error{Type: s.Name, Field: f.Name, Msg: "a first version's field has its name as key and no default"}
		}
	}
	if msg := checkName(s.Name); msg != "" {
		return &Error{Type: s.Name, Msg: msg}
	}
	if _, ok := crdt.KindByName(s.Name); ok {
		return &Error{Type: s.Name, Msg: "type name is a scalar"}
	}
	if len(s.Fields) == 0 {
		return &Error{Type: s.Name, Msg: "type has no fields"}
	}
	if s.Policy != nil {
		if msg := checkPolicy(s.Policy); msg != "" {
			return &Error{Type: s.Name, Msg: msg}
		}
	}
	if len(s.Fields) > MaxFields {
		return &Error{Type: s.Name, Msg: fmt.Sprintf("%d fields, more than %d", len(s.Fields), MaxFields)}
	}
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
	}
	return nil
}

// validateField checks the rules every format has for one field of type typ:
// its name, and its kind and CRDT type together (see checkField).
func validateField(typ string, f crdt.Field) error {
	if msg := checkName(f.Name); msg != "" {
		return &Error{Type: typ, Field: f.Name, Msg: msg}
	}
	if msg := checkField(f); msg != "" {
		return &Error{Type: typ, Field: f.Name, Msg: msg}
	}
	return nil
}

// checkField returns why f's kind and CRDT type cannot go together, or "" if
// they can (see the canonical definition).
func checkField(f crdt.Field) string {
	_, scalar := crdt.KindByName(f.Kind.String())
	switch {
	case f.Kind == crdt.KindRelation:
		if msg := checkName(f.Relation); msg != "" {
			return "relation: " + msg
		}
		if _, ok := crdt.KindByName(f.Relation); ok {
			return "relation to a scalar"
		}
		if f.Counter || f.AddWinsSet {
			return "a relation is last-writer-wins, not a counter or a set"
		}
		if f.List && (f.Required || f.ItemsRequired) {
			return fmt.Sprintf("the inverse side %s is derived: neither required nor with required items", f.TypeName())
		}
		return ""
	case !scalar:
		return fmt.Sprintf("unknown kind %s", f.Kind)
	case f.Relation != "":
		return fmt.Sprintf("%s names collection %s but is not a relation", f.TypeName(), clip(f.Relation, maxEcho))
	case !f.List && (f.ItemsRequired || f.AddWinsSet):
		return fmt.Sprintf("%s is not a list", f.TypeName())
	case f.List && f.Kind == crdt.KindJSON:
		return "lists of JSON are not supported"
	case f.Counter && (f.List || (f.Kind != crdt.KindInt && f.Kind != crdt.KindFloat)):
		return fmt.Sprintf("counter needs Int or Float, not %s", f.TypeName())
	case f.Counter && f.AddWinsSet:
		return "both a counter and a set"
	case f.AddWinsSet && (!f.ItemsRequired || f.Required):
		return fmt.Sprintf("a set needs non-null items and no outer \"!\", not %s", f.TypeName())
	}
	return ""
}

// checkName returns why name cannot name a type or field, or "" if it can.
func checkName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case len(name) > MaxNameLength:
		return fmt.Sprintf("name is %d bytes, more than the limit of %d", len(name), MaxNameLength)
	case !validName(name):
		return fmt.Sprintf("invalid name %q", clip(name, maxEcho))
	case name[0] == '_':
		return "names starting with \"_\" are reserved"
	}
	return ""
}

// validName reports whether name follows the GraphQL name syntax
// /[_A-Za-z][_0-9A-Za-z]*/.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
