package graphql

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// MaxMutationDocuments is the most documents one create_, update_ or delete_
// field may write: create_ takes at most this many inputs, and update_ and
// delete_ refuse a filter that matches more.
const MaxMutationDocuments = gossipdb.MaxCreateMany

// bounded wraps a resolver that reads or writes the node so that, once the
// request's context has ended, it fails at once, and its error says what
// ended it (see cause).
func bounded(fn graphql.FieldResolveFn) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		ctx := from(p).ctx
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		v, err := fn(p)
		return v, cause(ctx, err)
	}
}

// resolveSelect answers the query field of collection name: its documents that
// match docID and filter, in order, paged by offset and limit; or with
// groupBy, their groups (see groups); or with cid, the document docID names
// as it was at that block (see selectAt).
func resolveSelect(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		c, err := r.collection(name)
		if err != nil {
			return nil, err
		}
		if r.explain {
			return r.explainSelect(p, c)
		}
		if at, id, ok, err := r.atArg(p); err != nil || ok {
			if err != nil {
				return nil, err
			}
			return r.selectAt(p, c, id, at)
		}
		by, grouped, err := r.groupByArg(p)
		if err != nil {
			return nil, err
		}
		if grouped {
			return r.groups(p, c, by)
		}
		q, err := r.query(p, c)
		if err != nil {
			return nil, err
		}
		return r.selectDocs(c, q, shapeOf(p))
	}
}

// query reads the arguments of a query field of collection c.
func (r *request) query(p graphql.ResolveParams, c *gossipdb.Collection) (gossipdb.Query, error) {
	f, err := r.filter(p, c)
	if err != nil {
		return gossipdb.Query{}, err
	}
	q := gossipdb.Query{Filter: f}
	if v, _ := r.arg(p, argShowDeleted); v == true {
		q.ShowDeleted = true
	}
	if v, ok := p.Args[argLimit].(int64); ok {
		q.Limit = int(min(max(v, minInt), maxInt))
	}
	if v, ok := p.Args[argOffset].(int64); ok {
		q.Offset = int(min(max(v, minInt), maxInt))
	}
	for _, a := range p.Info.FieldASTs[0].Arguments {
		if a.Name.Value == argOrder {
			if q.Order, err = r.order(a.Value, p); err != nil {
				return gossipdb.Query{}, err
			}
		}
	}
	return q, nil
}

// minInt and maxInt bound limit and offset to what an int holds; a negative
// one is refused by the query with the value sent.
const (
	maxInt = int64(^uint(0) >> 1)
	minInt = -maxInt - 1
)

// filter reads the filter and docID arguments of a field of collection c as
// one Filter.
func (r *request) filter(p graphql.ResolveParams, c *gossipdb.Collection) (gossipdb.Filter, error) {
	f := gossipdb.Filter{}
	if v, ok := r.arg(p, argFilter); ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object of conditions", argFilter)
		}
		m, err := r.relate(c, withoutNullOperands(m), 0)
		if err != nil {
			return nil, err
		}
		f = m
	}
	if v, ok := r.arg(p, argDocID); ok && v != nil {
		ids, ok := v.([]any) // one ID is a list of one: see asLists
		if !ok {
			return nil, fmt.Errorf("%s: want a list of document IDs, got %s", argDocID, describe(v))
		}
		for _, id := range ids {
			if err := gossipdb.DocID(fmt.Sprint(id)).Check(); err != nil {
				return nil, fmt.Errorf("%s: %w", argDocID, err)
			}
		}
		f = gossipdb.Filter{opAnd: []any{f, gossipdb.Filter{client.DocIDKey: map[string]any{"_in": ids}}}}
	}
	return f, nil
}

