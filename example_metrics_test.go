package gossipdb_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gossipdb/gossipdb"
)

// An application registers the node's metrics on a Prometheus registry of its
// own (serve it with promhttp.HandlerFor); Metrics gives the counters in Go.
func ExampleNode_Collector() {
	ctx := context.Background()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		panic(err)
	}
	defer n.Close()
	reg := prometheus.NewRegistry()
	if err := reg.Register(n.Collector()); err != nil {
		panic(err)
	}

	cols, err := n.AddCollection(ctx, `type User { name: String }`)
	if err != nil {
		panic(err)
	}
	if _, err := cols[0].CreateMany(ctx, []map[string]any{{"name": "Ada"}, {"name": "Grace"}}); err != nil {
		panic(err)
	}

	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case "gossipdb_writes_total":
			fmt.Println(f.GetName(), f.GetMetric()[0].GetCounter().GetValue())
		case "gossipdb_collection_documents":
			m := f.GetMetric()[0]
			fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetGauge().GetValue())
		}
	}
	fmt.Println("Metrics().Writes:", n.Metrics().Writes)
	// Output:
	// gossipdb_collection_documents User 2
	// gossipdb_writes_total 2
	// Metrics().Writes: 2
}
