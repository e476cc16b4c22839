package gossipdb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Index describes a secondary index of a collection: the collection's documents
// kept in the order of some of their fields, which queries use to find
// documents by equality, _in and ranges on those fields, and to return them in
// that order without sorting (see Query).
//
// Indexes are local: each node keeps the indexes declared in the SDL it was
// given (@index, see AddCollection) or created with CreateIndex, and one on
// each relation field (author: Author), which it creates itself (see
// relationIndexes) for the queries of related documents, and they do not
// change the collection's schema ID, and peers exchange no index data. Every
// change to a document, local or merged from a peer, changes its index entries
// in the same transaction as its state, so an index is always exact.
type Index struct {
	// Name identifies the index in its collection.
	Name string
	// Fields are the indexed fields, in the index's order.
	Fields []Order
	// Ready is true once the index holds every document; queries use only
	// ready indexes, and none with a counter field or a field that has a
	// default in the active version (see CreateIndex). An index created on a
	// collection that holds documents is built in the background.
	Ready bool
	// Read is, while the index is built, how many documents its build has
	// read (out of about Count's total): the build's progress. It is 0 once
	// the index is ready.
	Read int64
	// Dropped names the fields of Fields that the active version does not
	// show, as Fields does: by the name each had last (a patch dropped
	// them). The index keeps their values; queries cannot name them, and
	// a patch that brings a field back makes it usable again.
	Dropped []string
}

// fieldKey returns the stable key under which field f's values are stored and
// indexed (crdt.Field.ID): an index keeps working when its fields are renamed.
func fieldKey(f crdt.Field) string { return f.ID() }

// fieldByKey returns the field of version s whose stable key is k; false when
// s does not show that field.
func fieldByKey(s *crdt.Schema, k string) (crdt.Field, bool) {
	for _, f := range s.Fields {
		if f.ID() == k {
			return f, true
		}
	}
	return crdt.Field{}, false
}

// fieldKeys returns the keys of version s's fields, in its order.
func fieldKeys(s *crdt.Schema) []string {
	keys := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		keys[i] = fieldKey(f)
	}
	return keys
}

// indexReadsExact reports whether index ix holds each document under the
// values version s reads: an index entry holds what a document's state holds,
// so a field that reads as something the state may not hold (a default, an
// unset counter's 0) makes the index unfit for queries.
func indexReadsExact(s *crdt.Schema, ix store.Index) bool {
	for _, f := range ix.Fields {
		if fd, ok := fieldByKey(s, f.Key); ok && (fd.Default != nil || fd.Counter) {
			return false
		}
	}
	return true
}

// indexName returns the default name of an index on fields: the collection's
// name, then each field's name and direction ("User_name_ASC_age_DESC").
func indexName(collection string, fields []Order) string {
	var b strings.Builder
	b.WriteString(collection)
	for _, f := range fields {
		b.WriteString("_" + f.Field)
		if f.Desc {
			b.WriteString("_DESC")
		} else {
			b.WriteString("_ASC")
		}
	}
	return b.String()
}

// CreateIndex adds an index on fields (in order, each ascending or descending)
// called name ("" for the default name, such as "User_name_ASC") and returns
// it. On a collection that holds documents the index is built in the
// background, and used by queries once Ready (see Indexes). An index identical
// to an existing one of that name is returned as is. An index on a list or
// set field holds one entry per distinct item of each document; a query whose
// filter has an _any of an item equal to a value, in a list of values or in
// a range reads those values' entries. An index with a counter field, or a
// field that has a default in the active version (see Patch), is created,
// built and kept exact all the same, but queries do not read it: its entries
// hold what documents' states hold, and a document that never had such a
// field reads 0 or the default instead (Explain shows the index a query
// reads). An unknown field, a field given twice, a JSON, list or set field with other
// fields, the inverse side of a relation, no field or more than 8, more than
// 64 indexes, a name taken by another index, or one that is not a name as
// GraphQL spells them (letters, digits and "_", not starting with a digit or
// "_", at most 128 bytes) fail with ErrInvalid.
func (c *Collection) CreateIndex(ctx context.Context, name string, fields ...Order) (Index, error) {
	return c.createIndex(ctx, c.schema(), name, fields)
}

