// Package jsonsize estimates the bytes a document's values take in a JSON
// answer, for the limits that bound an answer before it is encoded (the
// HTTP API's pages of documents, GraphQL's answer size).
package jsonsize

import "encoding/json"

// Value returns about the bytes v, a value of a document's fields as the node
// reads them (strings, json.Number, numbers, booleans, nil, lists and objects
// of those), takes in JSON: a string's or a number's text, 8 for any other
// scalar, and the keys and separators of lists and objects.
func Value(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case json.Number:
		return len(v)
	case []any:
		n := 0
		for _, e := range v {
			n += Value(e) + 1
		}
		return n + 2
	case map[string]any:
		n := 0
		for k, e := range v {
			n += len(k) + Value(e) + 4
		}
		return n + 2
	}
	return 8
}
