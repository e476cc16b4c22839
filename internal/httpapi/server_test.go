package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const userSDL = `type User { name: String age: Int verified: Boolean points: Float }`

// newNode opens an in-memory node closed at the end of the test.
func newNode(t testing.TB) *gossipdb.Node {
	t.Helper()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// newServer serves the API of a fresh in-memory node with the default options.
func newServer(t testing.TB) (*gossipdb.Node, *httptest.Server) {
	t.Helper()
	n := newNode(t)
	return n, serve(t, n, nil)
}

// serve serves the API of n with opts on a loopback port until the end of the
// test.
func serve(t testing.TB, n *gossipdb.Node, opts *httpapi.Options) *httptest.Server {
	t.Helper()
	h, err := httpapi.NewHandler(n, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// answer is an HTTP response with its body read.
type answer struct {
	status int
	header http.Header
	body   string
}

// call sends a request with body (none if empty) and reads the answer.
func call(t testing.TB, srv *httptest.Server, method, path, body string) answer {
	t.Helper()
	a, err := tryCall(srv, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryCall is call for a goroutine other than the test's, or a request that may
// fail: it returns what fails instead of failing the test.
func tryCall(srv *httptest.Server, method, path, body string) (answer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(data)}, nil
}

// want checks the status and, for JSON answers, the content type.
func (a answer) want(t testing.TB, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	if a.body != "" {
		if ct := a.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q, want application/json", ct)
		}
	}
	return a
}

// wantError checks that the answer is a JSON error with status whose message
// contains every one of parts.
func (a answer) wantError(t testing.TB, status int, parts ...string) {
	t.Helper()
	a.want(t, status)
	var e struct {
		Error string `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not a JSON error: %v", a.body, err)
	}
	for _, p := range parts {
		if !strings.Contains(e.Error, p) {
			t.Errorf("error %q does not contain %q", e.Error, p)
		}
	}
}

// decode decodes the answer's body into v, numbers as json.Number.
func (a answer) decode(t testing.TB, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %q: %v", a.body, err)
	}
}

func jsonString(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func addUser(t testing.TB, srv *httptest.Server) {
	t.Helper()
	call(t, srv, "POST", "/api/v0/collections", jsonString(t, map[string]string{"sdl": userSDL})).want(t, http.StatusOK)
}

func createDoc(t testing.TB, srv *httptest.Server, doc string) string {
	t.Helper()
	return createDocIn(t, srv, "User", doc)
}

// createDocIn creates doc in collection over the API and returns its ID.
func createDocIn(t testing.TB, srv *httptest.Server, collection, doc string) string {
	t.Helper()
	var res client.DocIDResult
	call(t, srv, "POST", "/api/v0/collections/"+collection+"/documents", doc).want(t, http.StatusCreated).decode(t, &res)
	if !strings.HasPrefix(res.DocID, "bafyrei") {
		t.Fatalf("doc ID %q", res.DocID)
	}
	return res.DocID
}

func TestHealth(t *testing.T) {
	n, srv := newServer(t)
	var h client.Health
	call(t, srv, "GET", "/api/v0/health", "").want(t, http.StatusOK).decode(t, &h)
	if h.Status != "ok" || h.PeerID != n.ID() {
		t.Fatalf("health %+v, want ok and %s", h, n.ID())
	}
}

func TestAddCollection(t *testing.T) {
	_, srv := newServer(t)
	body := jsonString(t, map[string]string{"sdl": userSDL + "\ntype Post { title: String! likes: Int @crdt(type: pncounter) }"})
	var cols []client.CollectionInfo
	call(t, srv, "POST", "/api/v0/collections", body).want(t, http.StatusOK).decode(t, &cols)
	if len(cols) != 2 || cols[0].Name != "User" || cols[1].Name != "Post" {
		t.Fatalf("collections %+v", cols)
	}
	if !strings.HasPrefix(cols[0].SchemaID, "bafyrei") {
		t.Errorf("schema ID %q", cols[0].SchemaID)
	}
	wantUser := []client.FieldInfo{
		{Name: "age", Kind: "Int"}, {Name: "name", Kind: "String"},
		{Name: "points", Kind: "Float"}, {Name: "verified", Kind: "Boolean"},
	}
	if !slices.Equal(cols[0].Fields, wantUser) {
		t.Errorf("User fields %+v, want %+v", cols[0].Fields, wantUser)
	}
	wantPost := []client.FieldInfo{{Name: "likes", Kind: "Int", Counter: true}, {Name: "title", Kind: "String", Required: true}}
	if !slices.Equal(cols[1].Fields, wantPost) {
		t.Errorf("Post fields %+v, want %+v", cols[1].Fields, wantPost)
	}

	t.Run("again", func(t *testing.T) {
		var again []client.CollectionInfo
		call(t, srv, "POST", "/api/v0/collections", jsonString(t, map[string]string{"sdl": userSDL})).
			want(t, http.StatusOK).decode(t, &again)
		if len(again) != 1 || again[0].SchemaID != cols[0].SchemaID {
			t.Fatalf("adding User again gave %+v", again)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type User { name: Int }"}`).
			wantError(t, http.StatusConflict, "collection exists with different fields", "User")
	})
	t.Run("bad SDL", func(t *testing.T) {
		call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type User { name: }"}`).
			wantError(t, http.StatusBadRequest, "invalid input")
		call(t, srv, "POST", "/api/v0/collections", `{"sdl": ""}`).wantError(t, http.StatusBadRequest)
	})
	t.Run("bad body", func(t *testing.T) {
		call(t, srv, "POST", "/api/v0/collections", `{"sdl":`).wantError(t, http.StatusBadRequest, "invalid JSON body")
		call(t, srv, "POST", "/api/v0/collections", `type User { name: String }`).wantError(t, http.StatusBadRequest, "invalid JSON body")
		call(t, srv, "POST", "/api/v0/collections", `{"schema": "type A { a: Int }"}`).wantError(t, http.StatusBadRequest, "unknown field")
		call(t, srv, "POST", "/api/v0/collections", `{"sdl": 5}`).wantError(t, http.StatusBadRequest, "invalid JSON body")
		call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type A { a: Int }"} {}`).wantError(t, http.StatusBadRequest, "more than one")
		call(t, srv, "POST", "/api/v0/collections", ``).wantError(t, http.StatusBadRequest, "empty request body")
	})
}

func TestListCollections(t *testing.T) {
	_, srv := newServer(t)
	if a := call(t, srv, "GET", "/api/v0/collections", "").want(t, http.StatusOK); strings.TrimSpace(a.body) != "[]" {
		t.Fatalf("empty node lists %s", a.body)
	}
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type B { b: Int } type A { a: Int }"}`).want(t, http.StatusOK)
	var cols []client.CollectionInfo
	call(t, srv, "GET", "/api/v0/collections", "").want(t, http.StatusOK).decode(t, &cols)
	if len(cols) != 2 || cols[0].Name != "A" || cols[1].Name != "B" {
		t.Fatalf("collections %+v, want A and B", cols)
	}
	var one client.CollectionInfo
	call(t, srv, "GET", "/api/v0/collections/B", "").want(t, http.StatusOK).decode(t, &one)
	if one.Name != "B" || one.SchemaID != cols[1].SchemaID {
		t.Fatalf("collection B: %+v", one)
	}
	call(t, srv, "GET", "/api/v0/collections/C", "").wantError(t, http.StatusNotFound, `collection "C"`)
}

func TestCreateDocuments(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada", "age": 36, "verified": true, "points": 1.5}`)

	t.Run("many", func(t *testing.T) {
		var res []client.DocIDResult
		call(t, srv, "POST", "/api/v0/collections/User/documents", `[{"name": "Bob"}, {"name": "Eve"}]`).
			want(t, http.StatusCreated).decode(t, &res)
		if len(res) != 2 || res[0].DocID == res[1].DocID || res[0].DocID == id {
			t.Fatalf("created %+v", res)
		}
		var none []client.DocIDResult
		call(t, srv, "POST", "/api/v0/collections/User/documents", `[]`).want(t, http.StatusCreated).decode(t, &none)
		if len(none) != 0 {
			t.Fatalf("creating [] gave %+v", none)
		}
	})
	t.Run("exact Int", func(t *testing.T) {
		id := createDoc(t, srv, `{"age": 9007199254740993}`)
		a := call(t, srv, "GET", "/api/v0/collections/User/documents/"+id, "").want(t, http.StatusOK)
		if !strings.Contains(a.body, `"age":9007199254740993`) {
			t.Fatalf("2^53+1 did not survive: %s", a.body)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		call(t, srv, "POST", "/api/v0/collections/User/documents", `{"age": "abc"}`).
			wantError(t, http.StatusBadRequest, `field "age": want Int, got "abc"`)
		call(t, srv, "POST", "/api/v0/collections/User/documents", `{"age": 1.5}`).
			wantError(t, http.StatusBadRequest, `field "age"`)
		call(t, srv, "POST", "/api/v0/collections/User/documents", `[{"name": "ok"}, {"verified": "yes"}]`).
			wantError(t, http.StatusBadRequest, "document 1", `field "verified"`)
	})
	t.Run("unknown field", func(t *testing.T) {
		call(t, srv, "POST", "/api/v0/collections/User/documents", `{"nick": "x"}`).
			wantError(t, http.StatusBadRequest, `field "nick": unknown field`)
	})
	t.Run("unknown collection", func(t *testing.T) {
		call(t, srv, "POST", "/api/v0/collections/Nope/documents", `{"name": "x"}`).
			wantError(t, http.StatusNotFound, `collection "Nope"`)
	})
	t.Run("bad body", func(t *testing.T) {
		for _, body := range []string{`{"name": `, `{"name": "x"}}`, `nul`} {
			call(t, srv, "POST", "/api/v0/collections/User/documents", body).wantError(t, http.StatusBadRequest, "invalid JSON body")
		}
		for _, body := range []string{`"Ada"`, `42`, `null`} {
			call(t, srv, "POST", "/api/v0/collections/User/documents", body).
				wantError(t, http.StatusBadRequest, "want a JSON object or an array of JSON objects")
		}
		call(t, srv, "POST", "/api/v0/collections/User/documents", `[{"name": "x"}, 3]`).
			wantError(t, http.StatusBadRequest, "document 1")
		call(t, srv, "POST", "/api/v0/collections/User/documents", "").wantError(t, http.StatusBadRequest, "empty request body")
	})
	t.Run("too many", func(t *testing.T) {
		body := "[" + strings.Repeat("{},", gossipdb.MaxCreateMany) + "{}]"
		call(t, srv, "POST", "/api/v0/collections/User/documents", body).
			wantError(t, http.StatusBadRequest, "at most")
	})
}

func TestOversizedBody(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	big := `{"name": "` + strings.Repeat("x", httpapi.MaxBodySize) + `"}`
	call(t, srv, "POST", "/api/v0/collections/User/documents", big).
		wantError(t, http.StatusRequestEntityTooLarge, "larger than the limit of 4194304 bytes")
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "`+strings.Repeat(" ", httpapi.MaxBodySize)+`"}`).
		wantError(t, http.StatusRequestEntityTooLarge)
	// A body just under the limit is read: five documents, each small enough for
	// a block.
	doc := `{"name": "` + strings.Repeat("x", (httpapi.MaxBodySize-100)/5) + `"}`
	justUnder := "[" + strings.Repeat(doc+",", 4) + doc + "]"
	call(t, srv, "POST", "/api/v0/collections/User/documents", justUnder).want(t, http.StatusCreated)
}

func TestGetDocument(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Post { title: String when: DateTime meta: JSON }"}`).want(t, http.StatusOK)
	id := createDoc(t, srv, `{"name": "Ada", "age": 36, "verified": true, "points": 1.5}`)

	a := call(t, srv, "GET", "/api/v0/collections/User/documents/"+id, "").want(t, http.StatusOK)
	want := `{"_docID":"` + id + `","age":36,"name":"Ada","points":1.5,"verified":true}` + "\n"
	if a.body != want {
		t.Fatalf("document\n%s\nwant\n%s", a.body, want)
	}
	var doc client.Document
	a.decode(t, &doc)
	if doc.ID != id || doc.Fields["name"] != "Ada" || doc.Fields["age"] != json.Number("36") {
		t.Fatalf("decoded %+v", doc)
	}

	t.Run("absent fields are null", func(t *testing.T) {
		id := createDoc(t, srv, `{"name": "Bob"}`)
		a := call(t, srv, "GET", "/api/v0/collections/User/documents/"+id, "").want(t, http.StatusOK)
		want := `{"_docID":"` + id + `","age":null,"name":"Bob","points":null,"verified":null}` + "\n"
		if a.body != want {
			t.Fatalf("document %s, want %s", a.body, want)
		}
	})
	t.Run("DateTime and JSON", func(t *testing.T) {
		var res client.DocIDResult
		call(t, srv, "POST", "/api/v0/collections/Post/documents",
			`{"title": "hi", "when": "2024-04-30T11:42:01.717+02:00", "meta": {"tags": ["a", "b"], "n": 1}}`).
			want(t, http.StatusCreated).decode(t, &res)
		a := call(t, srv, "GET", "/api/v0/collections/Post/documents/"+res.DocID, "").want(t, http.StatusOK)
		want := `{"_docID":"` + res.DocID + `","meta":{"n":1,"tags":["a","b"]},"title":"hi","when":"2024-04-30T09:42:01.717Z"}` + "\n"
		if a.body != want {
			t.Fatalf("document %s, want %s", a.body, want)
		}
	})
	t.Run("errors", func(t *testing.T) {
		call(t, srv, "GET", "/api/v0/collections/User/documents/not-an-id", "").
			wantError(t, http.StatusBadRequest, "not a gossipdb document ID")
		call(t, srv, "GET", "/api/v0/collections/Nope/documents/"+id, "").
			wantError(t, http.StatusNotFound, `collection "Nope"`)
		// A real document ID, but of another collection.
		call(t, srv, "GET", "/api/v0/collections/Post/documents/"+id, "").
			wantError(t, http.StatusNotFound, "not found")
	})
}

