package graphql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/gossipdb/gossipdb/client"
)

// The fast path (see the package doc, # Execution): planFast decides once per
// validated request whether runFast answers it, and runFast writes the answer
// graphql-go would give, or leaves the request to graphql-go, which then runs
// it from the start. What runFast leaves: an operation name that does not match,
// variables graphql-go would refuse (validInput), and any error while it runs
// (a resolver's error, a panic, a null in a non-null field, a value that does
// not encode).

// fastPlan is how runFast answers one validated query.
type fastPlan struct {
	op     *ast.OperationDefinition
	query  *graphql.Object // the schema's Query type, the fields' parent
	name   string          // the operation's name, or ""
	vars   []fastVar
	fields []fastField  // in the order of their response keys in the answer (see keyOrder)
	size   atomic.Int64 // the length of the last answer, to size the next one's buffer
}

// fastVar is one variable the operation declares, with its type.
type fastVar struct {
	name string
	typ  graphql.Input
	def  *ast.VariableDefinition
}

// fastField is one top-level field: a collection query (leaves non-nil) or an
// aggregate (a scalar).
type fastField struct {
	rkey    string // the response key
	key     []byte // rkey as JSON, with its colon
	asts    []*ast.Field
	name    string
	resolve graphql.FieldResolveFn
	leaves  []fastLeaf // a collection query's fields of each document
	scalar  *graphql.Scalar
	nonNull bool
}

// fastLeaf is one scalar field of a document.
type fastLeaf struct {
	rkey    string
	key     []byte
	name    string
	scalar  *graphql.Scalar
	nonNull bool
}

// planFast returns the plan of doc, a validated request, or nil if runFast does
// not answer it.
func planFast(g *generated, doc *ast.Document) *fastPlan {
	if len(doc.Definitions) != 1 {
		return nil
	}
	op, ok := doc.Definitions[0].(*ast.OperationDefinition)
	if !ok || op.Operation != ast.OperationTypeQuery || len(op.Directives) > 0 || op.SelectionSet == nil {
		return nil
	}
	p := &fastPlan{op: op}
	if op.Name != nil {
		p.name = op.Name.Value
	}
	for _, vd := range op.VariableDefinitions {
		if vd == nil || vd.Variable == nil || vd.Variable.Name == nil {
			return nil
		}
		t := inputType(g, vd.Type)
		if t == nil {
			return nil
		}
		p.vars = append(p.vars, fastVar{name: vd.Variable.Name.Value, typ: t, def: vd})
	}
	query := g.schema.QueryType()
	if query == nil {
		return nil
	}
	p.query = query
	seen := map[string]bool{}
	for _, sel := range op.SelectionSet.Selections {
		f, ok := sel.(*ast.Field)
		if !ok || !plain(f) {
			return nil
		}
		key := responseKey(f)
		if seen[key] {
			return nil // graphql-go merges the two
		}
		if slices.ContainsFunc(f.Arguments, func(a *ast.Argument) bool { return a.Name != nil && a.Name.Value == argGroupBy }) {
			return nil // its answer is groups, not documents
		}
		if f.Name.Value == fieldCommits {
			return nil // its answer is commits, not documents
		}
		seen[key] = true
		def := query.Fields()[f.Name.Value]
		if def == nil || def.Resolve == nil {
			return nil
		}
		ff := fastField{rkey: key, key: jsonKey(key), asts: []*ast.Field{f}, name: f.Name.Value, resolve: def.Resolve}
		if s, nonNull := scalarType(def.Type); s != nil {
			if f.SelectionSet != nil {
				return nil
			}
			ff.scalar, ff.nonNull = s, nonNull
		} else if ff.leaves = planLeaves(def.Type, f); ff.leaves == nil {
			return nil
		}
		p.fields = append(p.fields, ff)
	}
	if len(p.fields) == 0 {
		return nil
	}
	return p
}

// planLeaves returns the leaves of f, a field of type [C!]! where C is a
// collection's object type, or nil if a selection is not a plain scalar field.
func planLeaves(t graphql.Output, f *ast.Field) []fastLeaf {
	nn, ok := t.(*graphql.NonNull)
	if !ok {
		return nil
	}
	list, ok := nn.OfType.(*graphql.List)
	if !ok {
		return nil
	}
	item, ok := list.OfType.(*graphql.NonNull)
	if !ok {
		return nil
	}
	obj, ok := item.OfType.(*graphql.Object)
	if !ok || f.SelectionSet == nil || len(f.SelectionSet.Selections) == 0 {
		return nil
	}
	var leaves []fastLeaf
	byKey := map[string]string{}
	for _, sel := range f.SelectionSet.Selections {
		sf, ok := sel.(*ast.Field)
		if !ok || !plain(sf) || sf.SelectionSet != nil || len(sf.Arguments) > 0 {
			return nil
		}
		if sf.Name.Value != client.DocIDKey && strings.HasPrefix(sf.Name.Value, "_") {
			return nil // _authorID, which is not the document's own field
		}
		key := responseKey(sf)
		if name, ok := byKey[key]; ok {
			if name != sf.Name.Value {
				return nil
			}
			continue // graphql-go answers it once
		}
		byKey[key] = sf.Name.Value
		def := obj.Fields()[sf.Name.Value]
		if def == nil {
			return nil
		}
		s, nonNull := scalarType(def.Type)
		if s == nil {
			return nil
		}
		leaves = append(leaves, fastLeaf{rkey: key, key: jsonKey(key), name: sf.Name.Value, scalar: s, nonNull: nonNull})
	}
	return leaves
}

