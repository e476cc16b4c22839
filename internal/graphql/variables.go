package graphql

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/printer"
)

// checkVariables refuses the variables of op (vars, as sent) whose values do
// not fit their types, as graphql-go would, and those that give null to an
// operator that cannot take one (see nullOperandsRule), which graphql-go
// passes, but for three of its faults: its
// String, Boolean and ID turn a value of any kind into one ("no" was true, 5
// was "5"), a null for a variable of a non-null type it reports as not
// provided, and it numbers the elements of a list by its own messages rather
// than by their places ([1, 2, "x"] had its "x" "In element #1"). The errors are
// in graphql-go's words, located at the variable's definition; Do and
// Subscribe answer them before the request runs. A variable not sent is left
// to graphql-go.
func checkVariables(g *generated, op *ast.OperationDefinition, vars map[string]any) []gqlerrors.FormattedError {
	var errs []gqlerrors.FormattedError
	for _, vd := range op.VariableDefinitions {
		if vd.Variable == nil || vd.Variable.Name == nil || vd.Variable.Name.Value == nullVar {
			continue
		}
		name := vd.Variable.Name.Value
		v, sent := vars[name]
		t := inputType(g, vd.Type)
		if !sent || t == nil {
			continue
		}
		var msg string
		if _, nonNull := t.(*graphql.NonNull); nonNull && v == nil {
			msg = fmt.Sprintf("Variable \"$%s\" of non-null type \"%v\" must not be null.", name, printer.Print(vd.Type))
		} else if why := misfits(v, t); len(why) > 0 {
			b, _ := json.Marshal(v)
			msg = fmt.Sprintf("Variable \"$%s\" got invalid value %s.\n%s", name, b, strings.Join(why, "\n"))
		}
		if msg != "" {
			errs = append(errs, gqlerrors.FormatError(gqlerrors.NewError(msg, []ast.Node{vd}, "", nil, nil, nil)))
		}
	}
	return errs
}

// misfits says, in graphql-go's words, where v, a variable's value as sent,
// does not fit type t, or gives null to an operator that cannot take one
// (see refusesNull); none if it fits.
func misfits(v any, t graphql.Input) []string {
	if v == nil {
		if nn, ok := t.(*graphql.NonNull); ok {
			return []string{fmt.Sprintf("Expected \"%v!\", found null.", nn.OfType.Name())}
		}
		return nil
	}
	switch t := t.(type) {
	case *graphql.NonNull:
		return misfits(v, t.OfType)
	case *graphql.List:
		list, ok := v.([]any)
		if !ok {
			return misfits(v, t.OfType) // one value is a list of one
		}
		var out []string
		for i, e := range list {
			for _, why := range misfits(e, t.OfType) {
				out = append(out, fmt.Sprintf("In element #%d: %s", i+1, why))
			}
		}
		return out
	case *graphql.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("Expected \"%s\", found not an object.", t.Name())}
		}
		fields := t.Fields()
		var out []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if fields[k] == nil {
				out = append(out, fmt.Sprintf("In field \"%s\": Unknown field.", k))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if e, sent := m[k]; sent && e == nil && refusesNull(k, fields[k].Type) {
				out = append(out, fmt.Sprintf("In field \"%s\": %s", k, nullOperand(k)))
				continue
			}
			for _, why := range misfits(m[k], fields[k].Type) {
				out = append(out, fmt.Sprintf("In field \"%s\": %s", k, why))
			}
		}
		return out
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
			ok = !nullish(t.ParseValue(v))
		}
		if !ok {
			return []string{fmt.Sprintf("Expected type \"%s\", found %s.", t.Name(), found(v))}
		}
	case *graphql.Enum:
		if nullish(t.ParseValue(v)) {
			return []string{fmt.Sprintf("Expected type \"%s\", found %s.", t.Name(), found(v))}
		}
	}
	return nil
}

