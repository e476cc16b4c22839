package graphql

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/source"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
)

// Grouping, as DefraDB writes it:
//
//	Book(groupBy: [genre], order: {genre: DESC}, limit: 10) { genre _count(_group: {}) _group(order: {rating: DESC}, limit: 2) { title } }
//
// The query field of a collection takes groupBy, a list of its scalar fields
// (CGroupByArg; not lists, sets, relations or JSON). Its answer has one
// object per group of the documents its filter and docID match that hold the
// same values of those fields (null, or absent, is a value of its own; values
// are equal as the Go API compares them, package index's encoding of them
// being equal), with those fields, _group(filter, order, limit, offset,
// docID) and the aggregates over _group, _count(_group: {filter, limit,
// offset}) and _sum, _avg, _min and _max(_group: {field, …}). order may name
// only groupBy fields; the groups come in the order of their groupBy values,
// ascending, after order's keys; limit and offset page the groups.
//
// A grouped query reads every document its filter matches into memory, at
// most gossipdb.MaxSortedResults of them and gossipdb.MaxSortedBytes, as the
// Go API sorts, and answers _group and its aggregates from them: their order
// is sorted as sortDocs sorts, and their filter is run once for all the
// groups, as a query of the Go API whose IDs each group keeps.

// groupKey is the member of a group's object in the answer that holds the
// group; no field name or response key can be this one.
const groupKey = "\x00group"

// grouping is what the groups of one grouped query share.
type grouping struct {
	c      *gossipdb.Collection
	filter gossipdb.Filter // the query's filter and docID
	// deleted: the query shows deleted documents too (showDeleted)
	deleted bool

	mu     sync.Mutex
	within map[*ast.Field]*groupArgs // by the _group field or aggregate that reads them
}

// groupArgs are the arguments of a _group field or an aggregate over _group:
// its query (whose Filter the Go API runs) and the IDs of the documents the
// filter matches (nil without a filter), read once for all the groups.
type groupArgs struct {
	q     gossipdb.Query
	match map[gossipdb.DocID]bool
	err   error
}

// group is one group of a grouped query: its documents, in ID order.
type group struct {
	of   *grouping
	docs []*gossipdb.Document
}

// errTooManyToGroup reports a grouped query that would hold more than docs
// documents or gossipdb.MaxSortedBytes, the bounds of the Go API's sorts.
func errTooManyToGroup(docs int) error {
	return fmt.Errorf("%w: the query groups more than %d documents or %d bytes in memory; add a narrower filter",
		gossipdb.ErrTooLarge, docs, gossipdb.MaxSortedBytes)
}

// The words of the mistakes of a grouped query, the same whether the
// validator (checkGroups) or a resolver finds them.
func msgNotInGroup(collection, field string, by []string) string {
	fields := "its groupBy fields"
	if by != nil {
		fields += " (" + strings.Join(by, ", ") + ")"
	}
	return fmt.Sprintf("Cannot query field %q on a group of %q: a query with groupBy selects of each group %s, _group and aggregates over _group, such as _count(_group: {}).", field, collection, fields)
}

func msgGroupOutside() string {
	return fmt.Sprintf("Cannot query field %q outside a query with groupBy: it lists the documents of a group, such as Book(groupBy: [genre]) { genre _group { title } }.", fieldGroup)
}

func msgGroupAggregateOutside(op string) string {
	return fmt.Sprintf("%s takes %s only in a query with groupBy, where it aggregates the documents of each group.", op, fieldGroup)
}

// msgAggregateArgs is the mistake of aggregate op, selected where m says,
// given n arguments, not one: what it aggregates is its one argument.
func msgAggregateArgs(op string, m groupMode, n int) string {
	what, example := "one of the document's list fields or the inverse side of one of its relations", op+"(books: {})"
	switch {
	case m.top:
		what, example = "one collection", op+"(User: {})"
	case m.grouped:
		what, example = fieldGroup+", the documents of the group", op+"("+fieldGroup+": {})"
	}
	if n == 0 {
		return fmt.Sprintf("%s needs one argument, what it aggregates: %s, such as %s.", op, what, example)
	}
	return fmt.Sprintf("%s takes one argument, what it aggregates: %s, such as %s; an aggregate over several at once (DefraDB combines them into one value) is not supported: write one for each, under aliases.", op, what, example)
}

func msgGroupAggregateOnly(op string) string {
	return fmt.Sprintf("%s takes only %s on a group, such as %s(%s: {}).", op, fieldGroup, op, fieldGroup)
}

// errGroupByEmpty is the error of a groupBy without fields.
var errGroupByEmpty = fmt.Errorf("%w: %s: name at least one field", gossipdb.ErrInvalid, argGroupBy)

