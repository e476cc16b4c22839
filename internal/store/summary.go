package store

import (
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/internal/itemsum"
)

// summaries keeps, for each collection whose items were read whole (Items),
// the itemsum.Sum of its items: each document's ID with the hash of its heads,
// the set that reconciliation compares. From it follows the fingerprint of
// the whole collection, which lets a reconciliation between replicas that
// agree end without reading every document. A committed transaction adds
// what it changed (Tx.deltas) while it still holds the store's serial lock, so a
// write is in the summary before Update returns.
type summaries struct {
	mu       sync.Mutex
	bySchema map[cid.Cid]*summary
}

// summary is one collection's.
type summary struct {
	sum      itemsum.Sum
	ready    bool        // sum is the collection's
	building bool        // a read is under way; commits since its snapshot add to pending
	pending  itemsum.Sum // what commits changed since the read's snapshot
}

// itemChanged records that the record of document id, in the collection with
// the given schema ID, now holds heads hash now instead of was.
func (tx *Tx) itemChanged(schema cid.Cid, id string, was, now [32]byte) {
	if was == now {
		return
	}
	s := &tx.delta(schema).items
	s.Remove(id, was)
	s.Add(id, now)
}

// add adds what a committed transaction changed.
func (s *summaries) add(changed []collectionDelta) {
	if len(changed) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changed {
		switch sm := s.bySchema[c.schema]; {
		case sm == nil:
		case sm.ready:
			sm.sum.Merge(c.items)
		case sm.building:
			sm.pending.Merge(c.items)
		}
	}
}

// begin starts the summary of the collection with the given schema ID, unless
// it is known or being made; the caller holds the store's serial lock
// exclusively, so no commit is between its write and its add.
func (s *summaries) begin(schema cid.Cid) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySchema == nil {
		s.bySchema = map[cid.Cid]*summary{}
	}
	sm := s.bySchema[schema]
	if sm != nil && (sm.ready || sm.building) {
		return false
	}
	s.bySchema[schema] = &summary{building: true}
	return true
}

// finish ends the summary begin started: read is the sum of the items read in
// the snapshot taken when it began, nil when the read failed.
func (s *summaries) finish(schema cid.Cid, read *itemsum.Sum) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm := s.bySchema[schema]
	if sm == nil || !sm.building {
		return // reset meanwhile
	}
	if read == nil {
		delete(s.bySchema, schema)
		return
	}
	sm.sum = *read
	sm.sum.Merge(sm.pending)
	sm.ready, sm.building, sm.pending = true, false, itemsum.Sum{}
}

// reset forgets every summary, as for an empty store.
func (s *summaries) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bySchema = nil
}

// Summary returns the itemsum.Sum of the items of the collection with the
// given schema ID (each document's ID with its heads hash, as Items reads
// them), and true, once Items has read them whole: from then on every
// committed transaction keeps it up to date, and a write is in it before its
// Update returns. Before that it returns false. It is safe for concurrent use.
func (s *Store) Summary(schema cid.Cid) (itemsum.Sum, bool) {
	s.summaries.mu.Lock()
	defer s.summaries.mu.Unlock()
	sm := s.summaries.bySchema[schema]
	if sm == nil || !sm.ready {
		return itemsum.Sum{}, false
	}
	return sm.sum, true
}

// Items calls fn for each document of the collection with the given schema ID
// whose ID is at least from (as strings; "": every one), in ID order, with the
// hash of its heads, as HeadsHashes does in a View of its own. A read of every
// document of a collection whose Summary is not known yet makes it known: its
// snapshot is taken while no transaction commits (waiting for those under way
// and holding back new ones for that moment), so that the sum of what it
// reads and of what later commits change is the collection's.
func (s *Store) Items(schema cid.Cid, from string, fn func(id string, hash [32]byte) error) error {
	if s.db.IsClosed() {
		return ErrClosed
	}
	if from != "" {
		return s.View(func(tx *Tx) error { return tx.HeadsHashes(schema, from, fn) })
	}
	s.serial.Lock()
	if !s.summaries.begin(schema) {
		s.serial.Unlock()
		return s.View(func(tx *Tx) error { return tx.HeadsHashes(schema, "", fn) })
	}
	txn := s.db.NewTransaction(false)
	s.serial.Unlock()
	defer txn.Discard()
	var read itemsum.Sum
	buf := make([]byte, 0, itemsum.MaxKeySize+32)
	err := s.viewTxn(txn, func(tx *Tx) error {
		return tx.HeadsHashes(schema, "", func(id string, hash [32]byte) error {
			read.Total = read.Total.Add(itemsum.Hash(id, hash, buf))
			read.Count++
			return fn(id, hash)
		})
	})
	if err != nil {
		s.summaries.finish(schema, nil)
		return err
	}
	s.summaries.finish(schema, &read)
	return nil
}

// viewTxn runs fn in read-only transaction txn, as View does in one of its own.
func (s *Store) viewTxn(txn *badger.Txn, fn func(tx *Tx) error) error {
	tx := &Tx{txn: txn, ix: s.indexes.load(), feed: &s.feed, chains: &s.chains}
	err := fn(tx)
	tx.end(false)
	if tx.judging {
		s.chains.judging.RUnlock()
	}
	return err
}
