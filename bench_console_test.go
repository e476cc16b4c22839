//go:build unix

package gossipdb_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// consolePollEvery is how often the console (internal/httpapi/console/console.js,
// POLL_MS) polls, on every view; it waits that long after a poll has answered.
const consolePollEvery = 2 * time.Second

// consolePoll makes the requests of one poll of the console, as its poll()
// does: the collections, the subscriptions and the peers, then the sync state
// of each collection, every answer read whole. It returns the bytes read.
func consolePoll(c *http.Client, base string) (int64, error) {
	api := base + "/api/v0"
	resp, err := c.Get(api + "/collections")
	if err != nil {
		return 0, err
	}
	var cols []struct {
		Name string `json:"name"`
	}
	cr := &countingReader{r: resp.Body}
	err = json.NewDecoder(cr).Decode(&cols)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	size := cr.n
	for _, path := range []string{"/p2p/collections", "/p2p/peers"} {
		n, err := getWhole(c, api+path)
		if err != nil {
			return 0, err
		}
		size += n
	}
	for _, col := range cols {
		n, err := getWhole(c, api+"/collections/"+url.PathEscape(col.Name)+"/sync")
		if err != nil {
			return 0, err
		}
		size += n
	}
	return size, nil
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkConsolePoll measures one poll of the console's (what it requests
// every 2 s on every view, the overview included) over HTTP on loopback, of
// a node subscribed to User with 1,000 documents and a connected peer, like
// BenchmarkScrape. The CPU time is the whole process's, client included.
func BenchmarkConsolePoll(b *testing.B) {
	n2 := caughtUpNode(b)
	h, err := httpapi.NewHandler(n2, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	size := int64(0)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if size, err = consolePoll(srv.Client(), srv.URL); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes/poll")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/poll")
}

// eventReader reads an event stream (GET /api/v0/events) to its end in a
// goroutine, counting its change events and the changes its skipped and
// dropped events say were left out.
type eventReader struct {
	cancel  context.CancelFunc
	done    chan struct{}
	changes atomic.Int64
	skipped atomic.Int64
	dropped atomic.Int64
	err     error
}

// openEvents opens base's event stream and returns once its ready event has
// arrived.
func openEvents(b *testing.B, base string) *eventReader {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v0/events", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /api/v0/events: %s", resp.Status)
	}
	r := &eventReader{cancel: cancel, done: make(chan struct{})}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "" { // the ready event
	}
	go func() {
		defer close(r.done)
		defer resp.Body.Close()
		event := ""
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case len(line) == 0:
				event = ""
			case bytes.HasPrefix(line, []byte("event: ")):
				event = string(line[len("event: "):])
				if event == "change" {
					r.changes.Add(1)
				}
			case event == "skipped" && bytes.HasPrefix(line, []byte("data: ")):
				var s httpapi.Skipped
				if err := json.Unmarshal(line[len("data: "):], &s); err != nil {
					r.err = err
					return
				}
				r.skipped.Add(int64(s.Skipped))
			case event == "dropped" && bytes.HasPrefix(line, []byte("data: ")):
				var d httpapi.Dropped
				if err := json.Unmarshal(line[len("data: "):], &d); err != nil {
					r.err = err
					return
				}
				r.dropped.Add(int64(d.Dropped))
			}
		}
		if ctx.Err() == nil {
			r.err = sc.Err()
		}
	}()
	return r
}

