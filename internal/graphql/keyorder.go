package graphql

import (
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
// name ("" for the only one), nil if doc has no such operation.
func orderOf(doc *ast.Document, name string) *keyOrder {
	op := operation(doc, name)
	if op == nil {
		return nil
	}
	o := &keyOrder{}
	o.collect(op.SelectionSet, fragmentsOf(doc))
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
func (o *keyOrder) collect(set *ast.SelectionSet, fr *fragments) {
	fr.fields(set, func(f *ast.Field) {
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
		sub.collect(f.SelectionSet, fr)
	})
}
