package store

import (
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

func docKey(schema cid.Cid, doc string) []byte {
	return key(prefixDoc, schema.Bytes(), []byte(doc))
}

// State returns the merged state of document doc of the collection with the given
// schema ID, decoded, or ErrNotFound (also for a document of another collection).
// The caller owns it and may modify it. Within a write transaction the document's
// state is decoded once, for this call and any Apply of its blocks that follows.
func (tx *Tx) State(schema, doc cid.Cid) (*crdt.State, error) {
	d, err := tx.changing(docKey(schema, doc.String()), doc)
	if err != nil {
		return nil, err
	}
	return d.st.Clone(), nil
}

// Heads returns the heads of document doc of the collection with the given schema
// ID, sorted by bytes, or ErrNotFound (also for a document of another collection).
// It is the cheap part of State: it reads the heads stored beside the state and
// decodes nothing else. The caller owns the returned slice.
func (tx *Tx) Heads(schema, doc cid.Cid) ([]cid.Cid, error) {
	k := docKey(schema, doc.String())
	if d, ok := tx.docs[string(k)]; ok {
		return slices.Clone(d.st.Heads), nil
	}
	rec, err := tx.get(k)
	if err != nil {
		return nil, err
	}
	heads, err := recordHeads(rec, doc)
	if err != nil {
		return nil, fmt.Errorf("store: heads of %s: %w", doc, err)
	}
	return heads, nil
}

// readDoc decodes the stored record k of document doc into a transaction entry.
func (tx *Tx) readDoc(k []byte, doc cid.Cid) (*txDoc, error) {
	rec, err := tx.get(k)
	if err != nil {
		return nil, err
	}
	st, err := decodeDocRecord(rec, doc)
	if err != nil {
		return nil, fmt.Errorf("store: state of %s: %w", doc, err)
	}
	d := &txDoc{st: st}
	if tx.write {
		d.entries = tx.entriesOf(st)
	}
	if kind, payload, _ := splitRecord(rec); kind == recordGenesis {
		d.genesis = payload
	}
	return d, nil
}

// changing returns the transaction's entry for the document whose record key is
// k, reading its state from the store the first time: a write transaction that
// reads a state and then applies a change to it decodes the state once.
func (tx *Tx) changing(k []byte, doc cid.Cid) (*txDoc, error) {
	if d, ok := tx.docs[string(k)]; ok {
		return d, nil
	}
	d, err := tx.readDoc(k, doc)
	if err != nil {
		return nil, err
	}
	tx.track(k, d)
	return d, nil
}

// track records d as the transaction's entry for the document whose record key is k.
func (tx *Tx) track(k []byte, d *txDoc) {
	if tx.docs == nil {
		tx.docs = make(map[string]*txDoc)
	}
	tx.docs[string(k)] = d
}

// Docs calls fn for each document of the collection with the given schema ID whose
// ID is at least from (as strings), in ID order, with its decoded state, stopping
// at the first error fn returns. Deleted documents are included; their state says
// so. fn owns st. Of the three scans of a collection (Docs, DocData, HeadsHashes),
// it is the one that decodes.
func (tx *Tx) Docs(schema cid.Cid, from string, fn func(id string, st *crdt.State) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(append(prefix, from...)); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		var st *crdt.State
		err := value(item, func(rec []byte) error {
			doc, err := cid.Decode(id)
			if err != nil {
				return err
			}
			st, err = decodeDocRecord(rec, doc)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: state of %s: %w", id, err)
		}
		if err := fn(id, st); err != nil {
			return err
		}
	}
	return nil
}

// HeadsHashes calls fn for each document of the collection with the given schema
// ID, in ID order, with the hash of its sorted heads (crdt.HeadsHash): the summary
// that set reconciliation compares, stopping at the first error fn returns. It
// reads only the start of each document record.
func (tx *Tx) HeadsHashes(schema cid.Cid, fn func(id string, hash [32]byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		var hash [32]byte
		err := value(item, func(rec []byte) error {
			var err error
			hash, err = recordHeadsHash(rec)
			if err != nil {
				return fmt.Errorf("store: document %s: %w", item.Key()[len(prefix):], err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := fn(string(item.Key()[len(prefix):]), hash); err != nil {
			return err
		}
	}
	return nil
}

// DocData calls fn for each document of the collection with the given schema ID,
// in ID order, with its encoded state (crdt.State encoding), stopping at the first
// error fn returns. data is valid only during the call. A document that has merged only its genesis block has no stored
// state; DocData computes and encodes it.
func (tx *Tx) DocData(schema cid.Cid, fn func(id string, data []byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		err := value(item, func(rec []byte) error {
			doc, err := cid.Decode(id)
			if err != nil {
				return fmt.Errorf("store: document key %q: %w", id, err)
			}
			data, err := encodedState(rec, doc)
			if err != nil {
				return fmt.Errorf("store: state of %s: %w", id, err)
			}
			return fn(id, data)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ScanDocs calls fn for each document of the collection with the given schema
// ID whose ID is at least from (as strings), in ID order, stopping at the first
// error fn returns, with the values of the fields named in names (values[i]
// for names[i], nil when absent or cleared; values is valid only during the
// call), whether the document is deleted, and state, which decodes its whole
// state (the caller's). It reads only the named fields from each record where
// it can (crdt.ScanGenesis, crdt.ScanState): the fast path of a filter that
// tests a few fields of many documents, which decodes a document's state only
// when the filter matches.
func (tx *Tx) ScanDocs(schema cid.Cid, from string, names []string, fn func(id string, deleted bool, values []any, state func() (*crdt.State, error)) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	// Values are read in place, not prefetched: a prefetch copies each one.
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	values := make([]any, len(names))
	for it.Seek(append(prefix, from...)); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		err := value(item, func(rec []byte) error {
			state := func() (*crdt.State, error) {
				doc, err := cid.Decode(id)
				if err != nil {
					return nil, err
				}
				return decodeDocRecord(rec, doc)
			}
			deleted, err := scanRecord(rec, names, values)
			if err != nil {
				st, err := state()
				if err != nil {
					return err
				}
				for i, name := range names {
					values[i], _ = st.Value(name)
				}
				deleted = st.Deleted
			}
			return fn(id, deleted, values, state)
		})
		if err != nil {
			return fmt.Errorf("store: state of %s: %w", id, err)
		}
	}
	return nil
}

// scanRecord reads the values of the named fields from a document record
// without decoding its state.
func scanRecord(rec []byte, names []string, values []any) (deleted bool, err error) {
	kind, payload, err := splitRecord(rec)
	if err != nil {
		return false, err
	}
	switch kind {
	case recordGenesis:
		return false, crdt.ScanGenesis(payload, names, values)
	case recordState:
		_, data, err := splitState(payload)
		if err != nil {
			return false, err
		}
		return crdt.ScanState(data, names, values)
	}
	return false, fmt.Errorf("document record of unknown kind %q", kind)
}
