package httpapi_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// bigBody is the start of every body the tests send: a document whose one
// field is about MaxBodySize long. It is made once, so that the test's own
// allocations do not count in the heap it measures.
var bigBody = []byte(`{"name": "` + strings.Repeat("x", httpapi.MaxBodySize))

// openBody opens a raw connection to srv and sends the headers of a document
// create whose body claims length bytes, then the first part bytes of it
// (from bigBody). The connection is closed at the end of the test.
func openBody(t testing.TB, srv *httptest.Server, length, part int) net.Conn {
	t.Helper()
	conn, err := dialBody(srv, length, part)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dialBody is openBody for a goroutine other than the test's: it returns the
// error, and the caller closes the connection.
func dialBody(srv *httptest.Server, length, part int) (net.Conn, error) {
	conn, err := net.Dial("tcp", hostOf(srv))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(conn, "POST /api/v0/collections/User/documents HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", hostOf(srv), length)
	conn.Write(bigBody[:part]) // the server may refuse the body and close: that is fine
	return conn, nil
}

// memStats returns the runtime's memory statistics.
func memStats() runtime.MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// answerOf reads the answer waiting on conn, if one comes within wait.
func answerOf(conn net.Conn, wait time.Duration) (*http.Response, error) {
	conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// TestRequestBodyMemory holds n large bodies (all of an almost-4 MiB body but
// its last byte) and n slow ones (a few bytes of a 4 MiB body) open at once.
// The heap must stay within its bounds, the bodies past the budget must be
// turned away at once with 503, and a normal request must still be answered.
//
// Without a budget every large body is taken in and the live heap grows by
// about 8 MiB per body (the JSON decoder's buffer), 160 MiB for n = 20.
func TestRequestBodyMemory(t *testing.T) {
	const n = 20
	// liveBound: a body taken in lives in one buffer of its announced length
	// until it has arrived whole; twice the budget leaves a margin for the rest
	// of the process, far below the 160 MiB of no budget. (Decoding while the
	// body arrived held the decoder's buffer, which grows by doubling, and a
	// copy of what it read: three times the budget.)
	const liveBound = 2 * httpapi.DefaultBodyBudget
	// peakBound: garbage the collector has not yet taken back adds as much again.
	const peakBound = 2 * liveBound
	const admitted = httpapi.DefaultBodyBudget / (httpapi.MaxBodySize - 1)
	_, srv := newServer(t)
	addUser(t, srv)

	runtime.GC()
	base := memStats()
	var peak uint64
	var mu sync.Mutex
	sample := func() uint64 {
		h := memStats().HeapInuse
		mu.Lock()
		defer mu.Unlock()
		peak = max(peak, h)
		return h
	}
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				sample()
			}
		}
	})

	// The large bodies go first: those the server takes in are the worst case.
	large := make([]net.Conn, n)
	dialed := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { large[i], dialed[i] = dialBody(srv, httpapi.MaxBodySize-1, httpapi.MaxBodySize-2) })
	}
	wg.Wait()
	for _, c := range large {
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	if err := errors.Join(dialed...); err != nil {
		t.Fatal(err)
	}
	slow := make([]net.Conn, n)
	for i := range n {
		slow[i] = openBody(t, srv, httpapi.MaxBodySize, 16)
	}

	// Wait until the server has taken in what it will: the heap stops growing
	// for 300ms.
	nodetest.Eventually(t, 30*time.Second, func() error {
		before := sample()
		time.Sleep(300 * time.Millisecond)
		if after := sample(); after > before+1<<20 {
			return fmt.Errorf("heap still growing: %d -> %d bytes", before, after)
		}
		return nil
	})
	close(stop)
	sampler.Wait()
	runtime.GC()
	live := int64(memStats().HeapAlloc) - int64(base.HeapAlloc)
	grew := int64(peak) - int64(base.HeapInuse)
	t.Logf("%d large and %d slow bodies held: live heap +%d MiB (bound %d MiB), peak heap in use +%d MiB (bound %d MiB) over %d MiB",
		n, n, live>>20, liveBound>>20, grew>>20, peakBound>>20, base.HeapInuse>>20)
	if live > liveBound {
		t.Errorf("live heap grew by %d bytes, bound %d", live, liveBound)
	}
	if grew > peakBound {
		t.Errorf("heap in use grew by %d bytes at its peak, bound %d", grew, peakBound)
	}

	// A normal request is answered while the bodies are held.
	start := time.Now()
	call(t, srv, "GET", "/api/v0/health", "").want(t, http.StatusOK)
	t.Logf("health answered in %v", time.Since(start))

	// The bodies past the budget were turned away at once, unread.
	var busy sync.WaitGroup
	refused := make([]bool, 2*n)
	for i, c := range append(large, slow...) {
		busy.Go(func() {
			resp, err := answerOf(c, 2*time.Second)
			refused[i] = err == nil && resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
		})
	}
	busy.Wait()
	count := 0
	for _, r := range refused {
		if r {
			count++
		}
	}
	if want := 2*n - admitted; count != want {
		t.Errorf("%d bodies refused with 503 and Retry-After, want %d (all but the %d that fit the budget)", count, want, admitted)
	}

	// Once the connections close, their reservations are given back.
	for _, c := range append(large, slow...) {
		c.Close()
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		a := call(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "after"}`)
		if a.status != http.StatusCreated {
			return fmt.Errorf("create after the bodies closed: %d %s", a.status, a.body)
		}
		return nil
	})
}

// TestSlowBodyCutOff trickles a body a byte every 20ms: the server must answer
// 408 once BodyReadTimeout has passed, and give its reservation back. The
// timeout is long enough for the test to see the reservation held first.
func TestSlowBodyCutOff(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{BodyBudget: httpapi.MaxBodySize, BodyReadTimeout: 2 * time.Second})
	addUser(t, srv)

	// Once the server has taken the trickled body in, the whole budget is held:
	// the client sees a busy node, not a closed one. A create that arrives first
	// holds a few bytes, and then the trickled body is the one turned away: the
	// test starts another.
	var conn net.Conn
	var a answer
	nodetest.Eventually(t, 30*time.Second, func() error {
		if conn == nil {
			conn = trickle(t, srv)
		}
		if a = call(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "x"}`); a.status == http.StatusServiceUnavailable {
			return nil
		}
		if resp, err := answerOf(conn, time.Millisecond); err == nil {
			conn.Close()
			conn = nil
			return fmt.Errorf("trickled body answered %s beside a create", resp.Status)
		}
		return fmt.Errorf("create beside a trickled body: %d %s", a.status, a.body)
	})
	a.wantError(t, http.StatusServiceUnavailable, "retry later")
	if a.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(t.Context(), "User", map[string]any{"name": "x"})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.RetryAfter <= 0 || errors.Is(err, gossipdb.ErrClosed) {
		t.Errorf("client's error with the budget full: %#v, want a 503 with RetryAfter that is not ErrClosed", err)
	}

	resp, err := answerOf(conn, 30*time.Second)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("trickled body answered %s, want 408", resp.Status)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		a := call(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "after"}`)
		if a.status != http.StatusCreated {
			return fmt.Errorf("create after the trickled body was cut off: %d %s", a.status, a.body)
		}
		return nil
	})
}

// trickle opens a body of MaxBodySize and sends it a byte every 20ms until the
// connection fails; the connection closes when the test ends.
func trickle(t *testing.T, srv *httptest.Server) net.Conn {
	conn := openBody(t, srv, httpapi.MaxBodySize, 1)
	go func() {
		for i := 1; ; i++ {
			time.Sleep(20 * time.Millisecond)
			if _, err := conn.Write(bigBody[i : i+1]); err != nil {
				return
			}
		}
	}()
	return conn
}

// TestBodyDeadlineEndsWithBody checks that BodyReadTimeout bounds reading the
// body only, not the work after it (as a timeout on the whole request would).
// The work is a connect to a "peer" that accepts the TCP connection, says
// nothing for holdFor, ten times the timeout, and hangs up: the answer must be
// that failure (502), not a timeout (504) or a cancelled request (503).
func TestBodyDeadlineEndsWithBody(t *testing.T) {
	const holdFor = 500 * time.Millisecond
	n := newNode(t)
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	httpapi.SetBodyReadTimeout(h, 50*time.Millisecond) // below MinBodyReadTimeout, for a quick test
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held sync.WaitGroup
	defer held.Wait()
	held.Go(func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		time.Sleep(holdFor) // the silent peer's behaviour, not a wait for sync
		conn.Close()
	})
	port := ln.Addr().(*net.TCPAddr).Port
	addr := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, newNode(t).ID())
	call(t, srv, "POST", "/api/v0/p2p/peers", jsonString(t, map[string]string{"addr": addr})).
		wantError(t, http.StatusBadGateway)
}

// smallSendBuffers accepts connections whose send buffer holds a few KiB: a
// network slower than loopback, where an answer is not taken in at once.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// TestStalledAnswerReleasesBody: clients that send bodies filling the budget
// and then read nothing of their answers do not hold the budget: each body's
// reservation is given back when its answer begins, while the answer itself
// is held in the answer budget, and each connection is closed once a write of
// its answer has waited Options.BodyReadTimeout. (The handler once waited for
// ever on the answer's write, holding the body's reservation, so every later
// write got 503; then it held the reservation until the whole answer was
// taken or the timeout had passed since its first write.)
func TestStalledAnswerReleasesBody(t *testing.T) {
	// Long enough for the test to see every answer stalled at once on a
	// loaded machine, the first of them before it times out.
	const timeout = 3 * time.Second
	n := newNode(t)
	h, err := httpapi.NewHandler(n, &httpapi.Options{BodyReadTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	ln := &closeRecorder{Listener: srv.Listener}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	addUser(t, srv)
	for range 4 { // an answer of 400 KiB
		createDoc(t, srv, `{"name": "`+strings.Repeat("x", 100<<10)+`"}`)
	}
	// A GraphQL request padded to MaxBodySize with an unused variable.
	prefix := `{"query": "{ User { name } }", "variables": {"pad": "`
	body := prefix + strings.Repeat(" ", httpapi.MaxBodySize-len(prefix)-len(`"}}`)) + `"}}`
	// The connections of the calls above, then the stalled ones, dialled one
	// after the other before any other: accepted in that order.
	before, _ := ln.state(0, 0)
	const stalled = httpapi.DefaultBodyBudget / httpapi.MaxBodySize
	for range stalled {
		conn, err := net.Dial("tcp", hostOf(srv))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.(*net.TCPConn).SetReadBuffer(4 << 10)
		fmt.Fprintf(conn, "POST /api/v0/graphql HTTP/1.1\r\nHost: %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", hostOf(srv), len(body), body)
	}
	nodetest.Eventually(t, 5*timeout, func() error {
		m := scrape(t, srv)
		if held := m["gossipdb_api_answer_bytes"]; held < stalled*400<<10 {
			return fmt.Errorf("the stalled answers hold %v bytes of the answer budget, want %d answers of 400 KiB", held, stalled)
		}
		if held := m["gossipdb_api_body_bytes"]; held != 0 {
			return fmt.Errorf("the bodies of stalled answers hold %v bytes of the body budget", held)
		}
		return nil
	})
	if _, open := ln.state(before, stalled); open != stalled {
		t.Fatalf("%d of %d connections whose answers stall open: want all until a write of theirs times out", open, stalled)
	}
	call(t, srv, "POST", "/api/v0/graphql", body).want(t, http.StatusOK)
	nodetest.Eventually(t, 10*timeout, func() error {
		if _, open := ln.state(before, stalled); open != 0 {
			return fmt.Errorf("%d connection(s) whose answers stall still open", open)
		}
		if m := scrape(t, srv); m["gossipdb_api_answer_bytes"] != 0 || m["gossipdb_api_body_bytes"] != 0 {
			return fmt.Errorf("held at rest: %v", apiMetrics(m))
		}
		return nil
	})
}

// sendBuffers accepts connections whose send buffer holds size bytes: not
// the megabytes loopback can grow it to, which would take in much of an
// answer at once, whatever the client reads.
type sendBuffers struct {
	net.Listener
	size int
}

func (l sendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// steadyReader is a client that reads its answer steadily, and slowly: at
// most steadyPiece bytes, then a pause of steadyPause, each time.
type steadyReader struct{ net.Conn }

const (
	steadyPiece = 8 << 10
	steadyPause = 10 * time.Millisecond
)

func (r steadyReader) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p[:min(len(p), steadyPiece)])
	time.Sleep(steadyPause) // the client's pace, not a wait for the server
	return n, err
}

