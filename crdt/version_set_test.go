package crdt_test

import (
	"reflect"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
)

// setVersion is a later version of testSchema that adds an add-wins set and a
// relation, keyed as a patch keys added fields, and the inverse side of a
// relation.
func setVersion() *crdt.Schema {
	v := laterVersion()
	v.Version = testCID("version with a set")
	v.Fields = append([]crdt.Field{
		{Name: "author", Key: "author@Author/lww", Kind: crdt.KindRelation, Relation: "Author"},
		{Name: "books", Key: "books@[Book]/lww", Kind: crdt.KindRelation, Relation: "Book", List: true},
	}, v.Fields...)
	v.Fields = append(v.Fields, crdt.Field{Name: "tags", Key: "tags@[String!]/set", Kind: crdt.KindString,
		List: true, ItemsRequired: true, AddWinsSet: true})
	return v
}

// TestSetUnderVersion: a set added by a later version is written in sadd and
// srem under its key, reads as an empty slice until added to, and is kept (not
// shown) by a reader of the root version; its name is not its key.
func TestSetUnderVersion(t *testing.T) {
	root, v := testSchema(), setVersion()
	g := mustGenesis(t, root, map[string]any{"name": "a", "title": "t"}, nil)
	st := mustState(t, g)
	if got := v.Read(st)["tags"]; !reflect.DeepEqual(got, []string{}) {
		t.Fatalf("unset set reads %#v, want an empty slice", got)
	}
	if _, ok := v.Read(st)["books"]; ok {
		t.Fatal("the derived inverse side is read")
	}
	const key = "tags@[String!]/set"
	b, err := crdt.NewChange(v, st, map[string]any{key: []any{"x", "y"}}, nil, false, []byte("a set nonce"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.SAdd[key]) != 2 || len(b.Set) != 0 {
		t.Fatalf("sadd %v set %v, want the elements under the key", b.SAdd, b.Set)
	}
	mustMerge(t, st, b)
	b = mustChange(t, v, st, map[string]any{key: []any{"y"}}, nil, false)
	if len(b.SRem[key]) != 1 || len(b.SAdd) != 0 {
		t.Fatalf("srem %v sadd %v, want x removed under the key", b.SRem, b.SAdd)
	}
	mustMerge(t, st, b)
	if got := v.Read(st)["tags"]; !reflect.DeepEqual(got, []string{"y"}) {
		t.Fatalf("tags %#v, want [y]", got)
	}
	if _, ok := root.Read(st)["tags"]; ok || st.Fields[key].Value == nil {
		t.Fatal("the root version shows the set, or the state lost it")
	}
	// A block keyed by the field's name, not its key, is refused.
	bad := &crdt.Block{Schema: v.ID, Version: v.Version, Doc: g.CID, Prev: st.Heads, Height: st.Height + 1,
		SAdd: map[string][]any{"tags": {"z"}}, Nonce: make([]byte, crdt.MinNonceLen)}
	if err := bad.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v.Check(bad), crdt.ErrInvalidBlock, `"tags": unknown field`)
}
