package gossipdb_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/gossipdb/gossipdb"
)

// A node in memory: define a collection, write a document and read it back.
func Example() {
	ctx := context.Background()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		panic(err)
	}
	defer n.Close()

	cols, err := n.AddCollection(ctx, `type User { name: String age: Int }`)
	if err != nil {
		panic(err)
	}
	users := cols[0]
	id, err := users.Create(ctx, map[string]any{"name": "Ada", "age": 36})
	if err != nil {
		panic(err)
	}
	if err := users.Update(ctx, id, map[string]any{"age": 37}); err != nil {
		panic(err)
	}
	doc, err := users.Get(ctx, id)
	if err != nil {
		panic(err)
	}
	fmt.Println(doc.Fields["name"], doc.Fields["age"])
	// Output: Ada 37
}

// Field values are checked against the collection's types.
func ExampleCollection_Create_badInput() {
	ctx := context.Background()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		panic(err)
	}
	defer n.Close()
	cols, _ := n.AddCollection(ctx, `type User { name: String age: Int }`)
	_, err = cols[0].Create(ctx, map[string]any{"age": "abc"})
	fmt.Println(err)
	// Output: gossipdb: invalid input: field "age": want Int, got "abc"
}

// Counters add up increments from every replica.
func ExampleCollection_Update_counter() {
	ctx := context.Background()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		panic(err)
	}
	defer n.Close()
	cols, _ := n.AddCollection(ctx, `type Page { views: Int @crdt(type: pncounter) }`)
	pages := cols[0]
	id, _ := pages.Create(ctx, map[string]any{"views": 1})
	pages.Update(ctx, id, map[string]any{"views": 2})
	pages.Update(ctx, id, map[string]any{"views": -1})
	doc, _ := pages.Get(ctx, id)
	fmt.Println(doc.Fields["views"])
	// Output: 2
}

// A patch changes a collection without rewriting it: documents keep their IDs,
// a renamed field keeps its value, and an added one reads as its default.
func ExampleCollection_Patch() {
	ctx := context.Background()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		panic(err)
	}
	defer n.Close()
	cols, _ := n.AddCollection(ctx, `type User { name: String age: Int visits: Int @crdt(type: pncounter) }`)
	users := cols[0]
	id, _ := users.Create(ctx, map[string]any{"name": "Ada", "age": 36})

	res, err := users.Patch(ctx, `type User {
		fullName: String @rename(from: "name")
		visits: Int @crdt(type: pncounter)
		email: String @default(string: "none")
	}`)
	if err != nil {
		panic(err)
	}
	for _, change := range res.Diff {
		fmt.Println(change)
	}
	doc, _ := users.Get(ctx, id)
	fmt.Println(doc.Fields["fullName"], doc.Fields["email"], doc.Fields["visits"], users.SchemaID() == res.Parent)

	_, err = users.Patch(ctx, `type User { fullName: Int visits: Int @crdt(type: pncounter) }`)
	fmt.Println(err)
	// Output:
	// field "email": added
	// field "fullName": renamed from "name"
	// field "age": dropped
	// Ada none 0 true
	// gossipdb: invalid input: schema: type User, field "fullName": cannot change the type from String to Int; add a new field instead
}

// A multi-user application writes each user's changes with the user's own key:
// every node that receives them sees who wrote them, and can check it.
func ExampleCollection_As() {
	ctx := context.Background()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		panic(err)
	}
	defer n.Close()
	cols, _ := n.AddCollection(ctx, `type Note { text: String }`)
	notes := cols[0]

	_, ada, err := ed25519.GenerateKey(rand.Reader) // the application keeps each user's key
	if err != nil {
		panic(err)
	}
	asAda, err := notes.As(ada)
	if err != nil {
		panic(err)
	}
	id, err := asAda.Create(ctx, map[string]any{"text": "hello"})
	if err != nil {
		panic(err)
	}
	mine, err := notes.Create(ctx, map[string]any{"text": "written as the node"})
	if err != nil {
		panic(err)
	}
	doc, _ := notes.Get(ctx, id)
	fmt.Println(doc.Author == gossipdb.AuthorID(ada.Public().(ed25519.PublicKey)))
	doc, _ = notes.Get(ctx, mine)
	fmt.Println(doc.Author == n.ID())
	// Output:
	// true
	// true
}

// The inverse side of a relation: an author's books, the documents whose
// relation field names the author, read through that field's index.
func ExampleCollection_Related() {
	ctx := context.Background()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		panic(err)
	}
	defer n.Close()
	cols, err := n.AddCollection(ctx, `type Author { name: String books: [Book] }
		type Book { title: String pages: Int author: Author }`)
	if err != nil {
		panic(err)
	}
	authors, books := cols[0], cols[1]
	ada, _ := authors.Create(ctx, map[string]any{"name": "Ada"})
	bob, _ := authors.Create(ctx, map[string]any{"name": "Bob"})
	for title, author := range map[string]gossipdb.DocID{"Notes": ada, "Engine": ada, "Sketches": ada, "Letters": bob} {
		if _, err := books.Create(ctx, map[string]any{"title": title, "pages": len(title) * 10, "author": author}); err != nil {
			panic(err)
		}
	}
	q := gossipdb.Query{Filter: gossipdb.Filter{"pages": gossipdb.Filter{"_gt": 50}}, Order: []gossipdb.Order{{Field: "title"}}}
	for book, err := range authors.Related(ctx, ada, "books", q) {
		if err != nil {
			panic(err)
		}
		fmt.Println(book.Fields["title"])
	}
	// The same query, counted and summed, in a transaction that has written.
	target, rq, err := authors.RelatedQuery(ada, "books", gossipdb.Query{})
	if err != nil {
		panic(err)
	}
	var count int64
	var pages any
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		if _, err := tx.Create("Book", map[string]any{"title": "Tables", "pages": 300, "author": ada}); err != nil {
			return err
		}
		if count, err = tx.Count(target.Name(), rq.Filter); err != nil {
			return err
		}
		pages, err = tx.Aggregate(target.Name(), rq.Filter, gossipdb.Sum, "pages")
		return err
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(count, pages)
	// Output:
	// Engine
	// Sketches
	// 4 490
}
