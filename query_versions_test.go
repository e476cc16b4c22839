package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestQueryAcrossPatch: a collection with an index on a field that a patch then
// renames, and a field the patch adds with a default. Queries name fields as
// the active version does, the index keeps serving the renamed field, and what
// queries filter, order and return is what Get shows: documents written before
// the patch read the default, a cleared field reads null, an unset counter 0.
func TestQueryAcrossPatch(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type Item { name: String rank: Int hits: Int @crdt(type: pncounter) }`, n)[0]
	ids := map[string]gossipdb.DocID{}
	for _, d := range []map[string]any{
		{"name": "a", "rank": 3}, {"name": "b", "rank": 1}, {"name": "c", "rank": 2}, {"name": "d"},
	} {
		id, err := c.Create(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		ids[d["name"].(string)] = id
	}
	if _, err := c.CreateIndex(ctx, "by_rank", gossipdb.Order{Field: "rank"}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.Patch(ctx, `type Item {
		name: String
		position: Int @rename(from: "rank")
		hits: Int @crdt(type: pncounter)
		tier: String @default(string: "basic")
	}`); err != nil {
		t.Fatal(err)
	}
	for _, d := range []map[string]any{
		{"name": "e", "position": 0, "tier": "gold"}, {"name": "f", "position": 5}, {"name": "g"},
	} {
		id, err := c.Create(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		ids[d["name"].(string)] = id
	}
	if err := c.Update(ctx, ids["a"], map[string]any{"tier": "gold"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, ids["f"], map[string]any{"tier": nil}); err != nil { // cleared: null, not the default
		t.Fatal(err)
	}
	if _, err := c.CreateIndex(ctx, "by_tier", gossipdb.Order{Field: "tier"}); err != nil {
		t.Fatal(err)
	}
	// The first version's SDL, given again, names the field by its old name.
	if _, err := n.AddCollection(ctx, `type Item { name: String rank: Int @index(name: "again") hits: Int @crdt(type: pncounter) }`); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		for _, ix := range c.Indexes() {
			if !ix.Ready {
				return fmt.Errorf("index %s not ready", ix.Name)
			}
		}
		return nil
	})
	for _, ix := range c.Indexes() {
		if want := []gossipdb.Order{{Field: "position"}}; ix.Name != "by_tier" && !reflect.DeepEqual(ix.Fields, want) {
			t.Fatalf("index %s on %v after the rename, want %v", ix.Name, ix.Fields, want)
		}
	}
	if err := c.DropIndex(ctx, "again"); err != nil {
		t.Fatal(err)
	}

	// Every document a query returns is what Get shows.
	asGet := func(d *gossipdb.Document) {
		t.Helper()
		got, err := c.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Fields, d.Fields) {
			t.Fatalf("query returned %v, Get shows %v", d.Fields, got.Fields)
		}
	}
	for _, tc := range []struct {
		q     gossipdb.Query
		want  string
		index string // the index Explain names
	}{
		{gossipdb.Query{Filter: gossipdb.Filter{"position": gossipdb.Filter{"_gt": 0}}, Order: []gossipdb.Order{{Field: "position"}}}, "b c a f", "by_rank"},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "position", Desc: true}}, Limit: 2}, "f a", "by_rank"},
		{gossipdb.Query{Filter: gossipdb.Filter{"position": 2}}, "c", "by_rank"},
		// Defaults: the index on tier holds what states hold, so it is not used.
		{gossipdb.Query{Filter: gossipdb.Filter{"tier": "basic"}, Order: []gossipdb.Order{{Field: "name"}}}, "b c d g", ""},
		{gossipdb.Query{Filter: gossipdb.Filter{"tier": nil}}, "f", ""},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "tier", Desc: true}, {Field: "name"}}}, "a e b c d g f", ""},
		// An unset counter reads 0.
		{gossipdb.Query{Filter: gossipdb.Filter{"hits": 0, "tier": gossipdb.Filter{"_like": "g%"}}, Order: []gossipdb.Order{{Field: "name"}}}, "a e", ""},
	} {
		var got []string
		for d, err := range c.Query(ctx, tc.q) {
			if err != nil {
				t.Fatalf("%+v: %v", tc.q, err)
			}
			asGet(d)
			got = append(got, d.Fields["name"].(string))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.q, got, tc.want)
		}
		p, err := c.Explain(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Index != tc.index {
			t.Errorf("%+v: read index %q, want %q", tc.q, p.Index, tc.index)
		}
	}
	for d, err := range c.Find(ctx, gossipdb.Where{"tier": "basic", "hits": 0}) {
		if err != nil {
			t.Fatal(err)
		}
		asGet(d)
	}
	if n, err := c.Count(ctx, gossipdb.Filter{"tier": "basic"}); err != nil || n != 4 {
		t.Errorf("Count(tier basic) = %d, %v; want 4", n, err)
	}
	if v, err := c.Aggregate(ctx, nil, gossipdb.Sum, "hits"); err != nil || v != int64(0) {
		t.Errorf("Sum(hits) = %v, %v; want 0", v, err)
	}
	if v, err := c.Aggregate(ctx, gossipdb.Filter{"position": gossipdb.Filter{"_ge": 2}}, gossipdb.Min, "tier"); err != nil || v != "basic" {
		t.Errorf("Min(tier) over position ≥ 2 = %v, %v; want basic", v, err)
	}
	if _, err := c.Count(ctx, gossipdb.Filter{"rank": 1}); err == nil || !strings.Contains(err.Error(), "rank") {
		t.Errorf("filter on the field's old name: %v, want an error naming it", err)
	}
}

// TestQueryNewKinds: documents with list, set and relation fields come out of
// queries as Get shows them; a relation is filtered with _eq of a document ID,
// and filters, orders and indexes on lists and sets are refused naming the field.
func TestQueryNewKinds(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	cols, err := n.AddCollection(ctx, `type Team { title: String }
		type Member { name: String team: Team scores: [Int] tags: [String!] @crdt(type: set) }`)
	if err != nil {
		t.Fatal(err)
	}
	teams, members := cols[0], cols[1]
	red, err := teams.Create(ctx, map[string]any{"title": "red"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []map[string]any{
		{"name": "a", "team": red, "scores": []any{1, 2}, "tags": []any{"x", "y"}},
		{"name": "b", "tags": []any{"z"}},
	} {
		if _, err := members.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for d, err := range members.Query(ctx, gossipdb.Query{Filter: gossipdb.Filter{"team": red}}) {
		if err != nil {
			t.Fatal(err)
		}
		g, err := members.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g.Fields, d.Fields) {
			t.Fatalf("query returned %v, Get shows %v", d.Fields, g.Fields)
		}
		got = append(got, d.Fields["name"].(string))
	}
	if strings.Join(got, " ") != "a" {
		t.Errorf("team = red: got %q, want a", got)
	}
	for d, err := range members.Query(ctx, gossipdb.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		if g, err := members.Get(ctx, d.ID); err != nil || !reflect.DeepEqual(g.Fields, d.Fields) {
			t.Fatalf("query returned %v, Get shows %v (%v)", d.Fields, g.Fields, err)
		}
	}
	// A list or set is filtered on item by item (_any, _all, _none), never
	// as a whole, and never ordered by.
	for _, q := range []gossipdb.Query{
		{Filter: gossipdb.Filter{"tags": "x"}},
		{Filter: gossipdb.Filter{"scores": gossipdb.Filter{"_gt": 1}}},
		{Order: []gossipdb.Order{{Field: "tags"}}},
		{Filter: gossipdb.Filter{"team": gossipdb.Filter{"_gt": "a"}}},
	} {
		_, err := members.Count(ctx, q.Filter)
		if len(q.Order) > 0 {
			_, err = members.Explain(ctx, q)
		}
		if !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", q, err)
		}
	}
	if _, err := members.CreateIndex(ctx, "", gossipdb.Order{Field: "tags"}, gossipdb.Order{Field: "name"}); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "tags") {
		t.Errorf("index on a set and another field: %v, want ErrInvalid naming the set", err)
	}
}
