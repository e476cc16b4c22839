package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/client"
)

// sockBuffer is the size of the socket buffers of a hostile server's
// connections, both ends, so that the server cannot write much more than
// the client reads: the kernel would otherwise grow them to megabytes.
const sockBuffer = 16 << 10

// hostile is a server whose every answer a handler writes, with small socket
// buffers; it counts the bytes its handlers write.
type hostile struct {
	srv     *httptest.Server
	c       *client.Client
	written atomic.Int64
	done    chan struct{} // a value each time a handler returns
}

// newHostile serves the answers of answer, which writes to the client
// through write, and returns a client of it whose connections have small
// socket buffers.
func newHostile(t *testing.T, answer func(w http.ResponseWriter, write func(string) error)) *hostile {
	t.Helper()
	h := &hostile{done: make(chan struct{}, 16)}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { h.done <- struct{}{} }()
		answer(w, func(s string) error {
			n, err := io.WriteString(w, s)
			h.written.Add(int64(n))
			return err
		})
	}))
	// Connections accepted take the listener's buffer sizes.
	l, err := (&net.ListenConfig{Control: setSockBuffers}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Listener.Close()
	h.srv.Listener = l
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	tr := &http.Transport{DialContext: (&net.Dialer{Control: setSockBuffers}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	h.c, err = client.New(h.srv.URL, &client.Options{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// endless answers 200 with prefix, then unit again and again until the
// client goes away.
func endless(contentType, prefix, unit string) func(http.ResponseWriter, func(string) error) {
	return func(w http.ResponseWriter, write func(string) error) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		chunk := strings.Repeat(unit, max(1, (32<<10)/len(unit)))
		for err := write(prefix); err == nil; err = write(chunk) {
		}
	}
}

// waitHandler waits for a handler of h to return, which it does once the
// client has gone away.
func (h *hostile) waitHandler(t *testing.T) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(time.Minute):
		t.Fatalf("the server still writes, %d bytes so far: the client did not go away", h.written.Load())
	}
}

// allocated returns how many bytes of heap the process allocated while f
// ran, garbage included: a bound on how much f held at once.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestAnswerTooLarge: an answer that never ends, for a request whose answer
// the client reads whole, fails with an error matching ErrAnswerTooLarge that
// names the request, once the client has read about its bound, and holds
// memory in proportion to the bound.
func TestAnswerTooLarge(t *testing.T) {
	for _, c := range []struct {
		name         string
		prefix, unit string
		limit        int64
		request      string // method and path
		call         func(context.Context, *client.Client) error
	}{
		{"endless string for a small answer", `{"status": "`, "a", client.MaxSmallAnswer, "GET /api/v0/health",
			func(ctx context.Context, c *client.Client) error { _, err := c.Health(ctx); return err }},
		{"endless whitespace for a small answer", "", " ", client.MaxSmallAnswer, "POST /api/v0/collections/User/documents",
			func(ctx context.Context, c *client.Client) error {
				_, err := c.Create(ctx, "User", map[string]any{"name": "Ada"})
				return err
			}},
		{"endless array of IDs", `[`, `{"_docID": "bafyreiebzzbplcmphxkebm3jxbzsn6nr4g33tcxqqypnnsm233rv4ceb2q"},`,
			client.MaxListAnswer, "POST /api/v0/tx",
			func(ctx context.Context, c *client.Client) error {
				_, err := c.Tx(ctx, []client.TxOp{{Op: client.OpCreate, Collection: "User"}})
				return err
			}},
		{"endless array of peers", `[`, `"/ip4/127.0.0.1/tcp/0/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",`,
			client.MaxListAnswer, "GET /api/v0/p2p/peers",
			func(ctx context.Context, c *client.Client) error { _, err := c.ActivePeers(ctx); return err }},
		{"endless document", `{"_docID": "x", "tags": [`, `"a",`, client.MaxAnswer, "GET /api/v0/collections/User/documents/x",
			func(ctx context.Context, c *client.Client) error { _, err := c.Get(ctx, "User", "x"); return err }},
		{"endless GraphQL answer", `{"data": {"User": [`, `{"_docID": "x", "age": 1},`, client.MaxAnswer, "POST /api/v0/graphql",
			func(ctx context.Context, c *client.Client) error {
				_, err := c.Query(ctx, "{ User { age } }", nil)
				return err
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHostile(t, endless("application/json", c.prefix, c.unit))
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			var err error
			alloc := allocated(func() { err = c.call(ctx, h.c) })
			method, path, _ := strings.Cut(c.request, " ")
			if !errors.Is(err, client.ErrAnswerTooLarge) || !strings.Contains(err.Error(), method+" "+h.srv.URL+path) {
				t.Fatalf("error %v, want ErrAnswerTooLarge naming %s %s", err, method, h.srv.URL+path)
			}
			h.waitHandler(t)
			if w := h.written.Load(); w > c.limit+slack {
				t.Errorf("the server wrote %d bytes before the client gave up, want at most %d + %d", w, c.limit, slack)
			}
			// The decoder's buffer doubles as it grows: some 4 times the
			// bound, all told.
			if max := uint64(5*c.limit + 4<<20); alloc > max {
				t.Errorf("the client allocated %d bytes, want at most %d", alloc, max)
			}
		})
	}
}

// TestAnswerAtTheBound: an answer of exactly its bound is read, one byte more
// is refused, whether the node says its length (Content-Length: refused at
// once) or not (chunked: refused once read). The largest bound, which takes
// longest, is read only in chunks.
func TestAnswerAtTheBound(t *testing.T) {
	for _, c := range []struct {
		name  string
		limit int64
		// wrap makes a JSON value of n bytes: a string of fill, wrapped
		wrap func(fill string) string
		call func(context.Context, *client.Client) error
	}{
		{"health", client.MaxSmallAnswer, func(s string) string { return `{"status":"` + s + `"}` },
			func(ctx context.Context, c *client.Client) error {
				h, err := c.Health(ctx)
				if err == nil && len(h.Status) < 1000 {
					err = fmt.Errorf("status of %d bytes", len(h.Status))
				}
				return err
			}},
		{"peers", client.MaxListAnswer, func(s string) string { return `["` + s + `"]` },
			func(ctx context.Context, c *client.Client) error {
				p, err := c.PeerInfo(ctx)
				if err == nil && (len(p) != 1 || len(p[0]) < 1000) {
					err = fmt.Errorf("%d addresses", len(p))
				}
				return err
			}},
		{"GraphQL", client.MaxAnswer, func(s string) string { return `{"data":"` + s + `"}` },
			func(ctx context.Context, c *client.Client) error {
				r, err := c.Query(ctx, "{ User { age } }", nil)
				if err == nil && len(r.Data) < 1000 {
					err = fmt.Errorf("data of %d bytes", len(r.Data))
				}
				return err
			}},
	} {
		for _, withLength := range []bool{true, false} {
			if withLength && c.limit == client.MaxAnswer {
				continue
			}
			for _, extra := range []int64{0, 1} {
				name := fmt.Sprintf("%s/length=%v/bound+%d", c.name, withLength, extra)
				t.Run(name, func(t *testing.T) {
					size := c.limit + extra
					body := c.wrap(strings.Repeat("a", int(size)-len(c.wrap(""))))
					h := newHostile(t, func(w http.ResponseWriter, write func(string) error) {
						w.Header().Set("Content-Type", "application/json")
						if withLength {
							w.Header().Set("Content-Length", strconv.Itoa(len(body)))
						}
						w.WriteHeader(http.StatusOK)
						write(body)
					})
					err := c.call(t.Context(), h.c)
					switch {
					case extra == 0 && err != nil:
						t.Fatalf("an answer of %d bytes, the bound: %v", size, err)
					case extra > 0 && !errors.Is(err, client.ErrAnswerTooLarge):
						t.Fatalf("an answer of %d bytes, over the bound: %v, want ErrAnswerTooLarge", size, err)
					}
					h.waitHandler(t)
					if w := h.written.Load(); withLength && extra > 0 && w > slack {
						t.Errorf("the server wrote %d bytes of an answer too long by its length", w)
					}
				})
			}
		}
	}
}

// TestAnswerLengthTooLarge: an answer whose Content-Length is over the bound
// is refused without waiting for its body.
func TestAnswerLengthTooLarge(t *testing.T) {
	h := newHostile(t, func(w http.ResponseWriter, write func(string) error) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<40))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		// Nothing more: a client that waited for the body would wait for ever.
	})
	_, err := h.c.Health(t.Context())
	if !errors.Is(err, client.ErrAnswerTooLarge) {
		t.Fatalf("error %v, want ErrAnswerTooLarge", err)
	}
}

