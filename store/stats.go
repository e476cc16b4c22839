package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
)

// Counts is how many documents and blocks one collection holds. Deleted
// documents count: their records stay.
type Counts struct {
	Docs   int64
	Blocks int64
}

// counts keeps the number of documents and blocks of each collection: counted
// once by Open, then kept up to date by every committed transaction from what it
// wrote, so that reading them costs no scan.
type counts struct {
	mu       sync.Mutex
	bySchema map[cid.Cid]Counts
}

// schemaCounts is what one transaction added to a collection.
type schemaCounts struct {
	schema cid.Cid
	Counts
}

// added records that the transaction stores docs new documents and blocks new
// blocks of the collection with the given schema ID.
func (tx *Tx) added(schema cid.Cid, docs, blocks int64) {
	for i := range tx.counts {
		if tx.counts[i].schema == schema {
			tx.counts[i].Docs += docs
			tx.counts[i].Blocks += blocks
			return
		}
	}
	tx.counts = append(tx.counts, schemaCounts{schema, Counts{docs, blocks}})
}

// add adds what a committed transaction wrote.
func (c *counts) add(added []schemaCounts) {
	if len(added) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range added {
		n := c.bySchema[a.schema]
		n.Docs += a.Docs
		n.Blocks += a.Blocks
		c.bySchema[a.schema] = n
	}
}

// Counts returns the number of documents and blocks of the collection with the
// given schema ID, as of the last committed transaction: zero for a collection
// without documents. It reads counters the store keeps, not the records, so it is
// cheap. It is safe for concurrent use.
func (s *Store) Counts(schema cid.Cid) Counts {
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	return s.counts.bySchema[schema]
}

// countAll counts the documents and blocks of every stored collection, for Open:
// a pass over the keys of the document records and, for each document that has
// merged more than its genesis, over the keys of its log. It reads no block.
func (s *Store) countAll() error {
	s.counts.bySchema = map[cid.Cid]Counts{}
	return s.View(func(tx *Tx) error {
		logIt := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}})
		defer logIt.Close()
		for _, schema := range s.knownSchemas() {
			prefix := key(prefixDoc, schema.Bytes())
			it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			var n Counts
			for it.Rewind(); it.Valid(); it.Next() {
				n.Docs++
				n.Blocks++ // the genesis
				var kind byte
				err := it.Item().Value(func(rec []byte) (err error) {
					kind, _, err = splitRecord(rec)
					return err
				})
				if err == nil && kind == recordGenesis {
					continue // no other block, so no log entry
				}
				id := string(it.Item().Key()[len(prefix):])
				doc, derr := cid.Decode(id)
				if err == nil {
					err = derr
				}
				if err != nil {
					it.Close()
					return fmt.Errorf("store: document %s: %w", id, err)
				}
				logPrefix := key(prefixLog, doc.Bytes())
				for logIt.Seek(logPrefix); logIt.ValidForPrefix(logPrefix); logIt.Next() {
					n.Blocks++
				}
			}
			it.Close()
			if n.Docs > 0 {
				s.counts.bySchema[schema] = n
			}
		}
		return nil
	})
}

// DiskSize returns the bytes of disk the store's files take (less than their
// sizes where Badger keeps them sparse); 0 for an in-memory store, and on systems
// where the store does not check free space (see the package doc, "Disk space").
// It lists the store's directory, a few dozen files, so it is cheap enough to
// call every second. It is safe for concurrent use.
func (s *Store) DiskSize() (int64, error) {
	if s.dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("store: size: %w", err)
	}
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		n, err := allocated(filepath.Join(s.dir, e.Name()))
		if err != nil {
			continue // removed by a compaction since ReadDir
		}
		total += n
	}
	return total, nil
}
