package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
	"github.com/gossipdb/gossipdb/internal/itemsum"
)

// Secondary indexes are local derived data: which indexes a node keeps is not
// part of a collection's definition (nor of its schema ID), and their entries
// are never sent to peers. Records:
//
//	'i' schema ID, index ID (4 bytes BE) → the index's definition (JSON, indexDef)
//	'x' index ID (4 bytes BE), key, doc  → empty: one entry per live
//	                                       document, key being the components of
//	                                       the indexed fields' values and doc the
//	                                       document ID's (package internal/index),
//	                                       read back from the key (docOf); an
//	                                       entry written before layout 7 holds
//	                                       the document ID as its value too;
//	                                       for an index on a list or set field,
//	                                       one per distinct item of a live
//	                                       document, key being the item's
//	                                       component (none for no item)
//	'm' "nextIndex"                      → the next index ID (4 bytes BE); IDs
//	                                       are never reused
//
// An index entry changes in the same transaction as the state it reflects:
// whichever way a document's state changes (PutGenesis, Apply, local or remote),
// the transaction computes the entries of the state it read and of the state it
// writes, and deletes and sets the difference when it writes the document
// record (flush). A deleted document has no entries.
//
// An index added to a collection that holds documents is built in pages by
// BuildIndex; meanwhile every write maintains it as if it were complete, so an
// entry is never wrong, only missing for documents the build has not reached.
// A write transaction takes the set of indexes when it starts; AddIndex and
// DropIndex change the set while no write transaction runs (they hold the
// serial lock exclusively), so every transaction that commits after the
// change maintains the new set.
const (
	prefixIndexDef = 'i'
	prefixIndex    = 'x'
	metaNextIndex  = "nextIndex"
)

// IndexState is the life stage of an index.
type IndexState string

// The stages of an index.
const (
	IndexBuilding IndexState = "building" // entries may be missing for documents the build has not read
	IndexReady    IndexState = "ready"    // every live document has its entry
	IndexDropping IndexState = "dropping" // entries being deleted; no longer maintained
)

// IndexField is one field of an index: its stable key (crdt.Field.ID),
// kind and direction, and whether it is a list or set field, whose items
// the index holds (such an index has no other field).
type IndexField struct {
	Key  string    `json:"key"`
	Kind crdt.Kind `json:"kind"`
	Desc bool      `json:"desc,omitempty"`
	List bool      `json:"list,omitempty"`
}

// Index describes one secondary index of a collection. Values handed out are
// copies: the store publishes a new one when an index changes.
type Index struct {
	ID     uint32       `json:"-"`
	Schema cid.Cid      `json:"-"`
	Name   string       `json:"name"`
	Fields []IndexField `json:"fields"`
	State  IndexState   `json:"state"`
	// Built is, while building, the ID of the last document the build has
	// read; every live document up to it has its entry.
	Built string `json:"built,omitempty"`
	// Read is how many documents the build has read so far.
	Read int64 `json:"read"`
}

// MaxIndexes is the most indexes a collection may have, and MaxIndexFields the
// most fields an index may hold.
const (
	MaxIndexes     = 64
	MaxIndexFields = 8
)

// ErrIndex reports an AddIndex or DropIndex refused: a name taken or unknown,
// too many indexes or fields.
var ErrIndex = errors.New("store: bad index")

// ErrIndexDropped reports a read of the entries of an index that was dropped
// before the reading transaction started: its entries may be partly deleted.
var ErrIndexDropped = errors.New("store: index dropped")

// indexSet is the published set of maintained indexes (building and ready), by
// schema ID. It is never modified once published.
type indexSet map[cid.Cid][]*Index

// indexes holds the store's index set.
type indexes struct {
	mu  sync.Mutex // serialises changes to the set
	set atomic.Pointer[indexSet]
}

func (x *indexes) load() indexSet {
	if p := x.set.Load(); p != nil {
		return *p
	}
	return nil
}

