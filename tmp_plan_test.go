package gossipdb_test

import (
	"context"
	"testing"

	"github.com/gossipdb/gossipdb"
)

func TestTmpPlan(t *testing.T) {
	ctx := context.Background()
	_, c := users(t,
		map[string]any{"name": "Ada", "age": 36}, map[string]any{"name": "Bob", "age": 25},
		map[string]any{"name": "Cy", "age": 41}, map[string]any{"name": "Dee", "age": 25}, map[string]any{"name": "eve"})
	c.CreateIndex(ctx, "", gossipdb.Order{Field: "name"})
	c.CreateIndex(ctx, "", gossipdb.Order{Field: "age", Desc: true})
	waitIndexes(t, c)
	for _, q := range []gossipdb.Query{
		{Filter: gossipdb.Filter{"name": "Bob"}},
		{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gt": 25}}},
		{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gt": 25}}, Order: []gossipdb.Order{{Field: "age"}}, Limit: 1},
		{Order: []gossipdb.Order{{Field: "name", Desc: true}}},
		{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_in": []int{25, 41}}}, Order: []gossipdb.Order{{Field: "age", Desc: true}}},
	} {
		p, err := c.Explain(ctx, q)
		t.Logf("%+v: %+v %v: %v", q, p, err, names(t, c, q))
	}
}
