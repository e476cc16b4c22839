package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
)

// decodeDocuments decodes a body of documents (one object or an array of them),
// numbers as json.Number, and then checks that every string in it decodes to
// what it says: encoding/json would turn invalid UTF-8 and escaped lone UTF-16
// surrogates ("\ud800") into U+FFFD, so a value would be stored other than
// written. Such a string is refused with ErrInvalid and a *gossipdb.FieldError
// naming its field (and "document i" in an array). The body is read whole into
// one buffer of its announced length, then decoded and checked from it once:
// while a body arrives it holds no more memory than its own bytes.
func decodeDocuments(r *http.Request) (any, error) {
	raw, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var body any
	if err := decodeFrom(raw, &body, false); err != nil {
		return nil, err
	}
	if err := checkStrings(raw); err != nil {
		return nil, err
	}
	return body, nil
}

// readBody reads r's body to its end, into a buffer of the announced length
// when there is one (and no larger than MaxBodySize), growing it otherwise. Its
// errors are the API's for bodies (bodyError; none at all is refused).
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, badRequest("%s", msgEmptyBody)
	}
	size := 512
	if r.ContentLength > 0 && r.ContentLength <= MaxBodySize {
		size = int(r.ContentLength) + 1 // +1: the read that finds the end
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, bodyError(err)
		}
	}
}

// checkStrings checks the strings of raw, a valid JSON value, and names the field
// of the first bad one. Bodies of other shapes are left for the handler to refuse.
func checkStrings(raw []byte) error {
	if goodStrings(raw) {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return checkFields(raw)
	}
	for i, doc := range list {
		if err := checkFields(doc); err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
	}
	return nil
}

// checkFields checks the strings of raw, a document object, field by field.
func checkFields(raw []byte) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		reason := ""
		switch esc := crdt.LoneSurrogate(v); {
		case !utf8.Valid(v):
			reason = "string is not valid UTF-8"
		case esc != "":
			reason = "string holds a lone UTF-16 surrogate (" + esc + ")"
		default:
			continue
		}
		return fmt.Errorf("%w: %w", gossipdb.ErrInvalid, &gossipdb.FieldError{Field: name, Reason: reason})
	}
	if !goodStrings(raw) { // a field name: never one of the collection's
		return badRequest("invalid JSON body: a field name is not valid UTF-8 or holds a lone UTF-16 surrogate")
	}
	return nil
}

// goodStrings reports whether raw, valid JSON text, is valid UTF-8 and escapes no
// lone UTF-16 surrogate.
func goodStrings(raw []byte) bool {
	return utf8.Valid(raw) && crdt.LoneSurrogate(raw) == ""
}