func TestUpdateDocument(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada", "age": 36}`)
	path := "/api/v0/collections/User/documents/" + id

	if a := call(t, srv, "PATCH", path, `{"age": 37, "name": null}`).want(t, http.StatusNoContent); a.body != "" {
		t.Fatalf("204 with body %q", a.body)
	}
	var doc client.Document
	call(t, srv, "GET", path, "").want(t, http.StatusOK).decode(t, &doc)
	if doc.Fields["age"] != json.Number("37") || doc.Fields["name"] != nil {
		t.Fatalf("after update: %+v", doc.Fields)
	}

	call(t, srv, "PATCH", path, `{"age": "x"}`).wantError(t, http.StatusBadRequest, `field "age": want Int, got "x"`)
	call(t, srv, "PATCH", path, `[{"age": 1}]`).wantError(t, http.StatusBadRequest, "want a JSON object")
	call(t, srv, "PATCH", path, `{"age": `).wantError(t, http.StatusBadRequest, "invalid JSON body")
	call(t, srv, "PATCH", path, ``).wantError(t, http.StatusBadRequest, "empty request body")
	call(t, srv, "PATCH", "/api/v0/collections/Nope/documents/"+id, `{"age": 1}`).wantError(t, http.StatusNotFound, `collection "Nope"`)
	call(t, srv, "PATCH", "/api/v0/collections/User/documents/bogus", `{"age": 1}`).wantError(t, http.StatusBadRequest, "document ID")
}

