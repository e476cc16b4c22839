package graphql

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/jsonsize"
)

// sourceName names the request in the parser's messages.
const sourceName = "GraphQL request"

// Executor answers GraphQL requests against one node. It is safe for
// concurrent use.
type Executor struct {
	n   *gossipdb.Node
	lim Limits

	noFast    bool // graphql-go executes every request (tests compare the two)
	maxSorted int  // the most documents sortRelated holds; 0 means gossipdb.MaxSortedResults (tests lower it)

	mu  sync.Mutex // serializes regeneration
	cur *generated // the schema of the collections last seen; guarded by mu
}

// New returns the executor of node n's requests. A nil lim means the default
// limits; the error names a field of lim that is out of range.
func New(n *gossipdb.Node, lim *Limits) (*Executor, error) {
	var l Limits
	if lim != nil {
		l = *lim
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	return &Executor{n: n, lim: l.withDefaults()}, nil
}

// Limits returns the limits the executor enforces, defaults filled in.
func (e *Executor) Limits() Limits { return e.lim }

// schema returns the schema of the node's current collections, generating it
// again when they changed since the last request.
func (e *Executor) schema() (*generated, error) {
	cols := e.n.Collections()
	key := schemaKey(cols)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && e.cur.key == key {
		return e.cur, nil
	}
	g, err := generate(cols)
	if err != nil {
		return nil, err
	}
	e.cur = g
	return g, nil
}

// Do runs one request. The answer holds data (if the request ran) and errors,
// each with its line and column in the request where it has one. ran is false
// when the request was refused before running (it does not parse, is invalid
// for the schema, its variables do not fit, or it is over a limit): an HTTP
// server answers that with 400 Bad Request. err is non-nil only when the node
// cannot make the schema of its collections.
func (e *Executor) Do(ctx context.Context, req client.GraphQLRequest) (resp client.GraphQLResponse, ran bool, err error) {
	ctx, cancel := withTimeLimit(ctx, e.lim)
	defer cancel()
	g, err := e.schema()
	if err != nil {
		return resp, false, err
	}
	v, errs := e.validate(g, req.Query)
	if errs != nil {
		resp, err := answer(nil, nil, false, errs)
		return resp, false, err
	}
	doc := v.doc
	if op := operation(doc, req.OperationName); op != nil && op.Operation == ast.OperationTypeSubscription {
		resp, err := answer(nil, nil, false, gqlerrors.FormatErrors(errSubscription))
		return resp, false, err
	} else if op := chosen(doc, req.OperationName); op != nil {
		errs := checkVariables(g, op, req.Variables)
		if errs == nil {
			doc, errs = keepNulls(g, doc, op, req.Variables)
		}
		if errs != nil {
			relocate(errs, req.Query)
			resp, err := answer(nil, nil, false, errs)
			return resp, false, err
		}
		req.Variables = withRequiredDefaults(op, req.Variables)
	}
	if v.fast != nil && !e.noFast {
		if data, ok := e.runFast(ctx, v.fast, req); ok {
			return client.GraphQLResponse{Data: data}, true, nil
		}
	}
	explain := explainOp(doc, req.OperationName)
	var r *request
	execute := func(tx *gossipdb.Txn) *graphql.Result {
		r = &request{e: e, raw: req.Variables, ctx: ctx, tx: tx, explain: explain != nil}
		// graphql-go returns as soon as its context ends, leaving the
		// resolvers running (in a mutation, on a transaction that has
		// ended). Given one that does not end, it returns once they have,
		// promptly: they stop when ctx ends (see bounded).
		return graphql.Execute(graphql.ExecuteParams{
			Schema:        g.schema,
			AST:           doc,
			OperationName: req.OperationName,
			Args:          req.Variables,
			Context:       context.WithValue(context.WithoutCancel(ctx), requestKey{}, r),
		})
	}
	var res *graphql.Result
	switch {
	case !isMutation(doc, req.OperationName):
		res = execute(nil)
	case singleCreate(doc, req.OperationName, req.Variables):
		// One document created is atomic by itself: without a transaction
		// its block is a plain one, where a transaction's would need a
		// seal, a second block (see gossipdb.Txn). An error once it is
		// created cannot undo it: the answer then keeps what it has.
		if res = execute(nil); len(res.Errors) > 0 && !r.created.Load() {
			res.Data = nil
		}
	default:
		// One transaction for all of the request's mutations: a field that
		// fails undoes them all, and the answer then has no data.
		err := e.n.Update(ctx, func(tx *gossipdb.Txn) error {
			if res = execute(tx); len(res.Errors) > 0 {
				return errMutationFailed
			}
			return nil
		})
		switch {
		case errors.Is(err, errMutationFailed):
			res.Data = nil
		case err != nil:
			res = &graphql.Result{Errors: []gqlerrors.FormattedError{gqlerrors.FormatError(cause(ctx, err))}}
		case len(r.pending) > 0:
			e.versions(ctx, g, doc, req, r, res)
		}
	}
	relocate(res.Errors, req.Query)
	if res.Data == nil && len(res.Errors) > 0 && r != nil && !r.started.Load() {
		// The operation did not start: no such operation, or variables that
		// do not fit their types. (Without r, the mutations' transaction did
		// not start: the request ran out of time, or the node is closing.)
		resp, err := answer(nil, nil, false, res.Errors)
		return resp, false, err
	}
	order := orderOf(doc, req.OperationName, req.Variables)
	if explain != nil && res.Data != nil && len(res.Errors) == 0 {
		res.Data, order = explained(explain, doc, r)
	}
	resp, err = answer(res.Data, order, true, res.Errors)
	return resp, err == nil, err
}

// validate returns the request of text query validated for g's schema, from
// g's cache or prepared and then cached, or the errors that refuse it.
func (e *Executor) validate(g *generated, query string) (*validated, []gqlerrors.FormattedError) {
	if v, ok := g.docs.get(query); ok {
		return v, nil
	}
	doc, errs := e.prepare(g, query)
	if errs != nil {
		return nil, errs
	}
	v := &validated{doc: doc, fast: planFast(g, doc)}
	g.docs.put(query, v)
	return v, nil
}

// prepare parses a request and validates it for g's schema and the limits. A
// request that makes graphql-go's parser or validator panic is refused with
// what the panic said.
func (e *Executor) prepare(g *generated, query string) (doc *ast.Document, errs []gqlerrors.FormattedError) {
	defer func() {
		if p := recover(); p != nil {
			doc, errs = nil, gqlerrors.FormatErrors(fmt.Errorf("cannot validate the request: %v", p))
		}
	}()
	if strings.TrimSpace(query) == "" {
		return nil, gqlerrors.FormatErrors(errors.New("no query: want {\"query\": \"{ … }\"}"))
	}
	if len(query) > MaxQuerySize {
		return nil, gqlerrors.FormatErrors(fmt.Errorf("the request is %d bytes, over the limit of %d: send large values as variables", len(query), MaxQuerySize))
	}
	body, nulls := rewriteNulls(blankComments([]byte(query)))
	src := source.NewSource(&source.Source{Body: body, Name: sourceName})
	located := func(err error) []gqlerrors.FormattedError {
		errs := gqlerrors.FormatErrors(err)
		relocate(errs, query)
		return errs
	}
	if err := checkNesting(src); err != nil {
		return nil, located(err)
	}
	doc, err := parser.Parse(parser.ParseParams{Source: src})
	if err != nil {
		return nil, located(inString(body, err))
	}
	if err := checkSize(src, doc, e.lim); err != nil {
		return nil, located(err)
	}
	if err := surrogatePairs(src, doc); err != nil {
		return nil, located(err)
	}
	src.Body = nil // see relocate
	if nulls {
		declareNull(doc)
	}
	if errs := append(graphql.ValidateDocument(&g.schema, doc, rules).Errors, checkMerge(doc)...); len(errs) > 0 {
		if nulls {
			errs = nullErrors(errs)
		}
		errs = plainSuggestions(unsupported(allowRequiredDefaults(errs), g.kinds))
		if len(errs) > 0 {
			relocate(errs, query)
			return nil, errs
		}
	}
	if errs := slices.Concat(checkGroups(src, doc), checkAt(src, doc), checkExplain(src, doc), checkSubscriptions(src, doc)); len(errs) > 0 {
		relocate(errs, query)
		return nil, errs
	}
	if err := checkIntrospection(&g.schema, doc, e.lim); err != nil {
		return nil, gqlerrors.FormatErrors(err)
	}
	return doc, nil
}

// relocate gives errs, graphql-go's errors about a parsed request of text
// query, their lines and columns. graphql-go locates an error when it makes it,
// by scanning the source's text from its start: a request that makes an error
// of each of its tokens (65,000 spreads of an unknown fragment fit in
// MaxQuerySize) took minutes of CPU. So prepare leaves the parsed request's
// source without text, graphql-go then places every error at line 1, column
// offset+1, and relocate turns the offsets into lines and columns, in one
// pass over query. An error located before that (a syntax error, one of the
// limits) has its line, and a column counted in bytes. Columns are counted in
// characters, as an editor counts them (and graphql-js, in all of Unicode's
// first plane): graphql-go counted bytes, so an error after "é" on its line
// stood a column too far right.
func relocate(errs []gqlerrors.FormattedError, query string) {
	var starts, ends []int // of each line break: \r\n, \n or \r
	for i := 0; i < len(query); i++ {
		switch {
		case query[i] == '\r' && i+1 < len(query) && query[i+1] == '\n':
			starts, ends = append(starts, i), append(ends, i+2)
			i++
		case query[i] == '\n' || query[i] == '\r':
			starts, ends = append(starts, i), append(ends, i+1)
		}
	}
	type at struct{ e, l, pos int }
	var all []at
	for i, e := range errs {
		for j, l := range e.Locations {
			pos := l.Column - 1
			if l.Line > 1 && l.Line-2 < len(ends) {
				pos += ends[l.Line-2]
			}
			all = append(all, at{i, j, min(pos, len(query))})
		}
	}
	slices.SortFunc(all, func(a, b at) int { return cmp.Compare(a.pos, b.pos) })
	// One pass: the line breaks before cursor, and the characters from the
	// start of its line to it.
	cursor, breaks, chars := 0, 0, 0
	for _, a := range all {
		for cursor < a.pos {
			if breaks < len(starts) && cursor == starts[breaks] {
				cursor, breaks, chars = ends[breaks], breaks+1, 0
				continue
			}
			_, n := utf8.DecodeRuneInString(query[cursor:])
			cursor, chars = cursor+n, chars+1
		}
		errs[a.e].Locations[a.l].Line, errs[a.e].Locations[a.l].Column = 1+breaks, chars+1
	}
}

// answer converts graphql-go's result to the wire form: data, if the request
// ran, its objects' keys in order o, and errors.
func answer(data any, o *keyOrder, ran bool, errs []gqlerrors.FormattedError) (client.GraphQLResponse, error) {
	var resp client.GraphQLResponse
	if ran {
		b, err := appendJSON(nil, data, o)
		if err != nil {
			return resp, fmt.Errorf("cannot encode the answer: %w", err)
		}
		resp.Data = b
	}
	// graphql-go resolves a query's fields in the order of a map: the errors of
	// several fields come in the order they stand in the request instead, the
	// same every time (errors without a location first, in their order).
	slices.SortStableFunc(errs, func(a, b gqlerrors.FormattedError) int {
		return cmp.Or(cmp.Compare(errorLine(a), errorLine(b)), cmp.Compare(errorColumn(a), errorColumn(b)))
	})
	for _, fe := range errs {
		out := client.GraphQLError{Message: message(fe.Message), Path: fe.Path}
		for _, l := range fe.Locations {
			out.Locations = append(out.Locations, client.GraphQLLocation{Line: l.Line, Column: l.Column})
		}
		resp.Errors = append(resp.Errors, out)
	}
	return resp, nil
}

// errorLine and errorColumn are where an error's first location is, 0 for none.
func errorLine(e gqlerrors.FormattedError) int {
	if len(e.Locations) == 0 {
		return 0
	}
	return e.Locations[0].Line
}

func errorColumn(e gqlerrors.FormattedError) int {
	if len(e.Locations) == 0 {
		return 0
	}
	return e.Locations[0].Column
}

// message cleans a graphql-go message: a syntax error's excerpt of the request
// (its locations say where) and its "GraphQL request (1:2)" prefix go.
func message(m string) string {
	if i := strings.Index(m, "\n\n"); i >= 0 {
		m = m[:i]
	}
	if rest, ok := strings.CutPrefix(m, "Syntax Error "+sourceName+" ("); ok {
		if i := strings.Index(rest, ") "); i >= 0 {
			m = "syntax error: " + rest[i+2:]
		}
	}
	return m
}

// requestKey is the context key of the running request.
type requestKey struct{}

// request is the state of one running request that its resolvers share.
type request struct {
	e       *Executor
	ctx     context.Context
	tx      *gossipdb.Txn  // a mutation's transaction; nil in a query
	raw     map[string]any // the variables as sent, nulls kept
	started atomic.Bool    // a resolver ran

	varsOnce sync.Once
	vars     map[string]any // raw, plus the defaults of those not sent

	mu      sync.Mutex
	size    int              // bytes of documents in the answer so far
	pending []pendingVersion // a mutation's _version lists, read once it has committed
	created atomic.Bool      // a create without a transaction wrote its document (see singleCreate)
	changed gossipdb.DocID   // in a subscription, the document whose change it answers; "" to check its arguments
	explain bool             // the operation has @explain: query fields keep their plans in plans
	plans   map[string]any   // by response key, the plans of an operation with @explain
}

// from returns the request that p belongs to.
func from(p graphql.ResolveParams) *request {
	r := p.Context.Value(requestKey{}).(*request)
	r.started.Store(true)
	return r
}

// collection returns the collection a resolver serves.
func (r *request) collection(name string) (*gossipdb.Collection, error) {
	return r.e.n.Collection(name)
}

// charge adds a document to the answer's size, failing once the answer is over
// the limit, and drops from doc the values no field of shape reads (those a
// filter or an order needed are tested by then), so that the answer holds only
// what it counted. The document counts its ID and the values it keeps once, a
// value once more for each further place shape selects it, and the response
// keys of those places: a request that selects a large field under many
// aliases pays for each copy its answer holds, one that does not select it
// pays nothing for it.
func (r *request) charge(doc map[string]any, shape docShape) error {
	n := shape.keys
	for k, v := range doc {
		times := shape.times[k]
		if times == 0 && !shape.reads[k] && k != client.DocIDKey && k != fieldDeleted {
			delete(doc, k)
			continue
		}
		n += len(k) + jsonsize.Value(v)*max(1, times)
	}
	return r.grow(n)
}

// grow adds n bytes to the answer's size, failing once the answer is over the
// limit.
func (r *request) grow(n int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.size += n
	if r.size > r.e.lim.MaxResultSize {
		return fmt.Errorf("the answer is larger than the limit of %d bytes: ask for fewer documents (limit, offset), fewer fields or fewer requests at once", r.e.lim.MaxResultSize)
	}
	return nil
}

// docShape is what each document of a field's answer holds: how many times
// the field's selection holds each of the document's fields (under distinct
// response keys: aliases, fragments included), the length of those response
// keys together, and the fields that selected fields read besides their own
// (the ID author holds, for _authorID; a list, for an aggregate over it).
type docShape struct {
	times map[string]int
	keys  int
	reads map[string]bool
}

// shapeOf returns the shape of the documents of the field p resolves.
func shapeOf(p graphql.ResolveParams) docShape {
	s := docShape{times: map[string]int{}, reads: map[string]bool{}}
	seen := map[string]bool{} // response keys
	fr := fragmentsFrom(p.Info.Fragments)
	for _, f := range p.Info.FieldASTs {
		fr.fields(f.SelectionSet, func(sel *ast.Field) {
			if key := responseKey(sel); !seen[key] {
				seen[key] = true
				s.times[sel.Name.Value]++
				s.keys += len(key)
			}
			// More than is read, at times: a field that is not kept is
			// not counted, so none may be missing.
			if name, ok := strings.CutPrefix(sel.Name.Value, "_"); ok {
				if name, ok := strings.CutSuffix(name, "ID"); ok {
					s.reads[name] = true
				}
			}
			for _, a := range sel.Arguments {
				if a.Name != nil {
					s.reads[a.Name.Value] = true
				}
			}
		})
	}
	return s
}

// variables returns the request's variables as sent, with their nulls, plus the
// default values of the operation's variables that were not sent.
func (r *request) variables(op ast.Definition) map[string]any {
	r.varsOnce.Do(func() {
		r.vars = make(map[string]any, len(r.raw)+1)
		for k, v := range r.raw {
			r.vars[k] = v
		}
		r.vars[nullVar] = nil // a null of the request (see rewriteNulls)
		if od, ok := op.(*ast.OperationDefinition); ok {
			for _, vd := range od.VariableDefinitions {
				if vd.Variable == nil || vd.Variable.Name == nil || vd.DefaultValue == nil {
					continue
				}
				if _, ok := r.vars[vd.Variable.Name.Value]; !ok {
					r.vars[vd.Variable.Name.Value] = literal(vd.DefaultValue, nil)
				}
			}
		}
	})
	return r.vars
}

// arg returns the value of the argument called name of the field being
// resolved, as plain Go values (see literal), and whether it was given.
// Arguments are read from the request itself rather than from graphql-go's
// coerced values, which drop nulls inside objects (a null in a filter or an
// input means "absent", and clears a field); a single value where the schema
// wants a list is a list of one (see asLists).
func (r *request) arg(p graphql.ResolveParams, name string) (any, bool) {
	if len(p.Info.FieldASTs) == 0 {
		return nil, false
	}
	for _, a := range p.Info.FieldASTs[0].Arguments {
		if a.Name != nil && a.Name.Value == name {
			t := argType(p, name)
			if v, ok := a.Value.(*ast.Variable); ok {
				val, given := r.variables(p.Info.Operation)[v.Name.Value]
				return asLists(t, val), given
			}
			return asLists(t, literal(a.Value, r.variables(p.Info.Operation))), true
		}
	}
	return nil, false
}

// argType returns the type of the argument called name of the field p
// resolves, nil if the schema has none.
func argType(p graphql.ResolveParams, name string) graphql.Type {
	parent, ok := p.Info.ParentType.(*graphql.Object)
	if !ok {
		return nil
	}
	def := parent.Fields()[p.Info.FieldName]
	if def == nil {
		return nil
	}
	for _, a := range def.Args {
		if a.Name() == name {
			return a.Type
		}
	}
	return nil
}

// asLists returns v, a value of type t, with each value that is not a list
// where t has a list made a list of that one value, as GraphQL's input
// coercion does: _or: {…} is _or: [{…}], _in: "Ada" is _in: ["Ada"]. Null
// stays null. v is not changed: the lists and input objects of the value
// returned are new.
func asLists(t graphql.Type, v any) any {
	if nn, ok := t.(*graphql.NonNull); ok {
		t = nn.OfType
	}
	if v == nil {
		return nil
	}
	switch t := t.(type) {
	case *graphql.List:
		l, ok := v.([]any)
		if !ok {
			return []any{asLists(t.OfType, v)}
		}
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = asLists(t.OfType, e)
		}
		return out
	case *graphql.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		fields := t.Fields()
		out := make(map[string]any, len(m))
		for k, e := range m {
			if f := fields[k]; f != nil {
				e = asLists(f.Type, e)
			}
			out[k] = e
		}
		return out
	}
	return v
}

