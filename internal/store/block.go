package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// Every lookup of a block names the collection the caller expects it in, by
// schema ID, so that a genesis that is its document's only block, which lives in
// its document record alone, is found with one read of that record: no lookup
// tries the collections one by one (see the package doc, "Finding a block by
// CID"). A block of another collection is not found.

// Has reports whether block b is stored. It takes the block, not its CID, because
// the block says where to look: a genesis is stored if its document record is
// (in the collection b.Schema names), a change if its block record is, so Has
// reads one record. To learn whether a block known only by its CID is stored,
// read it with BlockData (ErrNotFound when it is not).
func (tx *Tx) Has(b *crdt.Block) (bool, error) {
	if _, ok := tx.applied[b.CID.KeyString()]; ok {
		return true, nil
	}
	if b.IsGenesis() {
		// A genesis is stored with its document's record, which exists from then on.
		return tx.has(docKey(b.Schema, b.CID.String()))
	}
	return tx.has(key(prefixBlock, b.CID.Bytes()))
}

// Block returns the stored block c of the collection with the given schema ID,
// decoded: BlockData and crdt.DecodeStored in one, for a caller that needs the
// block's fields (its parents, height). It fails with an error matching
// ErrNotFound when c is not stored in that collection. A block Apply stored in
// this transaction comes back as the Block passed to Apply; the caller must not
// modify it.
func (tx *Tx) Block(schema, c cid.Cid) (*crdt.Block, error) {
	if b, ok := tx.applied[c.KeyString()]; ok {
		if !b.Schema.Equals(schema) {
			return nil, fmt.Errorf("block %s: %w", c, ErrNotFound)
		}
		return b, nil
	}
	data, err := tx.BlockData(schema, c)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", c, err)
	}
	b, err := crdt.DecodeStored(data, c)
	if err != nil {
		return nil, fmt.Errorf("store: stored block %s: %w", c, err)
	}
	return b, nil
}

// BlockData returns the stored bytes (dag-cbor) of block c, whatever its kind, of
// the collection with the given schema ID, or ErrNotFound when c is not stored in
// that collection. It decodes nothing: it is for sending a block on, and for
// learning whether a block known only by its CID is stored. It reads the block
// record and, when there is none, the document record c would have as a
// document of that collection: two reads at most, whatever the number of
// collections. The caller owns the returned slice.
func (tx *Tx) BlockData(schema, c cid.Cid) ([]byte, error) {
	item, err := tx.txn.Get(key(prefixBlock, c.Bytes()))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return tx.soleGenesis(schema, c)
	case err != nil:
		return nil, err
	}
	return blockOf(item, schema)
}

// GenesisData returns the bytes of the genesis block of document doc of the
// collection with the given schema ID, or ErrNotFound when doc is not a stored
// document of that collection: it is BlockData for a document ID, and differs
// from it in refusing the CID of a block that is not a genesis, without decoding
// it. The returned slice must not be modified; the caller may keep it.
func (tx *Tx) GenesisData(schema, doc cid.Cid) ([]byte, error) {
	var data []byte
	err := tx.genesisValue(schema, doc, doc.String(), func(v []byte) error {
		data = slices.Clone(v)
		return nil
	})
	return data, err
}

// genesisValue is GenesisData for a caller that only looks at the bytes: it
// calls fn with them, valid only during fn, and returns fn's error. id is
// doc's string form. It reads the block record, which a document with a state
// has, then the document record, which holds the genesis of a document that
// merged no other block: a miss of the first costs little.
func (tx *Tx) genesisValue(schema, doc cid.Cid, id string, fn func(data []byte) error) error {
	if b, ok := tx.applied[doc.KeyString()]; ok && b.IsGenesis() && b.Schema.Equals(schema) {
		return fn(b.Data)
	}
	item, err := tx.txn.Get(key(prefixBlock, doc.Bytes()))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return tx.soleGenesisValue(schema, id, fn)
	case err != nil:
		return err
	case item.UserMeta() != metaGenesis:
		return ErrNotFound
	}
	return value(item, func(v []byte) error {
		if !namesSchema(v, schema) {
			return ErrNotFound
		}
		return fn(v)
	})
}

// blockOf returns a copy of the bytes of block record item if the block belongs
// to the collection with the given schema ID, else ErrNotFound.
func blockOf(item *badger.Item, schema cid.Cid) ([]byte, error) {
	data, err := valueCopy(item)
	if err != nil {
		return nil, err
	}
	if !namesSchema(data, schema) {
		return nil, ErrNotFound
	}
	return data, nil
}

// schemaTail is what a block's bytes hold before its schema ID's bytes, at their
// end: the map key "schema" (a text string of 6 bytes), then the link (tag 42, a
// byte string of 37 bytes: the multibase prefix 0 and the CID). In dag-cbor's key
// order (shorter keys first, then bytewise) "schema" is the last of a block's keys
// and is always present, so a stored block, which is canonical, ends with it.
var schemaTail = []byte{0x66, 's', 'c', 'h', 'e', 'm', 'a', 0xd8, 0x2a, 0x58, 0x25, 0x00}

// namesSchema reports whether the stored block data names the collection with the
// given schema ID, without decoding it: see schemaTail.
func namesSchema(data []byte, schema cid.Cid) bool {
	id := schema.Bytes()
	n := len(data) - len(id)
	return n >= len(schemaTail) && bytes.Equal(data[n:], id) && bytes.Equal(data[n-len(schemaTail):n], schemaTail)
}

// soleGenesis returns the bytes of c if it is the genesis of a document of the
// collection with the given schema ID that has merged nothing else, whose record
// is then the genesis's only copy; else ErrNotFound.
func (tx *Tx) soleGenesis(schema, c cid.Cid) ([]byte, error) {
	var data []byte
	err := tx.soleGenesisValue(schema, c.String(), func(v []byte) error {
		data = slices.Clone(v)
		return nil
	})
	return data, err
}

// soleGenesisValue is soleGenesis for the document whose ID is id, calling fn
// with the bytes, valid only during fn, and returning fn's error.
func (tx *Tx) soleGenesisValue(schema cid.Cid, id string, fn func(data []byte) error) error {
	item, err := tx.txn.Get(docKey(schema, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return value(item, func(rec []byte) error {
		// A document with a stored state has its genesis in a block record.
		if kind, payload, err := splitRecord(rec); err == nil && kind == recordGenesis {
			return fn(payload)
		}
		return ErrNotFound
	})
}
