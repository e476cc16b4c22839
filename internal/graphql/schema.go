package graphql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/crdt"
)

// Names of the generated schema's fields, arguments and types, as DefraDB names
// them. For a collection C: the object type C, the query field C, the input types
// CFilterArg, COrderArg and CMutationInputArg, the enum CNumericFieldArg, and the
// mutations create_C (and add_C, DefraDB's newer name of it), update_C, upsert_C
// and delete_C; the enum CGroupByArg of the
// fields a query can group by, and the field _group of C.
const (
	argDocID   = "docID"
	argFilter  = "filter"
	argOrder   = "order"
	argLimit   = "limit"
	argOffset  = "offset"
	argInput   = "input"
	argField   = "field"
	argGroupBy = "groupBy"
	argCreate  = "create"
	argUpdate  = "update"

	argShowDeleted = "showDeleted"
	fieldDeleted   = "_deleted"

	fieldGroup = "_group"

	opAnd = "_and"
	opOr  = "_or"
	opNot = "_not"

	aggCount = "_count"
	aggSum   = "_sum"
	aggAvg   = "_avg"
	aggMin   = "_min"
	aggMax   = "_max"

	prefixCreate = "create_"
	prefixAdd    = "add_" // DefraDB's newer name of create_
	prefixUpdate = "update_"
	prefixUpsert = "upsert_"
	prefixDelete = "delete_"

	suffixFilter     = "FilterArg"
	suffixOrder      = "OrderArg"
	suffixInput      = "MutationInputArg"
	suffixNumeric    = "NumericFieldArg"
	suffixCountArg   = "CountArg"
	suffixNumericArg = "AggregateArg"
	suffixGroupBy    = "GroupByArg"

	orderASC  = "ASC"
	orderDESC = "DESC"
)

// The comparison operators of a filter on one field, by kind of value. Every kind
// has the equality and set operators; the ordered kinds the ranges; strings the
// patterns, where % matches any run of characters and _ any one. _neq, _geq
// and _leq are DefraDB's spellings of _ne, _ge and _le, which gossipdb.Filter
// takes too.
var (
	equalityOps = []string{"_eq", "_ne", "_neq"}
	setOps      = []string{"_in", "_nin"}
	rangeOps    = []string{"_gt", "_ge", "_geq", "_lt", "_le", "_leq"}
	patternOps  = []string{"_like", "_nlike", "_ilike", "_nilike"}
	itemOps     = []string{"_any", "_all", "_none"} // of a list or set field
)

// opDescriptions say what each operator does, for introspection.
var opDescriptions = map[string]string{
	"_eq":     "Equal to the value; null matches an absent field.",
	"_ne":     "Not equal to the value.",
	"_neq":    "Not equal to the value: _ne, as DefraDB spells it.",
	"_in":     "Equal to one of the values.",
	"_nin":    "Equal to none of the values.",
	"_gt":     "Greater than the value; null is refused.",
	"_ge":     "Greater than or equal to the value; null is refused.",
	"_geq":    "Greater than or equal to the value: _ge, as DefraDB spells it; null is refused.",
	"_lt":     "Less than the value; null is refused.",
	"_le":     "Less than or equal to the value; null is refused.",
	"_leq":    "Less than or equal to the value: _le, as DefraDB spells it; null is refused.",
	"_like":   "Matches the pattern: % stands for any run of characters, _ for any one; null is refused.",
	"_nlike":  "Does not match the pattern; null is refused.",
	"_ilike":  "Matches the pattern, ignoring case; null is refused.",
	"_nilike": "Does not match the pattern, ignoring case; null is refused.",
}

// orderingEnum is the direction of one sort key.
var orderingEnum = graphql.NewEnum(graphql.EnumConfig{
	Name:        "Ordering",
	Description: "The direction of a sort key. Nulls sort first in ascending order.",
	Values: graphql.EnumValueConfigMap{
		orderASC:  {Value: orderASC, Description: "Ascending: null, then the smallest value first."},
		orderDESC: {Value: orderDESC, Description: "Descending: the largest value first, null last."},
	},
})

// scalarOf returns the GraphQL scalar that holds values of kind k.
func scalarOf(k crdt.Kind) *graphql.Scalar {
	switch k {
	case crdt.KindString:
		return graphql.String
	case crdt.KindInt:
		return intScalar
	case crdt.KindFloat:
		return floatScalar
	case crdt.KindBoolean:
		return graphql.Boolean
	case crdt.KindDateTime:
		return dateTimeScalar
	}
	return jsonScalar
}

// valueType returns the type of the values of field f, not a relation: its
// scalar, or a list of them ([String!] for a list with non-null items).
func valueType(f crdt.Field) graphql.Type {
	s := scalarOf(f.Kind)
	if !f.List {
		return s
	}
	if f.ItemsRequired || f.AddWinsSet {
		return graphql.NewList(graphql.NewNonNull(s))
	}
	return graphql.NewList(s)
}

