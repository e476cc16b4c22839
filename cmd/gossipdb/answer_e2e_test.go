package main_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientAnswerTooLarge: `gossipdb client` given the address of a server
// whose answers never end fails with one line naming the request, once it has
// read about what a node may send for it, for answers read whole and streamed
// alike.
func TestClientAnswerTooLarge(t *testing.T) {
	needBinary(t)
	var written atomic.Int64
	done := make(chan string, 16) // the path of each request answered
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- r.Method + " " + r.URL.Path }()
		prefix := `["`
		if strings.HasSuffix(r.URL.Path, "/changes") {
			w.Header().Set("Content-Type", "text/event-stream")
			prefix = "event: change\ndata: "
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(http.StatusOK)
		chunk := strings.Repeat("a", 32<<10)
		for n, err := io.WriteString(w, prefix); err == nil; n, err = io.WriteString(w, chunk) {
			written.Add(int64(n))
		}
	}))
	defer srv.Close()
	for _, c := range []struct {
		args    []string
		request string
		bound   int64 // what the client reads of the answer
	}{
		{[]string{"client", "collection", "create", "--name", "User", "{}"}, "POST " + srv.URL + "/api/v0/collections/User/documents", 64 << 10},
		{[]string{"client", "p2p", "info"}, "GET " + srv.URL + "/api/v0/p2p/info", 16 << 20},
		{[]string{"client", "collection", "docIDs", "--name", "User"}, "GET " + srv.URL + "/api/v0/collections/User/docIDs", 64 << 10},
		{[]string{"client", "collection", "changes", "--name", "User"}, srv.URL + "/api/v0/collections/User/changes", 64<<20 + 64<<10},
	} {
		written.Store(0)
		fails(t, append(c.args, "--url", srv.URL), "answer too large", c.request)
		// The server writes until the client has gone away.
		select {
		case got := <-done:
			if want := strings.Replace(c.request, srv.URL, "", 1); !strings.HasSuffix(got, want) {
				t.Errorf("gossipdb %s: the server answered %s, want %s", strings.Join(c.args, " "), got, want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("gossipdb %s: the server still writes, %d bytes so far", strings.Join(c.args, " "), written.Load())
		}
		if len(done) > 0 {
			t.Fatalf("gossipdb %s: more than one request", strings.Join(c.args, " "))
		}
		// The client's socket buffer, which the kernel grows up to
		// net.ipv4.tcp_rmem (some megabytes), holds what it did not read.
		if w := written.Load(); w > c.bound+64<<20 {
			t.Errorf("gossipdb %s: the server wrote %d bytes before it gave up", strings.Join(c.args, " "), w)
		}
	}
}
