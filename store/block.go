package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// HasBlock reports whether the block c is stored.
func (tx *Tx) HasBlock(c cid.Cid) (bool, error) {
	if _, ok := tx.applied[c.KeyString()]; ok {
		return true, nil
	}
	if ok, err := tx.has(key(prefixBlock, c.Bytes())); ok || err != nil {
		return ok, err
	}
	_, err := tx.soleGenesis(c)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Has reports whether block b is stored. It is HasBlock for a block at hand, which
// says where to look.
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

// Block returns the stored block c, decoded. It fails with ErrNotFound when c is
// not stored.
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

// BlockData returns the stored bytes of block c, or ErrNotFound.
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
// ErrNotFound when doc is not a stored document.
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

// blockSize returns the length of stored block c without reading it, and whether it
// is a genesis block, or ErrNotFound.
func (tx *Tx) blockSize(c cid.Cid) (int, bool, error) {
	if b, ok := tx.applied[c.KeyString()]; ok {
		return len(b.Data), b.IsGenesis(), nil
	}
	item, err := tx.txn.Get(key(prefixBlock, c.Bytes()))
	if errors.Is(err, badger.ErrKeyNotFound) {
		g, err := tx.soleGenesis(c)
		return len(g), err == nil, err
	}
	if err != nil {
		return 0, false, err
	}
	return int(item.ValueSize()), item.UserMeta() == metaGenesis, nil
}
