package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// Has reports whether block b is stored: whether it has a block record, which
// every stored block has. It reads one record. To learn whether a block known only
// by its CID is stored, read it with BlockData (ErrNotFound when it is not).
func (tx *Tx) Has(b *crdt.Block) (bool, error) {
	if _, ok := tx.applied[b.CID.KeyString()]; ok {
		return true, nil
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
// on, and for learning whether a block known only by its CID is stored. It reads
// the block record, and for a genesis that is its document's only block the
// document record the block record names: two reads at most, whatever the number
// of collections. The caller owns the returned slice.
func (tx *Tx) BlockData(c cid.Cid) ([]byte, error) {
	item, err := tx.blockRecord(c)
	if err != nil {
		return nil, err
	}
	if item.UserMeta() == metaGenesisInDoc {
		return tx.genesisInDoc(item, c)
	}
	return valueCopy(item)
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
	item, err := tx.blockRecord(doc)
	if err != nil {
		return nil, err
	}
	switch item.UserMeta() {
	case metaGenesis:
		return valueCopy(item)
	case metaGenesisInDoc:
		return tx.genesisInDoc(item, doc)
	}
	return nil, ErrNotFound
}

// blockRecord returns the block record of c, or ErrNotFound.
func (tx *Tx) blockRecord(c cid.Cid) (*badger.Item, error) {
	item, err := tx.txn.Get(key(prefixBlock, c.Bytes()))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	return item, err
}

// genesisInDoc returns the bytes of genesis g from its document's record, whose
// collection item, g's block record (metaGenesisInDoc), names.
func (tx *Tx) genesisInDoc(item *badger.Item, g cid.Cid) ([]byte, error) {
	var k []byte
	err := value(item, func(schema []byte) error {
		k = key(prefixDoc, schema, []byte(g.String()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	rec, err := tx.get(k)
	if errors.Is(err, ErrNotFound) {
		err = errors.New("no document record") // not ErrNotFound: the block record says it exists
	}
	if err == nil {
		var kind byte
		kind, rec, err = splitRecord(rec)
		if err == nil && kind != recordGenesis {
			err = fmt.Errorf("document record of kind %q", kind)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: genesis %s, in its document record: %w", g, err)
	}
	return rec, nil
}
