package crdt_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
)

func TestCheck(t *testing.T) {
	s := testSchema()
	genesis := func() *crdt.Block {
		return &crdt.Block{Schema: s.ID, Height: 1, Nonce: testNonce, Set: map[string]any{"title": "t"}, Add: map[string]any{}}
	}
	change := func() *crdt.Block {
		return &crdt.Block{Schema: s.ID, Doc: testCID("doc"), Prev: []cid.Cid{testCID("doc")}, Height: 2, Set: map[string]any{}, Add: map[string]any{}}
	}
	t.Run("valid", func(t *testing.T) {
		g := genesis()
		g.Set = map[string]any{"title": "t", "name": "n", "age": int64(1), "score": -0.5, "ok": false,
			"at": "2024-02-29T12:04:05.5Z", "meta": `{"a":[1,"x"]}`}
		g.Add = map[string]any{"hits": int64(-3), "total": 1e-300}
		if err := s.Check(g); err != nil {
			t.Error(err)
		}
		c := change()
		c.Set = map[string]any{"name": nil, "age": nil, "at": nil, "meta": "null"}
		if err := s.Check(c); err != nil {
			t.Error(err)
		}
		if err := s.Check(change()); err != nil { // a change need not set Required fields
			t.Error(err)
		}
	})
	for _, tc := range []struct {
		name   string
		block  func() *crdt.Block
		set    map[string]any
		add    map[string]any
		field  string // "" if the error is not a *FieldError
		want   string
		reason string
	}{
		{"unknown set", change, map[string]any{"nope": int64(1)}, nil, "nope", `field "nope": unknown field`, "unknown field"},
		{"unknown add", change, nil, map[string]any{"nope": int64(1)}, "nope", `field "nope": unknown field`, "unknown field"},
		{"set counter", change, map[string]any{"hits": int64(1)}, nil, "hits", `field "hits": counter field takes add, not set`, ""},
		{"add to LWW", change, nil, map[string]any{"age": int64(1)}, "age", `field "age": not a counter field; it takes set, not add`, ""},
		{"Int string", change, map[string]any{"age": "abc"}, nil, "age", `field "age": want Int, got "abc"`, ""},
		{"Int float", change, map[string]any{"age": 1.0}, nil, "age", `field "age": want Int, got 1 (float64)`, ""},
		{"Float int", change, map[string]any{"score": int64(1)}, nil, "score", `field "score": want Float, got 1 (int64)`, ""},
		{"Float NaN", change, map[string]any{"score": math.NaN()}, nil, "score", `field "score": not a finite number`, ""},
		{"String int", change, map[string]any{"name": int64(1)}, nil, "name", `field "name": want String, got 1 (int64)`, ""},
		{"String bad UTF-8", change, map[string]any{"name": "\xff"}, nil, "name", `field "name": string is not valid UTF-8`, ""},
		{"Boolean string", change, map[string]any{"ok": "true"}, nil, "ok", `field "ok": want Boolean, got "true"`, ""},
		{"DateTime offset", change, map[string]any{"at": "2024-02-29T13:04:05+01:00"}, nil, "at", `"2024-02-29T13:04:05+01:00" is not in normalised form "2024-02-29T12:04:05Z"`, ""},
		{"DateTime zeros", change, map[string]any{"at": "2024-02-29T12:04:05.500Z"}, nil, "at", `is not in normalised form "2024-02-29T12:04:05.5Z"`, ""},
		{"DateTime text", change, map[string]any{"at": "soon"}, nil, "at", `field "at": "soon" is not an RFC 3339 date-time`, ""},
		{"DateTime lower case", change, map[string]any{"at": "2024-02-29t12:04:05z"}, nil, "at", `"2024-02-29t12:04:05z" is not in normalised form "2024-02-29T12:04:05Z"`, ""},
		{"DateTime int", change, map[string]any{"at": int64(0)}, nil, "at", `field "at": want DateTime, got 0 (int64)`, ""},
		{"JSON invalid", change, map[string]any{"meta": "{"}, nil, "meta", `field "meta": invalid JSON text`, ""},
		{"JSON not compact", change, map[string]any{"meta": `{ "a": 1 }`}, nil, "meta", `field "meta": JSON text is not compact`, ""},
		{"JSON bad UTF-8", change, map[string]any{"meta": "\"\xff\""}, nil, "meta", `field "meta": JSON text is not valid UTF-8`, ""},
		{"JSON bool", change, map[string]any{"meta": true}, nil, "meta", `field "meta": want JSON, got true`, ""},
		{"Int counter float", change, nil, map[string]any{"hits": 1.5}, "hits", `field "hits": want Int, got 1.5 (float64)`, ""},
		{"Float counter int", change, nil, map[string]any{"total": int64(1)}, "total", `field "total": want Float, got 1 (int64)`, ""},
		{"Float counter Inf", change, nil, map[string]any{"total": math.Inf(-1)}, "total", `field "total": not a finite number`, ""},
		{"clear required", change, map[string]any{"title": nil}, nil, "title", `field "title": required`, "required"},
		{"genesis clears required", genesis, map[string]any{"title": nil}, nil, "title", `field "title": required`, "required"},
		{"genesis lacks required", genesis, map[string]any{"name": "x"}, nil, "title", `field "title": required`, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.block()
			if tc.set != nil {
				b.Set = tc.set
			}
			if tc.add != nil {
				b.Add = tc.add
			}
			err := s.Check(b)
			wantErr(t, err, crdt.ErrInvalidBlock, tc.want)
			var fe *crdt.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, crdt.ErrInvalidValue) {
				t.Fatalf("error %v does not wrap a *FieldError", err)
			}
			if fe.Field != tc.field || (tc.reason != "" && fe.Reason != tc.reason) {
				t.Errorf("FieldError %+v, want field %q reason %q", *fe, tc.field, tc.reason)
			}
		})
	}
	t.Run("other schema", func(t *testing.T) {
		b := change()
		b.Schema = testCID("other")
		wantErr(t, s.Check(b), crdt.ErrInvalidBlock, "schema "+b.Schema.String()+", want "+s.ID.String())
	})
	t.Run("first error by name", func(t *testing.T) {
		b := change()
		b.Set = map[string]any{"zz": int64(1), "age": "x", "name": int64(2)}
		wantErr(t, s.Check(b), crdt.ErrInvalidBlock, `field "age"`)
	})
}