// numeric reports whether fields of kind k can be summed and averaged.
func numeric(k crdt.Kind) bool { return k == crdt.KindInt || k == crdt.KindFloat }

// operatorBlock returns the input type of the operators on a value of scalar s,
// made once per scalar and shared by every collection.
func (g *generator) operatorBlock(s *graphql.Scalar, ordered, pattern bool) *graphql.InputObject {
	name := s.Name() + "OperatorBlock"
	if b, ok := g.blocks[name]; ok {
		return b
	}
	fields := graphql.InputObjectConfigFieldMap{}
	add := func(ops []string, t graphql.Input) {
		for _, op := range ops {
			fields[op] = &graphql.InputObjectFieldConfig{Type: t, Description: opDescriptions[op]}
		}
	}
	add(equalityOps, s)
	add(setOps, graphql.NewList(s))
	if ordered {
		add(rangeOps, s)
	}
	if pattern {
		add(patternOps, graphql.String)
	}
	b := graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        name,
		Description: "The operators of a filter on a " + s.Name() + " field; every one given must hold.",
		Fields:      fields,
	})
	g.blocks[name] = b
	return b
}

// generator builds one schema. Its maps hold the types shared between
// collections, so each name is defined once.
type generator struct {
	blocks map[string]*graphql.InputObject

	// By collection name: its fields, object type, filter and order types,
	// and the arguments of its query field, for the relations between them.
	fields    map[string][]crdt.Field
	objects   map[string]*graphql.Object
	filters   map[string]*graphql.InputObject
	orders    map[string]*graphql.InputObject
	queryArgs map[string]graphql.FieldConfigArgument

	// By collection name: the arguments of its aggregates (CCountArg, and
	// CAggregateArg if it has numeric fields), at the top level and within
	// the documents on the other side of a relation.
	countArgs   map[string]*graphql.InputObject
	numericArgs map[string]*graphql.InputObject

	// By collection name: whether its query field takes groupBy, and so its
	// documents _group and the aggregates over it (see groupby.go).
	groupable map[string]bool

	// The types of the history (see history.go); nil when a collection has
	// one of their names, and the schema then has no history.
	history *historyTypes
}

// generated is a schema made from a node's collections, the key of the
// collections it was made from, and the requests already validated for it.
type generated struct {
	key    string
	schema graphql.Schema
	docs   docCache
	kinds  fieldKinds // for unsupported
}

// fieldKinds are the names of the collections' list and set fields, of
// their JSON fields, and of their relation fields (and their _fieldID), for
// the errors of unsupported.
type fieldKinds struct {
	lists, jsons, relations map[string]bool
}

