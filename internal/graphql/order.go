package graphql

import (
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
)

// Ordering by the fields of a related document, as DefraDB writes it:
// Book(order: {author: {name: ASC}}), through relations that name one
// document, to any depth ({author: {publisher: {name: ASC}}}), mixed with
// the collection's own fields. gossipdb.Query orders by a collection's own
// fields only, and no index holds a related document's values, so such a
// query reads its matches in ID order and sorts them here as the Go API sorts
// an order no index yields (see gossipdb.Query): by the keys' values encoded
// as package index encodes them (so values compare as they do everywhere
// else, nulls first in ascending order and last in descending order), then
// by the document ID in the direction of the last key unless a key is the
// document's _docID; keeping the first Offset+Limit with a Limit, else every
// match, at most gossipdb.MaxSortedResults documents and
// gossipdb.MaxSortedBytes of them. A document whose relation names no
// document, or one this node does not hold or that was deleted, has null for
// every key behind it, as its relation field answers null.

// orderPath joins the relation fields of a sort key on a related document's
// fields and the field at its end: "author.name". No field name holds a dot.
const orderPath = "."

// maxRelatedCache bounds the bytes of related documents a sort keeps to look
// up their values again; past it the cache is emptied, which costs reads
// again, not memory.
const maxRelatedCache = 8 << 20

// errTooManyToSort reports a query ordered by a related document's fields
// that would sort more than docs documents or gossipdb.MaxSortedBytes, the
// bounds of the Go API's own sorts.
func errTooManyToSort(docs int) error {
	return fmt.Errorf("%w: the query sorts more than %d documents or %d bytes in memory; add a limit or a narrower filter (no index holds a related document's fields)",
		gossipdb.ErrTooLarge, docs, gossipdb.MaxSortedBytes)
}

// run returns the documents of c that q selects, in q's order, in the
// request's transaction in a mutation. An order on a related document's
// fields is sorted here (see sortRelated); any other runs as gossipdb.Query.
func (r *request) run(c *gossipdb.Collection, q gossipdb.Query) iter.Seq2[*gossipdb.Document, error] {
	if !slices.ContainsFunc(q.Order, func(o gossipdb.Order) bool { return strings.Contains(o.Field, orderPath) }) {
		return r.find(c, q)
	}
	return r.sortRelated(c, q)
}

// hop is one relation a sort key follows: the field, and the collection of
// the document it names.
type hop struct {
	field  crdt.Field
	target *gossipdb.Collection
}

// sortKey is one key of an order that sortRelated runs: the relations it
// follows from the document (none for the document's own field), the field
// at its end, and its direction.
type sortKey struct {
	path  string
	hops  []hop
	field crdt.Field // Name client.DocIDKey for the ID of the document at the end
	desc  bool
}

// fieldError is an error of a field named in an order, an aggregate or a
// condition on list items, as the Go API words its own.
func fieldError(field, reason string) error {
	return fmt.Errorf("%w: %w", gossipdb.ErrInvalid, &gossipdb.FieldError{Field: field, Reason: reason})
}

// sortKeys resolves an order of collection c whose keys may name related
// documents' fields: the keys before the document's own _docID, if any, and
// the direction of the document ID after them. It checks what
// gossipdb.Query checks of its own order (at most MaxOrderFields keys, each
// once, of fields that can be ordered by), and that each relation a key
// follows names one document.
func (r *request) sortKeys(c *gossipdb.Collection, orders []gossipdb.Order) ([]sortKey, bool, error) {
	if len(orders) > gossipdb.MaxOrderFields {
		return nil, false, fmt.Errorf("%w: order by more than %d fields", gossipdb.ErrInvalid, gossipdb.MaxOrderFields)
	}
	var keys []sortKey
	byID, idDesc := false, false
	seen := map[string]bool{}
	for _, o := range orders {
		if seen[o.Field] {
			return nil, false, fieldError(o.Field, "ordered by twice")
		}
		seen[o.Field] = true
		if o.Field == client.DocIDKey {
			if !byID {
				byID, idDesc = true, o.Desc
			}
			continue
		}
		k := sortKey{path: o.Field, desc: o.Desc}
		cur := c
		parts := strings.Split(o.Field, orderPath)
		for i, name := range parts {
			if i == len(parts)-1 {
				if name == client.DocIDKey {
					k.field = crdt.Field{Name: client.DocIDKey, Kind: crdt.KindString}
					break
				}
				fd, ok := fieldOf(cur, name)
				switch {
				case !ok:
					return nil, false, fieldError(o.Field, "unknown field in order")
				case fd.Kind == crdt.KindJSON:
					return nil, false, fieldError(o.Field, "cannot order by a JSON field")
				case fd.List || fd.AddWinsSet || fd.Kind == crdt.KindRelation:
					return nil, false, fieldError(o.Field, "cannot order by a list, set or relation field")
				}
				k.field = fd
				break
			}
			fd, ok := fieldOf(cur, name)
			if !ok || fd.Kind != crdt.KindRelation || fd.List {
				return nil, false, fieldError(o.Field, fmt.Sprintf("%s is not a relation to one document of %s", name, cur.Name()))
			}
			target, err := r.collection(fd.Relation)
			if err != nil {
				return nil, false, err
			}
			k.hops = append(k.hops, hop{field: fd, target: target})
			cur = target
		}
		if !byID {
			keys = append(keys, k)
		}
	}
	if !byID {
		idDesc = len(keys) > 0 && keys[len(keys)-1].desc
	}
	return keys, idDesc, nil
}

