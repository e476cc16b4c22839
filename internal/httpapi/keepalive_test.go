package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// keepAlive is the keep-alive interval of the streams of these tests.
const keepAlive = 50 * time.Millisecond

// subscribeUsers is a GraphQL subscription to every created or updated User.
const subscribeUsers = `{"query": "subscription { User { _docID } }"}`

// streamKind is one of the API's three streams of Server-Sent Events, each
// of the User collection.
type streamKind struct {
	name string
	// open opens the stream on srv and, if it is answered 200, reads what it
	// sends before any change.
	open func(t testing.TB, srv *httptest.Server) *stream
	// request is the stream's request as a client sends it.
	request func() *http.Request
	// docID reads the stream's next event, which must report a change, and
	// returns the ID of the document changed.
	docID func(t testing.TB, s *stream) string
}

var streamKinds = []streamKind{{
	name: "events",
	open: func(t testing.TB, srv *httptest.Server) *stream {
		s := openStream(t, srv, "/api/v0/events?collection=User")
		if s.resp.StatusCode == http.StatusOK {
			var ready httpapi.StreamReady
			s.want(t, "ready", &ready)
		}
		return s
	},
	request: func() *http.Request { return httptest.NewRequest("GET", "/api/v0/events?collection=User", nil) },
	docID:   func(t testing.TB, s *stream) string { return s.change(t).DocID },
}, {
	name: "changes",
	open: func(t testing.TB, srv *httptest.Server) *stream {
		return openStream(t, srv, "/api/v0/collections/User/changes?follow=true")
	},
	request: func() *http.Request {
		return httptest.NewRequest("GET", "/api/v0/collections/User/changes?follow=true", nil)
	},
	docID: func(t testing.TB, s *stream) string {
		var ch client.Change
		s.want(t, "change", &ch)
		return ch.Document.ID
	},
}, {
	name: "subscription",
	open: func(t testing.TB, srv *httptest.Server) *stream {
		return openSubscription(t, srv, subscribeUsers)
	},
	request: func() *http.Request {
		r := httptest.NewRequest("POST", "/api/v0/graphql", strings.NewReader(subscribeUsers))
		r.Header.Set("Content-Type", "application/json")
		return r
	},
	docID: func(t testing.TB, s *stream) string {
		var answer struct {
			Data struct {
				User []struct {
					DocID string `json:"_docID"`
				}
			}
		}
		if err := json.Unmarshal([]byte(s.data(t)), &answer); err != nil || len(answer.Data.User) != 1 {
			t.Fatalf("answer %+v (%v), want one document", answer, err)
		}
		return answer.Data.User[0].DocID
	},
}}

// serveKeepAlive serves the API of a fresh node with a User collection, its
// streams sending keep-alives after keepAlive of silence.
func serveKeepAlive(t testing.TB) (*gossipdb.Collection, *httpapi.Handler, *httptest.Server) {
	t.Helper()
	n := newNode(t)
	users := nodetest.AddUser(t, n)[0]
	h, err := httpapi.NewHandler(n, &httpapi.Options{Hosts: []string{"example.com:80"}}) // httptest.NewRequest's Host
	if err != nil {
		t.Fatal(err)
	}
	httpapi.SetKeepAlive(h, keepAlive)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return users, h, srv
}

// waitKeepAlives waits until s has read more than n keep-alives, and
// returns how many it read.
func (s *stream) waitKeepAlives(t testing.TB, n int64) int64 {
	t.Helper()
	var got int64
	nodetest.Eventually(t, eventTimeout, func() error {
		if got = s.comments.Load(); got <= n {
			return fmt.Errorf("%d keep-alives, want more than %d", got, n)
		}
		return nil
	})
	return got
}

// wantNoEvent checks that s has no event waiting.
func (s *stream) wantNoEvent(t testing.TB) {
	t.Helper()
	select {
	case e, ok := <-s.events:
		t.Fatalf("event %q %s (open: %v), want none", e.name, e.data, ok)
	default:
	}
}

// TestKeepAlive: an idle stream sends keep-alive comments, and one that
// carries events between them sends each event once, in order.
func TestKeepAlive(t *testing.T) {
	for _, kind := range streamKinds {
		t.Run(kind.name, func(t *testing.T) {
			users, _, srv := serveKeepAlive(t)
			s := kind.open(t, srv)
			seen := s.waitKeepAlives(t, 1) // idle: one keep-alive, then another
			s.wantNoEvent(t)
			for i := range 3 {
				id, err := users.Create(t.Context(), map[string]any{"name": fmt.Sprint("user ", i)})
				if err != nil {
					t.Fatal(err)
				}
				if got := kind.docID(t, s); got != string(id) {
					t.Fatalf("change %d: document %s, want %s", i, got, id)
				}
				seen = s.waitKeepAlives(t, seen)
			}
			s.wantNoEvent(t)
		})
	}
}

// TestKeepAliveSlotFreed fills the stream slots with idle streams: one whose
// client leaves gives its slot back.
func TestKeepAliveSlotFreed(t *testing.T) {
	for _, kind := range streamKinds {
		t.Run(kind.name, func(t *testing.T) {
			_, _, srv := serveKeepAlive(t)
			var open []*stream
			for range httpapi.MaxEventStreams {
				open = append(open, kind.open(t, srv))
			}
			for _, s := range open {
				s.waitKeepAlives(t, 0)
			}
			if s := kind.open(t, srv); s.resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("a stream beyond the slots: %s, want 503", s.resp.Status)
			}
			open[0].cancel()
			open[0].wantEnd(t)
			nodetest.Eventually(t, eventTimeout, func() error {
				s := kind.open(t, srv)
				defer s.cancel()
				if s.resp.StatusCode != http.StatusOK {
					return errors.New(s.resp.Status)
				}
				return nil
			})
		})
	}
}

// goneWriter is the response of a client gone without a word, as through a
// proxy that keeps the request open: its request does not end, and every
// write after the stream's first flush fails.
type goneWriter struct {
	header http.Header

	mu      sync.Mutex
	code    int
	flushed bool
}

var errGone = errors.New("the client is gone")

func (w *goneWriter) Header() http.Header { return w.header }

func (w *goneWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.code = code
}

func (w *goneWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.flushed {
		return 0, errGone
	}
	return len(p), nil
}

func (w *goneWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushed = true
}

// TestKeepAliveFindsClientGone fills the stream slots with idle streams
// whose clients are gone but whose requests go on: the first keep-alive
// that cannot be written ends each of them, and gives its slot back.
func TestKeepAliveFindsClientGone(t *testing.T) {
	for _, kind := range streamKinds {
		t.Run(kind.name, func(t *testing.T) {
			_, h, srv := serveKeepAlive(t)
			var wg sync.WaitGroup
			gone := make([]*goneWriter, httpapi.MaxEventStreams)
			for i := range gone {
				gone[i] = &goneWriter{header: http.Header{}}
				wg.Go(func() { h.ServeHTTP(gone[i], kind.request()) })
			}
			ended := make(chan struct{})
			go func() { wg.Wait(); close(ended) }()
			select {
			case <-ended:
			case <-time.After(eventTimeout):
				h.EndStreams()
				<-ended
				t.Fatalf("streams whose client is gone still run after %v", eventTimeout)
			}
			for _, w := range gone {
				if w.code != http.StatusOK {
					t.Fatalf("a stream answered %d, want 200", w.code)
				}
			}
			s := kind.open(t, srv)
			if s.resp.StatusCode != http.StatusOK {
				t.Fatalf("a stream once the others ended: %s", s.resp.Status)
			}
		})
	}
}
