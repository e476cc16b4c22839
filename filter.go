package gossipdb

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/jsonerr"
)

// Filter selects documents in DefraDB's filter language, written as Go values:
//
//	Filter{"age": Filter{"_gt": 30}, "name": Filter{"_in": []any{"Ada", "Bob"}}}
//	Filter{"_or": []any{Filter{"age": 1}, Filter{"age": 2}}, "_not": Filter{"verified": true}}
//
// Each key is a field name, "_docID" (the document ID, compared as a string), or
// one of the combinators "_and" and "_or" (a list of filters) and "_not" (a
// filter); the keys of a map are combined with and. A field's value is a map of
// operators to operands (Filter or map[string]any, as JSON decodes into) or a bare
// value, which means _eq (a map is always read as operators: compare a JSON field
// with a map through _eq). The operators:
//
//	_eq _ne            equal, not equal; a nil operand means null (absent or cleared)
//	_gt _ge _lt _le    greater, greater or equal, less, less or equal; never match null
//	_in _nin           in, not in a list (a slice); nil in the list matches null
//	_like _nlike       SQL LIKE on a String: % matches any run of characters, _ one
//	_ilike _nilike     _like, _nlike ignoring case (Unicode simple folding)
//
// DefraDB spells three of them _neq, _geq and _leq: those names work too.
//
// A list or add-wins set field takes instead one or more of these, each
// with the operators above on one item, combined with _and, _or and _not
// (or a bare value, meaning _eq):
//
//	_any               at least one item matches
//	_all               every item matches (so does a list with no items)
//	_none              no item matches
//
// Filter{"tags": Filter{"_any": Filter{"_eq": "go"}}} matches the documents
// whose tags hold "go". As in DefraDB, _all and _none match a list with no
// items, and none of the three matches a null list (an absent or cleared
// one; Filter{"_not": Filter{"tags": Filter{"_all": Filter{}}}} finds
// those). A set is never null: one never added to has no items.
//
// A LIKE pattern is matched in time linear in the value's length; a run of it
// between two % (or an end) that holds a _ may be at most MaxLikeRun
// characters long.
//
// Each negation (_ne, _nin, _nlike, _nilike, _not) matches exactly the
// documents its positive form does not, null included. Operands convert to the
// field's kind as document inputs do (see Collection.Create): an Int field
// takes any integer, a DateTime field a time.Time or RFC 3339 text. Strings
// compare by bytes, DateTime by instant, Booleans false before true. A JSON
// field takes only _eq, _ne, _in and _nin, comparing compact JSON text; so does
// a relation, comparing document IDs.
//
// A filter is refused with ErrInvalid when it names an unknown field or operator,
// gives an operand of the wrong type, or exceeds MaxFilterDepth, MaxFilterTerms
// or MaxLikeRun; the error names the field or operator. A nil or empty Filter
// matches every document.
type Filter map[string]any

// Limits on a filter, so that one request cannot make a node do unbounded work
// per document.
const (
	// MaxFilterDepth is how deeply _and, _or and _not may nest.
	MaxFilterDepth = 32
	// MaxFilterTerms is the most conditions and list elements a filter may hold.
	MaxFilterTerms = 10_000
	// MaxLikeRun is the most characters a run of a _like, _nlike, _ilike or
	// _nilike pattern between two % (or an end) may hold when it holds a _,
	// so that matching stays linear in the value's length.
	MaxLikeRun = 64
)

// docIDField is the name of the document ID in filters.
const docIDField = "_docID"

// op is a filter operator.
type op uint8

const (
	opAnd op = iota + 1
	opOr
	opNot
	opEq
	opNe
	opGt
	opGe
	opLt
	opLe
	opIn
	opNin
	opLike
	opNlike
	opIlike
	opNilike
	opAny
	opAll
	opNone
)

var opNames = map[string]op{
	"_eq": opEq, "_ne": opNe, "_gt": opGt, "_ge": opGe, "_lt": opLt, "_le": opLe,
	"_in": opIn, "_nin": opNin, "_like": opLike, "_nlike": opNlike, "_ilike": opIlike,
	"_nilike": opNilike,
	// DefraDB's spellings of _ne, _ge and _le.
	"_neq": opNe, "_geq": opGe, "_leq": opLe,
}