// replace publishes a set where the index with ix's ID is ix (added if new), or
// removed when ix.State is IndexDropping. Callers hold x.mu.
func (x *indexes) replace(ix *Index) {
	old := x.load()
	next := make(indexSet, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	list := slices.DeleteFunc(slices.Clone(next[ix.Schema]), func(o *Index) bool { return o.ID == ix.ID })
	if ix.State != IndexDropping {
		list = append(list, ix)
		slices.SortFunc(list, func(a, b *Index) int { return int(a.ID) - int(b.ID) })
	}
	if len(list) == 0 {
		delete(next, ix.Schema)
	} else {
		next[ix.Schema] = list
	}
	x.set.Store(&next)
}

func indexDefKey(schema cid.Cid, id uint32) []byte {
	return binary.BigEndian.AppendUint32(key(prefixIndexDef, schema.Bytes()), id)
}

func indexPrefix(id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixIndex}, id)
}

func (tx *Tx) putIndexDef(ix *Index) error {
	data, err := json.Marshal(ix)
	if err != nil {
		return err
	}
	return tx.set(indexDefKey(ix.Schema, ix.ID), data)
}

// entry appends to dst the key of ix's entry for document id whose field
// values value gives.
func (ix *Index) entry(dst []byte, id string, value func(key string) any) []byte {
	if dst == nil {
		dst = make([]byte, 0, 96+2*len(id)) // about what most entries take: one allocation
	}
	dst = binary.BigEndian.AppendUint32(append(dst, prefixIndex), ix.ID)
	for _, f := range ix.Fields {
		dst = index.AppendValue(dst, f.Kind, value(f.Key), f.Desc)
	}
	return index.AppendDocID(dst, id, ix.Fields[len(ix.Fields)-1].Desc)
}

// docOf returns the document ID that ends key, the key of an entry of ix
// without the index's prefix, after one component per field of ix.
func (ix *Index) docOf(key []byte) (string, error) {
	rest := key
	for _, f := range ix.Fields {
		n, ok := index.ValueLen(rest, f.Kind, f.Desc)
		if !ok {
			return "", fmt.Errorf("store: index %q: entry %x: malformed", ix.Name, key)
		}
		rest = rest[n:]
	}
	id, ok := index.DocIDAt(rest, ix.Fields[len(ix.Fields)-1].Desc)
	if !ok {
		return "", fmt.Errorf("store: index %q: entry %x: malformed document ID", ix.Name, key)
	}
	return id, nil
}

// itemEntries appends to out the entries of ix, an index on a list or set
// field, for document id whose field values value gives: one per distinct
// item, in key order.
func (ix *Index) itemEntries(out [][]byte, id string, value func(key string) any) [][]byte {
	items, _ := value(ix.Fields[0].Key).([]any)
	start := len(out)
	for _, x := range items {
		out = append(out, ix.entry(nil, id, func(string) any { return x }))
	}
	mine := out[start:]
	slices.SortFunc(mine, bytes.Compare)
	return out[:start+len(slices.CompactFunc(mine, bytes.Equal))]
}

// entries appends to out the keys of ix's entries for document id whose
// field values value gives: one, or one per distinct item of a list or set.
func (ix *Index) entries(out [][]byte, id string, value func(key string) any) [][]byte {
	if ix.Fields[0].List {
		return ix.itemEntries(out, id, value)
	}
	return append(out, ix.entry(nil, id, value))
}

// entriesOf returns the index entries of a document's state for the indexes of
// its collection in the transaction's set; nil for a deleted document.
func (tx *Tx) entriesOf(st *crdt.State) [][]byte {
	list := tx.ix[st.Schema]
	if len(list) == 0 || st.Deleted {
		return nil
	}
	id := st.Doc.String()
	value := func(k string) any { v, _ := st.Value(k); return v }
	out := make([][]byte, 0, len(list))
	for _, ix := range list {
		out = ix.entries(out, id, value)
	}
	return out
}