// plain reports whether f is a field without directives that is not
// introspection (__typename, __schema, __type).
func plain(f *ast.Field) bool {
	return f.Name != nil && len(f.Directives) == 0 && (len(f.Name.Value) < 2 || f.Name.Value[:2] != "__") &&
		(f.Alias == nil || f.Alias.Value != "")
}

// responseKey is the key of f's value in the answer: its alias, if it has
// one, else its name.
func responseKey(f *ast.Field) string {
	if f.Alias != nil && f.Alias.Value != "" {
		return f.Alias.Value
	}
	return f.Name.Value
}

// jsonKey is key as a JSON object key, with its colon.
func jsonKey(key string) []byte { return append(appendString(nil, key), ':') }

// scalarType returns the scalar of t, if t is a scalar or a non-null one.
func scalarType(t graphql.Output) (s *graphql.Scalar, nonNull bool) {
	if nn, ok := t.(*graphql.NonNull); ok {
		t, nonNull = nn.OfType, true
	}
	s, _ = t.(*graphql.Scalar)
	return s, nonNull
}

// inputType returns the input type that t names in g's schema, or nil.
func inputType(g *generated, t ast.Type) graphql.Input {
	switch t := t.(type) {
	case *ast.Named:
		if t.Name == nil {
			return nil
		}
		in, _ := g.schema.Type(t.Name.Value).(graphql.Input)
		return in
	case *ast.List:
		if of := inputType(g, t.Type); of != nil {
			return graphql.NewList(of)
		}
	case *ast.NonNull:
		if of := inputType(g, t.Type); of != nil {
			return graphql.NewNonNull(of)
		}
	}
	return nil
}

// errNotFast says that graphql-go must answer the request.
var errNotFast = errors.New("graphql: not for the fast path")

// runFast answers a query planned by planFast: the JSON of the answer's data,
// and true; or false, and graphql-go must answer it.
func (e *Executor) runFast(ctx context.Context, p *fastPlan, req client.GraphQLRequest) ([]byte, bool) {
	data, err := e.fast(ctx, p, req)
	return data, err == nil
}

// fast runs p. Its error is the reason graphql-go must answer instead:
// errNotFast, or what a resolver returned.
func (e *Executor) fast(ctx context.Context, p *fastPlan, req client.GraphQLRequest) (out []byte, err error) {
	if req.OperationName != "" && req.OperationName != p.name || ctx.Err() != nil {
		return nil, errNotFast
	}
	for _, v := range p.vars {
		if !validInput(req.Variables[v.name], v.typ) {
			return nil, errNotFast
		}
	}
	defer func() {
		if x := recover(); x != nil {
			out, err = nil, fmt.Errorf("%w: panic: %v", errNotFast, x)
		}
	}()
	r := &request{e: e, raw: req.Variables, ctx: ctx}
	rctx := context.WithValue(ctx, requestKey{}, r)
	out = make([]byte, 0, p.size.Load()+64)
	out = append(out, '{')
	for i := range p.fields {
		f := &p.fields[i]
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, f.key...)
		rp := graphql.ResolveParams{Context: rctx, Info: graphql.ResolveInfo{
			FieldName: f.name, FieldASTs: f.asts, Operation: p.op, ParentType: p.query}}
		if f.leaves != nil {
			rp.Args = p.pageArgs(f.asts[0], req.Variables)
		}
		v, err := f.resolve(rp)
		if err != nil {
			return nil, err
		}
		if f.leaves == nil {
			if out, err = appendLeaf(out, v, f.scalar, f.nonNull); err != nil {
				return nil, err
			}
			continue
		}
		docs, ok := v.([]any)
		if !ok {
			return nil, errNotFast
		}
		out = append(out, '[')
		for j, d := range docs {
			doc, ok := d.(map[string]any)
			if !ok {
				return nil, errNotFast
			}
			if j > 0 {
				out = append(out, ',')
			}
			out = append(out, '{')
			for k := range f.leaves {
				l := &f.leaves[k]
				if k > 0 {
					out = append(out, ',')
				}
				out = append(out, l.key...)
				if out, err = appendLeaf(out, doc[l.name], l.scalar, l.nonNull); err != nil {
					return nil, err
				}
			}
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	out = append(out, '}')
	p.size.Store(int64(len(out)))
	return out, nil
}

// appendLeaf appends v, the value of a field of scalar s, as graphql-go
// completes it (the scalar's Serialize; a nullish result is null) and
// appendJSON writes it. A null in a non-null field is an error of graphql-go's.
func appendLeaf(dst []byte, v any, s *graphql.Scalar, nonNull bool) ([]byte, error) {
	// The common cases, which Serialize returns unchanged.
	switch v := v.(type) {
	case string:
		if s == graphql.String || s == graphql.ID || s == dateTimeScalar {
			return appendString(dst, v), nil
		}
	case int64:
		if s == intScalar {
			return strconv.AppendInt(dst, v, 10), nil
		}
	case float64:
		if s == floatScalar && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return appendFloat(dst, v), nil
		}
	case bool:
		if s == graphql.Boolean {
			return strconv.AppendBool(dst, v), nil
		}
	}
	if v != nil {
		v = s.Serialize(v)
	}
	if nullish(v) {
		if nonNull {
			return nil, errNotFast
		}
		return append(dst, "null"...), nil
	}
	out, err := appendJSON(dst, v, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotFast, err)
	}
	return out, nil
}

