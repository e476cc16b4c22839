package graphql_test

import (
	"context"
	"testing"

	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

const librarySDL = `
type Author { name: String age: Int books: [Book] }
type Book { title: String rating: Float author: Author }
`

// newLibrary is a node with authors and their books: Ada wrote Notes (4.5) and
// Engine (3), Bob wrote Bobbook (2), Cyd none, and Orphan has no author.
func newLibrary(t testing.TB) *fixture {
	t.Helper()
	n := nodetest.Open(t, "", nil)
	cols, err := n.AddCollection(context.Background(), librarySDL)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{n: n, e: e, ids: map[string]string{}}
	ctx := context.Background()
	authors, books := cols[0], cols[1]
	for _, a := range []map[string]any{{"name": "Ada", "age": 36}, {"name": "Bob", "age": 25}, {"name": "Cyd"}} {
		id, err := authors.Create(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		f.ids["$"+a["name"].(string)] = string(id)
	}
	for _, b := range []map[string]any{
		{"title": "Notes", "rating": 4.5, "author": f.ids["$Ada"]},
		{"title": "Engine", "rating": 3, "author": f.ids["$Ada"]},
		{"title": "Bobbook", "rating": 2, "author": f.ids["$Bob"]},
		{"title": "Orphan"},
	} {
		id, err := books.Create(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		f.ids["$"+b["title"].(string)] = string(id)
	}
	return f
}

// TestRelations: relations as DefraDB writes them, one and two levels deep,
// from either side, in filters and in mutations. (A relation field once read
// as its ID, typed JSON, and the inverse side as null.)
func TestRelations(t *testing.T) {
	f := newLibrary(t)
	runCases(t, f, []requestCase{
		{"the related document and its ID", `{ Book(order: {title: ASC}) { title _authorID author { name } } }`, nil,
			`{"data":{"Book":[{"title":"Bobbook","_authorID":"$Bob","author":{"name":"Bob"}},{"title":"Engine","_authorID":"$Ada","author":{"name":"Ada"}},{"title":"Notes","_authorID":"$Ada","author":{"name":"Ada"}},{"title":"Orphan","_authorID":null,"author":null}]}}`, true},
		{"the inverse side", `{ Author(order: {name: ASC}) { name books(order: {title: ASC}) { title } } }`, nil,
			`{"data":{"Author":[{"name":"Ada","books":[{"title":"Engine"},{"title":"Notes"}]},{"name":"Bob","books":[{"title":"Bobbook"}]},{"name":"Cyd","books":[]}]}}`, true},
		{"the inverse side with filter and limit", `{ Author(filter: {name: {_eq: "Ada"}}) { books(filter: {rating: {_gt: 2}}, order: {rating: DESC}, limit: 1) { title } } }`, nil,
			`{"data":{"Author":[{"books":[{"title":"Notes"}]}]}}`, true},
		{"two levels deep", `{ Book(filter: {title: {_eq: "Bobbook"}}) { author { name books { title author { age } } } } }`, nil,
			`{"data":{"Book":[{"author":{"name":"Bob","books":[{"title":"Bobbook","author":{"age":25}}]}}]}}`, true},
		{"filter by the related document's fields", `{ Book(filter: {author: {name: {_eq: "Ada"}}}, order: {title: ASC}) { title } }`, nil,
			`{"data":{"Book":[{"title":"Engine"},{"title":"Notes"}]}}`, true},
		{"filter by the related document's ID", `{ a: Book(filter: {author: {_docID: {_eq: "$Bob"}}}) { title } b: Book(filter: {_authorID: {_in: ["$Bob"]}}) { title } c: Book(filter: {_authorID: {_eq: null}}) { title } }`, nil,
			`{"data":{"a":[{"title":"Bobbook"}],"b":[{"title":"Bobbook"}],"c":[{"title":"Orphan"}]}}`, true},
		{"a related filter that matches nothing", `{ Book(filter: {author: {name: {_eq: "Zed"}}}) { title } }`, nil,
			`{"data":{"Book":[]}}`, true},
		{"filter by the inverse side: some book matches", `{ Author(filter: {books: {rating: {_gt: 2.5}}}) { name } }`, nil,
			`{"data":{"Author":[{"name":"Ada"}]}}`, true},
		{"no book matches", `{ Author(filter: {_not: {books: {title: {_like: "%"}}}}) { name } }`, nil,
			`{"data":{"Author":[{"name":"Cyd"}]}}`, true},
		{"related filters nest, in _or and in aggregates", `{ Book(filter: {_or: [{author: {books: {title: {_eq: "Bobbook"}}}}, {rating: {_gt: 4}}]}, order: {title: ASC}) { title } _count(Book: {filter: {author: {age: {_gt: 30}}}}) }`, nil,
			`{"data":{"Book":[{"title":"Bobbook"},{"title":"Notes"}],"_count":2}}`, true},
		{"filter as a variable", `query($f: BookFilterArg) { Book(filter: $f) { title } }`,
			map[string]any{"f": map[string]any{"author": map[string]any{"name": map[string]any{"_eq": "Bob"}}}},
			`{"data":{"Book":[{"title":"Bobbook"}]}}`, true},
		{"ordering by a related field is refused by name", `{ Book(order: {author: {name: ASC}}) { title } }`, nil,
			`{"data":null,"errors":[{"message":"order: ordering by the fields of a related document (author: {…}) is not supported; order by the collection's own fields","locations":[{"line":1,"column":3}],"path":["Book"]}]}`, true},
		{"create with _authorID, answer the author", `mutation { create_Book(input: [{title: "New", _authorID: "$Cyd"}, {title: "Newer", author: "$Cyd"}]) { title author { name books(order: {title: ASC}) { title } } } }`, nil,
			`{"data":{"create_Book":[{"title":"New","author":{"name":"Cyd","books":[{"title":"New"},{"title":"Newer"}]}},{"title":"Newer","author":{"name":"Cyd","books":[{"title":"New"},{"title":"Newer"}]}}]}}`, true},
		{"update by a related filter, clear the relation", `mutation { update_Book(filter: {author: {name: {_eq: "Cyd"}}}, input: {_authorID: null}) { _authorID author { name } } }`, nil,
			`{"data":{"update_Book":[{"_authorID":null,"author":null},{"_authorID":null,"author":null}]}}`, true},
		{"not both author and _authorID", `mutation { update_Book(docID: "$Orphan", input: {author: "$Ada", _authorID: "$Bob"}) { title } }`, nil,
			`{"data":null,"errors":[{"message":"input: give author or _authorID, not both","locations":[{"line":1,"column":12}],"path":["update_Book"]}]}`, true},
		{"the inverse side is not an input", `mutation { create_Author(input: {name: "Eve", books: []}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"input\" has invalid value {name: \"Eve\", books: []}.\nIn field \"books\": Unknown field.","locations":[{"line":1,"column":33}]}]}`, false},
	})
}

// TestUnsupported: the forms of DefraDB's language this API lacks are refused
// naming what is not supported.
func TestUnsupported(t *testing.T) {
	f := newLibrary(t)
	runCases(t, f, []requestCase{
		{"an aggregate within a document", `{ Author { name _count(books: {}) } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_count\" on type \"Author\": aggregates within a document are not supported; use one at the top level, such as _count(Book: {filter: {author: {_docID: {_eq: \"…\"}}}}).","locations":[{"line":1,"column":17}]}]}`, false},
		{"groupBy", `{ Author(groupBy: [age]) { age } }`, nil,
			`{"errors":[{"message":"Unknown argument \"groupBy\" on field \"Author\" of type \"Query\": groupBy is not supported.","locations":[{"line":1,"column":10}]}]}`, false},
		{"docIDs", `mutation { delete_Book(docIDs: ["$Notes"]) { title } }`, nil,
			`{"errors":[{"message":"Unknown argument \"docIDs\" on field \"delete_Book\" of type \"Mutation\": docID takes a list of IDs. Did you mean \"docID\"?","locations":[{"line":1,"column":24}]}]}`, false},
		{"commits", `{ commits { cid } }`, nil,
			`{"errors":[{"message":"Cannot query field \"commits\" on type \"Query\": commits queries are not supported.","locations":[{"line":1,"column":3}]}]}`, false},
		{"any other unknown name as before", `{ Author { nme } }`, nil,
			`{"errors":[{"message":"Cannot query field \"nme\" on type \"Author\". Did you mean \"name\"?","locations":[{"line":1,"column":12}]}]}`, false},
	})
}
