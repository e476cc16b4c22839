package crdt

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
)

// MaxListLen is the most items a list value, a set's additions or removals in one
// block, or the tags of one removed element may hold. Every block also stays
// within MaxBlockSize, which bounds a list's bytes.
const MaxListLen = 4096

// CompareValues orders canonical scalar values, as add-wins sets keep their
// elements: null, then booleans (false first), integers, floats (by value, -0
// before 0), strings (bytewise; DateTime values are strings in their canonical
// form). It returns -1, 0 or +1.
func CompareValues(a, b any) int {
	if c := cmp.Compare(valueRank(a), valueRank(b)); c != 0 {
		return c
	}
	switch a := a.(type) {
	case bool:
		switch b := b.(bool); {
		case a == b:
			return 0
		case b:
			return -1
		}
		return 1
	case int64:
		return cmp.Compare(a, b.(int64))
	case float64:
		b := b.(float64)
		if c := cmp.Compare(a, b); c != 0 {
			return c
		}
		switch sa, sb := math.Signbit(a), math.Signbit(b); {
		case sa == sb:
			return 0
		case sa:
			return -1 // -0 < 0
		}
		return 1
	case string:
		return strings.Compare(a, b.(string))
	}
	return 0
}

// valueRank orders the types of canonical scalars.
func valueRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case int64:
		return 2
	case float64:
		return 3
	case string:
		return 4
	}
	return 5
}

// item returns the field that describes one item of list field f.
func (f Field) item() Field {
	return Field{Name: f.Name, Kind: f.Kind, Required: f.ItemsRequired}
}

// detail returns e's message without the field name.
func (e *FieldError) detail() string {
	if e.Reason != "" {
		return e.Reason
	}
	return fmt.Sprintf("want %s, got %s", e.Want, describe(e.Got))
}

// normalizeList converts a Go slice or array given for list field f.
func (f Field) normalizeList(v any) (any, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, f.refuse(fmt.Sprintf("want a list %s, got %s", f.TypeName(), describe(v)))
	}
	if rv.Len() > MaxListLen {
		return nil, f.refuse(fmt.Sprintf("list of %d items, more than %d", rv.Len(), MaxListLen))
	}
	it := f.item()
	out := make([]any, rv.Len())
	for i := range out {
		x, err := it.Normalize(rv.Index(i).Interface())
		if err != nil {
			if rv.Index(i).Interface() == nil {
				return nil, f.refuse(fmt.Sprintf("item %d is null in %s, whose items are required", i, f.TypeName()))
			}
			return nil, f.refuse(fmt.Sprintf("item %d: %s", i, err.(*FieldError).detail()))
		}
		if x, ok := x.(float64); ok && f.AddWinsSet && x == 0 {
			out[i] = 0.0 // -0 and 0 are one element
			continue
		}
		out[i] = x
	}
	if f.AddWinsSet {
		slices.SortFunc(out, CompareValues)
		out = slices.CompactFunc(out, func(a, b any) bool { return CompareValues(a, b) == 0 })
	}
	return out, nil
}

// checkList is checkCanonical for list field f: v must be an []any of at most
// MaxListLen canonical items, null only if the items are nullable. An add-wins
// set field takes no list value (its blocks carry sadd and srem).
func (f Field) checkList(v any) *FieldError {
	list, ok := v.([]any)
	if !ok {
		return f.refuse(fmt.Sprintf("want a list %s, got %s", f.TypeName(), describe(v)))
	}
	if len(list) > MaxListLen {
		return f.refuse(fmt.Sprintf("list of %d items, more than %d", len(list), MaxListLen))
	}
	it := f.item()
	for i, x := range list {
		if x == nil && f.ItemsRequired {
			return f.refuse(fmt.Sprintf("item %d is null in %s, whose items are required", i, f.TypeName()))
		}
		if err := it.checkCanonical(x); err != nil {
			return f.refuse(fmt.Sprintf("item %d: %s", i, err.detail()))
		}
	}
	return nil
}

// checkElement checks a value a block adds to or removes from add-wins set field
// f: canonical for the set's kind, not null, and not the Float -0 (written 0).
func (f Field) checkElement(v any) *FieldError {
	if v == nil {
		return f.refuse("null is not a set element")
	}
	if err := f.item().checkCanonical(v); err != nil {
		return f.refuse(err.detail())
	}
	if x, ok := v.(float64); ok && x == 0 && math.Signbit(x) {
		return f.refuse("-0 is not canonical (write 0)")
	}
	return nil
}

// exportList is Export for list field f.
func (f Field) exportList(v any) any {
	list, ok := v.([]any)
	if (v != nil && !ok) || (v == nil && !f.AddWinsSet) {
		return v
	}
	if !f.ItemsRequired {
		out := make([]any, len(list))
		for i, x := range list {
			out[i] = f.item().Export(x)
		}
		return out
	}
	switch f.Kind {
	case KindString:
		return typedList[string](list)
	case KindInt:
		return typedList[int64](list)
	case KindFloat:
		return typedList[float64](list)
	case KindBoolean:
		return typedList[bool](list)
	case KindDateTime:
		out := make([]time.Time, 0, len(list))
		for _, x := range list {
			if t, ok := f.item().Export(x).(time.Time); ok {
				out = append(out, t)
			}
		}
		if f.AddWinsSet {
			slices.SortFunc(out, time.Time.Compare) // canonical strings do not sort by time
		}
		return out
	}
	return v
}

// typedList returns the items of list that are Ts.
func typedList[T any](list []any) []T {
	out := make([]T, 0, len(list))
	for _, x := range list {
		if x, ok := x.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// normalizeRelation converts a document ID given for relation field f.
func (f Field) normalizeRelation(v any) (any, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.String {
		return nil, f.refuse(fmt.Sprintf("want the document ID of a %s, got %s", f.Relation, describe(v)))
	}
	s := rv.String()
	c, err := cid.Decode(s)
	if err != nil || !checkLink(c) {
		return nil, f.refuse(fmt.Sprintf("%s is not a document ID (want the document ID of a %s)", describe(s), f.Relation))
	}
	if cs := c.String(); cs != s {
		return nil, f.refuse(fmt.Sprintf("document ID %s is not in its canonical form %q", describe(s), cs))
	}
	return s, nil
}