func TestCheckParents(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, nil, nil)
	st := mustState(t, g)
	c1 := mustChange(t, s, st, map[string]any{"name": "a"}, nil, false) // height 2
	mustMerge(t, st, c1)
	c2 := mustChange(t, s, st, map[string]any{"name": "b"}, nil, false) // height 3

	other := mustGenesis(t, s, map[string]any{"title": "other"}, nil)
	otherSchema := *s
	otherSchema.ID = testCID("schema Other")
	og, err := crdt.NewGenesis(&otherSchema, map[string]any{"title": "x"}, nil, testNonce, testKey)
	if err != nil {
		t.Fatal(err)
	}

	// A merge block with two parents of different heights.
	join := &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: sortedCIDs(g.CID, c2.CID), Height: 4}
	if err := join.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	parents := func(b *crdt.Block) []*crdt.Block {
		m := map[string]*crdt.Block{g.CID.KeyString(): g, c2.CID.KeyString(): c2}
		var ps []*crdt.Block
		for _, p := range b.Prev {
			ps = append(ps, m[p.KeyString()])
		}
		return ps
	}

	for _, tc := range []struct {
		name    string
		b       *crdt.Block
		parents []*crdt.Block
	}{
		{"genesis", g, nil},
		{"one parent", c1, []*crdt.Block{g}},
		{"change parent", c2, []*crdt.Block{c1}},
		{"two parents", join, parents(join)},
	} {
		if err := crdt.CheckParents(tc.b, tc.parents); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	edit := func(f func(b *crdt.Block)) *crdt.Block {
		b := &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{c1.CID}, Height: 3}
		f(b)
		return b
	}
	for _, tc := range []struct {
		name    string
		b       *crdt.Block
		parents []*crdt.Block
		want    string
	}{
		{"too few parents", c2, nil, "0 parents given for 1 prev"},
		{"genesis with parents", g, []*crdt.Block{c1}, "1 parents given for 0 prev"},
		{"nil parent", c2, []*crdt.Block{nil}, "parent 0 missing"},
		{"wrong parent", c2, []*crdt.Block{g}, "parent 0 is " + g.CID.String() + ", want prev[0] " + c1.CID.String()},
		{"parent order", join, []*crdt.Block{parents(join)[1], parents(join)[0]}, "parent 0 is"},
		{"other document genesis", edit(func(b *crdt.Block) { b.Prev = []cid.Cid{other.CID}; b.Height = 2 }), []*crdt.Block{other}, "belongs to document " + other.CID.String()},
		{"other document change", edit(func(b *crdt.Block) { b.Doc = other.CID }), []*crdt.Block{c1}, "belongs to document " + g.CID.String() + ", not " + other.CID.String()},
		{"other schema", edit(func(b *crdt.Block) { b.Schema = og.Schema }), []*crdt.Block{c1}, "has schema " + s.ID.String()},
		{"height too high", edit(func(b *crdt.Block) { b.Height = 4 }), []*crdt.Block{c1}, "height 4, want 3 (1 + max parent height)"},
		{"height too low", edit(func(b *crdt.Block) { b.Height = 2 }), []*crdt.Block{c1}, "height 2, want 3"},
		{"height from lower parent", &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: join.Prev, Height: 2}, parents(join), "height 2, want 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, crdt.CheckParents(tc.b, tc.parents), crdt.ErrInvalidBlock, tc.want)
		})
	}
}

