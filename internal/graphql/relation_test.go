package graphql_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
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
		{"DefraDB's groupBy on the inverse side", `{ Author { books(groupBy: [title]) { title } } }`, nil,
			`{"errors":[{"message":"Unknown argument \"groupBy\" on field \"books\" of type \"Author\": groupBy groups the documents of a collection's query field, such as Book(groupBy: [genre]); grouping the documents of a relation is not supported.","locations":[{"line":1,"column":18}]}]}`, false},
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
		{"books: null, no book names it, as author: null is a book that names none", `{ a: Author(filter: {books: null}) { name } b: Author(filter: {_not: {books: null}}, order: {name: ASC}) { name } c: _count(Author: {filter: {books: null}}) d: Book(filter: {author: null}) { title } }`, nil,
			`{"data":{"a":[{"name":"Cyd"}],"b":[{"name":"Ada"},{"name":"Bob"}],"c":1,"d":[{"title":"Orphan"}]}}`, true},
		{"books: null as a variable", `query($f: BookFilterArg) { Author(filter: {books: $f}) { name } }`, map[string]any{"f": nil},
			`{"data":{"Author":[{"name":"Cyd"}]}}`, true},
		{"related filters nest, in _or and in aggregates", `{ Book(filter: {_or: [{author: {books: {title: {_eq: "Bobbook"}}}}, {rating: {_gt: 4}}]}, order: {title: ASC}) { title } _count(Book: {filter: {author: {age: {_gt: 30}}}}) }`, nil,
			`{"data":{"Book":[{"title":"Bobbook"},{"title":"Notes"}],"_count":2}}`, true},
		{"a range or a pattern given null on a related document's fields", `{ Book(filter: {author: {books: {rating: {_gt: null}}}}) { title } Author { _count(books: {filter: {author: {name: {_like: null}}}}) } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {author: {books: {rating: {_gt: null}}}}.\nIn field \"author\": In field \"books\": In field \"rating\": In field \"_gt\": Expected a value, found null (_gt compares with a value; _eq: null matches null).","locations":[{"line":1,"column":48}]},` +
				`{"message":"Argument \"books\" has invalid value {filter: {author: {name: {_like: null}}}}.\nIn field \"filter\": In field \"author\": In field \"name\": In field \"_like\": Expected a value, found null (_like matches a pattern; _eq: null matches null).","locations":[{"line":1,"column":124}]}]}`, false},
		{"filter as a variable", `query($f: BookFilterArg) { Book(filter: $f) { title } }`,
			map[string]any{"f": map[string]any{"author": map[string]any{"name": map[string]any{"_eq": "Bob"}}}},
			`{"data":{"Book":[{"title":"Bobbook"}]}}`, true},
		{"order by a related document's field", `{ Book(order: {author: {name: DESC}, title: ASC}) { title } }`, nil,
			`{"data":{"Book":[{"title":"Bobbook"},{"title":"Engine"},{"title":"Notes"},{"title":"Orphan"}]}}`, true},
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
		{"an aggregate within a document that has nothing to aggregate", `{ Book { title _sum(author: {field: age}) } }`, nil,
			`{"errors":[{"message":"Unknown argument \"author\" on field \"_sum\" of type \"Book\": an aggregate within a document takes the inverse side of one of its relations, such as _count(books: {}), or one of its list fields (of numbers, for _sum, _avg, _min and _max), or, on a group of a query with groupBy, _group.","locations":[{"line":1,"column":21}]}]}`, false},
		{"an aggregate in a mutation", `mutation { _count(Book: {}) }`, nil,
			`{"errors":[{"message":"Cannot query field \"_count\" on type \"Mutation\": an aggregate over a collection is a query: it is a field of the Query type only, such as query { _count(User: {}) }.","locations":[{"line":1,"column":12}]}]}`, false},
		{"an aggregate in a subscription", `subscription { _sum(Book: {field: rating}) }`, nil,
			`{"errors":[{"message":"Cannot query field \"_sum\" on type \"Subscription\": an aggregate over a collection is a query: it is a field of the Query type only, such as query { _count(User: {}) }.","locations":[{"line":1,"column":16}]}]}`, false},
		{"the same words on introspection's types are not said", `{ __schema { _count } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_count\" on type \"__Schema\".","locations":[{"line":1,"column":14}]}]}`, false},
		{"showDeleted on a relation", `{ Author { books(showDeleted: true) { title } } }`, nil,
			`{"errors":[{"message":"Unknown argument \"showDeleted\" on field \"books\" of type \"Author\".","locations":[{"line":1,"column":18}]}]}`, false},
		{"docIDs", `mutation { delete_Book(docIDs: ["$Notes"]) { title } }`, nil,
			`{"errors":[{"message":"Unknown argument \"docIDs\" on field \"delete_Book\" of type \"Mutation\": docID takes a list of IDs. Did you mean \"docID\"?","locations":[{"line":1,"column":24}]}]}`, false},
		{"DefraDB's older names of docIDs", `{ a: Book(dockeys: ["x"]) { title } b: Book(ids: ["x"]) { title } c: Book(dockey: "x") { title } }`, nil,
			`{"errors":[{"message":"Unknown argument \"dockeys\" on field \"Book\" of type \"Query\": docID takes a list of IDs.","locations":[{"line":1,"column":11}]},{"message":"Unknown argument \"ids\" on field \"Book\" of type \"Query\": docID takes a list of IDs.","locations":[{"line":1,"column":45}]},{"message":"Unknown argument \"dockey\" on field \"Book\" of type \"Query\": docID takes a list of IDs. Did you mean \"docID\"?","locations":[{"line":1,"column":75}]}]}`, false},
		{"DefraDB's older _key", `{ Book(filter: {_key: {_eq: "x"}}, order: {_key: ASC}) { _key title } }`, nil,
			`{"errors":[{"message":"Argument \"filter\" has invalid value {_key: {_eq: \"x\"}}.\nIn field \"_key\": Unknown field: a document's ID is _docID (DefraDB's older _key).","locations":[{"line":1,"column":16}]},{"message":"Argument \"order\" has invalid value {_key: ASC}.\nIn field \"_key\": Unknown field: a document's ID is _docID (DefraDB's older _key).","locations":[{"line":1,"column":43}]},{"message":"Cannot query field \"_key\" on type \"Book\": a document's ID is _docID (DefraDB's older _key).","locations":[{"line":1,"column":58}]}]}`, false},
		{"commits", `{ commits(docID: "$Ada") { cid } }`, nil,
			`{"errors":[{"message":"Cannot query field \"commits\" on type \"Query\": a document's commits are _commits here: write _commits(docID: \"…\") { cid height }. Did you mean \"_commits\"?","locations":[{"line":1,"column":3}]}]}`, false},
		{"latestCommits", `{ latestCommits(docID: "$Ada") { cid } }`, nil,
			`{"errors":[{"message":"Cannot query field \"latestCommits\" on type \"Query\": a document's latest commits are its _version, such as User(docID: \"…\") { _version { cid } }; for its whole history write _commits(docID: \"…\").","locations":[{"line":1,"column":3}]}]}`, false},
		{"cid where a document is not read at a block", `mutation { update_Book(cid: "x", docID: "$Notes", input: {title: "x"}) { title } }`, nil,
			`{"errors":[{"message":"Unknown argument \"cid\" on field \"update_Book\" of type \"Mutation\": a document is read at a block of its history (cid) by a collection's query field, such as User(docID: \"…\", cid: \"…\"), or listed by _commits(docID: \"…\", cid: \"…\").","locations":[{"line":1,"column":24}]}]}`, false},
		{"_version of a commit", `{ _commits(docID: "x") { _version { cid } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_version\" on type \"Commit\".","locations":[{"line":1,"column":26}]}]}`, false},
		{"any other unknown name as before", `{ Author { nme } }`, nil,
			`{"errors":[{"message":"Cannot query field \"nme\" on type \"Author\". Did you mean \"name\"?","locations":[{"line":1,"column":12}]}]}`, false},
	})
}

