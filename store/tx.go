package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// Record prefixes; see the package doc for the layout.
const (
	prefixCollection   = 'c'
	prefixBlock        = 'b'
	prefixDoc          = 'd'
	prefixLog          = 'l'
	prefixSubscription = 's'
	prefixMeta         = 'm'
)

// metaGenesis is the Badger user metadata of the record of a genesis block, so that
// a document ID can be told from another block's CID without decoding the block.
const metaGenesis = 1

// Tx is a transaction of a Store. It is valid only inside the function passed to
// View or Update and is not safe for concurrent use.
//
// A Tx remembers what its Apply calls did, so that a batch of blocks merged in one
// transaction (a document's history, parents first) reads each parent and state
// from memory rather than decoding it again, and encodes each document's new state
// once, when the transaction ends (or before a read that needs the stored record).
type Tx struct {
	txn        *badger.Txn
	store      *Store
	newSchemas []cid.Cid      // schema IDs of the collections PutCollection stored
	size       int64          // bytes the transaction writes, about (see wrote)
	counts     []schemaCounts // documents and blocks the transaction adds

	applied map[string]*crdt.Block // blocks stored by Apply, by CID key
	docs    map[string]*txDoc      // documents changed by Apply, by record key
	logIt   *badger.Iterator       // shared by DocBlocks; closed at every write and at the end
}

// txDoc is a document an Apply of the transaction changed.
type txDoc struct {
	st      *crdt.State
	dirty   bool   // st has changes its stored record lacks
	genesis []byte // the genesis bytes while the document record is their only copy
}

// set stores v under k. Writes go through it so that the shared log iterator, which
// sees only the writes made before it was created, is made anew after one.
func (tx *Tx) set(k, v []byte) error {
	tx.closeLogIterator()
	tx.wrote(k, v)
	return tx.txn.Set(k, v)
}

// entryOverhead is about what Badger's log adds to each entry it writes: a
// header, the version and a checksum.
const entryOverhead = 32

// wrote counts a write of v under k in the transaction's size, which the space
// guard checks before the commit.
func (tx *Tx) wrote(k, v []byte) {
	tx.size += int64(len(k)+len(v)) + entryOverhead
}

func (tx *Tx) closeLogIterator() {
	if tx.logIt != nil {
		tx.logIt.Close()
		tx.logIt = nil
	}
}

// flush writes the records of the documents whose state Apply changed since.
func (tx *Tx) flush() error {
	for k, d := range tx.docs {
		if !d.dirty {
			continue
		}
		rec, err := stateRecord(d.st)
		if err != nil {
			return err
		}
		if err := tx.set([]byte(k), rec); err != nil {
			return err
		}
		d.dirty = false
	}
	return nil
}

// end finishes the transaction's own work before Badger commits or discards it:
// with commit, it writes the records flush would.
func (tx *Tx) end(commit bool) error {
	var err error
	if commit {
		err = tx.flush()
	}
	tx.closeLogIterator()
	return err
}

