package graphql

import (
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/jsonsize"
)

// A document's history, as DefraDB writes it:
//
//	_commits(docID: "bafy…", order: {height: ASC}, limit: 10) { cid height delta links { cid name } }
//
// A Commit is one block of a document, one change to it, as
// gossipdb.Collection.History describes it (gossipdb.BlockInfo). _commits
// lists the blocks of the document docID names, in whichever collection holds
// it, newest first as History lists them (decreasing height, then CID), or
// oldest first with order {height: ASC}; limit and offset page them; with
// cid it answers that one block. A docID that names no document (unknown, or
// not a document ID at all) answers [], as a collection query's docID does
// and as DefraDB answers; a cid that is not one of the document's blocks is
// an error, as in DefraDB. The default order streams the history, a page of
// the store at a time; the ascending one holds the blocks it answers (the
// last offset+limit of History's order, every one without a limit) within
// the Go API's bounds of a sort, gossipdb.MaxSortedResults blocks and
// gossipdb.MaxSortedBytes, else the field fails.
//
// A Commit's fields are few, DefraDB's where it has them: cid, docID, height,
// delta (the block's dag-cbor bytes in standard base64: its CID is their
// hash, so a client can check it), links (one per block it was written on,
// named "_head" as DefraDB names a link to a previous head), schemaVersionId
// and fieldName. fieldName is always null: DefraDB writes a commit per field
// changed and one for the document (whose fieldName is null); a gossipdb
// block changes the whole document. Then gossipdb's own: collectionName
// (DefraDB's collectionID is a number local to each node), author, txn,
// deleted, disowned, and changes, what the block sets and adds by field
// name. Each Commit counts toward Limits.MaxResultSize what the request
// selects of it, as a document counts its values.

// Names of the history's fields, arguments and types.
const (
	fieldCommits = "_commits"
	argCID       = "cid"

	typeCommit      = "Commit"
	typeCommitLink  = "CommitLink"
	typeCommitOrder = "CommitOrderArg"

	// headLink names a link to a block a change was written on, as DefraDB
	// names a commit's links to the document's previous heads.
	headLink = "_head"
)

// The fields of a Commit.
const (
	commitCID        = "cid"
	commitDocID      = "docID"
	commitCollection = "collectionName"
	commitHeight     = "height"
	commitDelta      = "delta"
	commitLinks      = "links"
	commitFieldName  = "fieldName"
	commitVersion    = "schemaVersionId"
	commitAuthor     = "author"
	commitTxn        = "txn"
	commitDeleted    = "deleted"
	commitDisowned   = "disowned"
	commitChanges    = "changes"
)

// historyTypes are the types of a schema's history: Commit, CommitLink and
// CommitOrderArg.
type historyTypes struct {
	commit *graphql.Object
	order  *graphql.InputObject
}

