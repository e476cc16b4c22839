package schema_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

const rootSDL = `type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: String }`

// patchChain applies the patches in order to the root of rootSDL and returns the
// chain, newest first.
func patchChain(t *testing.T, sdls ...string) []*crdt.Schema {
	t.Helper()
	chain := []*crdt.Schema{mustParseOne(t, rootSDL)}
	for _, sdl := range sdls {
		v, err := schema.Patch(chain, sdl)
		if err != nil {
			t.Fatalf("patch %q: %v", sdl, err)
		}
		chain = append([]*crdt.Schema{v}, chain...)
	}
	return chain
}

func TestPatchKeepsFieldIdentity(t *testing.T) {
	chain := patchChain(t,
		`type User { fullName: String! @rename(from: "name") age: Int visits: Int @crdt(type: pncounter) nick: String email: String @default(string: "none") }`,
		`type User { fullName: String! age: Int visits: Int @crdt(type: pncounter) email: String @default(string: "none") }`,
	)
	v2, v3 := chain[1], chain[0]
	root := chain[2]
	if !v2.ID.Equals(root.ID) || !v3.ID.Equals(root.ID) {
		t.Fatalf("versions do not keep the root's ID")
	}
	if !v2.Parent.Equals(root.ID) || !v3.Parent.Equals(v2.Version) {
		t.Fatalf("parents: v2 %s, v3 %s", v2.Parent, v3.Parent)
	}
	f, _ := v2.Field("fullName")
	if f.ID() != "name" {
		t.Errorf("renamed field's key %q, want name", f.ID())
	}
	e, _ := v2.Field("email")
	if e.ID() != "email@String/lww" || e.Default != "none" {
		t.Errorf("added field %+v", e)
	}
	if _, ok := v3.Field("nick"); ok {
		t.Error("v3 kept the dropped field")
	}
	if got := strings.Join(schema.VersionDiff(v2, v3), "; "); got != `field "nick": dropped` {
		t.Errorf("diff v2→v3: %s", got)
	}
	if got := strings.Join(schema.VersionDiff(root, v2), "; "); got != `field "email": added; field "fullName": renamed from "name"` {
		t.Errorf("diff v1→v2: %s", got)
	}
	// Re-adding the dropped field revives its key.
	chain4 := append([]*crdt.Schema{mustPatch(t, chain, `type User { fullName: String! age: Int visits: Int @crdt(type: pncounter) email: String nick: String }`)}, chain...)
	if f, _ := chain4[0].Field("nick"); f.ID() != "nick" {
		t.Errorf("revived key %q, want nick", f.ID())
	}
	// The same SDL again changes nothing.
	if same := mustPatch(t, chain, `type User { fullName: String! age: Int visits: Int @crdt(type: pncounter) email: String @default(string: "none") }`); same != v3 {
		t.Error("an unchanged patch made a new version")
	}
	// So does a patch with a rename, applied again (as a program that patches
	// at every start does).
	v2again := mustPatch(t, chain[1:], `type User { fullName: String! @rename(from: "name") age: Int visits: Int @crdt(type: pncounter) nick: String email: String @default(string: "none") }`)
	if v2again != v2 {
		t.Error("a rename applied again made a new version")
	}
	for _, v := range chain[:2] {
		data, err := schema.EncodeVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		back, err := schema.DecodeVersion(data)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Version.Equals(v.Version) || schema.VersionDiff(v, back) != nil {
			t.Errorf("round trip of %s: %v", v.Version, schema.VersionDiff(v, back))
		}
		parent := chain[len(chain)-1]
		if v == chain[0] {
			parent = chain[1]
		}
		if err := schema.CheckVersion(root, parent, back); err != nil {
			t.Errorf("CheckVersion: %v", err)
		}
	}
}

func mustPatch(t *testing.T, chain []*crdt.Schema, sdl string) *crdt.Schema {
	t.Helper()
	v, err := schema.Patch(chain, sdl)
	if err != nil {
		t.Fatalf("patch %q: %v", sdl, err)
	}
	return v
}

func TestPatchDefaults(t *testing.T) {
	for _, tc := range []struct{ decl, want string }{
		{`x: String @default(string: "a")`, "a"},
		{`x: Int @default(int: -3)`, "-3"},
		{`x: Float @default(float: 1.5)`, "1.5"},
		{`x: Boolean @default(bool: true)`, "true"},
		{`x: DateTime @default(dateTime: "2024-01-02T03:04:05+01:00")`, "2024-01-02T02:04:05Z"},
		{`x: JSON @default(json: "{ \"a\": [1, 2] }")`, `{"a":[1,2]}`},
	} {
		v := mustPatch(t, patchChain(t), `type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: String `+tc.decl+` }`)
		f, _ := v.Field("x")
		if got := fmt.Sprint(f.Default); got != tc.want {
			t.Errorf("%s: default %q, want %q", tc.decl, got, tc.want)
		}
	}
}

