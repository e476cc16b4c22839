package jsonerr_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/jsonerr"
)

type op struct {
	Op     string            `json:"op"`
	Fields map[string]any    `json:"fields"`
	Limit  uint              `json:"limit"`
	Height int64             `json:"height"`
	Score  float64           `json:"score"`
	Value  json.Number       `json:"value"`
	Flag   *bool             `json:"flag"`
	Tags   []string          `json:"tags"`
	Named  map[string]string `json:"named"`
}

type request struct {
	Ops []op `json:"ops"`
}

func TestTypeMismatch(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`[]`, `want an object, got a list`},
		{`"ops"`, `want an object, got a string`},
		{`{"ops": {}}`, `"ops": want a list, got an object`},
		{`{"ops": [1]}`, `"ops": want an object, got a number`},
		{`{"ops": [{"op": 1}]}`, `"ops.op": want a string, got a number`},
		{`{"ops": [{"fields": 3}]}`, `"ops.fields": want an object, got a number`},
		{`{"ops": [{"limit": -1}]}`, `"ops.limit": want a whole number from 0, got -1`},
		{`{"ops": [{"height": 1.5}]}`, `"ops.height": want a whole number, got 1.5`},
		{`{"ops": [{"score": "1"}]}`, `"ops.score": want a number, got a string`},
		{`{"ops": [{"value": true}]}`, `"ops.value": want a number, got true or false`},
		{`{"ops": [{"flag": "yes"}]}`, `"ops.flag": want true or false, got a string`},
		{`{"ops": [{"tags": [1]}]}`, `"ops.tags": want a string, got a number`},
		{`{"ops": [{"named": {"a": []}}]}`, `"ops.named": want a string, got a list`},
	} {
		var r request
		err := json.Unmarshal([]byte(tc.body), &r)
		msg, ok := jsonerr.TypeMismatch(err)
		if !ok || msg != tc.want {
			t.Errorf("%s: %q, %v; want %q (encoding/json said: %v)", tc.body, msg, ok, tc.want, err)
		}
	}
}

func TestTypeMismatchOtherErrors(t *testing.T) {
	var r request
	for _, err := range []error{json.Unmarshal([]byte(`{"ops": [`), &r), errors.New("some error"), nil} {
		if msg, ok := jsonerr.TypeMismatch(err); ok {
			t.Errorf("%v: %q, want no message", err, msg)
		}
	}
}

func TestDescribe(t *testing.T) {
	long := strings.Repeat("x", 63) + "é" // é starts at byte 63: cut before it
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, `null`},
		{true, `true`},
		{"Ada", `"Ada"`},
		{long, `"` + strings.Repeat("x", 63) + `"…`},
		{json.Number("12"), `12`},
		{json.Number("0x10"), `"0x10"`},
		{json.RawMessage(`{"a":1}`), `"{\"a\":1}"`},
		{[]any{json.Number("1"), "a", "<x>"}, `[1,"a","<x>"]`},
		{map[string]any{"_gt": json.Number("1")}, `{"_gt":1}`},
		{[]int{1}, `[1] ([]int)`},
		{5, `5 (int)`},
	} {
		if got := jsonerr.Describe(tc.v); got != tc.want {
			t.Errorf("Describe(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
