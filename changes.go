package gossipdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"

	"github.com/gossipdb/gossipdb/internal/store"
)

// Change is one entry of a collection's change feed (see Collection.Changes):
// a document created, a change merged, a delete merged, or a change overridden by
// a concurrent delete, made on this node or received from a peer.
type Change struct {
	// Position is the change's place in the node's change feed: positions grow
	// in the order the node applied its changes, with gaps, and are this node's
	// (another node numbers the same change differently). Pass the Position of
	// the last change processed to Changes to resume after it.
	Position uint64
	// Type is EventCreated, EventUpdated, EventDeleted or EventOverridden: a
	// change that was concurrent with a delete of its document, which wins. A
	// node that merged the change before the delete reports it as EventUpdated
	// and then, with the delete, as EventOverridden; one that merged the delete
	// first reports only EventOverridden. Both report the same Block and Fields,
	// for every change the delete does not descend from, not only the last.
	// A change that writes no value (a transaction's seal may be one) loses
	// nothing to a delete and is never EventOverridden: merged into a deleted
	// document it is EventDeleted, with the document's last values, so that
	// no entry after a delete says the document lives.
	// In a restricted collection, a block cut off by a revocation when it
	// merges is reported once, with the values without it: as EventDeleted
	// when the document then reads as deleted (its genesis is cut off, or it
	// was deleted), else as EventUpdated. A revocation that cuts off blocks
	// merged before reports, for each document whose values it changes,
	// EventUpdated or EventDeleted with the revocation's CID as Block, the
	// admin who signed it as Author and where it came from as Peer. Watch
	// reports the same (see Event).
	Type       EventType
	Collection string
	DocID      DocID
	// Block is the CID of the block the entry reports: the genesis for
	// EventCreated (its CID is DocID), the overridden change for
	// EventOverridden.
	Block string
	// Peer is the peer ID of the node the block came from, this node's ID when
	// Local: for gossip, the peer whose key signed the block, which is the
	// node that wrote it unless it wrote as another key (Collection.As; then
	// that key's ID, as in Author: gossip messages name no sender); for
	// catch-up, the peer that served it.
	// For EventOverridden it is the origin of the block whose merge found the
	// override: the update's on a node that had the delete first, the delete's
	// on one that had the update first. For a revocation's rebuild (see Type)
	// it is the revocation's origin, named the same way: Local when it was
	// made on this node (Revoke, Grant), else for gossip the peer whose key
	// signed it, for catch-up or a fetch the peer that served it. The node
	// keeps that origin in memory only: for a revocation loaded at Open (one
	// whose cut-off a restart interrupted, or that completes only after one)
	// it is Local if signed by this node's identity key, else the signer's.
	Peer  string
	Local bool
	// Author is who signed Block, as AuthorID names it: the same on every node.
	Author string
	// Fields holds the document's values after the change, as Get reads them
	// through the collection's active version when the change is read: for
	// EventDeleted the last values, for EventOverridden the values with the
	// overridden change and without the delete. The map is the caller's.
	Fields map[string]any
}

// Bounds of one page of the change feed, read in one read transaction: the
// memory a reader holds whatever how far behind it is. The bytes count the
// entries' values as stored; decoded into Fields they take two to three times
// as much.
const (
	changesPageEntries = 1024
	changesPageBytes   = 1 << 20
)

// Changes streams the collection's change feed: every change this node applied
// after position since (exclusive; 0 for all), in position order, then every
// new change as it is applied, until ctx ends (the iteration then yields
// ctx.Err()) or the node closes (ErrClosed). Resume rule: an application saves
// the Position of the last change it processed (durably, after processing it)
// and passes it back as since; it then gets every change after it exactly once.
//
// Order: a block's entry comes after its parents' (positions follow the order
// of the node's commits, and a block is merged only after its parents), so the
// feed of a document is in causal order, and a transaction's changes are at
// consecutive positions. Positions are given in memory as transactions commit,
// without a shared record, and the feed is read only up to the first position
// of a transaction not yet committed: a reader never passes a position that
// commits later, so following the feed neither skips nor repeats a change.
//
// The feed keeps at least the last Options.ChangeRetention positions. When
// entries of the collection after since were deleted the iteration yields an
// error matching ErrCompacted: the application rescans (Node.ChangesPosition,
// then Find, then Changes from that position). Each collection's feed keeps its
// own floor, the last position of its entries deleted: a since saved long ago
// from a quiet collection, older than what the feed keeps of busier ones,
// still resumes when no entry of its collection after it was deleted. A since beyond the node's last position (saved
// from another node, or before the data directory was replaced) fails with
// ErrInvalid.
//
// The feed is read from the store in pages of at most 1,024 changes and 1 MiB,
// each in its own read transaction, so a reader's memory does not depend on how
// far behind it is and the loop body may write to the node. Watch is not built
// on the feed: it is the in-memory, non-durable shortcut from now.
func (c *Collection) Changes(ctx context.Context, since uint64) iter.Seq2[Change, error] {
	return c.changes(ctx, since, math.MaxUint64)
}

