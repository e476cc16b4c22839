package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

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
//   - recordState: the document's heads (a uvarint count, then each CID's bytes),
//     which the blocks server and catch-up read without decoding the state, then
//     the encoded crdt.State, once the document has merged more.
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

// stateRecord returns the record of a document whose merged state is st, and
// whose encoding is data when the caller has it (else nil).
func stateRecord(st *crdt.State, data []byte) ([]byte, error) {
	if data == nil {
		var err error
		if data, err = st.Encode(); err != nil {
			return nil, err
		}
	}
	payload := binary.AppendUvarint(nil, uint64(len(st.Heads)))
	for _, h := range st.Heads {
		payload = append(payload, h.Bytes()...)
	}
	return newRecord(st.Heads, recordState, append(payload, data...)), nil
}

// splitRecord returns the kind and payload of a document record.
func splitRecord(rec []byte) (byte, []byte, error) {
	if len(rec) < headsHashLen+1 {
		return 0, nil, errShortRecord
	}
	return rec[headsHashLen], rec[headsHashLen+1:], nil
}

// splitState returns the heads and the encoded state in a recordState payload.
func splitState(payload []byte) ([]cid.Cid, []byte, error) {
	n, k := binary.Uvarint(payload)
	if k <= 0 || n == 0 || n > uint64(len(payload)) {
		return nil, nil, errors.New("malformed heads in document record")
	}
	payload = payload[k:]
	heads := make([]cid.Cid, n)
	for i := range heads {
		k, c, err := cid.CidFromBytes(payload)
		if err != nil {
			return nil, nil, fmt.Errorf("malformed heads in document record: %w", err)
		}
		heads[i], payload = c, payload[k:]
	}
	return heads, payload, nil
}

// recordHeads returns the heads in the record of document doc.
func recordHeads(rec []byte, doc cid.Cid) ([]cid.Cid, error) {
	kind, payload, err := splitRecord(rec)
	if err != nil {
		return nil, err
	}
	switch kind {
	case recordState:
		heads, _, err := splitState(payload)
		return heads, err
	case recordGenesis:
		return []cid.Cid{doc}, nil
	}
	return nil, fmt.Errorf("document record of unknown kind %q", kind)
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
		_, data, err := splitState(payload)
		if err != nil {
			return nil, err
		}
		return crdt.DecodeStoredState(data)
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
		_, data, err := splitState(payload)
		return data, err
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
	var heads []cid.Cid
	switch kind {
	case recordState:
		var data []byte
		if heads, data, err = splitState(payload); err != nil {
			return nil, err
		}
		if st, err = crdt.DecodeState(data); err == nil && !slices.EqualFunc(heads, st.Heads, cid.Cid.Equals) {
			return nil, errors.New("heads in the record differ from the state's")
		}
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
