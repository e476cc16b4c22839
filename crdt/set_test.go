package crdt_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	"github.com/multiformats/go-multibase"
	"pgregory.net/rapid"
)

// setSchema has two add-wins sets and a last-writer-wins list.
func setSchema() *crdt.Schema {
	return &crdt.Schema{
		ID:   testCID("schema Post"),
		Name: "Post",
		Fields: []crdt.Field{
			{Name: "list", Kind: crdt.KindInt, List: true},
			{Name: "nums", Kind: crdt.KindInt, List: true, ItemsRequired: true, AddWinsSet: true},
			{Name: "tags", Kind: crdt.KindString, List: true, ItemsRequired: true, AddWinsSet: true},
		},
	}
}

var setUniverse = map[string][]any{
	"tags": {"a", "b", "c", "d", ""},
	"nums": {int64(-1), int64(0), int64(1), int64(7)},
}

// drawContent draws the whole new content of every set field, starting from
// what st holds (nil: genesis), and sometimes a new list.
func drawContent(t *rapid.T, s *crdt.Schema, st *crdt.State) map[string]any {
	set := map[string]any{}
	for _, name := range []string{"nums", "tags"} {
		if !rapid.Bool().Draw(t, "touch "+name) {
			continue
		}
		var cur []any
		if st != nil {
			v, _ := st.Value(name)
			cur, _ = v.([]any)
		}
		var next []any
		for _, e := range setUniverse[name] {
			in := slices.ContainsFunc(cur, func(x any) bool { return x == e })
			if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("flip %s %v", name, e)) == 0 {
				in = !in
			}
			if in {
				next = append(next, e)
			}
		}
		f, _ := s.Field(name)
		v, err := f.Normalize(next)
		if err != nil {
			t.Fatalf("Normalize: %v", err)
		}
		set[name] = v
	}
	if rapid.IntRange(0, 3).Draw(t, "list") == 0 {
		list := rapid.SliceOfN(rapid.SampledFrom([]any{nil, int64(1), int64(2)}), 0, 3).Draw(t, "list items")
		set["list"] = list
	}
	return set
}

type setHistory struct {
	blocks []*crdt.Block
	byKey  map[string]*crdt.Block
}

// drawSetHistory simulates three replicas editing the sets concurrently, syncing
// now and then, and now and then making the same edit on the same state.
func drawSetHistory(t *rapid.T) (*setHistory, []*replica) {
	s := setSchema()
	g, err := crdt.NewGenesis(s, drawContent(t, s, nil), nil, testNonce, testKey)
	if err != nil {
		t.Fatalf("NewGenesis: %v", err)
	}
	h := &setHistory{blocks: []*crdt.Block{g}, byKey: map[string]*crdt.Block{g.CID.KeyString(): g}}
	reps := make([]*replica, 3)
	for i := range reps {
		reps[i] = &replica{st: mustStateT(t, g), known: map[string]bool{g.CID.KeyString(): true}}
	}
	syncFrom := func(r, from *replica) {
		for _, b := range h.blocks {
			if from.known[b.CID.KeyString()] && !r.known[b.CID.KeyString()] {
				if err := r.st.Merge(b); err != nil {
					t.Fatalf("sync Merge: %v", err)
				}
				r.known[b.CID.KeyString()] = true
			}
		}
	}
	writes := 0
	write := func(r *replica, set map[string]any) {
		writes++
		var nonce []byte // a change naming a set may carry one; it is used if it adds
		if set["nums"] != nil || set["tags"] != nil {
			nonce = binary.BigEndian.AppendUint64([]byte("write: "), uint64(writes))
		}
		b, err := crdt.NewChange(s, r.st, set, nil, false, nonce, testKey)
		if err != nil {
			t.Fatalf("NewChange: %v", err)
		}
		d, err := crdt.Decode(b.Data)
		if err != nil || !d.CID.Equals(b.CID) {
			t.Fatalf("Decode(new block): %v", err)
		}
		if err := s.Check(d); err != nil {
			t.Fatalf("Check(decoded block): %v", err)
		}
		if err := r.st.Merge(d); err != nil {
			t.Fatalf("Merge(own block): %v", err)
		}
		r.known[b.CID.KeyString()] = true
		for name, want := range set { // the writer reads what it wrote
			if got, _ := r.st.Value(name); !reflect.DeepEqual(got, want) && (len(want.([]any)) > 0 || got != nil) {
				t.Fatalf("after writing %s = %v, the writer reads %v", name, want, got)
			}
		}
		if h.byKey[b.CID.KeyString()] == nil { // two replicas may write the same block
			h.blocks = append(h.blocks, b)
			h.byKey[b.CID.KeyString()] = b
		}
	}
	for range rapid.IntRange(0, 30).Draw(t, "steps") {
		r := reps[rapid.IntRange(0, len(reps)-1).Draw(t, "replica")]
		switch rapid.IntRange(0, 3).Draw(t, "action") {
		case 0:
			syncFrom(r, reps[rapid.IntRange(0, len(reps)-1).Draw(t, "from")])
		case 1, 2:
			write(r, drawContent(t, s, r.st))
		case 3: // two replicas in the same state make the same edit
			twin := reps[rapid.IntRange(0, len(reps)-1).Draw(t, "twin")]
			syncFrom(r, twin)
			syncFrom(twin, r)
			set := drawContent(t, s, r.st)
			write(r, set)
			if twin != r {
				write(twin, set)
			}
		}
	}
	return h, reps
}