func TestDeleteDocument(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada"}`)
	path := "/api/v0/collections/User/documents/" + id

	call(t, srv, "DELETE", path, "").want(t, http.StatusNoContent)
	call(t, srv, "GET", path, "").wantError(t, http.StatusGone, "deleted")
	call(t, srv, "DELETE", path, "").wantError(t, http.StatusGone, "deleted")
	call(t, srv, "PATCH", path, `{"age": 1}`).wantError(t, http.StatusGone, "deleted")
	call(t, srv, "DELETE", "/api/v0/collections/Nope/documents/"+id, "").wantError(t, http.StatusNotFound, `collection "Nope"`)
}

func TestDocIDs(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	if a := call(t, srv, "GET", "/api/v0/collections/User/docIDs", "").want(t, http.StatusOK); a.body != "[]\n" {
		t.Fatalf("empty collection: %q", a.body)
	}
	const count = 600 // more than one page of Find
	var res []client.DocIDResult
	call(t, srv, "POST", "/api/v0/collections/User/documents", "["+strings.Repeat(`{"age": 1},`, count-1)+`{"age": 1}]`).
		want(t, http.StatusCreated).decode(t, &res)
	var ids []string
	for _, r := range res {
		ids = append(ids, r.DocID)
	}
	call(t, srv, "DELETE", "/api/v0/collections/User/documents/"+ids[7], "").want(t, http.StatusNoContent)
	deleted := ids[7]
	ids = slices.Delete(ids, 7, 8)
	slices.Sort(ids)

	var got []string
	call(t, srv, "GET", "/api/v0/collections/User/docIDs", "").want(t, http.StatusOK).decode(t, &got)
	if !slices.Equal(got, ids) {
		t.Fatalf("got %d IDs, want %d (sorted, without the deleted %s)", len(got), len(ids), deleted)
	}
	call(t, srv, "GET", "/api/v0/collections/Nope/docIDs", "").wantError(t, http.StatusNotFound, `collection "Nope"`)
}

