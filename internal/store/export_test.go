package store

import "github.com/ipfs/go-cid"

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
