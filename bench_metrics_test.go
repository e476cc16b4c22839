//go:build unix

package gossipdb_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// BenchmarkMetricsOverhead is ReplicationThroughput/memory/batched (node 1 creates
// 10,000 documents in CreateMany calls of 100; an op lasts until node 2 has
// merged them) with both nodes' HTTP APIs served, and GET /metrics scraped from
// both, every second or ten times a second (Prometheus's default is every 15 s),
// during every other op; "every=never" scrapes in no op, and its ratios show the
// noise of the comparison. Alternating plain and scraped ops in the same run
// exposes both to the same machine load. It reports docs/s and the process's CPU
// time per document for each kind of op, their ratios (scraped over plain), the
// scrapes made per second and the mean wall time of one. Run it with an even
// -benchtime=Nx.
//
// It also reports api-cpu-%: of the CPU the process spent in the scraped ops,
// outside the benchmark's own HTTP clients, the share a CPU profile attributes
// to the API's servers (see cpuShares). This measure does not depend on the
// two kinds of op being equally loaded, and resolves a fraction of a percent.
func BenchmarkMetricsOverhead(b *testing.B) {
	for _, every := range []time.Duration{0, time.Second, 100 * time.Millisecond} {
		name := fmt.Sprint("every=", every)
		if every == 0 {
			name = "every=never"
		}
		b.Run(name, func(b *testing.B) {
			benchMetricsOverhead(b, overheadLoad{name: "scraped", every: every, visit: getMetrics})
		})
	}
}

// overheadLoad is the HTTP traffic benchMetricsOverhead adds to every other op
// of the replication: visit is called with each node's API address every
// interval (never when every is 0), and with events set, an event stream
// (GET /api/v0/events) is open on the receiving node and read to the end of the
// op. name prefixes the reported figures of the loaded ops.
type overheadLoad struct {
	name   string
	every  time.Duration
	visit  func(base string) error
	events bool
}

func benchMetricsOverhead(b *testing.B, load overheadLoad) {
	const total, batch = 10_000, 100
	ctx := context.Background()
	n1 := nodetest.Open(b, "", nil)
	n2 := nodetest.Open(b, "", nil)
	users := nodetest.AddUser(b, n1, n2)
	warmPair(b, n1, n2, users[0], users[1])
	var bases []string
	for _, n := range []*gossipdb.Node{n1, n2} {
		h, err := httpapi.NewHandler(n, nil)
		if err != nil {
			b.Fatal(err)
		}
		var srv *httptest.Server
		withRole(roleServer, func() { srv = httptest.NewServer(h) })
		b.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}

	var plain, loaded struct {
		docs     int
		wall     time.Duration
		cpu      time.Duration
		scrapes  int
		scraping time.Duration
		events   int
		dropped  int
	}
	sc := startScraper(b, bases, load.every, load.visit)
	defer sc.stop()
	var shares cpuShares
	docs := make([]map[string]any, batch)
	op := 0
	for b.Loop() {
		kind := &plain
		if op%2 == 1 {
			kind = &loaded
		}
		op++
		want := n2.Metrics().MergedBlocks + total
		if kind == &loaded {
			shares.start(b)
		}
		var stream *eventReader
		if kind == &loaded && load.events {
			withRole(roleClient, func() { stream = openEvents(b, bases[1]) })
		}
		sc.enabled.Store(kind == &loaded && load.every > 0)
		n0, spent0 := sc.done()
		cpu0, start := cpuTime(b), time.Now()
		for i := 0; i < total; i += batch {
			for j := range docs {
				docs[j] = p2pUser(i + j)
			}
			if _, err := users[0].CreateMany(ctx, docs); err != nil {
				b.Fatal(err)
			}
		}
		waitMerged(b, n2, want, time.Millisecond)
		if stream != nil {
			stream.wait(b, total)
		}
		kind.wall += time.Since(start)
		kind.cpu += cpuTime(b) - cpu0
		kind.docs += total
		sc.enabled.Store(false)
		n1, spent1 := sc.done()
		kind.scrapes += n1 - n0
		kind.scraping += spent1 - spent0
		if stream != nil {
			changes, dropped := stream.close(b)
			kind.events += changes
			kind.dropped += dropped
		}
		if kind == &loaded {
			shares.stop(b)
		}
	}
	if plain.docs == 0 || loaded.docs == 0 {
		b.Fatalf("%d ops: run at least 2 (-benchtime=2x), an even number", op)
	}
	plainRate := float64(plain.docs) / plain.wall.Seconds()
	loadedRate := float64(loaded.docs) / loaded.wall.Seconds()
	plainCPU := float64(plain.cpu.Microseconds()) / float64(plain.docs)
	loadedCPU := float64(loaded.cpu.Microseconds()) / float64(loaded.docs)
	b.ReportMetric(plainRate, "plain-docs/s")
	b.ReportMetric(loadedRate, load.name+"-docs/s")
	b.ReportMetric(loadedRate/plainRate, "rate-ratio")
	b.ReportMetric(plainCPU, "plain-cpu-µs/doc")
	b.ReportMetric(loadedCPU, load.name+"-cpu-µs/doc")
	b.ReportMetric(loadedCPU/plainCPU, "cpu-ratio")
	if loaded.scrapes > 0 {
		b.ReportMetric(float64(loaded.scraping.Microseconds())/float64(loaded.scrapes), "µs/scrape")
	}
	b.ReportMetric(float64(loaded.scrapes)/loaded.wall.Seconds(), "scrapes/s")
	if load.events {
		b.ReportMetric(float64(loaded.events)/loaded.wall.Seconds(), "events/s")
		b.ReportMetric(float64(loaded.dropped), "dropped")
	}
	shares.report(b, "api-cpu-%")
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scraper calls visit with each of a set of addresses at a fixed interval while
// enabled, each address from its own goroutine.
type scraper struct {
	enabled atomic.Bool
	stopped chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex
	n     int
	spent time.Duration
}

func startScraper(b *testing.B, bases []string, every time.Duration, visit func(base string) error) *scraper {
	s := &scraper{stopped: make(chan struct{})}
	if every == 0 {
		return s // never scrapes
	}
	for _, base := range bases {
		s.wg.Go(func() { withRole(roleClient, func() { s.visitEvery(b, base, every, visit) }) })
	}
	return s
}

// visitEvery calls visit with base every interval while s is enabled, until s
// stops.
func (s *scraper) visitEvery(b *testing.B, base string, every time.Duration, visit func(base string) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopped:
			return
		case <-t.C:
		}
		if !s.enabled.Load() {
			continue
		}
		start := time.Now()
		if err := visit(base); err != nil {
			b.Error(err)
			return
		}
		s.mu.Lock()
		s.n++
		s.spent += time.Since(start)
		s.mu.Unlock()
	}
}

