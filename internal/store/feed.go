package store

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// The change feed: every block Apply merges and every document PutGenesis stores
// gets a position in one sequence per store, and an entry that the transaction
// writes with the merge itself (see the package doc, "Change feed").

// ErrCompacted reports a read of the change feed from a position whose entries
// were compacted away (see Store.CompactChanges): the reader must rescan. A
// *CompactedError says which position.
var ErrCompacted = errors.New("store: change feed compacted past that position")

// CompactedError is the error of a read of the change feed after Position,
// whose entries up to Floor were compacted away. It matches ErrCompacted.
type CompactedError struct {
	Position, Floor uint64
}

// Error names the position and how far the feed was compacted.
func (e *CompactedError) Error() string {
	return fmt.Sprintf("%v: %s", ErrCompacted, e.Detail())
}

// Detail names the position and how far the feed was compacted, without
// ErrCompacted's words, for an error of another package that matches its own.
func (e *CompactedError) Detail() string {
	return fmt.Sprintf("position %d, compacted up to %d", e.Position, e.Floor)
}

// Unwrap returns ErrCompacted.
func (e *CompactedError) Unwrap() error { return ErrCompacted }

// ChangeKind says what a change-feed entry reports.
type ChangeKind byte

// The kinds of change-feed entry.
const (
	// ChangeCreated: a document's genesis was stored.
	ChangeCreated ChangeKind = iota + 1
	// ChangeUpdated: a change was merged into a live document.
	ChangeUpdated
	// ChangeDeleted: a block deleting the document was merged.
	ChangeDeleted
	// ChangeOverridden: a change concurrent with a delete of its document lost
	// to it; the entry names the change's block and holds the values it gave.
	ChangeOverridden
)

// Change is one entry of the change feed, as Tx.Changes reads it.
type Change struct {
	Position uint64
	Kind     ChangeKind
	Doc      cid.Cid
	ID       string  // Doc's string form: the document ID
	Block    cid.Cid // the merged block (for ChangeCreated, Doc)
	// Peer is the peer the block came from; empty for a block made on this node.
	Peer string
	// Author is the Ed25519 public key that signed the block. Like Data, it
	// is valid only during the call to Changes' fn.
	Author []byte
	// Data holds the document's values after the change: for ChangeCreated the
	// genesis block (read from the document's records: the entry names it), else the encoded state (for ChangeOverridden, the state
	// with the overridden change merged and the delete not). It is valid only
	// during the call to Changes' fn; read it with Values.
	Data []byte
}

// Values reads the values of the fields named (by key) in names after the
// change into out, as ScanDocs does: nil for a field the document never had,
// crdt.Null for a cleared one. It scans the encoding without decoding it where
// it can. Strings are copies.
func (c *Change) Values(names []string, out []any) error {
	var err error
	if c.Kind == ChangeCreated {
		err = crdt.ScanGenesis(c.Data, names, out)
	} else {
		_, err = crdt.ScanState(c.Data, names, out)
	}
	if !errors.Is(err, crdt.ErrNotScannable) {
		return err
	}
	st, err := c.state()
	if err != nil {
		return err
	}
	for i, name := range names {
		out[i] = st.Stored(name)
	}
	return nil
}

// state decodes the entry's state.
func (c *Change) state() (*crdt.State, error) {
	if c.Kind != ChangeCreated {
		return crdt.DecodeStoredState(c.Data)
	}
	b, err := crdt.DecodeStored(c.Data, c.Doc)
	if err != nil {
		return nil, err
	}
	return crdt.NewState(b)
}

// Bounds of a change-feed record: a transaction's entries of one collection are
// written in records of at most this many entries and about this many bytes.
const (
	feedRecordEntries = 1024
	feedRecordBytes   = 256 << 10
)

// feedRecordVersion leads every change-feed record, so that its format can grow.
const feedRecordVersion = 1

