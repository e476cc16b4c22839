package crdt_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"
)

// trickyFloats make float64 addition depend on order.
var trickyFloats = []float64{1e16, -1e16, 1, -1, 0.1, 0.2, 0.3, 1e-300, 5e-324, -5e-324, 1e300, -1e300,
	math.MaxFloat64, -math.MaxFloat64, 2.5e-308, 0}

func drawFloat(t *rapid.T, label string) float64 {
	return rapid.OneOf(rapid.Float64(), rapid.Float64Range(-1e6, 1e6), rapid.SampledFrom(trickyFloats)).Draw(t, label)
}

// drawValue draws a canonical value for a non-counter field.
func drawValue(t *rapid.T, f crdt.Field) any {
	var v any
	switch f.Kind {
	case crdt.KindString:
		v = rapid.OneOf(rapid.SampledFrom([]string{"", "a", "b", "Ada", "ü"}), rapid.String()).Draw(t, f.Name)
	case crdt.KindInt:
		v = rapid.Int64().Draw(t, f.Name)
	case crdt.KindFloat:
		v = drawFloat(t, f.Name)
	case crdt.KindBoolean:
		v = rapid.Bool().Draw(t, f.Name)
	case crdt.KindDateTime:
		sec := rapid.Int64Range(-62135596800, 253402300799).Draw(t, f.Name+".sec")
		nsec := rapid.Int64Range(0, 999999999).Draw(t, f.Name+".nsec")
		v = time.Unix(sec, nsec)
	case crdt.KindJSON:
		v = map[string]any{"k": rapid.Int().Draw(t, f.Name+".k"), "s": rapid.String().Draw(t, f.Name+".s")}
	}
	n, err := f.Normalize(v)
	if err != nil {
		t.Fatalf("Normalize(%#v): %v", v, err)
	}
	return n
}

// drawChange draws the set and add maps of a change.
func drawChange(t *rapid.T, s *crdt.Schema, genesis bool) (set, add map[string]any) {
	set, add = map[string]any{}, map[string]any{}
	for _, f := range s.Fields {
		switch {
		case f.Counter && rapid.Bool().Draw(t, "add "+f.Name):
			if f.Kind == crdt.KindInt {
				add[f.ID()] = rapid.OneOf(rapid.Int64(), rapid.Int64Range(-10, 10)).Draw(t, f.Name)
			} else {
				add[f.ID()] = drawFloat(t, f.Name)
			}
		case f.Counter:
		case f.Required && genesis:
			set[f.ID()] = drawValue(t, f)
		default:
			switch rapid.IntRange(0, 3).Draw(t, "op "+f.Name) {
			case 0:
				set[f.ID()] = drawValue(t, f)
			case 1:
				if !f.Required {
					set[f.ID()] = nil
				}
			}
		}
	}
	return set, add
}

// overflows reports whether an increment in add takes its counter in st beyond
// its range: an Int beyond int64, computed in big integers; a Float to a sum,
// with the increments of merged (the blocks merged into st) computed in
// big floats, that rounds to an infinity, unless the sum already did and the
// increment brings it nearer to the range.
func overflows(st *crdt.State, add map[string]any, merged []*crdt.Block) bool {
	for name, v := range add {
		switch d := v.(type) {
		case int64:
			cur, _ := st.Value(name)
			sum := new(big.Int).SetInt64(d)
			if c, ok := cur.(int64); ok {
				sum.Add(sum, big.NewInt(c))
			}
			if !sum.IsInt64() {
				return true
			}
		case float64:
			cur := new(big.Float).SetPrec(4096)
			for _, b := range merged {
				if x, ok := b.Add[name].(float64); ok {
					cur.Add(cur, new(big.Float).SetFloat64(x))
				}
			}
			sum := new(big.Float).SetPrec(4096).Add(cur, new(big.Float).SetFloat64(d))
			beyond := func(x *big.Float) bool { f, _ := x.Float64(); return math.IsInf(f, 0) }
			if beyond(sum) && (!beyond(cur) || new(big.Float).Abs(sum).Cmp(new(big.Float).Abs(cur)) > 0) {
				return true
			}
		}
	}
	return false
}

type replica struct {
	s     *crdt.Schema // the version it writes under
	st    *crdt.State
	known map[string]bool
}

// history is every block of one document, in creation order (a topological order),
// and the increments of every write, one entry per write: two replicas that make the
// same change on the same heads are two writes, and both must count.
type history struct {
	schema *crdt.Schema
	blocks []*crdt.Block
	byKey  map[string]*crdt.Block
	adds   []map[string]any
}

func (h *history) parents(b *crdt.Block) []*crdt.Block {
	ps := make([]*crdt.Block, len(b.Prev))
	for i, p := range b.Prev {
		ps[i] = h.byKey[p.KeyString()]
	}
	return ps
}

