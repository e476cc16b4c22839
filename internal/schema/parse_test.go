package schema_test

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// seedSDL is the collection of the seed walkthrough.
const seedSDL = `type User { name: String age: Int verified: Boolean points: Float }`

// seedID is the schema ID of seedSDL. It is asserted literally so that any
// change to the canonical form, which would change every ID, fails a test.
const seedID = "bafyreic5hee5jg5db67xzzg47jcw5hj2cwsx7sfyrtbhhkrgheuuruys7q"

func mustParse(t testing.TB, sdl string) []*crdt.Schema {
	t.Helper()
	ss, err := schema.Parse(sdl)
	if err != nil {
		t.Fatalf("Parse(%q): %v", sdl, err)
	}
	return ss
}

func mustParseOne(t testing.TB, sdl string) *crdt.Schema {
	t.Helper()
	ss := mustParse(t, sdl)
	if len(ss) != 1 {
		t.Fatalf("Parse(%q): %d schemas, want 1", sdl, len(ss))
	}
	return ss[0]
}

func TestParseSeed(t *testing.T) {
	s := mustParseOne(t, seedSDL)
	if s.Name != "User" {
		t.Errorf("Name = %q, want User", s.Name)
	}
	want := []crdt.Field{
		{Name: "age", Kind: crdt.KindInt},
		{Name: "name", Kind: crdt.KindString},
		{Name: "points", Kind: crdt.KindFloat},
		{Name: "verified", Kind: crdt.KindBoolean},
	}
	if !reflect.DeepEqual(s.Fields, want) {
		t.Errorf("Fields = %+v, want %+v", s.Fields, want)
	}
	if got := s.ID.String(); got != seedID {
		t.Errorf("ID = %s, want %s", got, seedID)
	}
	if got := schema.ID(s); !got.Equals(s.ID) {
		t.Errorf("ID(s) = %s, want s.ID %s", got, s.ID)
	}
	if f, ok := s.Field("verified"); !ok || f.Kind != crdt.KindBoolean {
		t.Errorf("Field(verified) = %+v, %v", f, ok)
	}
}

func TestParseMultipleTypes(t *testing.T) {
	ss := mustParse(t, `
		type User { name: String }
		type Post { title: String! body: String }
		type Comment { text: String }
	`)
	var names []string
	for _, s := range ss {
		names = append(names, s.Name)
	}
	if want := []string{"User", "Post", "Comment"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %v, want %v", names, want)
	}
	if !ss[0].ID.Equals(mustParseOne(t, `type User { name: String }`).ID) {
		t.Error("User's ID depends on the other types in the input")
	}
	want := []crdt.Field{{Name: "body", Kind: crdt.KindString}, {Name: "title", Kind: crdt.KindString, Required: true}}
	if !reflect.DeepEqual(ss[1].Fields, want) {
		t.Errorf("Post fields = %+v, want %+v", ss[1].Fields, want)
	}
}

func TestParseScalars(t *testing.T) {
	s := mustParseOne(t, `type All {
		s: String
		i: Int
		f: Float
		b: Boolean
		d: DateTime
		j: JSON
		rs: String!
		ri: Int!
		rf: Float!
		rb: Boolean!
		rd: DateTime!
		rj: JSON!
	}`)
	want := []crdt.Field{
		{Name: "b", Kind: crdt.KindBoolean},
		{Name: "d", Kind: crdt.KindDateTime},
		{Name: "f", Kind: crdt.KindFloat},
		{Name: "i", Kind: crdt.KindInt},
		{Name: "j", Kind: crdt.KindJSON},
		{Name: "rb", Kind: crdt.KindBoolean, Required: true},
		{Name: "rd", Kind: crdt.KindDateTime, Required: true},
		{Name: "rf", Kind: crdt.KindFloat, Required: true},
		{Name: "ri", Kind: crdt.KindInt, Required: true},
		{Name: "rj", Kind: crdt.KindJSON, Required: true},
		{Name: "rs", Kind: crdt.KindString, Required: true},
		{Name: "s", Kind: crdt.KindString},
	}
	if !reflect.DeepEqual(s.Fields, want) {
		t.Errorf("Fields = %+v\nwant %+v", s.Fields, want)
	}
}

