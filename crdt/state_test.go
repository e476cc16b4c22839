package crdt_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/fluent/qp"
)

func mustEncodeState(tb testing.TB, st *crdt.State) []byte {
	tb.Helper()
	data, err := st.Encode()
	if err != nil {
		tb.Fatalf("State.Encode: %v", err)
	}
	return data
}

func TestNewState(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "Ada", "age": nil}, map[string]any{"hits": int64(0), "total": 0.5})
	st := mustState(t, g)
	want := map[string]any{"title": "t", "name": "Ada", "hits": int64(0), "total": 0.5}
	if got := st.Values(); !reflect.DeepEqual(got, want) {
		t.Errorf("Values = %#v, want %#v", got, want)
	}
	if !st.Doc.Equals(g.CID) || !st.Schema.Equals(s.ID) || len(st.Heads) != 1 || !st.Heads[0].Equals(g.CID) || st.Height != 1 || st.Deleted {
		t.Errorf("state = %+v", st)
	}
	if _, ok := st.Value("age"); ok {
		t.Error("cleared field age reported present")
	}
	if _, ok := st.Value("score"); ok {
		t.Error("unset field score reported present")
	}
	if v, ok := st.Value("hits"); !ok || v != int64(0) {
		t.Errorf("hits = %v, %v; a counter added to (even 0) is present", v, ok)
	}

	c := mustChange(t, s, st, nil, nil, false)
	_, err := crdt.NewState(c)
	wantErr(t, err, crdt.ErrInvalidState, "is not a genesis block")
	_, err = crdt.NewState(&crdt.Block{Schema: s.ID, Height: 1, Nonce: testNonce})
	wantErr(t, err, crdt.ErrInvalidState, "genesis block has no CID")
}

func TestMergeLWW(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "g"}, nil)
	base := mustState(t, g)
	// Two concurrent changes at height 2, and one at height 3 built on the first.
	a := mustChange(t, s, base, map[string]any{"name": "a", "age": int64(1)}, nil, false)
	b := mustChange(t, s, base, map[string]any{"name": "b", "age": int64(2), "ok": true}, nil, false)
	lo, hi := a, b
	if a.CID.KeyString() > b.CID.KeyString() {
		lo, hi = b, a
	}
	stA := mustState(t, g)
	mustMerge(t, stA, lo)
	later := mustChange(t, s, stA, map[string]any{"name": "later"}, nil, false)

	var states [][]byte
	for _, order := range [][]*crdt.Block{{a, b, later}, {b, a, later}, {lo, later, hi}} {
		st := mustState(t, g)
		for _, blk := range order {
			mustMerge(t, st, blk)
		}
		name, _ := st.Value("name")
		age, _ := st.Value("age")
		if name != "later" {
			t.Errorf("name = %v, want the higher block's \"later\"", name)
		}
		if age != hi.Set["age"] {
			t.Errorf("age = %v, want %v from the block with the greater CID", age, hi.Set["age"])
		}
		if fs := st.Fields["name"]; fs.Height != 3 || !fs.Block.Equals(later.CID) {
			t.Errorf("name winner = %+v", fs)
		}
		if want := sortedCIDs(hi.CID, later.CID); !reflect.DeepEqual(st.Heads, want) || st.Height != 3 {
			t.Errorf("heads = %v height %d, want %v height 3", st.Heads, st.Height, want)
		}
		states = append(states, mustEncodeState(t, st))
	}
	for _, data := range states[1:] {
		if !bytes.Equal(data, states[0]) {
			t.Error("merge order changed the encoded state")
		}
	}
}

func TestMergeClear(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "g"}, nil)
	st := mustState(t, g)
	clear := mustChange(t, s, st, map[string]any{"name": nil}, nil, false)
	set := mustChange(t, s, st, map[string]any{"name": "concurrent"}, nil, false)
	for _, order := range [][]*crdt.Block{{clear, set}, {set, clear}} {
		st := mustState(t, g)
		for _, b := range order {
			mustMerge(t, st, b)
		}
		v, ok := st.Value("name")
		winner := clear
		if set.CID.KeyString() > clear.CID.KeyString() {
			winner = set
		}
		if (winner == clear) == ok || (ok && v != "concurrent") {
			t.Errorf("name = %v, %v; winner %v", v, ok, winner.Set)
		}
		_, inValues := st.Values()["name"]
		if inValues != ok {
			t.Error("Values disagrees with Value")
		}
	}
	// A later set brings a cleared field back.
	mustMerge(t, st, clear)
	again := mustChange(t, s, st, map[string]any{"name": "back"}, nil, false)
	mustMerge(t, st, again)
	if v, _ := st.Value("name"); v != "back" {
		t.Errorf("name = %v, want back", v)
	}
}