func TestPeers(t *testing.T) {
	n1, srv1 := newServer(t)
	n2, srv2 := newServer(t)

	var info []string
	call(t, srv1, "GET", "/api/v0/p2p/info", "").want(t, http.StatusOK).decode(t, &info)
	if len(info) == 0 || !strings.HasSuffix(info[0], "/p2p/"+n1.ID()) {
		t.Fatalf("info %q does not end with /p2p/%s", info, n1.ID())
	}
	if a := call(t, srv2, "GET", "/api/v0/p2p/peers", "").want(t, http.StatusOK); a.body != "[]\n" {
		t.Fatalf("active peers before connecting: %q", a.body)
	}

	call(t, srv2, "POST", "/api/v0/p2p/peers", jsonString(t, map[string]string{"addr": info[0]})).want(t, http.StatusNoContent)
	var peers []string
	call(t, srv2, "GET", "/api/v0/p2p/peers", "").want(t, http.StatusOK).decode(t, &peers)
	if len(peers) != 1 || !strings.HasSuffix(peers[0], "/p2p/"+n1.ID()) {
		t.Fatalf("node 2's peers %q, want node 1", peers)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		call(t, srv1, "GET", "/api/v0/p2p/peers", "").want(t, http.StatusOK).decode(t, &peers)
		if len(peers) == 1 && strings.HasSuffix(peers[0], "/p2p/"+n2.ID()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 1's peers %q, want node 2", peers)
		}
		time.Sleep(10 * time.Millisecond)
	}

	t.Run("bad address", func(t *testing.T) {
		call(t, srv2, "POST", "/api/v0/p2p/peers", `{"addr": "/ip4/127.0.0.1/tcp/notaport"}`).
			wantError(t, http.StatusBadRequest, "multiaddr")
		call(t, srv2, "POST", "/api/v0/p2p/peers", `{"addr": "/ip4/127.0.0.1/tcp/9171"}`).
			wantError(t, http.StatusBadRequest, "/p2p/")
		call(t, srv2, "POST", "/api/v0/p2p/peers", `{"addr": ""}`).wantError(t, http.StatusBadRequest)
		call(t, srv1, "POST", "/api/v0/p2p/peers", jsonString(t, map[string]string{"addr": info[0]})).
			wantError(t, http.StatusBadRequest, "own address")
		call(t, srv2, "POST", "/api/v0/p2p/peers", `{"addr": 5}`).wantError(t, http.StatusBadRequest, "invalid JSON body")
		call(t, srv2, "POST", "/api/v0/p2p/peers", `{"address": "x"}`).wantError(t, http.StatusBadRequest, "unknown field")
	})
	t.Run("unreachable", func(t *testing.T) {
		n3, err := gossipdb.Open("", nil)
		if err != nil {
			t.Fatal(err)
		}
		gone := n3.PeerInfo()[0]
		n3.Close()
		call(t, srv2, "POST", "/api/v0/p2p/peers", jsonString(t, map[string]string{"addr": gone})).
			wantError(t, http.StatusBadGateway, "connect")
	})
	// A peer that takes the connection but never completes the handshake (as
	// one without the node's network key does) is a 504, once libp2p gives up
	// on the address: after 5 s on this machine, not the API's 30 s.
	t.Run("silent", func(t *testing.T) {
		n3, err := gossipdb.Open("", nil)
		if err != nil {
			t.Fatal(err)
		}
		id := n3.ID()
		n3.Close()
		_, port, err := net.SplitHostPort(nodetest.SilentListener(t))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		call(t, srv2, "POST", "/api/v0/p2p/peers", jsonString(t, map[string]string{"addr": "/ip4/127.0.0.1/tcp/" + port + "/p2p/" + id})).
			wantError(t, http.StatusGatewayTimeout, "connect", "network key")
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("the 504 took %v, want libp2p's 5 s for a local address", took)
		}
	})
}