// schemaKey identifies what the schema of cols depends on: each collection's
// name, schema ID and fields. Two equal keys give the same schema.
func schemaKey(cols []*gossipdb.Collection) string {
	var b strings.Builder
	for _, c := range cols {
		b.WriteString(c.Name())
		b.WriteByte(' ')
		b.WriteString(c.SchemaID())
		for _, f := range c.Fields() {
			b.WriteByte(' ')
			b.WriteString(f.Name)
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(int(f.Kind)))
			b.WriteString(strconv.FormatBool(f.Required))
			b.WriteString(strconv.FormatBool(f.Counter))
			b.WriteString(strconv.FormatBool(f.List))
			b.WriteString(strconv.FormatBool(f.ItemsRequired))
			b.WriteString(strconv.FormatBool(f.AddWinsSet))
			b.WriteByte(':')
			b.WriteString(f.Relation)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// generate builds the GraphQL schema of cols, the node's current collections:
// for each collection its object type, its query field with filter, order,
// limit, offset, docID, groupBy and cid arguments, its argument to the aggregates (_count,
// and _sum, _avg, _min, _max over its numeric fields), its mutations and its
// subscription field (filter and docID); and _commits, the history of any document. The
// error says which name clashes, if two generated names do.
func generate(cols []*gossipdb.Collection) (*generated, error) {
	g := &generator{blocks: map[string]*graphql.InputObject{}, fields: map[string][]crdt.Field{},
		objects: map[string]*graphql.Object{}, filters: map[string]*graphql.InputObject{},
		orders: map[string]*graphql.InputObject{}, queryArgs: map[string]graphql.FieldConfigArgument{},
		countArgs: map[string]*graphql.InputObject{}, numericArgs: map[string]*graphql.InputObject{},
		groupable: map[string]bool{}}
	for _, c := range cols {
		g.fields[c.Name()] = c.Fields()
	}
	g.history = newHistoryTypes(g.fields)
	query := graphql.Fields{}
	mutation := graphql.Fields{}
	subscription := graphql.Fields{}
	countArgs := graphql.FieldConfigArgument{}
	numericArgs := graphql.FieldConfigArgument{}
	for _, c := range cols {
		name := c.Name()
		fields := c.Fields()
		object := g.object(name, fields)
		filter := g.filter(name, fields)
		order := g.order(name, fields)
		input := g.input(name, fields)
		list := graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(object)))
		docIDs := &graphql.ArgumentConfig{Type: graphql.NewList(graphql.NewNonNull(graphql.ID)),
			Description: "Only the documents with one of these IDs."}
		filterArg := &graphql.ArgumentConfig{Type: filter, Description: "Only the documents that match."}

		g.queryArgs[name] = graphql.FieldConfigArgument{
			argDocID:  docIDs,
			argFilter: filterArg,
			argOrder: {Type: graphql.NewList(graphql.NewNonNull(order)),
				Description: "Sort keys, most significant first; the document ID breaks ties, in the direction of the last key unless one is _docID."},
			argLimit:  {Type: intScalar, Description: "At most this many documents; 0 or absent means no limit."},
			argOffset: {Type: intScalar, Description: "Skip this many documents first."},
		}
		topArgs := graphql.FieldConfigArgument{}
		for k, v := range g.queryArgs[name] {
			topArgs[k] = v
		}
		if groupBy := g.groupByEnum(name, fields); groupBy != nil {
			g.groupable[name] = true
			topArgs[argGroupBy] = &graphql.ArgumentConfig{Type: graphql.NewList(graphql.NewNonNull(groupBy)),
				Description: "Answer one object per group of the matching documents that have the same values of these fields, with those fields, _group and aggregates over _group; limit, offset and order (on these fields only) apply to the groups."}
		}
		topArgs[argShowDeleted] = &graphql.ArgumentConfig{Type: graphql.Boolean,
			Description: "Answer deleted documents too, with _deleted true and the values they had; such a query reads every document, as no index holds deleted ones."}
		if g.history != nil {
			topArgs[argCID] = &graphql.ArgumentConfig{Type: graphql.ID,
				Description: "Answer the one document docID names as it was at this block of its history (see _commits); [] if the block deletes it. It takes no filter, order, groupBy, limit or offset."}
		}
		query[name] = &graphql.Field{
			Type:        list,
			Description: "Documents of " + name + ".",
			Args:        topArgs,
			Resolve:     bounded(resolveSelect(name)),
		}
		subscription[name] = &graphql.Field{
			Type:        list,
			Description: "Each document of " + name + " created or updated from now on that matches, one event per change (see Executor.Subscribe).",
			Args:        graphql.FieldConfigArgument{argDocID: docIDs, argFilter: filterArg},
			Resolve:     bounded(resolveSubscribed(name)),
		}
		g.countArgs[name] = graphql.NewInputObject(graphql.InputObjectConfig{
			Name:        name + suffixCountArg,
			Description: "The documents of " + name + " an aggregate counts.",
			Fields: graphql.InputObjectConfigFieldMap{
				argFilter: {Type: filter, Description: "Count only the documents that match."},
				argLimit:  {Type: intScalar, Description: "Count at most this many; 0 or absent means no limit."},
				argOffset: {Type: intScalar, Description: "Skip this many first."},
			},
		})
		countArgs[name] = &graphql.ArgumentConfig{Type: g.countArgs[name]}
		if numericEnum := g.numericFields(name, fields); numericEnum != nil {
			g.numericArgs[name] = graphql.NewInputObject(graphql.InputObjectConfig{
				Name:        name + suffixNumericArg,
				Description: "The documents of " + name + " and the field an aggregate takes.",
				Fields: graphql.InputObjectConfigFieldMap{
					argField:  {Type: graphql.NewNonNull(numericEnum), Description: "The field to aggregate."},
					argFilter: {Type: filter, Description: "Aggregate only the documents that match."},
					argLimit:  {Type: intScalar, Description: "Aggregate at most this many documents, the first in order; 0 or absent means no limit."},
					argOffset: {Type: intScalar, Description: "Skip this many documents first, in order."},
					argOrder: {Type: graphql.NewList(graphql.NewNonNull(order)),
						Description: "The order that limit and offset take documents in, as a query's order; without them it changes nothing."},
				},
			})
			numericArgs[name] = &graphql.ArgumentConfig{Type: g.numericArgs[name]}
		}

		mutation[prefixCreate+name] = &graphql.Field{
			Type:        list,
			Description: "Creates documents of " + name + ". The request's mutations form one transaction: all of them or none.",
			Args: graphql.FieldConfigArgument{
				argInput: {Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(input))),
					Description: "One document, or a list of them."},
			},
			Resolve: bounded(resolveCreate(name)),
		}
		mutation[prefixAdd+name] = &graphql.Field{
			Type:        list,
			Description: "Creates documents of " + name + ", as " + prefixCreate + name + " does: DefraDB's newer name of it.",
			Args:        mutation[prefixCreate+name].Args,
			Resolve:     mutation[prefixCreate+name].Resolve,
		}
		mutation[prefixUpdate+name] = &graphql.Field{
			Type:        list,
			Description: "Sets the given fields (adds to counters) of the documents of " + name + " named by docID or matching filter. The request's mutations form one transaction: all of them or none.",
			Args: graphql.FieldConfigArgument{
				argDocID:  docIDs,
				argFilter: filterArg,
				argInput:  {Type: graphql.NewNonNull(input), Description: "The fields to set."},
			},
			Resolve: bounded(resolveUpdate(name)),
		}
		mutation[prefixUpsert+name] = &graphql.Field{
			Type: list,
			Description: "Updates the one document of " + name + " that matches filter with update, or creates one with create when none does; " +
				"fails when more than one does. The request's mutations form one transaction: all of them or none.",
			Args: graphql.FieldConfigArgument{
				argFilter: {Type: graphql.NewNonNull(filter), Description: "The document to update: at most one may match."},
				argCreate: {Type: graphql.NewNonNull(input), Description: "The document to create when none matches."},
				argUpdate: {Type: graphql.NewNonNull(input), Description: "The fields to set (add to counters) of the one that matches."},
			},
			Resolve: bounded(resolveUpsert(name)),
		}
		mutation[prefixDelete+name] = &graphql.Field{
			Type:        list,
			Description: "Deletes the documents of " + name + " named by docID or matching filter. The request's mutations form one transaction: all of them or none.",
			Args:        graphql.FieldConfigArgument{argDocID: docIDs, argFilter: filterArg},
			Resolve:     bounded(resolveDelete(name)),
		}
	}
	if len(cols) > 0 && g.history != nil {
		query[fieldCommits] = g.history.commitsField()
	}
	if len(cols) > 0 {
		query[aggCount] = &graphql.Field{
			Type:        graphql.NewNonNull(intScalar),
			Description: "The number of documents of one collection, all or those that match its filter, paged by limit and offset: _count(User: {filter: …}).",
			Args:        countArgs,
			Resolve:     bounded(resolveAggregate(aggCount)),
		}
	}
	if len(numericArgs) > 0 {
		for _, op := range []string{aggSum, aggAvg, aggMin, aggMax} {
			query[op] = &graphql.Field{
				Type:        floatScalar,
				Description: aggregateDescriptions[op],
				Args:        numericArgs,
				Resolve:     bounded(resolveAggregate(op)),
			}
		}
	}
	if len(query) == 0 {
		// A schema needs one query field; a node without collections answers
		// its empty list.
		query["_collections"] = &graphql.Field{
			Type:        graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(graphql.String))),
			Description: "The names of the node's collections.",
			Resolve:     func(graphql.ResolveParams) (any, error) { return []string{}, nil },
		}
	}
	cfg := graphql.SchemaConfig{Query: graphql.NewObject(graphql.ObjectConfig{Name: "Query", Fields: query}),
		Directives: append(append([]*graphql.Directive{}, graphql.SpecifiedDirectives...), explainDirective),
		// graphql-go lists the types its root types reach; @explain's
		// argument is reached only from the directive, and a type named in
		// an answer but not listed breaks every client that builds a schema
		// from introspection (GraphiQL among them).
		Types: []graphql.Type{explainTypeEnum}}
	if len(mutation) > 0 {
		cfg.Mutation = graphql.NewObject(graphql.ObjectConfig{Name: "Mutation", Fields: mutation})
	}
	if len(subscription) > 0 {
		cfg.Subscription = graphql.NewObject(graphql.ObjectConfig{Name: "Subscription", Fields: subscription})
	}
	s, err := graphql.NewSchema(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot make the GraphQL schema of the collections: %w", err)
	}
	// graphql-go's enums build their lookup tables at first use, unguarded:
	// build them now, before requests share the schema. (Object and input
	// types are complete once NewSchema has walked them.)
	for _, t := range s.TypeMap() {
		if e, ok := t.(*graphql.Enum); ok {
			e.ParseValue("")
			e.Serialize(nil)
		}
	}
	kinds := fieldKinds{lists: map[string]bool{}, jsons: map[string]bool{}, relations: map[string]bool{}}
	for _, fields := range g.fields {
		for _, f := range fields {
			switch {
			case f.List && f.Kind != crdt.KindRelation:
				kinds.lists[f.Name] = true
			case f.Kind == crdt.KindJSON:
				kinds.jsons[f.Name] = true
			case f.Kind == crdt.KindRelation && !f.List:
				kinds.relations[f.Name] = true
				if id, ok := idField(f); ok {
					kinds.relations[id] = true
				}
			}
		}
	}
	return &generated{key: schemaKey(cols), schema: s, docs: docCache{m: map[string]*validated{}}, kinds: kinds}, nil
}

