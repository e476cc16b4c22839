package httpapi_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// alternate runs the benchmark's ops, inProcess on even ones and other on odd
// ones, each given the op's number, and returns the time spent in each and the
// number of ops (at least 2). Alternating op by op makes a disk whose fsync
// speed drifts, or a machine whose load does, weigh on both alike.
func alternate(b *testing.B, inProcess, other func(i int)) (inProcessTime, otherTime time.Duration, ops int) {
	for b.Loop() {
		start := time.Now()
		if ops%2 == 0 {
			inProcess(ops)
			inProcessTime += time.Since(start)
		} else {
			other(ops)
			otherTime += time.Since(start)
		}
		ops++
	}
	if ops < 2 {
		b.Fatal("run at least 2 ops (-benchtime=2x or more)")
	}
	return inProcessTime, otherTime, ops
}

// BenchmarkCreateOverHTTP compares a durable single-document create through
// POST /api/v0/collections/User/documents, over a loopback socket with a
// keep-alive client, with Collection.Create on the same node on disk, in one
// run: ops alternate between the two, so a disk whose fsync speed drifts
// weighs on both alike. It reports each one's rate and their ratio (the target
// is at least 0.6).
func BenchmarkCreateOverHTTP(b *testing.B) {
	n, err := gossipdb.Open(benchDir(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	users := nodetest.AddUser(b, n)[0]
	srv := serve(b, n, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	url := srv.URL + "/api/v0/collections/User/documents"
	ctx := context.Background()
	inProcess, overHTTP, ops := alternate(b, func(i int) {
		if _, err := users.Create(ctx, map[string]any{"name": fmt.Sprint("user ", i), "age": i}); err != nil {
			b.Fatal(err)
		}
	}, func(i int) {
		body := fmt.Appendf(nil, `{"name": "user %d", "age": %d}`, i, i)
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			b.Fatalf("POST: %s", resp.Status)
		}
	})
	goRate := float64(ops-ops/2) / inProcess.Seconds()
	httpRate := float64(ops/2) / overHTTP.Seconds()
	b.ReportMetric(goRate, "go-creates/s")
	b.ReportMetric(httpRate, "http-creates/s")
	b.ReportMetric(httpRate/goRate, "http/go")
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
	inProcess, handler, ops := alternate(b, func(i int) {
		if _, err := users.Create(ctx, map[string]any{"name": fmt.Sprint("user ", i), "age": i}); err != nil {
			b.Fatal(err)
		}
	}, func(i int) {
		body := fmt.Appendf(nil, `{"name": "user %d", "age": %d}`, i, i)
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
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
	goNs := float64(inProcess.Nanoseconds()) / float64(ops-ops/2)
	handlerNs := float64(handler.Nanoseconds()) / float64(ops/2)
	b.ReportMetric(goNs, "go-ns/create")
	b.ReportMetric(handlerNs, "handler-ns/create")
	b.ReportMetric(handlerNs-goNs, "extra-ns/create")
}

// BenchmarkCreateOverHTTPConcurrent compares eight clients each posting one
// document per request (POST /api/v0/collections/User/documents, a durable
// create, each client on a keep-alive connection of its own over loopback)
// with one client doing the same, on one node on disk, in one run (issue 17,
// group commit): see nodetest.OneAgainstEight. It reports each one's rate
// and their ratio (the target is at least 4).
func BenchmarkCreateOverHTTPConcurrent(b *testing.B) {
	n, err := gossipdb.Open(benchDir(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	nodetest.AddUser(b, n)
	srv := serve(b, n, nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	url := srv.URL + "/api/v0/collections/User/documents"
	post := func(i int) error {
		body := fmt.Appendf(nil, `{"name": "user %d", "age": %d}`, i, i)
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST: %s", resp.Status)
		}
		return nil
	}
	nodetest.OneAgainstEight(b, "client", post)
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
