package client_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentCallsKeepConnections checks that a Client used by several
// goroutines at once keeps their connections open between calls, also when
// the calls end together (as writes that share a sync round do), instead of
// dialing again.
func TestConcurrentCallsKeepConnections(t *testing.T) {
	const goroutines, rounds = 16, 5
	// The server answers each round's calls together, once all have arrived.
	var mu sync.Mutex
	arrived, release := 0, make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		ch := release
		if arrived++; arrived == goroutines {
			close(release)
			arrived, release = 0, make(chan struct{})
		}
		mu.Unlock()
		<-ch
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"docID": "x"}`+"\n")
	}))
	var dials atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newClient(t, srv)
	for range rounds {
		// Every connection is idle between rounds.
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				if _, err := c.Create(context.Background(), "User", map[string]any{"name": "a"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	// One connection per goroutine; a few more when a call dials while
	// another's connection is on its way back to the pool.
	t.Logf("%d connections for %d calls from %d goroutines", dials.Load(), goroutines*rounds, goroutines)
	if got := dials.Load(); got > 2*goroutines {
		t.Errorf("%d connections for %d calls from %d goroutines, want at most %d", got, goroutines*rounds, goroutines, 2*goroutines)
	}
}