// TestDocIDsBoundEachID: DocIDs streams an answer of any length, holding one
// ID at a time, and refuses an ID over its bound once it has read about that.
func TestDocIDsBoundEachID(t *testing.T) {
	const id = "bafyreiebzzbplcmphxkebm3jxbzsn6nr4g33tcxqqypnnsm233rv4ceb2q"
	t.Run("endless ID", func(t *testing.T) {
		h := newHostile(t, endless("application/json", `["`, "a"))
		var err error
		for _, e := range h.c.DocIDs(t.Context(), "User") {
			if e != nil {
				err = e
			}
		}
		if !errors.Is(err, client.ErrAnswerTooLarge) || !strings.Contains(err.Error(), "GET "+h.srv.URL+"/api/v0/collections/User/docIDs") {
			t.Fatalf("error %v, want ErrAnswerTooLarge naming the request", err)
		}
		h.waitHandler(t)
		if w := h.written.Load(); w > client.IDsBuffer+slack {
			t.Errorf("the server wrote %d bytes before the client gave up, want at most %d + %d", w, client.IDsBuffer, slack)
		}
	})
	t.Run("endless array", func(t *testing.T) {
		// More IDs than any answer read whole may hold, in little memory.
		h := newHostile(t, endless("application/json", `[`, `"`+id+`",`))
		want := client.MaxListAnswer/(len(id)+3) + 1
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		n := 0
		for got, err := range h.c.DocIDs(t.Context(), "User") {
			if err != nil || got != id {
				t.Fatalf("ID %d: %q, %v", n, got, err)
			}
			if n++; n == want {
				runtime.GC()
				runtime.ReadMemStats(&after)
				break
			}
		}
		h.waitHandler(t)
		if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
			t.Errorf("the heap grew by %d bytes while streaming %d IDs", grown, n)
		}
	})
}

