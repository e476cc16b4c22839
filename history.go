package gossipdb

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/cidtext"
	"github.com/gossipdb/gossipdb/internal/store"
)

// BlockInfo is one stored block of a document, one change to it, as
// Collection.History lists them. Its fields are the block's, read through the
// collection's active version: fields are named as that version names them,
// and a field it does not show is left out of Set, Add, SetAdd and SetRemove.
type BlockInfo struct {
	CID    string // the block's CID; the document's ID for its genesis
	Doc    DocID  // the document
	Height uint64 // 1 for the genesis, else 1 + the largest height among Prev
	// Prev holds the CIDs of the blocks the change was written on, the
	// document's heads then, sorted; empty for the genesis.
	Prev []string
	// Version is the ID of the collection version the block was written
	// under (see Collection.Version).
	Version string
	Author  string // see AuthorID
	// Set holds the last-writer-wins values the block assigns, as Get shows
	// them; nil for a field it clears. A genesis assigns the document's first
	// values.
	Set map[string]any
	// Add holds the block's counter increments.
	Add map[string]any
	// SetAdd holds the elements the block adds to add-wins set fields,
	// SetRemove the elements it removes.
	SetAdd, SetRemove map[string][]any
	Delete            bool // the block deletes the document
	// Txn is the hex ID of the transaction the block is part of; empty
	// outside transactions.
	Txn string
	// Disowned is true when the collection's policy cuts the block off: its
	// change does not count in the document (see Policy). Always false in an
	// open collection.
	Disowned bool
	Size     int // the length of the block's encoding, in bytes
}

// historyPage is how many blocks History reads in one read transaction.
const historyPage = 256

// History iterates over the stored blocks of document id, newest first: in
// decreasing order of height, then of CID bytes, the genesis last. A block
// comes before every block it was written on. Deleted documents have their
// history too; an unknown document yields ErrNotFound. The iteration reads
// the store in pages of its own read transactions, so a long history never
// has to fit in memory, and it sees blocks merged while it runs only if they
// come after the page it is on in that order.
func (c *Collection) History(ctx context.Context, id DocID) iter.Seq2[BlockInfo, error] {
	return func(yield func(BlockInfo, error) bool) {
		if c.node.closing() {
			yield(BlockInfo{}, ErrClosed)
			return
		}
		var page []BlockInfo
		var genesis *crdt.Block
		var height uint64 // where the last page ended; 0 before the first
		var last cid.Cid
		for {
			page = page[:0]
			err := c.viewDoc(ctx, id, func(tx *store.Tx, doc cid.Cid) error {
				if genesis == nil {
					g, err := tx.Block(c.root.ID, doc)
					if errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("%w: document %s in %s", ErrNotFound, id, c.schema().Name)
					}
					if err != nil {
						return err
					}
					genesis = g
				}
				return tx.DocLogDown(doc, height, last, func(e store.LogEntry) error {
					if err := ctx.Err(); err != nil {
						return err
					}
					b, err := tx.Block(c.root.ID, e.CID)
					if err != nil {
						return err
					}
					page = append(page, c.blockInfo(tx, id, b, e.Size))
					if len(page) == historyPage {
						return errPageFull
					}
					return nil
				})
			})
			if err != nil && !errors.Is(err, errPageFull) {
				yield(BlockInfo{}, err)
				return
			}
			for _, b := range page {
				if !yield(b, nil) {
					return
				}
			}
			if len(page) < historyPage {
				break
			}
			l := page[len(page)-1]
			height, last = l.Height, cid.MustParse(l.CID)
		}
		var info BlockInfo
		err := c.viewDoc(ctx, id, func(tx *store.Tx, _ cid.Cid) error {
			info = c.blockInfo(tx, id, genesis, len(genesis.Data))
			return nil
		})
		if err != nil {
			yield(BlockInfo{}, err)
			return
		}
		yield(info, nil)
	}
}

