package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gossipdb/gossipdb/internal/nodetest"

	"github.com/gossipdb/gossipdb/internal/httpapi"
)

// TestMetricsGuarded: GET /metrics answers a scraper (no Origin, the API's Host,
// the token when one is set) in the Prometheus text format, with the node's,
// the Go runtime's and the process's metrics; the API's guard refuses it to web
// pages, foreign Host names and missing tokens as it refuses every route.
func TestMetricsGuarded(t *testing.T) {
	n := newNode(t)
	const token = "s3cret-token"
	srv := serve(t, n, &httpapi.Options{Token: token})
	auth := "Bearer " + token

	families := scrapeFamilies(t, srv, map[string]string{"Authorization": auth})
	for _, name := range []string{"gossipdb_writes_total", "gossipdb_connections", "go_goroutines", "process_open_fds"} {
		if families[name] == nil {
			t.Errorf("no %s in /metrics", name)
		}
	}

	send(t, srv, http.MethodGet, "/metrics", "", nil).wantRefused(t, http.StatusUnauthorized)
	send(t, srv, http.MethodGet, "/metrics", "", map[string]string{"Authorization": auth, "Origin": evilOrigin}).
		wantRefused(t, http.StatusForbidden)
	send(t, srv, http.MethodGet, "/metrics", "", map[string]string{"Authorization": auth, "Host": "evil.example:80"}).
		wantRefused(t, http.StatusMisdirectedRequest)
	send(t, srv, http.MethodPost, "/metrics", "", map[string]string{"Authorization": auth}).
		wantRefused(t, http.StatusMethodNotAllowed)
}

// scrapeFamilies reads srv's /metrics with headers and parses the answer as
// the Prometheus text format.
func scrapeFamilies(t *testing.T, srv *httptest.Server, headers map[string]string) map[string]*dto.MetricFamily {
	t.Helper()
	a := send(t, srv, http.MethodGet, "/metrics", "", headers)
	if a.status != http.StatusOK {
		t.Fatalf("scrape: status %d, body %s", a.status, a.body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(a.body))
	if err != nil {
		t.Fatalf("the answer does not parse as the text format: %v", err)
	}
	return families
}

// scrape reads srv's /metrics, which has no token, and returns the value of
// each sample by its name and label values, as "name" or "name{value}".
func scrape(t *testing.T, srv *httptest.Server) map[string]float64 {
	t.Helper()
	values := map[string]float64{}
	for name, f := range scrapeFamilies(t, srv, nil) {
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += "{" + l.GetValue() + "}"
			}
			values[key] = sampleValue(f.GetType(), m)
		}
	}
	return values
}

// apiMetrics returns the API's own metrics of m.
func apiMetrics(m map[string]float64) map[string]float64 {
	api := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, "gossipdb_api_") {
			api[k] = v
		}
	}
	return api
}

// sampleValue is the value of a counter's or a gauge's sample.
func sampleValue(kind dto.MetricType, m *dto.Metric) float64 {
	if kind == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestBodyBudgetMetrics: the API's metrics say what request bodies hold of
// their budget and count the bodies it turned away, by reason.
func TestBodyBudgetMetrics(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{BodyBudget: httpapi.MaxBodySize})
	addUser(t, srv)
	m := scrape(t, srv)
	if m["gossipdb_api_body_budget_bytes"] != httpapi.MaxBodySize || m["gossipdb_api_body_bytes"] != 0 ||
		m["gossipdb_api_bodies_refused_total{full}"] != 0 || m["gossipdb_api_bodies_refused_total{too_large}"] != 0 {
		t.Fatalf("at rest: %v", apiMetrics(m))
	}

	// A body that decodes to more than the whole budget.
	if a := call(t, srv, http.MethodPost, denseBodies[0].path, denseBodies[0].body); a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a dense body: status %d, body %s", a.status, a.body)
	}
	// A body held open takes the whole budget: the next one is turned away.
	openBody(t, srv, httpapi.MaxBodySize, 1)
	nodetest.Eventually(t, 10*time.Second, func() error {
		if got := scrape(t, srv)["gossipdb_api_body_bytes"]; got != httpapi.MaxBodySize {
			return fmt.Errorf("gossipdb_api_body_bytes %v while a body of %d bytes is held", got, httpapi.MaxBodySize)
		}
		return nil
	})
	if a := call(t, srv, http.MethodPost, "/api/v0/collections/User/documents", `{"name": "Ann"}`); a.status != http.StatusServiceUnavailable {
		t.Fatalf("a body while the budget is full: status %d, body %s", a.status, a.body)
	}
	m = scrape(t, srv)
	if m["gossipdb_api_bodies_refused_total{full}"] != 1 || m["gossipdb_api_bodies_refused_total{too_large}"] != 1 {
		t.Fatalf("after one body refused for each reason: %v", apiMetrics(m))
	}
}
