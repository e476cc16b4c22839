package schema_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

const (
	bookRoot = `type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author }`
	author   = `type Author { name: String }`
)

// bookChain returns the chain of Book, newest first, after the patches, with
// Author known to the patches.
func bookChain(t *testing.T, sdls ...string) ([]*crdt.Schema, *crdt.Schema) {
	t.Helper()
	ss, err := schema.Parse(bookRoot + author)
	if err != nil {
		t.Fatal(err)
	}
	chain := []*crdt.Schema{ss[0]}
	for _, sdl := range sdls {
		v, err := schema.Patch(chain, sdl, ss[1])
		if err != nil {
			t.Fatalf("patch %q: %v", sdl, err)
		}
		chain = append([]*crdt.Schema{v}, chain...)
	}
	return chain, ss[1]
}

// TestPatchAddsNewKinds: a patch adds a set, a list and a relation, each with a
// key that spells its type, and the version round-trips through its format.
func TestPatchAddsNewKinds(t *testing.T) {
	chain, _ := bookChain(t, `type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author
		labels: [String!] @crdt(type: set) ranks: [Float!] editor: Author }`)
	v := chain[0]
	for name, key := range map[string]string{
		"labels": "labels@[String!]/set", "ranks": "ranks@[Float!]/lww", "editor": "editor@Author/lww",
		"tags": "tags", "author": "author",
	} {
		f, ok := v.Field(name)
		if !ok || f.ID() != key {
			t.Errorf("field %s: key %q, want %q", name, f.ID(), key)
		}
	}
	data, err := schema.EncodeVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := schema.DecodeVersion(data)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Version.Equals(v.Version) || !schema.SameShape(back, v) {
		t.Fatalf("version does not round-trip: %+v", back.Fields)
	}
	if err := schema.CheckVersion(chain[1], chain[1], back); err != nil {
		t.Fatal(err)
	}
	// A key that spells another type than the field's is refused by the format.
	bad := *v
	bad.Fields = append([]crdt.Field(nil), v.Fields...)
	for i, f := range bad.Fields {
		if f.Name == "labels" {
			bad.Fields[i].Key = "labels@[String!]/lww"
		}
	}
	if _, err := schema.EncodeVersion(&bad); err == nil || !strings.Contains(err.Error(), `want "name@[String!]/set"`) {
		t.Errorf("mislabelled set key: %v", err)
	}
}

// TestPatchRefusesKindChanges: changing a kept field's kind, list-ness,
// non-null items, set-ness or a relation's target is refused naming the field;
// so is a default on a list, a set or a relation, and a list or relation
// added required or made required, which no default can allow: the message
// says to keep it optional.
func TestPatchRefusesKindChanges(t *testing.T) {
	for name, tc := range map[string]struct{ sdl, field, msg string }{
		"set to lww list": {`type Book { title: String tags: [String!] scores: [Int] author: Author }`, "tags",
			"CRDT type from set to lww; add a new field instead"},
		"list items": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int!] author: Author }`, "scores",
			"type from [Int] to [Int!]; add a new field instead"},
		"list to scalar": {`type Book { title: String tags: [String!] @crdt(type: set) scores: Int author: Author }`, "scores",
			"type from [Int] to Int"},
		"scalar to list": {`type Book { title: [String] tags: [String!] @crdt(type: set) scores: [Int] author: Author }`, "title",
			"type from String to [String]"},
		"relation target": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Book }`, "author",
			"type from Author to Book"},
		"default on a list": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author
			more: [Int] @default(int: 1) }`, "more", "has no default"},
		"default on a relation": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author
			editor: Author @default(string: "x") }`, "editor", "has no default"},
		"required list added": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author
			more: [Int]! }`, "more", "a required [Int] cannot be added to an existing collection: documents without it exist, and a list has no default for them to read; add it optional (more: [Int])"},
		"required list added with a default": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author
			more: [Int!]! @default(int: 1) }`, "more", "a required [Int!] cannot be added to an existing collection"},
		"required relation added": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author
			editor: Author! }`, "editor", "a relation has no default for them to read; add it optional (editor: Author)"},
		"list made required": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int]! author: Author }`, "scores",
			"a [Int] cannot be made required: documents without it exist, and a list has no default for them to read; keep it optional (scores: [Int])"},
		"relation made required and retargeted": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Book! }`, "author",
			"type from Author to Book"},
		"unknown relation": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author
			shelf: Shelf }`, "shelf", "unknown type"},
	} {
		chain, known := bookChain(t)
		_, err := schema.Patch(chain, tc.sdl, known)
		var se *schema.Error
		if !errors.As(err, &se) || !errors.Is(err, schema.ErrInvalid) || se.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one naming %s with %q", name, err, tc.field, tc.msg)
		}
	}
}