// fieldOf returns the field of c called name.
func fieldOf(c *gossipdb.Collection, name string) (crdt.Field, bool) {
	for _, f := range c.Fields() {
		if f.Name == name {
			return f, true
		}
	}
	return crdt.Field{}, false
}

// sortRelated runs q, whose order names a related document's fields: it
// reads every match of q's filter in ID order, keeps the first Offset+Limit
// by sort key (every one without a limit) and yields them in order, past
// the offset.
func (r *request) sortRelated(c *gossipdb.Collection, q gossipdb.Query) iter.Seq2[*gossipdb.Document, error] {
	return r.sortDocs(c, q, r.find(c, gossipdb.Query{Filter: q.Filter}))
}

// sortDocs yields docs, documents of c, in q's order (which may name related
// documents' fields), paged by q's Offset and Limit; q's Filter is not
// applied. It holds the first Offset+Limit of them (every one without a
// limit), within the bounds of a sort.
func (r *request) sortDocs(c *gossipdb.Collection, q gossipdb.Query, docs iter.Seq2[*gossipdb.Document, error]) iter.Seq2[*gossipdb.Document, error] {
	return func(yield func(*gossipdb.Document, error) bool) {
		keys, idDesc, err := r.sortKeys(c, q.Order)
		switch {
		case err != nil:
		case q.Limit < 0:
			err = fmt.Errorf("%w: negative limit %d", gossipdb.ErrInvalid, q.Limit)
		case q.Offset < 0:
			err = fmt.Errorf("%w: negative offset %d", gossipdb.ErrInvalid, q.Offset)
		}
		if err != nil {
			yield(nil, err)
			return
		}
		s := &relatedSort{r: r, keys: keys, idDesc: idDesc, max: gossipdb.MaxSortedResults, cache: map[string]*gossipdb.Document{}}
		if r.e.maxSorted > 0 {
			s.max = r.e.maxSorted
		}
		s.keep = s.max + 1
		if q.Limit > 0 && q.Offset <= math.MaxInt-q.Limit {
			s.keep = min(s.keep, q.Offset+q.Limit)
		}
		for doc, err := range docs {
			if err == nil {
				err = s.add(doc)
			}
			if err != nil {
				yield(nil, err)
				return
			}
		}
		slices.SortFunc(s.held, func(a, b sorted) int { return bytes.Compare(a.key, b.key) })
		sent := 0
		for i, h := range s.held {
			if i < q.Offset {
				continue
			}
			if q.Limit > 0 && sent == q.Limit {
				return
			}
			sent++
			if !yield(h.doc, nil) {
				return
			}
		}
	}
}

// relatedSort holds the documents of a sort on related documents' fields
// (see sortRelated): the first keep by sort key, as a heap whose root is the
// last of them.
type relatedSort struct {
	r      *request
	keys   []sortKey
	idDesc bool
	max    int // the most documents it may hold
	keep   int
	held   sortedHeap
	bytes  int // of held, as sortedBytes counts them

	cache      map[string]*gossipdb.Document // related documents by collection and ID; nil for none
	cacheBytes int
}

// sorted is a document held by a sort, with its sort key.
type sorted struct {
	doc *gossipdb.Document
	key []byte
}

