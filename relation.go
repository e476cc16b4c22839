package gossipdb

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Relations. A relation field (author: Author) holds the ID of a document of
// another collection, as its string; blocks carry it like any last-writer-wins
// value, and a peer checks only that it is a well-formed document ID (see
// crdt.Schema.Check): which collection a document belongs to is not in its ID,
// and a node must accept a block whatever it has received so far, so that every
// node accepts the same blocks. A local write is checked further, against what
// this node holds: a reference to a document this node has in another collection
// is refused; one to a document it does not have (not received yet, or of a
// collection it does not define) is legal and reads back as written.

// schemas returns the schemas of the node's collections, sorted by name: for
// Parse, and to look referenced documents up in a store transaction without
// holding the node's lock.
func (n *Node) schemas() []*crdt.Schema {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*crdt.Schema, 0, len(n.collections))
	for _, o := range n.collections {
		out = append(out, o.schema())
	}
	slices.SortFunc(out, func(a, b *crdt.Schema) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// checkRelations refuses, with ErrInvalid and a *FieldError naming the field, a
// relation value in set (canonical and keyed by field key, as split makes it
// for version s) naming a document that this node holds in a collection other
// than the one the field refers to; targets are the node's collections (see
// schemas).
func (c *Collection) checkRelations(tx *store.Tx, s *crdt.Schema, targets []*crdt.Schema, set map[string]any) error {
	for _, f := range s.Fields {
		v, ok := set[f.ID()].(string)
		if f.Kind != crdt.KindRelation || f.List || !ok {
			continue
		}
		doc, err := cid.Decode(v)
		if err != nil {
			return invalid(&crdt.FieldError{Field: f.Name, Want: f.Kind, Reason: fmt.Sprintf("%q is not a document ID", v)})
		}
		var in string
		for _, t := range targets {
			_, err := tx.Heads(t.ID, doc)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if in = t.Name; in == f.Relation {
				break
			}
		}
		if in != "" && in != f.Relation {
			return invalid(&crdt.FieldError{Field: f.Name, Want: f.Kind,
				Reason: fmt.Sprintf("document %s belongs to collection %s, not %s", v, in, f.Relation)})
		}
	}
	return nil
}
