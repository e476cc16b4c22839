package graphql

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/source"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// errSubscription refuses a subscription sent to Do.
var errSubscription = errors.New("a subscription answers a stream of responses, one per change, not one answer: run it with Subscribe")

// Subscribe runs a subscription, subscription { User(filter: …, docID: […]) { … } }:
// for each document of the collection created or updated (here, or by a peer
// whose change merges here) from the time Subscribe returns, it runs the
// field's selection as a query of that one document, with the field's filter
// and docID, and answers {"data": {"User": [{…}]}} when the document matches.
// Deletes answer nothing, nor does a change after which the document does not
// match. Each answer is bounded as a query's is (Limits.MaxResultSize,
// Limits.MaxDuration); one over them holds the error instead.
//
// It follows the collection with gossipdb.Collection.Watch: when the reader
// falls behind by more than Options.WatchBuffer changes, the ones past it
// are dropped, and the reader is then answered one response without data
// whose error says how many changes it missed; it goes on after that.
//
// The request is refused as Do refuses one, with the response that says why
// (answers then nil): it does not validate, its operation is not a
// subscription, it selects more than one root field, or its arguments or
// variables do not fit. err is non-nil only when the node cannot make the
// schema or watch the collection (it is closed). The collection is watched
// from when Subscribe returns until ctx ends, the node closes, or the range
// over answers stops: range over it once. Each change costs a query that
// names its one document, which reads that document alone. It is safe for
// concurrent use.
func (e *Executor) Subscribe(ctx context.Context, req client.GraphQLRequest) (answers iter.Seq[client.GraphQLResponse], refused client.GraphQLResponse, err error) {
	g, err := e.schema()
	if err != nil {
		return nil, refused, err
	}
	v, errs := e.validate(g, req.Query)
	var doc *ast.Document
	if errs == nil {
		doc = v.doc
		switch op := operation(v.doc, req.OperationName); {
		case op == nil && req.OperationName != "":
			errs = gqlerrors.FormatErrors(fmt.Errorf("Unknown operation named %q.", req.OperationName))
		case op == nil:
			errs = gqlerrors.FormatErrors(errors.New("Must provide an operation."))
		case op.Operation != ast.OperationTypeSubscription:
			errs = gqlerrors.FormatErrors(fmt.Errorf("the %s operation is not a subscription: send it as a request that is answered once", op.Operation))
		case chosen(v.doc, req.OperationName) != nil:
			if errs = checkVariables(g, op, req.Variables); errs == nil {
				doc, errs = keepNulls(g, doc, op, req.Variables)
			}
			if errs != nil {
				relocate(errs, req.Query)
			}
			req.Variables = withRequiredDefaults(op, req.Variables)
		}
	}
	if errs != nil {
		refused, err = answer(nil, nil, false, errs)
		return nil, refused, err
	}
	// Run it once before any change, which reads no document: graphql-go then
	// checks the variables and the resolver the field's arguments.
	res, _ := e.runChange(ctx, g, doc, req, "")
	if len(res.Errors) > 0 {
		refused, err = answer(nil, nil, false, res.Errors)
		return nil, refused, err
	}
	var name string
	fragmentsOf(doc).fields(operation(doc, req.OperationName).SelectionSet, func(f *ast.Field) { name = f.Name.Value })
	c, err := e.n.Collection(name)
	if err != nil {
		return nil, refused, err
	}
	wctx, cancel := context.WithCancel(ctx)
	events, err := c.Watch(wctx)
	if err != nil {
		cancel()
		return nil, refused, err
	}
	order := orderOf(doc, req.OperationName, req.Variables)
	return func(yield func(client.GraphQLResponse) bool) {
		defer cancel()
		for ev := range events {
			var resp client.GraphQLResponse
			switch ev.Type {
			case gossipdb.EventDropped:
				resp.Errors = []client.GraphQLError{{Message: fmt.Sprintf("%d changes of %s were missed: this subscription's reader fell behind; read the documents again", ev.Dropped, name)}}
			case gossipdb.EventCreated, gossipdb.EventUpdated:
				res, found := e.runChange(wctx, g, doc, req, ev.DocID)
				if wctx.Err() != nil {
					return
				}
				if !found && len(res.Errors) == 0 {
					continue
				}
				var err error
				if resp, err = answer(res.Data, order, true, res.Errors); err != nil {
					resp = client.GraphQLResponse{Errors: []client.GraphQLError{{Message: err.Error()}}}
				}
			default:
				continue
			}
			if !yield(resp) {
				return
			}
		}
	}, refused, nil
}

