package store

import (
	"errors"
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
	d := &txDoc{st: st, item: [32]byte(rec[:headsHashLen])}
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
// so. fn owns st. Of the scans of a collection (Docs, ScanDocs, DocData,
// StoredStates, HeadsHashes), it is the one that decodes every state.
func (tx *Tx) Docs(schema cid.Cid, from string, fn func(id string, st *crdt.State) error) error {
	return tx.docRecords(schema, from, "", func(id string, rec []byte) error {
		doc, err := cid.Decode(id)
		if err != nil {
			return fmt.Errorf("store: state of %s: %w", id, err)
		}
		st, err := decodeDocRecord(rec, doc)
		if err != nil {
			return fmt.Errorf("store: state of %s: %w", id, err)
		}
		return fn(id, st)
	})
}

// HeadsHashes calls fn for each document of the collection with the given schema
// ID whose ID is at least from (as strings; "": every one), in ID order, with
// the hash of its sorted heads (crdt.HeadsHash): the summary that set
// reconciliation compares, stopping at the first error fn returns. It reads only
// the start of each document record.
func (tx *Tx) HeadsHashes(schema cid.Cid, from string, fn func(id string, hash [32]byte) error) error {
	return tx.headsHashes(schema, from, "", fn)
}

// headsHashes is HeadsHashes of the documents whose ID is also below to ("":
// no bound).
func (tx *Tx) headsHashes(schema cid.Cid, from, to string, fn func(id string, hash [32]byte) error) error {
	return tx.docRecords(schema, from, to, func(id string, rec []byte) error {
		hash, err := recordHeadsHash(rec)
		if err != nil {
			return fmt.Errorf("store: document %s: %w", id, err)
		}
		return fn(id, hash)
	})
}

// docRecords calls fn for each document of the collection with the given schema
// ID whose ID is at least from and below to (as strings; from "": from the
// first, to "": to the last), in ID order, with its record, stopping at the
// first error fn returns, which it returns as it is. rec is valid only during
// the call.
func (tx *Tx) docRecords(schema cid.Cid, from, to string, fn func(id string, rec []byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(append(slices.Clip(prefix), from...)); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		if to != "" && id >= to {
			return nil
		}
		if err := value(item, func(rec []byte) error { return fn(id, rec) }); err != nil {
			return err
		}
	}
	return nil
}

// ScanDocs calls fn for each document of the collection with the given schema
// ID whose ID is at least from (as strings), in ID order, or with reverse, at
// most from ("": every one) in reverse ID order, stopping at the first error fn
// returns, with the values of the fields keyed names (values[i] for
// names[i], nil when absent, crdt.Null when cleared; values is valid only during the
// call), whether the document is deleted, and read, which reads the values of
// other fields of the same document into out (valid during the call). It reads
// only the named fields from each record where it can (crdt.ScanGenesis,
// crdt.ScanState), without decoding the document's state: the fast path of a
// query, which tests a few fields of many documents and reads all the fields
// of those that match.
func (tx *Tx) ScanDocs(schema cid.Cid, from string, reverse bool, names []string, fn func(id string, deleted bool, values []any, read func(names []string, out []any) error) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	// Values are read in place, not prefetched: a prefetch copies each one.
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: reverse})
	defer it.Close()
	values := make([]any, len(names))
	start := append(slices.Clone(prefix), from...)
	if reverse && from == "" {
		start = append(start, 0xFF) // after every ID, which is text
	}
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		err := value(item, func(rec []byte) error {
			read := func(names []string, out []any) error {
				_, err := recordValues(rec, id, names, out)
				return err
			}
			deleted, err := recordValues(rec, id, names, values)
			if err != nil {
				return err
			}
			return fn(id, deleted, values, read)
		})
		if err != nil {
			return fmt.Errorf("store: state of %s: %w", id, err)
		}
	}
	return nil
}

// DocValues reads the values of the fields keyed names of each document of
// docs (document IDs) of the collection with the given schema ID into out
// (out[i][j] for names[j] of docs[i], nil when absent, crdt.Null when
// cleared; each out[i] as long as names) and whether it is deleted into
// deleted[i], as ScanDocs does for each document it scans; ErrNotFound for an
// unknown document. It is the point read of a query that an index answers,
// most of such a query's time: no state is decoded where the record can be
// read field by field.
func (tx *Tx) DocValues(schema cid.Cid, docs []string, names []string, out [][]any, deleted []bool) error {
	return tx.docValues(key(prefixDoc, schema.Bytes()), docs, names, out, deleted)
}

// docValues is DocValues on the calling goroutine. prefix is the records'
// key prefix, whose slice docValues appends each document's key to.
func (tx *Tx) docValues(prefix []byte, docs []string, names []string, out [][]any, deleted []bool) error {
	k, n := prefix, len(prefix)
	for i, doc := range docs {
		k = append(k[:n], doc...)
		if d, ok := tx.docs[string(k)]; ok {
			for j, name := range names {
				out[i][j] = d.st.Stored(name)
			}
			deleted[i] = d.st.Deleted
			continue
		}
		item, err := tx.txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		err = value(item, func(rec []byte) error {
			deleted[i], err = recordValues(rec, doc, names, out[i])
			return err
		})
		if err != nil {
			return fmt.Errorf("store: state of %s: %w", doc, err)
		}
	}
	return nil
}

// recordValues reads the values of the named fields from the record of
// document id, without decoding its state where it can. Strings are copies.
func recordValues(rec []byte, id string, names []string, out []any) (deleted bool, err error) {
	if deleted, err = scanRecord(rec, names, out); err == nil {
		return deleted, nil
	}
	doc, err := cid.Decode(id)
	if err != nil {
		return false, err
	}
	st, err := decodeDocRecord(rec, doc)
	if err != nil {
		return false, err
	}
	for i, name := range names {
		out[i] = st.Stored(name)
	}
	return st.Deleted, nil
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
		if len(names) == 0 {
			return false, nil // a genesis-only document is live, and nothing else is asked
		}
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
