package store

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/internal/itemsum"
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

// collectionDelta is what one transaction changed in a collection: the
// documents and blocks it added (for counts) and what it changed in the
// collection's items (for summaries), in all and item by item.
type collectionDelta struct {
	schema cid.Cid
	Counts
	items   itemsum.Sum  // the sum of changes' sums
	changes []itemChange // in the order the transaction made them; an ID may recur
}

// itemChange is what a transaction changed in the item of one document: the
// hash of its new item added and, unless the document is new, the hash of its
// old one taken away (a Count of 1 or 0).
type itemChange struct {
	id  string
	sum itemsum.Sum
}

// delta returns the transaction's record of what it changed in the
// collection with the given schema ID.
func (tx *Tx) delta(schema cid.Cid) *collectionDelta {
	for i := range tx.deltas {
		if tx.deltas[i].schema == schema {
			return &tx.deltas[i]
		}
	}
	tx.deltas = append(tx.deltas, collectionDelta{schema: schema})
	return &tx.deltas[len(tx.deltas)-1]
}

// added records that the transaction stores docs new documents and blocks new
// blocks of the collection with the given schema ID.
func (tx *Tx) added(schema cid.Cid, docs, blocks int64) {
	d := tx.delta(schema)
	d.Docs += docs
	d.Blocks += blocks
}

// reset forgets every count, as for an empty store.
func (c *counts) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bySchema = map[cid.Cid]Counts{}
}

// add adds what a committed transaction wrote.
func (c *counts) add(added []collectionDelta) {
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

// countAll counts the documents and blocks of every stored collection, for Open,
// from keys alone: the document records' keys (one per document, which is also
// its genesis block), then the log's keys (one per other block). A log entry
// belongs to the collection of its document, which the store looks up once per
// document when it knows more than one collection (a read of a document record
// key in each collection, largest first, until found). It reads no block and no
// document record.
func (s *Store) countAll() error {
	s.counts.bySchema = map[cid.Cid]Counts{}
	return s.View(func(tx *Tx) error {
		var schemas []cid.Cid
		err := tx.Collections(func(_ string, def []byte) error {
			schemas = append(schemas, schemaID(def))
			return nil
		})
		if err != nil {
			return err
		}
		for _, schema := range schemas {
			n := countKeys(tx, key(prefixDoc, schema.Bytes()))
			if n > 0 {
				s.counts.bySchema[schema] = Counts{Docs: n, Blocks: n}
			}
		}
		// Look documents up in the largest collections first.
		schemas = slices.Clone(schemas)
		slices.SortFunc(schemas, func(a, b cid.Cid) int {
			return cmp.Compare(s.counts.bySchema[b].Docs, s.counts.bySchema[a].Docs)
		})
		it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}})
		defer it.Close()
		var doc []byte // the CID bytes of the document whose entries are being counted
		var schema cid.Cid
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()[1:]
			if doc == nil || !bytes.HasPrefix(k, doc) {
				n, c, err := cid.CidFromBytes(k)
				if err != nil {
					return fmt.Errorf("store: log key %x: %w", k, err)
				}
				doc = append(doc[:0], k[:n]...)
				if schema, err = tx.schemaOf(schemas, c); err != nil {
					return err
				}
			}
			if schema.Defined() {
				n := s.counts.bySchema[schema]
				n.Blocks++
				s.counts.bySchema[schema] = n
			}
		}
		return nil
	})
}

// countKeys returns how many keys start with prefix.
func countKeys(tx *Tx, prefix []byte) int64 {
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	var n int64
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n
}

// schemaOf returns the schema ID, among schemas, of the collection that holds
// document doc; cid.Undef when none does.
func (tx *Tx) schemaOf(schemas []cid.Cid, doc cid.Cid) (cid.Cid, error) {
	if len(schemas) == 1 {
		return schemas[0], nil
	}
	id := doc.String()
	for _, schema := range schemas {
		ok, err := tx.has(docKey(schema, id))
		if err != nil {
			return cid.Undef, err
		}
		if ok {
			return schema, nil
		}
	}
	return cid.Undef, nil
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

// schemaID returns the schema ID of a collection definition: its CID (see
// internal/schema).
func schemaID(def []byte) cid.Cid {
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}.Sum(def)
	if err != nil {
		panic(err) // sha2-256 of bytes in memory cannot fail
	}
	return c
}