// changesFloorKey is the metadata key of the feed's floor: the highest position
// compaction may have removed (8 bytes BE; absent: 0).
const changesFloorKey = "changesFloor"

// Each collection's feed has a floor of its own, at or below the feed's: the
// highest position of the collection's entries that compaction may have
// removed. A reader of a quiet collection sees only its own entries, so the
// position it keeps may lie far below the feed's floor while nothing it would
// read was removed. Three metadata values give it (8 bytes BE each, absent: 0):
//
//   - collectionFloorPrefix and a schema ID: the highest position of that
//     collection's entries that CompactChanges removed;
//   - floorsBaseKey: a position at or below which any collection's entries
//     may have been removed without their collection's floor saying so (by a
//     version that kept only the feed's floor);
//   - floorsAtKey: the feed's floor when CompactChanges last wrote the
//     collections' floors.
//
// While the feed's floor is still the one floorsAtKey holds, a collection's
// floor is the greater of its own and the base. When it is not, something that
// does not keep the collections' floors (a version before them) has compacted
// since: every collection's floor is the feed's, until CompactChanges raises
// the base to it.
const (
	collectionFloorPrefix = "collectionFloor/"
	floorsBaseKey         = "collectionFloorsBase"
	floorsAtKey           = "collectionFloorsAt"
)

// pendingChange is an entry a transaction has recorded and not yet written: its
// position is given when the transaction ends.
type pendingChange struct {
	schema     cid.Cid
	kind       ChangeKind
	doc, block cid.Cid
	peer       string
	author     []byte // the key that signed the block
	data       []byte // see Change.Data
}

// SetOrigin names the peer the blocks the transaction applies next came from, for
// their change-feed entries; empty (the default) means made on this node.
func (tx *Tx) SetOrigin(peer string) { tx.origin = peer }

// recordChange adds an entry for block of document doc, signed by author, whose
// values after it data holds (see Change.Data).
func (tx *Tx) recordChange(kind ChangeKind, schema, doc, block cid.Cid, author, data []byte) {
	if tx.feed.off {
		return
	}
	tx.changes = append(tx.changes, pendingChange{schema: schema, kind: kind, doc: doc, block: block, peer: tx.origin, author: author, data: data})
}

// Kind returns the kind of the change-feed entry that reports block b, which
// the transaction merged (PutGenesis, Apply, ApplyNew): what b did to its
// document. That is b's own kind (ChangeCreated for a genesis, ChangeDeleted
// for a delete, else ChangeUpdated), but ChangeOverridden for a change merged
// into a deleted document (ChangeDeleted for one that writes no value, see
// recordMerge) and, for a block cut off as it
// merged (see TrackChains), what the document is without it: ChangeDeleted
// when it then reads as deleted, else ChangeUpdated. The node's events report
// this kind, so that they say what the feed says. Call it before the
// transaction ends.
func (tx *Tx) Kind(b *crdt.Block) ChangeKind {
	if k, ok := tx.kinds[b.CID.KeyString()]; ok {
		return k
	}
	return ownKind(b)
}

// ownKind is the kind of change block b makes by itself: ChangeCreated for a
// genesis, ChangeDeleted for a delete, else ChangeUpdated.
func ownKind(b *crdt.Block) ChangeKind {
	switch {
	case b.IsGenesis():
		return ChangeCreated
	case b.Delete:
		return ChangeDeleted
	}
	return ChangeUpdated
}

// setKind makes kind the kind Kind reports for block b, just merged.
func (tx *Tx) setKind(b *crdt.Block, kind ChangeKind) {
	if kind == ownKind(b) {
		delete(tx.kinds, b.CID.KeyString())
		return
	}
	if tx.kinds == nil {
		tx.kinds = map[string]ChangeKind{}
	}
	tx.kinds[b.CID.KeyString()] = kind
}

// recordBlock adds the entry of kind that reports block b, just merged, whose
// document's values after it data holds (see Change.Data).
func (tx *Tx) recordBlock(kind ChangeKind, b *crdt.Block, data []byte) {
	tx.setKind(b, kind)
	tx.recordChange(kind, b.Schema, b.DocID(), b.CID, b.Author, data)
}

