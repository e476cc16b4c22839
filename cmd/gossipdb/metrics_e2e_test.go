package main_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsEndpoint: `gossipdb start` serves GET /metrics on the API's
// listener in the Prometheus text format, as a scraper reads it (no Origin,
// the API's address as Host), with the node's metrics and the process's.
func TestMetricsEndpoint(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	ok(t, "client", "collection", "add", userSDL, "--url", n.url())
	ok(t, "client", "collection", "create", "--name", "User", `{"name": "Ada"}`, "--url", n.url())

	c := http.Client{Timeout: commandTimeout}
	resp, err := c.Get("http://" + n.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s %s", resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics does not parse as the text format: %v", err)
	}
	value := func(name string) float64 {
		t.Helper()
		f := families[name]
		if f == nil || len(f.GetMetric()) == 0 {
			t.Fatalf("no %s in /metrics", name)
		}
		m := f.GetMetric()[0]
		if m.Counter != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	if w := value("gossipdb_writes_total"); w != 1 {
		t.Errorf("gossipdb_writes_total = %v after one create, want 1", w)
	}
	if d := value("gossipdb_collection_documents"); d != 1 {
		t.Errorf("gossipdb_collection_documents = %v, want 1", d)
	}
	if s := value("gossipdb_store_size_bytes"); s <= 0 {
		t.Errorf("gossipdb_store_size_bytes = %v, want > 0", s)
	}
	if g := value("go_goroutines"); g <= 0 {
		t.Errorf("go_goroutines = %v", g)
	}
	n.stop(t)
}
