package graphql

import (
	"fmt"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/kinds"
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
