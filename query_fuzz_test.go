package gossipdb_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

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

// FuzzFilter gives any JSON, decoded as the HTTP API decodes a filter, to
// two collections that hold the same documents, one with indexes on a
// String, an Int and a list field and one without. Each filter must fail
// with ErrInvalid on both or on neither; and where it runs, both must
// answer the same documents (known by their unique name), each once, and
// counts equal to those answers: whichever plan an index allows, the
// answers are a scan's.
func FuzzFilter(f *testing.F) {
	ctx := context.Background()
	n := nodetest.Open(f, "", nil)
	const fields = `name: String n: Int f: Float b: Boolean at: DateTime j: JSON tags: [String] nums: [Int]`
	indexed := strings.NewReplacer("name: String", "name: String @index", "n: Int", "n: Int @index", "tags: [String]", "tags: [String] @index").Replace(fields)
	cols, err := n.AddCollection(ctx, `type Plain { `+fields+` } type Indexed { `+indexed+` }`)
	if err != nil || len(cols) != 2 {
		f.Fatal(cols, err)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var docs []map[string]any
	for i := range 10 {
		d := map[string]any{"name": fmt.Sprintf("d%d", i)}
		if i%3 != 0 {
			d["n"], d["f"], d["b"] = i-4, float64(i)/3, i%2 == 0
			d["at"] = day.Add(time.Duration(i) * time.Hour)
			d["j"] = map[string]any{"k": i % 2}
			d["tags"] = []string{fmt.Sprintf("t%d", i%3), fmt.Sprintf("t%d", i%4)}
			d["nums"] = []any{i, nil, -i}
		}
		docs = append(docs, d)
	}
	for _, c := range cols {
		if _, err := c.CreateMany(ctx, docs); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range []string{
		`{}`, `{"name": "d1"}`, `{"n": {"_gt": 0, "_le": 3}}`, `{"n": {"_in": [1, null, 3]}}`,
		`{"tags": {"_any": {"_in": ["t1", "t2"]}}}`, `{"tags": {"_all": {"_nilike": "T1"}}}`,
		`{"nums": {"_none": {"_lt": 0}}}`, `{"_or": [{"name": {"_like": "d_"}}, {"b": true}], "_not": {"n": null}}`,
		`{"at": {"_ge": "2026-01-01T03:00:00Z"}}`, `{"j": {"_eq": {"k": 1}}}`, `{"f": {"_nin": [1, 2.5]}}`,
		`{"tags": {"_any": {"_gt": "t1"}}, "n": {"_ne": 2}}`, `{"name": {"_ilike": "D%"}}`,
		`{"n": {"_like": "1"}}`, `{"tags": ["t1"]}`, `{"_and": {"n": 1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var filter gossipdb.Filter
		if dec.Decode(&filter) != nil {
			return
		}
		var answers [2][]string
		var errs [2]error
		for i, c := range cols {
			seen := map[string]bool{}
			for d, err := range c.Query(ctx, gossipdb.Query{Filter: filter}) {
				if err != nil {
					errs[i] = err
					break
				}
				name := d.Fields["name"].(string)
				if seen[name] {
					t.Fatalf("%s: %s: %s twice", c.Name(), data, name)
				}
				seen[name] = true
				answers[i] = append(answers[i], name)
			}
			if errs[i] != nil {
				if !errors.Is(errs[i], gossipdb.ErrInvalid) || errors.Is(errs[i], gossipdb.ErrDamaged) {
					t.Fatalf("%s: %s: %v, want ErrInvalid", c.Name(), data, errs[i])
				}
				continue
			}
			k, err := c.Count(ctx, filter)
			if err != nil || k != int64(len(answers[i])) {
				t.Fatalf("%s: %s: count %d, %v; the query answered %d", c.Name(), data, k, err, len(answers[i]))
			}
			slices.Sort(answers[i])
		}
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("%s: without indexes %v, with %v", data, errs[0], errs[1])
		}
		if !slices.Equal(answers[0], answers[1]) {
			t.Fatalf("%s: without indexes %v, with %v", data, answers[0], answers[1])
		}
	})
}