// TestSteadyReaderTakesLargeAnswer: the answer to a request with a body, read
// slowly but steadily over many times Options.BodyReadTimeout, arrives whole,
// as that to a request without one does. (The answer to a request with a body
// had to be taken whole within the timeout from its first write, and a large
// GraphQL answer to a client that read it steadily was cut off.)
func TestSteadyReaderTakesLargeAnswer(t *testing.T) {
	// The reader takes a write, 64 KiB, in 80 ms or so, but a loaded machine
	// may stall it for some hundreds.
	const timeout = time.Second
	n := newNode(t)
	h, err := httpapi.NewHandler(n, &httpapi.Options{BodyReadTimeout: timeout, GraphQL: graphql.Limits{MaxResultSize: 64 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = sendBuffers{srv.Listener, 64 << 10}
	srv.Start()
	t.Cleanup(srv.Close)
	addUser(t, srv)
	const docs = 16 // an answer of 3.3 MB
	for range docs {
		createDoc(t, srv, `{"name": "`+strings.Repeat("x", 200<<10)+`"}`)
	}
	conn, err := net.Dial("tcp", hostOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(64 << 10)
	const query = `{"query": "{ User { name } }"}`
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/v0/graphql HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", hostOf(srv), len(query), query)
	resp, err := http.ReadResponse(bufio.NewReader(steadyReader{conn}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK || int64(len(data)) != resp.ContentLength {
		t.Fatalf("an answer read steadily for %v: status %d, %d of %d bytes, %v", took, resp.StatusCode, len(data), resp.ContentLength, err)
	}
	var got struct {
		Data struct{ User []struct{ Name string } }
	}
	if err := json.Unmarshal(data, &got); err != nil || len(got.Data.User) != docs {
		t.Fatalf("the answer holds %d documents, want %d: %v", len(got.Data.User), docs, err)
	}
	if took < 3*timeout {
		t.Fatalf("the answer was read in %v, want several times the timeout %v for the test to mean anything", took, timeout)
	}
	t.Logf("%d bytes read in %v, the timeout being %v", len(data), took, timeout)
}

// closeRecorder accepts connections as smallSendBuffers does and records
// whether the server closed each one.
type closeRecorder struct {
	net.Listener
	mu     sync.Mutex
	closed []bool
}

func (l *closeRecorder) Accept() (net.Conn, error) {
	c, err := smallSendBuffers{l.Listener}.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = append(l.closed, false)
	return &recordedConn{Conn: c, l: l, i: len(l.closed) - 1}, nil
}

// state returns how many connections were accepted, and how many of the n
// accepted after the first skip are still open.
func (l *closeRecorder) state(skip, n int) (accepted, open int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, closed := range l.closed {
		if i >= skip && i < skip+n && !closed {
			open++
		}
	}
	return len(l.closed), open
}

// recordedConn is a connection that tells its closeRecorder when it closes.
type recordedConn struct {
	net.Conn
	l *closeRecorder
	i int
}

func (c *recordedConn) Close() error {
	c.l.mu.Lock()
	c.l.closed[c.i] = true
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// TestStalledAnswerWithoutBodyCutOff: a client that asks for a large answer
// without sending a body (a page of documents, a document) and then reads
// nothing of it must not hold the answer for ever: each write of it must be
// taken within Options.BodyReadTimeout, else the connection is closed. (The
// handler waited for ever on the write, holding the answer in memory: 200
// such requests for pages of large documents held 4.5 GB.)
func TestStalledAnswerWithoutBodyCutOff(t *testing.T) {
	const timeout = 500 * time.Millisecond
	n := newNode(t)
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	httpapi.SetBodyReadTimeout(h, timeout) // below MinBodyReadTimeout, for a quick test
	srv := httptest.NewUnstartedServer(h)
	ln := &closeRecorder{Listener: srv.Listener}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	addUser(t, srv)
	var id string
	for range 4 { // pages and documents of 400 KiB
		id = createDoc(t, srv, `{"name": "`+strings.Repeat("x", 100<<10)+`"}`)
	}
	before, _ := ln.state(0, 0) // the connections of the calls above
	paths := []string{"/api/v0/collections/User/documents?limit=1000", "/api/v0/collections/User/documents/" + id}
	for _, path := range paths {
		conn, err := net.Dial("tcp", hostOf(srv))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.(*net.TCPConn).SetReadBuffer(4 << 10)
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, hostOf(srv))
	}
	nodetest.Eventually(t, 40*timeout, func() error {
		if accepted, open := ln.state(before, len(paths)); accepted < before+len(paths) || open != 0 {
			return fmt.Errorf("%d connection(s) accepted, %d of those whose answers stall still open", accepted-before, open)
		}
		return nil
	})
}

// denseBodies are bodies whose JSON decodes to as much memory as JSON can:
// arrays of tiny objects, of numbers, of empty arrays, and of deeply nested
// arrays (within encoding/json's depth limit), each sent where the API decodes
// it before any check of its meaning, in two sizes: almost MaxBodySize, and a
// 32nd of it. They are made once, so that the test's own allocations do not
// count in the heap it measures.
var denseBodies = []struct {
	path  string
	large bool
	body  string
}{
	{"/api/v0/collections/User/documents", true, fill(`[`, `{"a":0}`, `]`, httpapi.MaxBodySize)},
	{"/api/v0/graphql", true, fill(`{"query": "{ User { name } }", "variables": {"v": [`, `0`, `]}}`, httpapi.MaxBodySize)},
	{"/api/v0/tx", true, fill(`{"ops": [{"op": "create", "collection": "User", "fields": {"name": [`, `[]`, `]}}]}`, httpapi.MaxBodySize)},
	{"/api/v0/p2p/collections", true, fill(`[`, strings.Repeat("[", 500)+strings.Repeat("]", 500), `]`, httpapi.MaxBodySize)},
	{"/api/v0/collections/User/documents", false, fill(`[`, `{"a":0}`, `]`, httpapi.MaxBodySize/32)},
	{"/api/v0/graphql", false, fill(`{"query": "{ User { name } }", "variables": {"v": [`, `0`, `]}}`, httpapi.MaxBodySize/32)},
	{"/api/v0/tx", false, fill(`{"ops": [{"op": "create", "collection": "User", "fields": {"name": [`, `[]`, `]}}]}`, httpapi.MaxBodySize/32)},
	{"/api/v0/p2p/collections", false, fill(`[`, strings.Repeat("[", 500)+strings.Repeat("]", 500), `]`, httpapi.MaxBodySize/32)},
}

// fill returns prefix, then as many items as fit, separated by commas, then
// suffix: a body of almost size bytes.
func fill(prefix, item, suffix string, size int) string {
	n := (size - len(prefix) - len(suffix)) / (len(item) + 1)
	return prefix + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + suffix
}

// TestDecodedBodyMemory sends n bodies of denseBodies at once. Decoded, each
// would take 15 to 45 times its size (180 MiB for the large array of objects),
// so the heap must stay within the same bound as for bodies held open
// (TestRequestBodyMemory): the budget must count what a body decodes to, not
// only its bytes. The large bodies are refused with 413, naming the budget; the
// small ones fit in it and get the answer their endpoint gives.
//
// Counting only their bytes, the budget let four large bodies decode at once:
// the heap in use grew by about 500 MiB.
func TestDecodedBodyMemory(t *testing.T) {
	const n = 32
	// liveBound: the bound of the live heap held for bodies that
	// docs/SECURITY.md gives. peakBound: the heap in use counts garbage the
	// collector has not yet taken back too, as much again at most (as in
	// TestRequestBodyMemory); on a loaded machine it lags (+35 MiB seen
	// under -race beside other tests, against +15 to +18 MiB alone).
	const liveBound = 2 * httpapi.DefaultBodyBudget
	const peakBound = 2 * liveBound
	_, srv := newServer(t)
	addUser(t, srv)
	// The bodies leave garbage (their buffers) as they go, which the collector
	// would let grow as large as the node's own heap before it ran: it runs
	// often here, so that the heap in use follows what is live.
	defer debug.SetGCPercent(debug.SetGCPercent(5))

	runtime.GC()
	base := memStats()
	var peak uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				peak = max(peak, memStats().HeapInuse)
			}
		}
	})
	answers := make([]answer, n)
	failed := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b := denseBodies[i%len(denseBodies)]
			// A body turned away while the budget is full is sent again, and
			// so is one whose answer was lost: the server answers a body it
			// refuses before reading it all, then closes the connection, and
			// the client may see its write fail before it reads the answer.
			// nodetest.Poll, not Eventually: t.Fatal may not be called here.
			err := nodetest.Poll(60*time.Second, func() error {
				a, err := tryCall(srv, "POST", b.path, b.body)
				if err != nil {
					return err
				}
				answers[i] = a
				if a.status == http.StatusServiceUnavailable {
					return errors.New("budget full")
				}
				return nil
			})
			if err != nil {
				failed[i] = fmt.Errorf("POST %s, body %d: %w", b.path, i, err)
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	if err := errors.Join(failed...); err != nil {
		t.Fatal(err)
	}
	grew := int64(peak) - int64(base.HeapInuse)
	t.Logf("%d dense bodies: peak heap in use +%d MiB (bound %d MiB) over %d MiB",
		n, grew>>20, peakBound>>20, base.HeapInuse>>20)
	if grew > peakBound {
		t.Errorf("heap in use grew by %d bytes at its peak, bound %d", grew, peakBound)
	}
	for i, a := range answers {
		b := denseBodies[i%len(denseBodies)]
		refused := a.status == http.StatusRequestEntityTooLarge && strings.Contains(a.body, "budget")
		if refused != b.large {
			t.Errorf("POST %s of a dense body of %d bytes: %d %.200s; refused for the budget: %v, want %v",
				b.path, len(b.body), a.status, a.body, refused, b.large)
		}
	}
	call(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "after"}`).want(t, http.StatusCreated)
}

// TestManyValuesFit checks that counting what bodies decode to does not turn
// away a large write of ordinary documents: CreateMany's most documents, each
// of ten short fields, fit the default budget.
func TestManyValuesFit(t *testing.T) {
	_, srv := newServer(t)
	var sdl, doc strings.Builder
	sdl.WriteString("type Wide {")
	doc.WriteString("{")
	for i := range 10 {
		fmt.Fprintf(&sdl, " field%d: String", i)
		if i > 0 {
			doc.WriteString(", ")
		}
		fmt.Fprintf(&doc, `"field%d": "value %d"`, i, i)
	}
	sdl.WriteString(" }")
	doc.WriteString("}")
	call(t, srv, "POST", "/api/v0/collections", jsonString(t, map[string]string{"sdl": sdl.String()})).want(t, http.StatusOK)
	body := "[" + strings.Repeat(doc.String()+",", gossipdb.MaxCreateMany-1) + doc.String() + "]"
	var ids []client.DocIDResult
	call(t, srv, "POST", "/api/v0/collections/Wide/documents", body).want(t, http.StatusCreated).decode(t, &ids)
	if len(ids) != gossipdb.MaxCreateMany {
		t.Errorf("%d documents created, want %d", len(ids), gossipdb.MaxCreateMany)
	}
}

// TestAnswerBudget: answers being written hold their bytes in the answer
// budget until their clients take them; an answer that does not fit gets 503
// with Retry-After while small answers go on, and once the stalled client
// leaves, the same request is answered. A client that stopped reading held
// its whole answer, past what the kernel's socket buffers take, and each such
// client as much again.
func TestAnswerBudget(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{AnswerBudget: 4 << 20, GraphQL: graphql.Limits{MaxResultSize: 64 << 20}})
	addUser(t, srv)
	for range 40 { // an answer of 8 MB: over the budget, but alone it fits
		createDoc(t, srv, `{"name": "`+strings.Repeat("x", 200<<10)+`"}`)
	}
	const query = `{"query": "{ User { name } }"}`
	graphQL := func() answer {
		return send(t, srv, http.MethodPost, "/api/v0/graphql", query, map[string]string{"Content-Type": "application/json"})
	}
	if a := graphQL(); a.status != http.StatusOK || len(a.body) < 8e6 {
		t.Fatalf("an answer alone: status %d, %d bytes, %.200s", a.status, len(a.body), a.body)
	}
	if m := scrape(t, srv); m["gossipdb_api_answer_budget_bytes"] != 4<<20 || m["gossipdb_api_answer_bytes"] != 0 {
		t.Fatalf("at rest: %v", apiMetrics(m))
	}

	stalled, err := net.Dial("tcp", hostOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(stalled, "POST /api/v0/graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		hostOf(srv), len(query), query)
	nodetest.Eventually(t, 10*time.Second, func() error {
		if m := scrape(t, srv); m["gossipdb_api_answer_bytes"] < 8e6 {
			return fmt.Errorf("the stalled answer holds %v bytes of the budget, want all its bytes", m["gossipdb_api_answer_bytes"])
		}
		return nil
	})
	a := graphQL()
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "too many large answers in flight") {
		t.Fatalf("an answer while another stalls: status %d, Retry-After %q, %.200s; want 503 saying the budget is full", a.status, a.header.Get("Retry-After"), a.body)
	}
	if a := send(t, srv, http.MethodGet, "/api/v0/collections/User", "", nil); a.status != http.StatusOK {
		t.Fatalf("a small answer while a large one stalls: status %d, %.200s", a.status, a.body)
	}
	if m := scrape(t, srv); m["gossipdb_api_answers_refused_total"] != 1 {
		t.Fatalf("after one refusal: %v", apiMetrics(m))
	}

	stalled.Close()
	nodetest.Eventually(t, 10*time.Second, func() error {
		if a := graphQL(); a.status != http.StatusOK {
			return fmt.Errorf("an answer once the stalled client left: status %d", a.status)
		}
		if m := scrape(t, srv); m["gossipdb_api_answer_bytes"] != 0 {
			return fmt.Errorf("answers hold %v bytes at rest", m["gossipdb_api_answer_bytes"])
		}
		return nil
	})
}
