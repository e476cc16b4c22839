package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// remember records a block Apply stored.
func (tx *Tx) remember(b *crdt.Block) {
	if tx.applied == nil {
		tx.applied = make(map[string]*crdt.Block)
	}
	tx.applied[b.CID.KeyString()] = b
}

// Apply merges block b into its document and stores the block, the document's log
// entry, its new state and the block's change-feed entries (see recordMerge). It returns the new state and true, or, when b is already
// stored, the current state and false without writing anything. Each of b's parents
// must be stored in b's collection (else ErrMissingParent: a parent of another
// collection is not looked for) and b must be consistent with them
// (crdt.CheckParents). b must have passed Decode or Encode and its schema's Check,
// and, if it came from outside, Verify: the store checks no signature (the
// node's accept function runs every rule before a block gets here).
// The state returned belongs to the transaction: a later Apply of the same
// document's blocks in it changes it.
func (tx *Tx) Apply(b *crdt.Block) (*crdt.State, bool, error) {
	known, err := tx.Has(b)
	if err != nil {
		return nil, false, err
	}
	if known {
		st, err := tx.State(b.Schema, b.DocID())
		return st, false, err
	}
	st, err := tx.ApplyNew(b)
	if err != nil {
		return nil, false, err
	}
	return st, true, nil
}

// ApplyNew is Apply for a block the caller knows is not stored, such as one
// it just made that carries a fresh random transaction ID (crdt.TxnPart): it
// skips Apply's lookup of the block, and returns the new state.
func (tx *Tx) ApplyNew(b *crdt.Block) (*crdt.State, error) {
	doc := b.DocID()
	if b.IsGenesis() {
		st, err := crdt.NewState(b)
		if err != nil {
			return nil, err
		}
		g := NewGenesis(b)
		if err := tx.PutGenesis(g); err != nil {
			return nil, err
		}
		tx.remember(b)
		d, cut := tx.docs[string(g.docKey)] // PutGenesis rebuilt a disowned genesis
		if !cut {
			d = &txDoc{st: st, item: [32]byte(g.record[:headsHashLen]), genesis: b.Data, entries: tx.entriesOf(st)}
			tx.track(g.docKey, d)
		}
		return d.st, nil
	}
	d, err := tx.changing(docKey(b.Schema, doc.String()), doc)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("store: state of %s: %w", doc, err)
	}
	parents := make([]*crdt.Block, len(b.Prev))
	for i, p := range b.Prev {
		if d != nil && len(d.st.Heads) == 1 && p.Equals(d.st.Heads[0]) {
			parents[i] = headOf(d.st)
			continue
		}
		if parents[i], err = tx.parent(b.Schema, p); err != nil {
			return nil, fmt.Errorf("%w (parent of %s)", err, b.CID)
		}
	}
	if err := crdt.CheckParents(b, parents); err != nil {
		return nil, err
	}
	if d == nil {
		return nil, fmt.Errorf("store: state of %s: %w", doc, ErrNotFound)
	}
	heads, wasDeleted := slices.Clone(d.st.Heads), d.st.Deleted
	disowned := tx.disowned(b)
	cut := disowned && tx.settled(b) // cut off, without a rebuild
	var before []byte                // the state a delete overrides concurrent changes in
	if !cut && b.Delete && !wasDeleted && slices.ContainsFunc(heads, func(h cid.Cid) bool { return !slices.ContainsFunc(b.Prev, h.Equals) }) {
		if before, err = d.st.Encode(); err != nil {
			return nil, err
		}
	}
	d.encoded = nil
	recorded := len(tx.changes)
	if cut {
		// The state holds no cut-off block of b's author, so without b its
		// values are what they are now: the rebuild cutOff would do, which
		// reads the document's whole history, gives the same. b joins the
		// heads only, and its one entry holds the values without it.
		if err := cutOffHeads(d.st, b); err != nil {
			return nil, err
		}
		if d.encoded, err = d.st.Encode(); err != nil {
			return nil, err
		}
		tx.recordBlock(feedKind(d.st), b, d.encoded)
	} else {
		if err := d.st.Merge(b); err != nil {
			return nil, err
		}
		if d.encoded, err = tx.recordMerge(b, heads, wasDeleted, before, d.st); err != nil {
			return nil, err
		}
	}
	d.dirty = true
	if d.genesis != nil {
		// The record is about to hold a state: the genesis needs its block record.
		if err := tx.setMeta(key(prefixBlock, doc.Bytes()), d.genesis, metaGenesis); err != nil {
			return nil, err
		}
		d.genesis = nil
	}
	if err := tx.set(key(prefixBlock, b.CID.Bytes()), b.Data); err != nil {
		return nil, err
	}
	if err := tx.set(logKey(doc, b.Height, b.CID), binary.AppendUvarint(nil, uint64(len(b.Data)))); err != nil {
		return nil, err
	}
	if err := tx.chain(b); err != nil {
		return nil, err
	}
	tx.remember(b)
	tx.added(b.Schema, 0, 1)
	if disowned && !cut {
		if err := tx.rebuildCut(b, recorded); err != nil {
			return nil, err
		}
	}
	return d.st, nil
}

