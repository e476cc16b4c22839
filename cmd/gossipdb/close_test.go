package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestClientCommandClosesConnections: a client command closes its
// connections to the node when it returns, so that running commands in one
// process (as the tests do) leaves none open.
func TestClientCommandClosesConnections(t *testing.T) {
	var mu sync.Mutex
	opened, closed := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "[]\n")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			opened++
		case http.StateClosed:
			closed++
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := run(context.Background(), []string{"client", "p2p", "info", "--url", srv.URL}, e); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	nodetest.Eventually(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if opened == 0 || closed != opened {
			return fmt.Errorf("%d connections made, %d closed; want all closed once the command returned", opened, closed)
		}
		return nil
	})
}
