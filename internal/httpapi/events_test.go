package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// eventTimeout bounds the wait for one event of a stream.
const eventTimeout = 15 * time.Second

// sse is one Server-Sent Event.
type sse struct {
	name string
	data string
}

// add reads one line of a Server-Sent Events stream into e and reports
// whether it ended e: an empty line after some of e's fields. A comment
// (a keep-alive) is no part of an event.
func (e *sse) add(line string) (ended bool) {
	switch {
	case strings.HasPrefix(line, "event: "):
		e.name = strings.TrimPrefix(line, "event: ")
	case strings.HasPrefix(line, "data: "):
		e.data = strings.TrimPrefix(line, "data: ")
	case line == "":
		return *e != sse{}
	}
	return false
}

// stream is an open stream of Server-Sent Events.
type stream struct {
	resp     *http.Response
	events   chan sse
	comments atomic.Int64 // comment lines read: keep-alives
	cancel   context.CancelFunc
}

// openStream opens GET path (an events URL) on srv and reads its events in the
// background until the stream ends or the test does.
func openStream(t testing.TB, srv *httptest.Server, path string) *stream {
	t.Helper()
	return openStreamWith(t, srv.Client(), srv.URL+path)
}

// openStreamWith is openStream with a client of one's own, at url.
func openStreamWith(t testing.TB, client *http.Client, url string) *stream {
	t.Helper()
	return readStream(t, client, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", url, nil)
	})
}

// readStream sends the request newReq makes with client and reads the
// answer's events in the background until the stream ends, the stream is
// cancelled or the test ends.
func readStream(t testing.TB, client *http.Client, newReq func(context.Context) (*http.Request, error)) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := newReq(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{resp: resp, events: make(chan sse, 1024), cancel: cancel}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	go func() {
		defer close(done)
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var e sse
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), ":") {
				s.comments.Add(1)
			} else if e.add(sc.Text()) {
				s.events <- e
				e = sse{}
			}
		}
	}()
	return s
}

// next returns the stream's next event; ok is false if the stream ended.
func (s *stream) next(t testing.TB) (e sse, ok bool) {
	t.Helper()
	select {
	case e, ok = <-s.events:
		return e, ok
	case <-time.After(eventTimeout):
		t.Fatalf("no event within %v", eventTimeout)
	}
	return
}

// want returns the data of the next event, which must be called name.
func (s *stream) want(t testing.TB, name string, v any) {
	t.Helper()
	e, ok := s.next(t)
	if !ok {
		t.Fatalf("stream ended, want event %q", name)
	}
	if e.name != name {
		t.Fatalf("event %q %s, want %q", e.name, e.data, name)
	}
	if err := json.Unmarshal([]byte(e.data), v); err != nil {
		t.Fatalf("event %q: %v: %s", name, err, e.data)
	}
}

// change returns the next event, which must be a change.
func (s *stream) change(t testing.TB) httpapi.Change {
	t.Helper()
	var c httpapi.Change
	s.want(t, "change", &c)
	return c
}

// wantEnd waits for the stream to end.
func (s *stream) wantEnd(t testing.TB) {
	t.Helper()
	for {
		e, ok := s.next(t)
		if !ok {
			return
		}
		t.Logf("event %q before the end: %s", e.name, e.data)
	}
}