// literal converts a value of the request to plain Go values: numbers as
// json.Number (the collection's field kind decides what they become), strings,
// booleans, enum values as their names, lists as []any and objects as
// map[string]any. A variable takes its value from vars; an unknown one is nil,
// except as the value of an object's field: GraphQL leaves such a field out, so
// an update's input that names a variable the request did not send leaves its
// field as it is, and a filter's operator on it is no condition.
func literal(v ast.Value, vars map[string]any) any {
	switch v := v.(type) {
	case *ast.Variable:
		if v.Name == nil {
			return nil
		}
		return vars[v.Name.Value]
	case *ast.IntValue:
		return json.Number(v.Value)
	case *ast.FloatValue:
		return json.Number(v.Value)
	case *ast.StringValue:
		return v.Value
	case *ast.BooleanValue:
		return v.Value
	case *ast.EnumValue:
		return v.Value
	case *ast.ListValue:
		out := make([]any, len(v.Values))
		for i, e := range v.Values {
			out[i] = literal(e, vars)
		}
		return out
	case *ast.ObjectValue:
		out := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			if f.Name == nil || !sent(f.Value, vars) {
				continue
			}
			out[f.Name.Value] = literal(f.Value, vars)
		}
		return out
	}
	return nil
}

// sent reports whether v is a value of the request: anything but a variable
// the request did not send and gave no default (see request.variables). A
// null of the request (see rewriteNulls) is sent.
func sent(v ast.Value, vars map[string]any) bool {
	x, ok := v.(*ast.Variable)
	if !ok || x.Name == nil || x.Name.Value == nullVar {
		return true
	}
	_, ok = vars[x.Name.Value]
	return ok
}