// getMetrics GETs base's /metrics and reads the answer whole, as Prometheus
// does.
func getMetrics(base string) error {
	_, err := getWhole(http.DefaultClient, base+"/metrics")
	return err
}

// getWhole GETs url, reads the answer whole and returns its size.
func getWhole(c *http.Client, url string) (int64, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return n, err
}

// done returns how many scrapes were made so far and the time they took.
func (s *scraper) done() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.spent
}

// stop stops the scrapes.
func (s *scraper) stop() {
	close(s.stopped)
	s.wg.Wait()
}

// BenchmarkScrape measures one GET /metrics over HTTP on loopback, answer read
// whole, of a node subscribed to User with 1,000 documents and a connected peer:
// "api" is what `gossipdb start` serves (the node's metrics, the Go runtime's and
// the process's); "node" is the node's Collector alone on a registry, as an
// embedding application would register it, served uncompressed like "api".
func BenchmarkScrape(b *testing.B) {
	n2 := caughtUpNode(b)
	api, err := httpapi.NewHandler(n2, nil)
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(n2.Collector())
	for _, bc := range []struct {
		name string
		h    http.Handler
		path string
	}{
		{"api", api, "/metrics"},
		{"node", promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true}), "/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := httptest.NewServer(bc.h)
			defer srv.Close()
			size := int64(0)
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				resp, err := srv.Client().Get(srv.URL + bc.path)
				if err != nil {
					b.Fatal(err)
				}
				size, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s, %v", resp.Status, err)
				}
			}
			b.ReportMetric(float64(size), "bytes/scrape")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/scrape")
		})
	}
}

// caughtUpNode returns the second of two connected nodes subscribed to User,
// caught up with the first's 1,000 documents.
func caughtUpNode(b *testing.B) *gossipdb.Node {
	ctx := context.Background()
	n1 := nodetest.Open(b, "", nil)
	n2 := nodetest.Open(b, "", nil)
	users := nodetest.AddUser(b, n1, n2)
	nodetest.Connect(b, n1, n2)
	subscribeAll(b, n2)
	createDocs(b, users[0], 1000, 100)
	if err := n2.StartSync(ctx, "User"); err != nil {
		b.Fatal(err)
	}
	nodetest.Eventually(b, p2pTimeout, func() error {
		if m := n2.Metrics(); m.CatchUpsEqual == 0 {
			return fmt.Errorf("node 2 not caught up: %+v", m)
		}
		return nil
	})
	return n2
}
