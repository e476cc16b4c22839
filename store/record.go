package store

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// A document record is the hash of the document's sorted heads (crdt.HeadsHash),
// which set reconciliation reads alone, then a kind byte and the document's state
// in one of two forms:
//
//   - recordGenesis: the bytes of the genesis block, for a document that has merged
//     nothing else. Its state is crdt.NewState of that block, computed when read, so
//     creating a document encodes no state;
//   - recordState: the encoded crdt.State, once the document has merged more.
const (
	headsHashLen  = 32
	recordGenesis = 'g'
	recordState   = 's'
)

// errShortRecord reports a document record too short to hold its header.
var errShortRecord = errors.New("document record too short")

func newRecord(heads []cid.Cid, kind byte, payload []byte) []byte {
	hh := crdt.HeadsHash(heads)
	rec := make([]byte, 0, headsHashLen+1+len(payload))
	rec = append(rec, hh[:]...)
	rec = append(rec, kind)
	return append(rec, payload...)
}

// genesisRecord returns the record of a document that has merged only its genesis g.
func genesisRecord(g *crdt.Block) []byte {
	return newRecord([]cid.Cid{g.CID}, recordGenesis, g.Data)
}

// stateRecord returns the record of a document whose merged state is st.
func stateRecord(st *crdt.State) ([]byte, error) {
	data, err := st.Encode()
	if err != nil {
		return nil, err
	}
	return newRecord(st.Heads, recordState, data), nil
}

// splitRecord returns the kind and payload of a document record.
func splitRecord(rec []byte) (byte, []byte, error) {
	if len(rec) < headsHashLen+1 {
		return 0, nil, errShortRecord
	}
	return rec[headsHashLen], rec[headsHashLen+1:], nil
}

// recordHeadsHash returns the heads hash of a document record.
func recordHeadsHash(rec []byte) ([32]byte, error) {
	var hh [32]byte
	if len(rec) < headsHashLen+1 {
		return hh, errShortRecord
	}
	copy(hh[:], rec)
	return hh, nil
}

// decodeDocRecord returns the state in the record of document doc.
func decodeDocRecord(rec []byte, doc cid.Cid) (*crdt.State, error) {
	kind, payload, err := splitRecord(rec)
	if err != nil {
		return nil, err
	}
	switch kind {
	case recordState:
		return crdt.DecodeStoredState(payload)
	case recordGenesis:
		g, err := crdt.DecodeStored(payload, doc)
		if err != nil {
			return nil, err
		}
		return crdt.NewState(g)
	}
	return nil, fmt.Errorf("document record of unknown kind %q", kind)
}

// encodedState returns the encoded state (crdt.State encoding) in the record of
// document doc. It aliases rec when the record holds the encoded state.
func encodedState(rec []byte, doc cid.Cid) ([]byte, error) {
	kind, payload, err := splitRecord(rec)
	if err != nil {
		return nil, err
	}
	if kind == recordState {
		return payload, nil
	}
	st, err := decodeDocRecord(rec, doc)
	if err != nil {
		return nil, err
	}
	return st.Encode()
}

// checkDocRecord decodes the record of document doc of the collection with the
// given schema ID with every check that does not need other records: canonical
// encodings, a genesis whose CID is doc, the schema and the heads hash.
func checkDocRecord(rec []byte, schema, doc cid.Cid) (*crdt.State, error) {
	kind, payload, err := splitRecord(rec)
	if err != nil {
		return nil, err
	}
	var st *crdt.State
	switch kind {
	case recordState:
		st, err = crdt.DecodeState(payload)
	case recordGenesis:
		var g *crdt.Block
		if g, err = crdt.Decode(payload); err == nil {
			if !g.CID.Equals(doc) {
				return nil, fmt.Errorf("genesis %s in the record of %s", g.CID, doc)
			}
			st, err = crdt.NewState(g)
		}
	default:
		return nil, fmt.Errorf("document record of unknown kind %q", kind)
	}
	if err != nil {
		return nil, err
	}
	if !st.Doc.Equals(doc) || !st.Schema.Equals(schema) {
		return nil, fmt.Errorf("record of %s in %s holds the state of %s in %s", doc, schema, st.Doc, st.Schema)
	}
	if hh := crdt.HeadsHash(st.Heads); !bytes.Equal(hh[:], rec[:headsHashLen]) {
		return nil, errors.New("heads hash does not match the heads")
	}
	return st, nil
}
