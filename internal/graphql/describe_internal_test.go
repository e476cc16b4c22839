package graphql

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDescribe: a value in an error message shows as JSON text, as the
// request wrote it, not with its Go type ([1] was "[1] ([]interface {})",
// true "true (bool)").
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, "null"},
		{true, "true"},
		{json.Number("1.50"), "1.50"},
		{json.Number("x"), `"x"`},
		{"Ada", `"Ada"`},
		{"<a&b>", `"<a&b>"`},
		{[]any{json.Number("1"), "x", nil}, `[1,"x",null]`},
		{map[string]any{"age": map[string]any{"_eq": false}}, `{"age":{"_eq":false}}`},
		{[]any{strings.Repeat("x", 100)}, `["` + strings.Repeat("x", 62) + "…"},
		{struct{}{}, "{} (struct {})"},
	} {
		if got := describe(c.v); got != c.want {
			t.Errorf("describe(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}
