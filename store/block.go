package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// Has reports whether block b is stored. It takes the block, not its CID, because
// the block says where to look: a genesis is stored if its document is, a change
// if its block record is, so Has reads one record. To learn whether a block known
// only by its CID is stored, read it with BlockData (ErrNotFound when it is not).
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

// Block returns the stored block c, decoded: BlockData and crdt.DecodeStored in
// one, for a caller that needs the block's fields (its parents, height, schema).
// It fails with an error matching ErrNotFound when c is not stored. A block Apply
// stored in this transaction comes back as the Block passed to Apply; the caller
// must not modify it.
func (tx *Tx) Block(c cid.Cid) (*crdt.Block, error) {
	if b, ok := tx.applied[c.KeyString()]; ok {
		return b, nil
	}
	data, err := tx.BlockData(c)
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", c, err)
	}
	b, err := crdt.DecodeStored(data, c)
	if err != nil {
		return nil, fmt.Errorf("store: stored block %s: %w", c, err)
	}
	return b, nil
}

// BlockData returns the stored bytes (dag-cbor) of block c, whatever its kind, or
// ErrNotFound when c is not stored. It decodes nothing: it is for sending a block
// on, and for learning whether a block known only by its CID is stored. The
// caller owns the returned slice.
func (tx *Tx) BlockData(c cid.Cid) ([]byte, error) {
	data, err := tx.get(key(prefixBlock, c.Bytes()))
	if errors.Is(err, ErrNotFound) {
		return tx.soleGenesis(c)
	}
	return data, err
}

// soleGenesis returns the bytes of c if it is the genesis of a document that has
// merged nothing else, whose record is then the genesis's only copy; else
// ErrNotFound. It looks in each collection, as the CID does not say which.
func (tx *Tx) soleGenesis(c cid.Cid) ([]byte, error) {
	id := c.String()
	for _, schemas := range [][]cid.Cid{tx.store.knownSchemas(), tx.newSchemas} {
		for _, schema := range schemas {
			rec, err := tx.get(docKey(schema, id))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			// A document with a stored state has its genesis in a block record.
			if kind, payload, err := splitRecord(rec); err == nil && kind == recordGenesis {
				return payload, nil
			}
			return nil, ErrNotFound
		}
	}
	return nil, ErrNotFound
}

// GenesisData returns the bytes of the genesis block of document doc, or
// ErrNotFound when doc is not a stored document: it is BlockData for a document
// ID, and differs from it in refusing the CID of a block that is not a genesis,
// without decoding it. The returned slice must not be modified; the caller may
// keep it.
func (tx *Tx) GenesisData(doc cid.Cid) ([]byte, error) {
	if b, ok := tx.applied[doc.KeyString()]; ok && b.IsGenesis() {
		return b.Data, nil
	}
	item, err := tx.txn.Get(key(prefixBlock, doc.Bytes()))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return tx.soleGenesis(doc)
	case err != nil:
		return nil, err
	case item.UserMeta() != metaGenesis:
		return nil, ErrNotFound
	}
	return valueCopy(item)
}
