package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestHistory lists a document's blocks over HTTP and reads the document at
// each of them, through the API and the client; bad requests get a status
// and an error that names what is wrong.
func TestHistory(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	nodetest.AddCollection(t, `type Item { name: String qty: Int @crdt(type: pncounter) tags: [String!] @crdt(type: set) }`, n)
	id := createDocIn(t, srv, "Item", `{"name": "bolt", "qty": 1, "tags": ["x"]}`)
	doc := "/api/v0/collections/Item/documents/" + id
	call(t, srv, "PATCH", doc, `{"name": "nut", "qty": 2, "tags": ["y"]}`).want(t, http.StatusNoContent)
	call(t, srv, "DELETE", doc, "").want(t, http.StatusNoContent)

	var blocks []client.BlockInfo
	call(t, srv, "GET", doc+"/history", "").want(t, http.StatusOK).decode(t, &blocks)
	if len(blocks) != 3 || blocks[0].Height != 3 || !blocks[0].Delete || blocks[2].CID != id || len(blocks[2].Prev) != 0 || blocks[2].Prev == nil {
		t.Fatalf("history %+v, want the delete, the update and the genesis (prev [])", blocks)
	}
	update := blocks[1]
	wantUpdate := client.BlockInfo{
		CID: update.CID, DocID: id, Height: 2, Prev: []string{id}, Version: update.Version, Author: blocks[2].Author,
		Set: map[string]any{"name": "nut"}, Add: map[string]any{"qty": json.Number("2")},
		SetAdd: map[string][]any{"tags": {"y"}}, SetRemove: map[string][]any{"tags": {"x"}}, Size: update.Size,
	}
	if !reflect.DeepEqual(update, wantUpdate) || update.Author == "" || update.Size == 0 {
		t.Errorf("the update: %+v, want %+v", update, wantUpdate)
	}
	a := call(t, srv, "GET", doc+"/history", "").want(t, http.StatusOK)
	if !strings.HasPrefix(a.body, `[{"cid":`) || !strings.HasSuffix(a.body, "}]\n") || strings.Contains(a.body, `"txn"`) {
		t.Errorf("the answer's form: %s", a.body)
	}

	var newest []client.BlockInfo
	call(t, srv, "GET", doc+"/history?limit=2", "").want(t, http.StatusOK).decode(t, &newest)
	if len(newest) != 2 || newest[0].CID != blocks[0].CID || newest[1].CID != blocks[1].CID {
		t.Errorf("the 2 newest blocks: %+v", newest)
	}
	for _, bad := range []string{"0", "-1", "two"} {
		call(t, srv, "GET", doc+"/history?limit="+bad, "").wantError(t, http.StatusBadRequest, "limit")
	}

	var then client.Document
	call(t, srv, "GET", doc+"?at="+update.CID, "").want(t, http.StatusOK).decode(t, &then)
	if then.ID != id || then.Fields["name"] != "nut" || then.Fields["qty"] != json.Number("3") || !reflect.DeepEqual(then.Fields["tags"], []any{"y"}) {
		t.Errorf("at the update: %+v", then)
	}
	call(t, srv, "GET", doc+"?at="+blocks[0].CID, "").wantError(t, http.StatusGone, "deleted")
	call(t, srv, "GET", doc+"?at=nonsense", "").wantError(t, http.StatusBadRequest, "nonsense")
	call(t, srv, "GET", doc+"?at="+update.CID+"&conflicts=true", "").wantError(t, http.StatusBadRequest, "conflicts")
	other := createDocIn(t, srv, "Item", `{"name": "washer"}`)
	call(t, srv, "GET", doc+"?at="+other, "").wantError(t, http.StatusNotFound, other)
	call(t, srv, "GET", "/api/v0/collections/Item/documents/"+other+"/history", "").want(t, http.StatusOK)
	unknown := "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	call(t, srv, "GET", "/api/v0/collections/Item/documents/"+unknown+"/history", "").wantError(t, http.StatusNotFound, unknown)
	call(t, srv, "GET", "/api/v0/collections/Item/documents/nonsense/history", "").wantError(t, http.StatusBadRequest, "nonsense")
	call(t, srv, "GET", "/api/v0/collections/Nope/documents/"+id+"/history", "").wantError(t, http.StatusNotFound, "Nope")

	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []client.BlockInfo
	for b, err := range c.History(t.Context(), "Item", id) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if len(got) != 3 || got[1].CID != update.CID || got[1].Add["qty"] != json.Number("2") || got[1].Set["name"] != "nut" {
		t.Errorf("client.History: %+v", got)
	}
	d, err := c.GetAt(t.Context(), "Item", id, update.CID)
	if err != nil || d.Fields["name"] != "nut" {
		t.Errorf("client.GetAt: %+v, %v", d, err)
	}
	var apiErr *client.APIError
	for _, err := range c.History(t.Context(), "Item", unknown) {
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			t.Errorf("client.History of an unknown document: %v, want a 404", err)
		}
	}
	if _, err := c.GetAt(t.Context(), "Item", id, blocks[0].CID); !errors.As(err, &apiErr) || apiErr.Status != http.StatusGone {
		t.Errorf("client.GetAt the delete: %v, want a 410", err)
	}
}

// TestBadCIDOnce: a CID that is none (a block to read a document at, a
// version to use) is refused with one message that names it and says why
// once, in the API's words, not go-cid's "invalid cid: invalid cid: …".
func TestBadCIDOnce(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada"}`)
	const want = `block CID "zzz" is not a CID: expected 1 as the cid version number, got: 13`
	once := func(what string, body string) {
		t.Helper()
		if !strings.Contains(body, want) || strings.Contains(body, "invalid cid") {
			t.Errorf("%s: %s, want one error %q", what, body, want)
		}
	}
	a := call(t, srv, "GET", "/api/v0/collections/User/documents/"+id+"?at=zzz", "")
	a.wantError(t, http.StatusBadRequest, want)
	once("GET ?at=zzz", strings.ReplaceAll(a.body, `\"`, `"`))
	for _, q := range []string{
		`{ User(docID: \"%s\", cid: \"zzz\") { name } }`,
		`{ _commits(docID: \"%s\", cid: \"zzz\") { cid } }`,
	} {
		// The body is JSON: unescape its quotes.
		once(q, strings.ReplaceAll(call(t, srv, "POST", "/api/v0/graphql", fmt.Sprintf(`{"query": "`+q+`"}`, id)).body, `\"`, `"`))
	}
	call(t, srv, "PATCH", "/api/v0/collections/User", `{"version": "zzz"}`).
		wantError(t, http.StatusBadRequest, `version "zzz" is not a CID: expected 1 as the cid version number, got: 13`)
}