var aggregateDescriptions = map[string]string{
	aggSum: "The sum of a numeric field over one collection's documents: _sum(User: {field: age, filter: …}). Absent fields add nothing. A sum beyond the range of the field's kind (a 64-bit Int, a finite Float) is an error.",
	aggAvg: "The average of a numeric field over the documents that have it; null if none has.",
	aggMin: "The smallest value of a numeric field; null if no document has one.",
	aggMax: "The largest value of a numeric field; null if no document has one.",
}

// innerDescriptions describe the aggregates within a document.
var innerDescriptions = map[string]string{
	aggCount: "The number of documents on the inverse side of one of the document's relations, _count(books: {filter: …, limit: n, offset: n}), or of items of one of its lists, _count(tags: {filter: {_eq: \"x\"}}); null items count.",
	aggSum:   "The sum of a numeric field of the documents on the inverse side of a relation, _sum(books: {field: rating, filter: …}), or of the items of a list of numbers, _sum(scores: {}); null adds nothing. A sum beyond the range of its kind is an error.",
	aggAvg:   "The average of a numeric field of the documents on the inverse side of a relation, or of the items of a list of numbers; null if there is no value.",
	aggMin:   "The smallest value of a numeric field of the documents on the inverse side of a relation, or of the items of a list of numbers; null if there is none.",
	aggMax:   "The largest value of a numeric field of the documents on the inverse side of a relation, or of the items of a list of numbers; null if there is none.",
}

