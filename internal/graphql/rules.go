package graphql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/kinds"
	"github.com/graphql-go/graphql/language/printer"
	"github.com/graphql-go/graphql/language/visitor"
)

// uniqueDirectivesRule is the specification's rule that a directive stands at
// most once where it is used (none of the schema's is repeatable), which
// graphql-go's validator lacks: { User @skip(if: true) @skip(if: false) { … } }
// ran, the second @skip unseen. Each directive that repeats one before it is
// an error, located at both.
func uniqueDirectivesRule(c *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	check := func(p visitor.VisitFuncParams) (string, any) {
		var ds []*ast.Directive
		switch n := p.Node.(type) {
		case *ast.OperationDefinition:
			ds = n.Directives
		case *ast.Field:
			ds = n.Directives
		case *ast.FragmentSpread:
			ds = n.Directives
		case *ast.InlineFragment:
			ds = n.Directives
		case *ast.FragmentDefinition:
			ds = n.Directives
		}
		var first map[string]*ast.Directive
		for _, d := range ds {
			if d.Name == nil {
				continue
			}
			if first == nil {
				first = map[string]*ast.Directive{}
			}
			if f, ok := first[d.Name.Value]; ok {
				c.ReportError(gqlerrors.NewError(fmt.Sprintf("The directive \"@%s\" can only be used once at this location.", d.Name.Value),
					[]ast.Node{f, d}, "", nil, nil, nil))
				continue
			}
			first[d.Name.Value] = d
		}
		return visitor.ActionNoChange, nil
	}
	each := visitor.NamedVisitFuncs{Kind: check}
	return &graphql.ValidationRuleInstance{VisitorOpts: &visitor.VisitorOptions{KindFuncMap: map[string]visitor.NamedVisitFuncs{
		kinds.OperationDefinition: each, kinds.Field: each, kinds.FragmentSpread: each,
		kinds.InlineFragment: each, kinds.FragmentDefinition: each,
	}}}
}

// possibleFragmentSpreadsRule is graphql-go's PossibleFragmentSpreadsRule
// but for an inline fragment without a type condition ({ User { ... { name } } },
// or ... @include(if: $b) { … }), which is of the type of the selection set it
// stands in and so always fits it. graphql-go's validator takes such a
// fragment to be of the type of the field it selects from, a list such as
// [User!]!, and refused it as never of type User.
func possibleFragmentSpreadsRule(c *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	r := graphql.PossibleFragmentSpreadsRule(c)
	inline := r.VisitorOpts.KindFuncMap[kinds.InlineFragment]
	check := inline.Kind
	inline.Kind = func(p visitor.VisitFuncParams) (string, any) {
		if n, ok := p.Node.(*ast.InlineFragment); ok && n.TypeCondition == nil {
			return visitor.ActionNoChange, nil
		}
		return check(p)
	}
	r.VisitorOpts.KindFuncMap[kinds.InlineFragment] = inline
	return r
}

// uniqueOperationNamesRule is graphql-go's UniqueOperationNamesRule but for
// operations without a name, which that rule takes to be named "": a request
// of two was refused, besides the specification's error for each (an
// anonymous operation must be the only one), with a third that "there can
// only be one operation named \"\"".
func uniqueOperationNamesRule(c *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	r := graphql.UniqueOperationNamesRule(c)
	ops := r.VisitorOpts.KindFuncMap[kinds.OperationDefinition]
	check := ops.Kind
	ops.Kind = func(p visitor.VisitFuncParams) (string, any) {
		if n, ok := p.Node.(*ast.OperationDefinition); ok && n.Name == nil {
			return visitor.ActionSkip, nil
		}
		return check(p)
	}
	r.VisitorOpts.KindFuncMap[kinds.OperationDefinition] = ops
	return r
}

