package store

import (
	"errors"
	"fmt"

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
	prefixVersion      = 'v'
	prefixActive       = 'a'
	prefixChange       = 'f'
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
	txn  *badger.Txn
	size int64 // bytes the transaction writes, about (see wrote)
	// valueLog reports a write of a value Badger keeps in its value log
	valueLog bool
	deltas   []collectionDelta // what it changes in each collection (see counts and summaries)

	applied map[string]*crdt.Block // blocks stored by Apply, by CID key
	parents map[string]*crdt.Block // stored parents Apply read, as crdt.Block.AsParent, by CID key
	docs    map[string]*txDoc      // documents changed by Apply, by record key
	logIt   *badger.Iterator       // shared by DocLog; closed at every write and at the end

	ix       indexSet // the indexes this transaction maintains, as it started
	write    bool     // an Update's transaction
	inMemory bool     // the store is in memory (see set)

	chains    *chains               // the collections whose author chains the store keeps
	chained   map[string]cid.Cid    // the last block of each author chain the transaction extended (see chain)
	judging   bool                  // it holds chains.judging for reading (see cutOff)
	feed      *feed                 // the store's change-feed positions
	origin    string                // see SetOrigin
	changes   []pendingChange       // change-feed entries to write at the end
	kinds     map[string]ChangeKind // the blocks merged that Kind reports not by their own kind, by CID key
	allocated uint64                // the first position given to changes; 0 if none
}

// txDoc is a document an Apply of the transaction changed.
type txDoc struct {
	st      *crdt.State
	item    [32]byte // the heads hash the document's record holds in the transaction
	dirty   bool     // st has changes its stored record lacks
	encoded []byte   // st encoded, when a change-feed entry encoded it as it is (else nil)
	genesis []byte   // the genesis bytes while the document record is their only copy
	entries [][]byte // in a write transaction, the index entries the store holds for the document
}

// set stores v under k. Writes go through it so that the shared log iterator, which
// sees only the writes made before it was created, is made anew after one.
//
// An in-memory store has no value log, and Badger refuses there a value of
// valueLogMin bytes or more (such as the state of a document whose fields
// hold more than 1 MiB together): set reports it with ErrTxnTooLarge.
func (tx *Tx) set(k, v []byte) error {
	return tx.setMeta(k, v, 0)
}

// setMeta is set for a record with Badger user metadata meta.
func (tx *Tx) setMeta(k, v []byte, meta byte) error {
	if tx.inMemory && len(v) >= valueLogMin {
		return fmt.Errorf("%w: a record of %d bytes: an in-memory store keeps records under %d bytes",
			ErrTxnTooLarge, len(v), valueLogMin)
	}
	tx.closeLogIterator()
	tx.wrote(k, v)
	return tx.txn.SetEntry(badger.NewEntry(k, v).WithMeta(meta))
}

// del deletes the record k.
func (tx *Tx) del(k []byte) error {
	tx.closeLogIterator()
	tx.wrote(k, nil)
	return tx.txn.Delete(k)
}

// entryOverhead is about what Badger's log adds to each entry it writes: a
// header, the version and a checksum.
const entryOverhead = 32

// wrote counts a write of v under k in the transaction's size, which the space
// guard checks before the commit.
func (tx *Tx) wrote(k, v []byte) {
	tx.size += int64(len(k)+len(v)) + entryOverhead
	if len(v) >= valueLogMin {
		tx.valueLog = true
	}
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
		rec, err := stateRecord(d.st, d.encoded)
		if err != nil {
			return err
		}
		if err := tx.set([]byte(k), rec); err != nil {
			return err
		}
		if item := [32]byte(rec[:headsHashLen]); item != d.item {
			tx.itemChanged(d.st.Schema, d.st.Doc.String(), d.item, item)
			d.item = item
		}
		entries := tx.entriesOf(d.st)
		if err := tx.updateEntries(d.entries, entries); err != nil {
			return err
		}
		d.dirty, d.entries = false, entries
	}
	return nil
}

// end finishes the transaction's own work before Badger commits or discards it:
// with commit, it writes the records flush would.
func (tx *Tx) end(commit bool) error {
	var err error
	if commit {
		err = tx.flush()
		if err == nil {
			err = tx.writeChanges()
		}
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
	return valueCopy(item)
}

func (tx *Tx) has(k []byte) (bool, error) {
	_, err := tx.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}