// TestPatchInverseSide: adding and dropping the inverse side of a relation are
// compatible patches, and the inverse side needs its relation.
func TestPatchInverseSide(t *testing.T) {
	ss, err := schema.Parse(bookRoot + author)
	if err != nil {
		t.Fatal(err)
	}
	book, root := ss[0], ss[1]
	v, err := schema.Patch([]*crdt.Schema{root}, `type Author { name: String books: [Book] }`, book)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := v.Field("books"); !ok || !f.Derived() || f.ID() != "books@[Book]/lww" {
		t.Fatalf("inverse side %+v", f)
	}
	if d := schema.VersionDiff(root, v); strings.Join(d, "; ") != `field "books": added` {
		t.Errorf("diff %q", d)
	}
	back, err := schema.Patch([]*crdt.Schema{v, root}, author, book)
	if err != nil || schema.SameShape(back, v) || !schema.SameShape(back, root) {
		t.Fatalf("dropping the inverse side: %v", err)
	}
	if _, err := schema.Patch([]*crdt.Schema{root}, `type Author { name: String books: [Book] }`); err == nil {
		t.Error("an inverse side to an unknown collection was accepted")
	}
}

// TestPatchKeepsOthersInverseSides: a patch of Book that would leave
// Author's inverse side books: [Book] without exactly one relation to derive
// from (a second field of type Author, or none) is refused naming
// Author.books, as Parse refuses both types given together; a rename of the
// relation keeps it. CheckInverses refuses the same of a version given
// without SDL, in both directions.
func TestPatchKeepsOthersInverseSides(t *testing.T) {
	ss, err := schema.Parse(bookRoot + `type Author { name: String books: [Book] }`)
	if err != nil {
		t.Fatal(err)
	}
	book, writer := ss[0], ss[1]
	for name, tc := range map[string]struct{ sdl, msg string }{
		"second relation": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author editor: Author }`,
			"but this version of Book has 2 fields of type Author (author, editor): which one is ambiguous; patch Author to drop books first"},
		"relation dropped": {`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] }`,
			"but this version of Book has no field of type Author; patch Author to drop books first"},
	} {
		_, err := schema.Patch([]*crdt.Schema{book}, tc.sdl, book, writer)
		var se *schema.Error
		if !errors.As(err, &se) || !errors.Is(err, schema.ErrInvalid) || se.Type != "Author" || se.Field != "books" || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%s: error %v, want one naming Author.books with %q", name, err, tc.msg)
		}
	}
	renamed, err := schema.Patch([]*crdt.Schema{book},
		`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] writer: Author @rename(from: "author") }`, book, writer)
	if err != nil {
		t.Fatalf("renaming the relation: %v", err)
	}
	if err := schema.CheckInverses(renamed, writer); err != nil {
		t.Fatal(err)
	}

	// Without SDL: the version of Book with two relations to Author, made
	// where Author has no inverse side, checked against Author with one…
	bare, err := schema.Parse(bookRoot + author)
	if err != nil {
		t.Fatal(err)
	}
	two, err := schema.Patch([]*crdt.Schema{bare[0]},
		`type Book { title: String tags: [String!] @crdt(type: set) scores: [Int] author: Author editor: Author }`, bare[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.CheckInverses(two, bare[1]); err != nil {
		t.Fatalf("no inverse side: %v", err)
	}
	if err := schema.CheckInverses(two, writer); err == nil || !strings.Contains(err.Error(), `type Author, field "books"`) {
		t.Errorf("Book with two relations against Author with books: %v", err)
	}
	// …and Author with the inverse side against that Book, and against a
	// collection the node does not define, which is not checked.
	if err := schema.CheckInverses(writer, two); err == nil ||
		!strings.Contains(err.Error(), `type Author, field "books": [Book] is the inverse side of a relation, but Book has 2 fields of type Author (author, editor): which one is ambiguous`) {
		t.Errorf("Author with books against Book with two relations: %v", err)
	}
	if err := schema.CheckInverses(writer); err != nil {
		t.Errorf("an inverse side of an undefined collection: %v", err)
	}
}
