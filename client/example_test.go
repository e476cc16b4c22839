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