// withoutNullOperands returns f, a filter as the request wrote it, without
// the operators whose operand, a list or a filter, the request gave as null:
// _and, _or, _not, _in, _nin, and a list's _any, _all and _none (a list
// field whose operators were all such goes too). Such a null is no
// condition, as a null filter is none and an operator whose variable was not
// sent is left out (see literal); DefraDB takes _or: null and _not: null so
// too. (The Go API's Filter refuses them, or reads them otherwise: an operand
// of _in is a list, and _any: nil there is an item equal to null.) A null
// compared with (_eq: null) stays, and so does any value compared, a JSON one
// included. f is not changed.
func withoutNullOperands(f map[string]any) map[string]any {
	out := make(map[string]any, len(f))
	for k, v := range f {
		switch k {
		case opAnd, opOr:
			if l, ok := v.([]any); ok {
				nl := make([]any, len(l))
				for i, e := range l {
					nl[i] = e
					if m, ok := e.(map[string]any); ok {
						nl[i] = withoutNullOperands(m)
					}
				}
				v = nl
			}
		case opNot, "_any", "_all", "_none":
			if m, ok := v.(map[string]any); ok {
				v = withoutNullOperands(m)
			}
		default:
			if _, op := opDescriptions[k]; op {
				break // a value compared
			}
			if m, ok := v.(map[string]any); ok {
				v = withoutNullOperands(m) // a field's operators, or a related document's fields
				if nullItemOpsOnly(m) {
					continue // a list field, and no condition on it
				}
			}
		}
		if v == nil && (k == opAnd || k == opOr || k == opNot || slices.Contains(setOps, k) || slices.Contains(itemOps, k)) {
			continue
		}
		out[k] = v
	}
	return out
}

// nullItemOpsOnly reports whether m, a field's operators, holds _any, _all
// or _none, and nothing but them, each given null.
func nullItemOpsOnly(m map[string]any) bool {
	for k, v := range m {
		if v != nil || !slices.Contains(itemOps, k) {
			return false
		}
	}
	return len(m) > 0
}

// order reads the order argument: a sort key {field: ASC} or a list of them;
// a key with several fields sorts by them in the order written. A key on the
// fields of a related document, {author: {name: ASC}}, becomes the path
// "author.name" (see orderPath).
func (r *request) order(v ast.Value, p graphql.ResolveParams) ([]gossipdb.Order, error) {
	switch v := v.(type) {
	case *ast.ListValue:
		var out []gossipdb.Order
		for _, e := range v.Values {
			o, err := r.order(e, p)
			if err != nil {
				return nil, err
			}
			out = append(out, o...)
		}
		return out, nil
	case *ast.ObjectValue:
		out := make([]gossipdb.Order, 0, len(v.Fields))
		for _, f := range v.Fields {
			if sub, ok := f.Value.(*ast.ObjectValue); ok {
				// A related document's keys, in the order written.
				inner, err := r.order(sub, p)
				if err != nil {
					return nil, err
				}
				for _, o := range inner {
					out = append(out, gossipdb.Order{Field: f.Name.Value + orderPath + o.Field, Desc: o.Desc})
				}
				continue
			}
			vars := r.variables(p.Info.Operation)
			if !sent(f.Value, vars) {
				continue // a variable not sent: no key
			}
			dir := literal(f.Value, vars)
			if m, ok := dir.(map[string]any); ok {
				// A variable's value inside a literal key.
				inner, err := orderValue(m)
				if err != nil {
					return nil, err
				}
				for _, o := range inner {
					out = append(out, gossipdb.Order{Field: f.Name.Value + orderPath + o.Field, Desc: o.Desc})
				}
				continue
			}
			out = append(out, gossipdb.Order{Field: f.Name.Value, Desc: dir == orderDESC})
		}
		return out, nil
	case *ast.Variable:
		return orderValue(r.variables(p.Info.Operation)[v.Name.Value])
	}
	return nil, nil
}

// orderValue reads an order sent as a variable: JSON objects do not keep the
// order of their keys, so each sort key names one field, and so does each
// level of a key on a related document's fields ({"author": {"name": "ASC"}}).
func orderValue(v any) ([]gossipdb.Order, error) {
	switch v := v.(type) {
	case []any:
		var out []gossipdb.Order
		for _, e := range v {
			o, err := orderValue(e)
			if err != nil {
				return nil, err
			}
			out = append(out, o...)
		}
		return out, nil
	case map[string]any:
		if len(v) > 1 {
			return nil, errors.New("order: a sort key sent as a variable names one field; send a list, such as [{\"name\": \"ASC\"}, {\"age\": \"DESC\"}]")
		}
		for field, dir := range v {
			if m, ok := dir.(map[string]any); ok {
				inner, err := orderValue(m)
				if err != nil {
					return nil, err
				}
				for i := range inner {
					inner[i].Field = field + orderPath + inner[i].Field
				}
				return inner, nil
			}
			return []gossipdb.Order{{Field: field, Desc: dir == orderDESC}}, nil
		}
	}
	return nil, nil
}

