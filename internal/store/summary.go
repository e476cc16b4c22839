package store

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/internal/itemsum"
)

// Bucket sizes of the directories summaries keep.
const (
	// bucketItems is how many items a whole read of a collection puts in
	// each bucket of its directory (the last one may hold fewer), unless
	// Options.BucketItems says otherwise: a session
	// that reads one bucket reads that many documents' records, and the
	// directory of 1,000,000 documents holds about 3,900 buckets, 450 KB
	// with their IDs (a snapshot copies 220 KB of it, sharing the IDs).
	bucketItems = 256
	// maxBucketItems is the count above which a bucket, grown by the commits
	// that followed the read, makes its collection's directory uneven: 16
	// times bucketItems (or Options.BucketItems).
	maxBucketItems = 16 * bucketItems
)

// summaries keeps, for each collection whose items were read whole (Items),
// the itemsum.Sum of its items: each document's ID with the hash of its heads,
// the set that reconciliation compares. From it follows the fingerprint of
// the whole collection, which lets a reconciliation between replicas that
// agree end without reading every document. Beside the sum it keeps the
// collection's bucket directory: the items cut, in ID order, into runs of
// about bucketItems, each with its sum, so that a reconciliation that finds a
// difference reads only the runs it needs (SnapshotItems). A committed
// transaction adds what it changed (Tx.deltas) to both while it still holds
// the store's serial lock, so a write is in the summary before Update returns.
type summaries struct {
	mu       sync.Mutex
	bySchema map[cid.Cid]*summary
	// the bucket sizes, bucketItems and maxBucketItems but in tests
	bucketItems, maxBucketItems int64
}

// summary is one collection's. A collection whose sum is ready has a
// directory (buckets) or, once one of its buckets outgrew maxBucketItems,
// none: it is uneven, and the next whole read builds it anew while the sum
// stays ready. A collection whose sum is not ready has no summary, or one
// being built.
type summary struct {
	sum      itemsum.Sum
	buckets  []itemsum.Bucket // the directory of sum's items; nil when uneven (or not ready)
	ready    bool             // sum is the collection's
	building bool             // a read is under way; commits since its snapshot add to pending
	pending  []itemChange     // what commits changed since the read's snapshot
}

// itemChanged records that the record of document id, in the collection with
// the given schema ID, now holds heads hash now instead of was.
func (tx *Tx) itemChanged(schema cid.Cid, id string, was, now [32]byte) {
	if was == now {
		return
	}
	var buf [itemsum.MaxKeySize + 32]byte
	h := itemsum.Hash(id, now, buf[:0]).Sub(itemsum.Hash(id, was, buf[:0]))
	tx.delta(schema).changed(id, itemsum.Sum{Total: h})
}

// itemAdded records that the transaction stores the record of new document
// id, in the collection with the given schema ID, whose heads hash is hash.
func (tx *Tx) itemAdded(schema cid.Cid, id string, hash [32]byte) {
	var buf [itemsum.MaxKeySize + 32]byte
	tx.delta(schema).changed(id, itemsum.Sum{Total: itemsum.Hash(id, hash, buf[:0]), Count: 1})
}

// changed records change sum of the item of document id.
func (d *collectionDelta) changed(id string, sum itemsum.Sum) {
	d.items.Merge(sum)
	d.changes = append(d.changes, itemChange{id: id, sum: sum})
}

// add adds what a committed transaction changed.
func (s *summaries) add(changed []collectionDelta) {
	if len(changed) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changed {
		sm := s.bySchema[c.schema]
		if sm == nil {
			continue
		}
		if sm.ready {
			sm.sum.Merge(c.items)
			for _, ch := range c.changes {
				s.addToBucket(sm, ch)
			}
		}
		if sm.building {
			sm.pending = append(sm.pending, c.changes...)
		}
	}
}

// addToBucket adds change ch to the bucket of sm's directory its ID falls in,
// and drops the directory (uneven) when that bucket then holds more than
// maxBucketItems items. The caller holds s.mu.
func (s *summaries) addToBucket(sm *summary, ch itemChange) {
	if sm.buckets == nil {
		return
	}
	// The first bucket whose Lower is above the ID follows the one it falls
	// in; buckets[0].Lower is "", so that is never the first.
	i := sort.Search(len(sm.buckets), func(i int) bool { return sm.buckets[i].Lower > ch.id }) - 1
	b := &sm.buckets[i]
	b.Sum.Merge(ch.sum)
	if b.Sum.Count > s.maxBucketItems {
		sm.buckets = nil
	}
}

