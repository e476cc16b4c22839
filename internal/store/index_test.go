package store_test

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// TestIndexEntryValues: an index entry's document ID is read back from its
// key, in either direction. The entries this version writes hold nothing
// else; one written before layout 7, which holds the ID as its value too,
// reads and checks alike, and one whose value names another document fails
// Check.
func TestIndexEntryValues(t *testing.T) {
	s := openMem(t)
	user, _ := testSchemas(t)
	var ixs []store.Index
	for _, desc := range []bool{false, true} {
		ix, err := s.AddIndex(user.ID, map[bool]string{false: "asc", true: "desc"}[desc],
			[]store.IndexField{{Key: "name", Kind: crdt.KindString, Desc: desc}, {Key: "age", Kind: crdt.KindInt, Desc: desc}})
		if err != nil {
			t.Fatal(err)
		}
		if ready, err := s.BuildIndex(user.ID, ix.ID); err != nil || !ready {
			t.Fatalf("BuildIndex of an empty collection: %v, %v", ready, err)
		}
		ixs = append(ixs, ix)
	}
	var want []string
	for _, set := range []map[string]any{{"name": "a\x00b", "age": int64(3)}, {"name": "b"}, {"age": int64(-1)}} {
		g := genesis(t, user, set)
		apply(t, s, g)
		want = append(want, g.CID.String())
	}
	slices.Sort(want)

	// entries returns the documents ix's entries name, in ID order, and
	// the entries' keys and values.
	entries := func(ix store.Index) (docs []string, keys, values [][]byte) {
		err := s.View(func(tx *store.Tx) error {
			return tx.IndexEntries(ix, nil, nil, false, func(key []byte, doc func() (string, error)) error {
				id, err := doc()
				if err != nil {
					return err
				}
				docs = append(docs, id)
				k := append(binary.BigEndian.AppendUint32([]byte{'x'}, ix.ID), key...)
				v, err := tx.GetRaw(k)
				keys, values = append(keys, k), append(values, v)
				return err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(docs)
		return docs, keys, values
	}
	for _, ix := range ixs {
		docs, keys, values := entries(ix)
		if !slices.Equal(docs, want) {
			t.Fatalf("index %s names %v, want %v", ix.Name, docs, want)
		}
		for i, v := range values {
			if len(v) != 0 {
				t.Errorf("index %s: entry %x holds %q, want nothing", ix.Name, keys[i], v)
			}
		}
	}

	// Entries as an earlier layout wrote them: the document ID as the value.
	docs, keys, _ := entries(ixs[1])
	setValue := func(k []byte, v string) {
		t.Helper()
		if err := s.Update(func(tx *store.Tx) error { return tx.SetRaw(k, []byte(v)) }); err != nil {
			t.Fatal(err)
		}
	}
	byKey := map[string]string{}
	err := s.View(func(tx *store.Tx) error {
		return tx.IndexEntries(ixs[1], nil, nil, false, func(key []byte, doc func() (string, error)) error {
			id, err := doc()
			byKey[string(key)] = id
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		setValue(k, byKey[string(k[5:])])
	}
	if got, _, _ := entries(ixs[1]); !slices.Equal(got, docs) {
		t.Errorf("entries holding their document IDs name %v, want %v", got, docs)
	}
	if err := check(s); err != nil {
		t.Fatalf("Check of entries holding their document IDs: %v", err)
	}
	other := byKey[string(keys[1][5:])]
	setValue(keys[0], other)
	if err := check(s); err == nil || !strings.Contains(err.Error(), other) {
		t.Fatalf("Check of an entry holding another document's ID: %v, want an error naming it", err)
	}
}