// IsSubscription reports whether req is a valid request whose operation is a
// subscription, which Subscribe runs and Do refuses. It is safe for
// concurrent use.
func (e *Executor) IsSubscription(req client.GraphQLRequest) bool {
	g, err := e.schema()
	if err != nil {
		return false
	}
	v, errs := e.validate(g, req.Query)
	if errs != nil {
		return false
	}
	op := operation(v.doc, req.OperationName)
	return op != nil && op.Operation == ast.OperationTypeSubscription
}

// runChange runs the subscription doc for the change of document id, within
// the limits of a request; found reports whether the answer holds a
// document. With id "" it reads nothing and answers an empty list.
func (e *Executor) runChange(ctx context.Context, g *generated, doc *ast.Document, req client.GraphQLRequest, id gossipdb.DocID) (res *graphql.Result, found bool) {
	ctx, cancel := withTimeLimit(ctx, e.lim)
	defer cancel()
	r := &request{e: e, raw: req.Variables, ctx: ctx, changed: id}
	res = graphql.Execute(graphql.ExecuteParams{
		Schema:        g.schema,
		AST:           doc,
		OperationName: req.OperationName,
		Args:          req.Variables,
		Context:       context.WithValue(context.WithoutCancel(ctx), requestKey{}, r), // see Do
	})
	relocate(res.Errors, req.Query)
	data, _ := res.Data.(map[string]any)
	for _, v := range data {
		if l, ok := v.([]any); ok && len(l) > 0 {
			found = true
		}
	}
	return res, found
}

// resolveSubscribed resolves the subscription field of collection name: the
// changed document of the running request if it matches the field's filter
// and docID. Without one, it checks the arguments and answers an empty list.
func resolveSubscribed(name string) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (any, error) {
		r := from(p)
		c, err := r.collection(name)
		if err != nil {
			return nil, err
		}
		f, err := r.filter(p, c)
		if err != nil || r.changed == "" {
			return []any{}, err
		}
		q := gossipdb.Query{Filter: gossipdb.Filter{opAnd: []any{f, gossipdb.Filter{client.DocIDKey: map[string]any{"_eq": string(r.changed)}}}}}
		return r.selectDocs(c, q, shapeOf(p))
	}
}

// operation returns the operation of doc a request runs: the one named name,
// or the only one if name is ""; nil if there is none.
func operation(doc *ast.Document, name string) *ast.OperationDefinition {
	for _, d := range doc.Definitions {
		if od, ok := d.(*ast.OperationDefinition); ok && (name == "" || od.Name != nil && od.Name.Value == name) {
			return od
		}
	}
	return nil
}

// chosen returns the operation of doc a request with operationName name runs:
// the one of that name, or without a name the only one; nil when there is no
// such operation, or several and no name to choose one (graphql-go then
// answers why).
func chosen(doc *ast.Document, name string) *ast.OperationDefinition {
	if name == "" {
		n := 0
		for _, d := range doc.Definitions {
			if _, ok := d.(*ast.OperationDefinition); ok {
				n++
			}
		}
		if n != 1 {
			return nil
		}
	}
	return operation(doc, name)
}

// checkSubscriptions refuses, before a request runs, a subscription that
// does not select exactly one root field (fragments expanded), as the
// GraphQL specification asks, or that selects __typename: a subscription
// follows one collection.
func checkSubscriptions(src *source.Source, doc *ast.Document) []gqlerrors.FormattedError {
	var errs []gqlerrors.FormattedError
	fr := fragmentsOf(doc)
	for _, d := range doc.Definitions {
		od, ok := d.(*ast.OperationDefinition)
		if !ok || od.Operation != ast.OperationTypeSubscription {
			continue
		}
		keys := map[string]bool{}
		typename := false
		fr.fields(od.SelectionSet, func(f *ast.Field) {
			keys[responseKey(f)] = true
			typename = typename || f.Name.Value == "__typename"
		})
		pos := 0
		if od.Loc != nil {
			pos = od.Loc.Start
		}
		switch {
		case len(keys) != 1:
			errs = append(errs, gqlerrors.FormatError(locatedError(src, pos,
				fmt.Sprintf("a subscription selects exactly one root field, one collection such as User(filter: …) { … }; this one selects %d", len(keys)))))
		case typename:
			errs = append(errs, gqlerrors.FormatError(locatedError(src, pos,
				"a subscription selects one collection such as User(filter: …) { … }, not __typename")))
		}
	}
	return errs
}