// updateEntries deletes the entries in old that are not in new and sets those
// in new that are not in old. It sorts both.
func (tx *Tx) updateEntries(old, new [][]byte) error {
	slices.SortFunc(old, bytes.Compare)
	slices.SortFunc(new, bytes.Compare)
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		c := 0
		switch {
		case i == len(old):
			c = 1
		case j == len(new):
			c = -1
		default:
			c = bytes.Compare(old[i], new[j])
		}
		switch {
		case c == 0:
			i++
			j++
		case c < 0:
			if err := tx.del(old[i]); err != nil {
				return err
			}
			i++
		default:
			if err := tx.set(new[j], nil); err != nil {
				return err
			}
			j++
		}
	}
	return nil
}

// genesisEntries returns the index entries of new document id from its
// genesis, in one allocation.
func (tx *Tx) genesisEntries(b *crdt.Block, id string) [][]byte {
	list := tx.ix[b.Schema]
	if len(list) == 0 || b.Delete {
		return nil
	}
	value := func(k string) any {
		if v, ok := b.Set[k]; ok {
			return v
		}
		if v, ok := b.SAdd[k]; ok {
			return v // a set's elements are those its genesis adds
		}
		return b.Add[k] // a counter's value is its first increment
	}
	out := make([][]byte, 0, len(list))
	buf := make([]byte, 0, len(list)*(96+2*len(id))) // about what most entries take
	for _, ix := range list {
		if ix.Fields[0].List {
			out = ix.itemEntries(out, id, value)
			continue
		}
		start := len(buf)
		buf = ix.entry(buf, id, value)
		out = append(out, buf[start:len(buf):len(buf)])
	}
	return out
}

// Indexes returns the indexes of the collection with the given schema ID that
// are maintained (building or ready), in creation order. The Index values are
// the caller's; it is safe for concurrent use.
func (s *Store) Indexes(schema cid.Cid) []Index {
	return copyIndexes(s.indexes.load()[schema])
}

// Indexes returns the indexes of the collection with the given schema ID as
// Store.Indexes gave them when the transaction started: an index whose build
// finished since is building here, as the transaction's snapshot lacks some of
// its entries. Queries in the transaction plan with these.
func (tx *Tx) Indexes(schema cid.Cid) []Index {
	return copyIndexes(tx.ix[schema])
}

// copyIndexes returns the caller's copy of a published list of indexes.
func copyIndexes(list []*Index) []Index {
	out := make([]Index, len(list))
	for i, ix := range list {
		out[i] = *ix
		out[i].Fields = slices.Clone(ix.Fields)
	}
	return out
}

// AddIndex records a new index of the collection with the given schema ID, in
// state IndexBuilding, and from then on every write maintains it. The caller
// then runs BuildIndex until it reports the index ready. A name already used by
// an index of the collection, more than MaxIndexes indexes, no field or more
// than MaxIndexFields fail with ErrIndex.
func (s *Store) AddIndex(schema cid.Cid, name string, fields []IndexField) (Index, error) {
	ixs, err := s.AddIndexes([]NewIndex{{Schema: schema, Name: name, Fields: fields}}, nil)
	if err != nil {
		return Index{}, err
	}
	return ixs[0], nil
}

// NewIndex describes an index for AddIndexes to add: the schema ID of its
// collection, its name and its fields.
type NewIndex struct {
	Schema cid.Cid
	Name   string
	Fields []IndexField
}

