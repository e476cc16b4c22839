package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

func newClient(t testing.TB, srv *httptest.Server) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"localhost:9181", "http://localhost:9181"},
		{"127.0.0.1:9182", "http://127.0.0.1:9182"},
		{"http://127.0.0.1:9181", "http://127.0.0.1:9181"},
		{"http://127.0.0.1:9181/", "http://127.0.0.1:9181"},
		{"https://db.example:443", "https://db.example:443"},
		{" [::1]:9181 ", "http://[::1]:9181"},
		{"https://db.example", "https://db.example"}, // a node behind a proxy
	} {
		got, err := client.ParseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "ftp://x:1", "http://", "http://x:1/api", "http://x:1?q=1", "http://u:p@x:1", "::",
		"127.0.0.1:99999", "http://127.0.0.1:65536", "127.0.0.1:0"} {
		if got, err := client.ParseURL(in); err == nil {
			t.Errorf("ParseURL(%q) = %q, want an error", in, got)
		}
	}
	// A bare host without its port is a mistake (port 80), named as such.
	for _, in := range []string{"localhost", "127.0.0.1", "[::1]"} {
		if got, err := client.ParseURL(in); err == nil || !strings.Contains(err.Error(), "no port; want HOST:PORT") {
			t.Errorf("ParseURL(%q) = %q, %v; want an error saying the port is missing", in, got, err)
		}
	}
}