// readsNonNull reports whether field f of a document never reads as null: a
// counter (0 until added to). A required field may: a peer on a version of
// the collection where it is optional writes documents without it (or
// clears it), which this node merges and reads (null, or the field's
// default where it never had it) all the same, so its output type is
// nullable; a null where the type promised none would fail the whole answer.
func readsNonNull(f crdt.Field) bool { return f.Counter }

// object returns the object type of a collection's documents. A relation
// field (author: Author) is the document it names, and _authorID its ID; the
// inverse side of one (books: [Book]) the documents that name this one, with
// the arguments of Book's query field.
func (g *generator) object(name string, fields []crdt.Field) *graphql.Object {
	var o *graphql.Object
	o = graphql.NewObject(graphql.ObjectConfig{Name: name,
		Description: "A document of the collection " + name + ".",
		Fields: graphql.FieldsThunk(func() graphql.Fields {
			out := graphql.Fields{
				client.DocIDKey: {Type: graphql.NewNonNull(graphql.ID), Description: "The document's ID.", Resolve: member(client.DocIDKey)},
			}
			for _, f := range fields {
				target := g.objects[f.Relation]
				switch {
				case f.Derived():
					inv := g.inverse(f.Relation, name)
					if target == nil || inv == "" {
						continue
					}
					out[f.Name] = &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(target))),
						Description: "The documents of " + f.Relation + " whose " + inv + " is this one.",
						Args:        g.queryArgs[f.Relation], Resolve: bounded(resolveInverse(f.Relation, inv))}
					continue
				case f.Kind == crdt.KindRelation && target != nil:
					t := graphql.Output(graphql.ID) // nullable even if required: see readsNonNull
					if id, ok := idField(f); ok {
						out[id] = &graphql.Field{Type: t, Description: "The ID of the document " + f.Name + " names.", Resolve: relationID(f.Name)}
					}
					out[f.Name] = &graphql.Field{Type: target, Resolve: bounded(resolveRelated(f.Relation, f.Name)),
						Description: "The document of " + f.Relation + " it names; null if there is none, or this node does not hold it."}
					continue
				}
				t := graphql.Output(valueType(f))
				if f.Kind == crdt.KindRelation {
					t = graphql.ID // the collection it names is unknown here
				}
				if readsNonNull(f) {
					t = graphql.NewNonNull(t)
				}
				out[f.Name] = &graphql.Field{Type: t, Resolve: member(f.Name)}
			}
			out[fieldDeleted] = &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean), Resolve: resolveDeleted,
				Description: "Whether the document is deleted: only a query with showDeleted answers deleted ones."}
			if g.history != nil {
				out[fieldVersion] = g.history.versionField(name)
			}
			if g.groupable[name] {
				out[fieldGroup] = &graphql.Field{Type: graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(o))),
					Description: "The documents of a group, in a query with groupBy.",
					Args:        g.queryArgs[name], Resolve: bounded(resolveGroup(name))}
			}
			g.aggregates(name, fields, out)
			return out
		}),
	})
	g.objects[name] = o
	return o
}

