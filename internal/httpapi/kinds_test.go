package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/client"
)

// TestListsAndRelations: lists and sets are JSON arrays in and out, relations
// document ID strings; a bad item or a wrong reference is a 400 naming the field.
func TestListsAndRelations(t *testing.T) {
	_, srv := newServer(t)
	sdl := `type Author { name: String books: [Book] }
		type Book { title: String author: Author tags: [String!] @crdt(type: set) scores: [Int] days: [DateTime!] }`
	a := call(t, srv, "POST", "/api/v0/collections", jsonString(t, map[string]string{"sdl": sdl})).want(t, http.StatusOK)
	var infos []client.CollectionInfo
	a.decode(t, &infos)
	if strings.Contains(a.body, `"default"`) {
		t.Errorf("fields without a default describe one: %s", a.body)
	}
	kinds := map[string]string{}
	for _, info := range infos {
		for _, f := range info.Fields {
			kinds[info.Name+"."+f.Name] = f.Kind
			if f.Name == "tags" && !f.Set {
				t.Errorf("tags: set flag missing in %+v", f)
			}
		}
	}
	for field, want := range map[string]string{"Author.books": "[Book]", "Book.author": "Author", "Book.tags": "[String!]", "Book.scores": "[Int]"} {
		if kinds[field] != want {
			t.Errorf("%s: kind %q, want %q", field, kinds[field], want)
		}
	}

	var author, book client.DocIDResult
	call(t, srv, "POST", "/api/v0/collections/Author/documents", `{"name": "Ada"}`).want(t, http.StatusCreated).decode(t, &author)
	call(t, srv, "POST", "/api/v0/collections/Book/documents",
		`{"title": "Notes", "author": "`+author.DocID+`", "tags": ["b", "a", "b"], "scores": [3, null, 1.0], "days": ["2024-04-30T11:42:01+02:00"]}`).
		want(t, http.StatusCreated).decode(t, &book)
	got := call(t, srv, "GET", "/api/v0/collections/Book/documents/"+book.DocID, "").want(t, http.StatusOK).body
	want := `{"_docID":"` + book.DocID + `","author":"` + author.DocID + `","days":["2024-04-30T09:42:01Z"],"scores":[3,null,1],"tags":["a","b"],"title":"Notes"}` + "\n"
	if got != want {
		t.Fatalf("document\n%s\nwant\n%s", got, want)
	}
	call(t, srv, "PATCH", "/api/v0/collections/Book/documents/"+book.DocID, `{"tags": ["c", "a"]}`).want(t, http.StatusNoContent)
	got = call(t, srv, "GET", "/api/v0/collections/Book/documents/"+book.DocID, "").want(t, http.StatusOK).body
	want = `{"_docID":"` + book.DocID + `","author":"` + author.DocID + `","days":["2024-04-30T09:42:01Z"],"scores":[3,null,1],"tags":["a","c"],"title":"Notes"}` + "\n"
	if got != want {
		t.Fatalf("after PATCH\n%s\nwant\n%s", got, want)
	}
	got = call(t, srv, "GET", "/api/v0/collections/Author/documents/"+author.DocID, "").want(t, http.StatusOK).body
	if want := `{"_docID":"` + author.DocID + `","name":"Ada"}` + "\n"; got != want {
		t.Errorf("author %s, want %s (the inverse side is derived, not shown)", got, want)
	}

	for _, tc := range []struct{ body, want string }{
		{`{"scores": "3"}`, `field "scores": want a list [Int], got "3"`},
		{`{"scores": [1.5]}`, `field "scores": item 0: want Int, got 1.5`},
		{`{"days": [null]}`, `field "days": item 0 is null in [DateTime!]`},
		{`{"tags": [["a"]]}`, `field "tags": item 0: want String`},
		{`{"author": "abc"}`, `field "author": "abc" is not a document ID`},
		{`{"author": "` + book.DocID + `"}`, `belongs to collection Book, not Author`},
	} {
		call(t, srv, "POST", "/api/v0/collections/Book/documents", tc.body).wantError(t, http.StatusBadRequest, tc.want)
	}
}
