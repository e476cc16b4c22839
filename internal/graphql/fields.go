package graphql

import "github.com/graphql-go/graphql/language/ast"

// fragments are a request's named fragments, with which its selections are
// walked field by field, as GraphQL's CollectFields walks them.
type fragments struct {
	defs   map[string]*ast.FragmentDefinition
	active map[string]bool // the named fragments being expanded
}

// fragmentsOf returns the named fragments of doc.
func fragmentsOf(doc *ast.Document) *fragments {
	fr := &fragments{defs: map[string]*ast.FragmentDefinition{}, active: map[string]bool{}}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil {
			fr.defs[f.Name.Value] = f
		}
	}
	return fr
}

// fragmentsFrom returns the named fragments graphql-go gives a resolver.
func fragmentsFrom(defs map[string]ast.Definition) *fragments {
	fr := &fragments{defs: map[string]*ast.FragmentDefinition{}, active: map[string]bool{}}
	for name, d := range defs {
		if f, ok := d.(*ast.FragmentDefinition); ok {
			fr.defs[name] = f
		}
	}
	return fr
}

// fields calls fn for each field of set, in the order the request writes
// them, with the fields of each fragment set spreads, inline or named, where
// it stands. A named fragment is not expanded within itself: fn may walk its
// field's own selections with fr, and a fragment that spreads itself, which
// validation refuses, ends there.
func (fr *fragments) fields(set *ast.SelectionSet, fn func(*ast.Field)) {
	if set == nil {
		return
	}
	for _, sel := range set.Selections {
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name != nil {
				fn(sel)
			}
		case *ast.InlineFragment:
			fr.fields(sel.SelectionSet, fn)
		case *ast.FragmentSpread:
			if sel.Name == nil || fr.active[sel.Name.Value] || fr.defs[sel.Name.Value] == nil {
				continue
			}
			fr.active[sel.Name.Value] = true
			fr.fields(fr.defs[sel.Name.Value].SelectionSet, fn)
			delete(fr.active, sel.Name.Value)
		}
	}
}
