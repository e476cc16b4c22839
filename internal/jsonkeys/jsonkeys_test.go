package jsonkeys_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/jsonkeys"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		text string
		key  string // "" for none
		path string
	}{
		{text: `{}`},
		{text: `[]`},
		{text: `"a"`},
		{text: `12`},
		{text: `{"a":1,"b":2}`},
		{text: `{"a":"a","b":"a"}`}, // equal values are fine
		{text: `{"a":{"a":1},"b":[{"a":1},{"a":2}]}`}, // same key in different objects
		{text: `{"a\"":1,"a":2}`},
		{text: `{"a":1,"A":2}`},
		{text: `{"k":"{\"a\":1,\"a\":2}"}`}, // keys inside a string value
		{text: `{"name":"a","name":"b"}`, key: "name"},
		{text: ` { "name" : 1 , "name" : 1 } `, key: "name"},
		{text: `{"a":1,"\u0061":2}`, key: "a"},
		{text: `{"\u00e9":1,"é":2}`, key: "é"},
		{text: `{"\/":1,"/":2}`, key: "/"},
		{text: "{\"a\xff\":1,\"a\xfe\":2}", key: "a\ufffd"}, // invalid UTF-8 decodes to U+FFFD
		{text: `{"x":1,"y":2,"z":3,"w":4,"y":5}`, key: "y"},
		{text: `{"a":{"b":{"c":1,"c":2}}}`, key: "c", path: "a.b"},
		{text: `[{"a":1},{"a":1,"a":2}]`, key: "a", path: "[1]"},
		{text: `{"ops":[{"op":"create"},{"fields":{"n":1,"n":2}}]}`, key: "n", path: "ops[1].fields"},
		{text: `{"a":[[1,2],[3,{"k":1,"k":2}]]}`, key: "k", path: "a[1][1]"},
		{text: `{"a.b":{"c":1,"c":1}}`, key: "c", path: `["a.b"]`},
		{text: `{"x":{"a":1,"a":2},"x":3}`, key: "a", path: "x"}, // the inner object closes first
		{text: `{"v":{"k":[1,{"q":{}}],"m":1,"m":2}}`, key: "m", path: "v"},
		{text: `{"\u0061":{"\u0062":1},"\u0063":{"\u0061":1},"a":2}`, key: "a"},
		{text: `{"\u0061":{"\u0062":1},"\u0063":{"\u0064":1},"\u0078":{"y":1,"\u0079":2}}`, key: "y", path: "x"},
	} {
		if !json.Valid([]byte(tc.text)) {
			t.Fatalf("%s: not valid JSON", tc.text)
		}
		err := jsonkeys.Check([]byte(tc.text))
		if tc.key == "" {
			if err != nil {
				t.Errorf("%s: %v, want no error", tc.text, err)
			}
			continue
		}
		var de *jsonkeys.DuplicateError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v, want a *DuplicateError", tc.text, err)
			continue
		}
		if de.Key != tc.key || de.Path != tc.path {
			t.Errorf("%s: key %q path %q, want %q %q", tc.text, de.Key, de.Path, tc.key, tc.path)
		}
	}
}

func TestCheckMessage(t *testing.T) {
	err := jsonkeys.Check([]byte(`{"ops":[{"fields":{"name":1,"name":2}}]}`))
	if got, want := fmt.Sprint(err), `duplicate key "name" in ops[0].fields`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	err = jsonkeys.Check([]byte(`{"name":1,"name":2}`))
	if got, want := fmt.Sprint(err), `duplicate key "name"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCheckManyKeys checks an object of many keys, the duplicate last.
func TestCheckManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 5000 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"k0":0}`)
	var de *jsonkeys.DuplicateError
	if err := jsonkeys.Check([]byte(b.String())); !errors.As(err, &de) || de.Key != "k0" {
		t.Fatalf("%v, want duplicate k0", err)
	}
}

// bigDocument is a JSON object of about size bytes: many members, lists of
// objects, strings.
func bigDocument(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","tags":["a","b"],"note":"%s"}`, i, i, strings.Repeat("x", 40))
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkCheck measures Check against decoding the same text into any with
// encoding/json, as the HTTP API does.
func BenchmarkCheck(b *testing.B) {
	text := bigDocument(1 << 20)
	b.Run("check", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			if err := jsonkeys.Check(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(text, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type inner struct {
	Name string `json:"name"`
}

type request struct {
	Query   string         `json:"query"`
	Vars    map[string]any `json:"variables"`
	Ops     []inner        `json:"ops"`
	One     *inner         `json:"one"`
	Raw     json.RawMessage
	Skipped string `json:"-"`
}

// TestCheckFor: keys that encoding/json matches to one struct field
// regardless of case are refused; keys of maps and raw values are compared
// as they are.
func TestCheckFor(t *testing.T) {
	for _, tc := range []struct {
		text      string
		key, same string // "" for none
		path      string
	}{
		{text: `{"query": "a", "variables": {"n": 1, "N": 2}}`},
		{text: `{"query": "a", "Raw": {"x": 1, "X": 2}}`},
		{text: `{"query": "a", "unknown": 1, "UNKNOWN": 2}`},
		{text: `{"query": "a", "Query": "b"}`, key: "Query", same: "query"},
		{text: `{"QUERY": "a", "query": "b"}`, key: "query", same: "QUERY"},
		{text: `{"raw": 1, "Raw": 2}`, key: "Raw", same: "raw"},
		{text: `{"ops": [{"name": "a"}, {"name": "a", "NAME": "b"}]}`, key: "NAME", same: "name", path: "ops[1]"},
		{text: `{"one": {"Name": "a", "name": "b"}}`, key: "name", same: "Name", path: "one"},
		{text: `{"query": "a", "query": "b"}`, key: "query"},
	} {
		err := jsonkeys.CheckFor([]byte(tc.text), reflect.TypeFor[request]())
		if tc.key == "" {
			if err != nil {
				t.Errorf("%s: %v, want no error", tc.text, err)
			}
			continue
		}
		var de *jsonkeys.DuplicateError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v, want a *DuplicateError", tc.text, err)
			continue
		}
		if de.Key != tc.key || de.Same != tc.same || de.Path != tc.path {
			t.Errorf("%s: key %q same %q path %q, want %q %q %q", tc.text, de.Key, de.Same, de.Path, tc.key, tc.same, tc.path)
		}
		// encoding/json does take the two keys for one field.
		var v request
		if json.Unmarshal([]byte(tc.text), &v) != nil {
			t.Errorf("%s: does not decode", tc.text)
		}
	}
	err := jsonkeys.CheckFor([]byte(`{"query": "a", "Query": "b"}`), reflect.TypeFor[*request]())
	if got, want := fmt.Sprint(err), `duplicate key "Query" (the same as "query": keys are matched regardless of case)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