// BlockInfo describes block blockCID of document id as History lists it,
// reading that one block: the way to describe a document's heads (see Heads)
// without reading its history. It fails with ErrInvalid for a malformed ID or
// CID, and with ErrNotFound for an unknown document or a block that is not one
// of its stored blocks. It is safe for concurrent use.
func (c *Collection) BlockInfo(ctx context.Context, id DocID, blockCID string) (BlockInfo, error) {
	if c.node.closing() {
		return BlockInfo{}, ErrClosed
	}
	at, err := cidtext.Parse("block CID", blockCID)
	if err != nil {
		return BlockInfo{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var info BlockInfo
	err = c.viewDoc(ctx, id, func(tx *store.Tx, doc cid.Cid) error {
		b, err := tx.Block(c.root.ID, at)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !b.DocID().Equals(doc)) {
			return fmt.Errorf("%w: block %s is not one of document %s's in %s", ErrNotFound, blockCID, id, c.schema().Name)
		}
		if err != nil {
			return err
		}
		info = c.blockInfo(tx, id, b, len(b.Data))
		return nil
	})
	if err != nil {
		return BlockInfo{}, err
	}
	return info, nil
}

// blockInfo describes block b of document id, size bytes long, as History
// lists it; tx is where the policy reads the blocks it judges b by.
func (c *Collection) blockInfo(tx *store.Tx, id DocID, b *crdt.Block, size int) BlockInfo {
	info := BlockInfo{
		CID:      b.CID.String(),
		Doc:      id,
		Height:   b.Height,
		Version:  c.root.ID.String(),
		Author:   AuthorID(b.Author),
		Delete:   b.Delete,
		Disowned: c.disowned(tx, b),
		Size:     size,
	}
	if b.Version.Defined() {
		info.Version = b.Version.String()
	}
	for _, p := range b.Prev {
		info.Prev = append(info.Prev, p.String())
	}
	slices.Sort(info.Prev)
	if b.Txn != nil {
		info.Txn = hex.EncodeToString(b.Txn.ID)
	}
	s := c.schema()
	for _, f := range s.Fields {
		key := f.ID()
		if v, ok := b.Set[key]; ok {
			if info.Set == nil {
				info.Set = map[string]any{}
			}
			info.Set[f.Name] = exportValue(f, v)
		}
		if v, ok := b.Add[key]; ok {
			if info.Add == nil {
				info.Add = map[string]any{}
			}
			info.Add[f.Name] = f.Export(v)
		}
		if es, ok := b.SAdd[key]; ok {
			if info.SetAdd == nil {
				info.SetAdd = map[string][]any{}
			}
			info.SetAdd[f.Name] = exportElements(f, es)
		}
		if rs, ok := b.SRem[key]; ok {
			if info.SetRemove == nil {
				info.SetRemove = map[string][]any{}
			}
			es := make([]any, len(rs))
			for i, r := range rs {
				es[i] = r.Value
			}
			info.SetRemove[f.Name] = exportElements(f, es)
		}
	}
	return info
}

// exportValue is value v of field f as Get shows it: a relation as the DocID
// it holds.
func exportValue(f crdt.Field, v any) any {
	if v == nil {
		return nil
	}
	x := f.Export(v)
	if r, ok := x.(string); ok && f.Kind == crdt.KindRelation {
		return DocID(r)
	}
	return x
}

// exportElements is elements es of set field f as Get shows them.
func exportElements(f crdt.Field, es []any) []any {
	if x, ok := f.Export(es).([]any); ok {
		return x
	}
	return es
}

// GetAt returns document id as it was at its block blockCID: the merge of
// that block and every block it was written on, down to the genesis, as Get
// would have returned the document had they been all its node held. The
// values are read through the collection's active version, and blocks the
// collection's policy cuts off do not count, as in Get. It fails with
// ErrInvalid for a malformed CID, ErrNotFound for an unknown document or a
// block that is not one of its stored blocks, and ErrDeleted when the
// document was deleted at that block. It reads the document's blocks from
// that one down, holding the CIDs of the block's ancestry: beyond
// MaxAncestryBytes of them (about 600,000 blocks) it fails with ErrTooLarge.
func (c *Collection) GetAt(ctx context.Context, id DocID, blockCID string) (*Document, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	at, err := cidtext.Parse("block CID", blockCID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s := c.schema()
	var st *crdt.State
	var genesis *crdt.Block
	err = c.viewDoc(ctx, id, func(tx *store.Tx, doc cid.Cid) error {
		g, err := tx.Block(c.root.ID, doc)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: document %s in %s", ErrNotFound, id, s.Name)
		}
		if err != nil {
			return err
		}
		genesis = g
		ancestry, err := c.ancestry(ctx, tx, doc, at, ancestryBudget)
		if err != nil {
			return err
		}
		keep := func(b *crdt.Block) bool { return !c.disowned(tx, b) }
		st = &crdt.State{Schema: c.root.ID, Doc: doc, Deleted: true, Fields: map[string]crdt.FieldState{}}
		if keep(g) {
			if st, err = crdt.NewState(g); err != nil {
				return err
			}
		}
		for _, e := range ancestry {
			b, err := tx.Block(c.root.ID, e.CID)
			if err != nil {
				return err
			}
			if keep(b) {
				if err := st.Merge(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if st.Deleted {
		return nil, fmt.Errorf("%w: document %s in %s at block %s", ErrDeleted, id, s.Name, blockCID)
	}
	d := document(s, id, stateValues{st})
	d.Author = AuthorID(genesis.Author)
	return d, nil
}

// MaxAncestryBytes bounds what GetAt holds of a block's ancestry: the CIDs
// of the blocks it merges, counted at their length plus 16 bytes each.
const MaxAncestryBytes = 32 << 20

// ancestryBudget is MaxAncestryBytes; tests lower it.
var ancestryBudget = MaxAncestryBytes

// ancestry returns block at of document doc and the blocks it was written
// on, the genesis left out, in increasing order of height, then of CID bytes:
// parents before children, as the log lists them. It reads the document's log
// down from at, keeping only the blocks it still looks for, whose number is
// the history's width, not its length; budget bounds the bytes of CIDs held.
func (c *Collection) ancestry(ctx context.Context, tx *store.Tx, doc, at cid.Cid, budget int) ([]store.LogEntry, error) {
	if at.Equals(doc) {
		return nil, nil
	}
	first, err := tx.Block(c.root.ID, at)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !first.Doc.Equals(doc)) {
		return nil, fmt.Errorf("%w: block %s is not one of document %s's in %s", ErrNotFound, at, doc, c.schema().Name)
	}
	if err != nil {
		return nil, err
	}
	held := 0
	wanted := map[string]bool{} // ancestors not yet reached in the log
	want := func(b cid.Cid) error {
		if b.Equals(doc) || wanted[b.KeyString()] {
			return nil
		}
		if held += len(b.KeyString()) + 16; held > budget {
			return fmt.Errorf("%w: the ancestry of block %s holds more than %d bytes of CIDs", ErrTooLarge, at, budget)
		}
		wanted[b.KeyString()] = true
		return nil
	}
	out := []store.LogEntry{{CID: at, Height: first.Height}}
	held += len(at.KeyString()) + 16
	for _, p := range first.Prev {
		if err := want(p); err != nil {
			return nil, err
		}
	}
	err = tx.DocLogDown(doc, first.Height, at, func(e store.LogEntry) error {
		if len(wanted) == 0 {
			return errPageFull // nothing older is an ancestor
		}
		if !wanted[e.CID.KeyString()] {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		delete(wanted, e.CID.KeyString())
		b, err := tx.Block(c.root.ID, e.CID)
		if err != nil {
			return fmt.Errorf("gossipdb: block %s of document %s: %w", e.CID, doc, err)
		}
		out = append(out, store.LogEntry{CID: e.CID, Height: e.Height})
		for _, p := range b.Prev {
			if err := want(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return nil, err
	}
	if len(wanted) > 0 {
		// A stored block's parents are stored, so the log lists them.
		return nil, fmt.Errorf("gossipdb: document %s: %d ancestors of block %s are not in its log", doc, len(wanted), at)
	}
	slices.Reverse(out) // the log's order, read backwards
	return out, nil
}
