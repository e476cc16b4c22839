package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestIntExact checks that an Int field takes a number only if it denotes an
// integer in the int64 range exactly, whatever its notation, and keeps every digit.
func TestIntExact(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	for _, in := range []string{"9007199254740993.0", "9007199254740993e0", "90071992547409930E-1", "9007199254740993"} {
		id := createDoc(t, srv, `{"age": `+in+`}`)
		a := call(t, srv, "GET", "/api/v0/collections/User/documents/"+id, "").want(t, http.StatusOK)
		if !strings.Contains(a.body, `"age":9007199254740993,`) {
			t.Errorf("age %s came back as %s", in, a.body)
		}
	}
	for _, in := range []string{"-9223372036854775809", "9223372036854775808", "1e19", "1e400"} {
		call(t, srv, "POST", "/api/v0/collections/User/documents", `{"age": `+in+`}`).
			wantError(t, http.StatusBadRequest, `field "age"`, "out of the Int range")
	}
	for _, in := range []string{"9007199254740993.5", "1e-400"} {
		call(t, srv, "POST", "/api/v0/collections/User/documents", `{"age": `+in+`}`).
			wantError(t, http.StatusBadRequest, `field "age": want Int, got `+in)
	}
}

// TestWrongKindNamesWhatWasSent checks that an error for a value of the wrong
// kind tells a number from a string of the same digits.
func TestWrongKindNamesWhatWasSent(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	call(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": 12}`).
		wantError(t, http.StatusBadRequest, `field "name": want String, got 12`)
	call(t, srv, "POST", "/api/v0/collections/User/documents", `{"age": "12"}`).
		wantError(t, http.StatusBadRequest, `field "age": want Int, got "12"`)
}

// TestJSONExact checks that numbers inside a JSON field come back as written.
func TestJSONExact(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Post { meta: JSON }"}`).want(t, http.StatusOK)
	meta := `{"big":12345678901234567890123,"dec":1.10,"int":9007199254740993,"list":[-0.0,2E+3],"tiny":1e-400}`
	var res client.DocIDResult
	call(t, srv, "POST", "/api/v0/collections/Post/documents", `{"meta": `+meta+`}`).
		want(t, http.StatusCreated).decode(t, &res)
	a := call(t, srv, "GET", "/api/v0/collections/Post/documents/"+res.DocID, "").want(t, http.StatusOK)
	want := `{"_docID":"` + res.DocID + `","meta":` + meta + "}\n"
	if a.body != want {
		t.Errorf("document\n%s\nwant\n%s", a.body, want)
	}
}

// TestValueOverBlockLimit checks that a value too large for a block, in a body
// under the body limit, is the client's fault: 413, and nothing logged as an error.
func TestValueOverBlockLimit(t *testing.T) {
	n := newNode(t)
	var buf nodetest.LogBuffer
	srv := serve(t, n, &httpapi.Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	addUser(t, srv)
	huge := strings.Repeat("x", crdt.MaxBlockSize)
	call(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "`+huge+`"}`).
		wantError(t, http.StatusRequestEntityTooLarge, "too large")
	id := createDoc(t, srv, `{"name": "Ada"}`)
	call(t, srv, "PATCH", "/api/v0/collections/User/documents/"+id, `{"name": "`+huge+`"}`).
		wantError(t, http.StatusRequestEntityTooLarge, "too large")
	if s := buf.String(); strings.Contains(s, "level=ERROR") {
		t.Errorf("a client's oversized value was logged as an error:\n%.500s", s)
	}
}

// TestCounterOverflow checks that an increment that would take an Int counter
// beyond int64 is refused with 400 naming the field, and changes nothing.
func TestCounterOverflow(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Hits { n: Int @crdt(type: pncounter) }"}`).want(t, http.StatusOK)
	var res client.DocIDResult
	call(t, srv, "POST", "/api/v0/collections/Hits/documents", `{"n": 9223372036854775807}`).
		want(t, http.StatusCreated).decode(t, &res)
	path := "/api/v0/collections/Hits/documents/" + res.DocID
	call(t, srv, "PATCH", path, `{"n": 9223372036854775807}`).
		wantError(t, http.StatusBadRequest, `field "n"`, "beyond the Int range")
	a := call(t, srv, "GET", path, "").want(t, http.StatusOK)
	if want := `{"_docID":"` + res.DocID + `","n":9223372036854775807}` + "\n"; a.body != want {
		t.Errorf("after a refused increment: %s, want %s", a.body, want)
	}
}

// TestFloatCounterOverflow: an increment that would take a Float counter
// beyond the float64 range is refused as an Int counter's is, rather than
// stored as math.MaxFloat64.
func TestFloatCounterOverflow(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Sum { x: Float @crdt(type: pncounter) }"}`).want(t, http.StatusOK)
	var res client.DocIDResult
	call(t, srv, "POST", "/api/v0/collections/Sum/documents", `{"x": 1.7976931348623157e308}`).
		want(t, http.StatusCreated).decode(t, &res)
	path := "/api/v0/collections/Sum/documents/" + res.DocID
	call(t, srv, "PATCH", path, `{"x": 1.7976931348623157e308}`).
		wantError(t, http.StatusBadRequest, `field "x"`, "adding 1.7976931348623157e+308 to the counter's 1.7976931348623157e+308 would go beyond the Float range")
	call(t, srv, "PATCH", path, `{"x": -1e308}`).want(t, http.StatusNoContent)
	a := call(t, srv, "GET", path, "").want(t, http.StatusOK)
	if want := `{"_docID":"` + res.DocID + `","x":7.976931348623157e+307}` + "\n"; a.body != want {
		t.Errorf("after a refused increment and -1e308: %s, want %s", a.body, want)
	}
}

// TestStringsExact checks that strings the JSON decoder would turn into U+FFFD,
// invalid UTF-8 and escaped lone surrogates, are refused with 400 naming the
// field, in any field and in create and update alike, and that valid escapes are
// kept.
func TestStringsExact(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Note { text: String meta: JSON }"}`).want(t, http.StatusOK)
	const docs = "/api/v0/collections/Note/documents"
	for _, tc := range []struct{ body, field, reason string }{
		{`{"text": "a\ud800b"}`, "text", `lone UTF-16 surrogate (\ud800)`},
		{`{"text": "\uDFFF"}`, "text", `lone UTF-16 surrogate (\uDFFF)`},
		{`{"text": "\ud83d\u0041"}`, "text", `lone UTF-16 surrogate (\ud83d)`},
		{"{\"text\": \"a\xffb\"}", "text", "not valid UTF-8"},
		{"{\"text\": \"\xed\xa0\x80\"}", "text", "not valid UTF-8"},
		{`{"text": "ok", "meta": {"k": ["\udc00"]}}`, "meta", `lone UTF-16 surrogate (\udc00)`},
		{"{\"meta\": {\"k\xff\": 1}}", "meta", "not valid UTF-8"},
	} {
		call(t, srv, "POST", docs, tc.body).
			wantError(t, http.StatusBadRequest, `field "`+tc.field+`"`, tc.reason)
		call(t, srv, "POST", docs, `[{"text": "fine"}, `+tc.body+`]`).
			wantError(t, http.StatusBadRequest, "document 1", `field "`+tc.field+`"`, tc.reason)
	}
	if a := call(t, srv, "GET", "/api/v0/collections/Note/docIDs", "").want(t, http.StatusOK); a.body != "[]\n" {
		t.Fatalf("documents stored after refused creates: %s", a.body)
	}

	var res client.DocIDResult
	call(t, srv, "POST", docs, `{"text": "\ud83d\ude00 \\ud800 \uFFFD", "meta": {"e": "\ud83d\ude00"}}`).
		want(t, http.StatusCreated).decode(t, &res)
	path := docs + "/" + res.DocID
	want := `{"_docID":"` + res.DocID + `","meta":{"e":"😀"},"text":"😀 \\ud800 ` + "\uFFFD" + `"}` + "\n"
	if a := call(t, srv, "GET", path, "").want(t, http.StatusOK); a.body != want {
		t.Errorf("document\n%s\nwant\n%s", a.body, want)
	}
	call(t, srv, "PATCH", path, `{"text": "\udbff"}`).
		wantError(t, http.StatusBadRequest, `field "text"`, `lone UTF-16 surrogate (\udbff)`)
	if a := call(t, srv, "GET", path, "").want(t, http.StatusOK); a.body != want {
		t.Errorf("after a refused update\n%s\nwant\n%s", a.body, want)
	}
}

// TestDocIDNotCanonical: a document ID written in another form of the same
// CID (here upper case) is refused with 400 naming the canonical form by every
// endpoint that takes one, instead of being echoed back (REST) or matching
// nothing (GraphQL), and nothing changes.
func TestDocIDNotCanonical(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada", "age": 36}`)
	upper := strings.ToUpper(id)
	want := fmt.Sprintf(`is not in its canonical form \"%s\"`, id)
	doc := "/api/v0/collections/User/documents/"
	call(t, srv, "GET", doc+upper, "").wantError(t, http.StatusBadRequest, strings.ReplaceAll(want, `\"`, `"`))
	call(t, srv, "PATCH", doc+upper, `{"age": 1}`).wantError(t, http.StatusBadRequest, "canonical form")
	call(t, srv, "DELETE", doc+upper, "").wantError(t, http.StatusBadRequest, "canonical form")
	call(t, srv, "GET", doc+upper+"/history", "").wantError(t, http.StatusBadRequest, "canonical form")
	call(t, srv, "GET", "/api/v0/collections/User/documents?after="+upper, "").wantError(t, http.StatusBadRequest, "canonical form")
	call(t, srv, "POST", "/api/v0/tx", fmt.Sprintf(`{"ops": [{"op": "update", "collection": "User", "docID": %q, "fields": {"age": 2}}]}`, upper)).
		wantError(t, http.StatusBadRequest, "canonical form")
	for _, q := range []string{
		`{ User(docID: \"%s\") { name } }`,
		`mutation { update_User(docID: \"%s\", input: {age: 3}) { name } }`,
		`{ _commits(docID: \"%s\") { cid } }`,
		`{ User(docID: \"%s\", cid: \"%[1]s\") { name } }`,
	} {
		a := call(t, srv, "POST", "/api/v0/graphql", fmt.Sprintf(`{"query": "`+q+`"}`, upper))
		if !strings.Contains(a.body, want) || strings.Contains(a.body, `"data":{`) {
			t.Errorf("%s: %s, want an error with %s", q, a.body, want)
		}
	}
	var d map[string]any
	call(t, srv, "GET", doc+id, "").want(t, http.StatusOK).decode(t, &d)
	if d["_docID"] != id || d["age"] != json.Number("36") {
		t.Errorf("the document changed: %v", d)
	}
}
