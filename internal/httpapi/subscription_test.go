package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	sub := `{"query": "subscription { User { name } }", "variables": {"pad": "` + strings.Repeat(" ", httpapi.MaxSubscriptionBody/2) + `"}}`
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

// paddedSubscription is a subscription to every User whose body is size bytes
// long, padded with an unused variable.
func paddedSubscription(size int) string {
	const start, end = `{"query": "subscription { User { name } }", "variables": {"pad": "`, `"}}`
	return start + strings.Repeat(" ", size-len(start)-len(end)) + end
}

// postSubscription posts a GraphQL request to srv and reads its answer, unless
// the answer is a stream: then it leaves it and returns its status alone.
func postSubscription(t *testing.T, srv *httptest.Server, body string) answer {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v0/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return answer{status: resp.StatusCode, header: resp.Header}
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// wantBodiesFree waits until no request body holds any of the body budget.
func wantBodiesFree(t *testing.T, srv *httptest.Server) {
	t.Helper()
	nodetest.Eventually(t, eventTimeout, func() error {
		if held := scrape(t, srv)["gossipdb_api_body_bytes"]; held != 0 {
			return fmt.Errorf("bodies hold %v bytes of the budget", held)
		}
		return nil
	})
}

// TestSubscriptionBodyLimit: a subscription holds its body's reservation for
// as long as its stream lasts, so one whose body holds more than
// MaxSubscriptionBody of the body budget is refused with 413 naming the limit,
// before it runs, and holds nothing afterwards. A subscription with a filter
// of some hundreds of document IDs fits, and one sent without its length holds
// only what it took, not the MaxBodySize its body first reserved.
func TestSubscriptionBodyLimit(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	limit := strconv.Itoa(httpapi.MaxSubscriptionBody)

	over := postSubscription(t, srv, paddedSubscription(httpapi.MaxSubscriptionBody+1))
	over.wantError(t, http.StatusRequestEntityTooLarge, "subscription", limit)
	wantBodiesFree(t, srv)
	// A body of many values holds more than its length: it is what it holds
	// that counts.
	dense := `{"query": "subscription { User { name } }", "variables": {"pad": [` +
		strings.Repeat("0,", httpapi.MaxSubscriptionBody/8) + `0]}}`
	if len(dense) >= httpapi.MaxSubscriptionBody {
		t.Fatalf("dense body of %d bytes", len(dense))
	}
	postSubscription(t, srv, dense).wantError(t, http.StatusRequestEntityTooLarge, limit)
	wantBodiesFree(t, srv)

	// Five hundred document IDs in _in, in the variables.
	id := createDoc(t, srv, `{"name": "Ada"}`)
	ids := strings.TrimSuffix(strings.Repeat(`"`+id+`", `, 500), ", ")
	in := `{"query": "subscription($ids: [ID!]) { User(filter: {_docID: {_in: $ids}}) { _docID name } }", "variables": {"ids": [` + ids + `]}}`
	s := openSubscription(t, srv, in)
	if s.resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(s.resp.Body)
		t.Fatalf("subscription with 500 IDs in _in (%d bytes): status %d, %s", len(in), s.resp.StatusCode, body)
	}
	t.Logf("a subscription with 500 IDs in _in, %d bytes long, holds %v bytes of the budget",
		len(in), scrape(t, srv)["gossipdb_api_body_bytes"])
	s.cancel()
	s.wantEnd(t)
	wantBodiesFree(t, srv)

	// Sent without its length, a body first reserves MaxBodySize.
	chunked := readStream(t, srv.Client(), func(ctx context.Context) (*http.Request, error) {
		body := io.MultiReader(strings.NewReader(paddedSubscription(1000))) // hides its length
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v0/graphql", body)
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
	if chunked.resp.StatusCode != http.StatusOK {
		t.Fatalf("subscription sent without its length: status %d", chunked.resp.StatusCode)
	}
	if held := scrape(t, srv)["gossipdb_api_body_bytes"]; held > httpapi.MaxSubscriptionBody {
		t.Fatalf("a subscription of 1000 bytes sent without its length holds %v bytes of the budget", held)
	}
}

// TestSubscriptionsLeaveRoomForWrites: with the least body budget, the most
// event streams running subscriptions at the limit leave room for a large
// write, and so do larger subscriptions, which are refused. Larger ones used
// to run, each holding its body's reservation while its client kept the
// stream open: three with variables of 1 MiB and a few at the limit filled the
// budget, and every write got 503.
func TestSubscriptionsLeaveRoomForWrites(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{BodyBudget: httpapi.MinBodyBudget})
	addUser(t, srv)
	for i := range 3 {
		s := openSubscription(t, srv, paddedSubscription(1<<20))
		if s.resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("subscription %d of 1 MiB: status %d, want %d", i, s.resp.StatusCode, http.StatusRequestEntityTooLarge)
		}
	}
	for i := range httpapi.MaxEventStreams {
		s := openSubscription(t, srv, paddedSubscription(httpapi.MaxSubscriptionBody))
		if s.resp.StatusCode != http.StatusOK {
			t.Errorf("subscription %d at the limit: status %d, want %d", i, s.resp.StatusCode, http.StatusOK)
		}
	}
	held := scrape(t, srv)["gossipdb_api_body_bytes"]
	t.Logf("the subscriptions hold %v bytes of a budget of %d", held, httpapi.MinBodyBudget)
	write := `{"name": "large"}` + strings.Repeat(" ", httpapi.MaxBodySize/2)
	if a := call(t, srv, "POST", "/api/v0/collections/User/documents", write); a.status != http.StatusCreated {
		t.Errorf("a write of %d bytes while the subscriptions run: status %d, want %d; %s", len(write), a.status, http.StatusCreated, a.body)
	}
}
