package graphql

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
)

// rules are the validation rules prepare has graphql-go apply: all the
// specification's but OverlappingFieldsCanBeMerged, which checkMerge does in
// their stead, with possibleFragmentSpreadsRule and uniqueOperationNamesRule
// for graphql-go's PossibleFragmentSpreads and UniqueOperationNames, and
// uniqueDirectivesRule, executableDefinitionsRule and nullOperandsRule, which
// graphql-go has not. graphql-go's compares every pair of fields of a response name,
// printing their arguments each time (about a millisecond a pair), and makes
// an error of each pair that conflicts: 1,000 fields of one name, within the
// field limit, took minutes and answered millions of errors.
var rules = append(slices.DeleteFunc(slices.Clone(graphql.SpecifiedRules), func(r graphql.ValidationRuleFn) bool {
	p := reflect.ValueOf(r).Pointer()
	return p == reflect.ValueOf(graphql.OverlappingFieldsCanBeMergedRule).Pointer() ||
		p == reflect.ValueOf(graphql.PossibleFragmentSpreadsRule).Pointer() ||
		p == reflect.ValueOf(graphql.UniqueOperationNamesRule).Pointer()
}), possibleFragmentSpreadsRule, uniqueOperationNamesRule, uniqueDirectivesRule, executableDefinitionsRule, nullOperandsRule)

// checkMerge is the specification's rule that the fields of one response name
// in a selection set (fragments spread in it included) can be merged into one:
// they name the same field with the same arguments, and the fields their
// selections hold of one response name can be merged too. It reports at most
// one conflict for each response name of a merged selection set, in
// graphql-go's words, and does work linear in the request's size: each field
// is compared once, with the first field of its response name, and each
// field's arguments are printed once. (The schema has object types only, so
// the fields of one selection set cannot be told apart by the type of their
// parent, as the specification allows for interfaces and unions.) It relies on
// checkSize having refused fragments that spread themselves.
func checkMerge(doc *ast.Document) []gqlerrors.FormattedError {
	m := &merger{fragments: map[string]*ast.FragmentDefinition{}, keys: map[*ast.Field]int{},
		ids: map[string]int{}, reported: map[[2]*ast.Field]bool{}}
	for _, d := range doc.Definitions {
		if f, ok := d.(*ast.FragmentDefinition); ok && f.Name != nil {
			m.fragments[f.Name.Value] = f
		}
	}
	for _, d := range doc.Definitions {
		switch d := d.(type) {
		case *ast.OperationDefinition:
			m.check(m.collect(nil, nil, d.SelectionSet))
		case *ast.FragmentDefinition:
			// Also where it is not used, as graphql-go does (an unused
			// fragment is an error of its own); a conflict found again
			// where it is used is reported once.
			m.check(m.collect(nil, nil, d.SelectionSet))
		}
	}
	return m.errs
}

// merger is the state of checkMerge.
type merger struct {
	fragments map[string]*ast.FragmentDefinition
	keys      map[*ast.Field]int     // a field's name and arguments, as a number
	ids       map[string]int         // the numbers of names and arguments
	reported  map[[2]*ast.Field]bool // the pairs of fields reported
	errs      []gqlerrors.FormattedError
}

// occurrence is a field where a selection set holds it, directly or through
// fragments.
type occurrence struct {
	f      *ast.Field
	parent *occurrence // the field whose selection set holds f; nil at the top
}

// collect appends to out the fields that set selects, each with parent,
// expanding fragments.
func (m *merger) collect(out []*occurrence, parent *occurrence, set *ast.SelectionSet) []*occurrence {
	if set == nil {
		return out
	}
	for _, sel := range set.Selections {
		switch sel := sel.(type) {
		case *ast.Field:
			out = append(out, &occurrence{f: sel, parent: parent})
		case *ast.InlineFragment:
			out = m.collect(out, parent, sel.SelectionSet)
		case *ast.FragmentSpread:
			if sel.Name != nil {
				if f := m.fragments[sel.Name.Value]; f != nil {
					out = m.collect(out, parent, f.SelectionSet)
				}
			}
		}
	}
	return out
}

