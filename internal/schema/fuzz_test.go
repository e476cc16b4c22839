package schema_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// format writes s as SDL that Parse turns back into s.
func format(s *crdt.Schema) string {
	var b strings.Builder
	b.WriteString("type " + s.Name + " {\n")
	for _, f := range s.Fields {
		b.WriteString("  " + f.Name + ": " + f.TypeName())
		if f.Required {
			b.WriteString("!")
		}
		switch {
		case f.Counter:
			b.WriteString(" @crdt(type: pncounter)")
		case f.AddWinsSet:
			b.WriteString(" @crdt(type: set)")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.String()
}

var fuzzSDL = []string{
	seedSDL,
	"",
	"type User",
	"type User {}",
	"type A { a: Int! @crdt(type: pncounter) b: Float @crdt(type: pncounter) c: DateTime! d: JSON e: Boolean f: String @crdt(type: lww) }",
	"type A { a: Int }\ntype B { b: String! }",
	"type A { a: [Int] }",
	"type A { a: A }",
	"type A { a: [Int!]! b: [String!] @crdt(type: set) c: [DateTime] d: B! e: [B] } type B { a: A f: [A] }",
	"type A { a: [JSON] b: [A!] c: [[Int]] d: [Int] @crdt(type: set) }",
	"type A { a(x: Int): Int }",
	"type A @key(fields: \"a\") { a: Int }",
	"type A implements B { a: Int }",
	"enum E { X } union U = A | B input I { a: Int = 1 } scalar S interface N { a: Int }",
	"extend type A { b: Int } schema { query: A } directive @d(a: Int) on FIELD_DEFINITION",
	"\"\"\"doc\"\"\" type A { \"d\" a: Int # comment\n }",
	"type A { a: Int @crdt(type: gcounter) b: Int @crdt c: Int @crdt(type: \"lww\") }",
	"type A { a: Int a: Int } type A { b: Int }",
	"type _A { __a: Int }",
	"type A { a: [[[[[[[[[[Int]]]]]]]]]] }",
	"type A { a: Int @crdt(type: [1, {a: $x}]) }",
	"\xff\xfe type A { a: \"\xff\" }",
}

func FuzzParse(f *testing.F) {
	for _, sdl := range fuzzSDL {
		f.Add(sdl)
	}
	f.Fuzz(func(t *testing.T, sdl string) {
		ss, err := schema.Parse(sdl)
		if err != nil {
			if ss != nil {
				t.Fatal("schemas returned with an error")
			}
			checkFuzzError(t, err)
			return
		}
		if len(ss) == 0 {
			t.Fatal("no schemas and no error")
		}
		names := map[string]bool{}
		for _, s := range ss {
			if names[s.Name] {
				t.Fatalf("type %s returned twice", s.Name)
			}
			names[s.Name] = true
			checkRoundTrip(t, s, ss...)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, sdl := range fuzzSDL {
		if ss, err := schema.Parse(sdl); err == nil {
			for _, s := range ss {
				data, err := schema.Encode(s)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
	valid, err := schema.Encode(mustParseOne(f, `type User { name: String }`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add(valid[:len(valid)-1])
	f.Add(nonMinimal(valid))
	f.Add(encodeList(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.Decode(data)
		if err != nil {
			if s != nil {
				t.Fatal("schema returned with an error")
			}
			checkFuzzError(t, err)
			return
		}
		again, err := schema.Encode(s)
		if err != nil {
			t.Fatalf("Encode of a decoded schema: %v", err)
		}
		if string(again) != string(data) {
			t.Fatalf("Decode accepted non-canonical bytes:\n%x\ncanonical:\n%x", data, again)
		}
		if id := schema.ID(s); !id.Equals(s.ID) {
			t.Fatalf("ID = %s, decoded ID %s", id, s.ID)
		}
		// Whatever Decode accepts, Parse can produce, given the collections its
		// relations name. (Whether an inverse side matches a relation depends on
		// the other collection, which one definition does not hold.)
		p, err := schema.Parse(format(s), relationTargets(s)...)
		if err != nil && strings.Contains(err.Error(), "is the inverse side of a relation") {
			return
		}
		if err != nil {
			t.Fatalf("decoded schema %+v has no SDL form: %v", s, err)
		}
		if len(p) != 1 || !reflect.DeepEqual(p[0], s) {
			t.Fatalf("Parse(format(Decode(data))) = %+v, want %+v", p, s)
		}
	})
}

// relationTargets returns a stand-in for each collection other than s that s's
// relations name, each with one relation back to s.
func relationTargets(s *crdt.Schema) []*crdt.Schema {
	var out []*crdt.Schema
	seen := map[string]bool{s.Name: true}
	for _, f := range s.Fields {
		if f.Kind == crdt.KindRelation && !seen[f.Relation] {
			seen[f.Relation] = true
			out = append(out, &crdt.Schema{Name: f.Relation, Fields: []crdt.Field{{Name: "back", Kind: crdt.KindRelation, Relation: s.Name}}})
		}
	}
	return out
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	var e *schema.Error
	if !errors.As(err, &e) || e.Msg == "" || err.Error() == "" {
		t.Fatalf("error %T %v is not a complete *schema.Error", err, err)
	}
	if !errors.Is(err, schema.ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
}

// checkRoundTrip checks that s, a parsed schema, is well formed and survives
// Encode, Decode and formatting as SDL.
// checkRoundTrip checks s through Encode, Decode and Parse; known holds the
// collections s's relations may name.
func checkRoundTrip(t *testing.T, s *crdt.Schema, known ...*crdt.Schema) {
	t.Helper()
	if len(s.Fields) == 0 || len(s.Fields) > schema.MaxFields {
		t.Fatalf("%d fields", len(s.Fields))
	}
	for i := 1; i < len(s.Fields); i++ {
		if s.Fields[i-1].Name >= s.Fields[i].Name {
			t.Fatalf("fields not sorted: %+v", s.Fields)
		}
	}
	data, err := schema.Encode(s)
	if err != nil {
		t.Fatalf("Encode(%+v): %v", s, err)
	}
	d, err := schema.Decode(data)
	if err != nil {
		t.Fatalf("Decode(Encode(%+v)): %v", s, err)
	}
	if !reflect.DeepEqual(d, s) || !d.ID.Equals(s.ID) || !schema.ID(s).Equals(s.ID) {
		t.Fatalf("round trip: got %+v, want %+v", d, s)
	}
	if len(schema.Diff(s, d)) != 0 {
		t.Fatalf("Diff of equal schemas: %q", schema.Diff(s, d))
	}
	p, err := schema.Parse(format(s), known...)
	if err != nil || len(p) != 1 || !reflect.DeepEqual(p[0], s) {
		t.Fatalf("Parse(format(s)) = %+v, %v; want %+v", p, err, s)
	}
}