// TestKnownPeers: GET /api/v0/p2p/known-peers lists a peer that left, with
// when it left, where GET /api/v0/p2p/peers no longer does.
func TestKnownPeers(t *testing.T) {
	n1, srv1 := newServer(t)
	n2, err := gossipdb.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if a := call(t, srv1, "GET", "/api/v0/p2p/known-peers", "").want(t, http.StatusOK); a.body != "[]\n" {
		t.Fatalf("known peers of a lone node: %q", a.body)
	}
	var info []string
	call(t, srv1, "GET", "/api/v0/p2p/info", "").want(t, http.StatusOK).decode(t, &info)
	if err := n2.Connect(context.Background(), info[0]); err != nil {
		t.Fatal(err)
	}
	var peers []client.KnownPeer
	nodetest.Eventually(t, 10*time.Second, func() error {
		call(t, srv1, "GET", "/api/v0/p2p/known-peers", "").want(t, http.StatusOK).decode(t, &peers)
		if len(peers) != 1 || peers[0].Peer != n2.ID() || !peers[0].Connected || peers[0].LastSeen != nil {
			return fmt.Errorf("known peers %+v, want node 2 connected", peers)
		}
		return nil
	})
	nodetest.WaitIdentified(t, n1, n2) // else node 1 forgets node 2 once it leaves
	before := time.Now()
	n2.Close()
	nodetest.Eventually(t, 10*time.Second, func() error {
		a := call(t, srv1, "GET", "/api/v0/p2p/known-peers", "").want(t, http.StatusOK)
		a.decode(t, &peers)
		if len(peers) != 1 || peers[0].Peer != n2.ID() || peers[0].Connected || peers[0].LastSeen == nil ||
			peers[0].LastSeen.Before(before) || !strings.HasSuffix(peers[0].Addr, "/p2p/"+n2.ID()) {
			return fmt.Errorf("known peers %s, want node 2 disconnected since %v", a.body, before)
		}
		return nil
	})
	if a := call(t, srv1, "GET", "/api/v0/p2p/peers", "").want(t, http.StatusOK); a.body != "[]\n" {
		t.Errorf("active peers after the peer left: %q", a.body)
	}
}

