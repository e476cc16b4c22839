package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/client"
)

func TestPatchCollection(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada"}`)
	var before client.CollectionInfo
	call(t, srv, "GET", "/api/v0/collections/User", "").want(t, http.StatusOK).decode(t, &before)

	sdl := `type User { fullName: String @rename(from: "name") age: Int verified: Boolean points: Float email: String @default(string: "none") }`
	var res client.PatchResult
	call(t, srv, "PATCH", "/api/v0/collections/User", jsonString(t, map[string]string{"sdl": sdl})).want(t, http.StatusOK).decode(t, &res)
	if res.Name != "User" || res.Parent != before.SchemaID || res.Version == before.SchemaID ||
		strings.Join(res.Diff, "; ") != `field "email": added; field "fullName": renamed from "name"` {
		t.Fatalf("patch answered %+v", res)
	}
	var after client.CollectionInfo
	call(t, srv, "GET", "/api/v0/collections/User", "").want(t, http.StatusOK).decode(t, &after)
	if after.SchemaID != before.SchemaID || after.Version != res.Version || after.Fields[0].Name != "age" || after.Fields[1].Default != "none" {
		t.Fatalf("collection after the patch: %+v", after)
	}
	var doc client.Document
	call(t, srv, "GET", "/api/v0/collections/User/documents/"+id, "").want(t, http.StatusOK).decode(t, &doc)
	if doc.Fields["fullName"] != "Ada" || doc.Fields["email"] != "none" {
		t.Fatalf("document after the patch: %+v", doc.Fields)
	}

	call(t, srv, "PATCH", "/api/v0/collections/User", `{}`).wantError(t, http.StatusBadRequest, `{"sdl"`)
	call(t, srv, "PATCH", "/api/v0/collections/User", jsonString(t, map[string]string{"sdl": sdl, "version": res.Version})).
		wantError(t, http.StatusBadRequest, `{"version"`)
	call(t, srv, "PATCH", "/api/v0/collections/User", jsonString(t, map[string]string{"sdl": `type User { fullName: Int }`})).
		wantError(t, http.StatusBadRequest, `field "fullName"`, "add a new field instead")
	call(t, srv, "PATCH", "/api/v0/collections/User", jsonString(t, map[string]string{"sdl": `type User { fullName: String d: [Int]! }`})).
		wantError(t, http.StatusBadRequest, `field "d"`, "a required [Int] cannot be added to an existing collection", "add it optional (d: [Int])")
	call(t, srv, "PATCH", "/api/v0/collections/Nope", jsonString(t, map[string]string{"sdl": sdl})).want(t, http.StatusNotFound)
	call(t, srv, "PATCH", "/api/v0/collections/User", jsonString(t, map[string]string{"version": "bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje"})).
		want(t, http.StatusNotFound)
	call(t, srv, "PATCH", "/api/v0/collections/User", jsonString(t, map[string]string{"version": before.SchemaID})).want(t, http.StatusOK).decode(t, &res)
	if res.Version != before.SchemaID {
		t.Errorf("moving back answered %+v", res)
	}
}

// TestPatchKeepsInverseSide: a patch of Bk that would make Au's inverse side
// books: [Bk] ambiguous, or leave it without its relation, is 400 naming
// Au.books, and Au { books } keeps answering; a rename of the relation keeps
// it answering.
func TestPatchKeepsInverseSide(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", jsonString(t, map[string]string{"sdl": `type Au { name: String books: [Bk] } type Bk { a: Au }`})).
		want(t, http.StatusOK)
	au := createDocIn(t, srv, "Au", `{"name": "Ada"}`)
	bk := createDocIn(t, srv, "Bk", `{"a": "`+au+`"}`)
	books := func() {
		t.Helper()
		got := call(t, srv, "POST", "/api/v0/graphql", `{"query": "{ Au { books { _docID } } }"}`)
		if got.want(t, http.StatusOK); got.body != `{"data":{"Au":[{"books":[{"_docID":"`+bk+`"}]}]}}`+"\n" {
			t.Fatalf("Au { books }: %s", got.body)
		}
	}
	books()
	call(t, srv, "PATCH", "/api/v0/collections/Bk", jsonString(t, map[string]string{"sdl": `type Bk { a: Au w: Au }`})).
		wantError(t, http.StatusBadRequest, `type Au, field "books"`, "Bk has 2 fields of type Au (a, w): which one is ambiguous", "patch Au to drop books first")
	call(t, srv, "PATCH", "/api/v0/collections/Bk", jsonString(t, map[string]string{"sdl": `type Bk { title: String }`})).
		wantError(t, http.StatusBadRequest, `type Au, field "books"`, "Bk has no field of type Au")
	books()
	call(t, srv, "PATCH", "/api/v0/collections/Bk", jsonString(t, map[string]string{"sdl": `type Bk { writer: Au @rename(from: "a") }`})).
		want(t, http.StatusOK)
	books()
}

// TestPatchDeclaresIndexes: a patch's @index declarations are created, as
// those of POST /api/v0/collections are, and listed by GET …/indexes; one
// on a field a later patch drops is listed under the field's name, as
// dropped.
func TestPatchDeclaresIndexes(t *testing.T) {
	_, srv := newServer(t)
	call(t, srv, "POST", "/api/v0/collections", jsonString(t, map[string]string{"sdl": `type Ix { a: Int }`})).want(t, http.StatusOK)
	call(t, srv, "PATCH", "/api/v0/collections/Ix", jsonString(t, map[string]string{"sdl": `type Ix { a: Int @index b: String @index }`})).
		want(t, http.StatusOK)
	var got []client.IndexInfo
	call(t, srv, "GET", "/api/v0/collections/Ix/indexes", "").want(t, http.StatusOK).decode(t, &got)
	if len(got) != 2 || got[0].Name != "Ix_a_ASC" || got[1].Name != "Ix_b_ASC" || got[1].Fields[0].Name != "b" || got[1].Dropped != nil {
		t.Fatalf("indexes after the patch: %+v", got)
	}
	// An index on a field dropped since names it as it was named last.
	call(t, srv, "PATCH", "/api/v0/collections/Ix", jsonString(t, map[string]string{"sdl": `type Ix { a: Int }`})).want(t, http.StatusOK)
	listed := call(t, srv, "GET", "/api/v0/collections/Ix/indexes", "").want(t, http.StatusOK)
	if !strings.Contains(listed.body, `{"name":"Ix_b_ASC","fields":[{"name":"b"}],"ready":true,"dropped":["b"]}`) {
		t.Fatalf("indexes after b is dropped: %s", listed.body)
	}
}
