package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestIndexes creates, lists and drops indexes over HTTP: an index created on
// a collection that holds documents is answered before it is built and is
// listed ready once built, and queries then read it; every bad request is
// refused with a status and an error that names what is wrong.
func TestIndexes(t *testing.T) {
	n, srv := newServer(t)
	addUser(t, srv)
	for i := range 50 {
		createDoc(t, srv, fmt.Sprintf(`{"name": "user %d", "age": %d}`, i, i%7))
	}
	const path = "/api/v0/collections/User/indexes"
	var none []client.IndexInfo
	call(t, srv, "GET", path, "").want(t, http.StatusOK).decode(t, &none)
	if none == nil || len(none) != 0 {
		t.Fatalf("indexes of a collection without any: %#v, want []", none)
	}

	var created client.IndexInfo
	call(t, srv, "POST", path, `{"fields": [{"name": "age", "descending": true}, {"name": "name"}]}`).
		want(t, http.StatusOK).decode(t, &created)
	want := []client.IndexFieldInfo{{Name: "age", Descending: true}, {Name: "name"}}
	if created.Name != "User_age_DESC_name_ASC" || !slices.Equal(created.Fields, want) {
		t.Fatalf("created %+v, want User_age_DESC_name_ASC on %+v", created, want)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		var got []client.IndexInfo
		call(t, srv, "GET", path, "").want(t, http.StatusOK).decode(t, &got)
		if len(got) != 1 || got[0].Name != created.Name || !got[0].Ready {
			return fmt.Errorf("indexes %+v, want %s ready", got, created.Name)
		}
		return nil
	})
	ageIs3 := gossipdb.Query{Filter: gossipdb.Filter{"age": gossipdb.Filter{"_eq": 3}}}
	users, err := n.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := users.Explain(t.Context(), ageIs3)
	if err != nil || plan.Index != created.Name {
		t.Fatalf("a query on age reads %+v (%v), want index %s", plan, err, created.Name)
	}
	// The same index again is answered as is; a name of one's own is kept.
	call(t, srv, "POST", path, `{"fields": [{"name": "age", "descending": true}, {"name": "name"}]}`).want(t, http.StatusOK)
	var named client.IndexInfo
	call(t, srv, "POST", path, `{"name": "ByName", "fields": [{"name": "name"}]}`).want(t, http.StatusOK).decode(t, &named)
	if named.Name != "ByName" {
		t.Fatalf("created %+v, want ByName", named)
	}

	for _, c := range []struct {
		method, path, body string
		status             int
		parts              []string
	}{
		{"POST", path, `{"fields": [{"name": "nope"}]}`, http.StatusBadRequest, []string{`"nope"`, "unknown field"}},
		{"POST", path, `{"fields": []}`, http.StatusBadRequest, []string{"invalid"}},
		{"POST", path, `{"name": "ByName", "fields": [{"name": "age"}]}`, http.StatusBadRequest, []string{"ByName"}},
		{"POST", path, `{"fields": [{"name": "age", "desc": true}]}`, http.StatusBadRequest, []string{"desc"}},
		{"POST", path, `[]`, http.StatusBadRequest, nil},
		{"POST", "/api/v0/collections/Nope/indexes", `{"fields": [{"name": "age"}]}`, http.StatusNotFound, []string{"Nope"}},
		{"GET", "/api/v0/collections/Nope/indexes", "", http.StatusNotFound, []string{"Nope"}},
		{"DELETE", path + "/nope", "", http.StatusNotFound, []string{`"nope"`}},
	} {
		call(t, srv, c.method, c.path, c.body).wantError(t, c.status, c.parts...)
	}

	call(t, srv, "DELETE", path+"/"+created.Name, "").want(t, http.StatusNoContent)
	var left []client.IndexInfo
	call(t, srv, "GET", path, "").want(t, http.StatusOK).decode(t, &left)
	if len(left) != 1 || left[0].Name != "ByName" {
		t.Fatalf("indexes after the drop: %+v, want ByName alone", left)
	}
	if plan, err := users.Explain(t.Context(), ageIs3); err != nil || plan.Index != "" {
		t.Fatalf("a query on age after the drop reads %+v (%v), want a scan", plan, err)
	}
}
