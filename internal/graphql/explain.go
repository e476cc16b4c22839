package graphql

import (
	"fmt"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/source"

	"github.com/gossipdb/gossipdb"
)

// DefraDB's @explain: query @explain { User(filter: {age: {_gt: 30}}) { name } }
// answers, in place of the documents, how each collection query runs, as
// gossipdb.Collection.Explain says it: {"explain": {"User": {"collection":
// "User", "index": "User_age_ASC", "ranges": 1, …}}}, one member per
// top-level response key. The query runs to count what it reads, as DefraDB's
// @explain(type: execute) does; its documents are not answered. Only
// collection queries are explained: checkExplain refuses the others
// (aggregates, _commits, introspection) before the request runs, and a
// query with cid is refused as it runs. A grouped query reads what its
// filter matches, whatever groups it then answers, so its plan is that
// read's.

// Names of @explain and its answer.
const (
	directiveExplain = "explain"
	argExplainType   = "type"
	explainKey       = "explain"
)

// explainTypeEnum is the argument of @explain: both kinds run the query.
var explainTypeEnum = graphql.NewEnum(graphql.EnumConfig{
	Name:        "ExplainType",
	Description: "What @explain reports: here both run the query and report what it read.",
	Values: graphql.EnumValueConfigMap{
		"simple":  {Value: "simple", Description: "The plan, with what the query read: gossipdb counts as it runs."},
		"execute": {Value: "execute", Description: "The same."},
	},
})

// explainDirective is @explain, on a query operation.
var explainDirective = graphql.NewDirective(graphql.DirectiveConfig{
	Name:        directiveExplain,
	Description: "Answer how each collection query of the operation runs (the index it reads, if any, and how much it read) instead of its documents.",
	Locations:   []string{graphql.DirectiveLocationQuery},
	Args: graphql.FieldConfigArgument{
		argExplainType: {Type: explainTypeEnum, Description: "simple (the default) or execute: both run the query."},
	},
})

// planKeys are the members of a query's plan, in the order an answer gives
// them.
var planKeys = []string{"collection", "index", "ranges", "reverse", "sorted", "grouped", "entriesRead", "docsRead", "results"}

// explainOp returns the operation of doc called name ("" for the only one)
// if it is a query with @explain, else nil.
func explainOp(doc *ast.Document, name string) *ast.OperationDefinition {
	od := operation(doc, name)
	if od == nil || od.Operation != ast.OperationTypeQuery {
		return nil
	}
	for _, dir := range od.Directives {
		if dir.Name != nil && dir.Name.Value == directiveExplain {
			return od
		}
	}
	return nil
}

// checkExplain refuses, before a request runs, a field of an operation
// with @explain that is not a collection query: @explain answers plans of
// collection queries only. (Collection names do not start with "_".)
func checkExplain(src *source.Source, doc *ast.Document) []gqlerrors.FormattedError {
	var errs []gqlerrors.FormattedError
	fr := fragmentsOf(doc)
	for _, d := range doc.Definitions {
		od, ok := d.(*ast.OperationDefinition)
		if !ok || explainOp(&ast.Document{Definitions: []ast.Node{od}}, "") == nil {
			continue // not a query with @explain
		}
		fr.fields(od.SelectionSet, func(f *ast.Field) {
			if strings.HasPrefix(f.Name.Value, "_") {
				pos := 0
				if f.Loc != nil {
					pos = f.Loc.Start
				}
				errs = append(errs, gqlerrors.FormatError(locatedError(src, pos,
					fmt.Sprintf("@explain explains collection queries, such as User(filter: …) { … }; %s is not one", f.Name.Value))))
			}
		})
	}
	return errs
}

// explainSelect answers, for @explain, the query field p resolves, of
// collection c: it runs the query as Explain does, keeps its plan in the
// request, under the field's response key, and answers no document.
func (r *request) explainSelect(p graphql.ResolveParams, c *gossipdb.Collection) (any, error) {
	if _, _, given, err := r.atArg(p); err != nil || given {
		if err == nil {
			err = fmt.Errorf("%w: @explain does not take %s: a document read at a block reads no index", gossipdb.ErrInvalid, argCID)
		}
		return nil, err
	}
	_, grouped, err := r.groupByArg(p)
	if err != nil {
		return nil, err
	}
	q, err := r.query(p, c)
	if err != nil {
		return nil, err
	}
	if grouped {
		q = gossipdb.Query{Filter: q.Filter, ShowDeleted: q.ShowDeleted} // what groups reads (see groups)
	}
	plan, err := c.Explain(r.ctx, q)
	if err != nil {
		return nil, err
	}
	var index any
	if plan.Index != "" {
		index = plan.Index
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.plans == nil {
		r.plans = map[string]any{}
	}
	r.plans[responseKey(p.Info.FieldASTs[0])] = map[string]any{
		"collection": c.Name(), "index": index, "ranges": int64(plan.Ranges),
		"reverse": plan.Reverse, "sorted": plan.Sorted, "grouped": grouped,
		"entriesRead": plan.EntriesRead, "docsRead": plan.DocsRead, "results": plan.Results,
	}
	return []any{}, nil
}

// explained returns the answer of an operation with @explain, op, whose
// plans r holds, and the order of its keys.
func explained(op *ast.OperationDefinition, doc *ast.Document, r *request) (map[string]any, *keyOrder) {
	top := &keyOrder{sub: map[string]*keyOrder{}}
	plan := &keyOrder{keys: planKeys}
	fragmentsOf(doc).fields(op.SelectionSet, func(f *ast.Field) {
		if key := responseKey(f); top.sub[key] == nil {
			top.keys = append(top.keys, key)
			top.sub[key] = plan
		}
	})
	plans := map[string]any{}
	for k, v := range r.plans {
		plans[k] = v
	}
	return map[string]any{explainKey: plans}, &keyOrder{keys: []string{explainKey}, sub: map[string]*keyOrder{explainKey: top}}
}
