package crdt_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
)

// laterVersion is a later version of testSchema: "name" renamed to "fullName",
// "color" added with a default, "age" dropped, "title" made optional.
func laterVersion() *crdt.Schema {
	root := testSchema()
	return &crdt.Schema{
		ID:      root.ID,
		Version: testCID("version 2"),
		Parent:  root.ID,
		Name:    "User",
		Fields: []crdt.Field{
			{Name: "at", Kind: crdt.KindDateTime},
			{Name: "color", Key: "color@String/lww", Kind: crdt.KindString, Default: "grey"},
			{Name: "fullName", Key: "name", Kind: crdt.KindString},
			{Name: "hits", Kind: crdt.KindInt, Counter: true},
			{Name: "meta", Kind: crdt.KindJSON},
			{Name: "ok", Kind: crdt.KindBoolean},
			{Name: "score", Kind: crdt.KindFloat},
			{Name: "title", Kind: crdt.KindString},
			{Name: "total", Kind: crdt.KindFloat, Counter: true},
		},
	}
}

func TestBlockVersion(t *testing.T) {
	root, v2 := testSchema(), laterVersion()
	g := mustGenesis(t, root, map[string]any{"name": "Ada", "age": int64(3)}, nil)
	if g.Version.Defined() || bytes.Contains(g.Data, []byte("ver")) {
		t.Fatal("a root version's block names a version")
	}
	st, err := crdt.NewState(g)
	if err != nil {
		t.Fatal(err)
	}
	b, err := crdt.NewChange(v2, st, map[string]any{"name": "Ada L.", "color@String/lww": "red"}, map[string]any{"hits": int64(2)}, false, testNonce, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Version.Equals(v2.Version) || !b.VersionID().Equals(v2.Version) {
		t.Fatalf("block version %s", b.Version)
	}
	// "schema" stays the last key, so the block's bytes end with the schema ID.
	if !bytes.HasSuffix(b.Data, root.ID.Bytes()) {
		t.Error("the block's bytes do not end with its schema ID")
	}
	back, err := crdt.Decode(b.Data)
	if err != nil || !back.Version.Equals(v2.Version) || !back.CID.Equals(b.CID) {
		t.Fatalf("decode: %v, version %s", err, back.Version)
	}
	if err := v2.Check(back); err != nil {
		t.Errorf("v2 refuses its own block: %v", err)
	}
	if err := root.Check(back); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("the root accepts a v2 block: %v", err)
	}
	if err := v2.Check(g); err == nil {
		t.Error("v2 accepts a root block")
	}
	// A block may not name the root as its version: there is one encoding.
	bad := &crdt.Block{Schema: root.ID, Version: root.ID, Height: 1, Nonce: testNonce}
	if err := bad.Sign(testKey); !errors.Is(err, crdt.ErrInvalidBlock) {
		t.Errorf("a block naming the root as version: %v", err)
	}
	// v2 refuses the old name and a dropped field; it writes by key.
	for _, set := range []map[string]any{{"fullName": "x"}, {"age": int64(1)}} {
		if _, err := crdt.NewChange(v2, st, set, nil, false, nil, testKey); !errors.Is(err, crdt.ErrInvalidBlock) {
			t.Errorf("v2 writes %v: %v", set, err)
		}
	}
	if err := st.Merge(back); err != nil {
		t.Fatal(err)
	}
	// Reads go through a version: keys to names, dropped fields hidden,
	// defaults and zero counters for what the document never had.
	got := v2.Read(st)
	want := map[string]any{"at": nil, "color": "red", "fullName": "Ada L.", "hits": int64(2), "meta": nil, "ok": nil,
		"score": nil, "title": "t", "total": float64(0)}
	if len(got) != len(want) {
		t.Fatalf("v2 reads %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("v2 reads %s = %v, want %v", k, got[k], v)
		}
	}
	old := root.Read(st)
	if old["name"] != "Ada L." || old["age"] != int64(3) || old["total"] != float64(0) {
		t.Errorf("the root reads %v", old)
	}
	st0, _ := crdt.NewState(g)
	if v2.Read(st0)["color"] != "grey" {
		t.Errorf("a document without color reads %v, want the default", v2.Read(st0)["color"])
	}
	if f, ok := v2.FieldByKey("name"); !ok || f.Name != "fullName" {
		t.Errorf("FieldByKey(name) = %+v, %v", f, ok)
	}
}
