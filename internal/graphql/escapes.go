package graphql

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/kinds"
	"github.com/graphql-go/graphql/language/source"
	"github.com/graphql-go/graphql/language/visitor"
)

// surrogatePairs gives each string value of doc (parsed from src) that escapes
// a character beyond U+FFFF as a UTF-16 surrogate pair, as JSON writes it
// ("\uD83D\uDE00"), that character, and refuses a surrogate escaped without
// its other half, as the GraphQL specification has it. graphql-go's lexer
// decodes each \u escape on its own and writes U+FFFD for a surrogate, so such
// a value was stored as two replacement characters, and a lone one as one.
// The error is a syntax error, located at the escape.
func surrogatePairs(src *source.Source, doc *ast.Document) error {
	if !bytes.Contains(src.Body, []byte(`\u`)) {
		return nil
	}
	var err error
	visitor.Visit(doc, &visitor.VisitorOptions{KindFuncMap: map[string]visitor.NamedVisitFuncs{
		kinds.StringValue: {Kind: func(p visitor.VisitFuncParams) (string, any) {
			v, ok := p.Node.(*ast.StringValue)
			if !ok || v.Loc == nil || err != nil {
				return visitor.ActionNoChange, nil
			}
			raw := src.Body[v.Loc.Start:v.Loc.End]
			if bytes.HasPrefix(raw, []byte(`"""`)) || !bytes.Contains(raw, []byte(`\u`)) {
				return visitor.ActionNoChange, nil // a block string has no escapes but \"""
			}
			s, bad := unquote(raw)
			if bad >= 0 {
				err = gqlerrors.NewSyntaxError(src, v.Loc.Start+bad, fmt.Sprintf(
					`Invalid Unicode escape sequence: %s is half of a UTF-16 surrogate pair, without its other half.`, raw[bad:bad+6]))
				return visitor.ActionBreak, nil
			}
			v.Value = s
			return visitor.ActionNoChange, nil
		}},
	}}, nil)
	return err
}

// unquote decodes raw, the text of a string value the lexer has read (quotes
// included, its escapes well formed), joining each surrogate pair. bad is the
// offset in raw of a surrogate without its other half, else -1.
func unquote(raw []byte) (s string, bad int) {
	var b strings.Builder
	body := raw[1 : len(raw)-1]
	for i := 0; i < len(body); {
		if body[i] != '\\' {
			b.WriteByte(body[i])
			i++
			continue
		}
		switch c := body[i+1]; c {
		case 'u':
			r := hex4(body[i+2 : i+6])
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00 && i+12 <= len(body) && body[i+6] == '\\' && body[i+7] == 'u':
				r2 := hex4(body[i+8 : i+12])
				if r2 < 0xDC00 || r2 > 0xDFFF {
					return "", 1 + i
				}
				b.WriteRune(utf16.DecodeRune(r, r2))
				i += 12
				continue
			case utf16.IsSurrogate(r):
				return "", 1 + i
			}
			b.WriteRune(r)
			i += 6
			continue
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		default: // " / \
			b.WriteByte(c)
		}
		i += 2
	}
	return b.String(), -1
}

// hex4 is the value of four hexadecimal digits.
func hex4(h []byte) rune {
	n, _ := strconv.ParseUint(string(h), 16, 16)
	return rune(n)
}