// AddIndexes adds the indexes add, each as AddIndex does, in one transaction
// with the writes of fn (nil for none): either fn's writes and every index
// definition commit, or nothing does. It returns the indexes in add's order.
// A name used twice in a collection, by add or by an existing index, more
// than MaxIndexes indexes in a collection, no field or more than
// MaxIndexFields fail with ErrIndex and change nothing; an error of fn is
// returned as is. fn may run more than once (see Update).
func (s *Store) AddIndexes(add []NewIndex, fn func(tx *Tx) error) ([]Index, error) {
	if s.db.IsClosed() {
		return nil, ErrClosed
	}
	for _, a := range add {
		if len(a.Fields) == 0 || len(a.Fields) > MaxIndexFields {
			return nil, fmt.Errorf("%w: an index has 1 to %d fields, not %d", ErrIndex, MaxIndexFields, len(a.Fields))
		}
	}
	s.indexes.mu.Lock()
	defer s.indexes.mu.Unlock()
	set := s.indexes.load()
	ixs := make([]*Index, len(add))
	added := map[cid.Cid]int{}
	for i, a := range add {
		taken := slices.ContainsFunc(set[a.Schema], func(ix *Index) bool { return ix.Name == a.Name }) ||
			slices.ContainsFunc(ixs[:i], func(ix *Index) bool { return ix.Schema.Equals(a.Schema) && ix.Name == a.Name })
		if taken {
			return nil, fmt.Errorf("%w: index %q exists", ErrIndex, a.Name)
		}
		if added[a.Schema]++; len(set[a.Schema])+added[a.Schema] > MaxIndexes {
			return nil, fmt.Errorf("%w: a collection has at most %d indexes", ErrIndex, MaxIndexes)
		}
		ixs[i] = &Index{Schema: a.Schema, Name: a.Name, Fields: slices.Clone(a.Fields), State: IndexBuilding}
	}
	err := s.Update(func(tx *Tx) error {
		next := uint32(1)
		v, err := tx.Meta(metaNextIndex)
		switch {
		case err == nil && len(v) == 4:
			next = binary.BigEndian.Uint32(v)
		case err == nil:
			return fmt.Errorf("store: malformed %s record", metaNextIndex)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		for _, ix := range ixs {
			ix.ID = next
			next++
			if err := tx.putIndexDef(ix); err != nil {
				return err
			}
		}
		if len(ixs) > 0 {
			if err := tx.PutMeta(metaNextIndex, binary.BigEndian.AppendUint32(nil, next)); err != nil {
				return err
			}
		}
		if fn != nil {
			return fn(tx)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.serial.Lock() // no write transaction runs: every later one maintains ixs
	for _, ix := range ixs {
		s.indexes.replace(ix)
	}
	s.serial.Unlock()
	out := make([]Index, len(ixs))
	for i, ix := range ixs {
		out[i] = *ix
		out[i].Fields = slices.Clone(ix.Fields)
	}
	return out, nil
}

// buildPage is how many documents one transaction of BuildIndex reads by
// default (see Options.BuildPage).
const buildPage = 1024

// BuildIndex adds the entries of the next documents, up to Options.BuildPage, to the
// index with the given ID, in one transaction, and reports whether the index
// is now ready (also when it already was). Run it until then; a build resumes
// where it stopped, after a restart too. An unknown index fails with ErrIndex.
func (s *Store) BuildIndex(schema cid.Cid, id uint32) (ready bool, err error) {
	s.indexes.mu.Lock()
	defer s.indexes.mu.Unlock()
	i := slices.IndexFunc(s.indexes.load()[schema], func(ix *Index) bool { return ix.ID == id })
	if i < 0 {
		return false, fmt.Errorf("%w: no index %d", ErrIndex, id)
	}
	cur := s.indexes.load()[schema][i]
	if cur.State == IndexReady {
		return true, nil
	}
	var next *Index
	err = s.Update(func(tx *Tx) error {
		ix := *cur
		next = &ix
		var entries [][]byte
		err := tx.Docs(schema, ix.Built, func(id string, st *crdt.State) error {
			if id == ix.Built {
				return nil // read by the previous page
			}
			if ix.Read-cur.Read == s.buildPage {
				return errPageFull
			}
			if !st.Deleted {
				entries = ix.entries(entries, id, func(k string) any { v, _ := st.Value(k); return v })
			}
			ix.Built = id
			ix.Read++
			return nil
		})
		switch {
		case err == nil:
			ix.State, ix.Built = IndexReady, ""
		case !errors.Is(err, errPageFull):
			return err
		}
		for _, k := range entries {
			if err := tx.set(k, nil); err != nil {
				return err
			}
		}
		return tx.putIndexDef(&ix)
	})
	if err != nil {
		return false, err
	}
	s.indexes.replace(next)
	return next.State == IndexReady, nil
}

// errPageFull ends a scan at the end of a page.
var errPageFull = errors.New("store: page full")

// dropPage is how many entries one transaction of DropIndex deletes.
const dropPage = 4096

// DropIndex stops maintaining the index called name of the collection with the
// given schema ID and deletes its entries and definition. An unknown name fails
// with ErrIndex. If the node stops before the end, Open finishes the drop.
func (s *Store) DropIndex(schema cid.Cid, name string) error {
	if s.db.IsClosed() {
		return ErrClosed
	}
	s.indexes.mu.Lock()
	list := s.indexes.load()[schema]
	i := slices.IndexFunc(list, func(ix *Index) bool { return ix.Name == name })
	if i < 0 {
		s.indexes.mu.Unlock()
		return fmt.Errorf("%w: no index %q", ErrIndex, name)
	}
	ix := *list[i]
	ix.State = IndexDropping
	err := s.Update(func(tx *Tx) error { return tx.putIndexDef(&ix) })
	if err == nil {
		s.serial.Lock()
		s.indexes.replace(&ix)
		s.serial.Unlock()
	}
	s.indexes.mu.Unlock()
	if err != nil {
		return err
	}
	return s.finishDrop(&ix)
}

// finishDrop deletes the entries and then the definition of a dropped index.
func (s *Store) finishDrop(ix *Index) error {
	prefix := indexPrefix(ix.ID)
	for {
		n := 0
		err := s.Update(func(tx *Tx) error {
			n = 0
			it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			var keys [][]byte
			for it.Rewind(); it.Valid() && len(keys) < dropPage; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			it.Close()
			for _, k := range keys {
				if err := tx.del(k); err != nil {
					return err
				}
			}
			n = len(keys)
			if n < dropPage {
				return tx.del(indexDefKey(ix.Schema, ix.ID))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: drop index %q: %w", ix.Name, err)
		}
		if n < dropPage {
			return nil
		}
	}
}

// loadIndexes reads the index definitions at Open, publishes those maintained
// and finishes the drops a previous run left.
func (s *Store) loadIndexes() error {
	var dropping []*Index
	set := indexSet{}
	err := s.View(func(tx *Tx) error {
		return tx.each(prefixIndexDef, func(k string, v []byte) error {
			b := []byte(k)
			n, schema, err := cid.CidFromBytes(b)
			if err != nil || len(b) != n+4 {
				return fmt.Errorf("store: index definition key %x: malformed", k)
			}
			ix := &Index{}
			if err := json.Unmarshal(v, ix); err != nil || len(ix.Fields) == 0 {
				return fmt.Errorf("store: index definition %x: malformed (%v)", k, err)
			}
			ix.Schema, ix.ID = schema, binary.BigEndian.Uint32(b[n:])
			switch ix.State {
			case IndexDropping:
				dropping = append(dropping, ix)
			case IndexBuilding, IndexReady:
				set[schema] = append(set[schema], ix)
			default:
				return fmt.Errorf("store: index definition %x: unknown state %.16q", k, ix.State)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.indexes.set.Store(&set)
	for _, ix := range dropping {
		if err := s.finishDrop(ix); err != nil {
			return err
		}
	}
	return nil
}

// IndexEntries calls fn for each entry of index ix whose key, without the
// index's prefix, is in [lo, hi) (hi nil: no upper bound), in key order or,
// with reverse, in reverse order, until fn returns an error. key is valid only
// during the call; doc decodes the entry's document ID from it. It fails with
// ErrIndexDropped when the transaction's index set (see Tx.Indexes) no longer
// has ix.
func (tx *Tx) IndexEntries(ix Index, lo, hi []byte, reverse bool, fn func(key []byte, doc func() (string, error)) error) error {
	if !slices.ContainsFunc(tx.ix[ix.Schema], func(o *Index) bool { return o.ID == ix.ID }) {
		return fmt.Errorf("%w: %q", ErrIndexDropped, ix.Name)
	}
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := indexPrefix(ix.ID)
	// Every key in [lo, hi) starts with their common prefix: an iterator
	// bounded by it reads only the tables that may hold such keys.
	common := prefix
	if hi != nil {
		n := 0
		for n < len(lo) && n < len(hi) && lo[n] == hi[n] {
			n++
		}
		common = append(slices.Clone(prefix), lo[:n]...)
	}
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: common, Reverse: reverse})
	defer it.Close()
	start := append(slices.Clone(prefix), lo...)
	if reverse {
		if hi == nil {
			start = append(slices.Clone(prefix), 0xFF, 0xFF, 0xFF, 0xFF)
		} else {
			start = append(slices.Clone(prefix), hi...)
		}
	}
	var k []byte
	doc := func() (string, error) { return ix.docOf(k) }
	for it.Seek(start); it.Valid(); it.Next() {
		k = it.Item().Key()[len(prefix):]
		if reverse {
			if hi != nil && bytes.Compare(k, hi) >= 0 {
				continue // Seek lands on the greatest key ≤ start: hi itself is excluded
			}
			if bytes.Compare(k, lo) < 0 {
				return nil
			}
		} else if hi != nil && bytes.Compare(k, hi) >= 0 {
			return nil
		}
		if err := fn(k, doc); err != nil {
			return err
		}
	}
	return nil
}

// indexSums adds up, for each index of each collection, the item hashes
// (itemsum.Hash, an entry's key with the zero hash) of the entries the
// documents' states give: what checkIndexes compares each index with. Check
// adds each document as it reads it, so the documents are read once for all
// the indexes.
type indexSums struct {
	ix      indexSet
	sums    map[cid.Cid][]itemsum.Sum // by collection, in the order of ix's lists
	entries [][]byte                  // scratch
}

func (tx *Tx) newIndexSums() *indexSums {
	return &indexSums{ix: tx.ix, sums: map[cid.Cid][]itemsum.Sum{}}
}

// add adds the entries of st, a document's state, to the sums of its
// collection's indexes: none for a deleted document, and none for a building
// index that has not read the document yet.
func (s *indexSums) add(st *crdt.State) {
	list := s.ix[st.Schema]
	if len(list) == 0 || st.Deleted {
		return
	}
	sums := s.sums[st.Schema]
	if sums == nil {
		sums = make([]itemsum.Sum, len(list))
		s.sums[st.Schema] = sums
	}
	id := st.Doc.String()
	value := func(k string) any { v, _ := st.Value(k); return v }
	for i, ix := range list {
		if ix.State == IndexBuilding && id > ix.Built {
			continue
		}
		s.entries = ix.entries(s.entries[:0], id, value)
		for _, e := range s.entries {
			sums[i].Add(string(e), [32]byte{})
		}
	}
}

// of returns the sum for the i-th index of collection schema: empty when the
// collection has no live document.
func (s *indexSums) of(schema cid.Cid, i int) itemsum.Sum {
	if sums := s.sums[schema]; sums != nil {
		return sums[i]
	}
	return itemsum.Sum{}
}

// checkIndexes verifies every index: each entry is the one its document's
// state gives, and each live document has its entry in a ready index (and in
// a building one, up to where the build has read).
//
// want holds the sums of the entries the states give, which Check added up as
// it read the documents. It reads each index's entries once, adding up those
// it holds; the two sums agree when the index holds the entries the states
// give and no other. Only an index whose sums differ is read again, each
// entry against its document's state, to name what is wrong (checkIndex).
func (tx *Tx) checkIndexes(want *indexSums, stop *checkStop) error {
	for schema, list := range tx.ix {
		for i, ix := range list {
			w := want.of(schema, i)
			held, err := tx.indexSum(schema, ix, stop)
			if err == nil && held != w {
				if err = tx.checkIndex(schema, ix, stop); err == nil {
					err = fmt.Errorf("its %d entries are not the %d its documents give", held.Count, w.Count)
				}
			}
			if err != nil {
				return fmt.Errorf("store: check: index %q of %s: %w", ix.Name, schema, err)
			}
		}
	}
	return nil
}

// indexSum returns the sum of the item hashes of ix's entries, each checked to
// be well formed. An entry of a document a building index has not reached is
// not in the sum, as its document may have no entry yet: it is checked against
// its document's state instead.
func (tx *Tx) indexSum(schema cid.Cid, ix *Index, stop *checkStop) (itemsum.Sum, error) {
	var sum itemsum.Sum
	prefix := indexPrefix(ix.ID)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := stop.err(); err != nil {
			return sum, err
		}
		id, err := ix.checkEntry(it.Item(), len(prefix))
		if err != nil {
			return sum, err
		}
		if ix.State == IndexBuilding && id > ix.Built {
			if err := tx.checkEntryState(schema, ix, it.Item().Key(), id); err != nil {
				return sum, err
			}
			continue
		}
		sum.Add(string(it.Item().Key()), [32]byte{})
	}
	return sum, nil
}

// checkEntry checks that item, an entry of ix whose key's first n bytes are
// the index's prefix, names a document, and returns its ID.
func (ix *Index) checkEntry(item *badger.Item, n int) (string, error) {
	id, err := ix.docOf(item.Key()[n:])
	if err != nil {
		return "", err
	}
	if _, err := cid.Decode(id); err != nil {
		return "", fmt.Errorf("entry %x names %.64q, not a document", item.Key(), id)
	}
	// An entry written before layout 7 holds the document ID as its value.
	if item.ValueSize() > 0 {
		v, err := valueCopy(item)
		if err != nil {
			return "", err
		}
		if string(v) != id {
			return "", fmt.Errorf("entry %x of %s holds %.64q", item.Key(), id, v)
		}
	}
	return id, nil
}

// checkEntryState checks that key, an entry of ix for document id, is one of
// the entries the document's live state gives.
func (tx *Tx) checkEntryState(schema cid.Cid, ix *Index, key []byte, id string) error {
	doc, err := cid.Decode(id)
	if err != nil {
		return err
	}
	d, err := tx.readDoc(docKey(schema, id), doc)
	if err != nil {
		return fmt.Errorf("entry %x: document %s: %w", key, id, err)
	}
	if d.st.Deleted {
		return fmt.Errorf("entry %x: document %s is deleted", key, id)
	}
	want := ix.entries(nil, id, func(k string) any { v, _ := d.st.Value(k); return v })
	if !slices.ContainsFunc(want, func(k []byte) bool { return bytes.Equal(k, key) }) {
		return fmt.Errorf("entry %x of %s: the state gives %x", key, id, want)
	}
	return nil
}

// checkIndex verifies ix entry by entry against its documents' states, and
// document by document against its entries, returning the first difference.
func (tx *Tx) checkIndex(schema cid.Cid, ix *Index, stop *checkStop) error {
	prefix := indexPrefix(ix.ID)
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Rewind(); it.Valid(); it.Next() {
		id, err := ix.checkEntry(it.Item(), len(prefix))
		if err == nil {
			err = stop.err()
		}
		if err == nil {
			err = tx.checkEntryState(schema, ix, it.Item().Key(), id)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	it.Close()
	return tx.Docs(schema, "", func(id string, st *crdt.State) error {
		if err := stop.err(); err != nil {
			return err
		}
		if st.Deleted || (ix.State == IndexBuilding && id > ix.Built) {
			return nil
		}
		for _, want := range ix.entries(nil, id, func(k string) any { v, _ := st.Value(k); return v }) {
			ok, err := tx.has(want)
			if err != nil {
				return err
			}
			if !ok && ix.State == IndexBuilding {
				return fmt.Errorf("document %s has no entry %x (the index is being built, and its build has read the documents up to %s)", id, want, ix.Built)
			}
			if !ok {
				return fmt.Errorf("document %s has no entry %x", id, want)
			}
		}
		return nil
	})
}