func TestMergeDeleteWins(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, nil, nil)
	base := mustState(t, g)
	del := mustChange(t, s, base, nil, nil, true)
	upd := mustChange(t, s, base, map[string]any{"name": "x"}, nil, false)
	st := mustState(t, g)
	mustMerge(t, st, del)
	after := mustChange(t, s, st, map[string]any{"name": "after"}, nil, false)
	for _, order := range [][]*crdt.Block{{del, upd, after}, {upd, del, after}, {del, after, upd}} {
		st := mustState(t, g)
		for _, b := range order {
			mustMerge(t, st, b)
		}
		if !st.Deleted {
			t.Error("a later or concurrent change undid a delete")
		}
		if v, _ := st.Value("name"); v != "after" {
			t.Errorf("fields stop updating after delete: name = %v", v)
		}
	}
	if st := mustState(t, mustGenesisDeleted(t, s)); !st.Deleted {
		t.Error("deleted genesis gives a live state")
	}
}

func mustGenesisDeleted(t *testing.T, s *crdt.Schema) *crdt.Block {
	b := &crdt.Block{Schema: s.ID, Height: 1, Nonce: testNonce, Set: map[string]any{"title": "x"}, Delete: true}
	if err := b.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMergeCounters(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, nil, nil)
	base := mustState(t, g)
	if _, ok := base.Value("total"); ok {
		t.Error("counter present before any add")
	}
	adds := []float64{1e16, 1, -1e16, 0.1, 0.2, 0.3, 1e-300, -0.1}
	blocks := make([]*crdt.Block, len(adds))
	for i, x := range adds {
		blocks[i] = mustChange(t, s, base, nil, map[string]any{"total": x, "hits": int64(math.MaxInt64)}, false)
	}
	// Exact: 1 + 0.2 + 0.3 + 1e-300 (the other terms cancel), rounded once.
	want := 1.5
	var first []byte
	for _, perm := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7}, {7, 6, 5, 4, 3, 2, 1, 0}, {0, 2, 1, 3, 5, 4, 7, 6}, {2, 0, 4, 6, 1, 3, 5, 7}} {
		st := mustState(t, g)
		for _, i := range perm {
			mustMerge(t, st, blocks[i])
		}
		if v, _ := st.Value("total"); v != want {
			t.Errorf("order %v: total = %v, want %v", perm, v, want)
		}
		if v, _ := st.Value("hits"); v != int64(-8) { // 8 × MaxInt64 wraps to -8

			t.Errorf("hits = %v, want the wrapped sum", v)
		}
		data := mustEncodeState(t, st)
		if first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Errorf("order %v changed the encoded state", perm)
		}
	}

	// A counter whose sum is zero survives an encoding round trip.
	st0 := mustState(t, g)
	mustMerge(t, st0, mustChange(t, s, base, nil, map[string]any{"total": 0.0, "hits": int64(0)}, false))
	mustMerge(t, st0, mustChange(t, s, st0, nil, map[string]any{"total": 1.0}, false))
	mustMerge(t, st0, mustChange(t, s, st0, nil, map[string]any{"total": -1.0}, false))
	round0, err := crdt.DecodeState(mustEncodeState(t, st0))
	if err != nil {
		t.Fatalf("zero sum: %v", err)
	}
	if v, ok := round0.Value("total"); !ok || v != 0.0 {
		t.Errorf("zero sum decodes as %v, %v", v, ok)
	}

	// Saturation at the float64 range: one change that would go beyond it is
	// refused, but two concurrent changes, each valid alone, go beyond it
	// once merged.
	st := mustState(t, g)
	mustMerge(t, st, mustChange(t, s, st, nil, map[string]any{"total": math.MaxFloat64}, false))
	_, err = crdt.NewChange(s, st, nil, map[string]any{"total": math.MaxFloat64}, false, changeNonce(map[string]any{"total": 1.0}), testKey)
	wantErr(t, err, crdt.ErrInvalidValue, `field "total": adding 1.7976931348623157e+308 to the counter's 1.7976931348623157e+308 would go beyond the Float range`)
	st = mustState(t, g)
	b1 := mustChange(t, s, st, nil, map[string]any{"total": math.MaxFloat64}, false)
	b2 := mustChange(t, s, st, nil, map[string]any{"total": math.MaxFloat64}, false)
	mustMerge(t, st, b1)
	mustMerge(t, st, b2)
	if v, _ := st.Value("total"); v != math.MaxFloat64 {
		t.Errorf("total = %v, want MaxFloat64", v)
	}
	// Beyond the range, a change may bring the sum nearer, not take it further.
	_, err = crdt.NewChange(s, st, nil, map[string]any{"total": 1.0}, false, changeNonce(map[string]any{"total": 1.0}), testKey)
	wantErr(t, err, crdt.ErrInvalidValue, `field "total": the counter's sum is already beyond the Float range (it reads 1.7976931348623157e+308); adding 1 would take it further`)
	mustMerge(t, st, mustChange(t, s, st, nil, map[string]any{"total": -math.MaxFloat64}, false))
	if v, _ := st.Value("total"); v != math.MaxFloat64 {
		t.Errorf("total = %v, want MaxFloat64 (exact sum is 2·Max − Max)", v)
	}
	// Subnormals add exactly.
	st = mustState(t, g)
	for range 3 {
		mustMerge(t, st, mustChange(t, s, st, nil, map[string]any{"total": math.SmallestNonzeroFloat64}, false))
	}
	if v, _ := st.Value("total"); v != 3*math.SmallestNonzeroFloat64 {
		t.Errorf("total = %v, want 3 × smallest subnormal", v)
	}
	round, err := crdt.DecodeState(mustEncodeState(t, st))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := round.Value("total"); v != 3*math.SmallestNonzeroFloat64 {
		t.Errorf("decoded total = %v", v)
	}
}