// begin starts the summary of the collection with the given schema ID, unless
// it is known, with a directory, or being made; the caller holds the store's
// serial lock exclusively, so no commit is between its write and its add. A
// collection whose sum is known but whose directory is uneven keeps its sum,
// which commits go on updating, while the read builds the directory anew.
func (s *summaries) begin(schema cid.Cid) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySchema == nil {
		s.bySchema = map[cid.Cid]*summary{}
	}
	sm := s.bySchema[schema]
	switch {
	case sm == nil:
		sm = &summary{}
		s.bySchema[schema] = sm
	case sm.building, sm.ready && sm.buckets != nil:
		return false
	}
	sm.building, sm.pending = true, nil
	return true
}

// finish ends the summary begin started: read is the directory of the items
// read in the snapshot taken when it began, nil when the read failed.
func (s *summaries) finish(schema cid.Cid, read []itemsum.Bucket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm := s.bySchema[schema]
	if sm == nil || !sm.building {
		return // reset meanwhile
	}
	pending := sm.pending
	sm.building, sm.pending = false, nil
	if read == nil {
		if !sm.ready {
			delete(s.bySchema, schema)
		}
		return
	}
	if !sm.ready {
		// Commits kept a ready sum up to date meanwhile; this one is new.
		sm.sum = itemsum.Sum{}
		for _, b := range read {
			sm.sum.Merge(b.Sum)
		}
		for _, ch := range pending {
			sm.sum.Merge(ch.sum)
		}
		sm.ready = true
	}
	sm.buckets = read
	for _, ch := range pending {
		s.addToBucket(sm, ch)
	}
}

// directory returns a copy of the directory of the collection with the
// given schema ID, and true, when it has a usable one: known, not uneven and
// not being built.
func (s *summaries) directory(schema cid.Cid) ([]itemsum.Bucket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sm := s.bySchema[schema]
	if sm == nil || !sm.ready || sm.building || sm.buckets == nil {
		return nil, false
	}
	return slices.Clone(sm.buckets), true
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
// document of a collection whose Summary is not known yet makes it known, and
// builds the collection's bucket directory (see SnapshotItems), as does such a
// read of a collection whose directory is uneven, while its Summary stays
// known: its snapshot is taken while no transaction commits (waiting for
// those under way and holding back new ones for that moment), so that what it
// reads and what later commits change make up the collection.
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
	txn, ix := s.snapshot()
	s.serial.Unlock()
	defer txn.Discard()
	read := []itemsum.Bucket{{}} // an empty collection's directory is one empty bucket
	buf := make([]byte, 0, itemsum.MaxKeySize+32)
	var prev string
	err := s.viewTxn(txn, ix, func(tx *Tx) error {
		return tx.HeadsHashes(schema, "", func(id string, hash [32]byte) error {
			if read[len(read)-1].Sum.Count == s.summaries.bucketItems {
				read = append(read, itemsum.Bucket{Lower: separator(prev, id)})
			}
			prev = id
			b := &read[len(read)-1]
			b.Sum.Total = b.Sum.Total.Add(itemsum.Hash(id, hash, buf))
			b.Sum.Count++
			return fn(id, hash)
		})
	})
	if err != nil {
		s.summaries.finish(schema, nil)
		return err
	}
	s.summaries.finish(schema, slices.Clip(read))
	return nil
}

// separator returns the shortest key k with a < k <= b, for a < b: a bucket's
// lower bound between the last item of the bucket before and its first, as
// short as it can be, since reconciliation sends it to peers as a range's
// bound.
func separator(a, b string) string {
	n := 0
	for n < len(a) && a[n] == b[n] {
		n++
	}
	return b[:n+1]
}

