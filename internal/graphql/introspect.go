package graphql

import (
	"fmt"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
)

// init adds to graphql-go's introspection types the members the GraphQL
// specification of October 2021 added, which graphql-go v0.8 lacks and
// today's tools ask for (graphql-js's getIntrospectionQuery with its options,
// Apollo's and others' loaders): __Schema.description, __Type.specifiedByURL,
// __Directive.isRepeatable, __InputValue.isDeprecated and deprecationReason,
// and includeDeprecated on the lists of arguments and input fields. Without
// them such a request fails validation as a whole. No schema of a node has a
// description, a scalar with a specification URL, a repeatable directive or
// a deprecated argument, so each answers its "none"; graphql-go's own
// introspection does the same for what it knows. The types are graphql-go's
// package variables, which its own init builds the same way, so this runs
// before any schema exists.
func init() {
	none := func(graphql.ResolveParams) (any, error) { return nil, nil }
	no := func(graphql.ResolveParams) (any, error) { return false, nil }
	graphql.SchemaType.AddFieldConfig("description", &graphql.Field{Type: graphql.String, Resolve: none})
	graphql.TypeType.AddFieldConfig("specifiedByURL", &graphql.Field{Type: graphql.String, Resolve: none})
	graphql.DirectiveType.AddFieldConfig("isRepeatable", &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean), Resolve: no})
	graphql.InputValueType.AddFieldConfig("isDeprecated", &graphql.Field{Type: graphql.NewNonNull(graphql.Boolean), Resolve: no})
	graphql.InputValueType.AddFieldConfig("deprecationReason", &graphql.Field{Type: graphql.String, Resolve: none})
	for _, list := range []struct {
		of    *graphql.Object
		field string
	}{{graphql.FieldType, "args"}, {graphql.DirectiveType, "args"}, {graphql.TypeType, "inputFields"}} {
		fd := list.of.Fields()[list.field]
		list.of.AddFieldConfig(list.field, &graphql.Field{
			Type:        fd.Type,
			Description: fd.Description,
			Resolve:     fd.Resolve,
			Args: graphql.FieldConfigArgument{
				"includeDeprecated": {Type: graphql.Boolean, DefaultValue: false},
			},
		})
	}
}

// checkIntrospection refuses a request whose introspection answer (its
// __schema and __type fields) would be over lim.MaxResultSize bytes. The
// answer of a few fields is a product of the schema's lists (types, their
// fields, their arguments…), and aliases and nested types multiply it: 160
// aliases of __schema { types { fields { name } inputFields { name } } } over
// 100 collections of 50 fields made a 53 MB answer and allocated 7.9 GB. The
// size is measured by walking the request over the schema as graphql-go would
// answer it, without building the answer, and the walk stops at the limit.
func checkIntrospection(s *graphql.Schema, doc *ast.Document, lim Limits) error {
	w := &introspection{s: s, budget: lim.MaxResultSize}
	if w.walk(doc); w.size > w.budget {
		return fmt.Errorf("the request's introspection answer is over the limit of %d bytes: select fewer fields of the schema, each once", lim.MaxResultSize)
	}
	return nil
}

// walk measures the introspection answer of doc's queries.
func (w *introspection) walk(doc *ast.Document) {
	w.fragments = map[string]*ast.FragmentDefinition{}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil {
			w.fragments[f.Name.Value] = f
		}
	}
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok && op.Operation == ast.OperationTypeQuery {
			w.root(op.SelectionSet)
		}
	}
}

// introspection walks the introspection fields of a request, adding the
// bytes of their answer to size until it passes budget.
type introspection struct {
	s         *graphql.Schema
	fragments map[string]*ast.FragmentDefinition
	budget    int
	size      int
}

// fields calls fn with each field selected in set, those of fragments
// included, while the answer is within the budget.
func (w *introspection) fields(set *ast.SelectionSet, fn func(f *ast.Field)) {
	if set == nil {
		return
	}
	for _, sel := range set.Selections {
		if w.size > w.budget {
			return
		}
		switch sel := sel.(type) {
		case *ast.Field:
			fn(sel)
		case *ast.InlineFragment:
			w.fields(sel.SelectionSet, fn)
		case *ast.FragmentSpread:
			if sel.Name != nil {
				if fd := w.fragments[sel.Name.Value]; fd != nil {
					w.fields(fd.SelectionSet, fn)
				}
			}
		}
	}
}

func key(f *ast.Field) string {
	if f.Alias != nil {
		return f.Alias.Value
	}
	if f.Name != nil {
		return f.Name.Value
	}
	return ""
}

func name(f *ast.Field) string {
	if f.Name == nil {
		return ""
	}
	return f.Name.Value
}

