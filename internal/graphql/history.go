package graphql

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/source"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/cidtext"
	"github.com/gossipdb/gossipdb/internal/jsonsize"
)

// A document's history, as DefraDB writes it:
//
//	_commits(docID: "bafy…", order: {height: ASC}, limit: 10) { cid height delta links { cid name } }
//	User(docID: "bafy…") { name _version { cid height } }
//	User(docID: "bafy…", cid: "bafy…") { name }
//
// A Commit is one block of a document, one change to it, as
// gossipdb.Collection.History describes it (gossipdb.BlockInfo). _commits
// lists the blocks of the document docID names, in whichever collection holds
// it, newest first as History lists them (decreasing height, then CID), or
// oldest first with order {height: ASC}; limit and offset page them; with
// cid it answers that one block. A docID that names no document answers [],
// as a collection query's docID does and as DefraDB answers; one that is not
// a document ID at all is an error, as it is in a collection query; a cid
// that is not one of the document's blocks is an error, as in DefraDB. The default order streams the history, a page of
// the store at a time; the ascending one holds the blocks it answers (the
// last offset+limit of History's order, every one without a limit) within
// the Go API's bounds of a sort, gossipdb.MaxSortedResults blocks and
// gossipdb.MaxSortedBytes, else the field fails.
//
// _version, a field of each collection's documents, lists the document's
// heads (usually one), newest first, read with BlockInfo rather than through
// the history. A mutation's transaction writes its last block in each
// collection when it commits (see gossipdb.Txn), so within a mutation's
// answer _version is read once the transaction has committed (see
// pendingVersion): it shows the heads the mutation left, or is null, with an
// error, if they cannot be read then (the changes were made).
//
// The query field of a collection takes cid with one docID: its answer is
// that document as it was at that block (gossipdb.Collection.GetAt), a list
// of one, or [] if the block deletes it; its _version is that block. A cid
// that is not one of the document's blocks is an error, as in DefraDB; cid
// with filter, order, groupBy, limit or offset, or without one docID, is
// refused (checkAt, or the resolver for what variables give). The
// documents its relations name are read as they are now.
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
	fieldVersion = "_version"
	argCID       = "cid"

	typeCommit      = "Commit"
	typeCommitLink  = "CommitLink"
	typeCommitOrder = "CommitOrderArg"

	// headLink names a link to a block a change was written on, as DefraDB
	// names a commit's links to the document's previous heads.
	headLink = "_head"

	// atKey is the member of a document read at a block (cid) that holds
	// the block's CID; no field name or response key can be this one.
	atKey = "\x00at"
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
// Such a node's schema has no _commits, _version or cid.
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

// versionField is the field _version of collection name's documents.
func (h *historyTypes) versionField(name string) *graphql.Field {
	return &graphql.Field{
		Type: graphql.NewList(graphql.NewNonNull(h.commit)),
		Description: "The document's heads, its latest blocks (usually one), newest first; in a mutation's answer, as the mutation left them " +
			"(null, with an error, if they cannot be read once it has committed); read at a block (cid), that block.",
		Resolve: bounded(resolveVersion(name)),
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
		if _, err := cidtext.Parse("block CID", at); err != nil {
			return nil, fmt.Errorf("%w: %w", gossipdb.ErrInvalid, err)
		}
	}
	if err := gossipdb.DocID(id).Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", argDocID, err)
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

// resolveVersion resolves _version of a document of collection name: its
// heads, newest first, as History orders them; for a document read at a
// block, that block. In a mutation it answers nothing yet, and Do reads it
// once the mutation has committed (see pendingVersion).
func resolveVersion(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		doc, _ := p.Source.(map[string]any)
		id, _ := doc[client.DocIDKey].(string)
		c, err := r.collection(name)
		if err != nil {
			return nil, err
		}
		var heads []string
		if at, ok := doc[atKey].(string); ok {
			heads = []string{at}
		} else if r.tx != nil {
			r.mu.Lock()
			r.pending = append(r.pending, pendingVersion{path: p.Info.Path.AsArray(), fields: p.Info.FieldASTs, c: c, id: gossipdb.DocID(id)})
			r.mu.Unlock()
			return []any{}, nil
		} else if heads, err = c.Heads(r.ctx, gossipdb.DocID(id)); err != nil {
			return nil, err
		}
		infos, err := headInfos(r, c, gossipdb.DocID(id), heads)
		if err != nil {
			return nil, err
		}
		shape := shapeOf(p)
		out := make([]any, len(infos))
		for i, info := range infos {
			cm := &commit{c: c, info: info}
			if err := r.chargeCommit(cm, shape); err != nil {
				return nil, err
			}
			out[i] = cm
		}
		return out, nil
	}
}