// itemOpNames are the operators of a list or set field, each over its items.
var itemOpNames = map[string]op{"_any": opAny, "_all": opAll, "_none": opNone}

// cond is a compiled filter: a combinator over kids, a comparison of one
// field, or an operator on the items of a list or set field (_any, _all,
// _none), whose one kid is the comparisons each item is tested with.
type cond struct {
	op     op
	kids   []*cond
	field  crdt.Field // the compared field; Name is docIDField for the document ID
	value  any        // canonical operand (nil: null)
	values []any      // _in, _nin: canonical operands, sorted, nil first
	like   *pattern   // _like, _nlike, _ilike, _nilike: the pattern (folded for the last two: see fold)
}

// compiler turns a Filter into a cond, counting terms.
type compiler struct {
	s     *crdt.Schema // the version whose field names the filter uses
	terms int
}

// compileFilter checks and compiles f, whose field names are version s's; nil for a filter that matches everything.
func compileFilter(s *crdt.Schema, f Filter) (*cond, error) {
	if len(f) == 0 {
		return nil, nil
	}
	cp := &compiler{s: s}
	return cp.filter(map[string]any(f), 0)
}

// asMap returns v as a map of a filter or operators, if it is one.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case Filter:
		return m, true
	case map[string]any:
		return m, true
	}
	return nil, false
}

// asList returns v as a list of operands, if it is a slice or array.
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	l := make([]any, rv.Len())
	for i := range l {
		l[i] = rv.Index(i).Interface()
	}
	return l, true
}

func filterError(name, reason string) error {
	return invalid(&crdt.FieldError{Field: name, Reason: reason})
}

func (cp *compiler) count(n int) error {
	cp.terms += n
	if cp.terms > MaxFilterTerms {
		return fmt.Errorf("%w: filter holds more than %d terms", ErrInvalid, MaxFilterTerms)
	}
	return nil
}

func (cp *compiler) filter(m map[string]any, depth int) (*cond, error) {
	if depth > MaxFilterDepth {
		return nil, fmt.Errorf("%w: filter nests deeper than %d", ErrInvalid, MaxFilterDepth)
	}
	and := &cond{op: opAnd}
	for _, name := range sortedKeys(m) {
		v := m[name]
		switch name {
		case "_and", "_or", "_not":
			k, err := cp.combine(name, v, depth, cp.filter)
			if err != nil {
				return nil, err
			}
			and.kids = appendAnd(and.kids, k)
		default:
			f, err := cp.field(name)
			if err != nil {
				return nil, err
			}
			if f.List || f.AddWinsSet {
				ks, err := cp.items(f, v, depth)
				if err != nil {
					return nil, err
				}
				and.kids = append(and.kids, ks...)
				continue
			}
			ops, ok := asMap(v)
			if !ok {
				ops = map[string]any{"_eq": v}
			}
			for _, opName := range sortedKeys(ops) {
				k, err := cp.comparison(f, opName, ops[opName])
				if err != nil {
					return nil, err
				}
				and.kids = append(and.kids, k)
			}
		}
	}
	if len(and.kids) == 1 {
		return and.kids[0], nil
	}
	return and, nil
}

// combine compiles v, the operand of combinator name (_and, _or: a list of
// conditions; _not: one), each condition with compile at depth+1.
func (cp *compiler) combine(name string, v any, depth int, compile func(map[string]any, int) (*cond, error)) (*cond, error) {
	if name == "_not" {
		em, ok := asMap(v)
		if !ok {
			return nil, filterError(name, fmt.Sprintf("want a filter, got %s", describeValue(v)))
		}
		k, err := compile(em, depth+1)
		if err != nil {
			return nil, err
		}
		return &cond{op: opNot, kids: []*cond{k}}, nil
	}
	l, ok := asList(v)
	if !ok {
		return nil, filterError(name, fmt.Sprintf("want a list of filters, got %s", describeValue(v)))
	}
	group := &cond{op: opAnd}
	if name == "_or" {
		group.op = opOr
	}
	for _, e := range l {
		em, ok := asMap(e)
		if !ok {
			return nil, filterError(name, fmt.Sprintf("want a list of filters, got an element %s", describeValue(e)))
		}
		k, err := compile(em, depth+1)
		if err != nil {
			return nil, err
		}
		if group.op == opAnd {
			group.kids = appendAnd(group.kids, k)
		} else {
			group.kids = append(group.kids, k)
		}
	}
	return group, nil
}

