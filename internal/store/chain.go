package store

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
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
// restricted ones (TrackChains), each with its Disowned (nil: none).
type chains struct {
	schemas sync.Map
	// judging is held for reading by each write transaction from the first
	// block it asks a Disowned about until it has committed or failed, and
	// for writing by ChangeDisowned.
	judging sync.RWMutex
}

// Disowned reports whether block b, stored in tx, is cut off: stored, but held
// by no document state (internal/policy's rule 4).
type Disowned func(tx *Tx, b *crdt.Block) bool

// Settled reports, for a block b of author that its collection's Disowned
// reports as cut off, whether no document state holds a block of author that
// Disowned reports as cut off, nor will once a transaction under way commits:
// every cut-off of author's blocks has run (the node's cut-off after a
// revocation, see TrackChains). A cut-off block that arrives then leaves its
// document's values as they are, with no rebuild. It may answer false
// whenever it cannot tell; it must not use the store.
type Settled func(author ed25519.PublicKey) bool

// tracked is what the store keeps of a collection whose chains it keeps.
type tracked struct {
	disowned Disowned
	settled  Settled
}

// TrackChains makes the store keep the heads of every author's chain of
// blocks in collection schema (crdt.Block.AuthorPrev): from then on each block
// of the collection that PutGenesis or Apply stores becomes a head of its
// author's chain, and the head it names as AuthorPrev stops being one. And
// each block PutGenesis or Apply stores that disowned reports as cut off
// leaves its document's state at once, in the same transaction: they rebuild
// the state without it (Rebuild), or, for a change when settled (nil: never)
// says that the state holds no cut-off block of its author, keep the values
// as they are and add the block to the heads only, since rebuilding a
// document reads its whole history, which a revoked key's blocks could
// otherwise make a node do for each of them. The node calls it for every
// restricted collection before it stores any of its blocks.
func (s *Store) TrackChains(schema cid.Cid, disowned Disowned, settled Settled) {
	s.chains.schemas.Store(schema.KeyString(), tracked{disowned, settled})
}

// ChangeDisowned runs change, which changes what a Disowned reports (the node
// adds a revocation to a collection's policy), while no transaction stands
// between asking a Disowned about a block and its commit. So every block
// judged under the old answers is committed, and seen by any transaction that
// begins after ChangeDisowned returns (the node's cut-off lists the blocks to
// cut off in one), or was never stored; and every block judged later gets the
// new answers. ChangeDisowned waits for the transactions under way that have
// asked; change must not use the store.
func (s *Store) ChangeDisowned(change func()) {
	s.chains.judging.Lock()
	defer s.chains.judging.Unlock()
	change()
}

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
	if tx.chained == nil {
		tx.chained = map[string]cid.Cid{}
	}
	tx.chained[b.Schema.KeyString()+string(b.Author)] = b.CID
	return tx.set(chainKey(b.Schema, b.Author, b.CID), binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano())))
}

// ChainHead returns the head of author's chains of blocks in collection
// schema that was recorded last, which a block the author writes now names as
// its AuthorPrev: the last block of the author the transaction stored, else
// the one ChainHeads gives (cid.Undef if none). A write transaction that
// stores many blocks of one author, as a CreateMany does, so reads the
// chain's records once (a Badger iterator copies and sorts the transaction's
// pending writes each time it is made).
func (tx *Tx) ChainHead(schema cid.Cid, author ed25519.PublicKey) (cid.Cid, error) {
	if c, ok := tx.chained[schema.KeyString()+string(author)]; ok {
		return c, nil
	}
	_, last, err := tx.ChainHeads(schema, author)
	return last, err
}

