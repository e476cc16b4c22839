package graphql

import (
	"maps"
	"slices"

	"github.com/graphql-go/graphql/language/ast"
)

// keyOrder is the order of the keys of an answer's objects: the response keys
// of a selection set in the order the request writes them, a fragment's keys
// where it is spread, each key once, where it first stands (GraphQL's
// CollectFields), and for each key the order of its own selections, those of
// every field under that key merged. graphql-go answers with maps, which have
// no order; appendJSON writes them in this one, as the GraphQL specification
// asks of a serialization that can keep an order.
type keyOrder struct {
	keys []string
	sub  map[string]*keyOrder // nil for a key without selections
}

// orderOf returns the key order of the answer to the operation of doc called
// name ("" for the only one), run with variables vars, nil if doc has no such
// operation. A field or fragment that @skip or @include leaves out has no
// place in it: a key it selects stands where the request selects it next.
func orderOf(doc *ast.Document, name string, vars map[string]any) *keyOrder {
	op := operation(doc, name)
	if op == nil {
		return nil
	}
	c := &collector{fragments: fragmentsOf(doc), vars: make(map[string]any, len(vars))}
	maps.Copy(c.vars, vars)
	for _, vd := range op.VariableDefinitions {
		if vd.Variable == nil || vd.Variable.Name == nil || vd.DefaultValue == nil {
			continue
		}
		if _, ok := c.vars[vd.Variable.Name.Value]; !ok {
			c.vars[vd.Variable.Name.Value] = literal(vd.DefaultValue, nil)
		}
	}
	o := &keyOrder{}
	o.collect(op.SelectionSet, c)
	return o
}

// of returns the order of key's selections, nil for none.
func (o *keyOrder) of(key string) *keyOrder {
	if o == nil {
		return nil
	}
	return o.sub[key]
}

// collect adds the keys of set to o, and their selections to their orders.
func (o *keyOrder) collect(set *ast.SelectionSet, c *collector) {
	c.fields(set, func(f *ast.Field) {
		key := responseKey(f)
		if !slices.Contains(o.keys, key) {
			o.keys = append(o.keys, key)
		}
		if f.SelectionSet == nil {
			return
		}
		if o.sub == nil {
			o.sub = map[string]*keyOrder{}
		}
		sub := o.sub[key]
		if sub == nil {
			sub = &keyOrder{}
			o.sub[key] = sub
		}
		sub.collect(f.SelectionSet, c)
	})
}

// collector walks the fields of a request's selections as GraphQL's
// CollectFields does, as fragments.fields does, but for those @skip or
// @include leave out.
type collector struct {
	*fragments
	vars map[string]any // the request's variables, and the defaults of those not sent
}

// fields calls fn for each field of set the answer holds, in the order the
// request writes them, with the fields of each fragment set spreads where it
// stands.
func (c *collector) fields(set *ast.SelectionSet, fn func(*ast.Field)) {
	if set == nil {
		return
	}
	for _, sel := range set.Selections {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name != nil && c.included(sel.Directives) {
				fn(sel)
			}
		case *ast.InlineFragment:
			if c.included(sel.Directives) {
				c.fields(sel.SelectionSet, fn)
			}
		case *ast.FragmentSpread:
			if sel.Name == nil || c.active[sel.Name.Value] || c.defs[sel.Name.Value] == nil || !c.included(sel.Directives) {
				continue
			}
			c.active[sel.Name.Value] = true
			c.fields(c.defs[sel.Name.Value].SelectionSet, fn)
			delete(c.active, sel.Name.Value)
		}
	}
}

// included reports whether a selection with directives ds is in the answer:
// not with @skip(if: true) nor @include(if: false), literally or by a
// variable.
func (c *collector) included(ds []*ast.Directive) bool {
	for _, d := range ds {
		if d.Name == nil || d.Name.Value != "skip" && d.Name.Value != "include" {
			continue
		}
		for _, a := range d.Arguments {
			if a.Name == nil || a.Name.Value != "if" {
				continue
			}
			if b, ok := literal(a.Value, c.vars).(bool); ok && b == (d.Name.Value == "skip") {
				return false
			}
		}
	}
	return true
}
