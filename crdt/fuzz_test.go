package crdt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
)

// seedHistory returns a small document history and the states along it.
func seedHistory(tb testing.TB) ([]*crdt.Block, []*crdt.State) {
	s := testSchema()
	g := mustGenesis(tb, s, map[string]any{"name": "Ada", "age": int64(36), "score": 0.5, "ok": true,
		"at": "2024-02-29T12:04:05.5Z", "meta": `{"a":[1,null]}`}, map[string]any{"hits": int64(3), "total": 0.1})
	st := mustState(tb, g)
	blocks := []*crdt.Block{g}
	states := []*crdt.State{st.Clone()}
	a := mustChange(tb, s, st, map[string]any{"name": nil, "age": int64(-7)}, map[string]any{"total": 1e300}, false)
	b := mustChange(tb, s, st, map[string]any{"score": -2.25}, map[string]any{"hits": int64(-1)}, false)
	mustMerge(tb, st, a)
	mustMerge(tb, st, b)
	blocks = append(blocks, a, b)
	states = append(states, st.Clone())
	c := mustChange(tb, s, st, nil, nil, true)
	mustMerge(tb, st, c)
	blocks = append(blocks, c)
	states = append(states, st.Clone())
	return blocks, states
}

// blockSeeds returns the encodings of blocks of every sort (genesis and change,
// signed alone and in a batch, with add, sets, parts of a transaction, under a
// later version, in a restricted collection) and of a state, the seeds of the
// decoding fuzz tests.
func blockSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	blocks, states := seedHistory(tb)
	for _, b := range blocks {
		seeds = append(seeds, b.Data)
	}
	g := fixedGenesis()
	if err := g.Sign(testKey); err != nil {
		tb.Fatal(err)
	}
	seeds = append(seeds, g.Data)
	versioned := fixedChange(g)
	versioned.Version = testCID("version 2") // written under a later version
	part, seal := fixedChange(g), fixedChange(g)
	part.Txn = &crdt.TxnPart{ID: []byte("0123456789abcdef")}
	seal.Txn = &crdt.TxnPart{ID: []byte("0123456789abcdef"), Parts: 2}
	restricted := fixedChange(g) // in a restricted collection: policy heads and author chain
	restricted.Policy, restricted.AuthorPrev = []cid.Cid{testCID("policy change")}, g.CID
	// with add: without and with a nonce; parts of a transaction; a restricted collection's
	for _, c := range []*crdt.Block{fixedChange(g), fixedIncrement(g), versioned, part, seal, restricted} {
		if err := c.Sign(testKey); err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, c.Data)
	}
	batch := signedBlocks(tb, 3, testKey)
	if err := crdt.SignBatch(testKey, batch); err != nil {
		tb.Fatal(err)
	}
	for _, b := range batch {
		seeds = append(seeds, b.Data)
	}
	data, _ := states[1].Encode()
	seeds = append(seeds, data, []byte{}, []byte{0xa0})
	setBlocks, _ := seedSetHistory(tb)
	for _, b := range setBlocks {
		seeds = append(seeds, b.Data)
	}
	// A set change written under a later version: "ver" with "sadd" and "srem".
	if last := setBlocks[len(setBlocks)-1]; !last.IsGenesis() {
		vb := &crdt.Block{Schema: last.Schema, Version: testCID("version 2"), Doc: last.Doc, Prev: last.Prev, Height: last.Height,
			Set: last.Set, Add: last.Add, SAdd: last.SAdd, SRem: last.SRem, Delete: last.Delete, Nonce: last.Nonce}
		if err := vb.Sign(testKey); err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, vb.Data)
	}
	return seeds
}

