package schema_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/codec/dagjson"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

func TestCanonicalForm(t *testing.T) {
	s := mustParseOne(t, `type User { name: String! age: Int n: Float @crdt(type: pncounter) }`)
	data, err := schema.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes as JSON, to show the structure.
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := dagcbor.Decode(nb, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := dagjson.Encode(nb.Build(), &js); err != nil {
		t.Fatal(err)
	}
	want := `{"fields":[` +
		`{"crdt":"lww","kind":"Int","name":"age","required":false},` +
		`{"crdt":"pncounter","kind":"Float","name":"n","required":false},` +
		`{"crdt":"lww","kind":"String","name":"name","required":true}` +
		`],"name":"User"}`
	if js.String() != want {
		t.Errorf("canonical form as JSON:\n got %s\nwant %s", js.String(), want)
	}

	// The ID is CIDv1, dag-cbor, sha2-256 of the bytes.
	mh, err := multihash.Sum(data, multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	if want := cid.NewCidV1(cid.DagCBOR, mh); !s.ID.Equals(want) {
		t.Errorf("ID = %s, want %s", s.ID, want)
	}
	if !strings.HasPrefix(s.ID.String(), "bafyrei") {
		t.Errorf("ID %s is not base32 dag-cbor sha2-256", s.ID)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, sdl := range []string{
		seedSDL,
		`type Stats { views: Int! @crdt(type: pncounter) score: Float @crdt(type: pncounter) at: DateTime! meta: JSON ok: Boolean }`,
		`type A { a: Int }`,
	} {
		s := mustParseOne(t, sdl)
		data, err := schema.Encode(s)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		got, err := schema.Decode(data)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("Decode(Encode(s)) = %+v, want %+v", got, s)
		}
		if !got.ID.Equals(s.ID) {
			t.Errorf("decoded ID %s, want %s", got.ID, s.ID)
		}
	}
}

func TestEncodeIgnoresID(t *testing.T) {
	s := mustParseOne(t, seedSDL)
	want, _ := schema.Encode(s)
	s2 := &crdt.Schema{Name: s.Name, Fields: s.Fields}
	got, err := schema.Encode(s2)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Encode without ID = %x, %v; want %x", got, err, want)
	}
	if id := schema.ID(s2); id.String() != seedID {
		t.Errorf("ID = %s, want %s", id, seedID)
	}
}

// largest returns the valid schema with the longest encoding.
func largest() *crdt.Schema {
	s := &crdt.Schema{Name: strings.Repeat("T", schema.MaxNameLength)}
	for i := range schema.MaxFields {
		name := fmt.Sprintf("f%03d", i) + strings.Repeat("f", schema.MaxNameLength-4)
		s.Fields = append(s.Fields, crdt.Field{Name: name, Kind: crdt.KindFloat, Required: true, Counter: true})
	}
	return s
}

func TestLargestDefinition(t *testing.T) {
	s := largest()
	data, err := schema.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > schema.MaxEncodedSize {
		t.Fatalf("largest definition is %d bytes, more than MaxEncodedSize %d", len(data), schema.MaxEncodedSize)
	}
	got, err := schema.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Fields, s.Fields) || got.Name != s.Name {
		t.Error("largest definition does not round trip")
	}
	// And it can be written in SDL.
	if p := mustParseOne(t, format(s)); !p.ID.Equals(got.ID) {
		t.Errorf("SDL of the largest definition has ID %s, want %s", p.ID, got.ID)
	}
}

