package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// readChanges reads the changes of User after since without following, and
// returns them with the position to resume from.
func readChanges(t *testing.T, cl *client.Client, since uint64) ([]client.Change, uint64) {
	t.Helper()
	var out []client.Change
	next, err := cl.Changes(context.Background(), "User", since, false, func(ch client.Change) error {
		out = append(out, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("changes after %d: %v", since, err)
	}
	return out, next
}

// TestChangesStream: GET …/changes streams the feed after since with each
// change's position as its event id, ends with the position to resume from,
// resumes from Last-Event-ID, and with follow=true goes on with new changes.
func TestChangesStream(t *testing.T) {
	ctx := context.Background()
	n, srv := newServer(t)
	addUser(t, srv)
	cl, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, name := range []string{"Ada", "Grace", "Edsger"} {
		ids = append(ids, createDoc(t, srv, `{"name": "`+name+`"}`))
	}
	got, next := readChanges(t, cl, 0)
	if len(got) != 3 || got[2].Position != next {
		t.Fatalf("first read: %+v, next %d", got, next)
	}
	for i, ch := range got {
		if ch.Type != "created" || ch.Document.ID != ids[i] || ch.Block != ids[i] || !ch.Local || ch.Peer != n.ID() {
			t.Errorf("change %d: %+v", i, ch)
		}
	}
	if err := cl.Update(ctx, "User", ids[0], map[string]any{"age": 36}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, "User", ids[1]); err != nil {
		t.Fatal(err)
	}
	more, end := readChanges(t, cl, next)
	if len(more) != 2 || more[0].Type != "updated" || more[1].Type != "deleted" || end != more[1].Position {
		t.Fatalf("after %d: %+v, next %d", next, more, end)
	}
	if age := more[0].Document.Fields["age"]; age != json.Number("36") || more[0].Document.Fields["name"] != "Ada" {
		t.Errorf("update's values: %v", more[0].Document.Fields)
	}
	if more[1].Document.Fields["name"] != "Grace" {
		t.Errorf("delete's last values: %v", more[1].Document.Fields)
	}
	// Nothing new: the stream ends at once with the same position.
	if none, again := readChanges(t, cl, end); len(none) != 0 || again != end {
		t.Fatalf("after the end: %+v, next %d", none, again)
	}

	// An EventSource reconnecting sends the last id it saw, which wins over since.
	s := openStreamWith(t, lastEventID(srv.Client(), got[1].Position), srv.URL+"/api/v0/collections/User/changes?since=0")
	var ch client.Change
	s.want(t, "change", &ch)
	if ch.Document.ID != ids[2] {
		t.Fatalf("after Last-Event-ID %d: %+v", got[1].Position, ch)
	}

	// Following: what is there, then new changes.
	f := openStream(t, srv, "/api/v0/collections/User/changes?follow=true&since="+strconv.FormatUint(next, 10))
	f.want(t, "change", &ch)
	f.want(t, "change", &ch)
	id := createDoc(t, srv, `{"name": "Barbara"}`)
	f.want(t, "change", &ch)
	if ch.Document.ID != id || ch.Position <= end {
		t.Fatalf("followed change %+v, want %s after %d", ch, id, end)
	}
}

// lastEventID returns a client that sends Last-Event-ID: id with every request.
func lastEventID(c *http.Client, id uint64) *http.Client {
	cp := *c
	cp.Transport = headerTransport{c.Transport, strconv.FormatUint(id, 10)}
	return &cp
}

type headerTransport struct {
	rt http.RoundTripper
	id string
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Last-Event-ID", h.id)
	rt := h.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(r)
}

// TestChangesRefused: a since the feed compacted answers 416 (ErrCompacted for
// the client), a since beyond the feed, a malformed since or follow 400, an
// unknown collection 404, a foreign Host 421 (the guard).
func TestChangesRefused(t *testing.T) {
	n := nodetest.Open(t, "", &gossipdb.Options{ChangeRetention: 4})
	srv := serve(t, n, nil)
	addUser(t, srv)
	for range 20 {
		createDoc(t, srv, `{"name": "Ada"}`)
	}
	cl, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, eventTimeout, func() error {
		_, err := cl.Changes(context.Background(), "User", 0, false, func(client.Change) error { return nil })
		if !errors.Is(err, gossipdb.ErrCompacted) {
			return errors.New("position 0 not compacted yet")
		}
		return nil
	})
	call(t, srv, "GET", "/api/v0/collections/User/changes?since=0", "").wantError(t, http.StatusRequestedRangeNotSatisfiable, "compacted")
	call(t, srv, "GET", "/api/v0/collections/User/changes?since=1000", "").wantError(t, http.StatusBadRequest, "beyond")
	call(t, srv, "GET", "/api/v0/collections/User/changes?since=-1", "").wantError(t, http.StatusBadRequest, "since")
	call(t, srv, "GET", "/api/v0/collections/User/changes?follow=yes", "").wantError(t, http.StatusBadRequest, "follow")
	call(t, srv, "GET", "/api/v0/collections/Nope/changes", "").wantError(t, http.StatusNotFound)
	req, err := http.NewRequest("GET", srv.URL+"/api/v0/collections/User/changes", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "evil.example"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host: status %d, want 421", resp.StatusCode)
	}
}