func TestMergeRejects(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, nil, map[string]any{"hits": int64(1)})
	other := mustGenesis(t, s, map[string]any{"title": "other"}, nil)
	st := mustState(t, g)
	c := mustChange(t, s, st, map[string]any{"name": "x"}, nil, false)
	mustMerge(t, st, c)
	before := mustEncodeState(t, st)

	raw := func(f func(b *crdt.Block)) *crdt.Block {
		b := &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{c.CID}, Height: 3}
		f(b)
		if err := b.Sign(testKey); err != nil {
			t.Fatal(err)
		}
		return b
	}
	otherChange := mustChange(t, s, mustState(t, other), nil, nil, false)
	for _, tc := range []struct {
		name string
		b    *crdt.Block
		want string
	}{
		{"not encoded", &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{c.CID}, Height: 3}, "block has no CID"},
		{"genesis", other, "genesis block " + other.CID.String() + " cannot be merged"},
		{"own genesis", g, "cannot be merged"},
		{"other document", otherChange, "belongs to document " + other.CID.String() + ", not " + g.CID.String()},
		{"other schema", raw(func(b *crdt.Block) { b.Schema = testCID("other") }), "has schema"},
		{"already merged", c, "already merged"},
		{"set on counter", raw(func(b *crdt.Block) { b.Set = map[string]any{"hits": int64(1)} }), `field "hits" is a counter`},
		{"add to LWW", raw(func(b *crdt.Block) { b.Add = map[string]any{"name": int64(1)} }), `field "name" is not a counter`},
		{"float add to Int counter", raw(func(b *crdt.Block) { b.Add = map[string]any{"hits": 1.5} }), `field "hits": counter of int64, block`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, st.Merge(tc.b), crdt.ErrInvalidState, tc.want)
			if !bytes.Equal(mustEncodeState(t, st), before) {
				t.Error("a refused merge changed the state")
			}
		})
	}
}