// executableDefinitionsRule is the specification's rule that a request holds
// operations and fragments only, which graphql-go's validator lacks: its
// executor then refused a request with a type definition in it ("GraphQL
// cannot execute a request containing a ObjectDefinition"), saying neither
// which nor where. Each other definition is an error, located at it.
func executableDefinitionsRule(c *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	return &graphql.ValidationRuleInstance{VisitorOpts: &visitor.VisitorOptions{KindFuncMap: map[string]visitor.NamedVisitFuncs{
		kinds.Document: {Kind: func(p visitor.VisitFuncParams) (string, any) {
			doc, ok := p.Node.(*ast.Document)
			if !ok {
				return visitor.ActionNoChange, nil
			}
			for _, d := range doc.Definitions {
				var what string
				switch d := d.(type) {
				case *ast.OperationDefinition, *ast.FragmentDefinition:
					continue
				case *ast.SchemaDefinition:
					what = "schema"
				case *ast.DirectiveDefinition:
					if d.Name != nil {
						what = fmt.Sprintf("%q", "@"+d.Name.Value)
					}
				case *ast.TypeExtensionDefinition:
					if d.Definition != nil && d.Definition.Name != nil {
						what = fmt.Sprintf("%q", d.Definition.Name.Value)
					}
				case interface{ GetName() *ast.Name }:
					if n := d.GetName(); n != nil {
						what = fmt.Sprintf("%q", n.Value)
					}
				}
				if what == "" {
					what = "type system"
				}
				c.ReportError(gqlerrors.NewError(fmt.Sprintf("The %s definition is not executable: a request holds operations and fragments only.", what),
					[]ast.Node{d}, "", nil, nil, nil))
			}
			return visitor.ActionSkip, nil
		}},
	}}}
}

// nullOperandsRule refuses a null of the request (see rewriteNulls) given to
// an operator that cannot take one: a range (_gt, _ge, _lt, _le and their
// spellings) or a pattern (_like, _nlike, _ilike, _nilike), in a filter
// wherever it stands (within _and, _or, _not, _any, _all or _none, on a
// related document's fields, in an aggregate's or a mutation's filter). The
// schema types those operands as nullable, as DefraDB does, so graphql-go's
// rule that an argument's value fits its type lets the null pass, and the
// field failed only while running. An argument that holds such nulls is an
// error in the words of that rule, located at each null. The operators that
// take null keep it: _eq and _ne compare with it, and _in, _nin, _and, _or,
// _not, _any, _all and _none given null are no condition (see
// withoutNullOperands). A variable's value is known only with the request's
// variables, before it runs: keepNulls refuses a variable sent as null there
// (nullVariablesRule), and checkVariables a null there within a variable's
// value (misfits).
func nullOperandsRule(c *graphql.ValidationContext) *graphql.ValidationRuleInstance {
	return &graphql.ValidationRuleInstance{VisitorOpts: &visitor.VisitorOptions{KindFuncMap: map[string]visitor.NamedVisitFuncs{
		kinds.Argument: {Kind: func(p visitor.VisitFuncParams) (string, any) {
			a, ok := p.Node.(*ast.Argument)
			def := c.Argument()
			if !ok || def == nil || a.Name == nil {
				return visitor.ActionSkip, nil
			}
			var why []string
			var at []ast.Node
			nullOperands(def.Type, a.Value, nil, func(v *ast.Variable) bool { return v.Name.Value == nullVar },
				func(path, op string, v *ast.Variable) {
					why = append(why, path+nullOperand(op))
					at = append(at, v)
				})
			if len(why) > 0 {
				c.ReportError(gqlerrors.NewError(fmt.Sprintf("Argument \"%s\" has invalid value %s.\n%s", a.Name.Value, printer.Print(a.Value), strings.Join(why, "\n")),
					at, "", nil, nil, nil))
			}
			return visitor.ActionSkip, nil
		}},
	}}}
}

