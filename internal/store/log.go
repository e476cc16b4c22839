package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
)

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

// DocLog calls fn for each entry of the block log of document doc whose height is
// at least minHeight, in increasing height (so parents before children), stopping
// at the first error fn returns. It reads the log only, not the blocks, and calls
// within one transaction share one iterator. The log lists every stored block of
// the document but its genesis, whose CID is the document ID (read it with
// GenesisData); a CID that is not a stored document's has no entries.
func (tx *Tx) DocLog(doc cid.Cid, minHeight uint64, fn func(LogEntry) error) error {
	if tx.logIt == nil {
		tx.logIt = tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixLog}})
	}
	it := tx.logIt
	prefix := key(prefixLog, doc.Bytes())
	for it.Seek(binary.BigEndian.AppendUint64(prefix, minHeight)); it.ValidForPrefix(prefix); it.Next() {
		e, err := logEntry(doc, prefix, it.Item())
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// DocLogDown calls fn for each entry of the block log of document doc that
// comes before the entry (height, c) in the log's order, in decreasing order
// (so children before parents), stopping at the first error fn returns. A
// height of 0 starts from the log's last entry. Like DocLog it reads the log
// only, and not the genesis.
func (tx *Tx) DocLogDown(doc cid.Cid, height uint64, c cid.Cid, fn func(LogEntry) error) error {
	prefix := key(prefixLog, doc.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	var from []byte
	if height == 0 {
		// Above every entry: a CID's first byte is never 0xff.
		from = append(binary.BigEndian.AppendUint64(slices.Clone(prefix), math.MaxUint64), 0xff)
	} else {
		from = logKey(doc, height, c)
	}
	it.Seek(from)
	if height != 0 && it.ValidForPrefix(prefix) && bytes.Equal(it.Item().Key(), from) {
		it.Next()
	}
	for ; it.ValidForPrefix(prefix); it.Next() {
		e, err := logEntry(doc, prefix, it.Item())
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// logEntry decodes the log entry item of document doc, whose log keys start
// with prefix.
func logEntry(doc cid.Cid, prefix []byte, item *badger.Item) (LogEntry, error) {
	k := item.Key()[len(prefix):]
	if len(k) < 8 {
		return LogEntry{}, fmt.Errorf("store: malformed log key for %s", doc)
	}
	_, c, err := cid.CidFromBytes(k[8:])
	if err != nil {
		return LogEntry{}, fmt.Errorf("store: malformed log key for %s: %w", doc, err)
	}
	var size uint64
	err = value(item, func(v []byte) error {
		var n int
		if size, n = binary.Uvarint(v); n <= 0 {
			return fmt.Errorf("store: malformed log entry of %s", c)
		}
		return nil
	})
	if err != nil {
		return LogEntry{}, err
	}
	return LogEntry{CID: c, Height: binary.BigEndian.Uint64(k[:8]), Size: int(size)}, nil
}
