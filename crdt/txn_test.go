package crdt_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// TestTxnPart checks the transaction mark: its encoding round-trips, it changes
// a block's CID, its limits are enforced on encoding and decoding, and a block
// without it keeps the bytes it had before transactions existed.
func TestTxnPart(t *testing.T) {
	g := fixedGenesis()
	if err := g.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	id := []byte("0123456789abcdef")
	part := fixedChange(g)
	part.Txn = &crdt.TxnPart{ID: id}
	seal := &crdt.Block{Schema: g.Schema, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: 2,
		Txn: &crdt.TxnPart{ID: id, Parts: 2}}
	plain := fixedChange(g)
	for _, b := range []*crdt.Block{part, seal, plain} {
		if err := b.Sign(testKey); err != nil {
			t.Fatal(err)
		}
		d, err := crdt.Decode(b.Data)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !reflect.DeepEqual(d, b) {
			t.Errorf("Decode(Encode(b)) = %+v, want %+v", d, b)
		}
	}
	if part.CID.Equals(plain.CID) {
		t.Error("the mark does not change the CID")
	}
	// The mark is the key "txn" and a map {"n": int, "id": bytes}, in that order.
	if !bytes.Contains(seal.Data, []byte("ctxn\xa2an\x02bidP0123456789abcdef")) {
		t.Errorf("seal bytes lack the mark in canonical form: %x", seal.Data)
	}
	if !bytes.Contains(part.Data, []byte("ctxn\xa1bidP0123456789abcdef")) {
		t.Errorf("part bytes lack the mark in canonical form: %x", part.Data)
	}
	const wantPlain = "bafyreieqys5aswpmqhw5mleaz6ndkqfxmp7nsuieohfgrbvzrocr5pkv3a" // TestCIDStability's change
	if plain.CID.String() != wantPlain {
		t.Errorf("plain change CID = %s, want %s", plain.CID, wantPlain)
	}
	for name, bad := range map[string]*crdt.TxnPart{
		"short id": {ID: id[:8]},
		"one part": {ID: id, Parts: 1},
		"too many": {ID: id, Parts: crdt.MaxTxnParts + 1},
		"negative": {ID: id, Parts: -2},
		"long id":  {ID: append(append([]byte{}, id...), 'x')},
		"no id":    {Parts: 3},
	} {
		b := fixedChange(g)
		b.Txn = bad
		if err := b.Sign(testKey); !errors.Is(err, crdt.ErrInvalidBlock) {
			t.Errorf("%s: Sign = %v, want ErrInvalidBlock", name, err)
		}
	}
	// Decoding refuses a mark that is not a map, has unknown keys or misses id.
	for _, tc := range []struct{ from, to, want string }{
		{"ctxn\xa1bidP", "ctxn\xa1bixP", "unknown txn key"},
		{"ctxn\xa2an\x02", "ctxn\xa2an\x01", "txn n is 1"},
	} {
		data := bytes.Replace(bytes.Clone(map[bool][]byte{true: seal.Data, false: part.Data}[strings.Contains(tc.from, "an")]), []byte(tc.from), []byte(tc.to), 1)
		if _, err := crdt.Decode(data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode with %q = %v, want an error containing %q", tc.to, err, tc.want)
		}
	}
}
