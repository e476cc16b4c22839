package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// connServer answers every request with an empty JSON list, and counts the
// connections made to it and those it saw closed.
type connServer struct {
	srv            *httptest.Server
	mu             sync.Mutex
	opened, closed int
	requests       int
}

func newConnServer(t *testing.T) *connServer {
	t.Helper()
	s := &connServer{}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "[]\n")
	}))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.opened++
		case http.StateClosed, http.StateHijacked:
			s.closed++
		}
	}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// counts returns the connections opened and closed, and the requests served.
func (s *connServer) counts() (opened, closed, requests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, s.closed, s.requests
}

// waitAllClosed waits until the server has seen every connection made to it
// closed.
func (s *connServer) waitAllClosed(t *testing.T) {
	t.Helper()
	nodetest.Eventually(t, 5*time.Second, func() error {
		if opened, closed, _ := s.counts(); opened == 0 || closed != opened {
			return fmt.Errorf("%d connections made, %d closed; want all closed", opened, closed)
		}
		return nil
	})
}

// TestCloseClosesIdleConnections: Close closes the connection a Client keeps
// open between calls (the server sees it closed), and no goroutine of the
// Client is left.
func TestCloseClosesIdleConnections(t *testing.T) {
	s := newConnServer(t)
	ignore := goleak.IgnoreCurrent() // the server's
	c := newClient(t, s.srv)
	if _, err := c.Subscriptions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if opened, closed, _ := s.counts(); opened != 1 || closed != 0 {
		t.Fatalf("after a call: %d connections made, %d closed; want 1 kept open", opened, closed)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s.waitAllClosed(t)
	goleak.VerifyNone(t, ignore)
}

// TestCallsAfterClose: after Close, every kind of call (an answer read whole,
// one without a body, each kind of stream) fails with ErrClosed without
// reaching the node; a second Close is fine.
func TestCallsAfterClose(t *testing.T) {
	s := newConnServer(t)
	c := newClient(t, s.srv)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	ctx := t.Context()
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"Subscriptions", func() error { _, err := c.Subscriptions(ctx); return err }},
		{"Create", func() error { _, err := c.Create(ctx, "User", map[string]any{"name": "Ada"}); return err }},
		{"Subscribe", func() error { return c.Subscribe(ctx, "User") }},
		{"Sync", func() error { _, err := c.Sync(ctx, "User", time.Second); return err }},
		{"Changes", func() error {
			_, err := c.Changes(ctx, "User", 0, false, func(client.Change) error { return nil })
			return err
		}},
		{"DocIDs", func() error {
			for _, err := range c.DocIDs(ctx, "User") {
				return err
			}
			return nil
		}},
		{"Subscription", func() error {
			for _, err := range c.Subscription(ctx, `subscription { User { name } }`, nil) {
				return err
			}
			return nil
		}},
	} {
		if err := call.f(); !errors.Is(err, client.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", call.name, err)
		}
	}
	if opened, _, requests := s.counts(); opened != 0 || requests != 0 {
		t.Errorf("calls after Close made %d connections and %d requests, want none", opened, requests)
	}
}

// TestCloseDuringCall: a call in flight when Close is called completes, and
// the connection it made after Close closed the idle ones is closed once it
// ends, not kept.
func TestCloseDuringCall(t *testing.T) {
	s := newConnServer(t)
	ignore := goleak.IgnoreCurrent() // the server's
	c := newClient(t, s.srv)
	// Close runs as the call asks for its connection, after the call has
	// found the Client open.
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		GetConn: func(string) { c.Close() },
	})
	if _, err := c.Subscriptions(ctx); err != nil {
		t.Fatalf("a call in flight at Close: %v, want it completed", err)
	}
	s.waitAllClosed(t)
	goleak.VerifyNone(t, ignore)
	if _, err := c.Subscriptions(t.Context()); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("a call after Close: %v, want ErrClosed", err)
	}
}

// TestCloseConcurrent: Close from several goroutines while others call; each
// call succeeds or fails with ErrClosed, and every connection ends closed.
func TestCloseConcurrent(t *testing.T) {
	s := newConnServer(t)
	c := newClient(t, s.srv)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				if i%4 == 0 && j == 5 {
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
				if _, err := c.Subscriptions(t.Context()); err != nil && !errors.Is(err, client.ErrClosed) {
					t.Errorf("a call about Close: %v, want success or ErrClosed", err)
				}
			}
		})
	}
	wg.Wait()
	s.waitAllClosed(t)
}

// TestCloseEndsDial: Close ends the connect net/http goes on with after a
// call gave up waiting for it (the Client's Timeout passed while the connect
// hung), so that no goroutine of the Client is left.
func TestCloseEndsDial(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	addr := nodetest.FullListener(t)
	c, err := client.New(addr, &client.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscriptions(t.Context()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call whose connect hangs: %v, want it to fail at the timeout", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	goleak.VerifyNone(t, ignore)
}

// TestCloseLeavesCallersHTTPClient: with Options.HTTPClient, Close fails
// later calls but leaves the caller's connections open: its next request
// uses the connection the Client's call left idle.
func TestCloseLeavesCallersHTTPClient(t *testing.T) {
	s := newConnServer(t)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	c, err := client.New(s.srv.URL, &client.Options{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscriptions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Subscriptions(t.Context()); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("a call after Close: %v, want ErrClosed", err)
	}
	resp, err := hc.Get(s.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if opened, closed, _ := s.counts(); opened != 1 || closed != 0 {
		t.Errorf("the caller's request after Close: %d connections made, %d closed; want the first one reused", opened, closed)
	}
}
