package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

func TestQuery(t *testing.T) {
	_, srv := newServer(t)
	c := newClient(t, srv)
	ctx := context.Background()
	if _, err := c.AddCollection(ctx, userSDL); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Query(ctx, `mutation($u: [UserMutationInputArg!]!) { create_User(input: $u) { _docID name } }`,
		map[string]any{"u": []any{map[string]any{"name": "Ada", "age": 36}}})
	if err != nil || len(resp.Errors) > 0 {
		t.Fatalf("create: %+v, %v", resp, err)
	}
	var created struct {
		CreateUser []client.Document `json:"create_User"`
	}
	if err := json.Unmarshal(resp.Data, &created); err != nil || len(created.CreateUser) != 1 {
		t.Fatalf("create answered %s: %v", resp.Data, err)
	}
	resp, err = c.Query(ctx, `{ User(docID: "`+created.CreateUser[0].ID+`") { name age } }`, nil)
	if err != nil || string(resp.Data) != `{"User":[{"name":"Ada","age":36}]}` {
		t.Fatalf("query: %s, %v", resp.Data, err)
	}

	// A field that fails: an answer with errors, no Go error.
	resp, err = c.Query(ctx, `{ User(limit: -1) { name } }`, nil)
	if err != nil || string(resp.Data) != "null" || len(resp.Errors) != 1 || resp.Errors[0].Path[0] != "User" {
		t.Fatalf("failed field: %+v, %v", resp, err)
	}

	// A request refused before it ran: an *APIError with line and column.
	_, err = c.Query(ctx, "{ User {\n name nme } }", nil)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !errors.Is(err, gossipdb.ErrInvalid) ||
		apiErr.Message != `2:7: Cannot query field "nme" on type "User". Did you mean "name"?` {
		t.Fatalf("refused: %v", err)
	}
}
