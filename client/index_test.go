package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// TestIndexes creates, lists and drops an index through the client, and
// checks the errors of an unknown field and an unknown index.
func TestIndexes(t *testing.T) {
	_, srv := newServer(t)
	c := newClient(t, srv)
	ctx := context.Background()
	if _, err := c.AddCollection(ctx, userSDL); err != nil {
		t.Fatal(err)
	}
	ix, err := c.CreateIndex(ctx, "User", client.CreateIndexRequest{Name: "ByAge",
		Fields: []client.IndexFieldInfo{{Name: "age", Descending: true}}})
	if err != nil || ix.Name != "ByAge" || len(ix.Fields) != 1 || !ix.Fields[0].Descending {
		t.Fatalf("CreateIndex: %+v, %v; want ByAge on age descending", ix, err)
	}
	list, err := c.Indexes(ctx, "User")
	if err != nil || len(list) != 1 || list[0].Name != "ByAge" {
		t.Fatalf("Indexes: %+v, %v; want ByAge", list, err)
	}
	_, err = c.CreateIndex(ctx, "User", client.CreateIndexRequest{Fields: []client.IndexFieldInfo{{Name: "nope"}}})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("an index on an unknown field: %v, want a 400 APIError matching ErrInvalid", err)
	}
	if err := c.DropIndex(ctx, "User", "ByAge"); err != nil {
		t.Fatal(err)
	}
	if err := c.DropIndex(ctx, "User", "ByAge"); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("dropping it again: %v, want ErrNotFound", err)
	}
	if err := c.DropIndex(ctx, "User", ""); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("dropping an index without a name: %v, want ErrInvalid", err)
	}
	if list, err := c.Indexes(ctx, "User"); err != nil || len(list) != 0 {
		t.Fatalf("Indexes after the drop: %+v, %v; want none", list, err)
	}
}