// TestEvents follows changes made on the node and received from a peer: the
// stream says which collections it watches, then each merged block once, with
// its author peer when it came from one.
func TestEvents(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	peer := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	cols := nodetest.AddUser(t, n, peer)
	nodetest.AddCollection(t, `type Post { title: String }`, n)
	if err := n.Subscribe(t.Context(), "User"); err != nil {
		t.Fatal(err)
	}
	if err := peer.Subscribe(t.Context(), "User"); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n, peer)
	nodetest.WaitTopicPeers(t, peer, "User", n)

	s := openStream(t, srv, "/api/v0/events")
	if ct := s.resp.Header.Get("Content-Type"); s.resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", s.resp.StatusCode, ct)
	}
	var ready httpapi.StreamReady
	s.want(t, "ready", &ready)
	if ready.PeerID != n.ID() || !slices.Equal(ready.Collections, []string{"Post", "User"}) {
		t.Fatalf("ready %+v, want peer %s and collections [Post User]", ready, n.ID())
	}

	local, err := cols[0].Create(t.Context(), map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	c := s.change(t)
	if c != (httpapi.Change{Collection: "User", Type: "created", DocID: string(local), Block: string(local), Author: n.ID()}) {
		t.Fatalf("local create: %+v", c)
	}

	remote, err := cols[1].Create(t.Context(), map[string]any{"name": "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	c = s.change(t)
	if c.Type != "created" || c.DocID != string(remote) || c.Peer != peer.ID() || c.Author != peer.ID() {
		t.Fatalf("remote create: %+v, want doc %s from %s", c, remote, peer.ID())
	}
	if err := cols[1].Update(t.Context(), remote, map[string]any{"age": 3}); err != nil {
		t.Fatal(err)
	}
	c = s.change(t)
	if c.Type != "updated" || c.DocID != string(remote) || c.Peer != peer.ID() || c.Block == string(remote) {
		t.Fatalf("remote update: %+v", c)
	}
	if err := cols[0].Delete(t.Context(), local); err != nil {
		t.Fatal(err)
	}
	c = s.change(t)
	if c.Type != "deleted" || c.DocID != string(local) || c.Peer != "" {
		t.Fatalf("local delete: %+v", c)
	}

	// A stream of one collection sees only that one.
	posts := openStream(t, srv, "/api/v0/events?collection=Post")
	posts.want(t, "ready", &ready)
	if !slices.Equal(ready.Collections, []string{"Post"}) {
		t.Fatalf("ready %+v, want [Post]", ready)
	}
	if _, err := cols[0].Create(t.Context(), map[string]any{"name": "not a post"}); err != nil {
		t.Fatal(err)
	}
	p, err := n.Collection("Post")
	if err != nil {
		t.Fatal(err)
	}
	post, err := p.Create(t.Context(), map[string]any{"title": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	c = posts.change(t)
	if c.Collection != "Post" || c.DocID != string(post) {
		t.Fatalf("Post stream: %+v, want the post %s", c, post)
	}
	call(t, srv, "GET", "/api/v0/events?collection=Nope", "").wantError(t, http.StatusNotFound, "Nope")
}

// TestEventsCollectionOnce: a collection named twice in the query is watched
// once: each change is sent once, and a stream holds one queue per collection
// however often the URL repeats its name. (Each name was a watch of its own, so
// a URL of thousands of names made a stream hold thousands of queues of
// WatchBuffer events each.)
func TestEventsCollectionOnce(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	c := nodetest.AddUser(t, n)[0]
	s := openStream(t, srv, "/api/v0/events?collection=User"+strings.Repeat("&collection=User", 1000))
	var ready httpapi.StreamReady
	s.want(t, "ready", &ready)
	if !slices.Equal(ready.Collections, []string{"User"}) {
		t.Fatalf("ready %+v, want [User]", ready)
	}
	for range 2 {
		id, err := c.Create(t.Context(), map[string]any{"age": 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.change(t); got.DocID != string(id) {
			t.Fatalf("change %+v, want the creation of %s once", got, id)
		}
	}
}

// TestEventsSkipped: of a write of many documents a stream sends the first
// few as change events and counts the rest in one skipped event.
func TestEventsSkipped(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	c := nodetest.AddUser(t, n)[0]
	s := openStream(t, srv, "/api/v0/events")
	var ready httpapi.StreamReady
	s.want(t, "ready", &ready)
	docs := make([]map[string]any, 100)
	for i := range docs {
		docs[i] = map[string]any{"age": i}
	}
	ids, err := c.CreateMany(t.Context(), docs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if c := s.change(t); c.Type != "created" || c.DocID != string(ids[i]) {
			t.Fatalf("change %d: %+v, want the creation of %s", i, c, ids[i])
		}
	}
	var skipped httpapi.Skipped
	s.want(t, "skipped", &skipped)
	if skipped != (httpapi.Skipped{Collection: "User", Skipped: 96}) {
		t.Fatalf("skipped %+v, want 96 of User", skipped)
	}
	// A single write is sent whole.
	id, err := c.Create(t.Context(), map[string]any{"age": 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.change(t); c.DocID != string(id) {
		t.Fatalf("change %+v, want the creation of %s", c, id)
	}
}

// TestEventStreamLimit opens MaxEventStreams streams: one more is refused with
// 503 and Retry-After until one of them closes.
func TestEventStreamLimit(t *testing.T) {
	n, srv := newServer(t)
	nodetest.AddUser(t, n)
	var open []*stream
	for range httpapi.MaxEventStreams {
		s := openStream(t, srv, "/api/v0/events")
		var ready httpapi.StreamReady
		s.want(t, "ready", &ready)
		open = append(open, s)
	}
	a := call(t, srv, "GET", "/api/v0/events", "")
	a.wantError(t, http.StatusServiceUnavailable, "too many event streams")
	if a.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if m := scrape(t, srv); m["gossipdb_api_event_streams_refused_total"] != 1 || m["gossipdb_api_event_streams"] != httpapi.MaxEventStreams {
		t.Errorf("metrics: %v streams refused, %v open; want 1 and %d",
			m["gossipdb_api_event_streams_refused_total"], m["gossipdb_api_event_streams"], httpapi.MaxEventStreams)
	}
	open[0].cancel()
	open[0].wantEnd(t)
	waitStreamOpens(t, srv)
}

// waitStreamOpens waits until a stream of every collection opens, as one
// does once the streams that held the room have ended.
func waitStreamOpens(t *testing.T, srv *httptest.Server) {
	t.Helper()
	nodetest.Eventually(t, eventTimeout, func() error {
		s := openStream(t, srv, "/api/v0/events")
		defer s.cancel()
		if s.resp.StatusCode != http.StatusOK {
			return errors.New(s.resp.Status)
		}
		return nil
	})
}

// TestEventStreamWatches opens event streams on a node of 3,000 collections.
// A stream that names no collection follows all of them through one watch of
// the node, and counts one against httpapi.MaxStreamWatches: every stream
// slot may hold one (each used to hold a watch, a queue and two goroutines
// per collection, so that one such stream took 3,000 of the 4,096 and a
// second was refused), and a client that takes every slot with them makes the
// node hold a few goroutines per stream, not per collection. A stream that
// names collections still costs a watch per collection it names, so those
// streams together may name at most MaxStreamWatches.
func TestEventStreamWatches(t *testing.T) {
	n, srv := newServer(t)
	var names []string
	for b := range 12 {
		var sdl strings.Builder
		for c := range 250 {
			fmt.Fprintf(&sdl, "type C%d_%d { f: String }\n", b, c)
			names = append(names, fmt.Sprintf("C%d_%d", b, c))
		}
		if _, err := n.AddCollection(context.Background(), sdl.String()); err != nil {
			t.Fatal(err)
		}
	}
	before := runtime.NumGoroutine()
	var all []*stream
	for range httpapi.MaxEventStreams {
		s := openStream(t, srv, "/api/v0/events")
		var ready httpapi.StreamReady
		s.want(t, "ready", &ready)
		if len(ready.Collections) != 3000 || !ready.All {
			t.Fatalf("a stream of every collection is ready with %d collections, all %v", len(ready.Collections), ready.All)
		}
		all = append(all, s)
	}
	// A stream's handler, its keep-alive writer, its watch's goroutine and
	// the one that queues the watch's batches, and the test's reader and
	// the client's connection: some 8 each.
	if grown := runtime.NumGoroutine() - before; grown > 16*httpapi.MaxEventStreams {
		t.Errorf("%d streams of 3,000 collections each started %d goroutines, want at most %d",
			httpapi.MaxEventStreams, grown, 16*httpapi.MaxEventStreams)
	}
	// Each follows a write to any collection.
	c, err := n.Collection("C11_249")
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Create(t.Context(), map[string]any{"f": "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if got := s.change(t); got.Collection != "C11_249" || got.DocID != string(id) {
			t.Fatalf("change %+v, want the create of %s in C11_249", got, id)
		}
	}
	a := call(t, srv, "GET", "/api/v0/events", "")
	a.wantError(t, http.StatusServiceUnavailable, "too many event streams")
	for _, s := range all {
		s.cancel()
		s.wantEnd(t)
	}
	waitStreamOpens(t, srv)
	// waitStreamOpens may itself have been refused while the streams ended.
	refused := scrape(t, srv)["gossipdb_api_event_streams_refused_total"]

	// Streams that name collections count one watch for each.
	named := func(names []string) string {
		q := url.Values{"collection": names}
		return "/api/v0/events?" + q.Encode()
	}
	first := openStream(t, srv, named(names))
	var ready httpapi.StreamReady
	first.want(t, "ready", &ready)
	if len(ready.Collections) != 3000 || ready.All {
		t.Fatalf("a stream naming 3,000 collections is ready with %d, all %v", len(ready.Collections), ready.All)
	}
	second := openStream(t, srv, named(names[:2000]))
	if second.resp.StatusCode != http.StatusServiceUnavailable || second.resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second stream naming 2,000 collections: %s, Retry-After %q; want 503 with Retry-After",
			second.resp.Status, second.resp.Header.Get("Retry-After"))
	}
	second.cancel()
	if got := scrape(t, srv)["gossipdb_api_event_streams_refused_total"] - refused; got != 1 {
		t.Errorf("metrics: %v more streams refused, want 1", got)
	}
	// A stream of a few collections, and one of all of them, still fit.
	few := openStream(t, srv, "/api/v0/events?collection=C0_0&collection=C0_1")
	few.want(t, "ready", &ready)
	every := openStream(t, srv, "/api/v0/events")
	every.want(t, "ready", &ready)
	first.cancel()
	first.wantEnd(t)
	waitStreamOpens(t, srv)
}

// TestEventsFollowNewCollections: a stream that names no collection follows
// those added after it opened too, where one that names collections follows
// those only.
func TestEventsFollowNewCollections(t *testing.T) {
	n, srv := newServer(t)
	nodetest.AddUser(t, n)
	s := openStream(t, srv, "/api/v0/events")
	var ready httpapi.StreamReady
	s.want(t, "ready", &ready)
	if !ready.All || !slices.Equal(ready.Collections, []string{"User"}) {
		t.Fatalf("ready %+v, want all, now [User]", ready)
	}
	users := openStream(t, srv, "/api/v0/events?collection=User")
	users.want(t, "ready", &ready)
	if ready.All {
		t.Fatalf("a stream of User: ready %+v, want not all", ready)
	}
	nodetest.AddCollection(t, `type Post { title: String }`, n)
	p, err := n.Collection("Post")
	if err != nil {
		t.Fatal(err)
	}
	post, err := p.Create(t.Context(), map[string]any{"title": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.change(t); c.Collection != "Post" || c.DocID != string(post) {
		t.Fatalf("change %+v, want the post %s", c, post)
	}
	u, err := n.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := u.Create(t.Context(), map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if c := users.change(t); c.Collection != "User" || c.DocID != string(ada) {
		t.Fatalf("the User stream: %+v, want Ada %s (and not the post)", c, ada)
	}
}

// TestEventStreamsEnd checks that streams end, so that nothing waits for their
// clients: on http.Server.Shutdown (through EndStreams) and when the node closes.
func TestEventStreamsEnd(t *testing.T) {
	t.Run("shutdown", func(t *testing.T) {
		n := newNode(t)
		nodetest.AddUser(t, n)
		h, err := httpapi.NewHandler(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: h}
		hs.RegisterOnShutdown(h.EndStreams)
		served := make(chan error, 1)
		go func() { served <- hs.Serve(ln) }()
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		s := openStreamWith(t, client, "http://"+ln.Addr().String()+"/api/v0/events")
		var ready httpapi.StreamReady
		s.want(t, "ready", &ready)

		ctx, cancel := context.WithTimeout(t.Context(), eventTimeout)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown with an open stream: %v", err)
		}
		s.wantEnd(t)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Fatal(err)
		}
	})
	t.Run("EndStreams", func(t *testing.T) {
		n := newNode(t)
		nodetest.AddUser(t, n)
		h, err := httpapi.NewHandler(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		s := openStream(t, srv, "/api/v0/events")
		var ready httpapi.StreamReady
		s.want(t, "ready", &ready)
		h.EndStreams()
		s.wantEnd(t)
		call(t, srv, "GET", "/api/v0/events", "").wantError(t, http.StatusServiceUnavailable, "shutting down")
		call(t, srv, "GET", "/api/v0/health", "").want(t, http.StatusOK)
	})
	t.Run("no collection", func(t *testing.T) {
		n := newNode(t)
		h, err := httpapi.NewHandler(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		s := openStream(t, srv, "/api/v0/events")
		var ready httpapi.StreamReady
		s.want(t, "ready", &ready)
		if len(ready.Collections) != 0 {
			t.Fatalf("ready %+v, want no collection", ready)
		}
		call(t, srv, "GET", "/api/v0/health", "").want(t, http.StatusOK)
		select {
		case e, ok := <-s.events:
			t.Fatalf("a stream with nothing to watch sent %+v (open: %v), want it to wait", e, ok)
		default:
		}
		h.EndStreams()
		s.wantEnd(t)
	})
	t.Run("node closed", func(t *testing.T) {
		n, srv := newServer(t)
		nodetest.AddUser(t, n)
		s := openStream(t, srv, "/api/v0/events")
		var ready httpapi.StreamReady
		s.want(t, "ready", &ready)
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		s.wantEnd(t)
	})
}

// stalledStream is an event stream whose client stopped reading after the
// "ready" event, as a client that hangs does.
type stalledStream struct {
	conn net.Conn
	body *bufio.Reader
}

// openStalled opens GET /api/v0/events of collection (of every collection for
// "") on srv and reads its "ready" event.
func openStalled(t *testing.T, srv *httptest.Server, collection string) *stalledStream {
	t.Helper()
	conn, err := net.Dial("tcp", hostOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	path := "/api/v0/events"
	if collection != "" {
		path += "?collection=" + collection
	}
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(eventTimeout))
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a stream: %s", resp.Status)
	}
	s := &stalledStream{conn: conn, body: bufio.NewReader(resp.Body)}
	if events, _ := s.read(1); len(events) != 1 || events[0].name != "ready" {
		t.Fatalf("first events %v, want ready", events)
	}
	return s
}

// read reads up to max events (or all, for max < 0) until the stream ends or
// eventTimeout passes, and returns them with the error that stopped it: nil
// after max events, io.EOF at the end of the stream.
func (s *stalledStream) read(max int) ([]sse, error) {
	s.conn.SetReadDeadline(time.Now().Add(eventTimeout))
	var events []sse
	var e sse
	for max < 0 || len(events) < max {
		line, err := s.body.ReadString('\n')
		if err != nil {
			return events, err
		}
		if e.add(strings.TrimSuffix(line, "\n")) {
			events = append(events, e)
			e = sse{}
		}
	}
	return events, nil
}

// heapBytes returns the bytes of the live heap.
func heapBytes() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestEventBudget is an adversary that opens event streams, one per
// collection, and stops reading them while the node writes to every
// collection: the changes those streams do not send pass the budget all
// streams share. Each stalled stream is then ended with an "ended" event and
// gives back what it held, so the memory the streams hold stays within the
// budget (without it, each held WatchBuffer events or more: 4 streams of
// distinct collections held some 5 MiB here), and a stream whose reader keeps
// up gets every change. It runs again with stalled streams that name no
// collection, each following all of them through one watch of the node,
// which counts one against MaxStreamWatches: their unsent changes of every
// collection count in the same budget.
func TestEventBudget(t *testing.T) {
	t.Run("one collection each", func(t *testing.T) { testEventBudget(t, false) })
	t.Run("every collection", func(t *testing.T) { testEventBudget(t, true) })
}

func testEventBudget(t *testing.T, all bool) {
	const (
		budget  = 512 << 10
		stalled = 4
		writes  = 2000 // per collection, of 4 documents each: 8,000 events
	)
	n := newNode(t)
	var cols []*gossipdb.Collection
	for i := range stalled {
		cols = append(cols, nodetest.AddCollection(t, fmt.Sprintf("type C%d { n: Int }", i), n)[0])
	}
	h, err := httpapi.NewHandler(n, &httpapi.Options{EventBudget: budget})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	// The kernel's send buffers, which grow to megabytes, would take in
	// what the stalled streams do not send, out of the budget's reach.
	srv.Config.ConnState = func(conn net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conn.(*net.TCPConn).SetWriteBuffer(16 << 10)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	healthy := openStream(t, srv, "/api/v0/events")
	var ready httpapi.StreamReady
	healthy.want(t, "ready", &ready)
	var changes atomic.Int64
	var others []sse // read once the stream has ended
	healthyDone := make(chan struct{})
	go func() {
		defer close(healthyDone)
		for e := range healthy.events {
			if e.name == "change" {
				changes.Add(1)
			} else {
				others = append(others, e)
			}
		}
	}()
	goroutines := runtime.NumGoroutine()

	var hung []*stalledStream
	each := writes * 4 // the changes a stalled stream follows
	for _, c := range cols {
		if all {
			hung = append(hung, openStalled(t, srv, ""))
			each = stalled * writes * 4
		} else {
			hung = append(hung, openStalled(t, srv, c.Name()))
		}
	}
	docs := []map[string]any{{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}}
	const events = stalled * writes * 4
	for i := range writes {
		for _, c := range cols {
			if _, err := c.CreateMany(t.Context(), docs); err != nil {
				t.Fatal(err)
			}
		}
		// The reading stream keeps within a few hundred changes of the
		// writes, however slowly the machine runs its reader, so that only
		// the stalled streams can fill the budget.
		written := int64((i + 1) * stalled * len(docs))
		nodetest.Eventually(t, eventTimeout, func() error {
			if got := changes.Load(); got < written-256 {
				return fmt.Errorf("the stream that reads got %d changes of %d written", got, written)
			}
			return nil
		})
	}
	nodetest.Eventually(t, eventTimeout, func() error {
		if got := changes.Load(); got != events {
			return fmt.Errorf("the stream that reads got %d changes of %d", got, events)
		}
		return nil
	})
	held := heapBytes()

	for i, s := range hung {
		got, err := s.read(-1)
		if !errors.Is(err, io.EOF) {
			t.Errorf("stalled stream %d did not end (%v) after %d events", i, err, len(got))
		} else if last := got[len(got)-1]; last.name != "ended" || !strings.Contains(last.data, "fell behind") {
			t.Errorf("stalled stream %d ended with %q %s, want an ended event", i, last.name, last.data)
		}
		if len(got) >= each {
			t.Errorf("stalled stream %d sent %d events for %d changes", i, len(got), each)
		}
		s.conn.Close()
	}
	// Once the stalled streams are gone, so are their goroutines and what
	// they held.
	nodetest.Eventually(t, eventTimeout, func() error {
		if now := runtime.NumGoroutine(); now > goroutines {
			return fmt.Errorf("%d goroutines, %d before the stalled streams", now, goroutines)
		}
		return nil
	})
	freed := held - heapBytes()
	// What the stalled streams held when they were ended: their write
	// buffers and the budget, with some room for the heap's noise.
	if limit := int64(budget + stalled*64<<10 + 1<<20); freed > limit {
		t.Errorf("the stalled streams held %d bytes, more than %d", freed, limit)
	}
	t.Logf("the stalled streams held %d bytes", freed)

	m := scrape(t, srv)
	if m["gossipdb_api_event_streams_overrun_total"] != stalled || m["gossipdb_api_event_budget_bytes"] != budget ||
		m["gossipdb_api_event_bytes"] > budget || m["gossipdb_api_event_streams"] != 1 {
		t.Errorf("metrics once the stalled streams ended: overrun %v (want %d), budget %v, held %v, streams %v (want 1)",
			m["gossipdb_api_event_streams_overrun_total"], stalled, m["gossipdb_api_event_budget_bytes"],
			m["gossipdb_api_event_bytes"], m["gossipdb_api_event_streams"])
	}

	healthy.cancel()
	<-healthyDone
	for _, e := range others {
		t.Errorf("the stream that reads got %q %s", e.name, e.data)
	}
}