func TestStateEncoding(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "Ada", "meta": `[1]`, "ok": true, "score": 2.5, "at": "2024-01-01T00:00:00Z"},
		map[string]any{"hits": int64(-4), "total": -0.75})
	st := mustState(t, g)
	mustMerge(t, st, mustChange(t, s, st, map[string]any{"name": nil}, map[string]any{"total": 1e300}, true))
	data := mustEncodeState(t, st)
	got, err := crdt.DecodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Values(), st.Values()) || !reflect.DeepEqual(got.Heads, st.Heads) ||
		got.Height != st.Height || got.Deleted != st.Deleted || !got.Doc.Equals(st.Doc) || !got.Schema.Equals(st.Schema) {
		t.Errorf("DecodeState(Encode(st)) = %+v, want %+v", got, st)
	}
	if again := mustEncodeState(t, got); !bytes.Equal(again, data) {
		t.Error("re-encoding a decoded state changed it")
	}
	// A decoded state merges on like the original.
	next := mustChange(t, s, st, nil, map[string]any{"total": -1e300}, false)
	mustMerge(t, st, next)
	mustMerge(t, got, next)
	if !bytes.Equal(mustEncodeState(t, st), mustEncodeState(t, got)) {
		t.Error("decoded state merges differently")
	}
	if v, _ := got.Value("total"); v != -0.75 {
		t.Errorf("total = %v, want -0.75 exactly", v)
	}

	bad := *st
	bad.Heads = nil
	_, err = bad.Encode()
	wantErr(t, err, crdt.ErrInvalidState, "no heads")
	bad = *st
	bad.Fields = map[string]crdt.FieldState{"x": {Value: 3, Height: 1, Block: g.CID}}
	_, err = bad.Encode()
	wantErr(t, err, crdt.ErrInvalidState, `field "x": unsupported value type int`)
	bad.Fields = map[string]crdt.FieldState{"x": {Value: 1.5, Counter: true}}
	_, err = bad.Encode()
	wantErr(t, err, crdt.ErrInvalidState, `Float counter without its exact sum`)
}

