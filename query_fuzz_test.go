package gossipdb_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// FuzzQueryAfter gives queries of every plan (an index read in order, forwards
// and backwards, after an equality prefix; a sort in memory; a scan in ID
// order, forwards and backwards) cursors whose header is right, so that they
// pass the order check, and whose sort key is any bytes: a cursor is an input
// from outside (GraphQL's and the HTTP API's after). Each query either fails
// with ErrInvalid or returns documents that match its filter, each once;
// nothing else (no panic, no ErrDamaged for a bad cursor).
func FuzzQueryAfter(f *testing.F) {
	ctx := context.Background()
	n := nodetest.Open(f, "", nil)
	c := nodetest.AddCollection(f, `type User @index(includes: [{field: "age"}, {field: "name", direction: DESC}]) {
		name: String
		age: Int @index
		verified: Boolean
		points: Float
	}`, n)[0]
	var docs []map[string]any
	for i := range 12 {
		docs = append(docs, map[string]any{"name": fmt.Sprintf("user-%d", i%5), "age": i % 4, "verified": i%3 == 0, "points": float64(i) / 2})
	}
	if _, err := c.CreateMany(ctx, docs); err != nil {
		f.Fatal(err)
	}
	queries := []gossipdb.Query{
		{Order: []gossipdb.Order{{Field: "age"}}},
		{Order: []gossipdb.Order{{Field: "age", Desc: true}}, Limit: 3},
		{Filter: gossipdb.Filter{"age": 2}, Order: []gossipdb.Order{{Field: "name", Desc: true}}},
		{Order: []gossipdb.Order{{Field: "name"}}},
		{Filter: gossipdb.Filter{"verified": true}, Order: []gossipdb.Order{{Field: "points"}}, Limit: 2},
		{},
		{Order: []gossipdb.Order{{Field: "_docID", Desc: true}}},
	}
	// Each query's cursor header, and its real cursors as seeds.
	headers := make([][]byte, len(queries))
	for i, q := range queries {
		for d, err := range c.Query(ctx, q) {
			if err != nil {
				f.Fatal(err)
			}
			cur, err := c.Cursor(q, d)
			if err != nil {
				f.Fatal(err)
			}
			raw, err := base64.RawURLEncoding.DecodeString(cur)
			if err != nil || len(raw) < 5 {
				f.Fatalf("cursor %q: %v", cur, err)
			}
			headers[i] = raw[:5]
			f.Add(uint8(i), raw[5:])
		}
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(6), []byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, which uint8, key []byte) {
		i := int(which) % len(queries)
		q := queries[i]
		q.After = base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), headers[i]...), key...))
		seen := map[gossipdb.DocID]bool{}
		for d, err := range c.Query(ctx, q) {
			if err != nil {
				if !errors.Is(err, gossipdb.ErrInvalid) || errors.Is(err, gossipdb.ErrDamaged) {
					t.Fatalf("query %d after %x: %v, want ErrInvalid", i, key, err)
				}
				return
			}
			if seen[d.ID] {
				t.Fatalf("query %d after %x: document %s twice", i, key, d.ID)
			}
			seen[d.ID] = true
			for field, want := range q.Filter {
				if got := d.Fields[field]; fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("query %d after %x: document %s has %s %v, the filter wants %v", i, key, d.ID, field, got, want)
				}
			}
		}
	})
}