// object is the answer's form of a document: its fields, and its ID under
// "_docID" (no field can have that name). It takes over doc.Fields, which is the
// caller's.
func object(doc *gossipdb.Document) map[string]any {
	m := doc.Fields
	if m == nil {
		m = make(map[string]any, 1)
	}
	m[client.DocIDKey] = string(doc.ID)
	if doc.Deleted {
		m[fieldDeleted] = true // no field can have that name either
	}
	return m
}

// resolveDeleted answers _deleted of a document: true only for a deleted one,
// which only a query with showDeleted answers.
func resolveDeleted(p graphql.ResolveParams) (any, error) {
	doc, _ := p.Source.(map[string]any)
	return doc[fieldDeleted] == true, nil
}

// resolveAggregate answers _count, _sum, _avg, _min or _max (op) of one
// collection: _count(C: {filter, limit, offset}), _sum(C: {field, filter,
// limit, offset, order}) (see aggregate.go).
func resolveAggregate(op string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		c, err := r.aggregated(p)
		if err != nil {
			return nil, err
		}
		a, err := r.aggregateArg(p, c.Name())
		if err != nil {
			return nil, err
		}
		f, err := r.docFilter(c, a)
		if err != nil {
			return nil, err
		}
		return r.aggregateDocs(p, c, op, f, a)
	}
}

// aggregated returns the one collection a top-level aggregate names.
func (r *request) aggregated(p graphql.ResolveParams) (*gossipdb.Collection, error) {
	var names []string
	for _, a := range p.Info.FieldASTs[0].Arguments {
		names = append(names, a.Name.Value)
	}
	if len(names) != 1 {
		return nil, fmt.Errorf("%s: name one collection, such as %s(User: {…}); got %d", p.Info.FieldName, p.Info.FieldName, len(names))
	}
	return r.collection(names[0])
}

// relateFilter returns m, a filter of collection c as the request wrote it
// (nil for none), as one gossipdb.Filter runs (see relate).
func (r *request) relateFilter(c *gossipdb.Collection, m map[string]any) (gossipdb.Filter, error) {
	if m == nil {
		return nil, nil
	}
	return r.relate(c, m, 0)
}

// resolveCreate answers create_C(input: …) in the request's transaction.
func resolveCreate(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		c, err := r.collection(name)
		if err != nil {
			return nil, err
		}
		v, _ := r.arg(p, argInput)
		list, _ := v.([]any) // a list: see asLists
		if len(list) > MaxMutationDocuments {
			return nil, fmt.Errorf("%s: at most %d documents at once, got %d", argInput, MaxMutationDocuments, len(list))
		}
		docs := make([]map[string]any, len(list))
		for i, e := range list {
			var ok bool
			if docs[i], ok = e.(map[string]any); !ok {
				return nil, fmt.Errorf("%s: document %d: want an object of field values", argInput, i)
			}
			if docs[i], err = relationInput(c, docs[i]); err != nil {
				return nil, err
			}
		}
		ids := make([]gossipdb.DocID, len(docs))
		if r.tx == nil {
			// The request's only write, a document by itself (see
			// singleCreate): no transaction, so no seal either.
			if ids, err = c.CreateMany(r.ctx, docs); err != nil {
				return nil, err
			}
			r.created.Store(true)
			out, err := r.documents(c, ids, shapeOf(p))
			if err != nil {
				return nil, fmt.Errorf("%w (the document was created: %s)", err, ids[0])
			}
			return out, nil
		}
		for i, d := range docs {
			if ids[i], err = r.tx.Create(name, d); err != nil {
				if len(docs) > 1 {
					return nil, fmt.Errorf("document %d: %w", i, err)
				}
				return nil, err
			}
		}
		return r.documents(c, ids, shapeOf(p))
	}
}