// recordMerge adds the entries of change b, just merged into a document whose
// state before it was before (heads and deletion) and is now st: an update of a
// live document, a change overridden by an earlier delete (an empty one, which
// loses nothing, is reported by what it leaves, a deleted document: an update
// would tell a reader that keeps a copy that the document lives), or a
// delete, which also overrides every change that writes a
// value, that it does not descend from (see concurrent) and that is not cut
// off (see cutOff): the heads with the state before the delete, encoded in
// before, the others with the state of the delete's history and the
// overridden changes up to them, merged in height order without the changes
// cut off. It returns st encoded, which the document's record reuses.
func (tx *Tx) recordMerge(b *crdt.Block, heads []cid.Cid, wasDeleted bool, before []byte, st *crdt.State) ([]byte, error) {
	data, err := st.Encode()
	if err != nil {
		return nil, err
	}
	doc := b.DocID()
	switch {
	case !b.Delete && wasDeleted && !empty(b):
		tx.recordBlock(ChangeOverridden, b, data)
		return data, nil
	case !b.Delete && wasDeleted:
		tx.recordBlock(ChangeDeleted, b, data)
		return data, nil
	case !b.Delete:
		tx.recordBlock(ChangeUpdated, b, data)
		return data, nil
	}
	tx.recordBlock(ChangeDeleted, b, data)
	if wasDeleted {
		return data, nil
	}
	lost, err := tx.concurrent(b, heads)
	if err != nil {
		return nil, err
	}
	// A change cut off by a revocation holds no value to lose (see cutOff).
	lost = slices.DeleteFunc(lost, tx.disowned)
	head := func(c *crdt.Block) bool { return slices.ContainsFunc(heads, c.CID.Equals) }
	// The delete's history, then the changes it overrides merged one by one:
	// the values of those that are not heads.
	var partial *crdt.State
	if slices.ContainsFunc(lost, func(c *crdt.Block) bool { return !empty(c) && !head(c) }) {
		if partial, err = tx.stateOf(b.Schema, b.Prev); err != nil {
			return nil, err
		}
	}
	for _, c := range lost {
		values := before
		if partial != nil {
			if err := partial.Merge(c); err != nil {
				return nil, err
			}
			if !head(c) && !empty(c) {
				if values, err = partial.Encode(); err != nil {
					return nil, err
				}
			}
		}
		if !empty(c) {
			tx.recordChange(ChangeOverridden, b.Schema, doc, c.CID, c.Author, values)
		}
	}
	return data, nil
}

// concurrent returns the blocks of a document whose heads were heads before
// delete d that d does not descend from, in ascending height: every change d
// overrides, not only the last of each branch. It walks the history from d's
// parents and from heads together, highest first, so that a block is judged
// once every block above it that reaches it has been, and stops once no
// block left reached from heads lies outside d's history.
func (tx *Tx) concurrent(d *crdt.Block, heads []cid.Cid) ([]*crdt.Block, error) {
	if !slices.ContainsFunc(heads, func(h cid.Cid) bool { return !slices.ContainsFunc(d.Prev, h.Equals) }) {
		return nil, nil // d builds on every head: the common case, read nothing
	}
	const fromDelete, fromHeads = 1, 2
	reach := map[cid.Cid]int{}
	q := &blockHeap{}
	outside := 0 // queued blocks reached from heads only
	add := func(c cid.Cid, from int) error {
		if r, ok := reach[c]; ok {
			if r == fromHeads && from&fromDelete != 0 {
				outside--
			}
			reach[c] = r | from
			return nil
		}
		b, err := tx.Block(d.Schema, c)
		if err != nil {
			return err
		}
		reach[c] = from
		if from == fromHeads {
			outside++
		}
		heap.Push(q, b)
		return nil
	}
	for _, p := range d.Prev {
		if err := add(p, fromDelete); err != nil {
			return nil, err
		}
	}
	for _, h := range heads {
		if err := add(h, fromHeads); err != nil {
			return nil, err
		}
	}
	var out []*crdt.Block
	for outside > 0 {
		b := heap.Pop(q).(*crdt.Block)
		from := reach[b.CID]
		if from == fromHeads {
			outside--
			out = append(out, b)
		}
		for _, p := range b.Prev {
			if err := add(p, from); err != nil {
				return nil, err
			}
		}
	}
	slices.Reverse(out)
	return out, nil
}