// appendAnd appends k to kids, the conditions of an _and: the conditions of
// k itself when it is an _and, so that every condition joined by and, however
// the filter nests its _and, is at the top for the planner (see conjuncts).
func appendAnd(kids []*cond, k *cond) []*cond {
	if k.op == opAnd {
		return append(kids, k.kids...)
	}
	return append(kids, k)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// describeValue renders a value of a filter for an error message (see
// jsonerr.Describe).
func describeValue(v any) string {
	if f, ok := v.(Filter); ok {
		v = map[string]any(f)
	}
	return jsonerr.Describe(v)
}

// field resolves a field name of a filter or order.
func (cp *compiler) field(name string) (crdt.Field, error) {
	if name == docIDField {
		return crdt.Field{Name: docIDField, Kind: crdt.KindString}, nil
	}
	f, ok := cp.s.Field(name)
	switch {
	case !ok:
		return crdt.Field{}, filterError(name, "unknown field")
	case f.Derived():
		return crdt.Field{}, filterError(name, "the inverse side of a relation cannot be filtered on: filter "+f.Relation+" by its relation instead")
	}
	f.Required = false // a filter may compare with null
	return f, nil
}

// items compiles v, the operators _any, _all and _none on list or set field
// f at depth, each with the conditions of one item (see itemTest; a bare
// value means _eq).
func (cp *compiler) items(f crdt.Field, v any, depth int) ([]*cond, error) {
	ops, ok := asMap(v)
	if !ok || len(ops) == 0 {
		return nil, filterError(f.Name, fmt.Sprintf("a list takes _any, _all or _none, such as {_any: {_eq: …}}, got %s", describeValue(v)))
	}
	item := itemField(f)
	var out []*cond
	for _, opName := range sortedKeys(ops) {
		o, ok := itemOpNames[opName]
		switch {
		case !ok && opName == "_eq":
			// Where and the REST API's where give each value as _eq.
			return nil, filterError(f.Name, "a list is not compared whole (_eq, as where does): match its items with _any, _all or _none, such as {_any: {_eq: …}}")
		case !ok:
			return nil, filterError(f.Name, fmt.Sprintf("unknown operator %.32q on a list (want _any, _all or _none)", opName))
		}
		if err := cp.count(1); err != nil {
			return nil, err
		}
		each, ok := asMap(ops[opName])
		if !ok {
			each = map[string]any{"_eq": ops[opName]}
		}
		test, err := cp.itemTest(item, each, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, &cond{op: o, field: f, kids: []*cond{test}})
	}
	return out, nil
}

// ItemFilter returns a test of one item of list or set field of c, as
// Document.Fields holds it, against f: the operators of a filter on a field
// of the items' kind, combined with _and, _or and _not, as _any, _all and
// _none take them in a Filter; an item that is not a value of the field's
// kind matches nothing. An unknown field, one that is not a list or a set,
// or a bad condition fails with ErrInvalid, naming it; after Close,
// ItemFilter fails with ErrClosed.
func (c *Collection) ItemFilter(field string, f Filter) (func(item any) bool, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	s := c.schema()
	lf, ok := s.Field(field)
	switch {
	case !ok:
		return nil, filterError(field, "unknown field")
	case !lf.List && !lf.AddWinsSet || lf.Derived():
		return nil, filterError(field, "not a list or set field")
	}
	item := itemField(lf)
	cp := &compiler{s: s}
	k, err := cp.itemTest(item, map[string]any(f), 0)
	if err != nil {
		return nil, err
	}
	return func(x any) bool {
		v, err := item.Normalize(x)
		return err == nil && k.holds(v)
	}, nil
}

// itemField returns the field that describes one item of list or set field
// f, with f's key: a filter may compare an item with null.
func itemField(f crdt.Field) crdt.Field {
	f.List, f.AddWinsSet, f.ItemsRequired, f.Required = false, false, false, false
	return f
}

// itemTest compiles m, the conditions of one item of a list at depth:
// operators on the item (those of a field of its kind), combined with _and,
// _or and _not, all of which must hold.
func (cp *compiler) itemTest(item crdt.Field, m map[string]any, depth int) (*cond, error) {
	if depth > MaxFilterDepth {
		return nil, fmt.Errorf("%w: filter nests deeper than %d", ErrInvalid, MaxFilterDepth)
	}
	and := &cond{op: opAnd}
	for _, name := range sortedKeys(m) {
		var k *cond
		var err error
		switch name {
		case "_and", "_or", "_not":
			k, err = cp.combine(name, m[name], depth, func(em map[string]any, depth int) (*cond, error) {
				return cp.itemTest(item, em, depth)
			})
		default:
			k, err = cp.comparison(item, name, m[name])
		}
		if err != nil {
			return nil, err
		}
		and.kids = append(and.kids, k)
	}
	return and, nil
}

func (cp *compiler) comparison(f crdt.Field, opName string, operand any) (*cond, error) {
	o, ok := opNames[opName]
	if !ok {
		return nil, filterError(f.Name, fmt.Sprintf("unknown operator %.32q", opName))
	}
	if err := cp.count(1); err != nil {
		return nil, err
	}
	k := &cond{op: o, field: f}
	if f.Kind == crdt.KindRelation && o != opEq && o != opNe && o != opIn && o != opNin {
		return nil, filterError(f.Name, "a relation takes only _eq, _ne, _in and _nin (of document IDs)")
	}
	switch o {
	case opGt, opGe, opLt, opLe:
		if f.Kind == crdt.KindJSON {
			return nil, filterError(f.Name, opName+" does not apply to a JSON field")
		}
		if operand == nil {
			return nil, filterError(f.Name, opName+" needs a value, not null")
		}
	case opLike, opNlike, opIlike, opNilike:
		if f.Kind != crdt.KindString {
			return nil, filterError(f.Name, fmt.Sprintf("%s applies to String fields, not %s", opName, f.Kind))
		}
		s, ok := operand.(string)
		if !ok {
			return nil, filterError(f.Name, fmt.Sprintf("%s wants a string pattern, got %s", opName, describeValue(operand)))
		}
		if !utf8.ValidString(s) {
			return nil, filterError(f.Name, opName+" pattern is not valid UTF-8")
		}
		if o == opIlike || o == opNilike {
			s = fold(s)
		}
		lp, err := compileLike(s)
		if err != nil {
			return nil, filterError(f.Name, opName+" "+err.Error())
		}
		k.like = lp
		return k, nil
	case opIn, opNin:
		l, ok := asList(operand)
		if !ok {
			return nil, filterError(f.Name, fmt.Sprintf("%s wants a list, got %s", opName, describeValue(operand)))
		}
		if err := cp.count(len(l)); err != nil {
			return nil, err
		}
		for _, e := range l {
			nv, err := normalizeOperand(f, e)
			if err != nil {
				return nil, err
			}
			k.values = append(k.values, nv)
		}
		slices.SortFunc(k.values, func(a, b any) int { return compareValues(f.Kind, a, b) })
		k.values = slices.CompactFunc(k.values, func(a, b any) bool { return compareValues(f.Kind, a, b) == 0 })
		return k, nil
	}
	nv, err := normalizeOperand(f, operand)
	if err != nil {
		return nil, err
	}
	k.value = nv
	return k, nil
}

// normalizeOperand converts an operand to the canonical form of field f's values.
func normalizeOperand(f crdt.Field, v any) (any, error) {
	if f.Name == docIDField {
		if v == nil {
			return nil, nil
		}
		switch id := v.(type) {
		case string:
			return id, nil
		case DocID:
			return string(id), nil
		}
		return nil, invalid(&crdt.FieldError{Field: f.Name, Want: crdt.KindString, Got: v})
	}
	if id, ok := v.(DocID); ok && f.Kind == crdt.KindRelation {
		v = string(id)
	}
	nv, err := f.Normalize(v)
	if err != nil {
		return nil, invalid(err)
	}
	return nv, nil
}

// compareValues orders two canonical values of a field of kind k, null first.
func compareValues(k crdt.Kind, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch a := a.(type) {
	case string:
		b, _ := b.(string)
		if k == crdt.KindDateTime {
			return compareDateTime(a, b)
		}
		return strings.Compare(a, b)
	case int64:
		b, _ := b.(int64)
		return cmp.Compare(a, b)
	case float64:
		b, _ := b.(float64)
		return cmp.Compare(a, b)
	case bool:
		b, _ := b.(bool)
		switch {
		case a == b:
			return 0
		case b:
			return -1
		}
		return 1
	}
	return 0
}

// compareDateTime orders two canonical DateTime values, RFC 3339 text in UTC
// with a four-digit year and the fraction of a second without trailing zeros:
// up to the seconds they order as text, then by the fraction's digits.
func compareDateTime(a, b string) int {
	const secs = len("2006-01-02T15:04:05")
	if len(a) < secs+1 || len(b) < secs+1 {
		return strings.Compare(a, b)
	}
	if c := strings.Compare(a[:secs], b[:secs]); c != 0 {
		return c
	}
	fa := strings.TrimPrefix(a[secs:len(a)-1], ".")
	fb := strings.TrimPrefix(b[secs:len(b)-1], ".")
	for i := 0; i < max(len(fa), len(fb)); i++ {
		da, db := byte('0'), byte('0')
		if i < len(fa) {
			da = fa[i]
		}
		if i < len(fb) {
			db = fb[i]
		}
		if da != db {
			return cmp.Compare(da, db)
		}
	}
	return 0
}

// valuer gives the canonical values of a document's fields as a version reads
// them (crdt.Field.Reads: defaults, unset counters 0), nil for null: a stored
// state (stateValues), or the fields a scan read (scanned).
type valuer interface {
	Value(f crdt.Field) any
}

// stateValues reads a document's fields from its decoded state.
type stateValues struct{ st *crdt.State }

// Value returns the value field f reads as.
func (s stateValues) Value(f crdt.Field) any {
	fs, ok := s.st.Fields[f.ID()]
	return f.Reads(fs.Value, ok)
}

// scanned holds the values of the fields a scan read, by field key, as
// store.Tx.ScanDocs gives them (nil: absent, crdt.Null: cleared).
type scanned struct {
	keys    []string
	values  []any
	deleted bool // the document is deleted (only a query with Query.ShowDeleted keeps one)
}

// Value returns the value field f reads as; nil also when the scan did not
// read it.
func (s *scanned) Value(f crdt.Field) any {
	k := f.ID()
	for i, key := range s.keys {
		if key != k {
			continue
		}
		if v := s.values[i]; v != crdt.Null {
			return f.Reads(v, v != nil)
		}
		return f.Reads(nil, true)
	}
	return nil
}

// fields returns the keys of the fields k tests, each once.
func (k *cond) fields(out []string) []string {
	if k == nil {
		return out
	}
	for _, kid := range k.kids {
		out = kid.fields(out)
	}
	if k.field.Name != "" && k.field.Name != docIDField && !slices.Contains(out, k.field.ID()) {
		out = append(out, k.field.ID())
	}
	return out
}

// match reports whether the document id whose fields st gives satisfies k
// (nil: always).
func (k *cond) match(id string, st valuer) bool {
	if k == nil {
		return true
	}
	switch k.op {
	case opAnd:
		for _, kid := range k.kids {
			if !kid.match(id, st) {
				return false
			}
		}
		return true
	case opOr:
		for _, kid := range k.kids {
			if kid.match(id, st) {
				return true
			}
		}
		return false
	case opNot:
		return !k.kids[0].match(id, st)
	case opAny, opNone, opAll:
		items, ok := st.Value(k.field).([]any)
		switch {
		case !ok && !k.field.AddWinsSet:
			// A null list: as in DefraDB, no operator on its items matches.
			return false
		case k.op == opAll:
			return !slices.ContainsFunc(items, func(x any) bool { return !k.kids[0].holds(x) })
		}
		return slices.ContainsFunc(items, k.kids[0].holds) == (k.op == opAny)
	}
	var v any
	if k.field.Name == docIDField {
		v = id
	} else {
		v = st.Value(k.field)
	}
	return k.test(v)
}

// docIDs returns the document IDs k can match, sorted and each once, when the
// conditions joined by and at its top name them (_docID with _eq or _in; the
// IDs several name in common); ok is false when none does.
func (k *cond) docIDs() (ids []string, ok bool) {
	var set []string
	var walk func(k *cond)
	walk = func(k *cond) {
		switch {
		case k == nil:
		case k.op == opAnd:
			for _, kid := range k.kids {
				walk(kid)
			}
		case k.field.Name == docIDField && (k.op == opEq || k.op == opIn):
			operands := k.values // _in's
			if k.op == opEq {
				operands = []any{k.value}
			}
			var named []string
			for _, v := range operands {
				if id, isID := v.(string); isID {
					named = append(named, id)
				}
			}
			slices.Sort(named)
			named = slices.Compact(named)
			if !ok {
				set, ok = named, true
				return
			}
			set = slices.DeleteFunc(set, func(id string) bool {
				_, found := slices.BinarySearch(named, id)
				return !found
			})
		}
	}
	walk(k)
	return set, ok
}

// holds reports whether the canonical item x of a list satisfies k, the
// conditions an _any, _all or _none tests each item with (see itemTest).
func (k *cond) holds(x any) bool {
	switch k.op {
	case opAnd:
		for _, kid := range k.kids {
			if !kid.holds(x) {
				return false
			}
		}
		return true
	case opOr:
		for _, kid := range k.kids {
			if kid.holds(x) {
				return true
			}
		}
		return false
	case opNot:
		return !k.kids[0].holds(x)
	}
	return k.test(x)
}

// test applies a comparison to a field's canonical value v (nil: null).
func (k *cond) test(v any) bool {
	switch k.op {
	case opEq:
		return compareValues(k.field.Kind, v, k.value) == 0
	case opNe:
		return compareValues(k.field.Kind, v, k.value) != 0
	case opGt:
		return v != nil && compareValues(k.field.Kind, v, k.value) > 0
	case opGe:
		return v != nil && compareValues(k.field.Kind, v, k.value) >= 0
	case opLt:
		return v != nil && compareValues(k.field.Kind, v, k.value) < 0
	case opLe:
		return v != nil && compareValues(k.field.Kind, v, k.value) <= 0
	case opIn, opNin:
		_, found := slices.BinarySearchFunc(k.values, v, func(a, b any) int { return compareValues(k.field.Kind, a, b) })
		return found == (k.op == opIn)
	case opLike, opNlike:
		s, ok := v.(string)
		return (ok && like(s, k.like)) == (k.op == opLike)
	case opIlike, opNilike:
		s, ok := v.(string)
		return (ok && like(fold(s), k.like)) == (k.op == opIlike)
	}
	return false
}

// fold maps each character of s to the least member of its class under
// Unicode simple case folding, the classes strings.EqualFold compares by, so
// that two strings EqualFold holds equal fold to the same string: "ς", "σ" and
// "Σ" all fold to "Σ", "µ" (micro sign), "μ" and "Μ" to "Μ", "k", "K" and "K"
// (Kelvin sign) to "K". (strings.ToLower leaves "ς" and "σ" apart.) It keeps
// the number of characters, and %, _ and \ (no letter folds to them), so a
// folded pattern means what the pattern did.
func fold(s string) string {
	return strings.Map(foldRune, s)
}

// foldRune is the least rune of r's simple case folding orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		// ASCII: the least of {a, A} is A; and of {k, K, U+212A} and
		// {s, S, U+017F}, K and S.
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// pattern is a compiled SQL LIKE pattern: its runs between %s, each matched
// in time linear in the value it is tested against.
type pattern struct {
	runs []likeRun // at least one; more when the pattern holds a %
}

// likeRun is a run of a pattern between two % (or an end). A run with a _
// matches a fixed number of characters and is found with a bit-parallel
// automaton (shift-and) of at most MaxLikeRun states; one without, with
// strings.Index.
type likeRun struct {
	text  string
	wild  bool            // holds a _
	n     int             // characters, when wild
	masks map[rune]uint64 // when wild: bit i set where character i is that rune
	any   uint64          // when wild: bit i set where character i is _
}

// compileLike compiles the LIKE pattern p, valid UTF-8.
func compileLike(p string) (*pattern, error) {
	lp := &pattern{}
	for _, text := range strings.Split(p, "%") {
		r := likeRun{text: text, wild: strings.Contains(text, "_")}
		if r.wild {
			r.n = utf8.RuneCountInString(text)
			if r.n > MaxLikeRun {
				return nil, fmt.Errorf("pattern has a run of %d characters between %% that holds a _, more than %d", r.n, MaxLikeRun)
			}
			r.masks = map[rune]uint64{}
			i := 0
			for _, c := range text {
				if c == '_' {
					r.any |= 1 << i
				} else {
					r.masks[c] |= 1 << i
				}
				i++
			}
		}
		lp.runs = append(lp.runs, r)
	}
	return lp, nil
}

// at reports whether run r matches s from byte i on, and where it ends.
func (r *likeRun) at(s string, i int) (int, bool) {
	if !r.wild {
		if !strings.HasPrefix(s[i:], r.text) {
			return 0, false
		}
		return i + len(r.text), true
	}
	for j := 0; j < len(r.text); j++ {
		switch {
		case i >= len(s):
			return 0, false
		case r.text[j] == '_':
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
		case s[i] != r.text[j]:
			return 0, false
		default:
			i++
		}
	}
	return i, true
}

// find returns where the first match of run r in s from byte i on ends.
func (r *likeRun) find(s string, i int) (int, bool) {
	if !r.wild {
		j := strings.Index(s[i:], r.text)
		if j < 0 {
			return 0, false
		}
		return i + j + len(r.text), true
	}
	done := uint64(1) << (r.n - 1)
	var d uint64
	for i < len(s) {
		c, n := utf8.DecodeRuneInString(s[i:])
		i += n
		m := r.any
		if c != utf8.RuneError || n != 1 {
			m |= r.masks[c]
		}
		d = (d<<1 | 1) & m
		if d&done != 0 {
			return i, true
		}
	}
	return 0, false
}

// like reports whether s matches the SQL LIKE pattern p: % matches any run of
// characters, _ exactly one. It runs in time linear in len(s) (and
// len(p)): the first run must match at the start, the last at the end, and
// each one between at its first match after the one before, which leaves
// the most room to those after it.
func like(s string, p *pattern) bool {
	runs := p.runs
	first := &runs[0]
	i, ok := first.at(s, 0)
	if !ok {
		return false
	}
	if len(runs) == 1 {
		return i == len(s)
	}
	for k := 1; k < len(runs)-1; k++ {
		if runs[k].text == "" {
			continue
		}
		if i, ok = runs[k].find(s, i); !ok {
			return false
		}
	}
	return runs[len(runs)-1].suffix(s, i)
}

// suffix reports whether run r matches the end of s, from byte i on or later.
func (r *likeRun) suffix(s string, i int) bool {
	if !r.wild {
		return len(s)-i >= len(r.text) && strings.HasSuffix(s, r.text)
	}
	// A run with a _ matches r.n characters: the last r.n of s.
	j := len(s)
	for range r.n {
		if j <= i {
			return false
		}
		_, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
	}
	end, ok := r.at(s, j)
	return ok && end == len(s)
}