func TestClient(t *testing.T) {
	n1, srv1 := newServer(t)
	_, srv2 := newServer(t)
	c1, c2 := newClient(t, srv1), newClient(t, srv2)
	ctx := context.Background()

	if c1.URL() != srv1.URL {
		t.Fatalf("URL %q, want %q", c1.URL(), srv1.URL)
	}
	h, err := c1.Health(ctx)
	if err != nil || h.Status != "ok" || h.PeerID != n1.ID() {
		t.Fatalf("Health = %+v, %v", h, err)
	}
	if res, err := c1.Check(ctx); err != nil || !res.OK || res.Error != "" {
		t.Fatalf("Check = %+v, %v", res, err)
	}

	// Collections.
	cols, err := c1.AddCollection(ctx, userSDL)
	if err != nil || len(cols) != 1 || cols[0].Name != "User" {
		t.Fatalf("AddCollection = %+v, %v", cols, err)
	}
	if _, err := c2.AddCollection(ctx, userSDL); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.AddCollection(ctx, `type User { name: Int }`); !errors.Is(err, gossipdb.ErrSchemaConflict) {
		t.Fatalf("conflicting AddCollection: %v, want ErrSchemaConflict", err)
	}
	if _, err := c1.AddCollection(ctx, `type {`); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("bad SDL: %v, want ErrInvalid", err)
	}
	all, err := c1.Collections(ctx)
	if err != nil || len(all) != 1 || all[0].SchemaID != cols[0].SchemaID {
		t.Fatalf("Collections = %+v, %v", all, err)
	}
	one, err := c1.Collection(ctx, "User")
	if err != nil || one.SchemaID != cols[0].SchemaID || len(one.Fields) != 4 {
		t.Fatalf("Collection = %+v, %v", one, err)
	}
	if _, err := c1.Collection(ctx, "Nope"); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("Collection(Nope): %v, want ErrNotFound", err)
	}

	// Documents.
	id, err := c1.Create(ctx, "User", map[string]any{"name": "Ada", "age": json.Number("36"), "points": 1.5})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := c1.Get(ctx, "User", id)
	if err != nil {
		t.Fatal(err)
	}
	if doc.ID != id || doc.Fields["name"] != "Ada" || doc.Fields["age"] != json.Number("36") ||
		doc.Fields["points"] != json.Number("1.5") || doc.Fields["verified"] != nil {
		t.Fatalf("Get = %+v", doc)
	}
	ids, err := c1.CreateMany(ctx, "User", []map[string]any{{"name": "Bob"}, {"name": "Eve"}})
	if err != nil || len(ids) != 2 {
		t.Fatalf("CreateMany = %v, %v", ids, err)
	}
	if _, err := c1.Create(ctx, "User", map[string]any{"age": "abc"}); !errors.Is(err, gossipdb.ErrInvalid) ||
		!strings.Contains(err.Error(), `field "age": want Int, got "abc"`) {
		t.Fatalf("Create with a wrong type: %v", err)
	}
	if _, err := c1.Create(ctx, "Nope", nil); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("Create in Nope: %v, want ErrNotFound", err)
	}
	if err := c1.Update(ctx, "User", id, map[string]any{"age": 37}); err != nil {
		t.Fatal(err)
	}
	if doc, err := c1.Get(ctx, "User", id); err != nil || doc.Fields["age"] != json.Number("37") {
		t.Fatalf("after Update: %+v, %v", doc, err)
	}
	var got []string
	for id, err := range c1.DocIDs(ctx, "User") {
		if err != nil {
			t.Fatalf("DocIDs: %v", err)
		}
		got = append(got, id)
	}
	want := append([]string{id}, ids...)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("DocIDs = %v; want %v", got, want)
	}
	if err := c1.Delete(ctx, "User", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Get(ctx, "User", ids[0]); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Fatalf("Get after Delete: %v, want ErrDeleted", err)
	}
	if _, err := c1.Get(ctx, "User", ""); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("Get with an empty ID: %v, want ErrInvalid", err)
	}
	var apiErr *client.APIError
	if _, err := c1.Get(ctx, "User", "bafy-nonsense"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Fatalf("Get with a bad ID: %v, want an APIError with status 400", err)
	}

	// Peers and subscriptions.
	info, err := c1.PeerInfo(ctx)
	if err != nil || len(info) == 0 || !strings.HasSuffix(info[0], "/p2p/"+n1.ID()) {
		t.Fatalf("PeerInfo = %v, %v", info, err)
	}
	if peers, err := c2.ActivePeers(ctx); err != nil || len(peers) != 0 {
		t.Fatalf("ActivePeers before Connect = %v, %v", peers, err)
	}
	if err := c2.Connect(ctx, info[0]); err != nil {
		t.Fatal(err)
	}
	if peers, err := c2.ActivePeers(ctx); err != nil || len(peers) != 1 || !strings.HasSuffix(peers[0], n1.ID()) {
		t.Fatalf("ActivePeers = %v, %v", peers, err)
	}
	if err := c2.Connect(ctx, "/ip4/127.0.0.1/tcp/x"); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("Connect to a malformed address: %v, want ErrInvalid", err)
	}
	if err := c2.Subscribe(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	if subs, err := c2.Subscriptions(ctx); err != nil || !slices.Equal(subs, []string{"User"}) {
		t.Fatalf("Subscriptions = %v, %v", subs, err)
	}
	// Catch-up with node 1, which holds the collection: synced, and the status
	// shows the session.
	if err := c2.StartSync(ctx, "User"); err != nil {
		t.Fatalf("StartSync: %v", err)
	}
	res, err := c2.Sync(ctx, "User", 30*time.Second)
	if err != nil || !res.Synced || res.Error != "" || len(res.Peers) != 1 || res.Peers[0].Peer != n1.ID() {
		t.Fatalf("Sync = %+v, %v", res, err)
	}
	// Another session may have started since (one follows a subscription), so
	// the status may show one running until it finishes too.
	nodetest.Eventually(t, 30*time.Second, func() error {
		st, err := c2.SyncStatus(ctx, "User")
		if err != nil || st.Collection != "User" || !st.Subscribed || len(st.Peers) != 1 || st.Peers[0].Peer != n1.ID() ||
			st.Peers[0].Finished == nil || st.Peers[0].Error != "" {
			return fmt.Errorf("SyncStatus = %+v, %v; want one finished session with node 1", st, err)
		}
		return nil
	})
	if _, err := c2.SyncStatus(ctx, "Nope"); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("SyncStatus(Nope): %v, want ErrNotFound", err)
	}
	if err := c1.StartSync(ctx, "User"); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("StartSync of a collection not subscribed: %v, want ErrInvalid", err)
	}
	if err := c2.Subscribe(ctx, "Nope"); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Fatalf("Subscribe(Nope): %v, want ErrNotFound", err)
	}
	if err := c2.Subscribe(ctx); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Fatalf("Subscribe(): %v, want ErrInvalid", err)
	}
	if err := c2.Unsubscribe(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	if subs, err := c2.Subscriptions(ctx); err != nil || len(subs) != 0 {
		t.Fatalf("Subscriptions after Unsubscribe = %v, %v", subs, err)
	}
}