// nullVariablesRule is nullOperandsRule for the variables of op that the
// request sends as null (nulls, by name): such a variable where an operator
// that cannot take null stands is an error, located at the variable's
// definition and where it stands. It makes a rule for one request; keepNulls
// applies it with the values of the request's variables.
func nullVariablesRule(op *ast.OperationDefinition, nulls map[string]bool) graphql.ValidationRuleFn {
	return func(c *graphql.ValidationContext) *graphql.ValidationRuleInstance {
		type use struct{ arg, path, op string }
		found := map[*ast.Variable]use{}
		return &graphql.ValidationRuleInstance{VisitorOpts: &visitor.VisitorOptions{KindFuncMap: map[string]visitor.NamedVisitFuncs{
			kinds.Argument: {Kind: func(p visitor.VisitFuncParams) (string, any) {
				a, ok := p.Node.(*ast.Argument)
				if def := c.Argument(); ok && def != nil && a.Name != nil {
					nullOperands(def.Type, a.Value, nil, func(v *ast.Variable) bool { return v.Name.Value != nullVar && nulls[v.Name.Value] },
						func(path, op string, v *ast.Variable) { found[v] = use{a.Name.Value, path, op} })
				}
				return visitor.ActionSkip, nil
			}},
			kinds.Document: {Leave: func(p visitor.VisitFuncParams) (string, any) {
				if len(found) == 0 {
					return visitor.ActionNoChange, nil
				}
				defs := map[string]*ast.VariableDefinition{}
				for _, vd := range op.VariableDefinitions {
					if vd.Variable != nil && vd.Variable.Name != nil {
						defs[vd.Variable.Name.Value] = vd
					}
				}
				for _, u := range c.RecursiveVariableUsages(op) {
					f, ok := found[u.Node]
					if !ok {
						continue // a use in another operation
					}
					name := u.Node.Name.Value
					at := []ast.Node{u.Node}
					if vd := defs[name]; vd != nil {
						at = []ast.Node{vd, u.Node}
					}
					c.ReportError(gqlerrors.NewError(fmt.Sprintf("Variable \"$%s\" got invalid value null.\nIn argument \"%s\": %s%s", name, f.arg, f.path, nullOperand(f.op)),
						at, "", nil, nil, nil))
				}
				return visitor.ActionNoChange, nil
			}},
		}}}
	}
}

// nullOperands calls found for each variable of v, a value of type t, that
// null reports as null where an operator that cannot take null (see
// refusesNull) stands, with the operator and its path from v in graphql-go's
// words ("In field \"age\": In field \"_gt\": ", the elements of a list
// numbered by their places) after those of path. A single value where t has a
// list is a list of one.
func nullOperands(t graphql.Input, v ast.Value, path []string, null func(*ast.Variable) bool, found func(path, op string, v *ast.Variable)) {
	if nn, ok := t.(*graphql.NonNull); ok {
		t = nn.OfType
	}
	switch t := t.(type) {
	case *graphql.List:
		l, ok := v.(*ast.ListValue)
		if !ok {
			nullOperands(t.OfType, v, path, null, found)
			return
		}
		for i, e := range l.Values {
			nullOperands(t.OfType, e, append(path, "In element #"+strconv.Itoa(i+1)+": "), null, found)
		}
	case *graphql.InputObject:
		o, ok := v.(*ast.ObjectValue)
		if !ok {
			return
		}
		fields := t.Fields()
		for _, f := range o.Fields {
			if f.Name == nil || fields[f.Name.Value] == nil {
				continue // an unknown field: graphql-go's rule refuses it
			}
			name, ft := f.Name.Value, fields[f.Name.Value].Type
			if x, ok := f.Value.(*ast.Variable); ok && x.Name != nil && refusesNull(name, ft) && null(x) {
				found(strings.Join(path, "")+`In field "`+name+`": `, name, x)
				continue
			}
			nullOperands(ft, f.Value, append(path, `In field "`+name+`": `), null, found)
		}
	}
}

// refusesNull reports whether name, a field of an input object of type t, is
// an operator that cannot take null: a range or a pattern, whose operand is a
// scalar. (A collection's field of that name would take an operator block.)
func refusesNull(name string, t graphql.Input) bool {
	if nn, ok := t.(*graphql.NonNull); ok {
		t = nn.OfType
	}
	_, scalar := t.(*graphql.Scalar)
	return scalar && (slices.Contains(rangeOps, name) || slices.Contains(patternOps, name))
}

// nullOperand says why op, an operator that cannot take null, was refused one.
func nullOperand(op string) string {
	what := "compares with a value"
	if slices.Contains(patternOps, op) {
		what = "matches a pattern"
	}
	return fmt.Sprintf("Expected a value, found null (%s %s; _eq: null matches null).", op, what)
}