func TestEncodeInvalid(t *testing.T) {
	f := func(name string, k crdt.Kind) crdt.Field { return crdt.Field{Name: name, Kind: k} }
	tooMany := &crdt.Schema{Name: "T"}
	for i := range schema.MaxFields + 1 {
		tooMany.Fields = append(tooMany.Fields, f(fmt.Sprintf("f%03d", i), crdt.KindInt))
	}
	tests := []struct {
		name string
		s    *crdt.Schema
		msg  string
	}{
		{"nil", nil, "no schema"},
		{"no name", &crdt.Schema{Fields: []crdt.Field{f("a", crdt.KindInt)}}, "empty name"},
		{"bad type name", &crdt.Schema{Name: "a b", Fields: []crdt.Field{f("a", crdt.KindInt)}}, "invalid name"},
		{"digit first", &crdt.Schema{Name: "1a", Fields: []crdt.Field{f("a", crdt.KindInt)}}, "invalid name"},
		{"non-ASCII", &crdt.Schema{Name: "Üser", Fields: []crdt.Field{f("a", crdt.KindInt)}}, "invalid name"},
		{"reserved type", &crdt.Schema{Name: "_T", Fields: []crdt.Field{f("a", crdt.KindInt)}}, "reserved"},
		{"scalar type", &crdt.Schema{Name: "JSON", Fields: []crdt.Field{f("a", crdt.KindInt)}}, "scalar"},
		{"long type", &crdt.Schema{Name: strings.Repeat("a", 129), Fields: []crdt.Field{f("a", crdt.KindInt)}}, "limit"},
		{"no fields", &crdt.Schema{Name: "T"}, "no fields"},
		{"too many fields", tooMany, "more than 256"},
		{"bad field name", &crdt.Schema{Name: "T", Fields: []crdt.Field{f("a-b", crdt.KindInt)}}, "invalid name"},
		{"empty field name", &crdt.Schema{Name: "T", Fields: []crdt.Field{f("", crdt.KindInt)}}, "empty name"},
		{"reserved field", &crdt.Schema{Name: "T", Fields: []crdt.Field{f("_a", crdt.KindInt)}}, "reserved"},
		{"unsorted", &crdt.Schema{Name: "T", Fields: []crdt.Field{f("b", crdt.KindInt), f("a", crdt.KindInt)}}, "not sorted"},
		{"duplicate", &crdt.Schema{Name: "T", Fields: []crdt.Field{f("a", crdt.KindInt), f("a", crdt.KindInt)}}, "twice"},
		{"zero kind", &crdt.Schema{Name: "T", Fields: []crdt.Field{f("a", 0)}}, "unknown kind"},
		{"big kind", &crdt.Schema{Name: "T", Fields: []crdt.Field{f("a", 99)}}, "unknown kind"},
		{"string counter", &crdt.Schema{Name: "T", Fields: []crdt.Field{{Name: "a", Kind: crdt.KindString, Counter: true}}}, "counter needs Int or Float"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := schema.Encode(tt.s)
			if err == nil {
				t.Fatalf("Encode succeeded: %x", data)
			}
			checkInvalid(t, err, tt.msg)
			if id := schema.ID(tt.s); id.Defined() {
				t.Errorf("ID = %s, want cid.Undef", id)
			}
		})
	}
}

func checkInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	if !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	var e *schema.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *schema.Error: %v", err, err)
	}
	if !strings.Contains(e.Msg, msg) {
		t.Errorf("error %q, want it to contain %q", err, msg)
	}
}