// aggregates adds to out, the fields of the object type of collection name,
// the aggregates within a document (see aggregate.go): _count over each
// inverse side of a relation and each list field, _sum, _avg, _min and _max
// over those whose documents have numeric fields and the lists of numbers.
// An aggregate that nothing could take is left out.
func (g *generator) aggregates(name string, fields []crdt.Field, out graphql.Fields) {
	in := innerAggregate{relations: map[string][2]string{}, lists: map[string]crdt.Field{}}
	counts, numbers := graphql.FieldConfigArgument{}, graphql.FieldConfigArgument{}
	if g.groupable[name] {
		in.group = true
		counts[fieldGroup] = &graphql.ArgumentConfig{Type: g.countArgs[name], Description: "The documents of the group, in a query with groupBy."}
		if t := g.numericArgs[name]; t != nil {
			numbers[fieldGroup] = &graphql.ArgumentConfig{Type: t, Description: "The documents of the group, in a query with groupBy."}
		}
	}
	for _, f := range fields {
		switch {
		case f.Derived():
			inv := g.inverse(f.Relation, name)
			if g.objects[f.Relation] == nil || inv == "" {
				continue
			}
			in.relations[f.Name] = [2]string{f.Relation, inv}
			counts[f.Name] = &graphql.ArgumentConfig{Type: g.countArgs[f.Relation],
				Description: "The documents of " + f.Relation + " whose " + inv + " is this one."}
			if t := g.numericArgs[f.Relation]; t != nil {
				numbers[f.Name] = &graphql.ArgumentConfig{Type: t,
					Description: "The documents of " + f.Relation + " whose " + inv + " is this one."}
			}
		case f.Kind != crdt.KindRelation && f.Kind != crdt.KindJSON && (f.List || f.AddWinsSet):
			in.lists[f.Name] = f
			s := scalarOf(f.Kind)
			counts[f.Name] = &graphql.ArgumentConfig{Type: g.itemArg(s, f.Kind, suffixCountArg), Description: "The items of the list."}
			if numeric(f.Kind) {
				numbers[f.Name] = &graphql.ArgumentConfig{Type: g.itemArg(s, f.Kind, suffixNumericArg), Description: "The items of the list."}
			}
		}
	}
	if len(counts) > 0 {
		out[aggCount] = &graphql.Field{Type: intScalar, Args: counts, Description: innerDescriptions[aggCount],
			Resolve: bounded(resolveInner(aggCount, in))}
	}
	if len(numbers) > 0 {
		for _, op := range []string{aggSum, aggAvg, aggMin, aggMax} {
			out[op] = &graphql.Field{Type: floatScalar, Args: numbers, Description: innerDescriptions[op],
				Resolve: bounded(resolveInner(op, in))}
		}
	}
}

// listOperatorBlock returns the input type of the operators on a list or
// set whose items take the operators of item (an operator block such as
// IntOperatorBlock), as DefraDB names it: IntListOperatorBlock, with _any,
// _all and _none.
func (g *generator) listOperatorBlock(item *graphql.InputObject) *graphql.InputObject {
	name := strings.TrimSuffix(item.Name(), "OperatorBlock") + "ListOperatorBlock"
	if b, ok := g.blocks[name]; ok {
		return b
	}
	b := graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        name,
		Description: "The operators of a filter on a list of " + strings.TrimSuffix(item.Name(), "OperatorBlock") + "; every one given must hold. None of them matches a null list, as in DefraDB.",
		Fields: graphql.InputObjectConfigFieldMap{
			"_any":  {Type: item, Description: "At least one item matches."},
			"_all":  {Type: item, Description: "Every item matches (true of a list with no items)."},
			"_none": {Type: item, Description: "No item matches."},
		},
	})
	g.blocks[name] = b
	return b
}

// itemArg returns the argument of an aggregate over the items of a list of
// scalar s (of kind k): IntCountArg (filter, limit, offset) with suffix
// CountArg, IntAggregateArg (and order) with suffix AggregateArg. Their
// names cannot clash with a collection's: no collection is named after a
// scalar, and none ends in a suffix of the GraphQL API's.
func (g *generator) itemArg(s *graphql.Scalar, k crdt.Kind, suffix string) *graphql.InputObject {
	name := s.Name() + suffix
	if b, ok := g.blocks[name]; ok {
		return b
	}
	fields := graphql.InputObjectConfigFieldMap{
		argFilter: {Type: g.itemFilter(s, k), Description: "Take only the items that match."},
		argLimit:  {Type: intScalar, Description: "Take at most this many items; 0 or absent means no limit."},
		argOffset: {Type: intScalar, Description: "Skip this many items first."},
	}
	desc := "The items of a list of " + s.Name() + " an aggregate counts."
	if suffix == suffixNumericArg {
		fields[argOrder] = &graphql.InputObjectFieldConfig{Type: orderingEnum,
			Description: "The order that limit and offset take items in, by value (null first in ascending order); absent, the list's own."}
		desc = "The items of a list of " + s.Name() + " an aggregate takes."
	}
	b := graphql.NewInputObject(graphql.InputObjectConfig{Name: name, Description: desc, Fields: fields})
	g.blocks[name] = b
	return b
}