// drawHistory simulates replicas writing concurrently, each under the root or a
// later version of the collection, and syncing at random. Now and
// then two replicas sync with each other and then both make the same change, as two
// nodes running the same program would.
func drawHistory(t *rapid.T) (*history, []*replica) {
	s := testSchema()
	set, add := drawChange(t, s, true)
	g, err := crdt.NewGenesis(s, set, add, rapid.SliceOfN(rapid.Byte(), 8, 64).Draw(t, "nonce"), testKey)
	if err != nil {
		t.Fatalf("NewGenesis: %v", err)
	}
	h := &history{schema: s, blocks: []*crdt.Block{g}, byKey: map[string]*crdt.Block{g.CID.KeyString(): g}, adds: []map[string]any{add}}
	reps := make([]*replica, rapid.IntRange(1, 4).Draw(t, "replicas"))
	later := laterVersion()
	for i := range reps {
		st, err := crdt.NewState(g)
		if err != nil {
			t.Fatal(err)
		}
		// Replicas on different versions of the collection write by key into
		// one state.
		v := s
		if rapid.Bool().Draw(t, "later version") {
			v = later
		}
		reps[i] = &replica{s: v, st: st, known: map[string]bool{g.CID.KeyString(): true}}
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
	write := func(r *replica, set, add map[string]any, del bool) {
		var nonce []byte
		if len(add) > 0 { // unique per write, as a node's random nonce is
			nonce = binary.BigEndian.AppendUint64([]byte("write: "), uint64(len(h.adds)))
		}
		b, err := crdt.NewChange(r.s, r.st, set, add, del, nonce, testKey)
		var merged []*crdt.Block
		for _, b := range h.blocks {
			if r.known[b.CID.KeyString()] {
				merged = append(merged, b)
			}
		}
		if overflows(r.st, add, merged) {
			// Refused locally; replicas that add concurrently may still overflow
			// together, and their merge must stay order-free: see the checks below.
			if !errors.Is(err, crdt.ErrInvalidValue) {
				t.Fatalf("NewChange of an overflowing increment: %v, want ErrInvalidValue", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("NewChange: %v", err)
		}
		if err := crdt.CheckParents(b, h.parents(b)); err != nil {
			t.Fatalf("CheckParents: %v", err)
		}
		d, err := crdt.Decode(b.Data)
		if err != nil || !d.CID.Equals(b.CID) {
			t.Fatalf("Decode(new block): %v", err)
		}
		if err := r.s.Check(d); err != nil {
			t.Fatalf("Check(decoded block): %v", err)
		}
		if err := r.st.Merge(b); err != nil {
			t.Fatalf("Merge(own block): %v", err)
		}
		r.known[b.CID.KeyString()] = true
		h.adds = append(h.adds, add)
		if h.byKey[b.CID.KeyString()] == nil { // two replicas may write the same block
			h.blocks = append(h.blocks, b)
			h.byKey[b.CID.KeyString()] = b
		}
	}
	steps := rapid.IntRange(0, 30).Draw(t, "steps")
	for range steps {
		r := reps[rapid.IntRange(0, len(reps)-1).Draw(t, "replica")]
		switch rapid.IntRange(0, 3).Draw(t, "action") {
		case 0: // sync from another replica
			syncFrom(r, reps[rapid.IntRange(0, len(reps)-1).Draw(t, "from")])
		case 1, 2: // write
			set, add := drawChange(t, r.s, false)
			write(r, set, add, rapid.IntRange(0, 19).Draw(t, "delete") == 0)
		case 3: // sync two replicas both ways, then both make the same change
			twin := reps[rapid.IntRange(0, len(reps)-1).Draw(t, "twin")]
			syncFrom(r, twin)
			syncFrom(twin, r)
			set, add := drawChange(t, r.s, false)
			del := rapid.IntRange(0, 19).Draw(t, "delete") == 0
			write(r, set, add, del)
			if twin != r && twin.s == r.s {
				write(twin, set, add, del)
			}
		}
	}
	return h, reps
}

// mergeRandomOrder merges every block into a new state in a random causal order, as a
// store would: each block after its parents; blocks are delivered more than once now
// and then, and the merged set skips the duplicates.
func mergeRandomOrder(t *rapid.T, h *history, label string) *crdt.State {
	g := h.blocks[0]
	st, err := crdt.NewState(g)
	if err != nil {
		t.Fatal(err)
	}
	merged := map[string]bool{g.CID.KeyString(): true}
	var done []*crdt.Block
	pending := slices.Clone(h.blocks[1:])
	for len(pending) > 0 {
		var ready []int
		for i, b := range pending {
			if !slices.ContainsFunc(b.Prev, func(p cid.Cid) bool { return !merged[p.KeyString()] }) {
				ready = append(ready, i)
			}
		}
		var b *crdt.Block
		if len(done) > 0 && rapid.IntRange(0, 4).Draw(t, label+" redeliver") == 0 {
			b = done[rapid.IntRange(0, len(done)-1).Draw(t, label+" which")]
		} else {
			i := ready[rapid.IntRange(0, len(ready)-1).Draw(t, label)]
			b = pending[i]
			pending = slices.Delete(pending, i, i+1)
		}
		if merged[b.CID.KeyString()] {
			continue
		}
		if err := st.Merge(b); err != nil {
			t.Fatalf("Merge: %v", err)
		}
		merged[b.CID.KeyString()] = true
		done = append(done, b)
	}
	return st
}

// model computes the expected values directly from the rules.
func model(h *history) (values map[string]any, deleted bool, heads []string, height uint64) {
	type win struct {
		h uint64
		c string
		v any
	}
	lww := map[string]win{}
	ints := map[string]int64{}
	floats := map[string]*big.Float{}
	referenced := map[string]bool{}
	for _, b := range h.blocks {
		deleted = deleted || b.Delete
		height = max(height, b.Height)
		for _, p := range b.Prev {
			referenced[p.KeyString()] = true
		}
		for k, v := range b.Set {
			w, ok := lww[k]
			if !ok || b.Height > w.h || (b.Height == w.h && b.CID.KeyString() > w.c) {
				lww[k] = win{b.Height, b.CID.KeyString(), v}
			}
		}
	}
	for _, add := range h.adds { // every write's increments count once
		for k, v := range add {
			switch v := v.(type) {
			case int64:
				ints[k] += v
			case float64:
				if floats[k] == nil {
					floats[k] = new(big.Float).SetPrec(4096)
				}
				floats[k].Add(floats[k], new(big.Float).SetFloat64(v))
			}
		}
	}
	values = map[string]any{}
	for k, w := range lww {
		if w.v != nil {
			values[k] = w.v
		}
	}
	for k, v := range ints {
		values[k] = v
	}
	for k, f := range floats {
		x, _ := f.Float64()
		values[k] = max(-math.MaxFloat64, min(math.MaxFloat64, x))
	}
	for _, b := range h.blocks {
		if !referenced[b.CID.KeyString()] {
			heads = append(heads, b.CID.KeyString())
		}
	}
	slices.Sort(heads)
	return values, deleted, heads, height
}

func TestMergeConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, reps := drawHistory(t)
		wantValues, wantDeleted, wantHeads, wantHeight := model(h)

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
			if got := st.Values(); !reflect.DeepEqual(got, wantValues) {
				t.Fatalf("%s: Values = %#v, model %#v", what, got, wantValues)
			}
			if st.Deleted != wantDeleted {
				t.Fatalf("%s: Deleted = %v, model %v", what, st.Deleted, wantDeleted)
			}
			var heads []string
			for _, c := range st.Heads {
				heads = append(heads, c.KeyString())
			}
			if !slices.Equal(heads, wantHeads) || st.Height != wantHeight {
				t.Fatalf("%s: heads %d at height %d, model %d at %d", what, len(heads), st.Height, len(wantHeads), wantHeight)
			}
			d, err := crdt.DecodeState(data)
			if err != nil {
				t.Fatalf("%s: DecodeState: %v", what, err)
			}
			if !reflect.DeepEqual(d.Values(), wantValues) {
				t.Fatalf("%s: decoded state has other values", what)
			}
		}
		for i := range 3 {
			check(mergeRandomOrder(t, h, "order"), "random order "+string(rune('A'+i)))
		}
		// The replicas that wrote the history converge too once they have every block.
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

// TestDeleteWins checks that a history with a delete is deleted whatever the order.
func TestDeleteWins(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, _ := drawHistory(t)
		// Add a delete on a random block's position in the DAG.
		at := h.blocks[rapid.IntRange(0, len(h.blocks)-1).Draw(t, "at")]
		st, err := crdt.NewState(h.blocks[0])
		if err != nil {
			t.Fatal(err)
		}
		// Merge at's ancestors (a topological prefix of creation order suffices: take
		// every block up to at that is an ancestor).
		anc := ancestors(h, at)
		for _, b := range h.blocks[1:] {
			if anc[b.CID.KeyString()] {
				if err := st.Merge(b); err != nil {
					t.Fatal(err)
				}
			}
		}
		del, err := crdt.NewChange(h.schema, st, nil, nil, true, nil, testKey)
		if err != nil {
			t.Fatal(err)
		}
		if h.byKey[del.CID.KeyString()] == nil {
			h.blocks = append(h.blocks, del)
			h.byKey[del.CID.KeyString()] = del
		}
		for range 3 {
			if st := mergeRandomOrder(t, h, "order"); !st.Deleted {
				t.Fatal("delete lost")
			}
		}
	})
}

func ancestors(h *history, b *crdt.Block) map[string]bool {
	seen := map[string]bool{}
	var walk func(b *crdt.Block)
	walk = func(b *crdt.Block) {
		if seen[b.CID.KeyString()] {
			return
		}
		seen[b.CID.KeyString()] = true
		for _, p := range b.Prev {
			walk(h.byKey[p.KeyString()])
		}
	}
	walk(b)
	return seen
}