// cutOffHeads makes st's heads and height what merging b would make them,
// leaving its values as they are: b is cut off (see Tx.settled). Like
// crdt.State.Merge, it refuses, leaving st unchanged, a block of another
// document or schema and one of st's heads.
func cutOffHeads(st *crdt.State, b *crdt.Block) error {
	byBytes := func(x, y cid.Cid) int { return strings.Compare(x.KeyString(), y.KeyString()) }
	if !b.Doc.Equals(st.Doc) || !b.Schema.Equals(st.Schema) {
		return fmt.Errorf("%w: block %s is not of document %s", crdt.ErrInvalidState, b.CID, st.Doc)
	}
	if _, found := slices.BinarySearchFunc(st.Heads, b.CID, byBytes); found {
		return fmt.Errorf("%w: block %s already merged", crdt.ErrInvalidState, b.CID)
	}
	heads := slices.DeleteFunc(slices.Clone(st.Heads), func(h cid.Cid) bool { return slices.ContainsFunc(b.Prev, h.Equals) })
	i, _ := slices.BinarySearchFunc(heads, b.CID, byBytes)
	st.Heads = slices.Insert(heads, i, b.CID)
	st.Height = max(st.Height, b.Height)
	return nil
}

// parent returns what crdt.CheckParents reads of stored block c of the
// collection with the given schema (crdt.Block.AsParent), reading and decoding
// it once per transaction: the blocks a transaction merges may all name the
// same parent, which may take a MiB. It returns an error wrapping
// ErrMissingParent when c is not stored.
func (tx *Tx) parent(schema, c cid.Cid) (*crdt.Block, error) {
	if p, ok := tx.parents[c.KeyString()]; ok && p.Schema.Equals(schema) {
		return p, nil
	}
	b, err := tx.Block(schema, c)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrMissingParent, c)
	}
	if err != nil {
		return nil, err
	}
	if tx.parents == nil {
		tx.parents = make(map[string]*crdt.Block)
	}
	p := b.AsParent()
	tx.parents[c.KeyString()] = p
	return p, nil
}

// Genesis holds the record that stores a new document, computed outside any
// transaction by NewGenesis: it is pure computation, so a caller creating many
// documents can prepare them in parallel and keep the transaction short.
type Genesis struct {
	block          *crdt.Block
	id             string
	schema         cid.Cid
	docKey, record []byte
}

// NewGenesis prepares the record of the document whose genesis block is g
// (encoded, and checked against its schema).
func NewGenesis(g *crdt.Block) *Genesis {
	id := g.CID.String()
	return &Genesis{block: g, id: id, schema: g.Schema, docKey: docKey(g.Schema, id), record: genesisRecord(g)}
}

// ID returns the document ID, the string form of the genesis CID.
func (g *Genesis) ID() string { return g.id }

// PutGenesis stores a prepared new document: one record, which holds the genesis
// block until the document merges another block, its index entries and its
// change-feed entry. Unlike Apply it does not look for the document first: the caller guarantees it is
// new, as one made with a fresh random nonce is.
func (tx *Tx) PutGenesis(g *Genesis) error {
	if err := tx.set(g.docKey, g.record); err != nil {
		return err
	}
	tx.itemAdded(g.schema, g.id, [32]byte(g.record[:headsHashLen]))
	if err := tx.updateEntries(nil, tx.genesisEntries(g.block, g.id)); err != nil {
		return err
	}
	if err := tx.chain(g.block); err != nil {
		return err
	}
	tx.added(g.schema, 1, 1)
	recorded := len(tx.changes)
	tx.recordBlock(ChangeCreated, g.block, nil) // Changes reads the genesis from the document
	return tx.cutOff(g.block, recorded)
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
