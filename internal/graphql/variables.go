package graphql

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/printer"
)

// checkVariables refuses the variables of op (vars, as sent) that graphql-go
// lets through though the specification's input coercion refuses them: a null
// for a variable of a non-null type, which graphql-go reports as not provided,
// and a value, or one within a list or an input object, of the wrong kind for
// GraphQL's String, ID or Boolean, which graphql-go turns into one ("no" was
// true, 5 was "5"). Any other value it leaves to graphql-go (Int, Float and
// gossipdb's own scalars parse variables strictly). The errors are
// graphql-go's, located at the variable's definition; Do and Subscribe answer
// them before the request runs.
func checkVariables(g *generated, op *ast.OperationDefinition, vars map[string]any) []gqlerrors.FormattedError {
	var errs []gqlerrors.FormattedError
	for _, vd := range op.VariableDefinitions {
		if vd.Variable == nil || vd.Variable.Name == nil || vd.Variable.Name.Value == nullVar {
			continue
		}
		name := vd.Variable.Name.Value
		v, sent := vars[name]
		if !sent {
			continue
		}
		var msg string
		if _, nonNull := vd.Type.(*ast.NonNull); nonNull && v == nil {
			msg = fmt.Sprintf("Variable \"$%s\" of non-null type \"%v\" must not be null.", name, printer.Print(vd.Type))
		} else if why := wrongKind(v, inputType(g, vd.Type)); why != "" {
			b, _ := json.Marshal(v)
			msg = fmt.Sprintf("Variable \"$%s\" got invalid value %s.\n%s", name, b, why)
		}
		if msg != "" {
			errs = append(errs, gqlerrors.FormatError(gqlerrors.NewError(msg, []ast.Node{vd}, "", nil, nil, nil)))
		}
	}
	return errs
}

// wrongKind says, in graphql-go's words, where v holds a value of the wrong
// kind for GraphQL's String, ID or Boolean, "" if it holds none.
func wrongKind(v any, t graphql.Input) string {
	if v == nil {
		return ""
	}
	switch t := t.(type) {
	case *graphql.NonNull:
		return wrongKind(v, t.OfType)
	case *graphql.List:
		list, ok := v.([]any)
		if !ok {
			return wrongKind(v, t.OfType) // one value is a list of one
		}
		for i, e := range list {
			if why := wrongKind(e, t.OfType); why != "" {
				return fmt.Sprintf("In element #%d: %s", i+1, why)
			}
		}
	case *graphql.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		fields := t.Fields()
		names := make([]string, 0, len(m))
		for k := range m {
			if fields[k] != nil {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			if why := wrongKind(m[k], fields[k].Type); why != "" {
				return fmt.Sprintf("In field \"%s\": %s", k, why)
			}
		}
	case *graphql.Scalar:
		var ok bool
		switch t.Name() {
		case graphql.String.Name():
			_, ok = v.(string)
		case graphql.Boolean.Name():
			_, ok = v.(bool)
		case graphql.ID.Name():
			ok = isID(v)
		default:
			return ""
		}
		if !ok {
			b, _ := json.Marshal(v)
			return fmt.Sprintf("Expected type \"%s\", found %s.", t.Name(), b)
		}
	}
	return ""
}

// isID reports whether v is an ID's input: a string or an integer.
func isID(v any) bool {
	switch n := v.(type) {
	case string, int, int64:
		return true
	case json.Number:
		_, err := n.Int64()
		return err == nil
	case float64:
		return n == math.Trunc(n) && math.Abs(n) < 1<<63
	}
	return false
}
