package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/client"
)

func TestSubscription(t *testing.T) {
	n, srv := newServer(t)
	c := newClient(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cols, err := n.AddCollection(ctx, userSDL)
	if err != nil {
		t.Fatal(err)
	}

	// A refused subscription: one *APIError.
	for _, err := range c.Subscription(ctx, `subscription { a: User { name } b: User { name } }`, nil) {
		var apiErr *client.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
			t.Fatalf("refused: %v", err)
		}
	}

	type answer struct {
		resp client.GraphQLResponse
		err  error
	}
	const tries = 50
	answers := make(chan answer, tries+1) // the answers of the creates below, and the end
	done := make(chan struct{})
	go func() {
		defer close(done)
		for resp, err := range c.Subscription(ctx, `subscription($min: Int) { User(filter: {age: {_gt: $min}}) { name } }`, map[string]any{"min": 30}) {
			answers <- answer{resp, err}
		}
	}()
	next := func() answer {
		t.Helper()
		select {
		case a := <-answers:
			return a
		case <-time.After(10 * time.Second):
			t.Fatal("no answer in 10s")
		}
		return answer{}
	}
	// The subscription starts when the node has answered its headers: poll
	// with creates until one is answered.
	if _, err := cols[0].Create(ctx, map[string]any{"name": "Bob", "age": 20}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if i == tries {
			t.Fatal("no answer")
		}
		if _, err := cols[0].Create(ctx, map[string]any{"name": "Ada", "age": 36}); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-answers:
			if a.err != nil || string(a.resp.Data) != `{"User":[{"name":"Ada"}]}` {
				t.Fatalf("answer %s, %v", a.resp.Data, a.err)
			}
		case <-time.After(200 * time.Millisecond):
			continue
		}
		break
	}
	cancel()
	for {
		a := next()
		if a.err != nil {
			if !errors.Is(a.err, context.Canceled) {
				t.Fatalf("end: %v", a.err)
			}
			break
		}
	}
	<-done
}