// leaf counts a member of the answer: its key, and its value when f selects
// the name or description of a thing so called.
func (w *introspection) leaf(f *ast.Field, thing, description string) {
	w.size += len(key(f)) + 8
	switch name(f) {
	case "name":
		w.size += len(thing)
	case "description":
		w.size += len(description)
	}
}

func (w *introspection) root(set *ast.SelectionSet) {
	w.fields(set, func(f *ast.Field) {
		switch name(f) {
		case "__schema":
			w.leaf(f, "", "")
			w.schema(f.SelectionSet)
		case "__type":
			w.leaf(f, "", "")
			// The type named, or, when a variable names it, all of them.
			var arg string
			named := false
			for _, a := range f.Arguments {
				if v, ok := a.Value.(*ast.StringValue); ok && a.Name != nil && a.Name.Value == "name" {
					arg, named = v.Value, true
				}
			}
			for n, t := range w.s.TypeMap() {
				if !named || n == arg {
					w.typ(f.SelectionSet, t)
				}
			}
		}
	})
}

func (w *introspection) schema(set *ast.SelectionSet) {
	w.fields(set, func(f *ast.Field) {
		w.leaf(f, "", "")
		switch name(f) {
		case "types":
			for _, t := range w.s.TypeMap() {
				w.typ(f.SelectionSet, t)
			}
		case "queryType":
			w.typ(f.SelectionSet, w.s.QueryType())
		case "mutationType":
			if m := w.s.MutationType(); m != nil {
				w.typ(f.SelectionSet, m)
			}
		case "subscriptionType":
			if m := w.s.SubscriptionType(); m != nil {
				w.typ(f.SelectionSet, m)
			}
		case "directives":
			for _, d := range w.s.Directives() {
				w.fields(f.SelectionSet, func(g *ast.Field) {
					switch name(g) {
					case "args":
						w.leaf(g, "", "")
						for _, a := range d.Args {
							w.input(g.SelectionSet, a.PrivateName, a.PrivateDescription, a.Type)
						}
					case "locations":
						w.leaf(g, "", "")
						for _, l := range d.Locations {
							w.size += len(l) + 3
						}
					default:
						w.leaf(g, d.Name, d.Description)
					}
				})
			}
		}
	})
}

func (w *introspection) typ(set *ast.SelectionSet, t graphql.Type) {
	if t == nil {
		return
	}
	w.fields(set, func(f *ast.Field) {
		w.leaf(f, t.Name(), t.Description())
		switch name(f) {
		case "fields":
			var fields graphql.FieldDefinitionMap
			switch t := t.(type) {
			case *graphql.Object:
				fields = t.Fields()
			case *graphql.Interface:
				fields = t.Fields()
			}
			for _, fd := range fields {
				w.field(f.SelectionSet, fd)
			}
		case "inputFields":
			if t, ok := t.(*graphql.InputObject); ok {
				for _, fd := range t.Fields() {
					w.input(f.SelectionSet, fd.PrivateName, fd.PrivateDescription, fd.Type)
				}
			}
		case "interfaces":
			if t, ok := t.(*graphql.Object); ok {
				for _, i := range t.Interfaces() {
					w.typ(f.SelectionSet, i)
				}
			}
		case "possibleTypes":
			if t, ok := t.(graphql.Abstract); ok {
				for _, o := range w.s.PossibleTypes(t) {
					w.typ(f.SelectionSet, o)
				}
			}
		case "enumValues":
			if t, ok := t.(*graphql.Enum); ok {
				for _, v := range t.Values() {
					w.fields(f.SelectionSet, func(g *ast.Field) { w.leaf(g, v.Name, v.Description+v.DeprecationReason) })
				}
			}
		case "ofType":
			switch t := t.(type) {
			case *graphql.List:
				w.typ(f.SelectionSet, t.OfType)
			case *graphql.NonNull:
				w.typ(f.SelectionSet, t.OfType)
			}
		}
	})
}

func (w *introspection) field(set *ast.SelectionSet, fd *graphql.FieldDefinition) {
	w.fields(set, func(f *ast.Field) {
		w.leaf(f, fd.Name, fd.Description+fd.DeprecationReason)
		switch name(f) {
		case "args":
			for _, a := range fd.Args {
				w.input(f.SelectionSet, a.PrivateName, a.PrivateDescription, a.Type)
			}
		case "type":
			w.typ(f.SelectionSet, fd.Type)
		}
	})
}

func (w *introspection) input(set *ast.SelectionSet, n, description string, t graphql.Type) {
	w.fields(set, func(f *ast.Field) {
		w.leaf(f, n, description)
		if name(f) == "type" {
			w.typ(f.SelectionSet, t)
		}
	})
}