// TestChangesBoundEachEvent: Changes refuses an event over MaxChangeEvent,
// on one line or on many, once it has read about that.
func TestChangesBoundEachEvent(t *testing.T) {
	for _, c := range []struct{ name, prefix, unit string }{
		{"one endless line", "event: change\ndata: ", "a"},
		{"endless lines", "event: change\n", "data: " + strings.Repeat("a", 4<<10) + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHostile(t, endless("text/event-stream", c.prefix, c.unit))
			called := false
			_, err := h.c.Changes(t.Context(), "User", 0, true, func(client.Change) error { called = true; return nil })
			if !errors.Is(err, client.ErrAnswerTooLarge) || called ||
				!strings.Contains(err.Error(), h.srv.URL+"/api/v0/collections/User/changes") {
				t.Fatalf("error %v, want ErrAnswerTooLarge naming the stream", err)
			}
			h.waitHandler(t)
			if w, max := h.written.Load(), int64(client.MaxChangeEvent)*101/100+slack; w > max {
				t.Errorf("the server wrote %d bytes before the client gave up, want at most %d", w, max)
			}
		})
	}
}

// TestLargestAnswersOfANode: a node's largest answers of documents are read
// whole: documents holding a string of control characters nearly as long as
// a block takes, whose JSON is 6 times as long, one by one (Get), in a change
// stream, and as many as a GraphQL answer holds (its result size limit, 4
// MiB).
func TestLargestAnswersOfANode(t *testing.T) {
	n, srv := newServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	if _, err := c.AddCollection(ctx, `type Note { text: String }`); err != nil {
		t.Fatal(err)
	}
	notes, err := n.Collection("Note")
	if err != nil {
		t.Fatal(err)
	}
	// A block holds the string and some 300 bytes more; four such documents
	// are just under the limit of a GraphQL answer.
	const docs, size = 4, 1<<20 - 1<<10
	text := strings.Repeat("\x01", size)
	for i := range docs {
		if _, err := notes.Create(ctx, map[string]any{"text": text[i:]}); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
	}
	ids := 0
	for id, err := range c.DocIDs(ctx, "Note") {
		if err != nil {
			t.Fatal(err)
		}
		doc, err := c.Get(ctx, "Note", id)
		if err != nil || len(doc.Fields["text"].(string)) < size-docs {
			t.Fatalf("Get: %v", err)
		}
		ids++
	}
	if ids != docs {
		t.Fatalf("%d IDs, want %d", ids, docs)
	}
	changes := 0
	if _, err := c.Changes(ctx, "Note", 0, false, func(ch client.Change) error {
		if len(ch.Document.Fields["text"].(string)) < size-docs {
			return fmt.Errorf("change %d: a text of %d bytes", ch.Position, len(ch.Document.Fields["text"].(string)))
		}
		changes++
		return nil
	}); err != nil || changes != docs {
		t.Fatalf("Changes: %d changes, %v", changes, err)
	}
	resp, err := c.Query(ctx, `{ Note { _docID text } }`, nil)
	if err != nil || len(resp.Errors) > 0 || len(resp.Data) < 6*docs*(size-docs) {
		t.Fatalf("Query: %d bytes of data, %v, %v", len(resp.Data), resp.Errors, err)
	}
}
