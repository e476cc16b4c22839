package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gossipdb/gossipdb/client"
)

// serveStream answers every request with the Server-Sent Events of stream,
// as a node does, and holds the stream open until the client leaves.
func serveStream(t *testing.T, stream string) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, stream)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return newClient(t, srv)
}

// The keep-alive comments a node sends on an idle stream, and other comments
// the specification of Server-Sent Events allows, within an event too.
const (
	keepAlive = ": keep-alive\n\n"
	comment   = ":another comment\n"
)

// TestChangesKeepAlive: Changes takes the changes of a stream between
// comments, each once, in order.
func TestChangesKeepAlive(t *testing.T) {
	c := serveStream(t, keepAlive+
		"event: change\nid: 1\ndata: {\"position\":1,\"type\":\"created\",\"document\":{\"_docID\":\"a\"}}\n\n"+
		keepAlive+keepAlive+
		"event: change\n"+comment+"id: 2\ndata: {\"position\":2,\"type\":\"updated\",\"document\":{\"_docID\":\"a\"}}\n\n"+
		comment+"\n"+keepAlive+
		"event: end\nid: 2\ndata: {\"position\":2}\n\n"+
		keepAlive)
	var got []uint64
	end, err := c.Changes(t.Context(), "User", 0, false, func(ch client.Change) error {
		got = append(got, ch.Position)
		return nil
	})
	if err != nil || end != 2 || !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("changes %v, end %d, %v; want [1 2], end 2", got, end, err)
	}
}

// TestSubscriptionKeepAlive: Subscription yields the answers of a stream
// between comments, each once, in order.
func TestSubscriptionKeepAlive(t *testing.T) {
	c := serveStream(t, keepAlive+
		"data: {\"data\":{\"User\":[{\"name\":\"Ada\"}]}}\n\n"+
		keepAlive+keepAlive+
		comment+"data: {\"data\":{\"User\":[{\"name\":\"Bob\"}]}}\n\n"+
		keepAlive)
	want := []string{`{"User":[{"name":"Ada"}]}`, `{"User":[{"name":"Bob"}]}`}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []string
	for resp, err := range c.Subscription(ctx, `subscription { User { name } }`, nil) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("after %q: %v, want the stream to go on until cancelled", got, err)
			}
			break
		}
		if got = append(got, string(resp.Data)); len(got) == len(want) {
			cancel() // the stream sends nothing more but keep-alives
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("answers %q, want %q", got, want)
	}
}