func mustStateT(t *rapid.T, g *crdt.Block) *crdt.State {
	st, err := crdt.NewState(g)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// setModel computes the add-wins result from the blocks alone, without tags: an
// element is in a set if some block added it and no block that removed it has
// that block among its ancestors.
func setModel(h *setHistory, name string) []any {
	anc := map[string]map[string]bool{}
	for _, b := range h.blocks {
		a := map[string]bool{}
		for _, p := range b.Prev {
			a[p.KeyString()] = true
			for k := range anc[p.KeyString()] {
				a[k] = true
			}
		}
		anc[b.CID.KeyString()] = a
	}
	out := []any{}
	for _, e := range setUniverse[name] {
		in := false
		for _, a := range h.blocks {
			if !slices.Contains(a.SAdd[name], e) {
				continue
			}
			removed := false
			for _, r := range h.blocks {
				if anc[r.CID.KeyString()][a.CID.KeyString()] &&
					slices.ContainsFunc(r.SRem[name], func(rm crdt.Removal) bool { return rm.Value == e }) {
					removed = true
				}
			}
			in = in || !removed
		}
		if in {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, crdt.CompareValues)
	return out
}

// TestSetConverges checks the add-wins set: any causal delivery order of the
// blocks of three replicas' concurrent adds and removes gives byte-identical
// states whose elements are those of the reference model.
func TestSetConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, reps := drawSetHistory(t)
		ch := &history{blocks: h.blocks, byKey: h.byKey}
		var want []byte
		check := func(st *crdt.State, what string) {
			data, err := st.Encode()
			if err != nil {
				t.Fatalf("%s: Encode: %v", what, err)
			}
			if want == nil {
				want = data
			} else if !bytes.Equal(data, want) {
				t.Fatalf("%s: encoded state differs", what)
			}
			for _, name := range []string{"nums", "tags"} {
				got, ok := st.Value(name)
				wantSet := setModel(h, name)
				if !ok {
					got = []any{}
				}
				if !reflect.DeepEqual(got, wantSet) {
					t.Fatalf("%s: %s = %#v, model %#v", what, name, got, wantSet)
				}
			}
			d, err := crdt.DecodeState(data)
			if err != nil {
				t.Fatalf("%s: DecodeState: %v", what, err)
			}
			if again, err := d.Encode(); err != nil || !bytes.Equal(again, data) {
				t.Fatalf("%s: decoded state encodes differently (%v)", what, err)
			}
		}
		for i := range 3 {
			check(mergeRandomOrder(t, ch, "order"), "random order "+string(rune('A'+i)))
		}
		for i, r := range reps {
			for _, b := range h.blocks {
				if !r.known[b.CID.KeyString()] {
					if err := r.st.Merge(b); err != nil {
						t.Fatalf("replica %d: Merge: %v", i, err)
					}
					r.known[b.CID.KeyString()] = true
				}
			}
			check(r.st, "replica "+string(rune('0'+i)))
		}
	})
}

