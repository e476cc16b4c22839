package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// openSubscription posts a GraphQL subscription to srv and reads its events in
// the background until the stream ends, it is cancelled or the test ends.
func openSubscription(t testing.TB, srv *httptest.Server, body string) *stream {
	t.Helper()
	return readStream(t, srv.Client(), func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v0/graphql", strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
}

// data returns the data of the stream's next event, which must be a plain one.
func (s *stream) data(t testing.TB) string {
	t.Helper()
	e, ok := s.next(t)
	if !ok || e.name != "" {
		t.Fatalf("event %q %s (ok %v), want a plain one", e.name, e.data, ok)
	}
	return e.data
}

func TestGraphQLSubscription(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	peer := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	cols := nodetest.AddUser(t, n, peer)
	nodetest.Subscribe(t, "User", n, peer)
	nodetest.Connect(t, n, peer)
	nodetest.WaitTopicPeers(t, peer, "User", n)

	const sub = `{"query": "subscription { User(filter: {age: {_gt: 30}}) { _docID name age } }"}`
	s := openSubscription(t, srv, sub)
	if ct := s.resp.Header.Get("Content-Type"); s.resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", s.resp.StatusCode, ct)
	}
	if _, err := cols[0].Create(t.Context(), map[string]any{"name": "Young", "age": 3}); err != nil {
		t.Fatal(err)
	}
	local, err := cols[0].Create(t.Context(), map[string]any{"name": "Ada", "age": 36})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.data(t), `{"data":{"User":[{"_docID":"`+string(local)+`","name":"Ada","age":36}]}}`; got != want {
		t.Fatalf("local create: %s, want %s", got, want)
	}
	// A change made on the peer answers once it merges here.
	remote, err := cols[1].Create(t.Context(), map[string]any{"name": "Bob", "age": 40})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.data(t), `{"data":{"User":[{"_docID":"`+string(remote)+`","name":"Bob","age":40}]}}`; got != want {
		t.Fatalf("remote create: %s, want %s", got, want)
	}

	// The stream ends when the client leaves: its slot is free again.
	s.cancel()
	s.wantEnd(t)
	nodetest.Eventually(t, eventTimeout, func() error {
		var open []*stream
		defer func() {
			for _, o := range open {
				o.cancel()
			}
		}()
		for range httpapi.MaxEventStreams {
			o := openSubscription(t, srv, sub)
			open = append(open, o)
			if o.resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", o.resp.StatusCode)
			}
		}
		return nil
	})
}

func TestGraphQLSubscriptionRefused(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	two := call(t, srv, "POST", "/api/v0/graphql", `{"query": "subscription { a: User { name } b: User { age } }"}`)
	if two.want(t, http.StatusBadRequest); two.body != `{"errors":[{"message":"a subscription selects exactly one root field, one collection such as User(filter: …) { … }; this one selects 2","locations":[{"line":1,"column":1}]}]}`+"\n" {
		t.Fatalf("two root fields: %s", two.body)
	}
	bad := call(t, srv, "POST", "/api/v0/graphql", `{"query": "subscription($f: UserFilterArg) { User(filter: $f) { name } }", "variables": {"f": {"age": {"_gt": "x"}}}}`)
	if bad.want(t, http.StatusBadRequest); !strings.Contains(bad.body, `"errors"`) {
		t.Fatalf("bad variable: %s", bad.body)
	}
}

// TestGraphQLSubscriptionHoldsBody: a subscription runs on its request's query
// and variables for as long as its stream lasts, so its body keeps its
// reservation in the body budget until the stream ends, where the body of any
// other request gives it back when its answer begins.
func TestGraphQLSubscriptionHoldsBody(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	sub := `{"query": "subscription { User { name } }", "variables": {"pad": "` + strings.Repeat(" ", 64<<10) + `"}}`
	s := openSubscription(t, srv, sub)
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", s.resp.StatusCode)
	}
	if held := scrape(t, srv)["gossipdb_api_body_bytes"]; held < float64(len(sub)) {
		t.Fatalf("a running subscription's body holds %v bytes of the body budget, want its %d bytes at least", held, len(sub))
	}
	s.cancel()
	s.wantEnd(t)
	nodetest.Eventually(t, eventTimeout, func() error {
		if held := scrape(t, srv)["gossipdb_api_body_bytes"]; held != 0 {
			return fmt.Errorf("bodies hold %v bytes once the subscription ended", held)
		}
		return nil
	})
}