// add considers one match.
func (s *relatedSort) add(doc *gossipdb.Document) error {
	key, err := s.key(doc)
	if err != nil {
		return err
	}
	h := sorted{doc: doc, key: key}
	switch {
	case len(s.held) < s.keep:
		heap.Push(&s.held, h)
		s.bytes += sortedBytes(h)
	case bytes.Compare(h.key, s.held[0].key) < 0:
		s.bytes += sortedBytes(h) - sortedBytes(s.held[0])
		s.held[0] = h
		heap.Fix(&s.held, 0)
	}
	if len(s.held) > s.max || s.bytes > gossipdb.MaxSortedBytes {
		return errTooManyToSort(s.max)
	}
	return nil
}

// key returns doc's sort key: each key's value, then the document ID.
func (s *relatedSort) key(doc *gossipdb.Document) ([]byte, error) {
	var key []byte
	for _, k := range s.keys {
		v, err := s.value(doc, k)
		if err != nil {
			return nil, err
		}
		key = index.AppendValue(key, k.field.Kind, v, k.desc)
	}
	return index.AppendDocID(key, string(doc.ID), s.idDesc), nil
}

// value returns the value key k reads of doc, in its canonical form (see
// canonical); nil where a relation on the way names no document this node
// holds alive.
func (s *relatedSort) value(doc *gossipdb.Document, k sortKey) (any, error) {
	fields, id := doc.Fields, string(doc.ID)
	for _, h := range k.hops {
		id = relationValue(fields[h.field.Name])
		if id == "" {
			return nil, nil
		}
		d, err := s.related(h.target, id)
		if d == nil || err != nil {
			return nil, err
		}
		fields = d.Fields
	}
	if k.field.Name == client.DocIDKey {
		return id, nil
	}
	return canonical(fields[k.field.Name]), nil
}

// related returns document id of c, or nil if this node does not hold it
// alive, reading it once while the cache holds it.
func (s *relatedSort) related(c *gossipdb.Collection, id string) (*gossipdb.Document, error) {
	ck := c.Name() + "\x00" + id
	if d, ok := s.cache[ck]; ok {
		return d, nil
	}
	d, err := s.r.get(c, gossipdb.DocID(id))
	switch {
	case errors.Is(err, gossipdb.ErrNotFound) || errors.Is(err, gossipdb.ErrDeleted):
		d = nil
	case err != nil:
		return nil, err
	}
	n := len(ck) + 16
	if d != nil {
		for _, v := range d.Fields {
			n += heldBytes(v)
		}
	}
	if s.cacheBytes+n > maxRelatedCache {
		clear(s.cache)
		s.cacheBytes = 0
	}
	s.cache[ck] = d
	s.cacheBytes += n
	return d, nil
}

// canonical returns a value of a document's fields as gossipdb.Document
// holds it in the form package index encodes: a DateTime as RFC 3339 text,
// a relation's ID as a string.
func canonical(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case gossipdb.DocID:
		return string(x)
	}
	return v
}

// sortedBytes is what a held document counts toward gossipdb.MaxSortedBytes:
// its sort key, its ID and its values, as the Go API counts its own.
func sortedBytes(h sorted) int {
	n := len(h.key) + len(h.doc.ID)
	for _, v := range h.doc.Fields {
		n += heldBytes(v)
	}
	return n
}

// heldBytes is the bytes a value counts: a string's length and 16, a list's
// items and 24, 16 for any other value.
func heldBytes(v any) int {
	switch x := v.(type) {
	case nil:
		return 16
	case string:
		return len(x) + 16
	case gossipdb.DocID:
		return len(x) + 16
	case []any:
		n := 24
		for _, e := range x {
			n += heldBytes(e)
		}
		return n
	case map[string]any:
		n := 24
		for k, e := range x {
			n += len(k) + heldBytes(e)
		}
		return n
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		n := 24
		for i := range rv.Len() {
			n += heldBytes(rv.Index(i).Interface())
		}
		return n
	}
	return 16
}

// sortedHeap is a max-heap of held documents by sort key.
type sortedHeap []sorted

func (h sortedHeap) Len() int           { return len(h) }
func (h sortedHeap) Less(i, j int) bool { return bytes.Compare(h[i].key, h[j].key) > 0 }
func (h sortedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sortedHeap) Push(x any)        { *h = append(*h, x.(sorted)) }
func (h *sortedHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