// stateOf returns the state of a document that merged exactly the blocks tips
// and their ancestors, of the collection with the given schema, but for those
// cut off (see cutOff), whose genesis is not cut off.
func (tx *Tx) stateOf(schema cid.Cid, tips []cid.Cid) (*crdt.State, error) {
	seen := map[cid.Cid]bool{}
	var blocks []*crdt.Block
	for queue := slices.Clone(tips); len(queue) > 0; {
		c := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[c] {
			continue
		}
		seen[c] = true
		b, err := tx.Block(schema, c)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, b)
		queue = append(queue, b.Prev...)
	}
	// Ascending height is a causal order, and the genesis alone has height 1.
	slices.SortFunc(blocks, func(x, y *crdt.Block) int { return cmp.Compare(x.Height, y.Height) })
	st, err := crdt.NewState(blocks[0])
	if err != nil {
		return nil, err
	}
	for _, b := range blocks[1:] {
		if tx.disowned(b) {
			continue
		}
		if err := st.Merge(b); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// empty reports whether change b writes no value: a transaction's seal (see
// crdt.TxnPart) may be one. It loses nothing to a delete, so it is never
// reported overridden, even when it follows one.
func empty(b *crdt.Block) bool {
	return !b.Delete && len(b.Set) == 0 && len(b.Add) == 0 && len(b.SAdd) == 0 && len(b.SRem) == 0
}

// blockHeap is a max-heap of blocks by height: a block's children, higher,
// come out before it.
type blockHeap []*crdt.Block

func (h blockHeap) Len() int           { return len(h) }
func (h blockHeap) Less(i, j int) bool { return h[i].Height > h[j].Height }
func (h blockHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *blockHeap) Push(x any)        { *h = append(*h, x.(*crdt.Block)) }
func (h *blockHeap) Pop() any {
	old := *h
	b := old[len(old)-1]
	*h = old[:len(old)-1]
	return b
}

// writeChanges gives the transaction's entries their positions and writes them,
// each collection's in records of consecutive positions keyed by the last.
// Entries keep the order they were recorded in within a collection.
func (tx *Tx) writeChanges() error {
	if len(tx.changes) == 0 {
		return nil
	}
	var schemas []cid.Cid
	for _, c := range tx.changes {
		if !slices.ContainsFunc(schemas, c.schema.Equals) {
			schemas = append(schemas, c.schema)
		}
	}
	pos := tx.feed.allocate(len(tx.changes), &tx.allocated)
	left := 0 // bytes of entries still to write, about
	for _, c := range tx.changes {
		left += len(c.data) + 64
	}
	// Each record is built after room for its header (version, count), which
	// put writes just before the entries once their count is known. Badger
	// keeps the value until the commit: every record has its own buffer.
	const headerRoom = 1 + binary.MaxVarintLen64
	var rec []byte
	n := 0
	put := func(schema cid.Cid, last uint64) error {
		var h [headerRoom]byte
		hdr := binary.AppendUvarint(append(h[:0], feedRecordVersion), uint64(n))
		start := headerRoom - len(hdr)
		copy(rec[start:], hdr)
		left -= len(rec)
		v := rec[start:]
		rec, n = nil, 0
		return tx.set(changeKey(schema, last), v)
	}
	for _, s := range schemas {
		for _, c := range tx.changes {
			if !c.schema.Equals(s) {
				continue
			}
			if rec == nil {
				rec = make([]byte, headerRoom, headerRoom+min(max(left, 0), feedRecordBytes+64))
			}
			rec = appendChange(rec, c)
			n++
			pos++
			if n == feedRecordEntries || len(rec) >= feedRecordBytes {
				if err := put(s, pos-1); err != nil {
					return err
				}
			}
		}
		if n > 0 {
			if err := put(s, pos-1); err != nil {
				return err
			}
		}
	}
	return nil
}

// An entry in a record: kind, the document CID, the block CID (empty when it is
// the document's), the peer, the author's key, the data (see Change.Data;
// empty for ChangeCreated); each but the kind with a uvarint length before it.
func appendChange(rec []byte, c pendingChange) []byte {
	rec = append(rec, byte(c.kind))
	rec = appendBytes(rec, c.doc.KeyString()) // a CID's bytes, without a copy
	if c.block.Equals(c.doc) {
		rec = appendBytes(rec, "")
	} else {
		rec = appendBytes(rec, c.block.KeyString())
	}
	rec = appendBytes(rec, c.peer)
	rec = append(binary.AppendUvarint(rec, uint64(len(c.author))), c.author...)
	rec = binary.AppendUvarint(rec, uint64(len(c.data)))
	return append(rec, c.data...)
}

func appendBytes(b []byte, v string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

// readBytes splits a uvarint-length-prefixed field off the front of b.
func readBytes(b []byte) (v, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errors.New("malformed change-feed entry")
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

func changeKey(schema cid.Cid, pos uint64) []byte {
	return binary.BigEndian.AppendUint64(key(prefixChange, schema.Bytes()), pos)
}

// changeKeyPos returns the schema and the position in a change-feed record key.
func changeKeyPos(k []byte) (cid.Cid, uint64, error) {
	n, schema, err := cid.CidFromBytes(k[1:])
	if err != nil || len(k) != 1+n+8 {
		return cid.Undef, 0, fmt.Errorf("malformed change-feed key %x", k)
	}
	return schema, binary.BigEndian.Uint64(k[1+n:]), nil
}

// decodeChanges decodes a change-feed record whose last position is last, and
// calls fn for each entry after position after, in order. The entries' Data
// and Author are slices of v, and fn gets the same Change each time, so it
// must not keep it.
func decodeChanges(v []byte, last, after uint64, fn func(c *Change) error) error {
	if len(v) == 0 || v[0] != feedRecordVersion {
		return errors.New("change-feed record of an unknown version")
	}
	count, k := binary.Uvarint(v[1:])
	if k <= 0 || count == 0 || count > last {
		return errors.New("malformed change-feed record")
	}
	rest := v[1+k:]
	c := new(Change)
	for pos := last - count + 1; pos <= last; pos++ {
		if len(rest) == 0 {
			return errors.New("change-feed record shorter than its count")
		}
		*c = Change{Position: pos, Kind: ChangeKind(rest[0])}
		var doc, block, peer, author []byte
		var err error
		if doc, rest, err = readBytes(rest[1:]); err != nil {
			return err
		}
		if block, rest, err = readBytes(rest); err != nil {
			return err
		}
		if peer, rest, err = readBytes(rest); err != nil {
			return err
		}
		if author, rest, err = readBytes(rest); err != nil {
			return err
		}
		if c.Data, rest, err = readBytes(rest); err != nil {
			return err
		}
		if pos <= after {
			continue
		}
		if c.Kind < ChangeCreated || c.Kind > ChangeOverridden {
			return fmt.Errorf("change-feed entry of unknown kind %d", c.Kind)
		}
		if c.Doc, err = cid.Cast(doc); err != nil {
			return fmt.Errorf("change-feed entry: %w", err)
		}
		c.ID = c.Doc.String()
		c.Block = c.Doc
		if len(block) > 0 {
			if c.Block, err = cid.Cast(block); err != nil {
				return fmt.Errorf("change-feed entry: %w", err)
			}
		}
		c.Peer = string(peer)
		if len(author) > 0 {
			c.Author = author
		}
		if (len(c.Data) == 0) != (c.Kind == ChangeCreated) {
			return fmt.Errorf("change-feed entry %d of kind %d with %d bytes of values", pos, c.Kind, len(c.Data))
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if len(rest) != 0 {
		return errors.New("change-feed record longer than its count")
	}
	return nil
}

// Changes calls fn for the change-feed entries of the collection with the given
// schema ID at positions after after and up to upTo, in position order, until
// fn returns an error, which Changes then returns. It fails with ErrCompacted
// when entries after after may have been compacted away. A reader passes the
// store's Watermark as upTo (read before the transaction began), so that it
// never passes a position a transaction still running may commit. The Change
// is valid only during the call to fn.
func (tx *Tx) Changes(schema cid.Cid, after, upTo uint64, fn func(c *Change) error) error {
	floor, err := tx.collectionFloor(schema)
	if err != nil {
		return err
	}
	if after < floor {
		return &CompactedError{Position: after, Floor: floor}
	}
	prefix := key(prefixChange, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Seek(changeKey(schema, after+1)); it.Valid(); it.Next() {
		item := it.Item()
		_, last, err := changeKeyPos(item.Key())
		if err != nil {
			return err
		}
		err = value(item, func(v []byte) error {
			return decodeChanges(v, last, after, func(c *Change) error {
				if c.Position > upTo {
					return errStopChanges
				}
				return tx.withGenesis(schema, c, fn)
			})
		})
		if errors.Is(err, errStopChanges) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: change-feed record %d: %w", last, err)
		}
	}
	return nil
}

var errStopChanges = errors.New("stop")

// withGenesis calls fn with c, a change-feed entry of collection schema, after
// setting the Data of a ChangeCreated entry to the genesis block, which the
// entry only names: read in place, without a copy, in the document's records
// (see genesisValue).
func (tx *Tx) withGenesis(schema cid.Cid, c *Change, fn func(c *Change) error) error {
	if c.Kind != ChangeCreated {
		return fn(c)
	}
	called := false
	err := tx.genesisValue(schema, c.Doc, c.ID, func(data []byte) error {
		called, c.Data = true, data
		return fn(c)
	})
	if err != nil && !called {
		return fmt.Errorf("genesis of document %s: %w", c.Doc, err)
	}
	return err
}

func (tx *Tx) changesFloor() (uint64, error) {
	floor, _, err := tx.metaPosition(changesFloorKey)
	return floor, err
}

// metaPosition returns the position metadata value k holds, and whether there
// is one (absent: 0, false).
func (tx *Tx) metaPosition(k string) (uint64, bool, error) {
	v, err := tx.Meta(k)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("store: malformed change-feed floor %q", k)
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// floorsBase returns the feed's floor and the base of the collections'
// floors (see collectionFloorPrefix): the feed's floor when the collections'
// floors do not hold since the last compaction.
func (tx *Tx) floorsBase() (floor, base uint64, err error) {
	if floor, err = tx.changesFloor(); err != nil {
		return 0, 0, err
	}
	at, _, err := tx.metaPosition(floorsAtKey)
	if err != nil {
		return 0, 0, err
	}
	if at != floor {
		return floor, floor, nil
	}
	base, _, err = tx.metaPosition(floorsBaseKey)
	return floor, base, err
}

// collectionFloor returns the highest position of the change-feed entries of
// the collection with the given schema ID that compaction may have removed.
func (tx *Tx) collectionFloor(schema cid.Cid) (uint64, error) {
	_, base, err := tx.floorsBase()
	if err != nil {
		return 0, err
	}
	own, _, err := tx.metaPosition(collectionFloorPrefix + schema.KeyString())
	return max(base, own), err
}

// checkChanges verifies the change-feed records: each decodes, names a stored
// document of its collection, lies above its collection's floor (which
// readers of the collection are held to) and at or below the last position.
// A record may lie below the feed's floor: a compaction cut short (see
// CompactChanges) raised it past records of collections it had not reached.
func (tx *Tx) checkChanges(last uint64, stop *checkStop) error {
	floors := map[string]uint64{} // by schema ID, as collectionFloor gives them
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixChange}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := stop.err(); err != nil {
			return fmt.Errorf("store: check: change feed: %w", err)
		}
		schema, pos, err := changeKeyPos(it.Item().Key())
		floor, ok := floors[schema.KeyString()]
		if err == nil && !ok {
			floor, err = tx.collectionFloor(schema)
			floors[schema.KeyString()] = floor
		}
		if err == nil && (pos <= floor || pos > last) {
			err = fmt.Errorf("position %d outside its collection's feed (%d, %d]", pos, floor, last)
		}
		if err == nil {
			err = value(it.Item(), func(v []byte) error {
				return decodeChanges(v, pos, 0, func(c *Change) error {
					err := tx.withGenesis(schema, c, func(c *Change) error {
						_, err := c.state()
						return err
					})
					if err != nil {
						return fmt.Errorf("entry %d: %w", c.Position, err)
					}
					if ok, err := tx.has(docKey(schema, c.ID)); err != nil || !ok {
						return fmt.Errorf("entry %d: document %s not stored (%v)", c.Position, c.Doc, err)
					}
					return nil
				})
			})
		}
		if err != nil {
			return fmt.Errorf("store: check: change-feed record %x: %w", it.Item().Key(), err)
		}
	}
	return nil
}

// feed allocates change-feed positions and tracks the transactions that hold
// some: positions are handed out in memory when a transaction ends, so writers
// share no record (one counter record would make every pair of concurrent
// writers conflict), and a reader reads only up to the watermark, below the
// first position of a transaction not yet committed or abandoned, so it never
// passes a position that commits later. An abandoned transaction leaves a gap.
//
// The watermark never passes the last position committed either: Open
// restores the positions from the records, so positions abandoned at the end
// of the feed are handed out again after a restart, and a reader that saved a
// watermark beyond them would skip the changes that take them.
type feed struct {
	mu        sync.Mutex
	last      uint64      // the last position allocated
	committed uint64      // the last position of the latest range committed, or restored
	inflight  []feedRange // the ranges of transactions not yet ended, ascending
	wake      chan struct{}
	mark      atomic.Uint64
	floor     atomic.Uint64 // the floor as last written (see CompactChanges)
	// off stops recording entries. Only BenchmarkFeedCost sets it (through
	// export_test.go), to measure what the feed adds to writes in one run.
	off bool
}

// feedRange is the positions allocated to one transaction.
type feedRange struct{ first, last uint64 }

// allocate gives k consecutive positions, the first of which it returns and
// stores in *first until release.
func (f *feed) allocate(k int, first *uint64) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	pos := f.last + 1
	f.last += uint64(k)
	f.inflight = append(f.inflight, feedRange{pos, f.last})
	*first = pos
	return pos
}

// release ends the transaction whose range begins at first: committed (and
// durable, for a store on disk), or abandoned.
func (f *feed) release(first uint64, committed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, _ := slices.BinarySearchFunc(f.inflight, first, func(r feedRange, first uint64) int { return cmp.Compare(r.first, first) })
	if committed {
		f.committed = max(f.committed, f.inflight[i].last)
	}
	f.inflight = slices.Delete(f.inflight, i, i+1)
	mark := f.committed
	if len(f.inflight) > 0 {
		mark = min(mark, f.inflight[0].first-1)
	}
	if mark > f.mark.Load() {
		f.mark.Store(mark)
		if f.wake != nil {
			close(f.wake)
			f.wake = nil
		}
	}
}

// reset makes f the feed of a store whose last position is last.
func (f *feed) reset(last, floor uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.committed, f.inflight = last, last, nil
	f.mark.Store(last)
	f.floor.Store(floor)
}

// Watermark returns the position up to which every change-feed entry is
// committed or abandoned: a View begun after Watermark returned sees every
// entry at or below it that will ever exist. It is at most the last position
// committed, so that it keeps its meaning across a restart.
func (s *Store) Watermark() uint64 { return s.feed.mark.Load() }

// ChangesFloor returns the highest position compaction may have removed: reads
// of the feed after a lower position fail with ErrCompacted.
func (s *Store) ChangesFloor() uint64 { return s.feed.floor.Load() }

// ChangesWake returns a channel closed when the watermark next advances. Take it
// before reading Watermark, so that no advance goes unnoticed.
func (s *Store) ChangesWake() <-chan struct{} {
	f := &s.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wake == nil {
		f.wake = make(chan struct{})
	}
	return f.wake
}

// loadFeed restores the feed's last position at Open: the highest key of each
// collection's records (one seek per collection) or the floor, whichever is
// higher.
func (s *Store) loadFeed() error {
	var last, floor uint64
	err := s.View(func(tx *Tx) error {
		var err error
		if floor, err = tx.changesFloor(); err != nil {
			return err
		}
		last = floor
		it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixChange}, Reverse: true})
		defer it.Close()
		for it.Seek([]byte{prefixChange, 0xff}); it.Valid(); {
			schema, pos, err := changeKeyPos(it.Item().Key())
			if err != nil {
				return err
			}
			last = max(last, pos)
			// On to the previous collection's last record: its key is below
			// this collection's prefix, which is below all its records' keys.
			it.Seek(key(prefixChange, schema.Bytes()))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	s.feed.reset(last, floor)
	return nil
}

// compactBatch is how many records one transaction of CompactChanges deletes.
const compactBatch = 1000

// CompactChanges deletes the change-feed records whose entries are all at or
// below position upTo, in transactions of compactBatch records, each of which
// raises the floor to the last position it deleted, so that a reader never
// misses an entry without being told (ErrCompacted). It returns how many
// records it deleted. It goes through the collections one after the other,
// so that until it ends (or, cut short by a crash, until a later compaction
// reaches them) the records of those it has not reached may lie below the
// feed's floor: each collection's own floor is what its readers are held to.
func (s *Store) CompactChanges(upTo uint64) (int, error) {
	total := 0
	for {
		n, floor := 0, uint64(0)
		err := s.Update(func(tx *Tx) error {
			var base uint64
			var err error
			floor, base, err = tx.floorsBase()
			if err != nil {
				return err
			}
			own := map[string]uint64{} // the new floor of each collection whose entries go
			var keys [][]byte
			it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixChange}})
			for it.Rewind(); it.Valid() && len(keys) < compactBatch; {
				k := it.Item().KeyCopy(nil)
				schema, pos, err := changeKeyPos(k)
				if err != nil {
					it.Close()
					return err
				}
				if pos <= upTo {
					keys = append(keys, k)
					floor = max(floor, pos)
					own[schema.KeyString()] = max(own[schema.KeyString()], pos)
					it.Next()
					continue
				}
				// Past upTo in this collection: on to the next one.
				it.Seek(changeKey(schema, ^uint64(0)))
			}
			it.Close()
			for _, k := range keys {
				if err := tx.del(k); err != nil {
					return err
				}
			}
			n = len(keys)
			if n == 0 {
				return nil
			}
			for schema, pos := range own {
				if err := tx.PutMeta(collectionFloorPrefix+schema, binary.BigEndian.AppendUint64(nil, pos)); err != nil {
					return err
				}
			}
			for _, m := range []struct {
				key string
				pos uint64
			}{{floorsBaseKey, base}, {floorsAtKey, floor}, {changesFloorKey, floor}} {
				if err := tx.PutMeta(m.key, binary.BigEndian.AppendUint64(nil, m.pos)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		total += n
		s.feed.floor.Store(floor)
	}
}
