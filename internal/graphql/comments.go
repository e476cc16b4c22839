package graphql

import "bytes"

// byteOrderMark is U+FEFF in UTF-8, which GraphQL ignores wherever a space may
// stand.
var byteOrderMark = []byte("\uFEFF")

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
	ascii := true
	for _, b := range body {
		if b >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return body
	}
	out := body
	cloned := false
	blank := func(from, to int) {
		if !cloned {
			out, cloned = bytes.Clone(body), true
		}
		for k := from; k < to; k++ {
			out[k] = ' '
		}
	}
	for i := 0; i < len(body); {
		switch {
		case bytes.HasPrefix(body[i:], []byte(`"""`)): // a block string, to its closing """
			i += 3
			for i < len(body) && !bytes.HasPrefix(body[i:], []byte(`"""`)) {
				if bytes.HasPrefix(body[i:], []byte(`\"""`)) {
					i += 3
				}
				i++
			}
			i += 3
		case body[i] == '"': // a string, to its closing " or the end of its line
			i++
			for i < len(body) && body[i] != '"' && body[i] != '\n' && body[i] != '\r' {
				if body[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case body[i] == '#': // a comment, to the end of its line
			for i < len(body) && body[i] != '\n' && body[i] != '\r' {
				if body[i] >= 0x80 {
					blank(i, i+1)
				}
				i++
			}
		case bytes.HasPrefix(body[i:], byteOrderMark):
			blank(i, i+len(byteOrderMark))
			i += len(byteOrderMark)
		default:
			i++
		}
	}
	return out
}