func TestSubscriptions(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type User { name: String } type Post { title: String }"}`).want(t, http.StatusOK)
	if a := call(t, srv, "GET", "/api/v0/p2p/collections", "").want(t, http.StatusOK); a.body != "[]\n" {
		t.Fatalf("subscriptions of a new node: %q", a.body)
	}
	call(t, srv, "POST", "/api/v0/p2p/collections", `["User", "Post"]`).want(t, http.StatusNoContent)
	if a := call(t, srv, "GET", "/api/v0/p2p/collections", "").want(t, http.StatusOK); a.body != `["Post","User"]`+"\n" {
		t.Fatalf("subscriptions: %q", a.body)
	}
	call(t, srv, "DELETE", "/api/v0/p2p/collections", `["Post"]`).want(t, http.StatusNoContent)
	if a := call(t, srv, "GET", "/api/v0/p2p/collections", "").want(t, http.StatusOK); a.body != `["User"]`+"\n" {
		t.Fatalf("subscriptions after removing Post: %q", a.body)
	}

	for _, method := range []string{"POST", "DELETE"} {
		call(t, srv, method, "/api/v0/p2p/collections", `["User", "Nope"]`).wantError(t, http.StatusNotFound, `collection "Nope"`)
		call(t, srv, method, "/api/v0/p2p/collections", `[]`).wantError(t, http.StatusBadRequest, "one or more collection names")
		call(t, srv, method, "/api/v0/p2p/collections", `"User"`).wantError(t, http.StatusBadRequest, "one or more collection names")
		call(t, srv, method, "/api/v0/p2p/collections", `[1]`).wantError(t, http.StatusBadRequest, "one or more collection names")
		call(t, srv, method, "/api/v0/p2p/collections", `["User"`).wantError(t, http.StatusBadRequest, "invalid JSON body")
		call(t, srv, method, "/api/v0/p2p/collections", ``).wantError(t, http.StatusBadRequest, "empty request body")
	}
	if a := call(t, srv, "GET", "/api/v0/p2p/collections", "").want(t, http.StatusOK); a.body != `["User"]`+"\n" {
		t.Fatalf("failed calls changed the subscriptions: %q", a.body)
	}
}