// ItemsSnapshot is a read-only view of one collection's items at one
// instant: its bucket directory as it stood then, and a Badger read
// transaction to read the buckets' items from, so that the items Read gives
// for a bucket are those its sum counts, whatever commits since. Close it when
// done: until then Badger keeps the versions of records it sees. Its methods
// are not safe for concurrent use; calls from different goroutines one after
// another are fine.
type ItemsSnapshot struct {
	s       *Store
	schema  cid.Cid
	buckets []itemsum.Bucket // the snapshot's own copy
	txn     *badger.Txn      // nil once closed
	ix      indexSet         // the index set that holds for txn
}

// errSnapshotClosed reports a Read of a closed ItemsSnapshot.
var errSnapshotClosed = errors.New("store: read of a closed items snapshot")

// SnapshotItems returns a snapshot of the items of the collection with the
// given schema ID, and true, when the store keeps a usable bucket directory of
// them: from the whole read (Items) that made its Summary known, kept up to
// date by every commit since, until a bucket grows above maxBucketItems items
// (the collection's directory is then uneven until the next whole read builds
// it again). It returns false and a nil error when the store keeps none: the
// collection was never read whole since Open or Reset, its directory is being
// built, or it is uneven. It fails with ErrClosed once the store is closed.
// Like Items's whole read, it takes its snapshot while no transaction commits.
// The snapshot must be closed before Reset. It is safe for concurrent use.
func (s *Store) SnapshotItems(schema cid.Cid) (sn *ItemsSnapshot, ok bool, err error) {
	if s.db.IsClosed() {
		return nil, false, ErrClosed
	}
	s.serial.Lock()
	defer s.serial.Unlock()
	buckets, ok := s.summaries.directory(schema)
	if !ok {
		return nil, false, nil
	}
	s.snapshots.Add(1)
	txn, ix := s.snapshot()
	return &ItemsSnapshot{s: s, schema: schema, buckets: buckets, txn: txn, ix: ix}, true, nil
}

// Buckets returns the snapshot's bucket directory: buckets[0].Lower is "",
// Lowers strictly increase, and bucket i holds the items whose ID is at least
// its Lower and below the next bucket's, their sum its Sum. A bucket may be
// empty. The slice belongs to the snapshot, stays valid after Close, and the
// caller must not modify it.
func (sn *ItemsSnapshot) Buckets() []itemsum.Bucket { return sn.buckets }

// Read calls fn for each item of bucket i of the snapshot, in ID order, with
// the document's ID and heads hash as HeadsHashes gives them, stopping at the
// first error fn returns, which it returns as it is. It may read any bucket,
// any number of times. It fails for a bucket i out of range, after Close, and
// with ErrClosed once the store is closed.
func (sn *ItemsSnapshot) Read(i int, fn func(id string, hash [32]byte) error) error {
	if sn.txn == nil {
		return errSnapshotClosed
	}
	if i < 0 || i >= len(sn.buckets) {
		return fmt.Errorf("store: items snapshot has no bucket %d (it has %d)", i, len(sn.buckets))
	}
	if sn.s.db.IsClosed() {
		return ErrClosed
	}
	var upper string // "": the last bucket's run has no end
	if i+1 < len(sn.buckets) {
		upper = sn.buckets[i+1].Lower
	}
	return sn.s.viewTxn(sn.txn, sn.ix, func(tx *Tx) error {
		return tx.headsHashes(sn.schema, sn.buckets[i].Lower, upper, fn)
	})
}

// Close discards the snapshot's transaction. It is safe to call more than
// once, and after the store closed.
func (sn *ItemsSnapshot) Close() {
	if sn.txn == nil {
		return
	}
	// Badger's Discard tells a goroutine that a closed store has stopped, by a
	// channel of limited room: a closed store's transaction is left alone.
	if !sn.s.db.IsClosed() {
		sn.txn.Discard()
	}
	sn.txn = nil
	sn.s.snapshots.Add(-1)
}

// viewTxn runs fn in read-only transaction txn, whose index set is ix (see
// snapshot), as View does in one of its own.
func (s *Store) viewTxn(txn *badger.Txn, ix indexSet, fn func(tx *Tx) error) error {
	tx := &Tx{txn: txn, ix: ix, feed: &s.feed, chains: &s.chains}
	err := fn(tx)
	tx.end(false)
	if tx.judging {
		s.chains.judging.RUnlock()
	}
	return err
}