// TestClientErrorsMatchSentinels: a write the collection's policy forbids
// (403) and a document too large for a block (413) come back as errors that
// match gossipdb.ErrForbidden and gossipdb.ErrTooLarge, as the node's own
// calls return.
func TestClientErrorsMatchSentinels(t *testing.T) {
	n, srv := newServer(t)
	c := newClient(t, srv)
	ctx := context.Background()
	// The node's key may read Doc but not write it.
	const admin = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
	sdl := `type Doc @policy(admins: ["` + admin + `"], readers: ["` + n.ID() + `"]) { title: String }`
	if _, err := c.AddCollection(ctx, sdl+` type Note { text: String }`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "Doc", map[string]any{"title": "x"}); !errors.Is(err, gossipdb.ErrForbidden) {
		t.Errorf("Create in Doc: %v, want ErrForbidden", err)
	}
	big := strings.Repeat("x", 2<<20)
	if _, err := c.Create(ctx, "Note", map[string]any{"text": big}); !errors.Is(err, gossipdb.ErrTooLarge) || !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("Create of a 2 MiB note: %v, want ErrTooLarge", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := client.New(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PeerInfo(context.Background())
	var ue *client.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("PeerInfo of nothing: %v (%T), want an UnreachableError", err, err)
	}
	want := "cannot reach gossipdb at http://" + addr + ": is `gossipdb start` running?"
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

// A node that took a request and lost the connection before answering (it
// was killed) is not reported as one that could not be reached: the error says
// that a write may have been applied, so that a create is not blindly retried.
func TestClientConnectionLost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), "User", map[string]any{"name": "Ada"})
	var ue *client.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("Create answered by a lost connection: %v (%T), want an UnreachableError", err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "cannot reach") || !strings.Contains(msg, "may or may not have been applied") {
		t.Fatalf("error %q: want it to say the connection was lost and the write may have been applied", msg)
	}
}

func TestClientCancel(t *testing.T) {
	// A server that never answers: the context must end the call.
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := newClient(t, srv).PeerInfo(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PeerInfo with a deadline: %v, want DeadlineExceeded", err)
	}
}

func TestClientNotGossipdb(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := newClient(t, srv).PeerInfo(context.Background())
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || !strings.Contains(err.Error(), "is it a gossipdb node?") {
		t.Fatalf("error %v, want an APIError asking whether it is a gossipdb node", err)
	}

	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>"))
	}))
	defer garbage.Close()
	if _, err := newClient(t, garbage).PeerInfo(context.Background()); err == nil || !strings.Contains(err.Error(), "bad answer") {
		t.Fatalf("error %v, want a bad answer", err)
	}
}

func TestDocumentJSON(t *testing.T) {
	d := client.Document{ID: "bafyreiabc", Fields: map[string]any{
		"b": json.Number("12345678901234567890"), "Z": "<&>", "a": nil, "when": time.Date(2024, 4, 30, 9, 42, 1, 0, time.UTC),
	}}
	data, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_docID":"bafyreiabc","Z":"<&>","a":null,"b":12345678901234567890,"when":"2024-04-30T09:42:01Z"}`
	if string(data) != want {
		t.Fatalf("marshal\n%s\nwant\n%s", data, want)
	}
	var back client.Document
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != d.ID || back.Fields["b"] != json.Number("12345678901234567890") || len(back.Fields) != 4 {
		t.Fatalf("unmarshal: %+v", back)
	}
	for _, bad := range []string{`null`, `{"name": "x"}`, `{"_docID": 5}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("unmarshal %s: no error", bad)
		}
	}
}

// TestDocIDsStream: DocIDs reads the node's array of IDs as it arrives, and an
// answer that is not such an array, or breaks off, ends it with an error that
// says what was wrong; an iteration stopped early reads no further.
func TestDocIDsStream(t *testing.T) {
	long := strings.Repeat("b", 70<<10)
	for _, c := range []struct {
		body string
		want []string
		err  string // "" for none
	}{
		{"[]\n", nil, ""},
		{` [ "a" , "b","c" ] ` + "\n", []string{"a", "b", "c"}, ""},
		{`["a","b"`, []string{"a", "b"}, "breaks off"},
		{`["a",`, []string{"a"}, "breaks off"},
		{`["a`, nil, "breaks off"},
		{`["a",]`, []string{"a"}, `an ID after ","`},
		{`["a" "b"]`, []string{"a"}, `"," or "]"`},
		{`["a\"b"]`, nil, "which no document ID holds"},
		{"[\"a\tb\"]", nil, "which no document ID holds"},
		{`["a"] ["b"]`, []string{"a"}, "nothing after the array"},
		{`{"a": 1}`, nil, "wants ["},
		{`[1]`, nil, "wants an ID"},
		{`["` + long + `"]`, nil, "an ID of more than"},
		{``, nil, "breaks off"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(c.body))
		}))
		var got []string
		var err error
		for id, e := range newClient(t, srv).DocIDs(t.Context(), "User") {
			if e != nil {
				err = e
				break
			}
			got = append(got, id)
		}
		srv.Close()
		if !slices.Equal(got, c.want) || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("body %.40q: IDs %q, error %v; want %q, an error with %q", c.body, got, err, c.want, c.err)
		}
	}

	// Stopped after the first ID: the iteration ends without an error.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`["a","b","c"]`))
	}))
	defer srv.Close()
	for id, err := range newClient(t, srv).DocIDs(t.Context(), "User") {
		if err != nil || id != "a" {
			t.Fatalf("first ID %q, %v", id, err)
		}
		break
	}
}