// errGroupOrder is the error of a grouped query's order on key field, not
// one of its groupBy fields.
func errGroupOrder(field string) error {
	return fieldError(field, "a query with groupBy orders its groups by its groupBy fields only")
}

// inGroup reports whether a group of a query grouped by the fields by (nil:
// not known yet) may select field name.
func inGroup(name string, by []string) bool {
	switch name {
	case fieldGroup, aggCount, aggSum, aggAvg, aggMin, aggMax, "__typename":
		return true
	}
	if by == nil {
		return !strings.HasPrefix(name, "_")
	}
	return slices.Contains(by, name)
}

// groupByArg returns the fields of the groupBy argument of the query field p
// resolves, and whether it groups: an absent or null groupBy does not.
func (r *request) groupByArg(p graphql.ResolveParams) ([]string, bool, error) {
	v, _ := r.arg(p, argGroupBy)
	if v == nil {
		return nil, false, nil
	}
	list, ok := v.([]any) // one field is a list of one: see asLists
	if !ok {
		return nil, false, fmt.Errorf("%s: want a list of fields, got %s", argGroupBy, describe(v))
	}
	if len(list) == 0 {
		return nil, false, errGroupByEmpty
	}
	by := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, false, fmt.Errorf("%w: %s: want field names, got %s", gossipdb.ErrInvalid, argGroupBy, describe(e))
		}
		by[i] = s
	}
	return by, true, nil
}

// groups answers the query field p resolves, of collection c, grouped by the
// fields by: an object per group, in order, paged.
func (r *request) groups(p graphql.ResolveParams, c *gossipdb.Collection, by []string) ([]any, error) {
	q, err := r.query(p, c)
	if err != nil {
		return nil, err
	}
	fields := make([]crdt.Field, len(by))
	for i, name := range by {
		fd, ok := fieldOf(c, name)
		switch {
		case !ok || !groupable(fd):
			return nil, fieldError(name, "a query groups by scalar fields, not lists, sets, relations or JSON")
		case slices.Contains(by[:i], name):
			return nil, fieldError(name, "grouped by twice")
		}
		fields[i] = fd
	}
	shape := shapeOf(p)
	for _, name := range slices.Sorted(maps.Keys(shape.times)) {
		if !inGroup(name, by) {
			return nil, errors.New(msgNotInGroup(c.Name(), name, by))
		}
	}
	var orderBy []crdt.Field
	for i, o := range q.Order {
		j := slices.Index(by, o.Field)
		switch {
		case j < 0:
			return nil, errGroupOrder(o.Field)
		case slices.ContainsFunc(q.Order[:i], func(x gossipdb.Order) bool { return x.Field == o.Field }):
			return nil, fieldError(o.Field, "ordered by twice")
		}
		orderBy = append(orderBy, fields[j])
	}
	switch {
	case q.Limit < 0:
		return nil, fmt.Errorf("%w: negative limit %d", gossipdb.ErrInvalid, q.Limit)
	case q.Offset < 0:
		return nil, fmt.Errorf("%w: negative offset %d", gossipdb.ErrInvalid, q.Offset)
	}

	bound := r.sortBound()
	all := &grouping{c: c, filter: q.Filter, deleted: q.ShowDeleted, within: map[*ast.Field]*groupArgs{}}
	type held struct {
		*group
		key []byte // the groupBy values, ascending
	}
	var list []*held
	byKey := map[string]*held{}
	n, size := 0, 0
	for doc, err := range r.find(c, gossipdb.Query{Filter: q.Filter, ShowDeleted: q.ShowDeleted}) {
		if err != nil {
			return nil, err
		}
		var key []byte
		for _, fd := range fields {
			key = index.AppendValue(key, fd.Kind, canonical(doc.Fields[fd.Name]), false)
		}
		n++
		size += sortedBytes(sorted{doc: doc, key: key})
		if n > bound || size > gossipdb.MaxSortedBytes {
			return nil, errTooManyToGroup(bound)
		}
		h := byKey[string(key)]
		if h == nil {
			h = &held{group: &group{of: all}, key: key}
			byKey[string(key)] = h
			list = append(list, h)
		}
		h.docs = append(h.docs, doc)
	}
	if len(q.Order) > 0 {
		for _, h := range list {
			var key []byte
			for i, fd := range orderBy {
				key = index.AppendValue(key, fd.Kind, canonical(h.docs[0].Fields[fd.Name]), q.Order[i].Desc)
			}
			h.key = append(key, h.key...)
		}
	}
	slices.SortFunc(list, func(a, b *held) int { return bytes.Compare(a.key, b.key) })
	list = list[min(q.Offset, len(list)):]
	if q.Limit > 0 {
		list = list[:min(q.Limit, len(list))]
	}
	out := make([]any, 0, len(list))
	for _, h := range list {
		m := make(map[string]any, len(fields)+1)
		for _, fd := range fields {
			m[fd.Name] = h.docs[0].Fields[fd.Name]
		}
		if err := r.charge(m, shape); err != nil {
			return nil, err
		}
		m[groupKey] = h.group
		out = append(out, m)
	}
	return out, nil
}