func TestDecodeStateRejects(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "Ada"}, map[string]any{"hits": int64(1), "total": 0.5})
	st := mustState(t, g)
	good := mustEncodeState(t, st)
	a, b := sortedCIDs(testCID("a"), testCID("b"))[0], sortedCIDs(testCID("a"), testCID("b"))[1]

	type entries = map[string]qp.Assemble
	base := func() entries {
		return entries{
			"schema":  link(s.ID),
			"doc":     link(g.CID),
			"heads":   links(g.CID),
			"height":  qp.Int(1),
			"deleted": qp.Bool(false),
			"fields":  scalars(nil),
		}
	}
	lww := func(v qp.Assemble, h int64, c qp.Assemble) qp.Assemble {
		return scalars(entries{"v": v, "h": qp.Int(h), "b": c})
	}
	flt := func(m []byte, e int64) qp.Assemble {
		return scalars(entries{"f": qp.Bytes(m), "e": qp.Int(e)})
	}
	if _, err := crdt.DecodeState(rawMap(t, base())); err != nil {
		t.Fatalf("base state: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit entries
		want string
	}{
		{"unknown key", entries{"x": qp.Int(1)}, `unknown key "x"`},
		{"missing key", entries{"deleted": nil}, "missing keys"},
		{"schema not link", entries{"schema": qp.Int(1)}, "schema is not a CIDv1"},
		{"heads empty", entries{"heads": links()}, "no heads"},
		{"heads unsorted", entries{"heads": links(b, a)}, "heads not sorted or repeated"},
		{"heads repeated", entries{"heads": links(a, a)}, "heads not sorted or repeated"},
		{"heads not list", entries{"heads": link(a)}, "heads is a link, want a list"},
		{"height zero", entries{"height": qp.Int(0)}, "height: want an int ≥ 1"},
		{"deleted not bool", entries{"deleted": qp.Int(0)}, "deleted is a int, want a bool"},
		{"fields not map", entries{"fields": links()}, "fields is a list, want a map"},
		{"entry not map", entries{"fields": scalars(entries{"f": qp.Int(1)})}, `field "f": is a int, want a map`},
		{"entry shape", entries{"fields": scalars(entries{"f": scalars(entries{"x": qp.Int(1)})})}, `want key "i"`},
		{"entry 4 keys", entries{"fields": scalars(entries{"f": scalars(entries{"v": qp.Int(1), "h": qp.Int(1), "b": link(a), "x": qp.Int(1)})})}, "has 4 keys"},
		{"lww height above state", entries{"fields": scalars(entries{"f": lww(qp.Int(1), 2, link(a))})}, "height 2 outside 1..1"},
		{"lww bad block", entries{"fields": scalars(entries{"f": lww(qp.Int(1), 1, qp.Int(1))})}, "block is not a CIDv1"},
		{"lww bad value", entries{"fields": scalars(entries{"f": lww(qp.Bytes(nil), 1, link(a))})}, "value is a bytes, want a scalar"},
		{"lww bad name", entries{"fields": scalars(entries{"": lww(qp.Int(1), 1, link(a))})}, "bad field name"},
		{"int sum not int", entries{"fields": scalars(entries{"f": scalars(entries{"i": qp.Float(1)})})}, "sum is a float, want an int"},
		{"float even mantissa", entries{"fields": scalars(entries{"f": flt([]byte{0, 2}, 0)})}, "malformed exact sum"},
		{"float leading zero", entries{"fields": scalars(entries{"f": flt([]byte{0, 0, 1}, 0)})}, "malformed exact sum"},
		{"float negative zero", entries{"fields": scalars(entries{"f": flt([]byte{1}, 0)})}, "malformed exact sum"},
		{"float zero exponent", entries{"fields": scalars(entries{"f": flt([]byte{0}, 5)})}, "malformed exact sum"},
		{"float bad sign", entries{"fields": scalars(entries{"f": flt([]byte{2, 1}, 0)})}, "malformed exact sum"},
		{"float exponent low", entries{"fields": scalars(entries{"f": flt([]byte{0, 1}, -1075)})}, "malformed exact sum"},
		{"float too large", entries{"fields": scalars(entries{"f": flt([]byte{0, 1}, 3000)})}, "malformed exact sum"},
		{"float no bytes", entries{"fields": scalars(entries{"f": scalars(entries{"f": qp.Int(1), "e": qp.Int(0)})})}, "sum is a int, want bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			for k, v := range tc.edit {
				if v == nil {
					delete(m, k)
				} else {
					m[k] = v
				}
			}
			_, err := crdt.DecodeState(rawMap(t, m))
			wantErr(t, err, crdt.ErrInvalidState, tc.want)
		})
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not dag-cbor"},
		{"trailing", append(bytes.Clone(good), 0), "not dag-cbor"},
		{"block", g.Data, `unknown key`},
		{"list", []byte{0x80}, "top level is a list"},
		{"deep", bytes.Repeat([]byte{0xa1, 0x61, 'a'}, 100), "maximum nesting depth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := crdt.DecodeState(tc.data)
			wantErr(t, err, crdt.ErrInvalidState, tc.want)
		})
	}
}

func TestHeadsHash(t *testing.T) {
	a, b, c := testCID("a"), testCID("b"), testCID("c")
	sorted := sortedCIDs(a, b, c)
	want := sha256.Sum256([]byte(sorted[0].KeyString() + sorted[1].KeyString() + sorted[2].KeyString()))
	in := []cid.Cid{sorted[2], sorted[0], sorted[1]}
	if got := crdt.HeadsHash(in); got != want {
		t.Errorf("HeadsHash = %x, want %x", got, want)
	}
	if !in[0].Equals(sorted[2]) {
		t.Error("HeadsHash reordered its argument")
	}
	if crdt.HeadsHash(sorted) != want {
		t.Error("HeadsHash depends on order")
	}
	if crdt.HeadsHash(nil) != sha256.Sum256(nil) {
		t.Error("HeadsHash(nil) is not the hash of nothing")
	}
}

func TestClone(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, nil, map[string]any{"total": 1.0})
	st := mustState(t, g)
	cl := st.Clone()
	mustMerge(t, st, mustChange(t, s, st, map[string]any{"name": "x"}, map[string]any{"total": 1.0}, false))
	if _, ok := cl.Value("name"); ok || len(cl.Heads) != 1 || !cl.Heads[0].Equals(g.CID) {
		t.Error("merging into a state changed its clone")
	}
	if v, _ := cl.Value("total"); v != 1.0 {
		t.Errorf("clone total = %v", v)
	}
}

