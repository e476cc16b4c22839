package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

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

	a := send(t, srv, http.MethodGet, "/metrics", "", map[string]string{"Authorization": auth})
	if a.status != http.StatusOK {
		t.Fatalf("scrape: status %d, body %s", a.status, a.body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(a.body))
	if err != nil {
		t.Fatalf("the answer does not parse as the text format: %v", err)
	}
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