// itemFilter returns the input type of a condition on each item of a list
// of scalar s (of kind k), such as IntFilterArg: the operators of a filter on
// a field of that kind, and _and, _or and _not (gossipdb's
// Collection.ItemFilter).
func (g *generator) itemFilter(s *graphql.Scalar, k crdt.Kind) *graphql.InputObject {
	name := s.Name() + suffixFilter
	if b, ok := g.blocks[name]; ok {
		return b
	}
	var self *graphql.InputObject
	self = graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        name,
		Description: "A condition on each item of a list of " + s.Name() + ": every operator given must hold.",
		Fields: graphql.InputObjectConfigFieldMapThunk(func() graphql.InputObjectConfigFieldMap {
			m := graphql.InputObjectConfigFieldMap{
				opAnd: {Type: graphql.NewList(graphql.NewNonNull(self)), Description: "Every condition holds."},
				opOr:  {Type: graphql.NewList(graphql.NewNonNull(self)), Description: "At least one condition holds."},
				opNot: {Type: self, Description: "The condition does not hold."},
			}
			add := func(ops []string, t graphql.Input) {
				for _, op := range ops {
					m[op] = &graphql.InputObjectFieldConfig{Type: t, Description: opDescriptions[op]}
				}
			}
			add(equalityOps, s)
			add(setOps, graphql.NewList(s))
			if k != crdt.KindBoolean {
				add(rangeOps, s)
			}
			if k == crdt.KindString {
				add(patternOps, graphql.String)
			}
			return m
		}),
	})
	g.blocks[name] = self
	return self
}

// inverse returns the relation field of collection target that refers to
// collection name, if it has exactly one.
func (g *generator) inverse(target, name string) string {
	found := ""
	for _, f := range g.fields[target] {
		if f.Kind == crdt.KindRelation && !f.List && f.Relation == name {
			if found != "" {
				return ""
			}
			found = f.Name
		}
	}
	return found
}

// idField returns the name of the field that holds the ID a relation field
// names, as DefraDB names it: _authorID for author. A relation called doc has
// none, as _docID is the document's own ID.
func idField(f crdt.Field) (string, bool) {
	if f.Name == "doc" {
		return "", false
	}
	return "_" + f.Name + "ID", true
}

// member resolves a field of a document (see object) by its name, as
// graphql-go's default resolver does, without its reflection.
func member(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		doc, _ := p.Source.(map[string]any)
		return doc[name], nil
	}
}

// filter returns the filter input type of a collection: per field its operators,
// combined with _and, _or and _not.
func (g *generator) filter(name string, fields []crdt.Field) *graphql.InputObject {
	var self *graphql.InputObject
	self = graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        name + suffixFilter,
		Description: "A condition on documents of " + name + ": every field given must match.",
		Fields: graphql.InputObjectConfigFieldMapThunk(func() graphql.InputObjectConfigFieldMap {
			m := graphql.InputObjectConfigFieldMap{
				client.DocIDKey: {Type: g.operatorBlock(graphql.ID, false, false)},
				opAnd:           {Type: graphql.NewList(graphql.NewNonNull(self)), Description: "Every condition holds."},
				opOr:            {Type: graphql.NewList(graphql.NewNonNull(self)), Description: "At least one condition holds."},
				opNot:           {Type: self, Description: "The condition does not hold."},
			}
			for _, f := range fields {
				if target := g.filters[f.Relation]; f.Kind == crdt.KindRelation && target != nil {
					if f.List {
						m[f.Name] = &graphql.InputObjectFieldConfig{Type: target,
							Description: "At least one document of " + f.Relation + " that names this one matches."}
						continue
					}
					m[f.Name] = &graphql.InputObjectFieldConfig{Type: target,
						Description: "The document of " + f.Relation + " it names matches."}
					if id, ok := idField(f); ok {
						m[id] = &graphql.InputObjectFieldConfig{Type: g.operatorBlock(graphql.ID, false, false),
							Description: "The ID of the document " + f.Name + " names."}
					}
					continue
				}
				ordered := f.Kind != crdt.KindBoolean && f.Kind != crdt.KindJSON
				block := g.operatorBlock(scalarOf(f.Kind), ordered, f.Kind == crdt.KindString)
				if f.List || f.AddWinsSet {
					block = g.listOperatorBlock(block)
				}
				m[f.Name] = &graphql.InputObjectFieldConfig{Type: block}
			}
			return m
		}),
	})
	g.filters[name] = self
	return self
}