// seedSetHistory returns a small history of set and list edits and the states
// along it: a genesis that adds, two concurrent changes, one adding and
// removing, one only removing.
func seedSetHistory(tb testing.TB) ([]*crdt.Block, []*crdt.State) {
	s := setSchema()
	g, err := crdt.NewGenesis(s, map[string]any{"tags": []any{"a", "b"}, "nums": []any{int64(1)}, "list": []any{int64(3), nil}}, nil, testNonce, testKey)
	if err != nil {
		tb.Fatal(err)
	}
	st := mustState(tb, g)
	a, err := crdt.NewChange(s, st, map[string]any{"tags": []any{"b", "c"}}, nil, false, []byte("nonce of a"), testKey)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := crdt.NewChange(s, st, map[string]any{"nums": nil, "list": []any{}}, nil, false, []byte("nonce of b"), testKey)
	if err != nil {
		tb.Fatal(err)
	}
	states := []*crdt.State{st.Clone()}
	mustMerge(tb, st, a)
	states = append(states, st.Clone())
	mustMerge(tb, st, b)
	states = append(states, st.Clone())
	return []*crdt.Block{g, a, b}, states
}

func TestSetEdits(t *testing.T) {
	blocks, states := seedSetHistory(t)
	g, a, b := blocks[0], blocks[1], blocks[2]
	if !slices.Equal(g.SAdd["tags"], []any{"a", "b"}) || g.Set["tags"] != nil || len(g.Nonce) == 0 {
		t.Fatalf("genesis: sadd %v, set %v", g.SAdd, g.Set)
	}
	if !slices.Equal(a.SAdd["tags"], []any{"c"}) || len(a.SRem["tags"]) != 1 || a.SRem["tags"][0].Value != "a" ||
		!slices.Equal(a.SRem["tags"][0].Tags, []cid.Cid{g.CID}) || len(a.Nonce) == 0 {
		t.Fatalf("change a: sadd %v, srem %v", a.SAdd, a.SRem)
	}
	// A change that only removes carries no nonce, as any change without additions.
	if len(b.SAdd) != 0 || len(b.SRem["nums"]) != 1 || b.Nonce != nil || b.Set["list"] == nil {
		t.Fatalf("change b: %+v", b)
	}
	st := states[2]
	for name, want := range map[string]any{"tags": []any{"b", "c"}, "nums": []any{}, "list": []any{}} {
		if got, _ := st.Value(name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	if tags := st.SetTags("tags", "b"); !slices.Equal(tags, []cid.Cid{g.CID}) {
		t.Errorf("SetTags(b) = %v, want the genesis", tags)
	}
	if tags := st.SetTags("tags", "a"); len(tags) != 0 {
		t.Errorf("SetTags(a) = %v, want none", tags)
	}
}

// TestSetRemoveOfUnseenTag checks a removal naming a tag its block has not seen,
// which no honest writer makes: the result does not depend on the order, and
// the element stays removed.
func TestSetRemoveOfUnseenTag(t *testing.T) {
	s := setSchema()
	g, err := crdt.NewGenesis(s, map[string]any{"list": []any{}}, nil, testNonce, testKey)
	if err != nil {
		t.Fatal(err)
	}
	add, err := crdt.NewChange(s, mustState(t, g), map[string]any{"tags": []any{"x"}}, nil, false, []byte("nonce of add"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	rem := &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: 2,
		SRem: map[string][]crdt.Removal{"tags": {{Value: "x", Tags: []cid.Cid{add.CID}}}}}
	if err := rem.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(rem); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, order := range [][]*crdt.Block{{add, rem}, {rem, add}} {
		st := mustState(t, g)
		for _, b := range order {
			mustMerge(t, st, b)
		}
		if v, _ := st.Value("tags"); !reflect.DeepEqual(v, []any{}) {
			t.Errorf("tags = %#v, want none", v)
		}
		data, err := st.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if want != nil && !bytes.Equal(data, want) {
			t.Error("states differ by order")
		}
		want = data
	}
}

// TestSetMergeRefusesKindChange checks Merge keeps a field's merge rule.
func TestSetMergeRefusesKindChange(t *testing.T) {
	blocks, _ := seedSetHistory(t)
	st := mustState(t, blocks[0])
	lww := &crdt.Block{Schema: st.Schema, Doc: st.Doc, Prev: st.Heads, Height: 2, Set: map[string]any{"tags": "x"}}
	if err := lww.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.Merge(lww), crdt.ErrInvalidState, `field "tags" is a counter or a set`)
	sadd := &crdt.Block{Schema: st.Schema, Doc: st.Doc, Prev: st.Heads, Height: 2, SAdd: map[string][]any{"list": {int64(1)}}, Nonce: testNonce}
	if err := sadd.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.Merge(sadd), crdt.ErrInvalidState, `field "list" is not a set`)
}

func TestDecodeRejectsSetOps(t *testing.T) {
	ab := sortedCIDs(testCID("a"), testCID("b"))
	a, b := ab[0], ab[1]
	type entries = map[string]qp.Assemble
	list := func(items ...qp.Assemble) qp.Assemble {
		return qp.List(int64(len(items)), func(la datamodel.ListAssembler) {
			for _, it := range items {
				qp.ListEntry(la, it)
			}
		})
	}
	rem := func(v qp.Assemble, tags qp.Assemble) qp.Assemble { return list(v, tags) }
	many := make([]qp.Assemble, crdt.MaxListLen+1)
	for i := range many {
		many[i] = qp.Int(int64(i))
	}
	manyTags := make([]cid.Cid, crdt.MaxListLen+1)
	for i := range manyTags {
		manyTags[i] = testCID(fmt.Sprint(i))
	}
	manyTags = sortedCIDs(manyTags...)
	deep := qp.Int(1)
	for range 6 {
		deep = list(deep)
	}
	base := func() entries {
		return entries{
			"schema": link(testCID("schema Post")),
			"doc":    link(testCID("doc")),
			"prev":   links(testCID("doc")),
			"height": qp.Int(2),
			"nonce":  qp.Bytes(testNonce),
			"sadd":   scalars(entries{"tags": list(qp.String("a"))}),
			"author": qp.Bytes(testKey.Public().(ed25519.PublicKey)),
			"sg":     qp.Bytes(make([]byte, ed25519.SignatureSize)),
		}
	}
	for _, tc := range []struct {
		name string
		edit entries
		want string
	}{
		{"sadd without nonce", entries{"nonce": nil}, "a change with sadd needs a nonce"},
		{"sadd not map", entries{"sadd": list()}, "sadd is a list, want a map"},
		{"sadd empty", entries{"sadd": scalars(nil)}, "sadd is empty (omit it instead)"},
		{"sadd field not list", entries{"sadd": scalars(entries{"tags": qp.String("a")})}, `sadd "tags": is a string, want a list`},
		{"sadd field empty", entries{"sadd": scalars(entries{"tags": list()})}, `sadd "tags" is empty`},
		{"sadd unsorted", entries{"sadd": scalars(entries{"tags": list(qp.String("b"), qp.String("a"))})}, "elements not sorted or repeated"},
		{"sadd repeated", entries{"sadd": scalars(entries{"tags": list(qp.String("a"), qp.String("a"))})}, "elements not sorted or repeated"},
		{"sadd null", entries{"sadd": scalars(entries{"tags": list(qp.Null())})}, "element 0 is null"},
		{"sadd nested list", entries{"sadd": scalars(entries{"tags": list(list())})}, "element 0 is a list, want a scalar"},
		{"sadd link", entries{"sadd": scalars(entries{"tags": list(link(a))})}, "element 0 is a link, want a scalar"},
		{"sadd oversized", entries{"sadd": scalars(entries{"tags": list(many...)})}, "4097 elements, more than 4096"},
		{"sadd empty field name", entries{"sadd": scalars(entries{"": list(qp.Int(1))})}, "sadd has an empty field name"},
		{"sadd and set", entries{"set": scalars(entries{"tags": qp.Int(1)})}, `field "tags" in both set and sadd`},
		{"srem not list", entries{"srem": scalars(entries{"nums": qp.Int(1)})}, `srem "nums": is a int, want a list`},
		{"srem not pair", entries{"srem": scalars(entries{"nums": list(list(qp.Int(1)))})}, "element 0 is not a [value, [tags]] pair"},
		{"srem no tags", entries{"srem": scalars(entries{"nums": list(rem(qp.Int(1), links()))})}, "0 tags, want 1 to 4096"},
		{"srem tags unsorted", entries{"srem": scalars(entries{"nums": list(rem(qp.Int(1), links(b, a)))})}, "tags not sorted or repeated"},
		{"srem tags repeated", entries{"srem": scalars(entries{"nums": list(rem(qp.Int(1), links(a, a)))})}, "tags not sorted or repeated"},
		{"srem tag not link", entries{"srem": scalars(entries{"nums": list(rem(qp.Int(1), list(qp.String("a"))))})}, "item 0 is not a CIDv1"},
		{"srem tag raw codec", entries{"srem": scalars(entries{"nums": list(rem(qp.Int(1), links(cid.NewCidV1(cid.Raw, a.Hash()))))})}, "item 0 is not a CIDv1"},
		{"srem too many tags", entries{"srem": scalars(entries{"nums": list(rem(qp.Int(1), links(manyTags...)))})}, "4097 links, more than 4096"},
		{"srem values unsorted", entries{"srem": scalars(entries{"nums": list(rem(qp.Int(2), links(a)), rem(qp.Int(1), links(a)))})}, "elements not sorted or repeated"},
		{"srem of an added element", entries{"srem": scalars(entries{"tags": list(rem(qp.String("a"), links(a)))})}, "both added and removed"},
		{"srem in genesis", entries{"doc": nil, "prev": links(), "height": qp.Int(1), "srem": scalars(entries{"nums": list(rem(qp.Int(1), links(a)))})}, "genesis block has srem"},
		{"too deep", entries{"sadd": scalars(entries{"tags": deep})}, "not dag-cbor"},
		{"nonce with srem only", entries{"sadd": nil, "srem": scalars(entries{"nums": list(rem(qp.Int(1), links(a)))})}, "nonce on a change without add"},
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
			_, err := crdt.Decode(rawMap(t, m))
			wantErr(t, err, crdt.ErrInvalidBlock, tc.want)
		})
	}
	// The base is valid.
	if _, err := crdt.Decode(rawMap(t, base())); err != nil {
		t.Fatal(err)
	}
}