// A TLS handshake that fails comes before the request is sent: the error says
// the request was not sent, where it said that a write may have been applied,
// and a scheme that does not match the node's says which to use.
func TestClientTLSMismatch(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the plain server got a request: %s %s", r.Method, r.URL)
	}))
	defer plain.Close()
	var served atomic.Int64
	secure := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	secure.Config.ErrorLog = log.New(io.Discard, "", 0) // its handshake errors are the test's
	secure.StartTLS()
	defer secure.Close()
	for _, c := range []struct{ url, want string }{
		{strings.Replace(plain.URL, "http:", "https:", 1), "over TLS: it answers plain HTTP (use http://); the request was not sent"},
		{secure.URL, "over TLS (tls: failed to verify certificate: x509: certificate signed by unknown authority): the request was not sent"},
		{strings.Replace(secure.URL, "https:", "http:", 1), "answered 400 Bad Request: it serves HTTPS: use https://"},
	} {
		cl, err := client.New(c.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Create(context.Background(), "User", map[string]any{"name": "Ada"})
		if err == nil || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("Create at %s: %v, want an error ending %q", c.url, err, c.want)
		}
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the TLS server handled %d requests, want none", n)
	}
}

// TestClientTimeout: with Options.Timeout, a call the node does not answer in
// time fails with an *UnreachableError that matches context.DeadlineExceeded
// and says the request may have been applied; Sync waits its own timeout on
// top; a negative Timeout is refused.
func TestClientTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answers after the timeout
		case <-time.After(3 * timeout):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"collection":"User","synced":true,"peers":[]}`)
	}))
	defer srv.Close()
	if _, err := client.New(srv.URL, &client.Options{Timeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "Options.Timeout") {
		t.Fatalf("New with a negative Timeout: %v, want an error naming Options.Timeout", err)
	}
	c, err := client.New(srv.URL, &client.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(context.Background(), "User", map[string]any{"name": "Ada"})
	var ue *client.UnreachableError
	want := "did not answer within the timeout (100ms): the request may or may not have been applied"
	if !errors.As(err, &ue) || !errors.Is(err, context.DeadlineExceeded) || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("Create: %v, want an *UnreachableError matching context.DeadlineExceeded, ending %q", err, want)
	}
	res, err := c.Sync(context.Background(), "User", time.Minute)
	if err != nil || !res.Synced {
		t.Fatalf("Sync, answered after Options.Timeout but within its own: %+v, %v", res, err)
	}
}

// TestClientTimeoutNotSent: with Options.Timeout, a call that has no
// connection to the node when the timeout passes (its connect hangs) fails
// then with an *UnreachableError that matches context.DeadlineExceeded and
// says the request was not sent, a write as a read and a stream.
func TestClientTimeoutNotSent(t *testing.T) {
	const timeout = 300 * time.Millisecond
	addr := nodetest.FullListener(t)
	c, err := client.New(addr, &client.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	// Close ends the dials net/http goes on with once a call has failed.
	t.Cleanup(func() { c.Close() })
	want := "cannot reach gossipdb at http://" + addr + ": no connection within the timeout (300ms): the request was not sent"
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"Create", func() error {
			_, err := c.Create(context.Background(), "User", map[string]any{"name": "Ada"})
			return err
		}},
		{"Get", func() error {
			_, err := c.Get(context.Background(), "User", "bafy")
			return err
		}},
		{"DocIDs", func() error {
			for _, err := range c.DocIDs(context.Background(), "User") {
				return err
			}
			return nil
		}},
	} {
		start := time.Now()
		err := call.f()
		d := time.Since(start)
		var ue *client.UnreachableError
		if !errors.As(err, &ue) || !errors.Is(err, context.DeadlineExceeded) || err.Error() != want {
			t.Errorf("%s: %v, want an *UnreachableError matching context.DeadlineExceeded: %q", call.name, err, want)
		}
		if d < timeout || d > 10*timeout {
			t.Errorf("%s: failed after %v, want about the timeout, %v", call.name, d, timeout)
		}
	}
}
