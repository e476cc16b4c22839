package crdt_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
)

// nestedJSON returns the compact JSON text of depth arrays and objects nested
// in turn around the string "[{x}]", which holds brackets that are no
// containers.
func nestedJSON(depth int) string {
	var open, closing strings.Builder
	for i := range depth {
		if i%2 == 0 {
			open.WriteString("[")
			closing.WriteString("]")
		} else {
			open.WriteString(`{"k":`)
			closing.WriteString("}")
		}
	}
	c := []byte(closing.String())
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
	return open.String() + `"[{x}]"` + string(c)
}

// nestedValue returns the value nestedJSON(depth) decodes to, as []any and
// map[string]any.
func nestedValue(depth int) any {
	var v any = "[{x}]"
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return v
}

// TestJSONDepth checks that a JSON value nesting MaxJSONDepth arrays and
// objects is stored and one more is refused, naming the field and the limit,
// by Normalize in every form a value comes in and by Check in a block.
func TestJSONDepth(t *testing.T) {
	js := crdt.Field{Name: "meta", Kind: crdt.KindJSON}
	s := testSchema()
	for _, tc := range []struct {
		name string
		in   func(depth int) any
	}{
		{"text", func(d int) any { return json.RawMessage(nestedJSON(d)) }},
		{"decoded", nestedValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := js.Normalize(tc.in(crdt.MaxJSONDepth))
			if err != nil {
				t.Fatalf("depth %d: %v", crdt.MaxJSONDepth, err)
			}
			if want := nestedJSON(crdt.MaxJSONDepth); got != want {
				t.Fatalf("depth %d: got %v, want %s", crdt.MaxJSONDepth, got, want)
			}
			_, err = js.Normalize(tc.in(crdt.MaxJSONDepth + 1))
			wantDepthError(t, err)
		})
	}
	// A scalar has depth 0; strings' brackets do not count.
	for _, in := range []string{`1`, `"[[[["`, `"\"[{"`, `[]`} {
		if _, err := js.Normalize(json.RawMessage(in)); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	ok := &crdt.Block{Schema: s.ID, Height: 1, Nonce: testNonce, Set: map[string]any{"title": "t", "meta": nestedJSON(crdt.MaxJSONDepth)}}
	if err := s.Check(ok); err != nil {
		t.Errorf("block with a value of depth %d: %v", crdt.MaxJSONDepth, err)
	}
	deep := &crdt.Block{Schema: s.ID, Height: 1, Nonce: testNonce, Set: map[string]any{"title": "t", "meta": nestedJSON(crdt.MaxJSONDepth + 1)}}
	err := s.Check(deep)
	if !errors.Is(err, crdt.ErrInvalidBlock) {
		t.Errorf("block with a value of depth %d: %v, want ErrInvalidBlock", crdt.MaxJSONDepth+1, err)
	}
	wantDepthError(t, err)
}

// wantDepthError fails t unless err is a *FieldError for field "meta" that
// names MaxJSONDepth.
func wantDepthError(t *testing.T, err error) {
	t.Helper()
	var fe *crdt.FieldError
	if !errors.As(err, &fe) || fe.Field != "meta" {
		t.Fatalf("depth %d: error %v, want a *FieldError for meta", crdt.MaxJSONDepth+1, err)
	}
	if want := `field "meta": JSON value nests arrays and objects deeper than the limit of 100`; fe.Error() != want {
		t.Errorf("error %q, want %q", fe.Error(), want)
	}
}