func TestCheckSetsAndLists(t *testing.T) {
	s := setSchema()
	s.Fields = append(s.Fields,
		crdt.Field{Name: "when", Kind: crdt.KindDateTime, List: true, ItemsRequired: true},
		crdt.Field{Name: "writer", Kind: crdt.KindRelation, Relation: "Author"},
		crdt.Field{Name: "xs", Kind: crdt.KindFloat, List: true, ItemsRequired: true, AddWinsSet: true},
		crdt.Field{Name: "zbooks", Kind: crdt.KindRelation, List: true, Relation: "Book"},
	)
	doc := testCID("doc")
	for _, tc := range []struct {
		name string
		b    crdt.Block
		want string
	}{
		{"set on a set", crdt.Block{Set: map[string]any{"tags": []any{"a"}}}, `field "tags": set field takes sadd and srem, not set`},
		{"sadd on a list", crdt.Block{SAdd: map[string][]any{"list": {int64(1)}}, Nonce: testNonce}, `field "list": not a set field`},
		{"sadd unknown", crdt.Block{SAdd: map[string][]any{"nope": {int64(1)}}, Nonce: testNonce}, `field "nope": unknown field`},
		{"sadd wrong kind", crdt.Block{SAdd: map[string][]any{"tags": {int64(1)}}, Nonce: testNonce}, `field "tags": want String, got 1 (int64)`},
		{"sadd -0", crdt.Block{SAdd: map[string][]any{"xs": {math.Copysign(0, -1)}}, Nonce: testNonce}, "-0 is not canonical"},
		{"srem wrong kind", crdt.Block{SRem: map[string][]crdt.Removal{"nums": {{Value: "a", Tags: []cid.Cid{doc}}}}}, `field "nums": want Int, got "a"`},
		{"list null item", crdt.Block{Set: map[string]any{"when": []any{nil}}}, "item 0 is null in [DateTime!]"},
		{"list wrong item", crdt.Block{Set: map[string]any{"list": []any{"a"}}}, `field "list": item 0: want Int, got "a"`},
		{"list not canonical item", crdt.Block{Set: map[string]any{"when": []any{"2024-01-01T00:00:00+01:00"}}}, "item 0: \"2024-01-01T00:00:00+01:00\" is not in normalised form"},
		{"list scalar", crdt.Block{Set: map[string]any{"list": int64(1)}}, `want a list [Int], got 1 (int64)`},
		{"relation not ID", crdt.Block{Set: map[string]any{"writer": "bafy"}}, "is not a document ID in canonical form"},
		{"relation base58", crdt.Block{Set: map[string]any{"writer": doc.Encode(multibase.MustNewEncoder(multibase.Base58BTC))}}, "is not a document ID in canonical form"},
		{"relation int", crdt.Block{Set: map[string]any{"writer": int64(1)}}, "want Relation, got 1"},
		{"derived", crdt.Block{Set: map[string]any{"zbooks": nil}}, `field "zbooks": derived from the relations to Book`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			b.Schema, b.Doc, b.Prev, b.Height = s.ID, doc, []cid.Cid{doc}, 2
			if err := b.Sign(testKey); err != nil {
				t.Fatal(err)
			}
			wantErr(t, s.Check(&b), crdt.ErrInvalidBlock, tc.want)
		})
	}
	ok := crdt.Block{Schema: s.ID, Doc: doc, Prev: []cid.Cid{doc}, Height: 2, Set: map[string]any{"writer": doc.String(), "when": []any{"2024-01-01T00:00:00Z"}}}
	if err := ok.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(&ok); err != nil {
		t.Fatal(err)
	}
}

