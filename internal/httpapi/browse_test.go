package httpapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestListDocuments pages through a collection: every live document once, in
// ID order, pages of the size asked, filtered by field values.
func TestListDocuments(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	var ids []string
	for i := range 7 {
		ids = append(ids, createDoc(t, srv, fmt.Sprintf(`{"name": "u%d", "age": %d}`, i, i%2)))
	}
	deleted := ids[3]
	call(t, srv, "DELETE", "/api/v0/collections/User/documents/"+deleted, "").want(t, http.StatusNoContent)
	live := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == deleted })
	slices.Sort(live)

	var got []string
	var sizes []int
	after := ""
	for {
		var page httpapi.DocumentPage
		call(t, srv, "GET", "/api/v0/collections/User/documents?limit=4&after="+after, "").
			want(t, http.StatusOK).decode(t, &page)
		sizes = append(sizes, len(page.Documents))
		for _, d := range page.Documents {
			got = append(got, d.ID)
			if d.Fields["name"] == nil {
				t.Errorf("document %s without its fields: %v", d.ID, d.Fields)
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if !slices.Equal(got, live) || !slices.Equal(sizes, []int{4, 2}) {
		t.Fatalf("pages of %v gave %v, want %v in pages of 4 then 2", sizes, got, live)
	}

	var all httpapi.DocumentPage
	call(t, srv, "GET", "/api/v0/collections/User/documents", "").want(t, http.StatusOK).decode(t, &all)
	if len(all.Documents) != len(live) || all.Next != "" {
		t.Fatalf("default page: %d documents, next %q", len(all.Documents), all.Next)
	}

	var odd httpapi.DocumentPage
	call(t, srv, "GET", "/api/v0/collections/User/documents?where="+url.QueryEscape(`{"age": 1}`), "").
		want(t, http.StatusOK).decode(t, &odd)
	var oddIDs []string
	for _, d := range odd.Documents {
		oddIDs = append(oddIDs, d.ID)
		if fmt.Sprint(d.Fields["age"]) != "1" {
			t.Errorf("filter age=1 gave %v", d.Fields)
		}
	}
	want := []string{ids[1], ids[5]} // ids[3] is deleted
	slices.Sort(want)
	if !slices.Equal(oddIDs, want) {
		t.Fatalf("filter age=1: %v, want %v", oddIDs, want)
	}

	for _, c := range []struct{ query, msg string }{
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=x", "limit"},
		{"where=" + url.QueryEscape(`[1]`), "where"},
		{"where=" + url.QueryEscape(`{"age": 1} {}`), "where"},
		{"where=" + url.QueryEscape(`{"nope": 1}`), "nope"},
		{"where=" + url.QueryEscape(`{"age": "x"}`), "age"},
		{"after=zzz", `document ID "zzz" is not a gossipdb document ID`},
	} {
		call(t, srv, "GET", "/api/v0/collections/User/documents?"+c.query, "").wantError(t, http.StatusBadRequest, c.msg)
	}
	call(t, srv, "GET", "/api/v0/collections/Nope/documents", "").wantError(t, http.StatusNotFound)

	// where compares whole values: a list field is refused with an error that
	// points to a GraphQL filter, not to operators where cannot take.
	call(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Post { title: String tags: [String!] @crdt(type: set) scores: [Int] }"}`).
		want(t, http.StatusOK)
	createDocIn(t, srv, "Post", `{"title": "p", "tags": ["go"], "scores": [1]}`)
	for _, w := range []string{`{"tags": "go"}`, `{"tags": ["go"]}`, `{"tags": {"_any": {"_eq": "go"}}}`, `{"scores": [1]}`} {
		field := "tags"
		if strings.Contains(w, "scores") {
			field = "scores"
		}
		call(t, srv, "GET", "/api/v0/collections/Post/documents?where="+url.QueryEscape(w), "").
			wantError(t, http.StatusBadRequest, fmt.Sprintf(`where: field %q is a list`, field), "Post(filter: {"+field+": {_any: {_eq: …}}})")
	}
	var titled httpapi.DocumentPage
	call(t, srv, "GET", "/api/v0/collections/Post/documents?where="+url.QueryEscape(`{"title": "p"}`), "").
		want(t, http.StatusOK).decode(t, &titled)
	if len(titled.Documents) != 1 {
		t.Fatalf("where title=p: %+v, want the one post", titled)
	}
}

// TestSyncStatus reads catch-up of a collection through the API, before and
// after it is subscribed and a peer connects, and starts one.
func TestSyncStatus(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	peer := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	nodetest.AddUser(t, n, peer)

	var info client.SyncInfo
	call(t, srv, "GET", "/api/v0/collections/User/sync", "").want(t, http.StatusOK).decode(t, &info)
	if info.Collection != "User" || info.Subscribed || len(info.Peers) != 0 || len(info.TopicPeers) != 0 {
		t.Fatalf("before subscribing: %+v", info)
	}
	call(t, srv, "POST", "/api/v0/collections/User/sync", "").wantError(t, http.StatusBadRequest, "not subscribed")

	if err := n.Subscribe(t.Context(), "User"); err != nil {
		t.Fatal(err)
	}
	if err := peer.Subscribe(t.Context(), "User"); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n, peer)
	call(t, srv, "POST", "/api/v0/collections/User/sync", "").want(t, http.StatusAccepted)
	nodetest.Eventually(t, 15*time.Second, func() error {
		info = client.SyncInfo{}
		call(t, srv, "GET", "/api/v0/collections/User/sync", "").want(t, http.StatusOK).decode(t, &info)
		if !info.Subscribed || len(info.Peers) != 1 || info.Peers[0].Peer != peer.ID() || info.Peers[0].Finished == nil ||
			!slices.Equal(info.TopicPeers, []string{peer.ID()}) {
			return fmt.Errorf("%+v", info)
		}
		return nil
	})
	if p := info.Peers[0]; p.Error != "" || p.Rounds < 1 || p.Bytes == 0 || p.Finished.Before(p.Started) {
		t.Fatalf("finished session: %+v", p)
	}
	call(t, srv, "GET", "/api/v0/collections/Nope/sync", "").wantError(t, http.StatusNotFound)

	// wait=true answers once synced, with the session of each peer.
	var res client.SyncResult
	call(t, srv, "POST", "/api/v0/collections/User/sync?wait=true&timeout=30s", "").want(t, http.StatusOK).decode(t, &res)
	if !res.Synced || res.Collection != "User" || len(res.Peers) != 1 || res.Peers[0].Peer != peer.ID() || !res.Peers[0].Equal {
		t.Fatalf("sync with wait: %+v", res)
	}
	for _, bad := range []string{"soon", "-1s", "11m"} {
		call(t, srv, "POST", "/api/v0/collections/User/sync?wait=true&timeout="+bad, "").wantError(t, http.StatusBadRequest, "timeout")
	}
	// wait is true or false like every boolean parameter, not "true or else
	// don't wait", and a bad timeout is refused with or without it.
	for _, bad := range []string{"1", "yes", "True", "t"} {
		call(t, srv, "POST", "/api/v0/collections/User/sync?wait="+bad, "").wantError(t, http.StatusBadRequest, "wait")
	}
	for _, params := range []string{"timeout=bogus", "wait=false&timeout=bogus"} {
		call(t, srv, "POST", "/api/v0/collections/User/sync?"+params, "").wantError(t, http.StatusBadRequest, "timeout")
	}
	call(t, srv, "POST", "/api/v0/collections/User/sync?wait=false&timeout=5s", "").want(t, http.StatusAccepted)
}

// TestSyncStatusOfAll reads the catch-up state of every collection in one
// request: each as GET …/{name}/sync gives it, in name order.
func TestSyncStatusOfAll(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	var all []client.SyncInfo
	call(t, srv, "GET", "/api/v0/sync", "").want(t, http.StatusOK).decode(t, &all)
	if all == nil || len(all) != 0 {
		t.Fatalf("no collections: %+v, want []", all)
	}
	if _, err := n.AddCollection(t.Context(), "type User { name: String } type Item { n: Int } type Zed { z: Int }"); err != nil {
		t.Fatal(err)
	}
	if err := n.Subscribe(t.Context(), "Item", "Zed"); err != nil {
		t.Fatal(err)
	}
	call(t, srv, "GET", "/api/v0/sync", "").want(t, http.StatusOK).decode(t, &all)
	var names []string
	for _, info := range all {
		names = append(names, info.Collection)
		var one client.SyncInfo
		call(t, srv, "GET", "/api/v0/collections/"+info.Collection+"/sync", "").want(t, http.StatusOK).decode(t, &one)
		if !reflect.DeepEqual(info, one) {
			t.Errorf("%s: in the list %+v, alone %+v", info.Collection, info, one)
		}
	}
	if !slices.Equal(names, []string{"Item", "User", "Zed"}) {
		t.Errorf("collections %q, want [Item User Zed]", names)
	}
	if !all[0].Subscribed || all[1].Subscribed || !all[2].Subscribed {
		t.Errorf("subscribed: %v %v %v, want true false true", all[0].Subscribed, all[1].Subscribed, all[2].Subscribed)
	}
}

// TestSyncWaitReportsFailedMerges: a sync with wait=true whose sessions pulled
// a change the node cannot merge (an in-memory node holds no document of 1 MiB
// or more) answers synced false, and its error says why.
func TestSyncWaitReportsFailedMerges(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	peer := nodetest.Open(t, t.TempDir(), nil)
	srv := serve(t, n, nil)
	var wide []*gossipdb.Collection
	for _, node := range []*gossipdb.Node{n, peer} {
		cs, err := node.AddCollection(t.Context(), "type Wide { a: String b: String }")
		if err != nil {
			t.Fatal(err)
		}
		wide = append(wide, cs[0])
		if err := node.Subscribe(t.Context(), "Wide"); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Connect(t, n, peer)
	nodetest.WaitTopicPeers(t, n, "Wide", peer)
	id, err := wide[1].Create(t.Context(), map[string]any{"a": strings.Repeat("a", 600<<10)})
	if err != nil {
		t.Fatal(err)
	}
	if err := wide[1].Update(t.Context(), id, map[string]any{"b": strings.Repeat("b", 600<<10)}); err != nil {
		t.Fatal(err)
	}
	var res client.SyncResult
	call(t, srv, "POST", "/api/v0/collections/Wide/sync?wait=true&timeout=30s", "").want(t, http.StatusOK).decode(t, &res)
	if res.Synced || !strings.Contains(res.Error, "merges of received blocks failed") || !strings.Contains(res.Error, "in-memory") {
		t.Fatalf("sync of a change the node cannot merge: %+v", res)
	}
}

// TestDocumentConflicts reads a document with ?conflicts=true, through the
// API and the client: a document written once has none, listed as [].
func TestDocumentConflicts(t *testing.T) {
	n := nodetest.Open(t, "", nil)
	srv := serve(t, n, nil)
	nodetest.AddUser(t, n)
	id := createDoc(t, srv, `{"name": "Ada"}`)
	a := call(t, srv, "GET", "/api/v0/collections/User/documents/"+id+"?conflicts=true", "").want(t, http.StatusOK)
	if !strings.Contains(a.body, `"_conflicts":[]`) || !strings.Contains(a.body, `"name":"Ada"`) {
		t.Fatalf("document with conflicts: %s", a.body)
	}
	call(t, srv, "GET", "/api/v0/collections/User/documents/"+id+"?conflicts=maybe", "").wantError(t, http.StatusBadRequest, "conflicts")
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Conflicts(t.Context(), "User", id); err != nil || len(got) != 0 {
		t.Fatalf("client.Conflicts: %+v, %v", got, err)
	}
}

// TestListDocumentsPageBytes lists 20 documents of 512 KiB: a page ends once
// its documents reach httpapi.MaxPageBytes, whatever the limit, and paging on
// still gives every document once.
func TestListDocumentsPageBytes(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	name := strings.Repeat("a", 512<<10)
	for range 20 {
		createDoc(t, srv, fmt.Sprintf(`{"name": %q}`, name))
	}
	seen := map[string]bool{}
	after := ""
	for {
		a := call(t, srv, "GET", "/api/v0/collections/User/documents?limit=1000&after="+after, "").want(t, http.StatusOK)
		if len(a.body) > httpapi.MaxPageBytes+len(name)+4096 {
			t.Errorf("a page of %d bytes", len(a.body))
		}
		var page httpapi.DocumentPage
		a.decode(t, &page)
		for _, d := range page.Documents {
			if seen[d.ID] {
				t.Fatalf("%s twice", d.ID)
			}
			seen[d.ID] = true
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(seen) != 20 {
		t.Errorf("%d documents, want 20", len(seen))
	}
}

// TestListDocumentsShowDeleted lists a collection with showDeleted=true:
// its deleted documents come too, marked "_deleted", in ID order with the
// live ones, page after page; without it they are left out.
func TestListDocumentsShowDeleted(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	ids := map[string]bool{}
	for _, name := range []string{"Ada", "Bob", "Cy", "Di", "Eve"} {
		ids[createDoc(t, srv, fmt.Sprintf(`{"name": %q}`, name))] = false
	}
	for _, name := range []string{"Bob", "Eve"} {
		var page httpapi.DocumentPage
		call(t, srv, "GET", "/api/v0/collections/User/documents?where="+url.QueryEscape(fmt.Sprintf(`{"name":%q}`, name)), "").want(t, http.StatusOK).decode(t, &page)
		id := page.Documents[0].ID
		call(t, srv, "DELETE", "/api/v0/collections/User/documents/"+id, "").want(t, http.StatusNoContent)
		ids[id] = true
	}
	list := func(params string) map[string]bool {
		t.Helper()
		seen := map[string]bool{}
		after, last := "", ""
		for range 10 {
			var page httpapi.DocumentPage
			call(t, srv, "GET", "/api/v0/collections/User/documents?limit=2"+params+"&after="+after, "").want(t, http.StatusOK).decode(t, &page)
			for _, d := range page.Documents {
				if d.ID <= last {
					t.Fatalf("%s after %s: not in ID order", d.ID, last)
				}
				last = d.ID
				seen[d.ID] = d.Fields[client.DeletedKey] == true
			}
			if after = page.Next; after == "" {
				return seen
			}
		}
		t.Fatal("more pages than documents")
		return nil
	}
	if got := list("&showDeleted=true"); !maps.Equal(got, ids) {
		t.Errorf("with showDeleted: %v, want %v (true: deleted)", got, ids)
	}
	live := maps.Clone(ids)
	maps.DeleteFunc(live, func(_ string, deleted bool) bool { return deleted })
	if got := list(""); !maps.Equal(got, live) {
		t.Errorf("without: %v, want %v", got, live)
	}
	call(t, srv, "GET", "/api/v0/collections/User/documents?showDeleted=yes", "").wantError(t, http.StatusBadRequest, "showDeleted")
}