func TestConstructors(t *testing.T) {
	s := testSchema()
	set := map[string]any{"title": "t", "name": "Ada"}
	g, err := crdt.NewGenesis(s, set, map[string]any{}, testNonce, testKey)
	if err != nil {
		t.Fatal(err)
	}
	set["name"] = "changed"
	if g.Set["name"] != "Ada" || g.Add != nil || !g.IsGenesis() || g.Height != 1 {
		t.Errorf("genesis = %+v", g)
	}
	if _, err := crdt.Decode(g.Data); err != nil {
		t.Errorf("Decode(genesis): %v", err)
	}
	_, err = crdt.NewGenesis(s, map[string]any{"name": "x"}, nil, testNonce, testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, `field "title": required`)
	_, err = crdt.NewGenesis(s, map[string]any{"title": "x"}, nil, []byte("short"), testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, "genesis nonce is 5 bytes")
	_, err = crdt.NewGenesis(s, map[string]any{"title": "x", "age": 3}, nil, testNonce, testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, `field "age": want Int, got 3 (int)`)

	st := mustState(t, g)
	c, err := crdt.NewChange(s, st, nil, map[string]any{"hits": int64(1)}, true, testNonce, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Doc.Equals(g.CID) || c.Height != 2 || len(c.Prev) != 1 || !c.Prev[0].Equals(g.CID) || !c.Delete || c.Set != nil ||
		!bytes.Equal(c.Nonce, testNonce) {
		t.Errorf("change = %+v", c)
	}
	// A change with increments needs a nonce; one without takes none.
	_, err = crdt.NewChange(s, st, nil, map[string]any{"hits": int64(1)}, false, nil, testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, "a change with add needs a nonce")
	_, err = crdt.NewChange(s, st, map[string]any{"name": "x"}, nil, false, testNonce, testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, "nonce on a change without add")
	_, err = crdt.NewChange(s, st, nil, map[string]any{"hits": int64(1)}, false, []byte("short"), testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, "nonce is 5 bytes, want 8 to 64")
	if c, err := crdt.NewChange(s, st, map[string]any{"name": "x"}, nil, true, nil, testKey); err != nil || c.Nonce != nil {
		t.Errorf("change without add: nonce %x, %v", c.Nonce, err)
	}
	if err := crdt.CheckParents(c, []*crdt.Block{g}); err != nil {
		t.Error(err)
	}
	_, err = crdt.NewChange(s, st, map[string]any{"hits": int64(1)}, nil, false, nil, testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, `field "hits": counter field takes add, not set`)
	other := *s
	other.ID = testCID("other")
	_, err = crdt.NewChange(&other, st, nil, nil, false, nil, testKey)
	wantErr(t, err, crdt.ErrInvalidBlock, "state of schema")
}