func TestRouting(t *testing.T) {
	_, srv := newServer(t)
	t.Run("wrong method", func(t *testing.T) {
		for _, c := range []struct{ method, path, allow string }{
			{"PUT", "/api/v0/collections", "GET, HEAD, POST"},
			{"DELETE", "/api/v0/health", "GET, HEAD"},
			{"PUT", "/api/v0/collections/User/documents", "GET, HEAD, POST"},
			{"POST", "/api/v0/p2p/info", "GET, HEAD"},
		} {
			a := call(t, srv, c.method, c.path, "")
			a.wantError(t, http.StatusMethodNotAllowed, "method "+c.method+" is not allowed")
			if got := a.header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		call(t, srv, "GET", "/api/v0/nope", "").wantError(t, http.StatusNotFound, "no such endpoint: GET /api/v0/nope")
		call(t, srv, "GET", "/nope", "").wantError(t, http.StatusNotFound, "no such endpoint")
		call(t, srv, "GET", "/api/v0/collections/User/documents/", "").wantError(t, http.StatusNotFound, "no such endpoint")
	})
}

func TestClosedNode(t *testing.T) {
	n, srv := newServer(t)
	addUser(t, srv)
	n.Close()
	call(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "x"}`).wantError(t, http.StatusServiceUnavailable, "closed")
}

func TestLogs(t *testing.T) {
	n := newNode(t)
	var buf nodetest.LogBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := serve(t, n, &httpapi.Options{Logger: log})
	call(t, srv, "GET", "/api/v0/p2p/info", "").want(t, http.StatusOK)
	if s := buf.String(); !strings.Contains(s, "HTTP request") || !strings.Contains(s, "path=/api/v0/p2p/info") || !strings.Contains(s, "status=200") {
		t.Fatalf("request log %q", s)
	}
}

// TestUnknownQueryParameters: a query parameter a route does not take is
// refused with 400 naming it and what the route takes, as is a query that
// does not parse; they were ignored, and GET /api/v0/events?collections=User,
// a misspelling, streamed every collection.
func TestUnknownQueryParameters(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	for _, tc := range []struct{ path, want string }{
		{"/api/v0/events?collections=User", `unknown query parameter "collections": GET /api/v0/events takes collection`},
		{"/api/v0/collections/User/documents?limt=1", `unknown query parameter "limt": GET /api/v0/collections/{name}/documents takes limit, where, showDeleted, after`},
		{"/api/v0/collections/User/documents?limit=1&Where={}", `unknown query parameter "Where"`},
		{"/api/v0/health?verbose=true", `unknown query parameter "verbose": GET /api/v0/health takes none`},
		{"/api/v0/collections/User/documents?limit=%zz", `invalid URL escape`},
	} {
		a := send(t, srv, http.MethodGet, tc.path, "", nil)
		if a.status != http.StatusBadRequest || !strings.Contains(strings.ReplaceAll(a.body, `\"`, `"`), tc.want) {
			t.Errorf("GET %s: status %d, %s; want 400 saying %s", tc.path, a.status, a.body, tc.want)
		}
	}
	for _, path := range []string{"/api/v0/collections/User/documents?limit=1&showDeleted=true", "/api/v0/health", "/metrics"} {
		if a := send(t, srv, http.MethodGet, path, "", nil); a.status != http.StatusOK {
			t.Errorf("GET %s: status %d, %s; want 200", path, a.status, a.body)
		}
	}
}