// errMutationFailed undoes the transaction of a request whose mutations had
// errors.
var errMutationFailed = errors.New("graphql: a mutation failed")

// singleCreate reports whether the operation called name (the only one if
// "") is a mutation that creates one document and does nothing else: its one
// field is a create_ (or add_) whose input is an object, written in the request or
// given by a variable of vars.
func singleCreate(doc *ast.Document, name string, vars map[string]any) bool {
	od := operation(doc, name)
	if od == nil || od.Operation != ast.OperationTypeMutation || od.SelectionSet == nil || len(od.SelectionSet.Selections) != 1 {
		return false
	}
	f, ok := od.SelectionSet.Selections[0].(*ast.Field)
	if !ok || f.Name == nil || !(strings.HasPrefix(f.Name.Value, prefixCreate) || strings.HasPrefix(f.Name.Value, prefixAdd)) || len(f.Directives) > 0 {
		return false
	}
	for _, a := range f.Arguments {
		if a.Name == nil || a.Name.Value != argInput {
			continue
		}
		switch v := a.Value.(type) {
		case *ast.ObjectValue:
			return true
		case *ast.Variable:
			if v.Name == nil {
				return false
			}
			_, isObject := vars[v.Name.Value].(map[string]any)
			return isObject
		}
	}
	return false
}

// isMutation reports whether the operation of doc that a request runs (the one
// named name, or the only one) is a mutation.
func isMutation(doc *ast.Document, name string) bool {
	od := operation(doc, name)
	return od != nil && od.Operation == ast.OperationTypeMutation
}
