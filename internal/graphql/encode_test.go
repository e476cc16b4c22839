package graphql

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// stdJSON is what encoding/json writes for v without HTML escaping.
func stdJSON(t *testing.T, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func TestAppendJSONAsEncodingJSON(t *testing.T) {
	v := map[string]any{
		"User": []any{
			map[string]any{"_docID": "bafy", "name": "Ada <&> \"q\" \\ \n\t\x01 \u2028 é \xff", "age": int64(-36),
				"points": 9.5, "tiny": 1e-7, "huge": 1e21, "neg": -0.0, "ok": true, "none": nil, "n": 3,
				"raw": json.Number("12345678901234567890"), "meta": map[string]any{"b": []any{1.5, "x"}, "a": false}},
		},
		"_count": int64(math.MaxInt64),
	}
	got, err := appendJSON(nil, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := stdJSON(t, v); string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := appendJSON(nil, math.Inf(1), nil); err == nil {
		t.Fatal("infinity encoded")
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("Ada \u2029 \xfe", 1.5e-9, int64(7))
	f.Fuzz(func(t *testing.T, s string, x float64, i int64) {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return
		}
		v := map[string]any{s: []any{s, x, i}}
		got, err := appendJSON(nil, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := stdJSON(t, v); string(got) != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}
