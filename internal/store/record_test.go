package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// rawRecord returns the stored record of document doc.
func rawRecord(tb testing.TB, s *store.Store, schemaID, doc cid.Cid) []byte {
	tb.Helper()
	var rec []byte
	err := s.View(func(tx *store.Tx) error {
		var err error
		rec, err = tx.GetRaw(store.DocRecordKey(schemaID, doc))
		return err
	})
	if err != nil {
		tb.Fatalf("record of %s: %v", doc, err)
	}
	return rec
}

// readViews returns what every read of a document gives: its state (State and
// Docs), its encoded state (DocData) and its heads hash (HeadsHashes).
func readViews(tb testing.TB, s *store.Store, schemaID, doc cid.Cid) (st, listed *crdt.State, data []byte, hh [32]byte) {
	tb.Helper()
	err := s.View(func(tx *store.Tx) error {
		var err error
		if st, err = tx.State(schemaID, doc); err != nil {
			return err
		}
		heads, err := tx.Heads(schemaID, doc)
		if err != nil {
			return err
		}
		if !slices.EqualFunc(heads, st.Heads, cid.Cid.Equals) {
			tb.Errorf("Heads gives %v, the state has %v", heads, st.Heads)
		}
		if err := tx.Docs(schemaID, "", func(id string, s *crdt.State) error {
			if id == doc.String() {
				listed = s
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.DocData(schemaID, func(id string, d []byte) error {
			if id == doc.String() {
				data = slices.Clone(d)
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.HeadsHashes(schemaID, "", func(id string, h [32]byte) error {
			if id == doc.String() {
				hh = h
			}
			return nil
		})
	})
	if err != nil {
		tb.Fatalf("reading %s: %v", doc, err)
	}
	return st, listed, data, hh
}

// A document that has merged only its genesis keeps the genesis as its state; it
// reads exactly like a stored state, and its first change stores the state.
func TestGenesisOnlyDocumentRecord(t *testing.T) {
	user, _ := testSchemas(t)
	g := genesis(t, user, map[string]any{"name": "Ada", "age": int64(36)})
	c := change(t, user, localState(t, g), map[string]any{"age": int64(37)}, map[string]any{"hits": int64(2)})
	genesisOnly, changed := openMem(t), openMem(t)
	apply(t, genesisOnly, g)
	apply(t, changed, g, c)
	for _, tc := range []struct {
		name string
		s    *store.Store
		kind byte
		want *crdt.State
	}{
		{"genesis only", genesisOnly, 'g', localState(t, g)},
		{"after a change", changed, 's', localState(t, g, c)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := rawRecord(t, tc.s, user.ID, g.CID)
			if len(rec) < 33 || rec[32] != tc.kind {
				t.Fatalf("record kind %q, want %q", rec[32:min(33, len(rec))], tc.kind)
			}
			want := encodeState(t, tc.want)
			st, listed, data, hh := readViews(t, tc.s, user.ID, g.CID)
			if !bytes.Equal(encodeState(t, st), want) {
				t.Errorf("State differs from the merged state")
			}
			if listed == nil || !bytes.Equal(encodeState(t, listed), want) {
				t.Errorf("Docs gives a different state")
			}
			if !bytes.Equal(data, want) {
				t.Errorf("DocData gives %x, want %x", data, want)
			}
			if hh != crdt.HeadsHash(tc.want.Heads) {
				t.Errorf("HeadsHashes gives %x, want the hash of %v", hh, tc.want.Heads)
			}
			// StoredStates gives the stored state alone: none for a
			// genesis-only document, which its heads hash names.
			var stored []byte
			var storedHash [32]byte
			calls := 0
			if err := tc.s.View(func(tx *store.Tx) error {
				return tx.StoredStates(user.ID, func(id string, hh [32]byte, state []byte) error {
					calls++
					if id != g.CID.String() {
						t.Errorf("StoredStates lists %s, want %s", id, g.CID)
					}
					stored, storedHash = slices.Clone(state), hh
					return nil
				})
			}); err != nil {
				t.Fatal(err)
			}
			wantStored := want
			if tc.kind == 'g' {
				wantStored = nil
			}
			if calls != 1 || !bytes.Equal(stored, wantStored) || (stored == nil) != (wantStored == nil) || storedHash != hh {
				t.Errorf("StoredStates: %d calls, state %x, heads hash %x; want 1 call, state %x, heads hash %x", calls, stored, storedHash, wantStored, hh)
			}
			if err := check(tc.s); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

// Check finds every kind of damage to a document record.
func TestCheckFindsDamagedRecords(t *testing.T) {
	user, post := testSchemas(t)
	g := genesis(t, user, map[string]any{"name": "Ada"})
	other := genesis(t, user, map[string]any{"name": "Bob"})
	c := change(t, user, localState(t, g), map[string]any{"age": int64(1)}, nil)
	stateRec := func(s *store.Store) []byte { return rawRecord(t, s, user.ID, g.CID) }
	for _, tc := range []struct {
		name    string
		changed bool                    // damage the record of g after c, else of g alone
		damage  func(rec []byte) []byte // nil: damage the genesis block's record instead
	}{
		{"truncated", false, func(rec []byte) []byte { return rec[:20] }},
		{"unknown kind", false, func(rec []byte) []byte { rec[32] = 'x'; return rec }},
		{"heads hash of other heads", false, func(rec []byte) []byte { rec[0] ^= 1; return rec }},
		{"heads hash of other heads, stored state", true, func(rec []byte) []byte { rec[31] ^= 1; return rec }},
		{"genesis of another document", false, func(rec []byte) []byte {
			hh := crdt.HeadsHash([]cid.Cid{g.CID})
			return append(append(append([]byte{}, hh[:]...), 'g'), other.Data...)
		}},
		{"genesis bytes damaged", false, func(rec []byte) []byte { rec[len(rec)-1] ^= 1; return rec }},
		{"state bytes not canonical", true, func(rec []byte) []byte { return append(rec, 0) }},
		{"heads beside the state not the state's", true, func(rec []byte) []byte { rec[32+1+1+10] ^= 1; return rec }},
		{"genesis record without its mark", false, nil},
		{"state of a genesis of another collection", false, func(rec []byte) []byte {
			p := genesis(t, post, map[string]any{"title": "t"})
			hh := crdt.HeadsHash([]cid.Cid{p.CID})
			return append(append(append([]byte{}, hh[:]...), 's'), encodeState(t, localState(t, p))...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openMem(t)
			apply(t, s, g)
			if tc.changed {
				apply(t, s, c)
			}
			if err := check(s); err != nil {
				t.Fatalf("Check before the damage: %v", err)
			}
			k, rec := store.DocRecordKey(user.ID, g.CID), stateRec(s)
			if tc.damage == nil { // rewrite the genesis block's record without the mark
				k, rec = store.BlockRecordKey(g.CID), g.Data
			} else {
				rec = tc.damage(rec)
			}
			err := s.Update(func(tx *store.Tx) error { return tx.SetRaw(k, rec) })
			if err != nil {
				t.Fatal(err)
			}
			if err := check(s); err == nil {
				t.Errorf("Check passed a damaged record")
			}
		})
	}
}

// A document's history applied in one transaction, parents first, gives the same
// records as one transaction per block; inside the transaction every read sees
// what Apply did.
func TestApplyHistoryInOneTransaction(t *testing.T) {
	user, _ := testSchemas(t)
	g := genesis(t, user, map[string]any{"name": "Ada"})
	a := change(t, user, localState(t, g), map[string]any{"age": int64(1)}, nil)
	b := change(t, user, localState(t, g), map[string]any{"name": "Bo"}, map[string]any{"hits": int64(3)})
	c := change(t, user, localState(t, g, a, b), nil, map[string]any{"hits": int64(4)})
	history := []*crdt.Block{g, a, b, c}
	want := localState(t, g, a, b, c)

	oneByOne, batched := openMem(t), openMem(t)
	apply(t, oneByOne, history...)
	err := batched.Update(func(tx *store.Tx) error {
		for i, blk := range history {
			if _, fresh, err := tx.Apply(blk); err != nil || !fresh {
				t.Fatalf("Apply %d: fresh %v, %v", i, fresh, err)
			}
			merged := localState(t, g, history[1:i+1]...)
			st, err := tx.State(user.ID, g.CID)
			if err != nil {
				return err
			}
			if !bytes.Equal(encodeState(t, st), encodeState(t, merged)) {
				t.Errorf("State after Apply %d differs from the merged state", i)
			}
			if heads, err := tx.Heads(user.ID, g.CID); err != nil || !slices.EqualFunc(heads, merged.Heads, cid.Cid.Equals) {
				t.Errorf("Heads after Apply %d: %v, %v; want %v", i, heads, err, merged.Heads)
			}
			st.Fields = nil // the caller's copy: changing it changes nothing stored
			var listed *crdt.State
			if err := tx.Docs(user.ID, "", func(_ string, s *crdt.State) error { listed = s; return nil }); err != nil {
				return err
			}
			if listed == nil || !bytes.Equal(encodeState(t, listed), encodeState(t, merged)) {
				t.Errorf("Docs after Apply %d does not list the merged state", i)
			}
			n := 0
			if err := tx.DocLog(g.CID, 0, func(store.LogEntry) error { n++; return nil }); err != nil {
				return err
			}
			if n != i {
				t.Errorf("DocLog after Apply %d lists %d blocks, want %d", i, n, i)
			}
			if _, fresh, err := tx.Apply(blk); err != nil || fresh {
				t.Errorf("second Apply %d in the transaction: fresh %v, %v", i, fresh, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, ref := rawRecord(t, batched, user.ID, g.CID), rawRecord(t, oneByOne, user.ID, g.CID); !bytes.Equal(got, ref) {
		t.Errorf("record after one transaction differs from one transaction per block")
	}
	if st := storedState(t, batched, user.ID, g.CID); !bytes.Equal(encodeState(t, st), encodeState(t, want)) {
		t.Errorf("stored state differs from the merged state")
	}
	if err := check(batched); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// A new document is one record, which holds its genesis block until the document
// merges another block; every lookup through its collection finds the genesis
// either way.
func TestGenesisLivesInItsDocumentRecord(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	g := genesis(t, user, map[string]any{"name": "Ada"})
	apply(t, s, g)
	lookups := func(when string, wantBlockRecord bool) {
		t.Helper()
		err := s.View(func(tx *store.Tx) error {
			_, err := tx.GetRaw(store.BlockRecordKey(g.CID))
			if got := err == nil; got != wantBlockRecord {
				t.Errorf("%s: block record stored %v, want %v", when, got, wantBlockRecord)
			}
			if ok, err := tx.Has(g); err != nil || !ok {
				t.Errorf("%s: Has %v, %v", when, ok, err)
			}
			if b, err := tx.Block(user.ID, g.CID); err != nil || !bytes.Equal(b.Data, g.Data) {
				t.Errorf("%s: Block: %v", when, err)
			}
			if data, err := tx.BlockData(user.ID, g.CID); err != nil || !bytes.Equal(data, g.Data) {
				t.Errorf("%s: BlockData: %v", when, err)
			}
			if data, err := tx.GenesisData(user.ID, g.CID); err != nil || !bytes.Equal(data, g.Data) {
				t.Errorf("%s: GenesisData: %v", when, err)
			}
			// An unknown genesis is not found.
			other := genesis(t, user, nil)
			if ok, err := tx.Has(other); err != nil || ok {
				t.Errorf("%s: Has of an unknown genesis: %v, %v", when, ok, err)
			}
			if _, err := tx.BlockData(user.ID, other.CID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: BlockData of an unknown genesis: %v", when, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := check(s); err != nil {
			t.Errorf("%s: Check: %v", when, err)
		}
	}
	lookups("genesis only", false)
	apply(t, s, change(t, user, localState(t, g), map[string]any{"age": int64(1)}, nil))
	lookups("after a change", true)
}

// A document stored in the same transaction as its collection is found by its CID
// in that transaction and, after the commit, in every later one.
func TestCollectionAndDocumentsInOneTransaction(t *testing.T) {
	user, _ := testSchemas(t)
	s := openEmpty(t, "", nil)
	def, err := schema.Encode(user)
	if err != nil {
		t.Fatal(err)
	}
	g := genesis(t, user, map[string]any{"name": "Ada"})
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.PutCollection(user.Name, def); err != nil {
			return err
		}
		if _, _, err := tx.Apply(g); err != nil {
			return err
		}
		if data, err := tx.BlockData(user.ID, g.CID); err != nil || !bytes.Equal(data, g.Data) {
			t.Errorf("BlockData in the transaction: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *store.Tx) error {
		data, err := tx.BlockData(user.ID, g.CID)
		if err == nil && !bytes.Equal(data, g.Data) {
			t.Errorf("BlockData after the commit differs")
		}
		return err
	})
	if err != nil {
		t.Fatalf("BlockData after the commit: %v", err)
	}
}

// TestDocDataInOrder: over many documents, genesis only and changed ones
// mixed, DocData gives each document once, in ID order, with the encoding of
// the state Docs gives; fn's error stops it at once; and a record that does not
// decode stops DocData and StoredStates after the documents before it, with an
// error naming that document.
func TestDocDataInOrder(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	const docs = 1_500
	var blocks []*crdt.Block
	for i := range docs {
		g := genesis(t, user, map[string]any{"name": fmt.Sprint("user ", i), "age": int64(i)})
		blocks = append(blocks, g)
		if i%3 == 0 {
			blocks = append(blocks, change(t, user, localState(t, g), map[string]any{"age": int64(i + 1)}, nil))
		}
	}
	apply(t, s, blocks...)
	var ids []string
	var want [][]byte
	err := s.View(func(tx *store.Tx) error {
		return tx.Docs(user.ID, "", func(id string, st *crdt.State) error {
			ids, want = append(ids, id), append(want, encodeState(t, st))
			return nil
		})
	})
	if err != nil || len(ids) != docs {
		t.Fatalf("Docs: %d documents, %v", len(ids), err)
	}
	dataOf := func(stopAt int) (got []string, err error) {
		err = s.View(func(tx *store.Tx) error {
			return tx.DocData(user.ID, func(id string, data []byte) error {
				if i := len(got); i < len(ids) && !bytes.Equal(data, want[i]) {
					t.Errorf("DocData of %s (the %dth) differs from the state Docs gives", id, i)
				}
				got = append(got, id)
				if len(got) == stopAt {
					return errStop
				}
				return nil
			})
		})
		return got, err
	}
	if got, err := dataOf(-1); err != nil || !slices.Equal(got, ids) {
		t.Errorf("DocData lists %d documents (%v), want the %d Docs lists, in order", len(got), err, len(ids))
	}
	if got, err := dataOf(700); !errors.Is(err, errStop) || len(got) != 700 {
		t.Errorf("stopped at 700: %d calls, %v", len(got), err)
	}
	// A record that is not a record: DocData gives the documents before it.
	bad := ids[1_000]
	doc, _ := cid.Decode(bad)
	if err := s.Update(func(tx *store.Tx) error { return tx.SetRaw(store.DocRecordKey(user.ID, doc), []byte{1, 2, 3}) }); err != nil {
		t.Fatal(err)
	}
	if got, err := dataOf(-1); err == nil || !strings.Contains(err.Error(), bad) || !slices.Equal(got, ids[:1_000]) {
		t.Errorf("with a bad record at 1,000: %d documents, %v; want the 1,000 before it and an error naming %s", len(got), err, bad)
	}
	var stored []string
	err = s.View(func(tx *store.Tx) error {
		return tx.StoredStates(user.ID, func(id string, _ [32]byte, _ []byte) error {
			stored = append(stored, id)
			return nil
		})
	})
	if err == nil || !strings.Contains(err.Error(), bad) || !slices.Equal(stored, ids[:1_000]) {
		t.Errorf("StoredStates with a bad record at 1,000: %d documents, %v; want the 1,000 before it and an error naming %s", len(stored), err, bad)
	}
}

var errStop = errors.New("stop")
