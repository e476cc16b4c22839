package schema_test

import (
	"reflect"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// TestParseKinds checks lists, sets, relations and inverse sides, and pins the
// ID of a definition that uses them.
func TestParseKinds(t *testing.T) {
	ss, err := schema.Parse(`
		type Author { name: String books: [Book] }
		type Book {
			title: String!
			author: Author!
			tags: [String!] @crdt(type: set)
			scores: [Float]!
			days: [DateTime!]
			flags: [Boolean]
			ranks: [Int] @crdt(type: lww)
		}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []crdt.Field{
		{Name: "author", Kind: crdt.KindRelation, Required: true, Relation: "Author"},
		{Name: "days", Kind: crdt.KindDateTime, List: true, ItemsRequired: true},
		{Name: "flags", Kind: crdt.KindBoolean, List: true},
		{Name: "ranks", Kind: crdt.KindInt, List: true},
		{Name: "scores", Kind: crdt.KindFloat, Required: true, List: true},
		{Name: "tags", Kind: crdt.KindString, List: true, ItemsRequired: true, AddWinsSet: true},
		{Name: "title", Kind: crdt.KindString, Required: true},
	}
	if !reflect.DeepEqual(ss[1].Fields, want) {
		t.Errorf("Book fields = %+v\nwant %+v", ss[1].Fields, want)
	}
	books, _ := ss[0].Field("books")
	if !books.Derived() || books.Relation != "Book" {
		t.Errorf("Author.books = %+v, want the derived inverse side of Book.author", books)
	}
	// Pinned: these bytes are a wire format (see canonical.go).
	for i, id := range []string{
		"bafyreibsn3y3lrrziaxpkd36c4drvypjvs4ivtlpqdzrcjft6hl6qfz7e4",
		"bafyreicdv7rfgglstg2vxojdhlh5ehf2vqnzqmhbm7had5bcyjklbabl24",
	} {
		if got := ss[i].ID.String(); got != id {
			t.Errorf("%s ID = %s, want %s", ss[i].Name, got, id)
		}
		checkRoundTrip(t, ss[i], ss...)
	}
}

// TestParseKnown checks relations to collections defined earlier: a relation
// or inverse side may name one, and a type neither in the SDL nor known is
// refused by name.
func TestParseKnown(t *testing.T) {
	authors, err := schema.Parse(`type Author { name: String }`)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := schema.Parse(`type Book { author: Author }`, authors...)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := ss[0].Field("author"); f.Relation != "Author" {
		t.Errorf("author = %+v", f)
	}
	if _, err := schema.Parse(`type Book { author: Author }`); err == nil ||
		err.Error() != `schema: line 1, column 13: type Book, field "author": unknown type "Author" (want String, Int, Float, Boolean, DateTime, JSON or a collection)` {
		t.Errorf("relation to an unknown type: %v", err)
	}
	// An inverse side on a new version of a known type, its relation known.
	if _, err := schema.Parse(`type Author { name: String books: [Book] }`, ss...); err != nil {
		t.Errorf("inverse side of a known relation: %v", err)
	}
	if _, err := schema.Parse(`type Author { name: String books: [Book] }`, &crdt.Schema{Name: "Book",
		Fields: []crdt.Field{{Name: "title", Kind: crdt.KindString}}}); err == nil {
		t.Error("inverse side of a known type without the relation: accepted")
	}
}
