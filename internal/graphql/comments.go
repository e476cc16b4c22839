package graphql

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/graphql-go/graphql/gqlerrors"
)

// byteOrderMark is U+FEFF in UTF-8, which GraphQL ignores wherever a space may
// stand.
var byteOrderMark = []byte("\uFEFF")

// The kinds of text scanText finds.
const (
	textString  = 's' // a string or a block string, its quotes included
	textComment = 'c' // from # to the end of its line
	textBOM     = 'b' // a byte order mark outside strings and comments
)

// scanText calls fn with each string, comment and byte order mark of body, in
// order: its kind and where it is, body[from:to]. A string ends where the
// lexer ends it, at its closing quote or, unterminated, at the end of its
// line (a block string at the end of body).
func scanText(body []byte, fn func(kind byte, from, to int)) {
	for i := 0; i < len(body); {
		start := i
		switch {
		case bytes.HasPrefix(body[i:], []byte(`"""`)):
			i += 3
			for i < len(body) && !bytes.HasPrefix(body[i:], []byte(`"""`)) {
				if bytes.HasPrefix(body[i:], []byte(`\"""`)) {
					i += 3
				}
				i++
			}
			i = min(i+3, len(body))
			fn(textString, start, i)
		case body[i] == '"':
			i++
			for i < len(body) && body[i] != '"' && body[i] != '\n' && body[i] != '\r' {
				if body[i] == '\\' {
					i++
				}
				i++
			}
			i = min(i+1, len(body))
			fn(textString, start, i)
		case body[i] == '#':
			for i < len(body) && body[i] != '\n' && body[i] != '\r' {
				i++
			}
			fn(textComment, start, i)
		case bytes.HasPrefix(body[i:], byteOrderMark):
			i += len(byteOrderMark)
			fn(textBOM, start, i)
		default:
			i++
		}
	}
}

// blankComments returns body with each byte of a character beyond ASCII in
// a comment, and of a byte order mark outside a string, written as a space,
// which keeps every offset, line and column of the request. graphql-go's
// lexer counts what it skips before a token (spaces, commas, comments, byte
// order marks) in characters but reads on in bytes, so a name after a comment
// such as "# café" was read from the wrong place: { User { # é
// name } } asked for a field "ame", and "# café\nquery Q { … }" did not
// parse. The spaces make the two counts agree; what a comment says, or that a
// byte order mark was there, means nothing to the request. body is returned
// as it is when it needs no change.
func blankComments(body []byte) []byte {
	if isASCII(body) {
		return body
	}
	out := bytes.Clone(body)
	scanText(body, func(kind byte, from, to int) {
		if kind == textString {
			return
		}
		for k := from; k < to; k++ {
			if out[k] >= utf8.RuneSelf {
				out[k] = ' '
			}
		}
	})
	return out
}

// isASCII reports whether b holds ASCII characters only.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// inString returns err, an error of graphql-go's parser of body, located
// where it stands when it is an error within a string: the lexer places those
// at the string's byte offset plus the characters of the string before the
// error, which is too far left after a character beyond ASCII in it.
func inString(body []byte, err error) error {
	e, ok := err.(*gqlerrors.Error)
	if !ok || len(e.Positions) != 1 || isASCII(body) || !strings.Contains(e.Message, "Invalid character within String") &&
		!strings.Contains(e.Message, "Invalid character escape sequence") && !strings.Contains(e.Message, "Unterminated string.") {
		return err
	}
	pos := e.Positions[0]
	from := -1 // the string the error is in: the last one that starts at or before pos
	scanText(body, func(kind byte, start, _ int) {
		if kind == textString && start <= pos {
			from = start
		}
	})
	if from < 0 {
		return err
	}
	at := from
	for n := pos - from; n > 0 && at < len(body); n-- {
		_, size := utf8.DecodeRune(body[at:])
		at += size
	}
	return gqlerrors.NewError(e.Message, nil, "", nil, []int{at}, nil)
}