// encodeNode encodes a hand-built definition, with the canonical key order
// unless sortMode says otherwise.
func encodeNode(t testing.TB, sortMode codec.MapSortMode, fn func(ma datamodel.MapAssembler)) []byte {
	t.Helper()
	n, err := qp.BuildMap(basicnode.Prototype.Map, -1, fn)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (dagcbor.EncodeOptions{MapSortMode: sortMode}).Encode(n, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// def builds a definition with one field whose entries are given; a nil value
// leaves the entry out.
func def(name any, fieldEntries map[string]any) func(ma datamodel.MapAssembler) {
	return func(ma datamodel.MapAssembler) {
		if name != nil {
			qp.MapEntry(ma, "name", value(name))
		}
		qp.MapEntry(ma, "fields", qp.List(-1, func(la datamodel.ListAssembler) {
			qp.ListEntry(la, qp.Map(-1, func(ma datamodel.MapAssembler) {
				for k, v := range fieldEntries {
					qp.MapEntry(ma, k, value(v))
				}
			}))
		}))
	}
}

func value(v any) qp.Assemble {
	switch v := v.(type) {
	case string:
		return qp.String(v)
	case bool:
		return qp.Bool(v)
	case int:
		return qp.Int(int64(v))
	case []byte:
		return qp.Bytes(v)
	case nil:
		return qp.Null()
	case qp.Assemble:
		return v
	}
	panic(fmt.Sprintf("value %T", v))
}

func field(name, kind string, required bool, crdtType string) map[string]any {
	return map[string]any{"name": name, "kind": kind, "required": required, "crdt": crdtType}
}

func TestDecodeInvalid(t *testing.T) {
	valid, err := schema.Encode(mustParseOne(t, `type User { name: String }`))
	if err != nil {
		t.Fatal(err)
	}
	rfc := codec.MapSortMode_RFC7049
	with := func(k string, v any) map[string]any {
		m := field("name", "String", false, "lww")
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "malformed"},
		{"garbage", []byte("type User { name: String }"), "malformed"},
		{"truncated", valid[:len(valid)-1], "malformed"},
		{"trailing byte", append(append([]byte{}, valid...), 0), "malformed"},
		{"two definitions", append(append([]byte{}, valid...), valid...), "malformed"},
		{"too large", make([]byte, schema.MaxEncodedSize+1), "more than the limit"},
		{"not a map", encodeList(t), "want a map"},
		{"string", []byte{0x61, 'a'}, "want a map"},
		{"missing name", encodeNode(t, rfc, def(nil, field("a", "Int", false, "lww"))), "1 keys"},
		{"extra key", encodeNode(t, rfc, func(ma datamodel.MapAssembler) {
			def("User", field("a", "Int", false, "lww"))(ma)
			qp.MapEntry(ma, "version", qp.Int(1))
		}), "3 keys"},
		{"other key", encodeNode(t, rfc, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "nome", qp.String("User"))
			qp.MapEntry(ma, "fields", qp.List(0, func(datamodel.ListAssembler) {}))
		}), `no "name"`},
		{"name not string", encodeNode(t, rfc, def(7, field("a", "Int", false, "lww"))), "want a string"},
		{"name bytes", encodeNode(t, rfc, def([]byte("User"), field("a", "Int", false, "lww"))), "want a string"},
		{"fields not list", encodeNode(t, rfc, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "name", qp.String("User"))
			qp.MapEntry(ma, "fields", qp.String("a"))
		}), "want a list"},
		{"no fields", encodeNode(t, rfc, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "name", qp.String("User"))
			qp.MapEntry(ma, "fields", qp.List(0, func(datamodel.ListAssembler) {}))
		}), "0 fields"},
		{"field not map", encodeNode(t, rfc, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "name", qp.String("User"))
			qp.MapEntry(ma, "fields", qp.List(1, func(la datamodel.ListAssembler) { qp.ListEntry(la, qp.String("a")) }))
		}), "field 0 is a string, want a map"},
		{"field missing kind", encodeNode(t, rfc, def("User", with("kind", nil))), "3 keys"},
		{"field extra key", encodeNode(t, rfc, def("User", with("default", "x"))), "5 keys"},
		{"field name not string", encodeNode(t, rfc, def("User", with("name", 1))), "want a string"},
		{"kind not string", encodeNode(t, rfc, def("User", with("kind", true))), "want a string"},
		{"unknown kind", encodeNode(t, rfc, def("User", with("kind", "Int!"))), `unknown kind "Int!"`},
		{"kind not a name", encodeNode(t, rfc, def("User", with("kind", "a string"))), "unknown kind"},
		{"kind unclosed list", encodeNode(t, rfc, def("User", with("kind", "[Int"))), "unknown kind"},
		{"kind list of lists", encodeNode(t, rfc, def("User", with("kind", "[[Int]]"))), "unknown kind"},
		{"kind list of JSON", encodeNode(t, rfc, def("User", with("kind", "[JSON]"))), "lists of JSON are not supported"},
		{"relation to a scalar-like name", encodeNode(t, rfc, def("User", with("kind", "_x"))), "relation: names starting"},
		{"set on a scalar", encodeNode(t, rfc, def("User", with("crdt", "set"))), "String is not a list"},
		{"set with nullable items", encodeNode(t, rfc, def("User", field("name", "[Int]", false, "set"))), "a set needs non-null items"},
		{"counter on a list", encodeNode(t, rfc, def("User", field("name", "[Int!]", false, "pncounter"))), "counter needs Int or Float, not [Int!]"},
		{"required inverse", encodeNode(t, rfc, def("User", field("name", "[Post]", true, "lww"))), "the inverse side [Post] is derived"},
		{"set relation", encodeNode(t, rfc, def("User", field("name", "Post", false, "set"))), "a relation is last-writer-wins"},
		{"required not bool", encodeNode(t, rfc, def("User", with("required", 1))), "want a bool"},
		{"required null", encodeNode(t, rfc, def("User", with("required", qp.Null()))), "want a bool"},
		{"crdt unknown", encodeNode(t, rfc, def("User", with("crdt", "gcounter"))), "unknown CRDT type"},
		{"crdt not string", encodeNode(t, rfc, def("User", with("crdt", false))), "want a string"},
		{"counter on string", encodeNode(t, rfc, def("User", with("crdt", "pncounter"))), "counter needs Int or Float"},
		{"bad type name", encodeNode(t, rfc, def("Us er", field("a", "Int", false, "lww"))), "invalid name"},
		{"reserved type name", encodeNode(t, rfc, def("_User", field("a", "Int", false, "lww"))), "reserved"},
		{"scalar type name", encodeNode(t, rfc, def("Float", field("a", "Int", false, "lww"))), "scalar"},
		{"bad field name", encodeNode(t, rfc, def("User", field("a\x00", "Int", false, "lww"))), "invalid name"},
		{"reserved field name", encodeNode(t, rfc, def("User", field("__typename", "Int", false, "lww"))), "reserved"},
		{"unsorted fields", encodeNode(t, rfc, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "name", qp.String("User"))
			qp.MapEntry(ma, "fields", qp.List(2, func(la datamodel.ListAssembler) {
				for _, n := range []string{"b", "a"} {
					qp.ListEntry(la, qp.Map(4, func(ma datamodel.MapAssembler) {
						for k, v := range field(n, "Int", false, "lww") {
							qp.MapEntry(ma, k, value(v))
						}
					}))
				}
			}))
		}), "not sorted"},
		{"duplicate fields", encodeNode(t, rfc, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "name", qp.String("User"))
			qp.MapEntry(ma, "fields", qp.List(2, func(la datamodel.ListAssembler) {
				for range 2 {
					qp.ListEntry(la, qp.Map(4, func(ma datamodel.MapAssembler) {
						for k, v := range field("a", "Int", false, "lww") {
							qp.MapEntry(ma, k, value(v))
						}
					}))
				}
			}))
		}), "twice"},
		{"keys not in canonical order", encodeNode(t, codec.MapSortMode_None, func(ma datamodel.MapAssembler) {
			qp.MapEntry(ma, "fields", qp.List(1, func(la datamodel.ListAssembler) {
				qp.ListEntry(la, qp.Map(4, func(ma datamodel.MapAssembler) {
					qp.MapEntry(ma, "crdt", qp.String("lww"))
					qp.MapEntry(ma, "kind", qp.String("String"))
					qp.MapEntry(ma, "name", qp.String("name"))
					qp.MapEntry(ma, "required", qp.Bool(false))
				}))
			}))
			qp.MapEntry(ma, "name", qp.String("User"))
		}), "not in canonical form"},
		{"non-minimal length", nonMinimal(valid), "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := schema.Decode(tt.data)
			if err == nil {
				t.Fatalf("Decode succeeded: %+v", s)
			}
			checkInvalid(t, err, tt.msg)
		})
	}
}

func encodeList(t testing.TB) []byte {
	n, err := qp.BuildList(basicnode.Prototype.Any, 1, func(la datamodel.ListAssembler) {
		qp.ListEntry(la, qp.String("User"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(n, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// nonMinimal re-encodes the first map header of a definition with a one-byte
// length argument: the same data, not canonical.
func nonMinimal(valid []byte) []byte {
	if valid[0] != 0xa2 {
		panic("definition does not start with a map of 2")
	}
	return append([]byte{0xb8, 0x02}, valid[1:]...)
}
