// Package jsonerr words encoding/json's errors for whoever wrote the JSON, who
// knows its members and types but not the Go types they are decoded into.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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
