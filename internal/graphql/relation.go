package graphql

import (
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/graphql-go/graphql"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/crdt"
)

// Relations, as DefraDB writes them. For Book { author: Author } and
// Author { books: [Book] }: a Book has author (the Author document) and
// _authorID (its ID); an Author has books(filter, order, limit, offset, docID),
// the books whose author it is. A filter may test the related documents:
// Book(filter: {author: {name: {_eq: "Ada"}}}), Author(filter: {books:
// {rating: {_gt: 4}}}) (at least one book matches); relate turns those into
// conditions on document IDs, which gossipdb.Filter runs.

// find runs q over collection c: in the request's transaction in a mutation,
// so that it sees the mutations before it.
func (r *request) find(c *gossipdb.Collection, q gossipdb.Query) iter.Seq2[*gossipdb.Document, error] {
	if r.tx != nil {
		return r.tx.Query(c.Name(), q)
	}
	return c.Query(r.ctx, q)
}

// get reads document id of c, in the request's transaction in a mutation.
func (r *request) get(c *gossipdb.Collection, id gossipdb.DocID) (*gossipdb.Document, error) {
	if r.tx != nil {
		return r.tx.Get(c.Name(), id)
	}
	return c.Get(r.ctx, id)
}

// relationValue returns the document ID a relation field holds, or "".
func relationValue(v any) string {
	switch v := v.(type) {
	case gossipdb.DocID:
		return string(v)
	case string:
		return v
	}
	return ""
}

// relationID resolves _authorID: the ID the relation field holds.
func relationID(field string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		doc, _ := p.Source.(map[string]any)
		if id := relationValue(doc[field]); id != "" {
			return id, nil
		}
		return nil, nil
	}
}

// resolveRelated resolves a relation field (author): the document of target
// it names; null if it names none, or one this node does not hold (not
// received yet) or that was deleted.
func resolveRelated(target, field string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		doc, _ := p.Source.(map[string]any)
		id := relationValue(doc[field])
		if id == "" {
			return nil, nil
		}
		r := from(p)
		c, err := r.collection(target)
		if err != nil {
			return nil, err
		}
		d, err := r.get(c, gossipdb.DocID(id))
		if errors.Is(err, gossipdb.ErrNotFound) || errors.Is(err, gossipdb.ErrDeleted) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		m := object(d)
		if err := r.charge(m, shapeOf(p)); err != nil {
			return nil, err
		}
		return m, nil
	}
}

// resolveInverse resolves the inverse side of a relation (books): the
// documents of target whose field inv names this one, with the arguments of
// target's query field.
func resolveInverse(target, inv string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		doc, _ := p.Source.(map[string]any)
		id, _ := doc[client.DocIDKey].(string)
		r := from(p)
		c, err := r.collection(target)
		if err != nil {
			return nil, err
		}
		q, err := r.query(p, c)
		if err != nil {
			return nil, err
		}
		mine := gossipdb.Filter{inv: id}
		if len(q.Filter) == 0 {
			q.Filter = mine
		} else {
			q.Filter = gossipdb.Filter{opAnd: []any{q.Filter, mine}}
		}
		return r.selectDocs(c, q, shapeOf(p))
	}
}

