package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/httpapi"
)

// A program talks to a running node through its HTTP API. Here the node is an
// in-memory one served on a test server; against `gossipdb start` the address
// would be "localhost:9181".
func Example() {
	n, err := gossipdb.Open("", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx := context.Background()
	c, err := client.New(srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	cols, err := c.AddCollection(ctx, `type User { name: String age: Int }`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("collection:", cols[0].Name, "fields:", len(cols[0].Fields))

	id, err := c.Create(ctx, "User", map[string]any{"name": "Ada", "age": 36})
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Update(ctx, "User", id, map[string]any{"age": 37}); err != nil {
		log.Fatal(err)
	}
	doc, err := c.Get(ctx, "User", id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(doc.Fields["name"], doc.Fields["age"]) // numbers are json.Number

	peers, err := c.ActivePeers(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active peers:", len(peers))

	_, err = c.Get(ctx, "Post", id)
	fmt.Println(errors.Is(err, gossipdb.ErrNotFound), err)
	// Output:
	// collection: User fields: 2
	// Ada 37
	// active peers: 0
	// true gossipdb: not found: collection "Post"
}

// A GraphQL request in DefraDB's query language, with a variable; a request
// that does not fit the collections is refused with its line and column.
func ExampleClient_Query() {
	n, err := gossipdb.Open("", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx := context.Background()
	c, err := client.New(srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AddCollection(ctx, `type User { name: String age: Int }`); err != nil {
		log.Fatal(err)
	}
	_, err = c.Query(ctx, `mutation { create_User(input: [{name: "Ada", age: 36}, {name: "Bob", age: 20}]) { _docID } }`, nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := c.Query(ctx, `query($min: Int) { User(filter: {age: {_gt: $min}}, order: {name: ASC}) { name age } }`,
		map[string]any{"min": 30})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(resp.Data))

	_, err = c.Query(ctx, `{ User { name email } }`, nil)
	fmt.Println(errors.Is(err, gossipdb.ErrInvalid), err)
	// Output:
	// {"User":[{"name":"Ada","age":36}]}
	// true 1:15: Cannot query field "email" on type "User".
}
