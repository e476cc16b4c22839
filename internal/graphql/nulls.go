package graphql

import (
	"bytes"
	"strings"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/lexer"
	"github.com/graphql-go/graphql/language/source"
)

// graphql-go's parser has no null literal. A request's nulls in value position
// are written as the variable $__n instead, which is as long, so every line
// and column stays; each operation declares it (as a Boolean), its value is
// null, and the validator's complaints about its type or its use are dropped.
// The resolvers read arguments from the request itself (see request.arg), so
// $__n reaches them as the null it stands for.
const (
	nullVar     = "__n"
	nullLiteral = "null"
)

// rewriteNulls returns body with each null in value position written as $__n,
// and whether there was one. A request that names $__n itself is left alone.
// A null is in value position when it is an element of a list, or follows the
// colon of an argument or of an object field; a default value of a variable
// must be a constant, so a null there is left for the parser to refuse.
func rewriteNulls(body []byte) ([]byte, bool) {
	if !bytes.Contains(body, []byte(nullLiteral)) || bytes.Contains(body, []byte("$"+nullVar)) {
		return body, false
	}
	const (
		inArgs   = 'a' // ( … ): arguments or variable definitions
		inObject = 'o' // { … } after a colon or in a list: an object value
		inList   = 'l' // [ … ]: a list value, or a list type
		inSet    = 's' // { … } elsewhere: a selection set
	)
	lex := lexer.Lex(source.NewSource(&source.Source{Body: body}))
	var stack []byte
	var prev lexer.TokenKind
	var out []byte
	for {
		tok, err := lex(0)
		if err != nil || tok.Kind == lexer.EOF {
			break
		}
		var top byte
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		value := top == inList || prev == lexer.COLON && (top == inArgs || top == inObject)
		switch tok.Kind {
		case lexer.BRACE_L:
			if value {
				stack = append(stack, inObject)
			} else {
				stack = append(stack, inSet)
			}
		case lexer.BRACKET_L:
			stack = append(stack, inList)
		case lexer.PAREN_L:
			stack = append(stack, inArgs)
		case lexer.BRACE_R, lexer.BRACKET_R, lexer.PAREN_R:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case lexer.NAME:
			if value && tok.Value == nullLiteral {
				if out == nil {
					out = bytes.Clone(body)
				}
				copy(out[tok.Start:], "$"+nullVar)
			}
		}
		prev = tok.Kind
	}
	if out == nil {
		return body, false
	}
	return out, true
}

// nullPosition begins the validator's error about $__n where a value of
// another type stands, the type that position wants following it.
const nullPosition = `Variable "$` + nullVar + `" of type "Boolean" used in position expecting type `

// declareNull makes each operation of doc declare $__n.
func declareNull(doc *ast.Document) {
	for _, d := range doc.Definitions {
		if op, ok := d.(*ast.OperationDefinition); ok {
			op.VariableDefinitions = append(op.VariableDefinitions, ast.NewVariableDefinition(&ast.VariableDefinition{
				Variable: ast.NewVariable(&ast.Variable{Name: ast.NewName(&ast.Name{Value: nullVar})}),
				Type:     ast.NewNamed(&ast.Named{Name: ast.NewName(&ast.Name{Value: "Boolean"})}),
			}))
		}
	}
}

// nullErrors drops the validator's errors about $__n (its type does not fit
// where it stands, or an operation does not use it) and writes it back as null
// in the others. Where it stands for a value of a non-null type (an argument
// such as create_C's input, an element of a list of IDs, @include's if), the
// specification's rule that a value fits its position refuses the null: the
// error says so, where it stands.
func nullErrors(errs []gqlerrors.FormattedError) []gqlerrors.FormattedError {
	var out []gqlerrors.FormattedError
	for _, e := range errs {
		if want, ok := strings.CutPrefix(e.Message, nullPosition); ok && strings.HasSuffix(want, `!".`) {
			e.Message = "Expected type " + want[:len(want)-1] + ", found null."
			out = append(out, e)
			continue
		}
		if strings.Contains(e.Message, `"$`+nullVar+`"`) {
			continue
		}
		e.Message = strings.ReplaceAll(e.Message, "$"+nullVar, nullLiteral)
		out = append(out, e)
	}
	return out
}