// selectDocs returns the documents of c that q selects, for the answer.
func (r *request) selectDocs(c *gossipdb.Collection, q gossipdb.Query, shape docShape) ([]any, error) {
	out := []any{}
	for doc, err := range r.run(c, q) {
		if err != nil {
			return nil, err
		}
		m := object(doc)
		if err := r.charge(m, shape); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// relate rewrites f, a filter of collection c as the request wrote it, into
// one gossipdb.Filter runs. A condition on the document a relation names
// (author: {name: …}) becomes one on the IDs of the documents that meet it
// (author: {_in: […]}); one on the inverse side (books: {…}) one on the IDs
// that the books meeting it name (_docID: {_in: […]}), and books: null one
// on the IDs that no book names (_docID: {_nin: […]}); _authorID is the
// relation field itself. Each finds at most gossipdb.MaxFilterTerms
// documents, as a filter may hold no more IDs.
func (r *request) relate(c *gossipdb.Collection, f map[string]any, depth int) (map[string]any, error) {
	if depth > gossipdb.MaxFilterDepth {
		return nil, fmt.Errorf("%s: nests deeper than %d", argFilter, gossipdb.MaxFilterDepth)
	}
	fields := map[string]crdt.Field{}
	for _, fd := range c.Fields() {
		fields[fd.Name] = fd
	}
	out := make(map[string]any, len(f))
	var and []any
	for k, v := range f {
		switch k {
		case opAnd, opOr:
			l, ok := v.([]any)
			if !ok {
				out[k] = v
				continue
			}
			nl := make([]any, len(l))
			for i, e := range l {
				nl[i] = e
				if m, ok := e.(map[string]any); ok {
					var err error
					if nl[i], err = r.relate(c, m, depth+1); err != nil {
						return nil, err
					}
				}
			}
			out[k] = nl
			continue
		case opNot:
			if m, ok := v.(map[string]any); ok {
				var err error
				if v, err = r.relate(c, m, depth+1); err != nil {
					return nil, err
				}
			}
			out[k] = v
			continue
		}
		fd, ok := fields[k]
		if !ok {
			if name, ok := relationOfID(k, fields); ok {
				and = append(and, map[string]any{name: v})
			} else {
				out[k] = v
			}
			continue
		}
		m, isMap := v.(map[string]any)
		// {books: null} on the inverse side: no book names the document,
		// as {author: null} is a book that names none.
		none := v == nil && fd.Kind == crdt.KindRelation && fd.List
		if none {
			m, isMap = map[string]any{}, true
		}
		if fd.Kind != crdt.KindRelation || !isMap {
			out[k] = v
			continue
		}
		target, err := r.collection(fd.Relation)
		if err != nil {
			return nil, err
		}
		sub, err := r.relate(target, m, depth+1)
		if err != nil {
			return nil, err
		}
		if !fd.List {
			ids, err := r.matching(target, sub, k, func(d *gossipdb.Document) string { return string(d.ID) })
			if err != nil {
				return nil, err
			}
			and = append(and, map[string]any{k: map[string]any{"_in": ids}})
			continue
		}
		inv := ""
		for _, tf := range target.Fields() {
			if tf.Kind == crdt.KindRelation && !tf.List && tf.Relation == c.Name() {
				inv = tf.Name
			}
		}
		if inv == "" {
			return nil, fmt.Errorf("%s: %s: no field of %s refers to %s", argFilter, k, target.Name(), c.Name())
		}
		sub = map[string]any{opAnd: []any{sub, map[string]any{inv: map[string]any{"_ne": nil}}}}
		ids, err := r.matching(target, sub, k, func(d *gossipdb.Document) string { return relationValue(d.Fields[inv]) })
		if err != nil {
			return nil, err
		}
		in := "_in"
		if none {
			in = "_nin"
		}
		and = append(and, map[string]any{client.DocIDKey: map[string]any{in: ids}})
	}
	if len(and) == 0 {
		return out, nil
	}
	if len(out) > 0 {
		and = append(and, out)
	}
	return map[string]any{opAnd: and}, nil
}

// relationOfID returns the relation field whose ID field (see idField) is
// called name.
func relationOfID(name string, fields map[string]crdt.Field) (string, bool) {
	if !strings.HasPrefix(name, "_") || !strings.HasSuffix(name, "ID") || len(name) < 4 {
		return "", false
	}
	fd, ok := fields[name[1:len(name)-2]]
	if !ok || fd.Kind != crdt.KindRelation || fd.List {
		return "", false
	}
	if id, ok := idField(fd); !ok || id != name {
		return "", false
	}
	return fd.Name, true
}

// matching returns the distinct keys (document IDs) of the documents of c that
// match f, for a condition on field of a filter; more than
// gossipdb.MaxFilterTerms of them is an error.
func (r *request) matching(c *gossipdb.Collection, f map[string]any, field string, key func(*gossipdb.Document) string) ([]any, error) {
	seen := map[string]bool{}
	ids := []any{}
	for doc, err := range r.find(c, gossipdb.Query{Filter: f}) {
		if err != nil {
			return nil, err
		}
		k := key(doc)
		if k == "" || seen[k] {
			continue
		}
		if len(ids) == gossipdb.MaxFilterTerms {
			return nil, fmt.Errorf("%s: %s: the condition on %s matches more than %d documents; narrow it", argFilter, field, c.Name(), gossipdb.MaxFilterTerms)
		}
		seen[k] = true
		ids = append(ids, k)
	}
	return ids, nil
}

// relationInput rewrites the field values of a document of c for create_ or
// update_: _authorID is author.
func relationInput(c *gossipdb.Collection, in map[string]any) (map[string]any, error) {
	var fields map[string]crdt.Field
	out := in
	for k, v := range in {
		if !strings.HasPrefix(k, "_") {
			continue
		}
		if fields == nil {
			fields = map[string]crdt.Field{}
			for _, fd := range c.Fields() {
				fields[fd.Name] = fd
			}
			out = make(map[string]any, len(in))
			for k, v := range in {
				out[k] = v
			}
		}
		name, ok := relationOfID(k, fields)
		if !ok {
			continue
		}
		if _, both := in[name]; both {
			return nil, fmt.Errorf("%s: give %s or %s, not both", argInput, name, k)
		}
		delete(out, k)
		out[name] = v
	}
	return out, nil
}
