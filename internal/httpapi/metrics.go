package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gossipdb/gossipdb"
)

// metricsHandler serves GET /metrics: the metrics of node n (Node.Collector) and
// of the Go runtime and the process (go_… and process_…), on a registry of its
// own, in the Prometheus text format (or another format the scraper asks for).
// The answer is not compressed: it is some 20 KB, and gzip would triple the
// CPU time of a scrape. Errors of collection are logged and answered with 500.
func metricsHandler(n *gossipdb.Node, log *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		n.Collector(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:           slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:      promhttp.HTTPErrorOnError,
		DisableCompression: true,
	})
}
