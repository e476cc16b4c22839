package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gossipdb/gossipdb"
)

// metricsHandler serves GET /metrics: the metrics of node n (Node.Collector), of
// the API's budgets (apiCollector) and of the Go runtime and the process (go_…
// and process_…), on a registry of its own, in the Prometheus text format (or
// another format the scraper asks for).
// The answer is not compressed: it is some 20 KB, and gzip would triple the
// CPU time of a scrape. Errors of collection are logged and answered with 500.
func metricsHandler(n *gossipdb.Node, s *server, log *slog.Logger) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		n.Collector(),
		apiCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:           slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:      promhttp.HTTPErrorOnError,
		DisableCompression: true,
	})
}

// The API's metrics (docs/METRICS.md): what request bodies, answers and event
// streams hold of their budgets, and what the budgets turned away.
var (
	descBodyBytes = prometheus.NewDesc("gossipdb_api_body_bytes",
		"Bytes the request bodies in flight hold of the API's budget for them: their size, and what their JSON decodes to.", nil, nil)
	descBodyBudget = prometheus.NewDesc("gossipdb_api_body_budget_bytes",
		"The API's budget for request bodies (Options.BodyBudget).", nil, nil)
	descBodiesRefused = prometheus.NewDesc("gossipdb_api_bodies_refused_total",
		"Requests whose body the API turned away, by reason: full (the budget was full: 503) or too_large (what the body decodes to is over the whole budget: 413).", []string{"reason"}, nil)
	descAnswerBytes = prometheus.NewDesc("gossipdb_api_answer_bytes",
		"Bytes the answers being written hold of the API's budget for them (answers of 64 KiB or more).", nil, nil)
	descAnswerBudget = prometheus.NewDesc("gossipdb_api_answer_budget_bytes",
		"The API's budget for answers being written (Options.AnswerBudget).", nil, nil)
	descAnswersRefused = prometheus.NewDesc("gossipdb_api_answers_refused_total",
		"Requests answered 503 because their answer did not fit in the budget for answers being written.", nil, nil)
	descEventStreams = prometheus.NewDesc("gossipdb_api_event_streams",
		"Event streams (GET /api/v0/events) open.", nil, nil)
	descEventBytes = prometheus.NewDesc("gossipdb_api_event_bytes",
		"Bytes of events the event streams hold that their readers have not taken yet, all streams together.", nil, nil)
	descEventBudget = prometheus.NewDesc("gossipdb_api_event_budget_bytes",
		"The event streams' budget for the events their readers have not taken (Options.EventBudget).", nil, nil)
	descEventStreamsOverrun = prometheus.NewDesc("gossipdb_api_event_streams_overrun_total",
		"Event streams ended (with an ended event) because the events their reader had not taken did not fit in the budget.", nil, nil)
	descEventStreamsRefused = prometheus.NewDesc("gossipdb_api_event_streams_refused_total",
		"Event streams refused with 503: every stream slot was taken, or the streams would have held more than 4,096 watches together (one per collection named, one for a stream of all).", nil, nil)
)

// apiCollector is the prometheus.Collector of the API's budgets, read from
// the server when Prometheus collects.
type apiCollector struct{ s *server }

// Describe sends the descriptors of the API's metrics.
func (c apiCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBodyBytes, descBodyBudget, descBodiesRefused,
		descAnswerBytes, descAnswerBudget, descAnswersRefused, descEventStreams, descEventBytes, descEventBudget, descEventStreamsOverrun, descEventStreamsRefused} {
		ch <- d
	}
}

// Collect sends the API's metrics as they are now.
func (c apiCollector) Collect(ch chan<- prometheus.Metric) {
	used, full, tooLarge := c.s.budget.state()
	held, overrun := c.s.streams.state()
	ch <- prometheus.MustNewConstMetric(descBodyBytes, prometheus.GaugeValue, float64(used))
	ch <- prometheus.MustNewConstMetric(descBodyBudget, prometheus.GaugeValue, float64(c.s.budget.max))
	ch <- prometheus.MustNewConstMetric(descBodiesRefused, prometheus.CounterValue, float64(full), "full")
	ch <- prometheus.MustNewConstMetric(descBodiesRefused, prometheus.CounterValue, float64(tooLarge), "too_large")
	answering, answersRefused, _ := c.s.answers.state()
	ch <- prometheus.MustNewConstMetric(descAnswerBytes, prometheus.GaugeValue, float64(answering))
	ch <- prometheus.MustNewConstMetric(descAnswerBudget, prometheus.GaugeValue, float64(c.s.answers.max))
	ch <- prometheus.MustNewConstMetric(descAnswersRefused, prometheus.CounterValue, float64(answersRefused))
	ch <- prometheus.MustNewConstMetric(descEventStreams, prometheus.GaugeValue, float64(c.s.streams.open.Load()))
	ch <- prometheus.MustNewConstMetric(descEventBytes, prometheus.GaugeValue, float64(held))
	ch <- prometheus.MustNewConstMetric(descEventBudget, prometheus.GaugeValue, float64(c.s.streams.budget))
	ch <- prometheus.MustNewConstMetric(descEventStreamsOverrun, prometheus.CounterValue, float64(overrun))
	ch <- prometheus.MustNewConstMetric(descEventStreamsRefused, prometheus.CounterValue, float64(c.s.streams.refused.Load()))
}
