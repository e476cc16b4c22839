package store

import (
	"slices"

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

// CutDropShort leaves index id of the collection with the given schema ID as
// a crash in the middle of DropIndex does: its definition says dropping and
// its first n entries are deleted, the others kept. The index set is not
// changed: the store must be closed and opened again.
func (s *Store) CutDropShort(schema cid.Cid, id uint32, n int) error {
	return s.Update(func(tx *Tx) error {
		i := slices.IndexFunc(s.indexes.load()[schema], func(ix *Index) bool { return ix.ID == id })
		if i < 0 {
			return ErrIndex
		}
		ix := *s.indexes.load()[schema][i]
		ix.State = IndexDropping
		if err := tx.putIndexDef(&ix); err != nil {
			return err
		}
		it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: indexPrefix(id)})
		var keys [][]byte
		for it.Rewind(); it.Valid() && len(keys) < n; it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		for _, k := range keys {
			if err := tx.del(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// IndexRecords reports whether the definition of index id of the collection
// with the given schema ID is stored, and how many entries of it are.
func (s *Store) IndexRecords(schema cid.Cid, id uint32) (def bool, entries int, err error) {
	err = s.View(func(tx *Tx) error {
		var err error
		if def, err = tx.has(indexDefKey(schema, id)); err != nil {
			return err
		}
		it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: indexPrefix(id)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			entries++
		}
		return nil
	})
	return def, entries, err
}

// ChangeRecordKey returns the key of the change-feed record of the collection
// with the given schema ID whose last position is pos.
func ChangeRecordKey(schema cid.Cid, pos uint64) []byte { return changeKey(schema, pos) }
