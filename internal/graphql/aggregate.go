package graphql

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"sort"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
	"github.com/gossipdb/gossipdb/internal/jsonerr"
)

// Aggregates, as DefraDB writes them. At the top level they take one
// collection: _count(Book: {filter, limit, offset}), _sum(Book: {field:
// rating, filter, limit, offset, order}), and _avg, _min, _max alike. Within
// a document they take one of its list fields or the inverse side of one of
// its relations:
//
//	Author { name _count(books: {filter: {rating: {_gt: 3}}}) _avg(books: {field: rating}) }
//	Player { _count(tags: {filter: {_eq: "x"}}) _sum(scores: {offset: 1, limit: 3, order: DESC}) }
//
// Over documents, an aggregate without limit or offset is the Go API's
// Collection.Count or Collection.Aggregate of its filter (the inverse side's
// with the relation's condition added, which the relation's index answers);
// with either, or in a mutation's transaction, the documents are read in
// order, paged, and counted or accumulated here as they stream, with the same
// arithmetic (accumulator). Over a list, the items are what the document
// holds: filtered by conditions on each item, ordered by value when order is
// given, then paged. _count counts documents or items, null ones included;
// _sum, _avg, _min and _max skip null values.

// sumScale is the power of two a sum of Float values is scaled down by where
// it overflows, as the Go API's Aggregate scales it.
const sumScale = 64

// goAggregates are the Go API's aggregates by name.
var goAggregates = map[string]gossipdb.AggregateOp{aggSum: gossipdb.Sum, aggAvg: gossipdb.Avg, aggMin: gossipdb.Min, aggMax: gossipdb.Max}

// aggregateArg is the argument of an aggregate, as the request wrote it: its
// value (filter, field, limit, offset, order) and, if it is written in the
// request's text, its syntax, whose order keeps the order of its keys.
type aggregateArg struct {
	name  string
	value map[string]any
	order ast.Value // the value of its order in the request's text; nil if none is written there
}

// aggregateArg returns the argument called name of the aggregate p resolves.
func (r *request) aggregateArg(p graphql.ResolveParams, name string) (aggregateArg, error) {
	a := aggregateArg{name: name}
	v, _ := r.arg(p, name)
	if v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return a, fmt.Errorf("%s: %s: want an object", p.Info.FieldName, name)
		}
		a.value = m
	}
	for _, arg := range p.Info.FieldASTs[0].Arguments {
		if arg.Name == nil || arg.Name.Value != name {
			continue
		}
		if obj, ok := arg.Value.(*ast.ObjectValue); ok {
			for _, f := range obj.Fields {
				if f.Name != nil && f.Name.Value == argOrder {
					a.order = f.Value
				}
			}
		}
	}
	return a, nil
}

// page returns the argument's limit and offset (bounded to an int, as a
// query's), and whether either is given and not 0: only then does the order
// of what is aggregated matter.
func (a aggregateArg) page() (limit, offset int, paged bool) {
	get := func(name string) int {
		if v, ok := parseIntValue(a.value[name]).(int64); ok {
			return int(min(max(v, minInt), maxInt))
		}
		return 0
	}
	limit, offset = get(argLimit), get(argOffset)
	return limit, offset, limit != 0 || offset != 0
}

// filterArg returns the argument's filter, nil for none, without the
// operators it gives null (see withoutNullOperands).
func (a aggregateArg) filterArg() (map[string]any, error) {
	v := a.value[argFilter]
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object of conditions", argFilter)
	}
	return withoutNullOperands(m), nil
}

// docFilter returns the filter of an aggregate over the documents of c, with
// its conditions on related documents resolved (relateFilter).
func (r *request) docFilter(c *gossipdb.Collection, a aggregateArg) (gossipdb.Filter, error) {
	m, err := a.filterArg()
	if err != nil {
		return nil, err
	}
	return r.relateFilter(c, m)
}

// docOrder returns the order of an aggregate over documents.
func (r *request) docOrder(p graphql.ResolveParams, a aggregateArg) ([]gossipdb.Order, error) {
	if a.order != nil {
		return r.order(a.order, p)
	}
	return orderValue(a.value[argOrder])
}

// aggregateDocs computes op (_count, _sum, _avg, _min or _max) over the
// documents of c that f matches, paged and ordered as a asks.
func (r *request) aggregateDocs(p graphql.ResolveParams, c *gossipdb.Collection, op string, f gossipdb.Filter, a aggregateArg) (any, error) {
	field, _ := a.value[argField].(string)
	limit, offset, paged := a.page()
	if !paged && r.tx == nil {
		if op == aggCount {
			return c.Count(r.ctx, f)
		}
		return c.Aggregate(r.ctx, f, goAggregates[op], field)
	}
	fd, err := aggregatedField(c, op, field)
	if err != nil {
		return nil, err
	}
	q := gossipdb.Query{Filter: f, Limit: limit, Offset: offset}
	if paged {
		if q.Order, err = r.docOrder(p, a); err != nil {
			return nil, err
		}
	}
	return aggregateSeq(op, fd, r.run(c, q))
}

