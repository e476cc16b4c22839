package store

import (
	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
)

// DocRecordKey returns the key of the record of document doc in the collection
// with the given schema ID.
func DocRecordKey(schema, doc cid.Cid) []byte { return docKey(schema, doc.String()) }

// BlockRecordKey returns the key of the record of block c.
func BlockRecordKey(c cid.Cid) []byte { return key(prefixBlock, c.Bytes()) }

// GetRaw returns the bytes stored under k.
func (tx *Tx) GetRaw(k []byte) ([]byte, error) { return tx.get(k) }

// SetRaw stores v under k, bypassing every check.
func (tx *Tx) SetRaw(k, v []byte) error { return tx.txn.Set(k, v) }

// SetFeed turns the recording of change-feed entries on or off, for
// BenchmarkFeedCost. It must not run concurrently with a write.
func (s *Store) SetFeed(on bool) { s.feed.off = !on }

// SyncedLogs returns the write-ahead log and the value log the group commit
// last synced ("" for none since Open), or "", "" for a store that does not
// sync. It must not run concurrently with an Update.
func (s *Store) SyncedLogs() (wal, vlog string) {
	if s.durable == nil {
		return "", ""
	}
	name := func(l *logFiles) string {
		if l.f == nil {
			return ""
		}
		return l.f.Name()
	}
	return name(s.wals), name(s.vlogs)
}

// BadgerOptions returns the options the store opened Badger with.
func (s *Store) BadgerOptions() badger.Options { return s.db.Opts() }

// ChangeDisownedWaits reports whether a ChangeDisowned is waiting for
// transactions that asked a Disowned to end.
func (s *Store) ChangeDisownedWaits() bool {
	if s.chains.judging.TryRLock() {
		s.chains.judging.RUnlock()
		return false
	}
	return true
}

// SetBucketSizes sets how many items a whole read puts in each bucket of a
// collection's directory, and the count above which a bucket makes the
// directory uneven (bucketItems and maxBucketItems), so that a test sees
// several buckets, and uneven ones, with a few dozen documents. It must run
// before any read of the store.
func (s *Store) SetBucketSizes(items, maxItems int64) {
	s.summaries.bucketItems, s.summaries.maxBucketItems = items, maxItems
}

// DeleteRaw deletes the record under k, bypassing every check.
func (tx *Tx) DeleteRaw(k []byte) error { return tx.txn.Delete(k) }

// SetSnapshotStarted makes fn run in every snapshot right after its
// transaction starts (nil: nothing). It must not run concurrently with a read.
func (s *Store) SetSnapshotStarted(fn func()) { s.snapshotStarted = fn }
