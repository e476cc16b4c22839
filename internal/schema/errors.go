package schema

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error that rejects a definition, whether it
// comes from SDL (Parse), from a crdt.Schema (Encode, ID) or from bytes (Decode).
var ErrInvalid = errors.New("schema: invalid definition")

// Error describes why a definition was rejected. It wraps ErrInvalid.
type Error struct {
	Type   string // the type the error is about; "" when not known
	Field  string // the field the error is about; "" when the error is not about one field
	Line   int    // 1-based line in the SDL; 0 when there is no position (Encode, Decode, empty input)
	Column int    // 1-based column, counted in characters; 0 when Line is 0
	Msg    string // what is wrong
}

// Error returns the message, e.g.
// `schema: line 3, column 5: type User, field "friend": relations are not supported yet`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("schema: ")
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(", column ")
		b.WriteString(strconv.Itoa(e.Column))
		b.WriteString(": ")
	}
	if e.Type != "" {
		b.WriteString("type ")
		if validName(e.Type) {
			b.WriteString(clip(e.Type, maxEcho))
		} else {
			b.WriteString(strconv.Quote(clip(e.Type, maxEcho)))
		}
	}
	if e.Field != "" {
		if e.Type != "" {
			b.WriteString(", ")
		}
		b.WriteString("field ")
		b.WriteString(strconv.Quote(clip(e.Field, maxEcho)))
	}
	if e.Type != "" || e.Field != "" {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// maxEcho is the most bytes of a name or value from the input that a message
// repeats, so that a huge input does not make a huge message.
const maxEcho = MaxNameLength

// clip returns s cut to at most n bytes (at a character boundary) followed by
// "…" if it is longer.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