func key(prefix byte, parts ...[]byte) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 1, n)
	k[0] = prefix
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func (tx *Tx) get(k []byte) ([]byte, error) {
	item, err := tx.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (tx *Tx) has(k []byte) (bool, error) {
	_, err := tx.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

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

func docKey(schema cid.Cid, doc string) []byte {
	return key(prefixDoc, schema.Bytes(), []byte(doc))
}

// State returns the merged state of document doc of the collection with the given
// schema ID, or ErrNotFound. The caller may modify it.
func (tx *Tx) State(schema, doc cid.Cid) (*crdt.State, error) {
	d, err := tx.changing(docKey(schema, doc.String()), doc)
	if err != nil {
		return nil, err
	}
	return d.st.Clone(), nil
}

// Heads returns the heads of document doc of the collection with the given schema
// ID, sorted by bytes, or ErrNotFound. It does not decode the document's state.
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
	d := &txDoc{st: st}
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

// remember records a block Apply stored.
func (tx *Tx) remember(b *crdt.Block) {
	if tx.applied == nil {
		tx.applied = make(map[string]*crdt.Block)
	}
	tx.applied[b.CID.KeyString()] = b
}

// Apply merges block b into its document and stores the block, the document's log
// entry and its new state. It returns the new state and true, or, when b is already
// stored, the current state and false without writing anything. Each of b's parents
// must be stored (else ErrMissingParent) and b must be consistent with them
// (crdt.CheckParents). b must have passed Decode or Encode and its schema's Check.
// The state returned belongs to the transaction: a later Apply of the same
// document's blocks in it changes it.
func (tx *Tx) Apply(b *crdt.Block) (*crdt.State, bool, error) {
	known, err := tx.Has(b)
	if err != nil {
		return nil, false, err
	}
	doc := b.DocID()
	if known {
		st, err := tx.State(b.Schema, doc)
		return st, false, err
	}
	if b.IsGenesis() {
		st, err := crdt.NewState(b)
		if err != nil {
			return nil, false, err
		}
		g := NewGenesis(b)
		if err := tx.PutGenesis(g); err != nil {
			return nil, false, err
		}
		tx.remember(b)
		tx.track(g.docKey, &txDoc{st: st, genesis: b.Data})
		return st, true, nil
	}
	d, err := tx.changing(docKey(b.Schema, doc.String()), doc)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, false, fmt.Errorf("store: state of %s: %w", doc, err)
	}
	parents := make([]*crdt.Block, len(b.Prev))
	for i, p := range b.Prev {
		if d != nil && len(d.st.Heads) == 1 && p.Equals(d.st.Heads[0]) {
			parents[i] = headOf(d.st)
			continue
		}
		parents[i], err = tx.Block(p)
		if errors.Is(err, ErrNotFound) {
			return nil, false, fmt.Errorf("%w: %s (parent of %s)", ErrMissingParent, p, b.CID)
		}
		if err != nil {
			return nil, false, err
		}
	}
	if err := crdt.CheckParents(b, parents); err != nil {
		return nil, false, err
	}
	if d == nil {
		return nil, false, fmt.Errorf("store: state of %s: %w", doc, ErrNotFound)
	}
	if err := d.st.Merge(b); err != nil {
		return nil, false, err
	}
	d.dirty = true
	if d.genesis != nil {
		// The record is about to hold a state: the genesis needs its block record.
		tx.closeLogIterator()
		k := key(prefixBlock, doc.Bytes())
		tx.wrote(k, d.genesis)
		if err := tx.txn.SetEntry(badger.NewEntry(k, d.genesis).WithMeta(metaGenesis)); err != nil {
			return nil, false, err
		}
		d.genesis = nil
	}
	if err := tx.set(key(prefixBlock, b.CID.Bytes()), b.Data); err != nil {
		return nil, false, err
	}
	if err := tx.set(logKey(doc, b.Height, b.CID), binary.AppendUvarint(nil, uint64(len(b.Data)))); err != nil {
		return nil, false, err
	}
	tx.remember(b)
	tx.added(b.Schema, 0, 1)
	return d.st, true, nil
}

// Genesis holds the record that stores a new document, computed outside any
// transaction by NewGenesis: it is pure computation, so a caller creating many
// documents can prepare them in parallel and keep the transaction short.
type Genesis struct {
	id             string
	schema         cid.Cid
	docKey, record []byte
}

// NewGenesis prepares the record of the document whose genesis block is g
// (encoded, and checked against its schema).
func NewGenesis(g *crdt.Block) *Genesis {
	id := g.CID.String()
	return &Genesis{id: id, schema: g.Schema, docKey: docKey(g.Schema, id), record: genesisRecord(g)}
}

// ID returns the document ID, the string form of the genesis CID.
func (g *Genesis) ID() string { return g.id }

// PutGenesis stores a prepared new document: one record, which holds the genesis
// block until the document merges another block. Unlike Apply it does not look
// for the document first: the caller guarantees it is new, as one made with a
// fresh random nonce is.
func (tx *Tx) PutGenesis(g *Genesis) error {
	if err := tx.set(g.docKey, g.record); err != nil {
		return err
	}
	tx.added(g.schema, 1, 1)
	return nil
}

// headOf returns what crdt.CheckParents reads of the single head of a document
// whose state is st: its CID, document, schema and height, which is the state's.
// A change built on the current head, the usual case, is so checked without
// reading and decoding its parent.
func headOf(st *crdt.State) *crdt.Block {
	h := &crdt.Block{CID: st.Heads[0], Schema: st.Schema, Height: st.Height}
	if !h.CID.Equals(st.Doc) {
		h.Doc = st.Doc
	}
	return h
}

func logKey(doc cid.Cid, height uint64, c cid.Cid) []byte {
	var h [8]byte
	binary.BigEndian.PutUint64(h[:], height)
	return key(prefixLog, doc.Bytes(), h[:], c.Bytes())
}

// LogEntry is a block in a document's log.
type LogEntry struct {
	CID    cid.Cid
	Height uint64
	Size   int // length of the block's encoding
}

// DocBlocks calls fn for every stored block of document doc whose height is at
// least minHeight, in increasing height (so parents before children), stopping at
// the first error fn returns. It reads the log only, not the blocks, and calls
// within one transaction share one iterator. A doc that is not a stored document
// (its genesis) has no blocks.
func (tx *Tx) DocBlocks(doc cid.Cid, minHeight uint64, fn func(LogEntry) error) error {
	// The genesis block has no log entry: its CID is the document ID.
	size, genesis, err := tx.blockSize(doc)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case !genesis:
		return nil
	}
	if minHeight <= 1 {
		if err := fn(LogEntry{CID: doc, Height: 1, Size: size}); err != nil {
			return err
		}
	}
	return tx.DocLog(doc, minHeight, fn)
}

