package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Conflict is a value that a last-writer-wins field of a document lost to a
// concurrent write: two nodes set the field without either having seen the
// other's value, and the merge kept the other one (the one written at the
// greater height, or with the greater block CID at equal heights) on every
// node alike.
type Conflict struct {
	Field string // the field's name in the collection's active version
	// Value is the value that lost, as Get would show it; nil when the losing
	// write cleared the field.
	Value any
	// Block is the CID of the block that wrote Value, Winner of the block
	// whose value the field holds.
	Block, Winner string
	// Author is the author of Block, WinnerAuthor of Winner (see AuthorID).
	Author, WinnerAuthor string
}

// Conflicts returns the values document id's last-writer-wins fields lost to
// concurrent writes: for each field, every write that no later write of the
// field overwrote, but the one the field holds. A field written once since
// its last conflict has none. Conflicts are sorted by field, then from the
// nearest loser to the farthest. Nothing about the document changes: the merge
// result is the same on every node, this only shows what it set aside. The
// history is read newest first, as far back as the oldest such write.
//
// Deleted documents have their conflicts too. Fields the active version does
// not show are left out, and so are counters and sets, whose merges lose
// nothing. Unknown documents fail with ErrNotFound.
func (c *Collection) Conflicts(ctx context.Context, id DocID) ([]Conflict, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	s := c.schema()
	var out []Conflict
	err := c.viewDoc(ctx, id, func(tx *store.Tx, doc cid.Cid) error {
		st, err := tx.State(s.ID, doc)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: document %s in %s", ErrNotFound, id, s.Name)
		}
		if err != nil {
			return err
		}
		byKey := map[string]crdt.Field{}
		var keys []string
		for _, f := range s.Fields {
			if fs, ok := st.Fields[f.ID()]; ok && !fs.Counter && !f.Counter && !f.AddWinsSet {
				byKey[f.ID()] = f
				keys = append(keys, f.ID())
			}
		}
		assigned, err := crdt.Concurrent(st.Heads, keys, func(b cid.Cid) (*crdt.Block, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return tx.Block(s.ID, b)
		})
		if err != nil {
			return err
		}
		for key, as := range assigned {
			f := byKey[key]
			for _, a := range as[1:] {
				out = append(out, Conflict{
					Field: f.Name, Value: f.Export(a.Value),
					Block: a.Block.String(), Winner: as[0].Block.String(),
					Author: AuthorID(a.Author), WinnerAuthor: AuthorID(as[0].Author),
				})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Conflict) int { return strings.Compare(a.Field, b.Field) })
	return out, nil
}