// wait waits until the stream has carried (or said it skipped or dropped) n
// changes.
func (r *eventReader) wait(b *testing.B, n int) {
	b.Helper()
	deadline := time.Now().Add(p2pTimeout)
	for r.changes.Load()+r.skipped.Load()+r.dropped.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("event stream carried %d changes, skipped %d and dropped %d of %d in %v",
				r.changes.Load(), r.skipped.Load(), r.dropped.Load(), n, p2pTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// close ends the stream and returns the changes it carried and dropped.
func (r *eventReader) close(b *testing.B) (changes, dropped int) {
	b.Helper()
	r.cancel()
	<-r.done
	if r.err != nil {
		b.Fatal(r.err)
	}
	return int(r.changes.Load()), int(r.dropped.Load())
}

// BenchmarkEventStream measures what an event stream costs the writes it
// follows: one node creates 10,000 documents per op (CreateMany of 100, in
// memory) with its API served, and during every other op a reader drains an
// event stream open on it (opened before the op, closed once it has carried,
// skipped or dropped all 10,000). "stream=never" opens none in any op: its
// difference shows the noise. It reports the process's CPU time per document
// of each kind of op, their difference as a share of the plain op's (the
// target is under 1%), the change events/s the stream carried and the changes
// it dropped. Run it with an even -benchtime=Nx.
func BenchmarkEventStream(b *testing.B) {
	for _, open := range []bool{false, true} {
		name := "stream=never"
		if open {
			name = "stream=open"
		}
		b.Run(name, func(b *testing.B) { benchEventStream(b, open) })
	}
}

func benchEventStream(b *testing.B, open bool) {
	const total, batch = 10_000, 100
	ctx := context.Background()
	n := nodetest.Open(b, "", nil)
	users := nodetest.AddUser(b, n)
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	createDocs(b, users[0], total, batch) // warm up

	var plain, streamed struct {
		docs, events, dropped int
		wall, cpu             time.Duration
	}
	docs := make([]map[string]any, batch)
	op := 0
	for b.Loop() {
		kind := &plain
		if op%2 == 1 {
			kind = &streamed
		}
		op++
		var stream *eventReader
		if kind == &streamed && open {
			stream = openEvents(b, srv.URL)
		}
		cpu0, start := cpuTime(b), time.Now()
		for i := 0; i < total; i += batch {
			for j := range docs {
				docs[j] = p2pUser(i + j)
			}
			if _, err := users[0].CreateMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
		}
		if stream != nil {
			stream.wait(b, total)
		}
		kind.wall += time.Since(start)
		kind.cpu += cpuTime(b) - cpu0
		kind.docs += total
		if stream != nil {
			changes, dropped := stream.close(b)
			kind.events += changes
			kind.dropped += dropped
		}
	}
	if plain.docs == 0 || streamed.docs == 0 {
		b.Fatalf("%d ops: run at least 2 (-benchtime=2x), an even number", op)
	}
	plainCPU := float64(plain.cpu.Nanoseconds()) / 1e3 / float64(plain.docs)
	streamedCPU := float64(streamed.cpu.Nanoseconds()) / 1e3 / float64(streamed.docs)
	b.ReportMetric(plainCPU, "plain-cpu-µs/doc")
	b.ReportMetric(streamedCPU, "stream-cpu-µs/doc")
	b.ReportMetric(100*(streamedCPU-plainCPU)/plainCPU, "stream-cost-%")
	b.ReportMetric(float64(streamed.events)/streamed.wall.Seconds(), "events/s")
	b.ReportMetric(float64(streamed.dropped), "dropped")
}

// BenchmarkConsoleOverhead is BenchmarkMetricsOverhead with a console's traffic
// instead of scrapes during every other op: both nodes polled as the console
// polls (every 2 s, consolePoll), and an event stream open on the receiving
// node, read to the last of the op's 10,000 changes. "console=never" adds
// nothing in any op: its ratios show the noise. Run it with an even
// -benchtime=Nx.
func BenchmarkConsoleOverhead(b *testing.B) {
	b.Run("console=never", func(b *testing.B) {
		benchMetricsOverhead(b, overheadLoad{name: "console"})
	})
	b.Run("console=open", func(b *testing.B) {
		benchMetricsOverhead(b, overheadLoad{name: "console", every: consolePollEvery, events: true,
			visit: func(base string) error { _, err := consolePoll(http.DefaultClient, base); return err }})
	})
}
