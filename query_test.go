package gossipdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

const usersSDL = `type User { name: String age: Int verified: Boolean points: Float at: DateTime }`

// users opens a node with a User collection holding the given documents.
func users(t *testing.T, docs ...map[string]any) (*gossipdb.Node, *gossipdb.Collection) {
	t.Helper()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, usersSDL, n)[0]
	if len(docs) > 0 {
		if _, err := c.CreateMany(context.Background(), docs); err != nil {
			t.Fatal(err)
		}
	}
	return n, c
}

func names(t *testing.T, c *gossipdb.Collection, q gossipdb.Query) []string {
	t.Helper()
	var out []string
	for d, err := range c.Query(context.Background(), q) {
		if err != nil {
			t.Fatal(err)
		}
		s, _ := d.Fields["name"].(string)
		out = append(out, s)
	}
	return out
}

func TestQueryFilterOrderPage(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, c := users(t,
		map[string]any{"name": "Ada", "age": 36, "verified": true, "points": 1.5, "at": day},
		map[string]any{"name": "Bob", "age": 25, "verified": false, "points": 2.5, "at": day.Add(time.Hour)},
		map[string]any{"name": "Cy", "age": 41, "points": -1.0},
		map[string]any{"name": "Dee", "age": 25},
		map[string]any{"name": "eve"},
	)
	for _, tc := range []struct {
		q    gossipdb.Query
		want string
	}{
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gt": 30}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": 25}, Order: []gossipdb.Order{{Field: "name", Desc: true}}}, "Dee Bob"},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": nil}}, "eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_ne": nil}}, Order: []gossipdb.Order{{Field: "age"}, {Field: "name"}}}, "Bob Dee Ada Cy"},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "age", Desc: true}, {Field: "name"}}}, "Cy Ada Bob Dee eve"},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "name"}}, Limit: 2, Offset: 1}, "Bob Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_like": "%e%"}}, Order: []gossipdb.Order{{Field: "name"}}}, "Dee eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_ilike": "E%"}}}, "eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"name": gossipdb.Filter{"_nlike": "%e%"}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada Bob Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"_or": []any{gossipdb.Filter{"age": 41}, gossipdb.Filter{"verified": true}}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada Cy"},
		{gossipdb.Query{Filter: gossipdb.Filter{"_not": gossipdb.Filter{"age": gossipdb.Filter{"_in": []int{25, 41}}}}, Order: []gossipdb.Order{{Field: "name"}}}, "Ada eve"},
		{gossipdb.Query{Filter: gossipdb.Filter{"at": gossipdb.Filter{"_gt": day}}}, "Bob"},
		{gossipdb.Query{Filter: gossipdb.Filter{"points": gossipdb.Filter{"_lt": 2}}, Order: []gossipdb.Order{{Field: "points"}}}, "Cy Ada"},
	} {
		if got := strings.Join(names(t, c, tc.q), " "); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.q, got, tc.want)
		}
	}

	// Page through by cursor, two at a time.
	q := gossipdb.Query{Order: []gossipdb.Order{{Field: "age"}}, Limit: 2}
	var all []string
	for range 10 {
		var last *gossipdb.Document
		for d, err := range c.Query(ctx, q) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, d.Fields["name"].(string))
			last = d
		}
		if last == nil {
			break
		}
		cur, err := c.Cursor(q, last)
		if err != nil {
			t.Fatal(err)
		}
		q.After = cur
	}
	if len(all) != 5 || all[0] != "eve" {
		t.Errorf("paged: %v", all)
	}

	if n, err := c.Count(ctx, gossipdb.Filter{"age": gossipdb.Filter{"_ge": 25}}); err != nil || n != 4 {
		t.Errorf("Count = %d, %v; want 4", n, err)
	}
	for _, tc := range []struct {
		op    gossipdb.AggregateOp
		field string
		want  any
	}{
		{gossipdb.Sum, "age", int64(127)},
		{gossipdb.Avg, "age", 31.75},
		{gossipdb.Min, "name", "Ada"},
		{gossipdb.Max, "points", 2.5},
		{gossipdb.Sum, "points", 3.0},
	} {
		got, err := c.Aggregate(ctx, nil, tc.op, tc.field)
		if err != nil || got != tc.want {
			t.Errorf("%s(%s) = %v, %v; want %v", tc.op, tc.field, got, err, tc.want)
		}
	}
}

func TestQueryBadInput(t *testing.T) {
	ctx := context.Background()
	_, c := users(t)
	for _, tc := range []struct {
		q    gossipdb.Query
		want string
	}{
		{gossipdb.Query{Filter: gossipdb.Filter{"nope": 1}}, `"nope": unknown field`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gte": 1}}}, `unknown operator "_gte"`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_gt": "x"}}}, `field "age": want Int, got "x"`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_like": "x"}}}, `_like applies to String fields`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_in": 3}}}, `_in wants a list`},
		{gossipdb.Query{Filter: gossipdb.Filter{"_or": gossipdb.Filter{}}}, `"_or": want a list of filters`},
		{gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_lt": nil}}}, `_lt needs a value`},
		{gossipdb.Query{Order: []gossipdb.Order{{Field: "nope"}}}, `"nope": unknown field in order`},
		{gossipdb.Query{Limit: -1}, `negative limit`},
		{gossipdb.Query{After: "%%%"}, `malformed cursor`},
	} {
		var err error
		for _, err = range c.Query(ctx, tc.q) {
			break
		}
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want ErrInvalid with %q", tc.q, err, tc.want)
		}
	}
}
