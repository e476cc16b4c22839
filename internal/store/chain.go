package store

import (
	"crypto/ed25519"
	"encoding/binary"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// Records of restricted collections (see the package doc, "Key layout"):
// their policy changes, and the heads of their authors' chains, which the
// store keeps up to date as blocks are stored, in the same transaction.
const (
	prefixPolicy = 'p'
	prefixChain  = 'h'
)

// chains is the set of collections whose author chains the store keeps: the
// restricted ones (TrackChains).
type chains struct{ schemas sync.Map }

// TrackChains makes the store keep the heads of every author's chain of
// blocks in collection schema (crdt.Block.AuthorPrev): from then on each block
// of the collection that PutGenesis or Apply stores becomes a head of its
// author's chain, and the head it names as AuthorPrev stops being one. The
// node calls it for every restricted collection before it stores any of its
// blocks.
func (s *Store) TrackChains(schema cid.Cid) { s.chains.schemas.Store(schema.KeyString(), true) }

func chainKey(schema cid.Cid, author ed25519.PublicKey, block cid.Cid) []byte {
	return key(prefixChain, schema.Bytes(), author, block.Bytes())
}

// chain records b, just stored, as a head of its author's chain, if the store
// keeps its collection's chains. A head's value is when it was recorded (Unix
// nanoseconds, 8 bytes BE), so that a writer extends its latest block.
func (tx *Tx) chain(b *crdt.Block) error {
	if tx.chains == nil {
		return nil
	}
	if _, ok := tx.chains.schemas.Load(b.Schema.KeyString()); !ok {
		return nil
	}
	if b.AuthorPrev.Defined() {
		if err := tx.del(chainKey(b.Schema, b.Author, b.AuthorPrev)); err != nil {
			return err
		}
	}
	return tx.set(chainKey(b.Schema, b.Author, b.CID), binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano())))
}

// ChainHeads returns the heads of author's chains of blocks in collection
// schema, whose chains the store keeps (TrackChains), and the one recorded
// last (cid.Undef if none). A chain forks only if the key wrote from two
// places at once; a block stored before the block it names as AuthorPrev
// leaves that block a head too.
func (tx *Tx) ChainHeads(schema cid.Cid, author ed25519.PublicKey) (heads []cid.Cid, last cid.Cid, err error) {
	prefix := key(prefixChain, schema.Bytes(), author)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	var newest uint64
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		c, err := cid.Cast(item.Key()[len(prefix):])
		if err != nil {
			return nil, cid.Undef, err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return nil, cid.Undef, err
		}
		if len(v) == 8 && binary.BigEndian.Uint64(v) >= newest {
			newest, last = binary.BigEndian.Uint64(v), c
		}
		heads = append(heads, c)
	}
	return heads, last, nil
}

func policyKey(schema, change cid.Cid) []byte {
	return key(prefixPolicy, schema.Bytes(), change.Bytes())
}

// PutPolicyChange stores the bytes of policy change change of collection
// schema (internal/policy's encoding; the node checks them first).
func (tx *Tx) PutPolicyChange(schema, change cid.Cid, data []byte) error {
	return tx.set(policyKey(schema, change), data)
}

// HasPolicyChange reports whether change of collection schema is stored.
func (tx *Tx) HasPolicyChange(schema, change cid.Cid) (bool, error) {
	return tx.has(policyKey(schema, change))
}

// PolicyChanges calls fn with the bytes of every stored policy change of
// collection schema, in CID order (not in the order of their Prev).
func (tx *Tx) PolicyChanges(schema cid.Cid, fn func(data []byte) error) error {
	prefix := key(prefixPolicy, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := valueCopy(it.Item())
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}
