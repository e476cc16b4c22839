// Package jsonerr words encoding/json's errors, and the values of JSON in
// other errors, for whoever wrote the JSON, who knows its members and types
// but not the Go types they are decoded into.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TypeMismatch returns, for an error of encoding/json that says a JSON value
// has the wrong type for its place, a message that names the member by its
// path and the types wanted and got in JSON's terms:
//
//	"ops.op": want a string, got a number
//	want an object, got a list
//
// ok is false for any other error. encoding/json leaves list positions and
// the keys of maps out of the path: "ops.op" is the member op of an item of the
// list ops, and "named" may be a value inside the object named.
func TypeMismatch(err error) (msg string, ok bool) {
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) {
		return "", false
	}
	msg = fmt.Sprintf("want %s, got %s", want(ute.Type), got(ute.Value))
	if ute.Field != "" {
		msg = fmt.Sprintf("%q: %s", ute.Field, msg)
	}
	return msg, true
}

var numberType = reflect.TypeFor[json.Number]()

// want names the JSON values that decode into t.
func want(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == numberType {
		return "a number"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number from 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "another value"
}

// got names a JSON value as encoding/json describes it: "string", "number",
// "number 1.5" (a number too large or not whole for its place), "bool",
// "array", "object".
func got(value string) string {
	switch value {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	}
	if n, ok := strings.CutPrefix(value, "number "); ok {
		return n
	}
	return value
}

// maxDescribed is the most bytes of a value Describe shows.
const maxDescribed = 64

// Describe renders v, a value as a request gave it (as encoding/json decodes
// JSON, numbers as json.Number), for an error message: null, true or false, a
// string quoted, a json.Number as written (quoted, as text, when it is no
// JSON number), a json.RawMessage as its text, and lists and objects as JSON
// text; any other value, which only a Go caller gives, with its Go type, as
// in "5 (int)". A string, a number or a text of more than 64 bytes is cut
// there, at a character's start, and ends in "…".
func Describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case string:
		s, cut := shorten(v)
		return strconv.Quote(s) + cut
	case json.Number:
		if !json.Valid([]byte(v)) || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
			return Describe(string(v))
		}
		s, cut := shorten(string(v))
		return s + cut
	case json.RawMessage:
		return Describe(string(v))
	case []any, map[string]any:
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // a message, not a page: "<x>" as written
		if enc.Encode(v) == nil {
			s, cut := shorten(strings.TrimSuffix(b.String(), "\n"))
			return s + cut
		}
	}
	s, cut := shorten(fmt.Sprint(v))
	return fmt.Sprintf("%s%s (%T)", s, cut, v)
}

// shorten returns s cut to at most maxDescribed bytes at the start of a
// character, and "…" if it was cut.
func shorten(s string) (string, string) {
	if len(s) <= maxDescribed {
		return s, ""
	}
	i := maxDescribed
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i], "…"
}
