package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// runAsync runs the command with args and environment vars in a goroutine;
// its exit status comes on the channel returned.
func runAsync(ctx context.Context, args []string, vars map[string]string, stdout, stderr *nodetest.LogBuffer) <-chan int {
	e := &env{stdout: stdout, stderr: stderr, getenv: func(k string) string { return vars[k] }}
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, e) }()
	return code
}

// TestClientTimeout: a client command to a node that takes the connection
// and never answers fails once --request-timeout (else $GOSSIPDB_REQUEST_TIMEOUT) has
// passed, saying so and that the request may have been applied; without a
// timeout it waited until interrupted.
func TestClientTimeout(t *testing.T) {
	addr := nodetest.SilentListener(t)
	const want = "did not answer within the timeout (200ms): the request may or may not have been applied"
	for _, c := range []struct {
		args []string
		vars map[string]string
	}{
		{[]string{"client", "--url", addr, "--request-timeout", "200ms", "collection", "create", "--name", "User", `{"name":"Ada"}`}, nil},
		{[]string{"client", "collection", "get", "--name", "User", "bafy", "--url", addr, "--request-timeout=200ms"},
			map[string]string{envTimeout: "1h"}},
		{[]string{"client", "p2p", "info", "--url", addr}, map[string]string{envTimeout: "200ms"}},
		// p2p sync's own --timeout is the sync's, not this one.
		{[]string{"client", "p2p", "sync", "User", "--timeout", "1m", "--url", addr, "--request-timeout", "200ms"}, nil},
		// A stream's start is bounded too.
		{[]string{"client", "collection", "changes", "--name", "User", "--follow", "--url", addr, "--request-timeout", "200ms"}, nil},
		{[]string{"client", "query", "subscription { User { name } }", "--url", addr, "--request-timeout", "200ms"}, nil},
		{[]string{"client", "collection", "docIDs", "--name", "User", "--url", addr, "--request-timeout", "200ms"}, nil},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr nodetest.LogBuffer
		start := time.Now()
		select {
		case code := <-runAsync(ctx, c.args, c.vars, &stdout, &stderr):
			if got := stderr.String(); code != 1 || !strings.Contains(got, want) || strings.Count(got, "\n") != 1 {
				t.Errorf("%q: exit %d, stderr %q; want 1 and one line with %q", c.args, code, got, want)
			}
			if d := time.Since(start); d < 200*time.Millisecond {
				t.Errorf("%q: failed after %v, before the timeout", c.args, d)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%q: still waiting after 10s", c.args)
		}
		cancel()
	}
}

// TestClientTimeoutNotSent: a client command that has no connection to the
// node when --request-timeout passes (its connect hangs) fails then, naming
// the timeout and saying that the request was not sent.
func TestClientTimeoutNotSent(t *testing.T) {
	const timeout = 300 * time.Millisecond
	addr := nodetest.FullListener(t)
	want := "Error: cannot reach gossipdb at http://" + addr + ": no connection within the timeout (300ms): the request was not sent\n"
	for _, args := range [][]string{
		{"client", "--request-timeout", timeout.String(), "collection", "list", "--url", addr},
		{"client", "collection", "create", "--name", "User", `{"name":"Ada"}`, "--url", addr, "--request-timeout", timeout.String()},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr nodetest.LogBuffer
		start := time.Now()
		select {
		case code := <-runAsync(ctx, args, nil, &stdout, &stderr):
			if got := stderr.String(); code != 1 || got != want {
				t.Errorf("%q: exit %d, stderr %q; want 1 and %q", args, code, got, want)
			}
			if d := time.Since(start); d < timeout {
				t.Errorf("%q: failed after %v, before the timeout", args, d)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%q: still waiting after 10s", args)
		}
		cancel()
	}
}

// TestClientTimeoutBoundsStreamStartOnly: once a stream's answer has begun,
// --request-timeout no longer applies: `changes --follow` goes on printing changes
// that come after it, until interrupted.
func TestClientTimeoutBoundsStreamStartOnly(t *testing.T) {
	const timeout = 100 * time.Millisecond
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		// The first change comes well after the timeout.
		select {
		case <-time.After(3 * timeout):
		case <-r.Context().Done():
			return
		}
		w.Write([]byte("event: change\ndata: {\"position\":1,\"type\":\"created\",\"document\":{\"_docID\":\"d1\"}}\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr nodetest.LogBuffer
	code := runAsync(ctx, []string{"client", "collection", "changes", "--name", "User", "--follow",
		"--url", srv.URL, "--request-timeout", timeout.String()}, nil, &stdout, &stderr)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), `"position":1`) {
		select {
		case c := <-code:
			t.Fatalf("the stream ended with exit %d, stderr %q, before its first change", c, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no change printed after 10s; stdout %q, stderr %q", stdout.String(), stderr.String())
		}
	}
	cancel()
	select {
	case c := <-code:
		if c != 1 || stderr.String() != "Error: interrupted\n" {
			t.Fatalf("interrupted: exit %d, stderr %q; want 1 and Error: interrupted", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after it was interrupted")
	}
}

// TestClientTimeoutValues: a --request-timeout or $GOSSIPDB_REQUEST_TIMEOUT that is not a
// duration of 0 or more fails the command, naming where it came from.
func TestClientTimeoutValues(t *testing.T) {
	const want = "want a duration such as 30s, 5m or 1h30m, or 0 for no limit"
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"client", "p2p", "info", "--request-timeout", "soon"}, "", `invalid argument "soon" for --request-timeout: ` + want},
		{[]string{"client", "p2p", "info", "--request-timeout=-1s"}, "", `invalid argument "-1s" for --request-timeout: ` + want},
		{[]string{"client", "p2p", "info"}, "-1s", `$` + envTimeout + ` "-1s": ` + want},
		{[]string{"client", "p2p", "info"}, "soon", `$` + envTimeout + ` "soon": ` + want},
	} {
		var stdout, stderr nodetest.LogBuffer
		code := <-runAsync(context.Background(), c.args, map[string]string{envTimeout: c.env}, &stdout, &stderr)
		if code != 1 || stderr.String() != "Error: "+c.want+"\n" {
			t.Errorf("%q with $%s=%q: exit %d, stderr %q; want 1 and %q", c.args, envTimeout, c.env, code, stderr.String(), "Error: "+c.want)
		}
	}
}