// aggregatedField returns the field of c called field that op (_sum, _avg,
// _min or _max) takes, which must be an Int or a Float; none for _count.
func aggregatedField(c *gossipdb.Collection, op, field string) (crdt.Field, error) {
	if op == aggCount {
		return crdt.Field{}, nil
	}
	fd, ok := fieldOf(c, field)
	if !ok || fd.Derived() {
		return fd, fieldError(field, "unknown field in aggregate")
	}
	if !numeric(fd.Kind) || fd.List || fd.AddWinsSet {
		return fd, fieldError(field, fmt.Sprintf("%s takes Int or Float fields, not %s", goAggregates[op], fd.TypeName()))
	}
	return fd, nil
}

// aggregateSeq computes op over docs: counts them, or accumulates the values
// of their field fd.
func aggregateSeq(op string, fd crdt.Field, docs iter.Seq2[*gossipdb.Document, error]) (any, error) {
	var n int64
	var acc accumulator
	for doc, err := range docs {
		if err != nil {
			return nil, err
		}
		n++
		if op != aggCount {
			acc.add(doc.Fields[fd.Name])
		}
	}
	if op == aggCount {
		return n, nil
	}
	return acc.result(op, fd)
}

// innerAggregate is what an aggregate within a document of a collection can
// take: the inverse sides of its relations, by name, with the collection
// each names and the field there that refers back; and its list fields.
type innerAggregate struct {
	relations map[string][2]string // field → {collection, its relation field}
	lists     map[string]crdt.Field
	group     bool // it takes _group, in a query with groupBy
}

// resolveInner answers an aggregate (op) within a document: over the
// documents on the inverse side of a relation, or over the items of one of
// its list fields.
func resolveInner(op string, in innerAggregate) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		asts := p.Info.FieldASTs[0].Arguments
		if len(asts) != 1 || asts[0].Name == nil {
			return nil, fmt.Errorf("%s: name one list or relation, such as %s(books: {…}); got %d", p.Info.FieldName, p.Info.FieldName, len(asts))
		}
		a, err := r.aggregateArg(p, asts[0].Name.Value)
		if err != nil {
			return nil, err
		}
		doc, _ := p.Source.(map[string]any)
		grp, _ := doc[groupKey].(*group)
		var v any
		if in.group && a.name == fieldGroup {
			v, err = r.aggregateGroup(p, op, grp, a)
		} else if grp != nil {
			err = errors.New(msgGroupAggregateOnly(p.Info.FieldName))
		} else if rel, ok := in.relations[a.name]; ok {
			v, err = r.aggregateRelated(p, op, rel[0], rel[1], doc, a)
		} else if list, ok := in.lists[a.name]; ok {
			var c *gossipdb.Collection
			if c, err = r.collection(p.Info.ParentType.Name()); err == nil {
				v, err = aggregateItems(op, c, list, doc[list.Name], a)
			}
		} else {
			err = fmt.Errorf("%s: %s is not a list or the inverse side of a relation", p.Info.FieldName, a.name)
		}
		if err != nil {
			return nil, err
		}
		// The answer holds a number more, a scalar's 8 bytes.
		if err := r.grow(8); err != nil {
			return nil, err
		}
		return v, nil
	}
}

// aggregateRelated computes op over the documents of collection target whose
// field inv names doc.
func (r *request) aggregateRelated(p graphql.ResolveParams, op, target, inv string, doc map[string]any, a aggregateArg) (any, error) {
	c, err := r.collection(target)
	if err != nil {
		return nil, err
	}
	f, err := r.docFilter(c, a)
	if err != nil {
		return nil, err
	}
	id, _ := doc[client.DocIDKey].(string)
	mine := gossipdb.Filter{inv: id}
	if len(f) == 0 {
		f = mine
	} else {
		f = gossipdb.Filter{opAnd: []any{f, mine}}
	}
	return r.aggregateDocs(p, c, op, f, a)
}