// resolveUpdate answers update_C(docID: …, filter: …, input: …) in the
// request's transaction: every document that matches is updated.
func resolveUpdate(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		c, ids, err := r.targets(p, name)
		if err != nil {
			return nil, err
		}
		v, _ := r.arg(p, argInput)
		fields, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object of field values", argInput)
		}
		if fields, err = relationInput(c, fields); err != nil {
			return nil, err
		}
		for _, id := range ids {
			if err := r.tx.Update(name, id, fields); err != nil {
				return nil, fmt.Errorf("document %s: %w", id, err)
			}
		}
		return r.documents(c, ids, shapeOf(p))
	}
}

// resolveUpsert answers upsert_C(filter: …, create: …, update: …) in the
// request's transaction: the one document that matches filter is updated with
// update, or, when none does, one is created with create. More than one match
// fails the field. The transaction keeps the query and the write together
// against changes to the documents the query read; a document created at the
// same time, here or on a peer, is not one of them (see docs/API.md).
func resolveUpsert(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		c, err := r.collection(name)
		if err != nil {
			return nil, err
		}
		if v, _ := r.arg(p, argFilter); v == nil {
			// A null argument is an absent one: it must not match every document.
			return nil, fmt.Errorf("%s: give a filter (filter: {} matches every document)", p.Info.FieldName)
		}
		f, err := r.filter(p, c)
		if err != nil {
			return nil, err
		}
		var ids []gossipdb.DocID
		for doc, err := range r.tx.Query(name, gossipdb.Query{Filter: f, Limit: 2}) {
			if err != nil {
				return nil, err
			}
			ids = append(ids, doc.ID)
		}
		if len(ids) > 1 {
			return nil, fmt.Errorf("%s: the filter matches more than one document; an upsert changes one", p.Info.FieldName)
		}
		arg := argUpdate
		if len(ids) == 0 {
			arg = argCreate
		}
		v, _ := r.arg(p, arg)
		fields, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object of field values", arg)
		}
		if fields, err = relationInput(c, fields); err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			id, err := r.tx.Create(name, fields)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		} else if err := r.tx.Update(name, ids[0], fields); err != nil {
			return nil, fmt.Errorf("document %s: %w", ids[0], err)
		}
		return r.documents(c, ids, shapeOf(p))
	}
}

// resolveDelete answers delete_C(docID: …, filter: …) in the request's
// transaction: every document that matches is deleted. The answer shows the
// documents as they were before.
func resolveDelete(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		c, ids, err := r.targets(p, name)
		if err != nil {
			return nil, err
		}
		out, err := r.documents(c, ids, shapeOf(p))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if err := r.tx.Delete(name, id); err != nil {
				return nil, fmt.Errorf("document %s: %w", id, err)
			}
		}
		return out, nil
	}
}

// targets returns the collection of an update_ or delete_ field and the IDs of
// the live documents its docID and filter arguments select. One of them is
// needed, not null (a null argument is an absent one, so it must not select
// every document): filter: {} selects every document.
func (r *request) targets(p graphql.ResolveParams, name string) (*gossipdb.Collection, []gossipdb.DocID, error) {
	c, err := r.collection(name)
	if err != nil {
		return nil, nil, err
	}
	byID, _ := r.arg(p, argDocID)
	byFilter, _ := r.arg(p, argFilter)
	if byID == nil && byFilter == nil {
		return nil, nil, fmt.Errorf("%s: give docID or filter (filter: {} selects every document)", p.Info.FieldName)
	}
	f, err := r.filter(p, c)
	if err != nil {
		return nil, nil, err
	}
	var ids []gossipdb.DocID
	for doc, err := range r.tx.Query(name, gossipdb.Query{Filter: f, Limit: MaxMutationDocuments + 1}) {
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, doc.ID)
	}
	if len(ids) > MaxMutationDocuments {
		return nil, nil, fmt.Errorf("%s: selects more than %d documents; narrow the filter", p.Info.FieldName, MaxMutationDocuments)
	}
	return c, ids, nil
}

// documents reads the documents ids of c for the answer of a mutation, in its
// transaction; shape is what the mutation selects of each (see charge).
func (r *request) documents(c *gossipdb.Collection, ids []gossipdb.DocID, shape docShape) ([]any, error) {
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		doc, err := r.get(c, id)
		if err != nil {
			return nil, fmt.Errorf("document %s: %w", id, err)
		}
		m := object(doc)
		if err := r.charge(m, shape); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