// newHistoryTypes makes the history's types for one schema, or returns nil
// when a collection has one of their names: one stored before Commit and
// CommitLink were the GraphQL API's (internal/schema refuses them since).
// Such a node's schema has no _commits.
func newHistoryTypes(collections map[string][]crdt.Field) *historyTypes {
	for _, name := range []string{typeCommit, typeCommitLink} {
		if _, clash := collections[name]; clash {
			return nil
		}
	}
	nonNull := func(t graphql.Output) graphql.Output { return graphql.NewNonNull(t) }
	link := graphql.NewObject(graphql.ObjectConfig{
		Name:        typeCommitLink,
		Description: "A link from a block to one it was written on: one of the document's heads when the change was made.",
		Fields: graphql.Fields{
			commitCID: {Type: nonNull(graphql.String), Resolve: member(commitCID),
				Description: "The CID of the block linked to."},
			"name": {Type: nonNull(graphql.String), Resolve: member("name"),
				Description: `"_head": the block was one of the document's heads, as DefraDB names such a link.`},
		},
	})
	field := func(t graphql.Output, name, desc string) *graphql.Field {
		return &graphql.Field{Type: t, Description: desc, Resolve: func(p graphql.ResolveParams) (any, error) {
			cm, _ := p.Source.(*commit)
			if cm == nil {
				return nil, nil
			}
			return cm.value(name), nil
		}}
	}
	c := graphql.NewObject(graphql.ObjectConfig{
		Name:        typeCommit,
		Description: "One block of a document: one change to it, as the node stores it and peers exchange it.",
		Fields: graphql.Fields{
			commitCID:        field(nonNull(graphql.String), commitCID, "The block's CID, the hash of its bytes (delta); the document's ID for its first block."),
			commitDocID:      field(nonNull(graphql.String), commitDocID, "The document's ID."),
			commitCollection: field(nonNull(graphql.String), commitCollection, "The name of the collection that holds the document."),
			commitHeight:     field(nonNull(intScalar), commitHeight, "1 for the document's first block, else 1 + the largest height among the blocks it links to."),
			commitDelta: {Type: nonNull(graphql.String), Resolve: bounded(resolveDelta),
				Description: "The block's bytes (dag-cbor) in standard base64: its CID is their hash, so a client can check it."},
			commitLinks:     field(nonNull(graphql.NewList(nonNull(link))), commitLinks, "The blocks it was written on, the document's heads then; none for the first block."),
			commitFieldName: field(graphql.String, commitFieldName, "Always null: DefraDB names the field its field-level commits change; a gossipdb block changes the whole document, as DefraDB's document commits do, whose fieldName is null."),
			commitVersion:   field(nonNull(graphql.String), commitVersion, "The ID of the collection version the block was written under."),
			commitAuthor:    field(nonNull(graphql.String), commitAuthor, "The key that signed the block, in the peer ID form (12D3KooW…): the writing node's ID unless it wrote as another key."),
			commitTxn:       field(graphql.String, commitTxn, "The hex ID of the transaction the block is part of; null outside transactions."),
			commitDeleted:   field(nonNull(graphql.Boolean), commitDeleted, "The block deletes the document."),
			commitDisowned:  field(nonNull(graphql.Boolean), commitDisowned, "The collection's policy cuts the block off: its change does not count in the document."),
			commitChanges: field(jsonScalar, commitChanges, `What the block changes, by field name: {"set": {field: value}, "add": {counter: n}, "setAdd": {set: [elements]}, "setRemove": {set: [elements]}}, without the empty members ({} for a change of nothing, or a delete). `+
				"A field the collection's active version does not show is left out."),
		},
	})
	order := graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        typeCommitOrder,
		Description: "The order of a document's commits: {height: DESC}, the default, lists the newest first (then by decreasing CID); {height: ASC} the oldest first.",
		Fields: graphql.InputObjectConfigFieldMap{
			commitHeight: {Type: orderingEnum},
		},
	})
	return &historyTypes{commit: c, order: order}
}

// commitsField is the query field _commits.
func (h *historyTypes) commitsField() *graphql.Field {
	return &graphql.Field{
		Type:        graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(h.commit))),
		Description: "The blocks of a document of any collection, newest first: _commits(docID: \"…\") { cid height }. [] for a docID that names no document.",
		Args: graphql.FieldConfigArgument{
			argDocID:  {Type: graphql.NewNonNull(graphql.ID), Description: "The document's ID."},
			argCID:    {Type: graphql.ID, Description: "Only this block; an error if it is not one of the document's."},
			argOrder:  {Type: h.order, Description: "{height: ASC} for the oldest first; the default is the newest first."},
			argLimit:  {Type: intScalar, Description: "At most this many blocks; 0 or absent means no limit."},
			argOffset: {Type: intScalar, Description: "Skip this many blocks first."},
		},
		Resolve: bounded(resolveCommits),
	}
}

// commit is a Commit of an answer: block info of a document of collection c.
type commit struct {
	c    *gossipdb.Collection
	info gossipdb.BlockInfo
}