// pageArgs returns the arguments limit and offset of f, a collection query, as
// graphql-go's getArgumentValues gives them to the resolver (the others the
// resolver reads from the request itself): an Int literal parsed, a variable's
// value coerced, or its default value if it is null or not sent.
func (p *fastPlan) pageArgs(f *ast.Field, vars map[string]any) map[string]any {
	var args map[string]any
	for _, a := range f.Arguments {
		if a.Name == nil || (a.Name.Value != argLimit && a.Name.Value != argOffset) {
			continue
		}
		var v any
		switch val := a.Value.(type) {
		case *ast.IntValue:
			v = parseIntLiteral(val)
		case *ast.Variable:
			v = p.intVariable(val, vars)
		}
		if !nullish(v) {
			if args == nil {
				args = make(map[string]any, 2)
			}
			args[a.Name.Value] = v
		}
	}
	return args
}

// intVariable returns the value graphql-go gives variable v where an Int is
// expected: coerced if the operation declares it an Int, else nothing that
// reads as an Int.
func (p *fastPlan) intVariable(v *ast.Variable, vars map[string]any) any {
	if v.Name == nil {
		return nil
	}
	for _, fv := range p.vars {
		if fv.name != v.Name.Value {
			continue
		}
		t := fv.typ
		if nn, ok := t.(*graphql.NonNull); ok {
			t = nn.OfType
		}
		if t != graphql.Input(intScalar) {
			return nil
		}
		in, sent := vars[fv.name]
		if !sent {
			if iv, ok := fv.def.DefaultValue.(*ast.IntValue); ok {
				return parseIntLiteral(iv)
			}
			return nil
		}
		if nullish(in) {
			return nil // a null sent is the value, not the default (see keepNulls)
		}
		return parseIntValue(in)
	}
	return nil
}

// nullish is graphql-go's isNullish: nil, a nil pointer, NaN.
func nullish(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string, bool, int64, map[string]any, []any:
		return false
	case float64:
		return math.IsNaN(v)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return true
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.IsNaN(rv.Float())
	}
	return false
}

// validInput reports whether graphql-go's isValidInputValue accepts v, a
// variable's value, for type t. It is never more lenient: a value of a Go type
// that JSON does not decode to is not valid here (graphql-go then decides).
func validInput(v any, t graphql.Input) bool {
	if nullish(v) {
		_, nonNull := t.(*graphql.NonNull)
		return !nonNull
	}
	switch t := t.(type) {
	case *graphql.NonNull:
		return validInput(v, t.OfType)
	case *graphql.List:
		if list, ok := v.([]any); ok {
			for _, e := range list {
				if !validInput(e, t.OfType) {
					return false
				}
			}
			return true
		}
		if reflect.ValueOf(v).Kind() == reflect.Slice || reflect.ValueOf(v).Kind() == reflect.Pointer {
			return false
		}
		return validInput(v, t.OfType)
	case *graphql.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		fields := t.Fields()
		for k := range m {
			if _, ok := fields[k]; !ok {
				return false
			}
		}
		for name, f := range fields {
			if !validInput(m[name], f.Type) {
				return false
			}
		}
		return true
	case *graphql.Scalar:
		return !nullish(t.ParseValue(v))
	case *graphql.Enum:
		return !nullish(t.ParseValue(v))
	}
	return false
}
