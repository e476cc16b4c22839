package graphql

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/gossipdb/gossipdb/crdt"
)

// The scalars of the schema that GraphQL's built-in ones do not cover. A value
// that does not fit parses as nil, which the validator reports as a value of the
// wrong type, with its line and column.
var (
	// intScalar replaces GraphQL's 32-bit Int: an Int field holds any int64.
	intScalar = graphql.NewScalar(graphql.ScalarConfig{
		Name:         "Int",
		Description:  "A signed 64-bit integer.",
		Serialize:    serializeInt,
		ParseValue:   parseIntValue,
		ParseLiteral: parseIntLiteral,
	})

	// floatScalar replaces GraphQL's Float, which it parses alike, so that
	// the aggregates typed Float (_sum, _min, _max) answer an Int field's
	// int64 with every digit rather than rounded to a float64.
	floatScalar = graphql.NewScalar(graphql.ScalarConfig{
		Name:         "Float",
		Description:  graphql.Float.Description(),
		Serialize:    serializeFloat,
		ParseValue:   parseFloatValue,
		ParseLiteral: graphql.Float.ParseLiteral,
	})

	// dateTimeScalar is an RFC 3339 string, as in documents.
	dateTimeScalar = graphql.NewScalar(graphql.ScalarConfig{
		Name:         "DateTime",
		Description:  "A point in time, written as an RFC 3339 string such as \"2026-12-02T09:00:00Z\".",
		Serialize:    serializeDateTime,
		ParseValue:   parseDateTimeValue,
		ParseLiteral: parseDateTimeLiteral,
	})

	// jsonScalar is any JSON value.
	jsonScalar = graphql.NewScalar(graphql.ScalarConfig{
		Name:         "JSON",
		Description:  "Any JSON value.",
		Serialize:    func(v any) any { return v },
		ParseValue:   func(v any) any { return v },
		ParseLiteral: func(v ast.Value) any { return literal(v, nil) },
	})
)

func serializeInt(v any) any {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	return nil
}

// serializeFloat keeps an int64 (an aggregate of an Int field) as it is, and
// serializes any other value as GraphQL's Float does.
func serializeFloat(v any) any {
	if n, ok := v.(int64); ok {
		return n
	}
	return graphql.Float.Serialize(v)
}

// parseIntValue reads an Int variable. A JSON number that denotes an integer
// exactly is one however it is written (20, 20.0, 2e1), as for a field of
// kind Int (crdt.Field.Normalize) and in JavaScript's GraphQL servers.
func parseIntValue(v any) any {
	switch n := v.(type) {
	case json.Number:
		if i, err := (crdt.Field{Kind: crdt.KindInt}).Normalize(n); err == nil {
			return i
		}
	case float64: // a variable decoded without json.Number
		if n == math.Trunc(n) && math.Abs(n) < 1<<63 {
			return int64(n)
		}
	case int64:
		return n
	case int:
		return int64(n)
	}
	return nil
}

// parseFloatValue reads a Float variable: variables are decoded with their
// numbers as json.Number, which graphql-go's Float does not take. A string or
// a boolean is no Float, though graphql-go's turns "3" into 3 and true into 1.
func parseFloatValue(v any) any {
	switch n := v.(type) {
	case json.Number:
		if f, err := strconv.ParseFloat(string(n), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
		return nil
	case string, *string, bool, *bool:
		return nil
	}
	return graphql.Float.ParseValue(v)
}

func parseIntLiteral(v ast.Value) any {
	if iv, ok := v.(*ast.IntValue); ok {
		if i, err := strconv.ParseInt(iv.Value, 10, 64); err == nil {
			return i
		}
	}
	return nil
}

func serializeDateTime(v any) any {
	switch t := v.(type) {
	case time.Time:
		return t.Format(time.RFC3339Nano)
	case string:
		return t
	}
	return nil
}

// parseDateTimeValue takes a string that has the shape of an RFC 3339
// date-time, "T" and "Z" in either case as RFC 3339 allows; the value is
// then normalised as a field's (crdt.Field.Normalize), which refuses, saying
// why, what the shape lets through (ten fraction digits, an offset of +24:00).
func parseDateTimeValue(v any) any {
	if s, ok := v.(string); ok {
		if _, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s)); err == nil {
			return s
		}
	}
	return nil
}

func parseDateTimeLiteral(v ast.Value) any {
	if sv, ok := v.(*ast.StringValue); ok {
		return parseDateTimeValue(sv.Value)
	}
	return nil
}