// TestNewChangeRefusesIntOverflow checks that a change may not take an Int
// counter beyond int64, in either direction, and that an increment that fits is
// accepted right up to the limit.
func TestNewChangeRefusesIntOverflow(t *testing.T) {
	s := testSchema()
	for _, tc := range []struct {
		start, ok, over int64
	}{
		{math.MaxInt64 - 1, 1, 2},
		{math.MinInt64 + 1, -1, -2},
		{math.MaxInt64, math.MinInt64, 1},
		{math.MinInt64, math.MaxInt64, -1},
		{-1, math.MinInt64 + 1, math.MinInt64},
	} {
		st := mustState(t, mustGenesis(t, s, nil, map[string]any{"hits": tc.start}))
		add := map[string]any{"hits": tc.over}
		_, err := crdt.NewChange(s, st, nil, add, false, changeNonce(add), testKey)
		wantErr(t, err, crdt.ErrInvalidValue, `field "hits": adding`)
		var fe *crdt.FieldError
		if !errors.As(err, &fe) || fe.Field != "hits" {
			t.Errorf("start %d + %d: error %v is not a FieldError for hits", tc.start, tc.over, err)
		}
		mustMerge(t, st, mustChange(t, s, st, nil, map[string]any{"hits": tc.ok}, false))
		if v, _ := st.Value("hits"); v != tc.start+tc.ok {
			t.Errorf("start %d + %d = %v", tc.start, tc.ok, v)
		}
	}
}

// Two replicas that make the same increment on the same heads make two blocks, and
// both count, in either order.
func TestEqualConcurrentIncrementsBothCount(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, nil, map[string]any{"hits": int64(0)})
	base := mustState(t, g)
	add := map[string]any{"hits": int64(1), "total": 0.5}
	a, err := crdt.NewChange(s, base, nil, add, false, []byte("nonce of replica A"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := crdt.NewChange(s, base, nil, add, false, []byte("nonce of replica B"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if a.CID.Equals(b.CID) {
		t.Fatalf("two equal increments on the same heads made one block %s", a.CID)
	}
	var first []byte
	for _, order := range [][]*crdt.Block{{a, b}, {b, a}} {
		st := mustState(t, g)
		for _, blk := range order {
			mustMerge(t, st, blk)
		}
		if v, _ := st.Value("hits"); v != int64(2) {
			t.Errorf("hits = %v, want 2", v)
		}
		if v, _ := st.Value("total"); v != 1.0 {
			t.Errorf("total = %v, want 1", v)
		}
		if data := mustEncodeState(t, st); first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Error("the merge order changed the encoded state")
		}
	}
}

// TestDecodeStateNamesABadHead: a state whose second head is a raw CID, not a
// dag-cbor one, is refused with an error naming heads[1].
func TestDecodeStateNamesABadHead(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "Ada"}, nil)
	st := mustState(t, g)
	a := mustChange(t, s, st, map[string]any{"name": "a"}, nil, false)
	b := mustChange(t, s, st, map[string]any{"name": "b"}, nil, false)
	mustMerge(t, st, a)
	mustMerge(t, st, b)
	if len(st.Heads) != 2 {
		t.Fatalf("%d heads, want 2", len(st.Heads))
	}
	data := mustEncodeState(t, st)
	head := st.Heads[1].Bytes()
	// Keys go shortest first, so heads, and then its links, come before the
	// fields, whose entries name blocks too.
	at := bytes.Index(data, head)
	if at < 0 || at < bytes.Index(data, []byte("heads")) || bytes.Contains(data[:at], []byte("fields")) {
		t.Fatalf("heads[1] found %d bytes in, not in heads", at)
	}
	data[at+1] = byte(cid.Raw) // the CID's codec, after its version
	_, err := crdt.DecodeState(data)
	wantErr(t, err, crdt.ErrInvalidState, "heads[1] is not a CIDv1 dag-cbor sha2-256 link")
}