// sortBound is the most documents a sort or a grouping holds in memory.
func (r *request) sortBound() int {
	if r.e.maxSorted > 0 {
		return r.e.maxSorted
	}
	return gossipdb.MaxSortedResults
}

// args returns the arguments of field f over the groups of g, which read
// reads the first time: the filter's matches are found then, once.
func (g *grouping) args(r *request, f *ast.Field, read func() (gossipdb.Query, error)) *groupArgs {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a := g.within[f]; a != nil {
		return a
	}
	a := &groupArgs{}
	g.within[f] = a
	if a.q, a.err = read(); a.err != nil || len(a.q.Filter) == 0 {
		return a
	}
	bound := r.sortBound()
	a.match = map[gossipdb.DocID]bool{}
	filter := a.q.Filter
	if len(g.filter) > 0 {
		filter = gossipdb.Filter{opAnd: []any{g.filter, filter}}
	}
	for doc, err := range r.find(g.c, gossipdb.Query{Filter: filter, ShowDeleted: g.deleted}) {
		if err != nil {
			a.err = err
			return a
		}
		if len(a.match) == bound {
			a.err = errTooManyToGroup(bound)
			return a
		}
		a.match[doc.ID] = true
	}
	return a
}

// matches yields the documents of the group that a's filter matches, in ID
// order.
func (gr *group) matches(a *groupArgs) iter.Seq2[*gossipdb.Document, error] {
	return func(yield func(*gossipdb.Document, error) bool) {
		for _, d := range gr.docs {
			if a.match != nil && !a.match[d.ID] {
				continue
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// resolveGroup resolves _group, the documents of a group that its filter and
// docID match, in its order, paged.
func resolveGroup(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		doc, _ := p.Source.(map[string]any)
		gr, _ := doc[groupKey].(*group)
		if gr == nil {
			return nil, errors.New(msgGroupOutside())
		}
		a := gr.of.args(r, p.Info.FieldASTs[0], func() (gossipdb.Query, error) { return r.query(p, gr.of.c) })
		if a.err != nil {
			return nil, a.err
		}
		shape := shapeOf(p)
		out := []any{}
		for d, err := range r.sortDocs(gr.of.c, a.q, gr.matches(a)) {
			if err != nil {
				return nil, err
			}
			// The group's documents may be answered again: a copy.
			m := object(&gossipdb.Document{ID: d.ID, Fields: maps.Clone(d.Fields), Deleted: d.Deleted})
			if err := r.charge(m, shape); err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		return out, nil
	}
}

// aggregateGroup computes op over the documents of group gr (nil outside a
// grouped query) that a's filter matches, paged and ordered as a asks.
func (r *request) aggregateGroup(p graphql.ResolveParams, op string, gr *group, a aggregateArg) (any, error) {
	if gr == nil {
		return nil, errors.New(msgGroupAggregateOutside(p.Info.FieldName))
	}
	c := gr.of.c
	args := gr.of.args(r, p.Info.FieldASTs[0], func() (gossipdb.Query, error) {
		f, err := r.docFilter(c, a)
		if err != nil {
			return gossipdb.Query{}, err
		}
		limit, offset, paged := a.page()
		q := gossipdb.Query{Filter: f, Limit: limit, Offset: offset}
		if paged {
			q.Order, err = r.docOrder(p, a)
		}
		return q, err
	})
	if args.err != nil {
		return nil, args.err
	}
	field, _ := a.value[argField].(string)
	fd, err := aggregatedField(c, op, field)
	if err != nil {
		return nil, err
	}
	docs := gr.matches(args)
	if args.q.Limit != 0 || args.q.Offset != 0 {
		docs = r.sortDocs(c, args.q, docs)
	}
	return aggregateSeq(op, fd, docs)
}

// checkGroups refuses, before a request runs, what only a grouped query may
// select outside one (_group, an aggregate over _group), what a group
// may not select: any field but its groupBy fields, _group and aggregates
// over _group, and an aggregate without the one argument that says what it
// aggregates. It knows a query's groupBy fields when the request writes
// them, and then refuses an empty groupBy and an order on any other field;
// the resolvers check what variables give.
func checkGroups(src *source.Source, doc *ast.Document) []gqlerrors.FormattedError {
	w := &groupWalker{src: src, frags: fragmentsOf(doc), seen: map[string]bool{}}
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			w.walk(op.SelectionSet, groupMode{top: true})
		}
	}
	return w.errs
}

// groupMode is where a selection set stands: at the top of an operation, in
// a group of collection c grouped by (by nil: not known), or in a document.
type groupMode struct {
	top, grouped bool
	c            string
	by           []string
}

type groupWalker struct {
	src   *source.Source
	frags *fragments
	seen  map[string]bool // errors made, by position and words
	errs  []gqlerrors.FormattedError
}

func (w *groupWalker) refuse(loc *ast.Location, msg string) {
	pos := 0
	if loc != nil {
		pos = loc.Start
	}
	if k := fmt.Sprint(pos, msg); !w.seen[k] {
		w.seen[k] = true
		w.errs = append(w.errs, gqlerrors.FormatError(locatedError(w.src, pos, msg)))
	}
}

func (w *groupWalker) walk(set *ast.SelectionSet, m groupMode) {
	w.frags.fields(set, func(f *ast.Field) { w.field(f, m) })
}

func (w *groupWalker) field(f *ast.Field, m groupMode) {
	name := f.Name.Value
	if isAggregate(name) && len(f.Arguments) != 1 {
		w.refuse(f.Loc, msgAggregateArgs(name, m, len(f.Arguments)))
		return
	}
	inner := groupMode{} // a document's
	switch {
	case m.top:
		if g, ok := w.groupBy(f); ok {
			inner = g
		}
	case m.grouped && name == fieldGroup:
	case m.grouped && isAggregate(name):
		for _, a := range f.Arguments {
			if a.Name != nil && a.Name.Value != fieldGroup {
				w.refuse(a.Loc, msgGroupAggregateOnly(name))
			}
		}
	case m.grouped:
		if !inGroup(name, m.by) {
			w.refuse(f.Loc, msgNotInGroup(m.c, name, m.by))
			return
		}
	case name == fieldGroup:
		w.refuse(f.Loc, msgGroupOutside())
		return
	case isAggregate(name):
		for _, a := range f.Arguments {
			if a.Name != nil && a.Name.Value == fieldGroup {
				w.refuse(a.Loc, msgGroupAggregateOutside(name))
			}
		}
	}
	w.walk(f.SelectionSet, inner)
}

// groupBy reads the groupBy argument of f, a top-level field: the mode of
// its selections if it groups, or false.
func (w *groupWalker) groupBy(f *ast.Field) (groupMode, bool) {
	var arg, order *ast.Argument
	for _, a := range f.Arguments {
		switch {
		case a.Name == nil:
		case a.Name.Value == argGroupBy:
			arg = a
		case a.Name.Value == argOrder:
			order = a
		}
	}
	if arg == nil {
		return groupMode{}, false
	}
	m := groupMode{grouped: true, c: f.Name.Value}
	switch v := arg.Value.(type) {
	case *ast.Variable:
		if v.Name != nil && v.Name.Value == nullVar {
			return groupMode{}, false // null: no groupBy
		}
		return m, true
	case *ast.EnumValue:
		m.by = []string{v.Value}
	case *ast.ListValue:
		m.by = []string{}
		for _, e := range v.Values {
			ev, ok := e.(*ast.EnumValue)
			if !ok {
				return groupMode{grouped: true, c: m.c}, true // a variable in the list
			}
			m.by = append(m.by, ev.Value)
		}
		if len(m.by) == 0 {
			w.refuse(arg.Loc, errGroupByEmpty.Error())
			return groupMode{grouped: true, c: m.c}, true
		}
	}
	if order != nil && m.by != nil {
		w.order(order.Value, m.by)
	}
	return m, true
}

// order refuses the keys of an order written in the request that are not
// among the groupBy fields by.
func (w *groupWalker) order(v ast.Value, by []string) {
	switch v := v.(type) {
	case *ast.ListValue:
		for _, e := range v.Values {
			w.order(e, by)
		}
	case *ast.ObjectValue:
		for _, f := range v.Fields {
			if f.Name == nil {
				continue
			}
			if _, related := f.Value.(*ast.ObjectValue); related || !slices.Contains(by, f.Name.Value) {
				w.refuse(f.Loc, errGroupOrder(f.Name.Value).Error())
			}
		}
	}
}

// isAggregate reports whether name is that of an aggregate.
func isAggregate(name string) bool {
	return name == aggCount || name == aggSum || name == aggAvg || name == aggMin || name == aggMax
}