// createIndex is CreateIndex with fields named as version v names them.
func (c *Collection) createIndex(ctx context.Context, v *crdt.Schema, name string, fields []Order) (Index, error) {
	if c.node.closing() {
		return Index{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return Index{}, err
	}
	if name == "" {
		name = indexName(c.Name(), fields)
	} else if err := schema.CheckIndexName(name); err != nil {
		return Index{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s := c.schema()
	defs, err := indexFields(v, fields)
	if err != nil {
		return Index{}, err
	}
	n := c.node
	if err := n.enter(); err != nil {
		return Index{}, err
	}
	defer n.leave()
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	for _, ix := range n.store.Indexes(s.ID) {
		if ix.Name != name {
			continue
		}
		if !sameIndexFields(ix.Fields, defs) {
			return Index{}, c.nameTaken(s, ix)
		}
		return c.index(s, ix), nil
	}
	ix, err := n.store.AddIndex(s.ID, name, defs)
	if errors.Is(err, store.ErrIndex) {
		return Index{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err != nil {
		return Index{}, storeError("create index", err)
	}
	c.buildIndex(ix.ID)
	return c.index(s, ix), nil
}

// indexFields returns the store's description of an index on fields, named
// as version v names them, or an error matching ErrInvalid that names the
// field that cannot be indexed: unknown, the document ID, the inverse side
// of a relation, a list, set or JSON field with others, or a field given
// twice. An index on a list or set field holds its items (see Query).
func indexFields(v *crdt.Schema, fields []Order) ([]store.IndexField, error) {
	var defs []store.IndexField
	for _, o := range fields {
		f, ok := v.Field(o.Field)
		switch {
		case o.Field == docIDField:
			return nil, filterError(o.Field, "every index ends with the document ID; it cannot name it")
		case !ok:
			return nil, filterError(o.Field, "unknown field in index")
		case f.Derived():
			return nil, filterError(o.Field, "the inverse side of a relation cannot be indexed: index "+f.Relation+"'s relation field")
		case (f.List || f.AddWinsSet) && len(fields) > 1:
			return nil, filterError(o.Field, "a list or set field can only be indexed alone")
		case f.Kind == crdt.KindJSON && len(fields) > 1:
			return nil, filterError(o.Field, "a JSON field can only be indexed alone")
		}
		for _, d := range defs {
			if d.Key == fieldKey(f) {
				return nil, filterError(o.Field, "indexed twice")
			}
		}
		defs = append(defs, store.IndexField{Key: fieldKey(f), Kind: f.Kind, Desc: o.Desc, List: f.List || f.AddWinsSet})
	}
	return defs, nil
}

func sameIndexFields(a, b []store.IndexField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// missingIndexes returns the indexes of decls, declared in SDL for collection
// c naming fields as version v does and checked by checkNewIndexes, that c
// lacks, each once. c.indexMu is held.
func (c *Collection) missingIndexes(v *crdt.Schema, decls []schema.Index) []store.NewIndex {
	return newIndexes(c.Name(), c.node.store.Indexes(v.ID), v, decls)
}

// newIndexes returns the indexes of decls, declared in SDL for the
// collection called name naming fields as its version v does and checked,
// that existing, its indexes, lacks, each once. A declaration without a
// name of the fields of an existing index, whatever its name (one on a
// field renamed since is named after the old name), is that index.
func newIndexes(name string, existing []store.Index, v *crdt.Schema, decls []schema.Index) []store.NewIndex {
	var add []store.NewIndex
	for _, d := range decls {
		fields := declaredOrder(d)
		defs, _ := indexFields(v, fields) // checked
		ixName := cmp.Or(d.Name, indexName(name, fields))
		if d.Name == "" && indexedAlready(existing, defs) {
			continue
		}
		if slices.ContainsFunc(existing, func(ix store.Index) bool { return ix.Name == ixName }) ||
			slices.ContainsFunc(add, func(a store.NewIndex) bool { return a.Name == ixName }) {
			continue
		}
		add = append(add, store.NewIndex{Schema: v.ID, Name: ixName, Fields: defs})
	}
	return add
}

// relationIndexes creates an index on each relation field of the collection's
// active version (author: Author, not a list of them) that no index starts
// with, under the default name (Book_author_ASC) or, when an index of other
// fields has that name (one on a relation renamed since, before a new
// relation took its name), the first of Book_author_ASC_2, _3 … that none
// has, and builds it in the background: the queries of related documents
// (Book(filter: {author: …}), Author { books }) then read the documents that
// name one document, not every document of the collection. The node calls
// it when a collection is added or patched, and when it opens a store that
// has none.
func (c *Collection) relationIndexes(ctx context.Context) error {
	s := c.schema()
	for _, f := range s.Fields {
		if f.Kind != crdt.KindRelation || f.List || c.indexesStartingWith(s, fieldKey(f)) > 0 {
			continue
		}
		if _, err := c.createIndex(ctx, s, c.relationIndexName(s, f), []Order{{Field: f.Name}}); err != nil {
			return fmt.Errorf("index on relation field %s of %s: %w", f.Name, c.Name(), err)
		}
	}
	return nil
}

// relationIndexName returns the name relationIndexes gives the index of
// relation field f of the collection, whose active version is s: "" for the
// default name, or the default name with the first suffix _2, _3 … that no
// index of the collection has, when one has the default name.
func (c *Collection) relationIndexName(s *crdt.Schema, f crdt.Field) string {
	taken := map[string]bool{}
	for _, ix := range c.node.store.Indexes(s.ID) {
		taken[ix.Name] = true
	}
	base := indexName(c.Name(), []Order{{Field: f.Name}})
	if !taken[base] {
		return ""
	}
	for i := 2; ; i++ {
		if name := base + "_" + strconv.Itoa(i); !taken[name] {
			return name
		}
	}
}

// indexesStartingWith counts the indexes of the collection, whose active
// version is s, that start with the field whose key is key.
func (c *Collection) indexesStartingWith(s *crdt.Schema, key string) int {
	k := 0
	for _, ix := range c.node.store.Indexes(s.ID) {
		if len(ix.Fields) > 0 && ix.Fields[0].Key == key {
			k++
		}
	}
	return k
}

// checkDeclaredIndexes checks, before anything is added, that the indexes
// decls that SDL declares for s can be created: each on fields an index may
// hold, no name given to two indexes of different fields, and at most
// store.MaxIndexes of them. The errors match ErrInvalid, as createIndex's.
func checkDeclaredIndexes(s *crdt.Schema, decls []schema.Index) error {
	byName := make(map[string][]store.IndexField, len(decls))
	for _, d := range decls {
		fields := declaredOrder(d)
		defs, err := indexFields(s, fields)
		if err != nil {
			return err
		}
		name := cmp.Or(d.Name, indexName(s.Name, fields))
		if other, ok := byName[name]; ok && !sameIndexFields(other, defs) {
			return fmt.Errorf("%w: type %s: index %q declared twice with other fields", ErrInvalid, s.Name, name)
		}
		byName[name] = defs
	}
	if len(byName) > store.MaxIndexes {
		return fmt.Errorf("%w: type %s: %d indexes, at most %d", ErrInvalid, s.Name, len(byName), store.MaxIndexes)
	}
	return nil
}

// checkNewIndexes checks, before a patch changes anything, that the indexes
// decls that its SDL declares, naming fields as version v does, can be
// created on the collection: as checkDeclaredIndexes, and no name taken by
// an existing index of other fields, and at most store.MaxIndexes in all.
func (c *Collection) checkNewIndexes(v *crdt.Schema, decls []schema.Index) error {
	if err := checkDeclaredIndexes(v, decls); err != nil {
		return err
	}
	existing := c.node.store.Indexes(v.ID)
	added := map[string]bool{}
	for _, d := range decls {
		fields := declaredOrder(d)
		defs, _ := indexFields(v, fields) // checked above
		name := cmp.Or(d.Name, indexName(c.Name(), fields))
		i := slices.IndexFunc(existing, func(ix store.Index) bool { return ix.Name == name })
		switch {
		case d.Name == "" && indexedAlready(existing, defs):
		case i < 0:
			added[name] = true
		case !sameIndexFields(existing[i].Fields, defs):
			return c.nameTaken(v, existing[i])
		}
	}
	if k := len(existing) + len(added); k > store.MaxIndexes {
		return fmt.Errorf("%w: type %s: %d indexes, at most %d", ErrInvalid, c.Name(), k, store.MaxIndexes)
	}
	return nil
}

// nameTaken is the error of an index whose name existing index ix, of other
// fields, has: it names ix's fields as version v does (a field renamed since
// the index was made by its new name, one v drops by the name it was added
// under), and says to choose another name. It takes no lock: Patch holds
// c.mu.
func (c *Collection) nameTaken(v *crdt.Schema, ix store.Index) error {
	var fields []string
	for _, f := range ix.Fields {
		if fd, ok := fieldByKey(v, f.Key); ok {
			fields = append(fields, fd.Name)
		} else {
			added, _, _ := strings.Cut(f.Key, "@")
			fields = append(fields, "a field this version drops, added as "+added)
		}
	}
	return fmt.Errorf("%w: index %q of %s exists with other fields (%s); give this one another name",
		ErrInvalid, ix.Name, c.Name(), strings.Join(fields, ", "))
}

// indexedAlready reports whether one of existing has exactly the fields defs.
func indexedAlready(existing []store.Index, defs []store.IndexField) bool {
	return slices.ContainsFunc(existing, func(ix store.Index) bool { return sameIndexFields(ix.Fields, defs) })
}

// declaredOrder returns the fields of declared index d.
func declaredOrder(d schema.Index) []Order {
	fields := make([]Order, len(d.Fields))
	for i, f := range d.Fields {
		fields[i] = Order{Field: f.Name, Desc: f.Desc}
	}
	return fields
}

// index converts the store's description of an index, naming its fields as
// version s does, and a field s does not show by its last name (see
// lastName), listed in Dropped too.
func (c *Collection) index(s *crdt.Schema, ix store.Index) Index {
	out := Index{Name: ix.Name, Ready: ix.State == store.IndexReady}
	if !out.Ready {
		// A ready index's count would be of a build long over: not how many
		// documents it holds.
		out.Read = ix.Read
	}
	for _, f := range ix.Fields {
		name := ""
		if fd, ok := fieldByKey(s, f.Key); ok {
			name = fd.Name
		} else {
			name = c.lastName(s, f.Key)
			out.Dropped = append(out.Dropped, name)
		}
		out.Fields = append(out.Fields, Order{Field: name, Desc: f.Desc})
	}
	return out
}

// lastName returns the name of the field whose key is key, which version s
// does not show: the name the nearest of s's ancestors gives it, else the
// one a known version gives it (the smallest ID first), else the key.
func (c *Collection) lastName(s *crdt.Schema, key string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, v := range c.chainLocked(s) {
		if f, ok := v.FieldByKey(key); ok {
			return f.Name
		}
	}
	for _, id := range slices.SortedFunc(maps.Keys(c.versions), cmpCID) {
		if f, ok := c.versions[id].FieldByKey(key); ok {
			return f.Name
		}
	}
	return key
}

// Indexes returns the collection's indexes, in the order they were created;
// nil after Close. The slice is the caller's.
func (c *Collection) Indexes() []Index {
	if c.node.closing() {
		return nil
	}
	s := c.schema()
	var out []Index
	for _, ix := range c.node.store.Indexes(s.ID) {
		out = append(out, c.index(s, ix))
	}
	return out
}

// DropIndex deletes the index called name; queries stop using it at once. A
// query that was streaming its results from the index fails at its next page
// with ErrIndexDropped; one that had yielded nothing yet (and a
// Count, Aggregate or sorted query, which read an index in one snapshot)
// plans again instead, and one in a transaction that started before the drop
// reads it to the end. An unknown name fails with ErrNotFound. The only index
// that starts with a relation field (see Index) is kept: dropping it fails
// with ErrInvalid.
func (c *Collection) DropIndex(ctx context.Context, name string) error {
	if c.node.closing() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n := c.node
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	// Held until the index is gone, so that of two drops of the only two
	// indexes that start with a relation field one sees the other's done.
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	if f, ok := c.relationIndexed(name); ok {
		return fmt.Errorf("%w: index %q is the one of relation field %s of %s, which queries of related documents read: it is kept",
			ErrInvalid, name, f, c.Name())
	}
	err := n.store.DropIndex(c.schema().ID, name)
	if errors.Is(err, store.ErrIndex) {
		return fmt.Errorf("%w: index %q of %s", ErrNotFound, name, c.Name())
	}
	if err != nil {
		return storeError("drop index", err)
	}
	return nil
}

// relationIndexed returns the relation field of the active version that the
// index called name is the only index to start with, and true; false if
// there is none.
func (c *Collection) relationIndexed(name string) (string, bool) {
	s := c.schema()
	for _, ix := range c.node.store.Indexes(s.ID) {
		if ix.Name != name || len(ix.Fields) == 0 {
			continue
		}
		f, ok := fieldByKey(s, ix.Fields[0].Key)
		if !ok || f.Kind != crdt.KindRelation || f.List || c.indexesStartingWith(s, ix.Fields[0].Key) > 1 {
			return "", false
		}
		return f.Name, true
	}
	return "", false
}

// buildIndex builds index id in the background, a page of documents per
// transaction, until it is ready, the index is dropped or the node closes; the
// next Open resumes it.
func (c *Collection) buildIndex(id uint32) {
	n := c.node
	n.goFunc(func() {
		for n.ctx.Err() == nil {
			if err := n.enter(); err != nil {
				return
			}
			ready, err := n.store.BuildIndex(c.schema().ID, id)
			n.leave()
			switch {
			case errors.Is(err, store.ErrIndex):
				return // dropped
			case err != nil:
				if n.ctx.Err() == nil {
					n.log.Warn("Index build stopped", logKeyCollection, c.Name(), logKeyError, err)
				}
				return
			case ready:
				return
			}
		}
	})
}

// resumeIndexBuilds restarts the builds of indexes that are not ready, then
// creates the indexes of relation fields that have none (a store written
// before nodes indexed relations), logging those it cannot.
func (n *Node) resumeIndexBuilds() {
	for _, c := range n.Collections() {
		for _, ix := range n.store.Indexes(c.schema().ID) {
			if ix.State == store.IndexBuilding {
				c.buildIndex(ix.ID)
			}
		}
	}
	for _, c := range n.Collections() {
		if err := c.relationIndexes(n.ctx); err != nil {
			n.log.Warn("Cannot index a relation field", logKeyCollection, c.Name(), logKeyError, err)
		}
	}
}