// found writes v, a value as sent, in an error: as JSON, so that a string
// is told from a number or a boolean (graphql-go writes "%v" quoted).
func found(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
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

// requiredDefault is in graphql-go's error about a variable of a non-null type
// with a default value, which the specification allows since its June 2018
// edition: the default is the value when none is sent.
const requiredDefault = `" is required and will not use the default value.`

// allowRequiredDefaults drops graphql-go's errors about variables of a
// non-null type with a default value (see requiredDefault).
func allowRequiredDefaults(errs []gqlerrors.FormattedError) []gqlerrors.FormattedError {
	return slices.DeleteFunc(errs, func(e gqlerrors.FormattedError) bool {
		return strings.HasPrefix(e.Message, `Variable "$`) && strings.Contains(e.Message, requiredDefault)
	})
}

// withRequiredDefaults returns vars with the default value of each variable of
// op of a non-null type that vars does not hold, for graphql-go, which takes
// such a variable to be missing; vars itself when there is none.
func withRequiredDefaults(op *ast.OperationDefinition, vars map[string]any) map[string]any {
	out := vars
	for _, vd := range op.VariableDefinitions {
		if _, nonNull := vd.Type.(*ast.NonNull); !nonNull || vd.DefaultValue == nil || vd.Variable == nil || vd.Variable.Name == nil {
			continue
		}
		if _, sent := vars[vd.Variable.Name.Value]; sent {
			continue
		}
		if len(out) == len(vars) {
			out = maps.Clone(vars)
			if out == nil {
				out = map[string]any{}
			}
		}
		out[vd.Variable.Name.Value] = literal(vd.DefaultValue, nil)
	}
	return out
}

// keepNulls returns doc to run with vars, for graphql-go, which takes a null
// sent for a variable that has a default value to be no value and gives the
// variable its default: the specification (CoerceVariableValues) makes the
// null its value. In the doc returned, the variables of op that vars sends as
// null have no default; it is doc itself when there is none. Where such a
// variable stands for a value of a non-null type (@include's if, create_C's
// input), its null is refused: the validator allows a variable of a nullable
// type there only for its default. So is a variable sent as null, with a
// default or without, where it is the operand of an operator that cannot
// take null (see nullVariablesRule). The errors are located at the
// variable's definition and where it stands.
func keepNulls(g *generated, doc *ast.Document, op *ast.OperationDefinition, vars map[string]any) (*ast.Document, []gqlerrors.FormattedError) {
	var defs []*ast.VariableDefinition
	nulled := map[string]bool{} // sent as null, with a default
	sentNull := map[string]bool{}
	for i, vd := range op.VariableDefinitions {
		if vd.Variable == nil || vd.Variable.Name == nil {
			continue
		}
		if v, sent := vars[vd.Variable.Name.Value]; !sent || v != nil {
			continue
		}
		if _, named := vd.Type.(*ast.Named); named {
			sentNull[vd.Variable.Name.Value] = true // it may be an operator's operand
		}
		if vd.DefaultValue == nil {
			continue
		}
		if defs == nil {
			defs = slices.Clone(op.VariableDefinitions)
		}
		c := *vd
		c.DefaultValue = nil
		defs[i] = &c
		nulled[vd.Variable.Name.Value] = true
	}
	if len(sentNull) == 0 && defs == nil {
		return doc, nil
	}
	d := doc
	rules := []graphql.ValidationRuleFn{nullVariablesRule(op, sentNull)}
	if defs != nil {
		oc := *op
		oc.VariableDefinitions = defs
		dc := *doc
		dc.Definitions = slices.Clone(doc.Definitions)
		for i, def := range dc.Definitions {
			if def == op {
				dc.Definitions[i] = &oc
			}
		}
		d = &dc
		rules = []graphql.ValidationRuleFn{graphql.VariablesInAllowedPositionRule, nullVariablesRule(&oc, sentNull)}
	}
	var errs []gqlerrors.FormattedError
	for _, e := range graphql.ValidateDocument(&g.schema, d, rules).Errors {
		if m := nullUsage.FindStringSubmatch(e.Message); m != nil {
			if !nulled[m[1]] {
				continue // $__n, or a variable of another operation
			}
			e.Message = fmt.Sprintf("Variable \"$%s\" of type \"%s\" is null where type \"%s\" is expected: a null sent is the variable's value, not its default; send a value, or leave the variable out.", m[1], m[2], m[3])
		}
		errs = append(errs, e)
	}
	return d, errs
}

// nullUsage is graphql-go's error about a variable where its type does not
// fit: its name, its type and the type the position wants.
var nullUsage = regexp.MustCompile(`^Variable "\$([^"]+)" of type "([^"]+)" used in position expecting type "([^"]+)"\.$`)