func TestListValues(t *testing.T) {
	day := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		f        crdt.Field
		in       any
		want     any // canonical
		exported any
	}{
		{crdt.Field{Kind: crdt.KindString, List: true}, []string{"b", "a"}, []any{"b", "a"}, []any{"b", "a"}},
		{crdt.Field{Kind: crdt.KindString, List: true, ItemsRequired: true}, []any{"b", "a", "b"}, []any{"b", "a", "b"}, []string{"b", "a", "b"}},
		{crdt.Field{Kind: crdt.KindInt, List: true}, []any{json.Number("1"), nil, 2.0}, []any{int64(1), nil, int64(2)}, []any{int64(1), nil, int64(2)}},
		{crdt.Field{Kind: crdt.KindInt, List: true, ItemsRequired: true}, []int{3, 1}, []any{int64(3), int64(1)}, []int64{3, 1}},
		{crdt.Field{Kind: crdt.KindFloat, List: true, ItemsRequired: true}, [2]float64{0.5, 1}, []any{0.5, 1.0}, []float64{0.5, 1}},
		{crdt.Field{Kind: crdt.KindBoolean, List: true, ItemsRequired: true}, []bool{true, false}, []any{true, false}, []bool{true, false}},
		{crdt.Field{Kind: crdt.KindDateTime, List: true, ItemsRequired: true}, []time.Time{day}, []any{"2024-02-29T12:00:00Z"}, []time.Time{day}},
		{crdt.Field{Kind: crdt.KindInt, List: true}, []any{}, []any{}, []any{}},
		// A set's content is sorted and without repeats; -0 is 0; DateTimes read in time order.
		{crdt.Field{Kind: crdt.KindString, List: true, ItemsRequired: true, AddWinsSet: true}, []string{"b", "a", "b"}, []any{"a", "b"}, []string{"a", "b"}},
		{crdt.Field{Kind: crdt.KindFloat, List: true, ItemsRequired: true, AddWinsSet: true}, []float64{1, math.Copysign(0, -1), 0}, []any{0.0, 1.0}, []float64{0, 1}},
		{crdt.Field{Kind: crdt.KindDateTime, List: true, ItemsRequired: true, AddWinsSet: true},
			[]string{"2024-02-29T12:00:00.5Z", "2024-02-29T12:00:00Z"}, []any{"2024-02-29T12:00:00.5Z", "2024-02-29T12:00:00Z"},
			[]time.Time{day, day.Add(time.Second / 2)}},
	} {
		tc.f.Name = "f"
		got, err := tc.f.Normalize(tc.in)
		if err != nil {
			t.Errorf("%s: Normalize(%#v): %v", tc.f.TypeName(), tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) || math.Signbit(firstFloat(got)) {
			t.Errorf("%s: Normalize(%#v) = %#v, want %#v", tc.f.TypeName(), tc.in, got, tc.want)
		}
		if ex := tc.f.Export(got); !reflect.DeepEqual(ex, tc.exported) {
			t.Errorf("%s: Export = %#v, want %#v", tc.f.TypeName(), ex, tc.exported)
		}
	}
	set := crdt.Field{Name: "f", Kind: crdt.KindString, List: true, ItemsRequired: true, AddWinsSet: true}
	if ex := set.Export(nil); !reflect.DeepEqual(ex, []string{}) {
		t.Errorf("an absent set reads %#v, want an empty list", ex)
	}
	for _, tc := range []struct {
		f    crdt.Field
		in   any
		want string
	}{
		{crdt.Field{Kind: crdt.KindInt, List: true}, "1", `field "f": want a list [Int], got "1"`},
		{crdt.Field{Kind: crdt.KindInt, List: true}, []any{"x"}, `field "f": item 0: want Int, got "x"`},
		{crdt.Field{Kind: crdt.KindInt, List: true, ItemsRequired: true}, []any{int64(1), nil}, `field "f": item 1 is null in [Int!], whose items are required`},
		{crdt.Field{Kind: crdt.KindInt, List: true, Required: true}, nil, `field "f": required`},
		{crdt.Field{Kind: crdt.KindInt, List: true}, make([]int, crdt.MaxListLen+1), "list of 4097 items, more than 4096"},
		{crdt.Field{Kind: crdt.KindDateTime, List: true}, []any{"yesterday"}, `item 0: "yesterday" is not an RFC 3339 date-time`},
		{crdt.Field{Kind: crdt.KindRelation, Relation: "Author"}, "bafy", `"bafy" is not a document ID (want the document ID of a Author)`},
		{crdt.Field{Kind: crdt.KindRelation, Relation: "Author"}, 7, "want the document ID of a Author, got 7 (int)"},
		{crdt.Field{Kind: crdt.KindRelation, Relation: "Book", List: true}, []any{}, "derived from the relations to Book"},
	} {
		tc.f.Name = "f"
		_, err := tc.f.Normalize(tc.in)
		wantErr(t, err, crdt.ErrInvalidValue, tc.want)
	}
	// A relation takes a document ID in its canonical form (base32, lower
	// case), in any string type; another string of the same CID is refused,
	// naming the canonical form.
	type docID string
	doc := testCID("doc")
	rel := crdt.Field{Name: "f", Kind: crdt.KindRelation, Relation: "Author"}
	for _, in := range []any{doc.String(), docID(doc.String())} {
		if got, err := rel.Normalize(in); err != nil || got != doc.String() {
			t.Errorf("Normalize(%#v) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{
		doc.Encode(multibase.MustNewEncoder(multibase.Base58BTC)),
		doc.Encode(multibase.MustNewEncoder(multibase.Base16)),
		strings.ToUpper(doc.String()),
	} {
		_, err := rel.Normalize(in)
		wantErr(t, err, crdt.ErrInvalidValue, fmt.Sprintf("is not in its canonical form %q", doc.String()))
	}
}

func firstFloat(v any) float64 {
	if list, ok := v.([]any); ok && len(list) > 0 {
		if x, ok := list[0].(float64); ok {
			return x
		}
	}
	return 1
}

func TestTypeName(t *testing.T) {
	for f, want := range map[crdt.Field]string{
		{Kind: crdt.KindInt}:                                     "Int",
		{Kind: crdt.KindInt, List: true}:                         "[Int]",
		{Kind: crdt.KindString, List: true, ItemsRequired: true}: "[String!]",
		{Kind: crdt.KindRelation, Relation: "Author"}:            "Author",
		{Kind: crdt.KindRelation, Relation: "Book", List: true}:  "[Book]",
	} {
		if got := f.TypeName(); got != want {
			t.Errorf("TypeName = %q, want %q", got, want)
		}
	}
}

func TestDecodeStateRejectsSets(t *testing.T) {
	blocks, states := seedSetHistory(t)
	g := blocks[0]
	if _, err := crdt.DecodeState(mustEncodeState(t, states[2])); err != nil {
		t.Fatalf("a set's state: %v", err)
	}
	a, b := sortedCIDs(testCID("a"), testCID("b"))[0], sortedCIDs(testCID("a"), testCID("b"))[1]
	type entries = map[string]qp.Assemble
	list := func(items ...qp.Assemble) qp.Assemble {
		return qp.List(int64(len(items)), func(la datamodel.ListAssembler) {
			for _, it := range items {
				qp.ListEntry(la, it)
			}
		})
	}
	elem := func(v qp.Assemble, live, removed qp.Assemble) qp.Assemble { return list(v, live, removed) }
	state := func(set qp.Assemble) []byte {
		return rawMap(t, entries{
			"schema":  link(g.Schema),
			"doc":     link(g.CID),
			"heads":   links(g.CID),
			"height":  qp.Int(1),
			"deleted": qp.Bool(false),
			"fields":  scalars(entries{"tags": scalars(entries{"s": set})}),
		})
	}
	if _, err := crdt.DecodeState(state(list(elem(qp.String("x"), links(a), links(b))))); err != nil {
		t.Fatalf("a hand-made set state: %v", err)
	}
	for _, tc := range []struct {
		name string
		set  qp.Assemble
		want string
	}{
		{"not a list", qp.Int(1), "set is a int, want a list"},
		{"not a triple", list(list(qp.String("x"), links(a))), "element 0 is not a [value, [live], [removed]] triple"},
		{"null element", list(elem(qp.Null(), links(a), links())), "element 0 is null"},
		{"list element", list(elem(list(), links(a), links())), "element 0 is a list, want a scalar"},
		{"unsorted", list(elem(qp.String("y"), links(a), links()), elem(qp.String("x"), links(a), links())), "elements not sorted or repeated"},
		{"repeated", list(elem(qp.String("x"), links(a), links()), elem(qp.String("x"), links(b), links())), "elements not sorted or repeated"},
		{"no tags", list(elem(qp.String("x"), links(), links())), "element 0 has no tags"},
		{"tags unsorted", list(elem(qp.String("x"), links(b, a), links())), "tags not sorted or repeated"},
		{"live and removed", list(elem(qp.String("x"), links(a), links(a))), "both live and removed"},
		{"tag not a link", list(elem(qp.String("x"), list(qp.Int(1)), links())), "is not a CIDv1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := crdt.DecodeState(state(tc.set))
			wantErr(t, err, crdt.ErrInvalidState, tc.want)
		})
	}
}