// stateSeeds returns the encodings of the states along seedHistory and
// seedSetHistory.
func stateSeeds(tb testing.TB) [][]byte {
	_, states := seedHistory(tb)
	_, setStates := seedSetHistory(tb)
	var seeds [][]byte
	for _, st := range append(states, setStates...) {
		data, err := st.Encode()
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	return seeds
}

func FuzzDecode(f *testing.F) {
	for _, data := range blockSeeds(f) {
		f.Add(data)
	}

	s := testSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := crdt.Decode(data)
		if err != nil {
			if !errors.Is(err, crdt.ErrInvalidBlock) {
				t.Fatalf("error %v does not wrap ErrInvalidBlock", err)
			}
			return
		}
		if !bytes.Equal(b.Data, data) {
			t.Fatal("Decode accepted non-canonical bytes")
		}
		re := &crdt.Block{Schema: b.Schema, Version: b.Version, Doc: b.Doc, Prev: b.Prev, Height: b.Height, Set: b.Set, Add: b.Add,
			SAdd: b.SAdd, SRem: b.SRem, Delete: b.Delete, Nonce: b.Nonce, Txn: b.Txn, Policy: b.Policy, AuthorPrev: b.AuthorPrev,
			Author: b.Author, Sig: b.Sig, Proof: b.Proof} // whoever signed it: Decode does not verify
		if err := re.Encode(); err != nil {
			t.Fatalf("re-Encode of a decoded block: %v", err)
		}
		if !bytes.Equal(re.Data, data) || !re.CID.Equals(b.CID) {
			t.Fatal("re-Encode gives other bytes or CID")
		}
		// The other checks must not panic on any decoded block either.
		_ = s.Check(b)
		_ = crdt.CheckParents(b, make([]*crdt.Block, len(b.Prev)))
		if b.IsGenesis() {
			if _, err := crdt.NewState(b); err != nil {
				t.Fatalf("NewState of a decoded genesis: %v", err)
			}
		} else {
			st := &crdt.State{Schema: b.Schema, Doc: b.Doc, Heads: []cid.Cid{b.Prev[0]}, Height: b.Height - 1, Fields: map[string]crdt.FieldState{}}
			if err := st.Merge(b); err != nil {
				t.Fatalf("Merge of a decoded block: %v", err)
			}
			if _, err := st.Encode(); err != nil {
				t.Fatalf("Encode of the merged state: %v", err)
			}
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	for _, data := range stateSeeds(f) {
		f.Add(data)
	}
	blocks, _ := seedHistory(f)
	f.Add(blocks[0].Data)
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := crdt.DecodeState(data)
		if err != nil {
			if !errors.Is(err, crdt.ErrInvalidState) {
				t.Fatalf("error %v does not wrap ErrInvalidState", err)
			}
			return
		}
		re, err := st.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded state: %v", err)
		}
		if !bytes.Equal(re, data) {
			t.Fatal("DecodeState accepted non-canonical bytes")
		}
		for name := range st.Fields {
			st.Value(name)
		}
		_ = st.Values()
		_ = crdt.HeadsHash(st.Heads)
	})
}

// FuzzNormalize feeds outside text to the Int and JSON fields, as the HTTP API does.
// An Int takes a json.Number exactly when it is a JSON number denoting an int64,
// with that value (checked against math/big where the exponent is small enough to
// expand); a JSON field's text, once accepted, reads back through Export to a
// value that Normalize stores as text reading back the same, numbers digit for
// digit.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"0", "-0", "42", "9007199254740993.0", "9007199254740993e0", "-9223372036854775809",
		"1e19", "1.5", "1e-400", "0e99999999999999999999", "012", "+1", "0x10", `"\ud800"`, `{"a":[1.10,2E+3]}`,
		`"\ud83d\ude00"`, "\"\xff\"", `12345678901234567890123`} {
		f.Add(s)
	}
	num := crdt.Field{Name: "n", Kind: crdt.KindInt}
	js := crdt.Field{Name: "j", Kind: crdt.KindJSON}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := num.Normalize(json.Number(s))
		var v any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		isNumber := dec.Decode(&v) == nil && dec.InputOffset() == int64(len(s)) &&
			reflect.TypeOf(v) == reflect.TypeFor[json.Number]() && strings.TrimSpace(s) == s
		if !isNumber {
			if err == nil {
				t.Fatalf("Int.Normalize(%q) = %v, want an error: not a JSON number", s, got)
			}
		} else if exp := strings.IndexAny(s, "eE"); exp < 0 || len(s)-exp < 6 {
			want, _ := new(big.Rat).SetString(s)
			switch {
			case want.IsInt() && want.Num().IsInt64():
				if err != nil || got != want.Num().Int64() {
					t.Fatalf("Int.Normalize(%q) = %v, %v; want %s", s, got, err, want.Num())
				}
			case err == nil:
				t.Fatalf("Int.Normalize(%q) = %v, want an error", s, got)
			}
		}

		n, err := js.Normalize(json.RawMessage(s))
		if err != nil {
			return
		}
		text := n.(string)
		if !utf8.ValidString(text) || !json.Valid([]byte(text)) {
			t.Fatalf("JSON.Normalize(%q) = %q: not valid JSON text", s, text)
		}
		out := js.Export(text)
		again, err := js.Normalize(out)
		if err != nil || !reflect.DeepEqual(js.Export(again), out) {
			t.Fatalf("JSON %q: stored %q reads as %#v, which stores as %q (%v)", s, text, out, again, err)
		}
	})
}