func TestParseCounters(t *testing.T) {
	s := mustParseOne(t, `type Stats {
		views: Int @crdt(type: pncounter)
		likes: Int! @crdt(type: pncounter)
		score: Float @crdt(type: pncounter)
		weight: Float! @crdt(type: pncounter)
		plain: Int @crdt(type: lww)
		title: String @crdt(type: lww)
	}`)
	want := []crdt.Field{
		{Name: "likes", Kind: crdt.KindInt, Required: true, Counter: true},
		{Name: "plain", Kind: crdt.KindInt},
		{Name: "score", Kind: crdt.KindFloat, Counter: true},
		{Name: "title", Kind: crdt.KindString},
		{Name: "views", Kind: crdt.KindInt, Counter: true},
		{Name: "weight", Kind: crdt.KindFloat, Required: true, Counter: true},
	}
	if !reflect.DeepEqual(s.Fields, want) {
		t.Errorf("Fields = %+v\nwant %+v", s.Fields, want)
	}
}

func TestSameDefinitionSameID(t *testing.T) {
	variants := []string{
		seedSDL,
		`type User { points: Float verified: Boolean age: Int name: String }`,
		"type User{name:String,age:Int,verified:Boolean,points:Float}",
		"\n\n\ttype   User\n{\n  name :  String\n\n  age: Int\r\n  verified: Boolean\n  points: Float\n}\n\n",
		`# the users
		type User { # who
			name: String # their name
			age: Int
			verified: Boolean
			points: Float
		}`,
		`"""A user."""
		type User {
			"the name" name: String
			"""
			the age
			"""
			age: Int
			verified: Boolean @crdt(type: lww)
			points: Float @crdt(type: lww)
		}`,
	}
	for _, sdl := range variants {
		s := mustParseOne(t, sdl)
		if got := s.ID.String(); got != seedID {
			t.Errorf("Parse(%q).ID = %s, want %s", sdl, got, seedID)
		}
	}
}

func TestDifferentDefinitionDifferentID(t *testing.T) {
	const base = `type User { name: String age: Int n: Int }`
	tests := []struct {
		name string
		sdl  string
	}{
		{"type name", `type Users { name: String age: Int n: Int }`},
		{"type name case", `type user { name: String age: Int n: Int }`},
		{"field name", `type User { nome: String age: Int n: Int }`},
		{"field name case", `type User { Name: String age: Int n: Int }`},
		{"kind", `type User { name: String age: Float n: Int }`},
		{"kind DateTime", `type User { name: DateTime age: Int n: Int }`},
		{"kind JSON", `type User { name: JSON age: Int n: Int }`},
		{"required", `type User { name: String! age: Int n: Int }`},
		{"required other", `type User { name: String age: Int! n: Int }`},
		{"counter", `type User { name: String age: Int n: Int @crdt(type: pncounter) }`},
		{"required counter", `type User { name: String age: Int n: Int! @crdt(type: pncounter) }`},
		{"extra field", `type User { name: String age: Int n: Int x: Int }`},
		{"missing field", `type User { name: String age: Int }`},
	}
	seen := map[string]string{mustParseOne(t, base).ID.String(): "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := mustParseOne(t, tt.sdl).ID.String()
			if other, ok := seen[id]; ok {
				t.Errorf("%s has the same ID as %s: %s", tt.name, other, id)
			}
			seen[id] = tt.name
		})
	}
}