// newNode is a node holding the collections of sdl, and its executor, with
// no documents.
func newNode(t testing.TB, sdl string) (*fixture, []*gossipdb.Collection) {
	t.Helper()
	n := nodetest.Open(t, "", nil)
	cols, err := n.AddCollection(context.Background(), sdl)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graphql.New(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{n: n, e: e, ids: map[string]string{}}, cols
}

// titles is the answer of a query for the titles of Books in order.
func titles(field string, list ...string) string {
	var out []string
	for _, t := range list {
		out = append(out, `{"title":"`+t+`"}`)
	}
	return `{"data":{"` + field + `":[` + strings.Join(out, ",") + `]}}`
}

// TestOrderByRelated: an order on a related document's fields, as DefraDB
// writes it ({author: {name: ASC}}), alone or with the collection's own
// fields, as a literal or a variable, on either side of a relation; a book
// without an author sorts as null does, and ties are broken by the document
// ID in the direction of the last key. (It was refused by name.)
func TestOrderByRelated(t *testing.T) {
	f := newLibrary(t)
	// Ada wrote Notes and Engine: between them the document ID decides.
	ada := []string{"Notes", "Engine"}
	if f.ids["$Engine"] < f.ids["$Notes"] {
		ada = []string{"Engine", "Notes"}
	}
	adaDesc := slices.Clone(ada)
	slices.Reverse(adaDesc)
	// By the author's ID: Ada's books and Bob's, in the order of their IDs.
	byAuthorID := append([]string{"Bobbook"}, "Engine", "Notes")
	if f.ids["$Ada"] < f.ids["$Bob"] {
		byAuthorID = []string{"Engine", "Notes", "Bobbook"}
	}
	runCases(t, f, []requestCase{
		{"ascending, null first, then an own field", `{ Book(order: {author: {name: ASC}, title: ASC}) { title author { name } } }`, nil,
			`{"data":{"Book":[{"title":"Orphan","author":null},{"title":"Engine","author":{"name":"Ada"}},{"title":"Notes","author":{"name":"Ada"}},{"title":"Bobbook","author":{"name":"Bob"}}]}}`, true},
		{"descending, null last", `{ Book(order: [{author: {name: DESC}}, {title: DESC}]) { title } }`, nil,
			titles("Book", "Bobbook", "Notes", "Engine", "Orphan"), true},
		{"ties broken by the document ID, ascending", `{ Book(order: {author: {name: ASC}}) { title } }`, nil,
			titles("Book", append(append([]string{"Orphan"}, ada...), "Bobbook")...), true},
		{"ties broken by the document ID, descending", `{ Book(order: {author: {name: DESC}}) { title } }`, nil,
			titles("Book", append(append([]string{"Bobbook"}, adaDesc...), "Orphan")...), true},
		{"the document's own _docID decides ties", `{ Book(order: [{author: {name: DESC}}, {_docID: ASC}]) { title } }`, nil,
			titles("Book", append(append([]string{"Bobbook"}, ada...), "Orphan")...), true},
		{"the related document's ID", `{ Book(order: {author: {_docID: ASC}, title: ASC}) { title } }`, nil,
			titles("Book", append([]string{"Orphan"}, byAuthorID...)...), true},
		{"paged", `{ Book(order: {author: {age: ASC}, title: ASC}, limit: 2, offset: 1) { title } }`, nil,
			titles("Book", "Bobbook", "Engine"), true},
		{"with a filter", `{ Book(filter: {rating: {_ge: 2}}, order: {author: {name: DESC}, rating: DESC}) { title } }`, nil,
			titles("Book", "Bobbook", "Notes", "Engine"), true},
		{"as a variable", `query($o: [BookOrderArg!]) { Book(order: $o) { title } }`,
			map[string]any{"o": []any{map[string]any{"author": map[string]any{"age": "DESC"}}, map[string]any{"title": "ASC"}}},
			titles("Book", "Engine", "Notes", "Bobbook", "Orphan"), true},
		{"a variable within a literal key", `query($a: AuthorOrderArg) { Book(order: [{author: $a}, {title: ASC}]) { title } }`,
			map[string]any{"a": map[string]any{"name": "DESC"}},
			titles("Book", "Bobbook", "Engine", "Notes", "Orphan"), true},
		{"on the inverse side", `{ Author(filter: {name: {_eq: "Ada"}}) { books(order: {author: {name: ASC}, title: DESC}) { title } } }`, nil,
			`{"data":{"Author":[{"books":[{"title":"Notes"},{"title":"Engine"}]}]}}`, true},
		{"a related key sent as a variable names one field", `query($o: [BookOrderArg!]) { Book(order: $o) { title } }`,
			map[string]any{"o": []any{map[string]any{"author": map[string]any{"age": "DESC", "name": "ASC"}}}},
			`{"data":null,"errors":[{"message":"order: a sort key sent as a variable names one field; send a list, such as [{\"name\": \"ASC\"}, {\"age\": \"DESC\"}]","locations":[{"line":1,"column":30}],"path":["Book"]}]}`, true},
		{"ordered by twice", `{ Book(order: [{author: {name: ASC}}, {author: {name: DESC}}]) { title } }`, nil,
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: field \"author.name\": ordered by twice","locations":[{"line":1,"column":3}],"path":["Book"]}]}`, true},
		{"an unknown field of the related document", `{ Book(order: {author: {nme: ASC}}) { title } }`, nil,
			`{"errors":[{"message":"Argument \"order\" has invalid value {author: {nme: ASC}}.\nIn field \"author\": In field \"nme\": Unknown field.","locations":[{"line":1,"column":15}]}]}`, false},
		{"not through the inverse side", `{ Author(order: {books: {title: ASC}}) { name } }`, nil,
			`{"errors":[{"message":"Argument \"order\" has invalid value {books: {title: ASC}}.\nIn field \"books\": Unknown field.","locations":[{"line":1,"column":17}]}]}`, false},
	})

	// graphql-go and the fast path answer alike.
	slow := graphql.WithoutFastPath(f.e)
	for _, q := range []string{
		`{ Book(order: {author: {name: ASC}, title: ASC}) { title _docID } }`,
		`{ Book(order: {author: {age: DESC}}, limit: 1, offset: 1) { title } n: _count(Book: {}) }`,
	} {
		if _, fast := bothWays(t, f.e, slow, client.GraphQLRequest{Query: q}); !fast {
			t.Errorf("%s: not answered by the fast path", q)
		}
	}
}

// TestOrderByRelatedNullsAndDepth: a relation that names a deleted document
// or none sorts as null; keys go through relations to any depth.
func TestOrderByRelatedNullsAndDepth(t *testing.T) {
	f, cols := newNode(t, `
type Agency { name: String writers: [Writer] }
type Writer { name: String agency: Agency novels: [Novel] }
type Novel { title: String writer: Writer }
`)
	ctx := context.Background()
	create := func(c *gossipdb.Collection, key string, doc map[string]any) {
		id, err := c.Create(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		f.ids[key] = string(id)
	}
	create(cols[0], "$North", map[string]any{"name": "North"})
	create(cols[0], "$South", map[string]any{"name": "South"})
	create(cols[1], "$Wan", map[string]any{"name": "Wan", "agency": f.ids["$South"]})
	create(cols[1], "$Xi", map[string]any{"name": "Xi", "agency": f.ids["$North"]})
	create(cols[1], "$Yo", map[string]any{"name": "Yo"})
	create(cols[1], "$Zed", map[string]any{"name": "Zed", "agency": f.ids["$North"]})
	for _, n := range []struct{ title, writer string }{{"a", "$Wan"}, {"b", "$Xi"}, {"c", "$Yo"}, {"d", "$Zed"}, {"e", ""}} {
		doc := map[string]any{"title": n.title}
		if n.writer != "" {
			doc["writer"] = f.ids[n.writer]
		}
		create(cols[2], "$"+n.title, doc)
	}
	if err := cols[1].Delete(ctx, gossipdb.DocID(f.ids["$Zed"])); err != nil {
		t.Fatal(err)
	}
	de := `{"title":"d","writer":null},{"title":"e","writer":null}`
	if f.ids["$e"] < f.ids["$d"] {
		de = `{"title":"e","writer":null},{"title":"d","writer":null}`
	}
	runCases(t, f, []requestCase{
		// d's writer was deleted and e has none: both null, then by title.
		{"one level", `{ Novel(order: [{writer: {name: DESC}}, {title: ASC}]) { title } }`, nil,
			titles("Novel", "c", "b", "a", "d", "e"), true},
		// c's writer has no agency: null too.
		{"two levels", `{ Novel(order: [{writer: {agency: {name: ASC}}}, {title: DESC}]) { title } }`, nil,
			titles("Novel", "e", "d", "c", "b", "a"), true},
		// a, b by agency, descending; then c, d and e have none (null
		// last), and by writer, ascending, d and e have none (null
		// first, then the document ID) and c has Yo.
		{"two levels, then one", `{ Novel(order: {writer: {agency: {name: DESC}, name: ASC}}) { title writer { name agency { name } } } }`, nil,
			`{"data":{"Novel":[{"title":"a","writer":{"name":"Wan","agency":{"name":"South"}}},{"title":"b","writer":{"name":"Xi","agency":{"name":"North"}}},` +
				de + `,{"title":"c","writer":{"name":"Yo","agency":null}}]}}`, true},
		{"as deep as brackets may nest", `{ Novel(order: ` + strings.Repeat(`{writer: `, 130) + `{name: ASC}` + strings.Repeat(`}`, 130) + `) { title } }`, nil,
			`{"errors":[{"message":"brackets nest deeper than the limit of 128","locations":[{"line":1,"column":1150}]}]}`, false},
		{"on the inverse side of an inverse side", `{ Agency(order: {name: ASC}) { name writers(order: {agency: {name: ASC}, name: DESC}) { name } } }`, nil,
			`{"data":{"Agency":[{"name":"North","writers":[{"name":"Xi"}]},{"name":"South","writers":[{"name":"Wan"}]}]}}`, true},
	})
}

// TestOrderByRelatedIsBounded: a sort on a related document's fields holds at
// most gossipdb.MaxSortedResults documents (here lowered to 3), as the Go
// API's sorts do: the first offset+limit with a limit, else every match;
// past it the field fails, saying what to do.
func TestOrderByRelatedIsBounded(t *testing.T) {
	f := newLibrary(t)
	f.e = graphql.WithSortLimit(f.e, 3)
	over := func(line int) string {
		return fmt.Sprintf(`{"data":null,"errors":[{"message":"gossipdb: invalid input: too large: the query sorts more than 3 documents or %d bytes in memory; add a limit or a narrower filter (no index holds a related document's fields)","locations":[{"line":1,"column":%d}],"path":["Book"]}]}`, gossipdb.MaxSortedBytes, line)
	}
	runCases(t, f, []requestCase{
		{"four documents", `{ Book(order: {author: {name: ASC}, title: ASC}) { title } }`, nil, over(3), true},
		{"three after a filter", `{ Book(filter: {author: {_docID: {_ne: null}}}, order: {author: {name: ASC}, title: ASC}) { title } }`, nil,
			titles("Book", "Engine", "Notes", "Bobbook"), true},
		{"with a limit, the first ones", `{ Book(order: {author: {name: DESC}, title: ASC}, limit: 2) { title } }`, nil,
			titles("Book", "Bobbook", "Engine"), true},
		{"offset and limit together", `{ Book(order: {author: {name: DESC}, title: ASC}, limit: 2, offset: 2) { title } }`, nil, over(3), true},
		{"an own order is the Go API's", `{ Book(order: {title: ASC}) { title } }`, nil,
			titles("Book", "Bobbook", "Engine", "Notes", "Orphan"), true},
	})
}