// headInfos describes the blocks heads of document id of c, newest first:
// in decreasing order of height, then of CID bytes, as History lists them.
func headInfos(r *request, c *gossipdb.Collection, id gossipdb.DocID, heads []string) ([]gossipdb.BlockInfo, error) {
	infos := make([]gossipdb.BlockInfo, len(heads))
	for i, h := range heads {
		var err error
		if infos[i], err = c.BlockInfo(r.ctx, id, h); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(infos, func(a, b gossipdb.BlockInfo) int {
		if a.Height != b.Height {
			if a.Height > b.Height {
				return -1
			}
			return 1
		}
		ca, errA := cid.Decode(a.CID)
		cb, errB := cid.Decode(b.CID)
		if errA != nil || errB != nil {
			return strings.Compare(b.CID, a.CID)
		}
		return bytes.Compare(cb.Bytes(), ca.Bytes())
	})
	return infos, nil
}

// pendingVersion is a _version in a mutation's answer, which Do reads once
// the mutation's transaction has committed: a transaction writes its last
// block in each collection then (see gossipdb.Txn), so the heads it leaves
// are known only after it.
type pendingVersion struct {
	path   []any        // where the list stands in the answer
	fields []*ast.Field // the _version fields under its response key
	c      *gossipdb.Collection
	id     gossipdb.DocID
}

// versions reads the _version lists of a mutation's answer, res, now that
// its transaction has committed, and puts them in their places: it runs a
// query of _commits(docID, cid) for each head, with the selections of the
// _version fields, through graphql-go. An error makes every such list null
// and is added to the answer's errors; the rest of the answer stays, so that
// a client sees that the mutation's changes were made.
func (e *Executor) versions(ctx context.Context, g *generated, doc *ast.Document, req client.GraphQLRequest, r *request, res *graphql.Result) {
	r.tx = nil                              // reads go to the store, committed
	op := operation(doc, req.OperationName) // the one that ran
	defs := []ast.Node{}
	for _, d := range doc.Definitions {
		if d, ok := d.(*ast.FragmentDefinition); ok {
			defs = append(defs, d)
		}
	}
	keys := make([][]string, len(r.pending)) // by pending version, the response keys of its heads
	var fields []ast.Selection
	var errs []gqlerrors.FormattedError
	for i, pv := range r.pending {
		heads, err := pv.c.Heads(r.ctx, pv.id)
		var infos []gossipdb.BlockInfo
		if err == nil {
			infos, err = headInfos(r, pv.c, pv.id, heads)
		}
		if err != nil {
			nodes := make([]ast.Node, len(pv.fields))
			for k, f := range pv.fields {
				nodes[k] = f
			}
			errs = append(errs, gqlerrors.FormatError(gqlerrors.NewLocatedError(cause(r.ctx, err), nodes)))
			continue
		}
		var sels []ast.Selection
		for _, f := range pv.fields {
			if f.SelectionSet != nil {
				sels = append(sels, f.SelectionSet.Selections...)
			}
		}
		for j, info := range infos {
			key := fmt.Sprintf("v%d_%d", i, j)
			keys[i] = append(keys[i], key)
			fields = append(fields, ast.NewField(&ast.Field{
				Loc:   pv.fields[0].Loc,
				Alias: ast.NewName(&ast.Name{Value: key}),
				Name:  ast.NewName(&ast.Name{Value: fieldCommits}),
				Arguments: []*ast.Argument{
					ast.NewArgument(&ast.Argument{Name: ast.NewName(&ast.Name{Value: argDocID}), Value: ast.NewStringValue(&ast.StringValue{Value: string(pv.id)})}),
					ast.NewArgument(&ast.Argument{Name: ast.NewName(&ast.Name{Value: argCID}), Value: ast.NewStringValue(&ast.StringValue{Value: info.CID})}),
				},
				SelectionSet: ast.NewSelectionSet(&ast.SelectionSet{Selections: sels}),
			}))
		}
	}
	var data map[string]any
	if len(fields) > 0 && len(errs) == 0 {
		q := ast.NewOperationDefinition(&ast.OperationDefinition{Operation: ast.OperationTypeQuery,
			VariableDefinitions: op.VariableDefinitions, SelectionSet: ast.NewSelectionSet(&ast.SelectionSet{Selections: fields})})
		out := graphql.Execute(graphql.ExecuteParams{
			Schema:  g.schema,
			AST:     ast.NewDocument(&ast.Document{Definitions: append([]ast.Node{q}, defs...)}),
			Args:    req.Variables,
			Context: context.WithValue(context.WithoutCancel(ctx), requestKey{}, r),
		})
		data, _ = out.Data.(map[string]any)
		for _, fe := range out.Errors {
			// The path of an error under a head's field goes on from the
			// _version list's place in the mutation's answer.
			if len(fe.Path) > 0 {
				var i, j int
				if key, ok := fe.Path[0].(string); ok && scanKey(key, &i, &j) && i < len(r.pending) {
					fe.Path = append(append(slices.Clone(r.pending[i].path), j), fe.Path[min(2, len(fe.Path)):]...)
				}
			}
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		for _, pv := range r.pending {
			setAt(res.Data, pv.path, nil)
		}
		res.Errors = append(res.Errors, errs...)
		return
	}
	for i, pv := range r.pending {
		list := []any{}
		for _, key := range keys[i] {
			got, _ := data[key].([]any)
			list = append(list, got...)
		}
		setAt(res.Data, pv.path, list)
	}
}

// setAt sets the member at path of data, an answer as graphql-go builds it
// (objects and lists), to v.
func setAt(data any, path []any, v any) {
	for i, k := range path {
		last := i == len(path)-1
		switch k := k.(type) {
		case string:
			m, ok := data.(map[string]any)
			if !ok {
				return
			}
			if last {
				m[k] = v
				return
			}
			data = m[k]
		case int:
			l, ok := data.([]any)
			if !ok || k < 0 || k >= len(l) {
				return
			}
			if last {
				l[k] = v
				return
			}
			data = l[k]
		}
	}
}

// scanKey reads i and j of key, the response key "vi_j" of a head's field in
// versions' query.
func scanKey(key string, i, j *int) bool {
	_, err := fmt.Sscanf(key, "v%d_%d", i, j)
	return err == nil
}

// atExclusive are the arguments of a query field that cannot go with cid:
// they select or page documents, and cid reads one.
var atExclusive = []string{argFilter, argOrder, argGroupBy, argLimit, argOffset, argShowDeleted}

// The mistakes of a query with cid, the same whether checkAt or a resolver
// finds them.
func errAtWith(arg string) error {
	return fmt.Errorf("%w: %s cannot go with %s: %s reads the one document %s names, as it was at that block of its history",
		gossipdb.ErrInvalid, arg, argCID, argCID, argDocID)
}

var errAtDocID = fmt.Errorf("%w: %s needs %s to name one document, the one to read as it was at that block, such as User(docID: \"bafy…\", cid: \"bafy…\")",
	gossipdb.ErrInvalid, argCID, argDocID)

// atArg reads the cid argument of the query field p resolves: the block, the
// one document docID names, and whether cid was given (not null). An
// argument that cannot go with it, or a docID of more or fewer than one ID,
// is an error.
func (r *request) atArg(p graphql.ResolveParams) (at, id string, given bool, err error) {
	v, _ := r.arg(p, argCID)
	switch x := v.(type) {
	case nil:
		return "", "", false, nil
	case string:
		at = x
	case json.Number:
		at = string(x) // an Int literal or variable, for an ID
	default:
		return "", "", true, fmt.Errorf("%w: %s: want a block CID, got %s", gossipdb.ErrInvalid, argCID, describe(v))
	}
	for _, name := range atExclusive {
		if v, _ := r.arg(p, name); v != nil {
			return "", "", true, errAtWith(name)
		}
	}
	v, _ = r.arg(p, argDocID)
	if l, ok := v.([]any); ok && len(l) == 1 {
		v = l[0]
	}
	if id, ok := v.(string); ok {
		return at, id, true, nil
	}
	return "", "", true, errAtDocID
}

// selectAt answers the query field p resolves, of collection c, with cid:
// document id as it was at block at, a list of one, or none if the block
// deletes it.
func (r *request) selectAt(p graphql.ResolveParams, c *gossipdb.Collection, id, at string) ([]any, error) {
	d, err := c.GetAt(r.ctx, gossipdb.DocID(id), at)
	if errors.Is(err, gossipdb.ErrDeleted) {
		return []any{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := object(d)
	if err := r.charge(m, shapeOf(p)); err != nil {
		return nil, err
	}
	m[atKey] = at
	return []any{m}, nil
}

// checkAt refuses, before a request runs, a collection query whose cid
// comes with an argument that selects or pages documents (filter, order,
// groupBy, limit, offset), or without docID or with a list of more or fewer
// than one: cid reads the one document docID names. Values of variables are
// for the resolver to check (atArg).
func checkAt(src *source.Source, doc *ast.Document) []gqlerrors.FormattedError {
	var errs []gqlerrors.FormattedError
	seen := map[int]bool{} // errors made, by position
	refuse := func(loc *ast.Location, err error) {
		pos := 0
		if loc != nil {
			pos = loc.Start
		}
		if !seen[pos] {
			seen[pos] = true
			errs = append(errs, gqlerrors.FormatError(locatedError(src, pos, err.Error())))
		}
	}
	check := func(sel *ast.Field) {
		if sel.Name.Value == fieldCommits {
			return
		}
		args := map[string]*ast.Argument{}
		for _, a := range sel.Arguments {
			if a.Name != nil && !isNull(a.Value) {
				args[a.Name.Value] = a
			}
		}
		at := args[argCID]
		if at == nil {
			return
		}
		for _, name := range atExclusive {
			if a := args[name]; a != nil {
				if _, variable := a.Value.(*ast.Variable); !variable {
					refuse(a.Loc, errAtWith(name))
				}
			}
		}
		switch id := args[argDocID]; {
		case id == nil:
			refuse(at.Loc, errAtDocID)
		default:
			if l, ok := id.Value.(*ast.ListValue); ok && len(l.Values) != 1 {
				refuse(id.Loc, errAtDocID)
			}
		}
	}
	fr := fragmentsOf(doc)
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			fr.fields(op.SelectionSet, check)
		}
	}
	return errs
}

// isNull reports whether v is a null of the request (see rewriteNulls).
func isNull(v ast.Value) bool {
	x, ok := v.(*ast.Variable)
	return ok && x.Name != nil && x.Name.Value == nullVar
}
