package store

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// DocData calls fn for each document of the collection with the given schema ID,
// in ID order, with its encoded state (crdt.State encoding), stopping at the first
// error fn returns. data is valid only during the call. A document that has
// merged only its genesis block has no stored state; DocData computes and
// encodes it (about 7 µs a document), which StoredStates does not.
func (tx *Tx) DocData(schema cid.Cid, fn func(id string, data []byte) error) error {
	return tx.docRecords(schema, "", "", func(id string, rec []byte) error {
		data, err := docData(id, rec)
		if err != nil {
			return err
		}
		return fn(id, data)
	})
}

// docData returns the encoded state of document id, whose record is rec.
func docData(id string, rec []byte) ([]byte, error) {
	doc, err := cid.Decode(id)
	if err != nil {
		return nil, fmt.Errorf("store: document key %q: %w", id, err)
	}
	data, err := encodedState(rec, doc)
	if err != nil {
		return nil, fmt.Errorf("store: state of %s: %w", id, err)
	}
	return data, nil
}

// StoredStates calls fn for each document of the collection with the given
// schema ID, in ID order, with the hash of its sorted heads (crdt.HeadsHash) and
// its encoded state as stored (crdt.State encoding), stopping at the first error
// fn returns. A document that has merged only its genesis block has no stored
// state: its state is nil, and its heads hash names its genesis alone, whose CID
// is the document's ID. state is valid only during the call. StoredStates
// computes no state: what it reads is what two replicas compare to find whether
// they converged (Collection.Fingerprint), at the cost of reading the records.
func (tx *Tx) StoredStates(schema cid.Cid, fn func(id string, headsHash [32]byte, state []byte) error) error {
	return tx.docRecords(schema, "", "", func(id string, rec []byte) error {
		kind, payload, err := splitRecord(rec)
		var state []byte
		switch {
		case err != nil:
		case kind == recordState:
			_, state, err = splitState(payload)
		case kind != recordGenesis:
			err = fmt.Errorf("document record of unknown kind %q", kind)
		}
		if err != nil {
			return fmt.Errorf("store: document %s: %w", id, err)
		}
		return fn(id, [32]byte(rec[:headsHashLen]), state)
	})
}