func TestParseLimits(t *testing.T) {
	name := strings.Repeat("n", schema.MaxNameLength)
	s := mustParseOne(t, "type "+name+" { "+name+": Int }")
	if s.Name != name || s.Fields[0].Name != name {
		t.Errorf("long names not kept")
	}

	var b strings.Builder
	b.WriteString("type Wide {\n")
	for i := range schema.MaxFields {
		fmt.Fprintf(&b, "  f%d: Int\n", i)
	}
	b.WriteString("}\n")
	if s := mustParseOne(t, b.String()); len(s.Fields) != schema.MaxFields {
		t.Errorf("%d fields, want %d", len(s.Fields), schema.MaxFields)
	}

	sdl := seedSDL + "\n#"
	sdl += strings.Repeat("x", schema.MaxInputSize-len(sdl))
	if s := mustParseOne(t, sdl); s.ID.String() != seedID {
		t.Errorf("input of exactly MaxInputSize: ID %s, want %s", s.ID, seedID)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", schema.MaxNameLength+1)
	var wide strings.Builder
	wide.WriteString("type Wide {\n")
	for i := range schema.MaxFields + 1 {
		fmt.Fprintf(&wide, "  f%d: Int\n", i)
	}
	wide.WriteString("}\n")

	tests := []struct {
		name       string
		sdl        string
		typ, field string // want in Error
		line, col  int
		msg        string // want in Msg
	}{
		{"empty", "", "", "", 0, 0, "no type definition"},
		{"blank", " \n\t# only a comment\n", "", "", 0, 0, "no type definition"},
		{"too large", seedSDL + strings.Repeat(" ", schema.MaxInputSize), "", "", 0, 0, "more than the limit"},
		{"syntax", "type User {\n  name: String\n  age Int\n}", "", "", 3, 7, "syntax error"},
		{"unterminated", "type User {\n  name: String\n", "", "", 3, 1, "syntax error"},
		{"empty braces", "type User {}", "", "", 1, 12, "syntax error"},
		{"query", "{ users { name } }", "", "", 1, 1, "syntax error"},
		{"no fields", "type User", "User", "", 1, 6, "no fields"},
		{"unknown scalar", "type User {\n  id: ID\n}", "User", "id", 2, 3, `unknown type "ID"`},
		{"unknown type", "type User {\n  name: String\n    friend: Person\n}", "User", "friend", 3, 5, `unknown type "Person"`},
		{"list of lists", "type User {\n  tags: [[String]]\n}", "User", "tags", 2, 3, "lists of lists are not supported"},
		{"list of JSON", "type User {\n  tags: [JSON]\n}", "User", "tags", 2, 3, "lists of JSON are not supported"},
		{"list of unknown", "type User {\n  tags: [Tag!]\n}", "User", "tags", 2, 3, `unknown type "Tag"`},
		{"inverse required", "type User {\n  posts: [Post]!\n}\ntype Post { by: User }", "User", "posts", 2, 3, "declare it [Post], without \"!\""},
		{"inverse items required", "type User {\n  posts: [Post!]\n}\ntype Post { by: User }", "User", "posts", 2, 3, "declare it [Post]"},
		{"inverse without relation", "type User {\n  posts: [Post]\n}\ntype Post { title: String }", "User", "posts", 2, 3, "[Post] is the inverse side of a relation, but Post has no field of type User"},
		{"inverse ambiguous", "type User {\n  posts: [Post]\n}\ntype Post { by: User, editor: User! }", "User", "posts", 2, 3, "Post has 2 fields of type User (by, editor): which one is ambiguous"},
		{"set not a list", "type User {\n  n: String @crdt(type: set)\n}", "User", "n", 2, 14, "@crdt(type: set) needs a list of String, Int, Float, Boolean or DateTime, not String"},
		{"set of relations", "type User {\n  n: [User] @crdt(type: set)\n}", "User", "n", 2, 14, "needs a list of String"},
		{"set nullable items", "type User {\n  n: [Int] @crdt(type: set)\n}", "User", "n", 2, 13, "@crdt(type: set) needs non-null items: declare [Int!]"},
		{"set required", "type User {\n  n: [Int!]! @crdt(type: set)\n}", "User", "n", 2, 15, "cannot be required"},
		{"counter on a list", "type User {\n  n: [Int] @crdt(type: pncounter)\n}", "User", "n", 2, 13, "needs Int or Float, not [Int]"},
		{"counter on a relation", "type User {\n  n: User @crdt(type: pncounter)\n}", "User", "n", 2, 12, "needs Int or Float, not User"},
		{"duplicate field", "type User {\n  name: String\n  name: Int\n}", "User", "name", 3, 3, "field defined twice (first at line 2, column 3)"},
		{"duplicate type", "type User { name: String }\n\ntype User { name: String }", "User", "", 3, 6, "type defined twice (first at line 1, column 6)"},
		{"interface", "type User { name: String }\ninterface Named { name: String }", "", "", 2, 11, "interface Named: only object types"},
		{"enum", "enum Color { RED }", "", "", 1, 6, "enum Color: only object types"},
		{"input", "input UserInput { name: String }", "", "", 1, 7, "input UserInput: only object types"},
		{"union", "type A { a: Int }\nunion U = A", "", "", 2, 7, "union U: only object types"},
		{"scalar", "scalar Time\ntype User { t: Time }", "", "", 1, 8, "scalar Time: only object types"},
		{"schema", "schema { query: User }\ntype User { name: String }", "", "", 1, 8, "schema definitions are not supported"},
		{"extend", "type User { name: String }\nextend type User { age: Int }", "", "", 2, 13, "extend type User: extensions are not supported"},
		{"directive definition", "directive @unique on FIELD_DEFINITION\ntype User { name: String }", "", "", 1, 12, "directive definitions are not supported"},
		{"first unsupported reported", "type User { name: String }\nenum B { X }\ninput A { a: Int }", "", "", 2, 6, "enum B"},
		{"implements", "type User implements Node {\n  id: String\n}", "User", "", 1, 6, "implements is not supported"},
		{"type directive", "type User @key(fields: \"id\") {\n  id: String\n}", "User", "", 1, 12, "directive @key is not supported on a type"},
		{"arguments", "type User {\n  name(lang: String): String\n}", "User", "name", 2, 3, "field arguments are not supported"},
		{"other directive", "type User {\n  name: String @unique\n}", "User", "name", 2, 17, "directive @unique is not supported"},
		{"deprecated", "type User {\n  name: String @deprecated\n}", "User", "name", 2, 17, "directive @deprecated is not supported"},
		{"crdt unknown type", "type User {\n  n: Int @crdt(type: gcounter)\n}", "User", "n", 2, 11, "unknown CRDT type gcounter"},
		{"crdt string arg", "type User {\n  n: Int @crdt(type: \"pncounter\")\n}", "User", "n", 2, 11, `unknown CRDT type "pncounter"`},
		{"crdt no args", "type User {\n  n: Int @crdt\n}", "User", "n", 2, 11, "want @crdt(type: lww), @crdt(type: pncounter) or @crdt(type: set)"},
		{"crdt wrong arg", "type User {\n  n: Int @crdt(kind: pncounter)\n}", "User", "n", 2, 11, "want @crdt(type: lww)"},
		{"crdt two args", "type User {\n  n: Int @crdt(type: pncounter, type: lww)\n}", "User", "n", 2, 11, "want @crdt(type: lww)"},
		{"crdt twice", "type User {\n  n: Int @crdt(type: lww) @crdt(type: pncounter)\n}", "User", "n", 2, 28, "@crdt given twice"},
		{"counter on String", "type User {\n  n: String @crdt(type: pncounter)\n}", "User", "n", 2, 14, "needs Int or Float, not String"},
		{"counter on Boolean", "type User {\n  n: Boolean! @crdt(type: pncounter)\n}", "User", "n", 2, 16, "needs Int or Float, not Boolean"},
		{"counter on DateTime", "type User {\n  n: DateTime @crdt(type: pncounter)\n}", "User", "n", 2, 16, "needs Int or Float, not DateTime"},
		{"reserved type", "type _User { name: String }", "_User", "", 1, 6, `names starting with "_" are reserved`},
		{"reserved field", "type User {\n  _id: String\n}", "User", "_id", 2, 3, `names starting with "_" are reserved`},
		{"reserved field __typename", "type User {\n  __typename: String\n}", "User", "__typename", 2, 3, "reserved"},
		{"scalar type name", "type Int { n: Int }", "Int", "", 1, 6, "type name is a scalar"},
		{"long type name", "type " + long + " { n: Int }", long, "", 1, 6, "more than the limit of 128"},
		{"long field name", "type User {\n  " + long + ": Int\n}", "User", long, 2, 3, "more than the limit of 128"},
		{"too many fields", wide.String(), "Wide", "", schema.MaxFields + 2, 3, "more than 256 fields"},
		{"second type invalid", "type User { name: String }\ntype Post {\n  tags: [[String]]\n}", "Post", "tags", 3, 3, "lists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss, err := schema.Parse(tt.sdl)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", ss)
			}
			if ss != nil {
				t.Errorf("Parse returned schemas with its error")
			}
			if !errors.Is(err, schema.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var e *schema.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not a *schema.Error: %v", err, err)
			}
			if e.Type != tt.typ || e.Field != tt.field || e.Line != tt.line || e.Column != tt.col {
				t.Errorf("error = {Type %q, Field %q, Line %d, Column %d}, want {%q, %q, %d, %d}\n%v",
					e.Type, e.Field, e.Line, e.Column, tt.typ, tt.field, tt.line, tt.col, err)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", e.Msg, tt.msg)
			}
			text := err.Error()
			if !strings.HasPrefix(text, "schema: ") {
				t.Errorf("message %q lacks the package prefix", text)
			}
			if tt.line > 0 && !strings.Contains(text, "line "+strconv.Itoa(tt.line)+", column "+strconv.Itoa(tt.col)+": ") {
				t.Errorf("message %q does not give line %d, column %d", text, tt.line, tt.col)
			}
			if tt.typ != "" && !strings.Contains(text, "type "+shown(tt.typ)) {
				t.Errorf("message %q does not name type %s", text, tt.typ)
			}
			if tt.field != "" && !strings.Contains(text, "field "+strconv.Quote(shown(tt.field))) {
				t.Errorf("message %q does not name field %q", text, tt.field)
			}
		})
	}
}