// order returns the input type of one sort key of a collection: one field and
// its direction. A relation field takes the sort key of the collection it
// names, as in DefraDB: order: {author: {name: ASC}} orders by the related
// document's field (see order.go).
func (g *generator) order(name string, fields []crdt.Field) *graphql.InputObject {
	o := graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        name + suffixOrder,
		Description: "A sort key: one field of " + name + " and its direction, such as {name: ASC}.",
		Fields: graphql.InputObjectConfigFieldMapThunk(func() graphql.InputObjectConfigFieldMap {
			m := graphql.InputObjectConfigFieldMap{client.DocIDKey: {Type: orderingEnum}}
			for _, f := range fields {
				switch {
				case f.Derived() || f.Kind == crdt.KindJSON:
				case f.Kind != crdt.KindRelation && (f.List || f.AddWinsSet):
					// a list or set cannot be ordered by (gossipdb.Query)
				case f.Kind == crdt.KindRelation && g.orders[f.Relation] != nil:
					m[f.Name] = &graphql.InputObjectFieldConfig{Type: g.orders[f.Relation],
						Description: "The fields of the document of " + f.Relation + " it names; null if it names none this node holds. No index serves such an order: the matches are sorted in memory."}
				default:
					m[f.Name] = &graphql.InputObjectFieldConfig{Type: orderingEnum}
				}
			}
			return m
		}),
	})
	g.orders[name] = o
	return o
}

// input returns the input type of a document's fields, for create and update.
// Required fields are checked when a document is created, not by the type, so
// that an update can leave them out.
func (g *generator) input(name string, fields []crdt.Field) *graphql.InputObject {
	m := graphql.InputObjectConfigFieldMap{}
	for _, f := range fields {
		switch {
		case f.Derived():
			continue // it holds nothing
		case f.Kind == crdt.KindRelation:
			desc := "The ID of a document of " + f.Relation + "."
			m[f.Name] = &graphql.InputObjectFieldConfig{Type: graphql.ID, Description: desc}
			if id, ok := idField(f); ok {
				m[id] = &graphql.InputObjectFieldConfig{Type: graphql.ID, Description: desc + " The same as " + f.Name + "."}
			}
			continue
		}
		desc := ""
		if f.Counter {
			desc = "A counter: create sets it, update adds to it."
		}
		if f.AddWinsSet {
			desc = "An add-wins set: create and update give its whole content."
		}
		m[f.Name] = &graphql.InputObjectFieldConfig{Type: valueType(f), Description: desc}
	}
	return graphql.NewInputObject(graphql.InputObjectConfig{
		Name:        name + suffixInput,
		Description: "Field values of a document of " + name + ".",
		Fields:      m,
	})
}

// groupByEnum returns the enum of the fields of a collection that a query
// can group by, its scalar fields but JSON, or nil if it has none or its name
// is a collection's (one stored before the name was the GraphQL API's).
func (g *generator) groupByEnum(name string, fields []crdt.Field) *graphql.Enum {
	if _, clash := g.fields[name+suffixGroupBy]; clash {
		return nil
	}
	values := graphql.EnumValueConfigMap{}
	for _, f := range fields {
		if groupable(f) {
			values[f.Name] = &graphql.EnumValueConfig{Value: f.Name}
		}
	}
	if len(values) == 0 {
		return nil
	}
	return graphql.NewEnum(graphql.EnumConfig{Name: name + suffixGroupBy, Values: values,
		Description: "The fields of " + name + " a query can group by."})
}

// groupable reports whether a query can group by field f: a scalar, not a
// list, a set, a relation or JSON.
func groupable(f crdt.Field) bool {
	return !f.List && !f.AddWinsSet && f.Kind != crdt.KindRelation && f.Kind != crdt.KindJSON
}

// numericFields returns the enum of a collection's Int and Float fields, or nil
// if it has none.
func (g *generator) numericFields(name string, fields []crdt.Field) *graphql.Enum {
	values := graphql.EnumValueConfigMap{}
	for _, f := range fields {
		if numeric(f.Kind) && !f.List {
			values[f.Name] = &graphql.EnumValueConfig{Value: f.Name}
		}
	}
	if len(values) == 0 {
		return nil
	}
	return graphql.NewEnum(graphql.EnumConfig{Name: name + suffixNumeric, Values: values,
		Description: "The numeric fields of " + name + "."})
}
