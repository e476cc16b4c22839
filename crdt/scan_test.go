package crdt_test

import (
	"errors"
	"testing"

	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/crdt"
)

// TestScanAgreesWithDecode: the values ScanGenesis and ScanState read from the
// encodings are those of the decoded state (State.Stored: crdt.Null for a
// cleared field), for random histories.
func TestScanAgreesWithDecode(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h, _ := drawHistory(t)
		var names []string
		for _, f := range h.schema.Fields {
			names = append(names, f.ID())
		}
		names = append(names, "absent")
		check := func(what string, st *crdt.State, got []any, deleted bool) {
			if deleted != st.Deleted {
				t.Fatalf("%s: deleted %t, want %t", what, deleted, st.Deleted)
			}
			for i, name := range names {
				if want := st.Stored(name); got[i] != want {
					t.Fatalf("%s: field %s = %#v, want %#v", what, name, got[i], want)
				}
			}
		}
		g := h.blocks[0]
		out := make([]any, len(names))
		if err := crdt.ScanGenesis(g.Data, names, out); err != nil {
			t.Fatal(err)
		}
		gst, err := crdt.NewState(g)
		if err != nil {
			t.Fatal(err)
		}
		check("genesis", gst, out, false)

		st := mergeRandomOrder(t, h, "order")
		data, err := st.Encode()
		if err != nil {
			t.Fatal(err)
		}
		deleted, err := crdt.ScanState(data, names, out)
		if errors.Is(err, crdt.ErrNotScannable) {
			return // a Float counter: decoded instead
		}
		if err != nil {
			t.Fatal(err)
		}
		check("state", st, out, deleted)
	})
}

// TestScanOfAList: a list field's value is an array in the encodings, which
// ScanGenesis and ScanState do not build: they report it as ErrNotScannable,
// so that their callers decode the state, not as a malformed encoding (which
// stopped the change feed at every entry of a document with a list).
func TestScanOfAList(t *testing.T) {
	s := &crdt.Schema{
		ID:   testCID("schema Scores"),
		Name: "Scores",
		Fields: []crdt.Field{
			{Name: "name", Kind: crdt.KindString},
			{Name: "scores", Kind: crdt.KindInt, List: true},
		},
	}
	g, err := crdt.NewGenesis(s, map[string]any{"name": "Ada", "scores": []any{int64(1), int64(2)}}, nil, testNonce, testKey)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"scores", "name"}
	out := make([]any, len(names))
	if err := crdt.ScanGenesis(g.Data, names, out); !errors.Is(err, crdt.ErrNotScannable) {
		t.Errorf("ScanGenesis of a genesis with a list: %v, want ErrNotScannable", err)
	}
	st, err := crdt.NewState(g)
	if err != nil {
		t.Fatal(err)
	}
	data, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crdt.ScanState(data, names, out); !errors.Is(err, crdt.ErrNotScannable) {
		t.Errorf("ScanState of a state with a list: %v, want ErrNotScannable", err)
	}
	// The fields before the list are read as usual.
	if err := crdt.ScanGenesis(g.Data, []string{"name"}, out[:1]); err != nil || out[0] != "Ada" {
		t.Errorf("ScanGenesis of the name only: %v, %v", out[0], err)
	}
}