// ChangesTo is Changes up to position to (inclusive): it ends once it has
// delivered every change up to there, waiting for the changes committing at
// that moment. With to from Node.ChangesPosition it streams what was applied
// so far without following.
func (c *Collection) ChangesTo(ctx context.Context, since, to uint64) iter.Seq2[Change, error] {
	return c.changes(ctx, since, to)
}

// ChangesPosition returns the position of the node's change feed up to which
// every change is committed and readable: the since to pass to Changes to
// follow only changes from now. Call it before a rescan (Find) to resume the
// feed after the rescan without a gap.
func (n *Node) ChangesPosition() (uint64, error) {
	if n.closing() {
		return 0, ErrClosed
	}
	return n.store.Watermark(), nil
}

func (c *Collection) changes(ctx context.Context, since, to uint64) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		n := c.node
		if n.closing() {
			yield(Change{}, ErrClosed)
			return
		}
		if mark := n.store.Watermark(); since > mark {
			yield(Change{}, fmt.Errorf("%w: change-feed position %d is beyond this node's last position %d (saved from another node, or before its data was replaced?)", ErrInvalid, since, mark))
			return
		}
		self := n.ID()
		cursor := since
		for cursor < to {
			if err := ctx.Err(); err != nil {
				yield(Change{}, err)
				return
			}
			wake := n.store.ChangesWake()
			mark := min(n.store.Watermark(), to)
			if cursor >= mark {
				select {
				case <-wake:
					continue
				case <-ctx.Done():
					yield(Change{}, ctx.Err())
				case <-n.ctx.Done():
					yield(Change{}, ErrClosed)
				}
				return
			}
			page, next, err := c.changesPage(cursor, mark, self)
			if err != nil {
				yield(Change{}, err)
				return
			}
			for _, ch := range page {
				if err := ctx.Err(); err != nil {
					yield(Change{}, err)
					return
				}
				if !yield(ch, nil) {
					return
				}
			}
			cursor = next
		}
	}
}

// changesPage reads the changes after position after up to mark, at most a
// page of them, and returns them with the position to read on from.
func (c *Collection) changesPage(after, mark uint64, self string) ([]Change, uint64, error) {
	n := c.node
	if err := n.enter(); err != nil {
		return nil, 0, err
	}
	defer n.leave()
	s := c.schema()
	var keys []string // the fields Get shows, by key
	for _, f := range s.Fields {
		if !f.Derived() {
			keys = append(keys, f.ID())
		}
	}
	var page []Change
	next, size := mark, 0
	values := &scanned{keys: keys, values: make([]any, len(keys))} // read into Fields
	var authorKey []byte                                           // whose AuthorID is author:
	var author string                                              // a page has few authors
	err := n.store.View(func(tx *store.Tx) error {
		return tx.Changes(s.ID, after, mark, func(e *store.Change) error {
			if err := e.Values(keys, values.values); err != nil {
				return fmt.Errorf("gossipdb: change %d: %w", e.Position, err)
			}
			if authorKey == nil || !bytes.Equal(e.Author, authorKey) {
				authorKey, author = bytes.Clone(e.Author), AuthorID(e.Author)
			}
			block := e.ID
			if !e.Block.Equals(e.Doc) {
				block = e.Block.String()
			}
			ch := Change{
				Position:   e.Position,
				Type:       changeType(e.Kind),
				Collection: s.Name,
				DocID:      DocID(e.ID),
				Block:      block,
				Peer:       e.Peer,
				Local:      e.Peer == "",
				Author:     author,
				Fields:     document(s, "", values).Fields,
			}
			if ch.Local {
				ch.Peer = self
			}
			page = append(page, ch)
			if size += len(e.Data); len(page) == changesPageEntries || size >= changesPageBytes {
				next = e.Position
				return errPageFull
			}
			return nil
		})
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	if ce := (*store.CompactedError)(nil); errors.As(err, &ce) {
		return nil, 0, fmt.Errorf("%w: %s", ErrCompacted, ce.Detail())
	}
	if err != nil {
		return nil, 0, damaged(err)
	}
	return page, next, nil
}

func changeType(k store.ChangeKind) EventType {
	switch k {
	case store.ChangeCreated:
		return EventCreated
	case store.ChangeDeleted:
		return EventDeleted
	case store.ChangeOverridden:
		return EventOverridden
	}
	return EventUpdated
}

// compactChanges deletes the change feed's oldest entries while the node runs:
// once more than an eighth of Options.ChangeRetention positions beyond it
// have accumulated, it removes all but the last ChangeRetention.
func (n *Node) compactChanges() {
	keep := uint64(n.opts.ChangeRetention)
	slack := max(keep/8, 1)
	for {
		wake := n.store.ChangesWake()
		if mark := n.store.Watermark(); mark > keep && mark-keep >= n.store.ChangesFloor()+slack {
			if err := n.enter(); err != nil {
				return
			}
			_, err := n.store.CompactChanges(mark - keep)
			n.leave()
			if err != nil {
				n.log.Warn("Compacting the change feed failed", logKeyError, err)
			}
		}
		select {
		case <-wake:
		case <-n.ctx.Done():
			return
		}
	}
}
