package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"iter"
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

// RelatedQuery returns the query of the documents on field, the inverse side
// of a relation of the collection (books: [Book] on Author), for document id:
// the collection it reads (Book), and q restricted to the documents of it
// whose relation field that refers to this collection (author) names id,
// q.Filter still applying to them. Run the query with that collection's
// Query, Explain or Cursor, its filter with Count or Aggregate, or either in
// a transaction (Txn.Query, Txn.Count, Txn.Aggregate, named by the
// collection's Name); Related runs it.
//
// The restriction is an equality on the relation field, which the index the
// node keeps on every relation field (see Index) answers once it is built:
// the query reads the documents that name id, not the whole collection, and
// Explain names that index (Book_author_ASC), unless another index narrows it
// at least as much, q.Filter names its documents (see Query), or
// q.ShowDeleted asks for deleted documents, which no index holds.
//
// id need not name a document this node holds, nor a live one: as a relation
// may name a document that has not arrived yet, the query selects the
// documents that name id, whatever id is. It fails with ErrInvalid for an id
// that is no document ID, or a field that is not the inverse side of a
// relation (the error names it), or whose collection has no single relation
// field to derive it from; with ErrNotFound when the node does not define the
// collection field names; with ErrClosed after Close. The Query is the
// caller's; its Filter shares q.Filter's maps. It is safe for concurrent use.
func (c *Collection) RelatedQuery(id DocID, field string, q Query) (*Collection, Query, error) {
	return c.relatedQuery(context.Background(), id, field, q)
}

// relatedQuery is RelatedQuery for a read in ctx, with fields named as the
// versions it reads through name them (see schemaIn).
func (c *Collection) relatedQuery(ctx context.Context, id DocID, field string, q Query) (*Collection, Query, error) {
	if c.node.closing() {
		return nil, Query{}, ErrClosed
	}
	if _, err := parseDocID(id); err != nil {
		return nil, Query{}, err
	}
	target, rel, err := c.inverse(ctx, field)
	if err != nil {
		return nil, Query{}, err
	}
	mine := Filter{rel: id}
	if len(q.Filter) == 0 {
		q.Filter = mine
	} else {
		q.Filter = Filter{"_and": []any{q.Filter, mine}}
	}
	return target, q, nil
}

// Related returns the documents on field, the inverse side of a relation
// (books: [Book] on Author), of document id: the documents of the collection
// field names (Book) whose relation field (author) names id and that match
// q, in q's order and page, as that collection's Query returns them; see
// RelatedQuery for how they are found and which errors it yields, once, as
// Query does. A cursor for q.After is made by the related collection's
// Cursor. The documents are the caller's; it is safe for concurrent use.
func (c *Collection) Related(ctx context.Context, id DocID, field string, q Query) iter.Seq2[*Document, error] {
	return func(yield func(*Document, error) bool) {
		target, rq, err := c.RelatedQuery(id, field, q)
		if err != nil {
			yield(nil, err)
			return
		}
		for d, err := range target.Query(ctx, rq) {
			if !yield(d, err) {
				return
			}
		}
	}
}

// inverse resolves field, the inverse side of a relation of the active
// version (books: [Book]), into the collection it derives from and that
// collection's relation field referring to this one (author), by its name in
// that collection's active version (in a transaction, as read in ctx: see
// schemaIn).
func (c *Collection) inverse(ctx context.Context, field string) (*Collection, string, error) {
	f, ok := c.schemaIn(ctx).Field(field)
	switch {
	case !ok:
		return nil, "", filterError(field, "unknown field of "+c.Name())
	case !f.Derived():
		return nil, "", filterError(field, "not the inverse side of a relation (such as books: [Book]): read "+
			"the documents a relation field names with Get, and the documents that name one with a filter on their relation field")
	}
	target, err := c.node.Collection(f.Relation)
	if err != nil {
		return nil, "", fmt.Errorf("inverse side %s of %s: %w", field, c.Name(), err)
	}
	var names []string
	for _, tf := range target.schemaIn(ctx).Fields {
		if tf.Kind == crdt.KindRelation && !tf.List && tf.Relation == c.Name() {
			names = append(names, tf.Name)
		}
	}
	if len(names) != 1 {
		return nil, "", filterError(field, fmt.Sprintf("the inverse side of a relation, but %s has %d fields of type %s (%s): it derives from exactly one",
			target.Name(), len(names), c.Name(), strings.Join(names, ", ")))
	}
	return target, names[0], nil
}