// shown returns name as error messages show it: cut after MaxNameLength bytes.
func shown(name string) string {
	if len(name) > schema.MaxNameLength {
		return name[:schema.MaxNameLength] + "…"
	}
	return name
}

// TestErrorMessageSize checks that a huge input does not make a huge message.
func TestErrorMessageSize(t *testing.T) {
	huge := strings.Repeat("x", schema.MaxInputSize-100)
	for _, sdl := range []string{
		"type " + huge + " { a: Int }",
		"type A { " + huge + ": Int }",
		"type A { a: " + huge + " }",
		"type A { a: Int @" + huge + " }",
		"type A { a: Int @crdt(type: \"" + huge + "\") }",
		"type A { a: Int @crdt(type: " + huge + ") }",
		"enum " + huge + " { A }",
		"type A { a: Int } " + huge,
		"type A { a: Int } \"" + huge,
		"type A { a: Int } \"\"\"" + huge,
	} {
		_, err := schema.Parse(sdl)
		if err == nil {
			t.Fatalf("Parse(%.40q…) succeeded", sdl)
		}
		if len(err.Error()) > 600 {
			t.Errorf("Parse(%.40q…): message of %d bytes: %.100s…", sdl, len(err.Error()), err)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := schema.Parse("type User {\n  name: String\n    friend: Person\n}")
	want := `schema: line 3, column 5: type User, field "friend": unknown type "Person" (want String, Int, Float, Boolean, DateTime, JSON or a collection)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}

	tests := []struct {
		err  *schema.Error
		want string
	}{
		{&schema.Error{Msg: "no type definition"}, "schema: no type definition"},
		{&schema.Error{Type: "User", Msg: "m"}, "schema: type User: m"},
		{&schema.Error{Type: "User", Field: "age", Msg: "m"}, `schema: type User, field "age": m`},
		{&schema.Error{Field: "age", Msg: "m"}, `schema: field "age": m`},
		{&schema.Error{Type: "not a name", Msg: "m"}, `schema: type "not a name": m`},
		{&schema.Error{Line: 2, Column: 9, Msg: "m"}, "schema: line 2, column 9: m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
