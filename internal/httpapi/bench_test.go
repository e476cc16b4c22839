package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// alternate runs the benchmark's ops round robin over ways, each given the
// op's number, and returns the time each way took per op (it runs at least one
// op of each). Alternating op by op makes a disk whose fsync speed drifts, or a
// machine whose load does, weigh on all alike.
func alternate(b *testing.B, ways ...func(i int)) []time.Duration {
	spent := make([]time.Duration, len(ways))
	ops := 0
	for b.Loop() {
		start := time.Now()
		ways[ops%len(ways)](ops)
		spent[ops%len(ways)] += time.Since(start)
		ops++
	}
	if ops < len(ways) {
		b.Fatalf("run at least %d ops (-benchtime=%dx or more)", len(ways), len(ways))
	}
	for w := range spent {
		spent[w] /= time.Duration((ops - w + len(ways) - 1) / len(ways)) // the ops way w ran
	}
	return spent
}

// rate is the number of ops per second of an op that takes d.
func rate(d time.Duration) float64 { return float64(time.Second) / float64(d) }

// BenchmarkCreateOverHTTP compares a durable single-document create through
// POST /api/v0/collections/User/documents, over a loopback socket with a
// keep-alive client, with Collection.Create on the same node on disk, in one
// run: ops alternate between them, so a disk whose fsync speed drifts weighs
// on all alike. It reports each one's rate and the ratio of each client's to
// Create's (the target is at least 0.6), for two clients:
//
//   - net/http's Client ("http/go"), whose Transport hands each request to a
//     goroutine that writes it and reads the answer on another, each a wake-up
//     of a goroutine;
//   - a client that writes the request and reads the answer on the calling
//     goroutine, as curl does ("conn/go"; see connClient).
func BenchmarkCreateOverHTTP(b *testing.B) {
	n, err := gossipdb.Open(benchDir(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	users := nodetest.AddUser(b, n)[0]
	srv := serve(b, n, nil)
	url := srv.URL + "/api/v0/collections/User/documents"
	ctx := context.Background()
	viaClient, viaConn := postWays(b, srv, url)
	spent := alternate(b, func(i int) {
		if _, err := users.Create(ctx, map[string]any{"name": fmt.Sprint("user ", i), "age": i}); err != nil {
			b.Fatal(err)
		}
	}, viaClient, viaConn)
	reportWays(b, spent, "creates")
}

// BenchmarkFsyncOverHTTP is BenchmarkCreateOverHTTP without gossipdb: what
// the machine allows an HTTP request that waits for one fsync. Each op appends
// 100 bytes to a file and syncs it, either called directly or in a bare
// net/http handler (no routing, no JSON) over loopback, with the same two
// clients, alternating op by op. The time a request takes beyond the direct
// call is the least a request waiting on an fsync costs on this machine and
// disk, whatever its handler does: the round trip, and the wake-ups of the
// client's and the server's threads that slept while the process waited for
// the disk.
func BenchmarkFsyncOverHTTP(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	record := make([]byte, 100)
	durable := func() error {
		if _, err := f.Write(record); err != nil {
			return err
		}
		return f.Sync()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if err := durable(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"_docID":"bae-0"}`))
	}))
	b.Cleanup(srv.Close)
	viaClient, viaConn := postWays(b, srv, srv.URL)
	spent := alternate(b, func(int) {
		if err := durable(); err != nil {
			b.Fatal(err)
		}
	}, viaClient, viaConn)
	reportWays(b, spent, "syncs")
}

// userJSON is the JSON of the i-th document the create benchmarks post.
func userJSON(i int) []byte { return fmt.Appendf(nil, `{"name": "user %d", "age": %d}`, i, i) }

// postWays returns the two clients of BenchmarkCreateOverHTTP as ways of
// alternate, each posting userJSON(i) to url on srv and expecting 201
// Created: net/http's Client, and a connClient.
func postWays(b *testing.B, srv *httptest.Server, url string) (viaClient, viaConn func(i int)) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	conn := dialConn(b, srv)
	viaClient = func(i int) {
		resp, err := client.Post(url, "application/json", bytes.NewReader(userJSON(i)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("POST: %s", resp.Status)
		}
	}
	viaConn = func(i int) {
		if status, _, err := conn.post(url, userJSON(i)); err != nil || status != http.StatusCreated {
			b.Fatalf("POST: %d, %v", status, err)
		}
	}
	return viaClient, viaConn
}

// reportWays reports the rate, in unit per second, of each of the three ways
// spent timed (the direct call, then postWays' two clients), and the two
// clients' ratios to the direct call.
func reportWays(b *testing.B, spent []time.Duration, unit string) {
	b.ReportMetric(rate(spent[0]), "go-"+unit+"/s")
	b.ReportMetric(rate(spent[1]), "http-"+unit+"/s")
	b.ReportMetric(rate(spent[2]), "conn-"+unit+"/s")
	b.ReportMetric(rate(spent[1])/rate(spent[0]), "http/go")
	b.ReportMetric(rate(spent[2])/rate(spent[0]), "conn/go")
}

// connClient is an HTTP/1.1 client on one keep-alive connection that writes
// each request (net/http's Request.Write) and reads its answer
// (http.ReadResponse) on the calling goroutine, as curl and load generators
// do.
type connClient struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialConn opens a connClient to srv, closed when the benchmark ends.
func dialConn(b *testing.B, srv *httptest.Server) *connClient {
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return &connClient{conn: conn, r: bufio.NewReader(conn)}
}

// post sends body to url as JSON and returns the answer's status and body.
func (c *connClient) post(url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := req.Write(c.conn); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.r, req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// BenchmarkCreateHandler measures the handler's own cost of a create, without
// a socket or net/http's server: POST /api/v0/collections/User/documents
// served by Handler.ServeHTTP straight into a recorder, against
// Collection.Create of the same document, on an in-memory node, alternating op
// by op as BenchmarkCreateOverHTTP does. It reports the time of each and their
// difference, "extra-ns/create": the guard, the routing, the body's budget,
// decoding and checks, the answer, and building the request and recorder.
func BenchmarkCreateHandler(b *testing.B) {
	n, err := gossipdb.Open("", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	users := nodetest.AddUser(b, n)[0]
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		b.Fatal(err)
	}
	// The address net/http records for a request that came in on 127.0.0.1:9181.
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9181})
	const url = "http://127.0.0.1:9181/api/v0/collections/User/documents"
	b.ReportAllocs()
	spent := alternate(b, func(i int) {
		if _, err := users.Create(ctx, map[string]any{"name": fmt.Sprint("user ", i), "age": i}); err != nil {
			b.Fatal(err)
		}
	}, func(i int) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(userJSON(i)))
		if err != nil {
			b.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusCreated {
			b.Fatalf("POST: %d %s", w.Code, w.Body)
		}
	})
	b.ReportMetric(float64(spent[0]), "go-ns/create")
	b.ReportMetric(float64(spent[1]), "handler-ns/create")
	b.ReportMetric(float64(spent[1]-spent[0]), "extra-ns/create")
}

// BenchmarkCreateOverHTTPConcurrent compares eight clients each posting one
// document per request (POST /api/v0/collections/User/documents, a durable
// create, each client on a keep-alive connection of its own over loopback)
// with one client doing the same, on one node on disk, in one run (issue 17,
// group commit): see nodetest.OneAgainstEight. It reports each one's rate
// and their ratio (the target is at least 4), for the two clients of
// BenchmarkCreateOverHTTP: net/http's Client ("client"), and connClients
// ("conn"), whose requests cost the process, which runs the clients too,
// less CPU time.
func BenchmarkCreateOverHTTPConcurrent(b *testing.B) {
	n, err := gossipdb.Open(benchDir(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	nodetest.AddUser(b, n)
	srv := serve(b, n, nil)
	url := srv.URL + "/api/v0/collections/User/documents"
	b.Run("client", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
		nodetest.OneAgainstEight(b, "client", func(i int) error {
			resp, err := client.Post(url, "application/json", bytes.NewReader(userJSON(i)))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("POST: %s", resp.Status)
			}
			return nil
		})
	})
	b.Run("conn", func(b *testing.B) {
		// Eight connections, each used by one call at a time.
		idle := make(chan *connClient, 8)
		for range 8 {
			idle <- dialConn(b, srv)
		}
		nodetest.OneAgainstEight(b, "conn", func(i int) error {
			conn := <-idle
			defer func() { idle <- conn }()
			status, answer, err := conn.post(url, userJSON(i))
			if err == nil && status != http.StatusCreated {
				err = fmt.Errorf("POST: %d %s", status, answer)
			}
			return err
		})
	})
}

// benchDir is the directory of a benchmark's node: a temporary one on disk, or
// "" (in memory) with -httpapi.memory, which shows the API's own cost.
func benchDir(b *testing.B) string {
	if *inMemory {
		return ""
	}
	return b.TempDir()
}

var inMemory = flag.Bool("httpapi.memory", false, "run BenchmarkCreateOverHTTP and BenchmarkCreateOverHTTPConcurrent on an in-memory node")