// value returns field name of cm as the answer holds it. The delta is read
// by its resolver; value returns nil for it.
func (cm *commit) value(name string) any {
	b := &cm.info
	switch name {
	case commitCID:
		return b.CID
	case commitDocID:
		return string(b.Doc)
	case commitCollection:
		return cm.c.Name()
	case commitHeight:
		return int64(b.Height)
	case commitLinks:
		links := make([]any, len(b.Prev))
		for i, p := range b.Prev {
			links[i] = map[string]any{commitCID: p, "name": headLink}
		}
		return links
	case commitVersion:
		return b.Version
	case commitAuthor:
		return b.Author
	case commitTxn:
		if b.Txn == "" {
			return nil
		}
		return b.Txn
	case commitDeleted:
		return b.Delete
	case commitDisowned:
		return b.Disowned
	case commitChanges:
		out := map[string]any{}
		if len(b.Set) > 0 {
			out["set"] = plainMap(b.Set)
		}
		if len(b.Add) > 0 {
			out["add"] = plainMap(b.Add)
		}
		if len(b.SetAdd) > 0 {
			out["setAdd"] = plainLists(b.SetAdd)
		}
		if len(b.SetRemove) > 0 {
			out["setRemove"] = plainLists(b.SetRemove)
		}
		return out
	}
	return nil // fieldName, __typename
}

// size returns about the bytes field name of cm takes in the answer.
func (cm *commit) size(name string) int {
	if name == commitDelta {
		return base64.StdEncoding.EncodedLen(cm.info.Size) + 2
	}
	return jsonsize.Value(cm.value(name))
}

// plainMap returns m, field values as Get shows them, as JSON holds them.
func plainMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = plainValue(v)
	}
	return out
}

// plainLists returns m, elements of set fields, as JSON holds them.
func plainLists(m map[string][]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = plainValue(v)
	}
	return out
}

// plainValue returns v, a field value as Get shows it, as a document's
// field answers it: a DateTime as its RFC 3339 string, a relation as its ID.
func plainValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case gossipdb.DocID:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	}
	return v
}