func TestPatchRefusals(t *testing.T) {
	for _, tc := range []struct {
		sdl, field, msg string
	}{
		{`type User { name: Int! age: Int visits: Int @crdt(type: pncounter) nick: String }`, "name", "cannot change the type from String to Int; add a new field instead"},
		{`type User { name: String! age: Int @crdt(type: pncounter) visits: Int @crdt(type: pncounter) nick: String }`, "age", "cannot change the CRDT type from lww to pncounter; add a new field instead"},
		{`type User { name: String! age: Int visits: Int nick: String }`, "visits", "cannot change the CRDT type from pncounter to lww"},
		{`type User { name: String! age: Int! visits: Int @crdt(type: pncounter) nick: String }`, "age", "cannot make an optional field required without a default"},
		{`type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: String email: String! }`, "email", "a new required field needs a @default"},
		{`type User { name: String! age: Int @default(string: "x") visits: Int @crdt(type: pncounter) nick: String }`, "age", "@default(string: …) on a Int field; want @default(int: value)"},
		{`type User { name: String! age: Int visits: Int @crdt(type: pncounter) @default(int: 1) nick: String }`, "visits", "a counter has no default"},
		{`type User { full: String! @rename(from: "nope") age: Int visits: Int @crdt(type: pncounter) nick: String }`, "full", `the active version has no field "nope"`},
		{`type User { name: String! full: String @rename(from: "name") age: Int visits: Int @crdt(type: pncounter) nick: String }`, "full", `"name" is still declared`},
	} {
		_, err := schema.Patch(patchChain(t), tc.sdl)
		var se *schema.Error
		if !errors.As(err, &se) || !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("%s: error %v, want a *schema.Error", tc.sdl, err)
			continue
		}
		if se.Field != tc.field || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%s: field %q, message %q; want field %q and %q", tc.sdl, se.Field, se.Msg, tc.field, tc.msg)
		}
	}
}

func TestPatchReAddWithOtherTypeRefused(t *testing.T) {
	chain := patchChain(t, `type User { name: String! age: Int visits: Int @crdt(type: pncounter) }`)
	_, err := schema.Patch(chain, `type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: Int }`)
	var se *schema.Error
	if !errors.As(err, &se) || se.Field != "nick" || !strings.Contains(se.Msg, "re-add it as String lww, or choose another name") {
		t.Fatalf("error %v", err)
	}

	// Renamed away rather than dropped, its identity and data went with the
	// new name: re-adding it as it was would not bring them back, and the
	// error does not say it would.
	chain = patchChain(t, `type User { name: String! age: Int visits: Int @crdt(type: pncounter) alias: String @rename(from: "nick") }`)
	_, err = schema.Patch(chain, `type User { name: String! age: Int visits: Int @crdt(type: pncounter) alias: String nick: Int }`)
	if !errors.As(err, &se) || se.Field != "nick" || strings.Contains(se.Msg, "re-add") ||
		!strings.Contains(se.Msg, `renamed since to "alias", which keeps its identity and data; choose another name`) {
		t.Fatalf("error %v", err)
	}
}

func TestCheckVersionRefusesConflicts(t *testing.T) {
	chain := patchChain(t, `type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: String email: String }`)
	root, v2 := chain[1], chain[0]
	bad := func(mut func(s *crdt.Schema)) *crdt.Schema {
		s := *v2
		s.Fields = append([]crdt.Field(nil), v2.Fields...)
		mut(&s)
		return &s
	}
	for name, tc := range map[string]struct {
		v   *crdt.Schema
		msg string
	}{
		"root key with another kind": {bad(func(s *crdt.Schema) { s.Fields[0].Kind = crdt.KindString }), `String lww, but its key "age" is Int lww`},
		"unknown plain key":          {bad(func(s *crdt.Schema) { s.Fields[1].Key = "mail" }), "is not a field of the first version"},
		"wrong parent":               {bad(func(s *crdt.Schema) { s.Parent = schema.ID(mustParseOne(t, `type X { a: Int }`)) }), "parent"},
	} {
		v, err := schema.VersionOf(tc.v)
		if err == nil {
			err = schema.CheckVersion(root, root, v)
		}
		if err == nil || !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one with %q", name, err, tc.msg)
		}
	}
	// An added key that does not name its kind is refused by the format itself.
	_, err := schema.VersionOf(bad(func(s *crdt.Schema) { s.Fields[1].Key = "email@Int/lww" }))
	if err == nil || !strings.Contains(err.Error(), "does not name the field's kind") {
		t.Errorf("mislabelled key: %v", err)
	}
}

