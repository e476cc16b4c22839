package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
)

// TestPrintJSONIndent checks that printJSON prints what json.Indent makes
// of a value nesting up to maxIndentLevels levels, and keeps deeper levels
// compact, so that a JSON field's value at crdt.MaxJSONDepth prints at most
// about maxIndentLevels bytes for each of its bytes.
func TestPrintJSONIndent(t *testing.T) {
	shallow := []string{
		`{"_docID":"bafy","age":36,"name":"Ada \"[{,:}]\" \\","meta":{"a":[1,{},[],{"b":null}],"c":""}}`,
		`[]`, `{}`, `"x"`, `1`, `[[[]]]`, `[{"a":[{"b":[1,2]}]}]`,
		strings.Repeat("[", maxIndentLevels) + "1,2" + strings.Repeat("]", maxIndentLevels),
	}
	for _, in := range shallow {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(in), "", "  "); err != nil {
			t.Fatal(err)
		}
		want.WriteByte('\n')
		var got bytes.Buffer
		if err := printJSON(&got, json.RawMessage(in)); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s printed as\n%s\nwant\n%s", in, got.String(), want.String())
		}
	}

	leaves := strings.TrimSuffix(strings.Repeat(`1,{"k":[]},`, 10_000), ",")
	deep := `{"_docID":"bafy","meta":` + strings.Repeat("[", crdt.MaxJSONDepth-1) + "[" + leaves + "]" + strings.Repeat("]", crdt.MaxJSONDepth-1) + "}"
	var got bytes.Buffer
	if err := printJSON(&got, json.RawMessage(deep)); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, got.Bytes()); err != nil || compact.String() != deep {
		t.Fatalf("the deep value printed is not the value (%v)", err)
	}
	if limit := (maxIndentLevels + 2) * len(deep); got.Len() > limit {
		t.Errorf("a value of %d bytes printed as %d, more than %d", len(deep), got.Len(), limit)
	}
	lines := strings.Split(got.String(), "\n")
	if want := strings.Repeat("  ", maxIndentLevels) + "[" + strings.Repeat("[", crdt.MaxJSONDepth-maxIndentLevels) + "1,{"; !strings.HasPrefix(lines[maxIndentLevels+1], want) {
		t.Errorf("line %d is %.100s, want it to start %s", maxIndentLevels+1, lines[maxIndentLevels+1], want)
	}
}