// resolveDelta resolves a Commit's delta: its block's bytes, read now.
func resolveDelta(p graphql.ResolveParams) (any, error) {
	cm, _ := p.Source.(*commit)
	if cm == nil {
		return nil, nil
	}
	data, err := cm.c.Block(from(p).ctx, cm.info.CID)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// chargeCommit adds cm to the answer's size, as request.charge adds a
// document: each field the request selects of it, once for each response
// key, and those keys.
func (r *request) chargeCommit(cm *commit, shape docShape) error {
	n := shape.keys
	for name, times := range shape.times {
		n += cm.size(name) * times
	}
	return r.grow(n)
}

// holder returns the collection that holds document id, or nil if none
// does: an unknown ID, or one that is not a document ID.
func (r *request) holder(id gossipdb.DocID) (*gossipdb.Collection, error) {
	for _, c := range r.e.n.Collections() {
		_, err := c.Heads(r.ctx, id)
		switch {
		case err == nil:
			return c, nil
		case errors.Is(err, gossipdb.ErrNotFound):
		case errors.Is(err, gossipdb.ErrInvalid):
			return nil, nil
		default:
			return nil, err
		}
	}
	return nil, nil
}

// errTooManyCommits reports _commits in ascending order that would hold
// more than n blocks or gossipdb.MaxSortedBytes, the bounds of the Go API's
// sorts.
func errTooManyCommits(n int) error {
	return fmt.Errorf("%w: _commits in ascending order holds more than %d blocks or %d bytes in memory; add a limit, or page in the default order (newest first)",
		gossipdb.ErrTooLarge, n, gossipdb.MaxSortedBytes)
}

// resolveCommits answers _commits(docID, cid, order, limit, offset).
func resolveCommits(p graphql.ResolveParams) (any, error) {
	r := from(p)
	id, _ := p.Args[argDocID].(string)
	at, byCID := p.Args[argCID].(string)
	limit, offset := 0, 0
	if v, ok := p.Args[argLimit].(int64); ok {
		limit = int(min(max(v, minInt), maxInt))
	}
	if v, ok := p.Args[argOffset].(int64); ok {
		offset = int(min(max(v, minInt), maxInt))
	}
	switch {
	case limit < 0:
		return nil, fmt.Errorf("%w: negative limit %d", gossipdb.ErrInvalid, limit)
	case offset < 0:
		return nil, fmt.Errorf("%w: negative offset %d", gossipdb.ErrInvalid, offset)
	}
	asc := false
	if o, ok := p.Args[argOrder].(map[string]any); ok {
		asc = o[commitHeight] == orderASC
	}
	if byCID {
		if _, err := cid.Decode(at); err != nil {
			return nil, fmt.Errorf("%w: block CID %q: %w", gossipdb.ErrInvalid, at, err)
		}
	}
	c, err := r.holder(gossipdb.DocID(id))
	if err != nil {
		return nil, err
	}
	var blocks iter.Seq2[gossipdb.BlockInfo, error]
	switch {
	case byCID && c == nil:
		return nil, fmt.Errorf("%w: block %s is not one of document %s's: no collection holds that document", gossipdb.ErrNotFound, at, id)
	case byCID:
		info, err := c.BlockInfo(r.ctx, gossipdb.DocID(id), at)
		if err != nil {
			return nil, err
		}
		blocks = func(yield func(gossipdb.BlockInfo, error) bool) { yield(info, nil) }
	case c == nil:
		return []any{}, nil
	default:
		blocks = c.History(r.ctx, gossipdb.DocID(id))
	}
	if asc {
		window := 0 // every block
		if limit > 0 && offset <= int(maxInt)-limit {
			window = offset + limit
		}
		held, err := r.oldest(blocks, window)
		if err != nil {
			return nil, err
		}
		slices.Reverse(held)
		blocks = func(yield func(gossipdb.BlockInfo, error) bool) {
			for _, b := range held {
				if !yield(b, nil) {
					return
				}
			}
		}
	}
	shape := shapeOf(p)
	out := []any{}
	skipped := 0
	for info, err := range blocks {
		if err != nil {
			return nil, err
		}
		if skipped < offset {
			skipped++
			continue
		}
		cm := &commit{c: c, info: info}
		if err := r.chargeCommit(cm, shape); err != nil {
			return nil, err
		}
		out = append(out, cm)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// oldest returns the last n blocks that blocks yields (every one for n 0),
// in its order, holding them within the bounds of a sort in memory.
func (r *request) oldest(blocks iter.Seq2[gossipdb.BlockInfo, error], n int) ([]gossipdb.BlockInfo, error) {
	bound := r.sortBound()
	var ring []gossipdb.BlockInfo
	start, size := 0, 0 // ring[start] is the first held once ring is full
	for b, err := range blocks {
		if err != nil {
			return nil, err
		}
		if n > 0 && len(ring) == n {
			size -= infoBytes(ring[start])
			ring[start] = b
			start = (start + 1) % n
		} else {
			ring = append(ring, b)
		}
		size += infoBytes(b)
		if len(ring) > bound || size > gossipdb.MaxSortedBytes {
			return nil, errTooManyCommits(bound)
		}
	}
	out := make([]gossipdb.BlockInfo, 0, len(ring))
	return append(append(out, ring[start:]...), ring[:start]...), nil
}

// infoBytes is about the bytes that b holds in memory.
func infoBytes(b gossipdb.BlockInfo) int {
	n := 256 + len(b.CID) + len(b.Doc) + len(b.Version) + len(b.Author) + len(b.Txn)
	for _, p := range b.Prev {
		n += len(p) + 16
	}
	n += heldBytes(b.Set) + heldBytes(b.Add)
	for _, m := range []map[string][]any{b.SetAdd, b.SetRemove} {
		for k, es := range m {
			n += len(k) + 16 + heldBytes(es)
		}
	}
	return n
}
