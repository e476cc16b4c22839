package crdt_test

import (
	"bytes"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
)

// Bytes read back from the store decode to the same block and state without
// re-hashing or re-encoding, and structural checks still apply.
func TestDecodeStored(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "Ada"}, nil)
	st := mustState(t, g)
	c := mustChange(t, s, st, map[string]any{"name": "Ada L."}, nil, false)
	mustMerge(t, st, c)

	got, err := crdt.DecodeStored(c.Data, c.CID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CID.Equals(c.CID) || !bytes.Equal(got.Data, c.Data) || got.Height != c.Height || got.Set["name"] != "Ada L." {
		t.Errorf("DecodeStored = %+v, want %+v", got, c)
	}
	if _, err := crdt.DecodeStored([]byte("not a block"), c.CID); err == nil {
		t.Error("DecodeStored accepted garbage")
	}

	data, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := crdt.DecodeStoredState(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.Encode()
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("DecodeStoredState did not round-trip: %v", err)
	}
	if _, err := crdt.DecodeStoredState(data[:len(data)/2]); err == nil {
		t.Error("DecodeStoredState accepted a truncated state")
	}
}