func TestDecodeVersionRefusesGarbage(t *testing.T) {
	v2 := patchChain(t, `type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: String email: String @default(string: "x") }`)[0]
	data, err := schema.EncodeVersion(v2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schema.Decode(data); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("Decode of a later version's definition: %v", err)
	}
	for i := range data {
		mut := append([]byte(nil), data...)
		mut[i] ^= 0x55
		if s, err := schema.DecodeVersion(mut); err == nil && schema.VersionDiff(v2, s) == nil && s.Version.Equals(v2.Version) {
			t.Fatalf("byte %d flipped decodes to the same version", i)
		}
	}
	if _, err := schema.DecodeVersion(data[:len(data)-1]); !errors.Is(err, schema.ErrInvalid) {
		t.Errorf("truncated: %v", err)
	}
}

func TestParseRefusesPatchDirectives(t *testing.T) {
	for _, sdl := range []string{`type T { a: Int @default(int: 1) }`, `type T { a: Int @rename(from: "b") }`} {
		_, err := schema.Parse(sdl)
		if err == nil || !strings.Contains(err.Error(), "collection patch") {
			t.Errorf("Parse(%s): %v", sdl, err)
		}
	}
}

// FuzzDecodeVersion: DecodeVersion accepts only canonical version definitions,
// never panics, and what it accepts encodes back to the same bytes.
func FuzzDecodeVersion(f *testing.F) {
	roots, err := schema.Parse(rootSDL)
	if err != nil {
		f.Fatal(err)
	}
	v, err := schema.Patch(roots, `type User { fullName: String! @rename(from: "name") age: Int @default(int: 7) visits: Int @crdt(type: pncounter) j: JSON @default(json: "[1]") }`)
	if err != nil {
		f.Fatal(err)
	}
	data, err := schema.EncodeVersion(v)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{})
	f.Add(data[:len(data)/2])
	// A version with the other kinds: a set, a list, a relation and an inverse side.
	kinds, err := schema.Patch(roots, `type User { name: String! tags: [String!] @crdt(type: set) scores: [Int]
		boss: User team: [User] }`)
	if err != nil {
		f.Fatal(err)
	}
	if data, err = schema.EncodeVersion(kinds); err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := schema.DecodeVersion(data)
		if err != nil {
			if !errors.Is(err, schema.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		back, err := schema.EncodeVersion(v)
		if err != nil || string(back) != string(data) {
			t.Fatalf("accepted bytes do not encode back: %v", err)
		}
	})
}

// TestPatchKeepsDefaultOfRequiredField: a required field added with a
// default (documents without it exist, and read it) cannot lose its default
// while it stays required: they would read null for it, which a GraphQL
// query of the field cannot return. Another default, or making it optional,
// is a patch like any other; a peer's version that dropped it anyway, made
// before the rule, is still accepted.
func TestPatchKeepsDefaultOfRequiredField(t *testing.T) {
	const base = `type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: String `
	chain := patchChain(t, base+`level: Int! @default(int: 1) }`)
	for _, sdl := range []string{
		base + `level: Int! }`,
		base + `lvl: Int! @rename(from: "level") }`,
	} {
		_, err := schema.Patch(chain, sdl)
		var se *schema.Error
		if !errors.As(err, &se) || !strings.Contains(se.Msg, "cannot drop the default of a required field") {
			t.Errorf("%s: %v, want the default kept", sdl, err)
		}
	}
	mustPatch(t, chain, base+`level: Int! @default(int: 2) }`)
	mustPatch(t, chain, base+`level: Int }`)

	// A version that drops it, as a peer may have made one.
	v1 := chain[0]
	s := *v1
	s.Fields = append([]crdt.Field(nil), v1.Fields...)
	for i := range s.Fields {
		if s.Fields[i].Name == "level" {
			s.Fields[i].Default = nil
		}
	}
	s.Parent, s.Version = v1.Version, cid.Undef
	v2, err := schema.VersionOf(&s)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.CheckVersion(chain[len(chain)-1], v1, v2); err != nil {
		t.Fatalf("a peer's version without the default: %v", err)
	}
}

