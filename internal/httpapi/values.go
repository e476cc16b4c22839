package httpapi

import (
	"bytes"
	"encoding/json"
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
// naming its field (and "document i" in an array). The body is decoded once,
// straight from the connection; the check reads a copy of the bytes the
// decoder consumed, which decode has read to their end.
func decodeDocuments(r *http.Request) (any, error) {
	if r.Body == nil {
		return nil, badRequest("%s", msgEmptyBody)
	}
	var raw bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= MaxBodySize {
		raw.Grow(int(r.ContentLength))
	}
	var body any
	if err := decodeFrom(io.TeeReader(r.Body, &raw), &body, false); err != nil {
		return nil, err
	}
	if err := checkStrings(raw.Bytes()); err != nil {
		return nil, err
	}
	return body, nil
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
