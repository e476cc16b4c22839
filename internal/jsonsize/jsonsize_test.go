package jsonsize_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/jsonsize"
)

// TestValueBoundsItsJSON: for values whose strings need no escaping, the
// estimate is at least the JSON encoding's length less its numbers' and
// booleans' slack, and within a few bytes per value of it.
func TestValueBoundsItsJSON(t *testing.T) {
	for _, v := range []any{
		"",
		strings.Repeat("x", 1000),
		json.Number("12345"),
		int64(7), true, nil,
		[]any{"a", "bc", json.Number("1")},
		map[string]any{"name": "Ada", "tags": []any{"x", "y"}, "meta": map[string]any{"k": "v"}},
	} {
		data, _ := json.Marshal(v)
		if got := jsonsize.Value(v); got < len(data)-8 || got > len(data)+8 {
			t.Errorf("Value(%s) = %d, JSON is %d bytes", data, got, len(data))
		}
	}
}