// DocLog is DocBlocks without the genesis block and without checking that doc is
// a stored document: the document's log entries from minHeight.
func (tx *Tx) DocLog(doc cid.Cid, minHeight uint64, fn func(LogEntry) error) error {
	if tx.logIt == nil {
		tx.logIt = tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}})
	}
	it := tx.logIt
	prefix := key(prefixLog, doc.Bytes())
	for it.Seek(binary.BigEndian.AppendUint64(prefix, minHeight)); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		k := item.Key()[len(prefix):]
		if len(k) < 8 {
			return fmt.Errorf("store: malformed log key for %s", doc)
		}
		_, c, err := cid.CidFromBytes(k[8:])
		if err != nil {
			return fmt.Errorf("store: malformed log key for %s: %w", doc, err)
		}
		var size uint64
		err = item.Value(func(v []byte) error {
			var n int
			if size, n = binary.Uvarint(v); n <= 0 {
				return fmt.Errorf("store: malformed log entry of %s", c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := fn(LogEntry{CID: c, Height: binary.BigEndian.Uint64(k[:8]), Size: int(size)}); err != nil {
			return err
		}
	}
	return nil
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
	return item.ValueCopy(nil)
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

// Docs calls fn for each document of the collection with the given schema ID whose
// ID is at least from (as strings), in ID order, stopping at the first error fn
// returns. Deleted documents are included; their state says so.
func (tx *Tx) Docs(schema cid.Cid, from string, fn func(id string, st *crdt.State) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
	defer it.Close()
	for it.Seek(append(prefix, from...)); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		var st *crdt.State
		err := item.Value(func(rec []byte) error {
			doc, err := cid.Decode(id)
			if err != nil {
				return err
			}
			st, err = decodeDocRecord(rec, doc)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: state of %s: %w", id, err)
		}
		if err := fn(id, st); err != nil {
			return err
		}
	}
	return nil
}

// HeadsHashes calls fn for each document of the collection with the given schema
// ID, in ID order, with the hash of its sorted heads (crdt.HeadsHash): the summary
// that set reconciliation compares. It reads only the start of each document record.
func (tx *Tx) HeadsHashes(schema cid.Cid, fn func(id string, hash [32]byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		var hash [32]byte
		err := item.Value(func(rec []byte) error {
			var err error
			hash, err = recordHeadsHash(rec)
			if err != nil {
				return fmt.Errorf("store: document %s: %w", item.Key()[len(prefix):], err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := fn(string(item.Key()[len(prefix):]), hash); err != nil {
			return err
		}
	}
	return nil
}

// DocData calls fn for each document of the collection with the given schema ID,
// in ID order, with its encoded state (crdt.State encoding). data is valid only
// during the call. A document that has merged only its genesis block has no stored
// state; DocData computes and encodes it.
func (tx *Tx) DocData(schema cid.Cid, fn func(id string, data []byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		err := item.Value(func(rec []byte) error {
			doc, err := cid.Decode(id)
			if err != nil {
				return fmt.Errorf("store: document key %q: %w", id, err)
			}
			data, err := encodedState(rec, doc)
			if err != nil {
				return fmt.Errorf("store: state of %s: %w", id, err)
			}
			return fn(id, data)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// PutCollection stores the canonical definition of collection name.
func (tx *Tx) PutCollection(name string, def []byte) error {
	tx.newSchemas = append(tx.newSchemas, schemaID(def))
	return tx.set(key(prefixCollection, []byte(name)), def)
}

// Collections calls fn for every stored collection definition, in name order.
func (tx *Tx) Collections(fn func(name string, def []byte) error) error {
	return tx.each(prefixCollection, fn)
}

// PutSubscription records that the node is subscribed to collection name.
func (tx *Tx) PutSubscription(name string) error {
	return tx.set(key(prefixSubscription, []byte(name)), nil)
}

// DeleteSubscription removes the subscription to collection name, if any.
func (tx *Tx) DeleteSubscription(name string) error {
	tx.closeLogIterator()
	k := key(prefixSubscription, []byte(name))
	tx.wrote(k, nil)
	return tx.txn.Delete(k)
}

// Subscriptions returns the names of the subscribed collections, sorted.
func (tx *Tx) Subscriptions() ([]string, error) {
	var names []string
	err := tx.each(prefixSubscription, func(name string, _ []byte) error {
		names = append(names, name)
		return nil
	})
	return names, err
}

// Meta returns the metadata value stored under k, or ErrNotFound.
func (tx *Tx) Meta(k string) ([]byte, error) {
	return tx.get(key(prefixMeta, []byte(k)))
}

// PutMeta stores a metadata value under k.
func (tx *Tx) PutMeta(k string, v []byte) error {
	return tx.set(key(prefixMeta, []byte(k)), v)
}

func (tx *Tx) each(prefix byte, fn func(name string, v []byte) error) error {
	p := []byte{prefix}
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 16})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := fn(string(item.Key()[1:]), v); err != nil {
			return err
		}
	}
	return nil
}

// Check verifies the store's integrity: every document record holds the hash of
// its heads and a state in canonical form, the document's genesis is stored and
// marked as one, each of its heads is a stored block of that document whose bytes
// hash to its CID, and the block log lists it (a genesis needs no log entry). It
// reads everything, so it is for tests and repair tools, not hot paths.
func (tx *Tx) Check() error {
	if err := tx.flush(); err != nil {
		return err
	}
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixDoc}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		var st *crdt.State
		err := it.Item().Value(func(rec []byte) error {
			_, schema, err := cid.CidFromBytes(k[1:])
			if err != nil {
				return err
			}
			doc, err := cid.Decode(string(k[1+schema.ByteLen():]))
			if err != nil {
				return err
			}
			st, err = checkDocRecord(rec, schema, doc)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: check: document record %x: %w", k, err)
		}
		if _, err := tx.GenesisData(st.Doc); err != nil {
			return fmt.Errorf("store: check: genesis of %s not stored as a genesis: %w", st.Doc, err)
		}
		for _, h := range st.Heads {
			data, err := tx.BlockData(h)
			if err != nil {
				return fmt.Errorf("store: check: head %s of %s: %w", h, st.Doc, err)
			}
			b, err := crdt.Decode(data)
			if err != nil || !b.CID.Equals(h) {
				return fmt.Errorf("store: check: head %s of %s: bytes do not decode to that block (%v)", h, st.Doc, err)
			}
			if !b.DocID().Equals(st.Doc) || !b.Schema.Equals(st.Schema) {
				return fmt.Errorf("store: check: head %s belongs to another document than %s", h, st.Doc)
			}
			if b.IsGenesis() {
				continue
			}
			if ok, err := tx.has(logKey(st.Doc, b.Height, h)); err != nil || !ok {
				return fmt.Errorf("store: check: head %s of %s missing from the block log", h, st.Doc)
			}
		}
	}
	return nil
}
