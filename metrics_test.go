package gossipdb_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// scrape is one parse of a node's /metrics.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics gets url (a /metrics address) as Prometheus does and parses the
// answer with Prometheus's text parser.
func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("GET %s: Content-Type %q, want the text format", url, ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: the answer does not parse: %v", url, err)
	}
	return families
}

// find returns the sample of metric name whose labels include labels (name,
// value pairs), or nil.
func (s scrape) find(name string, labels ...string) *dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// value returns the value of a counter or gauge sample, failing the test when
// it is missing.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	m := s.find(name, labels...)
	switch {
	case m == nil:
		t.Fatalf("no sample %s%v", name, labels)
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

// histogramCount returns how many observations histogram name holds.
func (s scrape) histogramCount(t *testing.T, name string) uint64 {
	t.Helper()
	m := s.find(name)
	if m == nil || m.Histogram == nil {
		t.Fatalf("no histogram %s", name)
	}
	return m.GetHistogram().GetSampleCount()
}

// serveAPI serves n's HTTP API, /metrics included, until the test ends, and
// returns the address of /metrics.
func serveAPI(t *testing.T, n *gossipdb.Node) string {
	t.Helper()
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// TestMetricsTwoNodes runs a scripted workload on two nodes, scrapes both
// nodes' /metrics with the Prometheus text parser, and checks that every metric
// moved by what the workload did: writes and publications on the writer,
// messages, merges and propagation on the subscriber, then a catch-up session
// that finds both equal, then hostile messages refused by reason.
func TestMetricsTwoNodes(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, t.TempDir(), nil) // on disk: it has a store size
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	url1, url2 := serveAPI(t, n1), serveAPI(t, n2)

	// 8 + 2 documents, 3 updates, 1 delete: 14 blocks in 10 documents.
	batch := make([]map[string]any, 8)
	for i := range batch {
		batch[i] = map[string]any{"name": fmt.Sprint("batch-", i), "age": i}
	}
	ids, err := users[0].CreateMany(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ada", "Grace"} {
		id, err := users[0].Create(ctx, map[string]any{"name": name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := range 3 {
		if err := users[0].Update(ctx, ids[i], map[string]any{"age": 100 + i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := users[0].Delete(ctx, ids[9]); err != nil {
		t.Fatal(err)
	}
	const blocks, docs = 14, 10
	// Node 1 counts a publication once pubsub has sent it, which may be after
	// node 2 has merged it.
	nodetest.Eventually(t, 30*time.Second, func() error {
		m1, m2 := n1.Metrics(), n2.Metrics()
		if m2.MergedBlocks != blocks || m1.PublishedBlocks != blocks || m1.MessagesOut != m2.MessagesIn {
			return fmt.Errorf("node 2 merged %d blocks of %d; node 1 published %d in %d messages, node 2 received %d",
				m2.MergedBlocks, blocks, m1.PublishedBlocks, m1.MessagesOut, m2.MessagesIn)
		}
		return nil
	})

	s1, s2 := scrapeMetrics(t, url1), scrapeMetrics(t, url2)
	eq := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("node 1 writes", s1.value(t, "gossipdb_writes_total"), blocks)
	eq("node 2 writes", s2.value(t, "gossipdb_writes_total"), 0)
	eq("node 1 blocks published", s1.value(t, "gossipdb_blocks_published_total"), blocks)
	eq("node 2 blocks merged", s2.value(t, "gossipdb_blocks_merged_total"), blocks)
	for _, s := range []scrape{s1, s2} {
		eq("documents", s.value(t, "gossipdb_collection_documents", "collection", "User"), docs)
		eq("blocks", s.value(t, "gossipdb_collection_blocks", "collection", "User"), blocks)
		eq("peers", s.value(t, "gossipdb_peers"), 1)
		if c := s.value(t, "gossipdb_connections"); c < 1 {
			t.Errorf("connections = %v, want at least 1", c)
		}
	}
	sent := s1.value(t, "gossipdb_gossip_messages_sent_total")
	if sent < 1 || sent > 7 {
		t.Errorf("node 1 sent %v messages for 7 write calls; want 1 to 7", sent)
	}
	eq("messages node 2 received", s2.value(t, "gossipdb_gossip_messages_received_total"), sent)
	eq("bytes node 2 received", s2.value(t, "gossipdb_gossip_received_bytes_total"),
		s1.value(t, "gossipdb_gossip_sent_bytes_total"))
	if b := s1.value(t, "gossipdb_gossip_sent_bytes_total"); b < blocks*100 {
		t.Errorf("node 1 sent %v bytes for %d blocks of 100 bytes or more", b, blocks)
	}
	received := s2.value(t, "gossipdb_blocks_received_total", "source", "gossip") +
		s2.value(t, "gossipdb_blocks_received_total", "source", "fetch") +
		s2.value(t, "gossipdb_blocks_received_total", "source", "catchup")
	if received < blocks {
		t.Errorf("node 2 received %v blocks, merged %d", received, blocks)
	}
	if c := s2.histogramCount(t, "gossipdb_gossip_propagation_seconds"); c < 1 || float64(c) > sent {
		t.Errorf("node 2 observed %d propagation latencies for %v messages", c, sent)
	}
	if c := s1.histogramCount(t, "gossipdb_gossip_propagation_seconds"); c != 0 {
		t.Errorf("node 1, which received nothing, observed %d propagation latencies", c)
	}
	if size := s1.value(t, "gossipdb_store_size_bytes"); size <= 0 {
		t.Errorf("node 1's store size = %v, want > 0", size)
	}
	eq("node 2 (in memory) store size", s2.value(t, "gossipdb_store_size_bytes"), 0)

	// Catch-up: a session that finds both nodes equal sets the lag.
	before := s2.value(t, "gossipdb_catchup_sessions_total", "result", "equal")
	if err := n2.StartSync(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if got := n2.Metrics().CatchUpsEqual; float64(got) <= before {
			return fmt.Errorf("no new catch-up session found the nodes equal (%d so far)", got)
		}
		return nil
	})
	s2 = scrapeMetrics(t, url2)
	if lag := s2.value(t, "gossipdb_sync_lag_seconds", "collection", "User", "peer", n1.ID()); lag < 0 || lag > 30 {
		t.Errorf("sync lag with node 1 = %vs just after an equal session", lag)
	}
	eq("documents differing from node 1", s2.value(t, "gossipdb_sync_differing_documents", "collection", "User", "peer", n1.ID()), 0)
	eq("per-collection lag", s2.value(t, "gossipdb_collection_sync_lag_seconds", "collection", "User"),
		s2.value(t, "gossipdb_sync_lag_seconds", "collection", "User", "peer", n1.ID()))
	if c := s2.histogramCount(t, "gossipdb_catchup_duration_seconds"); c < 1 {
		t.Errorf("no catch-up duration observed")
	}
	if c := s2.histogramCount(t, "gossipdb_catchup_rounds"); c < 1 {
		t.Errorf("no catch-up rounds observed")
	}
	s1 = scrapeMetrics(t, url1)
	if c := s1.value(t, "gossipdb_sync_served_sessions_total", "result", "completed"); c < 1 {
		t.Errorf("node 1 served %v completed reconciliation sessions, want at least node 2's", c)
	}
	if r := s1.value(t, "gossipdb_sync_served_rounds_total"); r < 1 {
		t.Errorf("node 1 answered %v reconciliation messages", r)
	}

	// A disconnected peer's series go away: the per-peer labels stay bounded.
	if err := n2.Disconnect(ctx, n1.ID()); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		s2 = scrapeMetrics(t, url2)
		for _, name := range []string{"gossipdb_sync_lag_seconds", "gossipdb_sync_differing_documents"} {
			if s2.find(name, "peer", n1.ID()) != nil {
				return fmt.Errorf("%s still has node 1 after it disconnected", name)
			}
		}
		return nil
	})
	eq("peers after the disconnection", s2.value(t, "gossipdb_peers"), 0)

	// Hostile messages, in the framing of nodes without the send-time header:
	// one that does not decode, one with a field of the wrong type.
	propagated := s2.histogramCount(t, "gossipdb_gossip_propagation_seconds")
	sc := userSchema(t)
	a := newAttacker(t, sc.ID.String())
	a.join(t, n2)
	for _, msg := range [][]byte{
		[]byte("not a block at all"),
		frames(encoded(t, &crdt.Block{Schema: sc.ID, Height: 1, Nonce: make([]byte, 16), Set: map[string]any{"age": "abc"}}).Data),
	} {
		if err := a.topic.Publish(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Eventually(t, 15*time.Second, func() error {
		if got := n2.Metrics().RejectedMessages; got < 2 {
			return fmt.Errorf("%d of 2 hostile messages rejected", got)
		}
		return nil
	})
	s2 = scrapeMetrics(t, url2)
	eq("rejected messages", s2.value(t, "gossipdb_gossip_messages_rejected_total"), 2)
	eq("malformed blocks", s2.value(t, "gossipdb_blocks_rejected_total", "reason", "malformed"), 1)
	eq("blocks with a bad schema", s2.value(t, "gossipdb_blocks_rejected_total", "reason", "schema"), 1)
	eq("blocks inconsistent with their parents", s2.value(t, "gossipdb_blocks_rejected_total", "reason", "parents"), 0)
	eq("blocks with a bad signature", s2.value(t, "gossipdb_blocks_rejected_total", "reason", "signature"), 0)
	if c := s2.histogramCount(t, "gossipdb_gossip_propagation_seconds"); c != propagated {
		t.Errorf("messages without a send time changed the propagation histogram: %d observations, was %d", c, propagated)
	}
}

// TestCollectorOnRegistry registers a node's Collector on a pedantic registry,
// which checks that what it collects matches what it describes, before and
// after Close; after Close the counters keep their final values.
func TestCollectorOnRegistry(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n)
	nodetest.Subscribe(t, "User", n)
	if _, err := users[0].Create(ctx, map[string]any{"name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	if n.Collector() != n.Collector() {
		t.Error("Collector returns a new collector at each call")
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(n.Collector()); err != nil {
		t.Fatal(err)
	}
	writes := func() float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		for _, f := range families {
			if f.GetName() == "gossipdb_writes_total" {
				return f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("no gossipdb_writes_total")
		return 0
	}
	if w := writes(); w != 1 {
		t.Errorf("writes before Close = %v, want 1", w)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if w := writes(); w != 1 {
		t.Errorf("writes after Close = %v, want 1", w)
	}
}

// TestMeshPeersMetric: two subscribed nodes take each other into their mesh
// of the collection a heartbeat after they connect, and node 1's mesh is
// empty again once node 2 is gone.
func TestMeshPeersMetric(t *testing.T) {
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	url1, url2 := serveAPI(t, n1), serveAPI(t, n2)
	meshPeers := func(url string) float64 {
		return scrapeMetrics(t, url).value(t, "gossipdb_mesh_peers", "collection", "User")
	}
	if got := meshPeers(url1); got != 0 {
		t.Fatalf("node 1 has %v mesh peers before connecting to any", got)
	}
	nodetest.Connect(t, n1, n2)
	nodetest.Eventually(t, 30*time.Second, func() error {
		if got1, got2 := meshPeers(url1), meshPeers(url2); got1 != 1 || got2 != 1 {
			return fmt.Errorf("mesh peers: node 1 %v, node 2 %v; want 1 each", got1, got2)
		}
		return nil
	})
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if got := meshPeers(url1); got != 0 {
			return fmt.Errorf("node 1 has %v mesh peers after node 2 closed", got)
		}
		return nil
	})
}