// ChainHeads returns the heads of author's chains of blocks in collection
// schema, whose chains the store keeps (TrackChains), and the one recorded
// last (cid.Undef if none). A chain forks only if the key wrote from two
// places at once; a block stored before the block it names as AuthorPrev
// leaves that block a head too.
func (tx *Tx) ChainHeads(schema cid.Cid, author ed25519.PublicKey) (heads []cid.Cid, last cid.Cid, err error) {
	prefix := key(prefixChain, schema.Bytes(), author)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
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
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
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

// cutOff rebuilds the state of b's document without the blocks its
// collection's Disowned reports as cut off if b, just merged, is one of them.
// Then the change-feed entries b's merge recorded, from the recorded-th on,
// which hold values the document never shows, give way to one entry for b
// with the values it has after the rebuild (see the package doc, "Change
// feed"), whose kind Kind then reports for b.
func (tx *Tx) cutOff(b *crdt.Block, recorded int) error {
	if !tx.disowned(b) {
		return nil
	}
	return tx.rebuildCut(b, recorded)
}

// rebuildCut is cutOff of b, which disowned reports cut off.
func (tx *Tx) rebuildCut(b *crdt.Block, recorded int) error {
	tx.changes = tx.changes[:recorded]
	kind, err := tx.rebuild(b.Schema, b.DocID(), b.CID, b.Author, func(x *crdt.Block) bool { return !tx.disowned(x) }, true)
	if err != nil {
		return err
	}
	tx.setKind(b, kind)
	return nil
}

// disowned reports whether stored block b is cut off: whether its
// collection's Disowned, if the store keeps its chains, says so.
func (tx *Tx) disowned(b *crdt.Block) bool {
	if tx.chains == nil {
		return false
	}
	v, ok := tx.chains.schemas.Load(b.Schema.KeyString())
	if !ok || v.(tracked).disowned == nil {
		return false
	}
	disowned := v.(tracked).disowned
	if !tx.judging {
		// Held until the transaction has committed or failed (see
		// ChangeDisowned); the store's View and Update release it.
		tx.chains.judging.RLock()
		tx.judging = true
	}
	return disowned(tx, b)
}

// settled reports, for block b that disowned has reported cut off (so that a
// revocation cannot come in force between the two answers, see
// ChangeDisowned), whether its collection's Settled says that no state holds
// a cut-off block of its author: b then leaves its document's values as they
// are (see ApplyNew).
func (tx *Tx) settled(b *crdt.Block) bool {
	v, ok := tx.chains.schemas.Load(b.Schema.KeyString())
	return ok && v.(tracked).settled != nil && v.(tracked).settled(b.Author)
}

// Rebuild replaces the values of document doc of collection schema by the
// merge, in (height, CID) order, of its stored blocks that keep accepts
// (internal/policy's rule 4: the others are cut off). The state keeps the
// heads and height of all its stored blocks, so that the document's heads,
// which set reconciliation compares, still say which blocks are stored; a
// document whose genesis keep refuses reads as deleted. When the values
// change, the document's record and index entries are rewritten when the
// transaction ends, and a change-feed entry names cause and author as its
// block and author, and the peer SetOrigin named as its origin. Rebuild
// returns the kind of that entry, ChangeDeleted when the document then reads
// as deleted, else ChangeUpdated, or 0 when the values did not change and it
// recorded none.
func (tx *Tx) Rebuild(schema, doc, cause cid.Cid, author []byte, keep func(*crdt.Block) bool) (ChangeKind, error) {
	return tx.rebuild(schema, doc, cause, author, keep, false)
}

// rebuild is Rebuild; with always it records the change-feed entry even when
// the values do not change.
func (tx *Tx) rebuild(schema, doc, cause cid.Cid, author []byte, keep func(*crdt.Block) bool, always bool) (ChangeKind, error) {
	d, err := tx.changing(docKey(schema, doc.String()), doc)
	if err != nil {
		return 0, err
	}
	gdata, err := tx.GenesisData(schema, doc)
	if err != nil {
		return 0, err
	}
	g, err := crdt.Decode(gdata)
	if err != nil {
		return 0, err
	}
	st := &crdt.State{Schema: schema, Doc: doc, Deleted: true, Fields: map[string]crdt.FieldState{}}
	if keep(g) {
		if st, err = crdt.NewState(g); err != nil {
			return 0, err
		}
	}
	var log []cid.Cid
	if err := tx.DocLog(doc, 0, func(e LogEntry) error { log = append(log, e.CID); return nil }); err != nil {
		return 0, err
	}
	for _, c := range log {
		b, err := tx.Block(schema, c)
		if err != nil {
			return 0, err
		}
		if keep(b) {
			if err := st.Merge(b); err != nil {
				return 0, err
			}
		}
	}
	st.Heads, st.Height = d.st.Heads, d.st.Height
	before, err := d.st.Encode()
	if err != nil {
		return 0, err
	}
	after, err := st.Encode()
	if err != nil {
		return 0, err
	}
	kind := feedKind(st)
	if bytes.Equal(before, after) {
		if !always {
			return 0, nil
		}
		tx.recordChange(kind, schema, doc, cause, author, after)
		return kind, nil
	}
	d.st, d.encoded, d.dirty = st, after, true
	if d.genesis != nil {
		// The record is about to hold a state: the genesis needs its block record.
		if err := tx.setMeta(key(prefixBlock, doc.Bytes()), d.genesis, metaGenesis); err != nil {
			return 0, err
		}
		d.genesis = nil
	}
	tx.recordChange(kind, schema, doc, cause, author, after)
	return kind, nil
}

// feedKind is the kind of a rebuilt document's change-feed entry: deleted
// when its state is.
func feedKind(st *crdt.State) ChangeKind {
	if st.Deleted {
		return ChangeDeleted
	}
	return ChangeUpdated
}

// checkChains is Check's part for author chain heads: each names a stored
// block of its collection by its author.
func (tx *Tx) checkChains(stop *checkStop) error {
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixChain}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := stop.err(); err != nil {
			return fmt.Errorf("store: check: author chains: %w", err)
		}
		k := it.Item().Key()
		n, schema, err := cid.CidFromBytes(k[1:])
		if err == nil && len(k) <= 1+n+ed25519.PublicKeySize {
			err = fmt.Errorf("key too short")
		}
		var block cid.Cid
		if err == nil {
			_, block, err = cid.CidFromBytes(k[1+n+ed25519.PublicKeySize:])
		}
		if err != nil {
			return fmt.Errorf("store: check: author chain record %x: %w", k, err)
		}
		author := k[1+n : 1+n+ed25519.PublicKeySize]
		b, err := tx.Block(schema, block)
		if err != nil || !bytes.Equal(b.Author, author) {
			return fmt.Errorf("store: check: author chain head %s is not a stored block of its author (%v)", block, err)
		}
	}
	return nil
}
