package store

import (
	"encoding/binary"
	"fmt"

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
		item := it.Item()
		k := item.Key()[len(prefix):]
		if len(k) < 8 {
			return fmt.Errorf("store: malformed log key for %s", doc)
		}
		_, c, err := cid.CidFromBytes(k[8:])
		if err != nil {
			return fmt.Errorf("store: malformed log key for %s: %w", doc, err)
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
			return err
		}
		if err := fn(LogEntry{CID: c, Height: binary.BigEndian.Uint64(k[:8]), Size: int(size)}); err != nil {
			return err
		}
	}
	return nil
}