// check reports the conflicts among fields, the fields of one merged selection
// set, and then checks the selection sets of each response name's fields
// merged: those of all of them if they agree, else each field's on its own.
func (m *merger) check(fields []*occurrence) {
	groups := map[string][]*occurrence{}
	var names []string
	for _, o := range fields {
		name := responseName(o.f)
		if _, ok := groups[name]; !ok {
			names = append(names, name)
		}
		groups[name] = append(groups[name], o)
	}
	for _, name := range names {
		group := groups[name]
		first := group[0]
		agree := true
		for _, o := range group[1:] {
			if m.key(o.f) != m.key(first.f) {
				m.report(name, first, o)
				agree = false
				break
			}
		}
		if agree {
			var sub []*occurrence
			for _, o := range group {
				sub = m.collect(sub, o, o.f.SelectionSet)
			}
			m.check(sub)
			continue
		}
		for _, o := range group {
			m.check(m.collect(nil, o, o.f.SelectionSet))
		}
	}
}

// report records that fields a and b, of response name name, conflict, unless
// it has already.
func (m *merger) report(name string, a, b *occurrence) {
	if m.reported[[2]*ast.Field{a.f, b.f}] {
		return
	}
	m.reported[[2]*ast.Field{a.f, b.f}] = true
	reason := "they have differing arguments"
	if an, bn := fieldName(a.f), fieldName(b.f); an != bn {
		reason = fmt.Sprintf("%s and %s are different fields", an, bn)
	}
	// Fields held by different fields conflict as those fields' subfields,
	// from the highest pair of fields that differ down.
	var left, right []ast.Node
	for pa, pb := a, b; pa != nil && pb != nil && pa != pb; pa, pb = pa.parent, pb.parent {
		left, right = append(left, pa.f), append(right, pb.f)
	}
	slices.Reverse(left)
	slices.Reverse(right)
	msg := reason
	for i := len(left) - 1; i >= 1; i-- {
		msg = fmt.Sprintf(`subfields "%s" conflict because %s`, responseName(left[i].(*ast.Field)), msg)
	}
	top := name
	if len(left) > 0 {
		top = responseName(left[0].(*ast.Field))
	}
	msg = fmt.Sprintf(`Fields "%s" conflict because %s. Use different aliases on the fields to fetch both if this was intentional.`, top, msg)
	m.errs = append(m.errs, gqlerrors.FormatError(gqlerrors.NewError(msg, append(left, right...), "", nil, []int{}, nil)))
}

// key returns a number that two fields share when they have the same name and
// arguments, the arguments in any order.
func (m *merger) key(f *ast.Field) int {
	if k, ok := m.keys[f]; ok {
		return k
	}
	var b strings.Builder
	b.WriteString(fieldName(f))
	args := slices.Clone(f.Arguments)
	slices.SortStableFunc(args, func(x, y *ast.Argument) int { return strings.Compare(argName(x), argName(y)) })
	for _, a := range args {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(argName(a)))
		b.WriteString(":")
		if a != nil {
			writeValue(&b, a.Value)
		}
	}
	k, ok := m.ids[b.String()]
	if !ok {
		k = len(m.ids)
		m.ids[b.String()] = k
	}
	m.keys[f] = k
	return k
}

// writeValue writes v to b such that two values write the same text if and
// only if graphql-go's printer prints them the same.
func writeValue(b *strings.Builder, v ast.Value) {
	switch v := v.(type) {
	case *ast.Variable:
		b.WriteString("$")
		if v.Name != nil {
			b.WriteString(v.Name.Value)
		}
	case *ast.IntValue:
		b.WriteString(v.Value)
	case *ast.FloatValue:
		b.WriteString(v.Value)
	case *ast.StringValue:
		b.WriteString(strconv.Quote(v.Value))
	case *ast.BooleanValue:
		b.WriteString(strconv.FormatBool(v.Value))
	case *ast.EnumValue:
		b.WriteString(v.Value)
	case *ast.ListValue:
		b.WriteString("[")
		for _, e := range v.Values {
			writeValue(b, e)
			b.WriteString(",")
		}
		b.WriteString("]")
	case *ast.ObjectValue:
		b.WriteString("{")
		for _, f := range v.Fields {
			if f == nil {
				continue
			}
			if f.Name != nil {
				b.WriteString(f.Name.Value)
			}
			b.WriteString(":")
			writeValue(b, f.Value)
			b.WriteString(",")
		}
		b.WriteString("}")
	}
}

// responseName is the key of f in the answer: its alias, else its name.
func responseName(f *ast.Field) string {
	if f.Alias != nil {
		return f.Alias.Value
	}
	return fieldName(f)
}

func fieldName(f *ast.Field) string {
	if f.Name == nil {
		return ""
	}
	return f.Name.Value
}

func argName(a *ast.Argument) string {
	if a == nil || a.Name == nil {
		return ""
	}
	return a.Name.Value
}