// TestDefinitionsFitTheDecoder: Parse, Patch and Define refuse a definition
// or version that would encode in more than MaxEncodedSize bytes (256 long
// relation fields, a long default), naming the type and the limit: Decode and
// DecodeVersion refuse such bytes, on the node after a restart and on every
// peer. One byte below the limit is made, and decodes.
func TestDefinitionsFitTheDecoder(t *testing.T) {
	typ := "T" + strings.Repeat("t", schema.MaxNameLength-1)
	var b strings.Builder
	b.WriteString("type " + typ + " {")
	for i := range schema.MaxFields {
		fmt.Fprintf(&b, " f%03d%s: %s", i, strings.Repeat("x", schema.MaxNameLength-4), typ)
	}
	b.WriteString(" }")
	refused := func(what string, err error) {
		t.Helper()
		var e *schema.Error
		if !errors.As(err, &e) || !errors.Is(err, schema.ErrInvalid) ||
			!strings.Contains(e.Msg, fmt.Sprintf("more than the limit of %d", schema.MaxEncodedSize)) {
			t.Fatalf("%s: %v, want an *Error over the limit of %d bytes", what, err, schema.MaxEncodedSize)
		}
	}
	_, err := schema.Parse(b.String())
	refused("Parse of 256 long relation fields", err)
	var e *schema.Error
	if errors.As(err, &e); e.Type != typ || e.Line != 1 {
		t.Errorf("Parse's error names type %q at line %d", e.Type, e.Line)
	}

	root := mustParseOne(t, rootSDL)
	withDefault := func(n int) string {
		return `type User { name: String! age: Int visits: Int @crdt(type: pncounter) nick: String @default(string: "` + strings.Repeat("x", n) + `") }`
	}
	_, err = schema.Patch([]*crdt.Schema{root}, withDefault(schema.MaxEncodedSize))
	refused("Patch with a long default", err)
	_, _, err = schema.Define(withDefault(schema.MaxEncodedSize))
	refused("Define with a long default", err)

	// The longest default that fits.
	v := mustPatch(t, []*crdt.Schema{root}, withDefault(0))
	short, err := schema.EncodeVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	n := schema.MaxEncodedSize - len(short)
	for ; n > 0; n-- {
		if v, err = schema.Patch([]*crdt.Schema{root}, withDefault(n)); err == nil {
			break
		}
		refused(fmt.Sprintf("Patch with a default of %d bytes", n), err)
	}
	data, err := schema.EncodeVersion(v)
	if err != nil || len(data) > schema.MaxEncodedSize || len(data) < schema.MaxEncodedSize-8 {
		t.Fatalf("longest version made: %d bytes, %v", len(data), err)
	}
	if _, err := schema.DecodeVersion(data); err != nil {
		t.Fatalf("DecodeVersion of a version Patch made: %v", err)
	}
}

// TestPatchTakesBlockStrings: a patch's directives take GraphQL block strings
// ("""…""") wherever they take strings, JSON without escapes for one, and
// make the version the quoted spellings make.
func TestPatchTakesBlockStrings(t *testing.T) {
	root := mustParseOne(t, rootSDL)
	block := "type User {\n" +
		"\tfullName: String! @rename(from: \"\"\"name\"\"\")\n" +
		"\tage: Int visits: Int @crdt(type: pncounter)\n" +
		"\tnick: String @default(string: \"\"\"\n\t\ttwo\n\t\tlines\n\t\"\"\")\n" +
		"\tmeta: JSON @default(json: \"\"\"{\"a\": [1, \"x\"]}\"\"\") @index(name: \"\"\"by_meta\"\"\")\n" +
		"\tat: DateTime @default(dateTime: \"\"\"2026-01-02T03:04:05Z\"\"\")\n" +
		"}"
	quoted := `type User {
		fullName: String! @rename(from: "name")
		age: Int visits: Int @crdt(type: pncounter)
		nick: String @default(string: "two\nlines")
		meta: JSON @default(json: "{\"a\":[1,\"x\"]}") @index(name: "by_meta")
		at: DateTime @default(dateTime: "2026-01-02T03:04:05Z")
	}`
	got := mustPatch(t, []*crdt.Schema{root}, block)
	want := mustPatch(t, []*crdt.Schema{root}, quoted)
	if !got.VersionID().Equals(want.VersionID()) {
		t.Fatalf("block strings make version %+v, quoted strings %+v", got, want)
	}
	ixs, err := schema.PatchIndexes(block)
	if err != nil || len(ixs) != 1 || ixs[0].Name != "by_meta" {
		t.Fatalf("indexes of block strings: %+v, %v", ixs, err)
	}
}