// aggregateItems computes op over the items of v, the value of list field f
// of a document of c: those its filter matches (Collection.ItemFilter), in
// the order asked, paged.
func aggregateItems(op string, c *gossipdb.Collection, f crdt.Field, v any, a aggregateArg) (any, error) {
	item := crdt.Field{Name: f.Name, Kind: f.Kind}
	items := listItems(v)
	m, err := a.filterArg()
	if err != nil {
		return nil, err
	}
	if m != nil {
		match, err := c.ItemFilter(f.Name, m)
		if err != nil {
			return nil, err
		}
		items = slices.DeleteFunc(items, func(x any) bool { return !match(x) })
	}
	limit, offset, paged := a.page()
	switch {
	case limit < 0:
		return nil, fmt.Errorf("%w: negative limit %d", gossipdb.ErrInvalid, limit)
	case offset < 0:
		return nil, fmt.Errorf("%w: negative offset %d", gossipdb.ErrInvalid, offset)
	}
	if dir, ok := a.value[argOrder].(string); ok && paged {
		keys := make([][]byte, len(items))
		for i, x := range items {
			keys[i] = index.AppendValue(nil, item.Kind, x, dir == orderDESC)
		}
		sort.Stable(byKey{items, keys})
	}
	items = items[min(offset, len(items)):]
	if limit > 0 {
		items = items[:min(limit, len(items))]
	}
	if op == aggCount {
		return int64(len(items)), nil
	}
	var acc accumulator
	for _, x := range items {
		acc.add(x)
	}
	return acc.result(op, item)
}

// byKey sorts items by their keys.
type byKey struct {
	items []any
	keys  [][]byte
}

func (b byKey) Len() int           { return len(b.items) }
func (b byKey) Less(i, j int) bool { return bytes.Compare(b.keys[i], b.keys[j]) < 0 }
func (b byKey) Swap(i, j int) {
	b.items[i], b.items[j] = b.items[j], b.items[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

// listItems returns the items of a list field's value as a document holds it
// (a []any, or a slice of one type where items cannot be null), each in its
// canonical form (see canonical); none for null.
func listItems(v any) []any {
	if list, ok := v.([]any); ok {
		out := make([]any, len(list))
		for i, x := range list {
			out[i] = canonical(x)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		return nil
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = canonical(rv.Index(i).Interface())
	}
	return out
}

// describe renders a value of a request for an error message (see
// jsonerr.Describe).
func describe(v any) string { return jsonerr.Describe(v) }

// accumulator computes _sum, _avg, _min and _max over the values of an Int or
// Float field, null ones skipped, as gossipdb.Collection.Aggregate does: an
// Int sum exact (wrapping around 2^64, counted, so that a sum beyond an
// int64 is an error and one in range is exact even when a running sum
// overflowed), a Float sum falling back to one scaled down by 2^sumScale
// where it overflowed, an average that never overflows.
type accumulator struct {
	n          int64
	isum, wrap int64
	fsum, ssum float64
	lo, hi     any
}

// add takes one value: an int64, a float64, or nil (skipped).
func (a *accumulator) add(v any) {
	switch x := v.(type) {
	case int64:
		s := a.isum + x
		switch {
		case x > 0 && s < a.isum:
			a.wrap++
		case x < 0 && s > a.isum:
			a.wrap--
		}
		a.isum = s
		a.fsum += float64(x)
	case float64:
		a.fsum += x
		a.ssum += x * (1.0 / (1 << sumScale))
	default:
		return
	}
	a.n++
	if a.lo == nil || compareNumbers(v, a.lo) < 0 {
		a.lo = v
	}
	if a.hi == nil || compareNumbers(v, a.hi) > 0 {
		a.hi = v
	}
}

// compareNumbers orders two int64s or two float64s.
func compareNumbers(a, b any) int {
	switch a := a.(type) {
	case int64:
		b, _ := b.(int64)
		return cmp.Compare(a, b)
	case float64:
		b, _ := b.(float64)
		return cmp.Compare(a, b)
	}
	return 0
}

// result returns the aggregate op of the values added, which are f's.
func (a *accumulator) result(op string, f crdt.Field) (any, error) {
	fsum := a.fsum
	if math.IsInf(fsum, 0) || math.IsNaN(fsum) {
		// The running sum overflowed, which the sum itself may not.
		fsum = a.ssum * (1 << sumScale)
	}
	switch op {
	case aggSum:
		switch {
		case f.Kind == crdt.KindFloat && math.IsInf(fsum, 0):
			return nil, fieldError(f.Name, "sum is out of the range of a Float")
		case f.Kind == crdt.KindFloat:
			return fsum, nil
		case a.wrap != 0:
			return nil, fieldError(f.Name, "sum is out of the range of an Int")
		}
		return a.isum, nil
	case aggAvg:
		switch {
		case a.n == 0:
			return nil, nil
		case f.Kind == crdt.KindInt && a.wrap == 0:
			return float64(a.isum) / float64(a.n), nil
		case !math.IsInf(fsum, 0):
			return fsum / float64(a.n), nil
		}
		// The mean lies between the least and the greatest value, so it is
		// finite; rounding cannot take it beyond them.
		avg := a.ssum / float64(a.n) * (1 << sumScale)
		return max(-math.MaxFloat64, min(avg, math.MaxFloat64)), nil
	case aggMin:
		return a.lo, nil
	}
	return a.hi, nil
}
