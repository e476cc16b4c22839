package graphql_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
)

const historySDL = `
type Shelf { name: String notes: [Note] }
type Note { title: String n: Int @crdt(type: pncounter) tags: [String!] @crdt(type: set) at: DateTime shelf: Shelf }
`

// newHistory is a node with a shelf and a note on it that was created
// ($genesis) and updated twice ($first, $second), and another note ($other),
// and the collections.
func newHistory(t testing.TB, lim *graphql.Limits) (*fixture, []*gossipdb.Collection) {
	t.Helper()
	f, cols := newNode(t, historySDL)
	if lim != nil {
		e, err := graphql.New(f.n, lim)
		if err != nil {
			t.Fatal(err)
		}
		f.e = e
	}
	ctx := context.Background()
	shelf, err := cols[0].Create(ctx, map[string]any{"name": "top"})
	if err != nil {
		t.Fatal(err)
	}
	notes := cols[1]
	id, err := notes.Create(ctx, map[string]any{"title": "a", "n": 1, "tags": []any{"x"}, "at": "2026-12-02T09:00:00Z", "shelf": string(shelf)})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []map[string]any{{"title": "b"}, {"n": 2, "tags": []any{"y"}}} {
		if err := notes.Update(ctx, id, ch); err != nil {
			t.Fatal(err)
		}
	}
	other, err := notes.Create(ctx, map[string]any{"title": "o"})
	if err != nil {
		t.Fatal(err)
	}
	f.ids["$shelf"] = string(shelf)
	f.ids["$note"] = string(id)
	f.ids["$other"] = string(other)
	var blocks []string
	for b, err := range notes.History(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b.CID)
	}
	if len(blocks) != 3 || blocks[2] != string(id) {
		t.Fatalf("history %v, want three blocks, the genesis %s last", blocks, id)
	}
	f.ids["$second"], f.ids["$first"], f.ids["$genesis"] = blocks[0], blocks[1], blocks[2]
	return f, cols
}

// TestCommits: _commits as DefraDB writes it lists a document's blocks,
// newest first or oldest first, paged, or one of them, with what each
// changed; an unknown or malformed docID answers [].
func TestCommits(t *testing.T) {
	f, cols := newHistory(t, nil)
	notes := cols[1]
	ctx := context.Background()
	_, notTheNote := notes.BlockInfo(ctx, gossipdb.DocID(f.ids["$note"]), f.ids["$other"])
	_, badCID := notes.BlockInfo(ctx, gossipdb.DocID(f.ids["$note"]), "garbage")
	const three = `{"cid":"$second","height":3,"links":[{"cid":"$first","name":"_head"}]}`
	const two = `{"cid":"$first","height":2,"links":[{"cid":"$genesis","name":"_head"}]}`
	const one = `{"cid":"$genesis","height":1,"links":[]}`
	list := func(commits ...string) string {
		return `{"data":{"_commits":[` + strings.Join(commits, ",") + `]}}`
	}
	runCases(t, f, []requestCase{
		{"newest first, each linked to the block before it", `{ _commits(docID: "$note") { cid height links { cid name } } }`, nil,
			list(three, two, one), true},
		{"oldest first", `{ _commits(docID: "$note", order: {height: ASC}) { cid height links { cid name } } }`, nil,
			list(one, two, three), true},
		{"the default order named", `{ _commits(docID: "$note", order: {height: DESC}) { cid height links { cid name } } }`, nil,
			list(three, two, one), true},
		{"limit and offset", `{ a: _commits(docID: "$note", limit: 1, offset: 1) { cid } b: _commits(docID: "$note", limit: 2) { cid } c: _commits(docID: "$note", offset: 3) { cid } }`, nil,
			`{"data":{"a":[{"cid":"$first"}],"b":[{"cid":"$second"},{"cid":"$first"}],"c":[]}}`, true},
		{"limit and offset, oldest first", `{ a: _commits(docID: "$note", order: {height: ASC}, limit: 2, offset: 1) { cid } b: _commits(docID: "$note", order: {height: ASC}, limit: 1) { cid } }`, nil,
			`{"data":{"a":[{"cid":"$first"},{"cid":"$second"}],"b":[{"cid":"$genesis"}]}}`, true},
		{"one block", `{ _commits(docID: "$note", cid: "$first") { cid height } }`, nil,
			`{"data":{"_commits":[{"cid":"$first","height":2}]}}`, true},
		{"the genesis", `{ _commits(docID: "$note", cid: "$note") { cid links { cid } } }`, nil,
			`{"data":{"_commits":[{"cid":"$genesis","links":[]}]}}`, true},
		{"what each block changes", `{ _commits(docID: "$note") { height changes } }`, nil,
			`{"data":{"_commits":[{"height":3,"changes":{"add":{"n":2},"setAdd":{"tags":["y"]},"setRemove":{"tags":["x"]}}},{"height":2,"changes":{"set":{"title":"b"}}},` +
				`{"height":1,"changes":{"set":{"title":"a","at":"2026-12-02T09:00:00Z","shelf":"$shelf"},"add":{"n":1},"setAdd":{"tags":["x"]}}}]}}`, true},
		{"the document, its collection, no field", `{ _commits(docID: "$note", limit: 1) { docID collectionName fieldName deleted disowned txn } }`, nil,
			`{"data":{"_commits":[{"docID":"$note","collectionName":"Note","fieldName":null,"deleted":false,"disowned":false,"txn":null}]}}`, true},
		{"a document of another collection", `{ _commits(docID: "$shelf") { collectionName height } }`, nil,
			`{"data":{"_commits":[{"collectionName":"Shelf","height":1}]}}`, true},
		{"aliases, __typename and fragments", `{ c: _commits(docID: "$note", limit: 1) { __typename h: height ...F } } fragment F on Commit { links { ... on CommitLink { name } } }`, nil,
			`{"data":{"c":[{"__typename":"Commit","h":3,"links":[{"name":"_head"}]}]}}`, true},
		{"variables", `query($id: ID!, $o: CommitOrderArg, $l: Int) { _commits(docID: $id, order: $o, limit: $l) { height } }`,
			map[string]any{"id": f.ids["$note"], "o": map[string]any{"height": "ASC"}, "l": json.Number("2")},
			`{"data":{"_commits":[{"height":1},{"height":2}]}}`, true},

		{"an unknown docID", `{ _commits(docID: "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi") { cid } }`, nil,
			`{"data":{"_commits":[]}}`, true},
		{"a malformed docID", `{ _commits(docID: "garbage") { cid } }`, nil,
			`{"data":null,"errors":[{"message":"docID: gossipdb: invalid input: document ID \"garbage\" is not a gossipdb document ID","locations":[{"line":1,"column":3}],"path":["_commits"]}]}`, true},
		{"a block of another document", `{ _commits(docID: "$note", cid: "$other") { cid } }`, nil,
			fmt.Sprintf(`{"data":null,"errors":[{"message":%q,"locations":[{"line":1,"column":3}],"path":["_commits"]}]}`, notTheNote), true},
		{"a block of an unknown document", `{ _commits(docID: "bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", cid: "$other") { cid } }`, nil,
			`{"data":null,"errors":[{"message":"gossipdb: not found: block $other is not one of document bafyreigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi's: no collection holds that document","locations":[{"line":1,"column":3}],"path":["_commits"]}]}`, true},
		{"a malformed cid", `{ _commits(docID: "$note", cid: "garbage") { cid } }`, nil,
			fmt.Sprintf(`{"data":null,"errors":[{"message":%q,"locations":[{"line":1,"column":3}],"path":["_commits"]}]}`, badCID), true},
		{"a negative limit", `{ _commits(docID: "$note", limit: -1) { cid } }`, nil,
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: negative limit -1","locations":[{"line":1,"column":3}],"path":["_commits"]}]}`, true},
		{"docID is needed", `{ _commits { cid } }`, nil,
			`{"errors":[{"message":"Field \"_commits\" argument \"docID\" of type \"ID!\" is required but not provided: _commits lists the blocks of one document; _commits without docID (DefraDB's commits of every document, or of one cid alone) is not supported: give the document's ID, with cid for one of its blocks.","locations":[{"line":1,"column":3}]}]}`, false},
		{"DefraDB's fields a commit does not have", `{ _commits(docID: "$note") { signature collectionID links { fieldName } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"signature\" on type \"Commit\": a commit's author is the key that signed it, in the peer ID form; the signature itself is not answered.","locations":[{"line":1,"column":84}]},{"message":"Cannot query field \"collectionID\" on type \"Commit\": a commit names its collection by collectionName (DefraDB's collectionID is a number local to each node). Did you mean \"collectionName\"?","locations":[{"line":1,"column":94}]},{"message":"Cannot query field \"fieldName\" on type \"CommitLink\": a link here is to a block the change was written on, named \"_head\"; a block changes the whole document, so no link names a field.","locations":[{"line":1,"column":115}]}]}`, false},
		{"an order on another field", `{ _commits(order: {cid: ASC}, docID: "$note") { cid } }`, nil,
			`{"errors":[{"message":"Argument \"order\" has invalid value {cid: ASC}.\nIn field \"cid\": Unknown field.","locations":[{"line":1,"column":19}]}]}`, false},
	})

	// The answer's keys are in the order the request selects them.
	got, _ := f.do(t, `{ _commits(docID: "$note", cid: "$first") { links { name cid } height cid } }`, nil)
	if want := f.expand(`{"data":{"_commits":[{"links":[{"name":"_head","cid":"$genesis"}],"height":2,"cid":"$first"}]}}`); got != want {
		t.Errorf("keys out of order:\n got %s\nwant %s", got, want)
	}

	// Each delta is its block's bytes: their hash is its CID.
	var out struct {
		Commits []struct{ CID, Delta, Author, SchemaVersionID string } `json:"_commits"`
	}
	resp, _, err := f.e.Do(ctx, client.GraphQLRequest{Query: f.expand(`{ _commits(docID: "$note") { cid delta author schemaVersionID: schemaVersionId } }`)})
	if err != nil || len(resp.Errors) > 0 {
		t.Fatal(err, resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Commits) != 3 {
		t.Fatalf("%d commits, want 3", len(out.Commits))
	}
	for _, c := range out.Commits {
		data, err := base64.StdEncoding.DecodeString(c.Delta)
		if err != nil {
			t.Fatalf("delta of %s: %v", c.CID, err)
		}
		want := cid.MustParse(c.CID)
		got, err := want.Prefix().Sum(data)
		if err != nil || !got.Equals(want) {
			t.Errorf("delta of %s hashes to %s (%v)", c.CID, got, err)
		}
		if c.Author != f.n.ID() || c.SchemaVersionID != notes.Version() {
			t.Errorf("%s: author %s under %s, want %s under %s", c.CID, c.Author, c.SchemaVersionID, f.n.ID(), notes.Version())
		}
	}

	// A deleted document has its history, the delete on top.
	if err := notes.Delete(ctx, gossipdb.DocID(f.ids["$note"])); err != nil {
		t.Fatal(err)
	}
	runCases(t, f, []requestCase{
		{"a deleted document", `{ _commits(docID: "$note", limit: 2) { height deleted changes } }`, nil,
			`{"data":{"_commits":[{"height":4,"deleted":true,"changes":{}},{"height":3,"deleted":false,"changes":{"add":{"n":2},"setAdd":{"tags":["y"]},"setRemove":{"tags":["x"]}}}]}}`, true},
	})
}

// TestCommitsBounds: _commits in ascending order holds the blocks it
// answers within the bounds of a sort in memory (here lowered to 2 blocks):
// the last offset+limit of the history with a limit, else all of it. The
// default order holds none.
func TestCommitsBounds(t *testing.T) {
	f, _ := newHistory(t, nil)
	bound := &fixture{n: f.n, e: graphql.WithSortLimit(f.e, 2), ids: f.ids}
	over := fmt.Sprintf(`{"data":null,"errors":[{"message":"gossipdb: invalid input: too large: _commits in ascending order holds more than 2 blocks or %d bytes in memory; add a limit, or page in the default order (newest first)","locations":[{"line":1,"column":3}],"path":["_commits"]}]}`, gossipdb.MaxSortedBytes)
	runCases(t, bound, []requestCase{
		{"three blocks", `{ _commits(docID: "$note", order: {height: ASC}) { height } }`, nil, over, true},
		{"the first two", `{ _commits(docID: "$note", order: {height: ASC}, limit: 2) { height } }`, nil,
			`{"data":{"_commits":[{"height":1},{"height":2}]}}`, true},
		{"the second", `{ _commits(docID: "$note", order: {height: ASC}, limit: 1, offset: 1) { height } }`, nil,
			`{"data":{"_commits":[{"height":2}]}}`, true},
		{"offset and limit over the bound", `{ _commits(docID: "$note", order: {height: ASC}, limit: 2, offset: 1) { height } }`, nil, over, true},
		{"newest first holds none", `{ _commits(docID: "$note") { height } }`, nil,
			`{"data":{"_commits":[{"height":3},{"height":2},{"height":1}]}}`, true},
	})
}

// TestCommitsAnswerSize: a _commits answer counts toward the answer's size
// limit what it selects of each block, so a long history cannot make a large
// answer: the field fails at the limit, as a query of documents does.
func TestCommitsAnswerSize(t *testing.T) {
	f, cols := newHistory(t, &graphql.Limits{MaxResultSize: 3000})
	ctx := context.Background()
	for i := range 50 {
		if err := cols[1].Update(ctx, gossipdb.DocID(f.ids["$note"]), map[string]any{"title": strings.Repeat("t", 40+i)}); err != nil {
			t.Fatal(err)
		}
	}
	const over = `{"data":null,"errors":[{"message":"the answer is larger than the limit of 3000 bytes: ask for fewer documents (limit, offset), fewer fields or fewer requests at once","locations":[{"line":1,"column":3}],"path":["_commits"]}]}`
	for _, c := range []struct {
		query  string
		within bool
	}{
		{`{ _commits(docID: "$note", limit: 5) { cid height } }`, true},
		{`{ _commits(docID: "$note") { cid height } }`, false},
		{`{ _commits(docID: "$note", order: {height: ASC}) { height } }`, true},
		{`{ _commits(docID: "$note", order: {height: ASC}) { height changes } }`, false},
		{`{ _commits(docID: "$note", limit: 20) { delta } }`, false},
		{`{ a: _commits(docID: "$note", limit: 10) { cid } b: _commits(docID: "$note", limit: 10) { cid } c: _commits(docID: "$note", limit: 10) { cid } d: _commits(docID: "$note", limit: 10) { cid } e: _commits(docID: "$note", limit: 10) { cid } }`, false},
	} {
		got, ran := f.do(t, c.query, nil)
		if !ran || c.within == strings.Contains(got, "the answer is larger than the limit") {
			t.Errorf("%s: ran %v, %.300s; want it within the limit: %v", c.query, ran, got, c.within)
		}
		if !c.within && strings.Count(c.query, "_commits") == 1 && got != over {
			t.Errorf("%s:\n got %s\nwant %s", c.query, got, over)
		}
	}
}

// TestVersion: _version lists a document's heads, in queries, under
// relations, in groups and in mutations' answers, where it shows the heads
// the mutation left once it committed.
func TestVersion(t *testing.T) {
	f, cols := newHistory(t, nil)
	ctx := context.Background()
	runCases(t, f, []requestCase{
		{"in a query", `{ Note(docID: "$note") { title _version { cid height links { cid } } } }`, nil,
			`{"data":{"Note":[{"title":"b","_version":[{"cid":"$second","height":3,"links":[{"cid":"$first"}]}]}]}}`, true},
		{"under a relation, both ways", `{ Shelf { notes(filter: {title: {_eq: "b"}}) { _version { height } } } Note(docID: "$note") { shelf { _version { cid } } } }`, nil,
			`{"data":{"Shelf":[{"notes":[{"_version":[{"height":3}]}]}],"Note":[{"shelf":{"_version":[{"cid":"$shelf"}]}}]}}`, true},
		{"in a group's documents", `{ Note(groupBy: [title], filter: {title: {_eq: "o"}}) { title _group { _version { cid } } } }`, nil,
			`{"data":{"Note":[{"title":"o","_group":[{"_version":[{"cid":"$other"}]}]}]}}`, true},
		{"not of a group", `{ Note(groupBy: [title]) { title _version { cid } } }`, nil,
			`{"errors":[{"message":"Cannot query field \"_version\" on a group of \"Note\": a query with groupBy selects of each group its groupBy fields (title), _group and aggregates over _group, such as _count(_group: {}).","locations":[{"line":1,"column":34}]}]}`, false},
	})

	// A mutation's answer shows the heads it left: a transaction that only
	// creates writes one more block when it commits (see gossipdb.Txn).
	for _, q := range []string{
		`mutation { create_Note(input: {title: "m"}) { _docID title _version { cid height links { cid } } } }`,
		`mutation { update_Note(docID: "$other", input: {title: "p"}) { _docID title _version { cid height links { cid } } } }`,
		`mutation { update_Note(docID: "$other", input: {n: 1}) { _docID title v: _version { ...C } } } fragment C on Commit { cid height links { cid } }`,
		`mutation($d: Boolean!) { create_Note(input: [{title: "q"}, {title: "r"}]) { _docID title _version { cid height links { cid } delta @include(if: $d) } } }`,
		`mutation { a: create_Note(input: {title: "s"}) { _docID title _version { cid height links { cid } } } b: delete_Note(docID: "$other") { _docID title _version { cid height links { cid } } } }`,
	} {
		resp, ran, err := f.e.Do(ctx, client.GraphQLRequest{Query: f.expand(q), Variables: map[string]any{"d": false}})
		if err != nil || !ran || len(resp.Errors) > 0 {
			t.Fatalf("%s: ran %v, %v, %+v", q, ran, err, resp.Errors)
		}
		var data map[string][]map[string]any
		if err := json.Unmarshal(resp.Data, &data); err != nil {
			t.Fatal(err)
		}
		for field, docs := range data {
			for _, d := range docs {
				id := gossipdb.DocID(d["_docID"].(string))
				version := d["_version"]
				if version == nil {
					version = d["v"]
				}
				if want := headsOf(t, cols[1], id); !jsonEqual(t, version, want) {
					t.Errorf("%s: %s of %s: _version %v, want the heads after the commit %v", q, field, id, version, want)
				}
			}
		}
	}
	if got, _ := f.do(t, `{ Note(docID: "$other") { title } }`, nil); got != `{"data":{"Note":[]}}` {
		t.Errorf("the mutations were not committed: %s", got)
	}
	// A mutation that fails has no answer and no _version.
	runCases(t, f, []requestCase{
		{"a mutation that fails", `mutation { a: create_Note(input: {title: "t"}) { _version { cid } } b: update_Note(input: {title: "u"}) { title } }`, nil,
			`{"data":null,"errors":[{"message":"update_Note: give docID or filter (filter: {} selects every document)","locations":[{"line":1,"column":69}],"path":["b"]}]}`, true},
	})
}

// headsOf is what _version { cid height links { cid } } answers of document
// id of c: its heads, newest first.
func headsOf(t *testing.T, c *gossipdb.Collection, id gossipdb.DocID) []any {
	t.Helper()
	ctx := context.Background()
	heads, err := c.Heads(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != 1 {
		t.Fatalf("%s has heads %v, want one", id, heads)
	}
	b, err := c.BlockInfo(ctx, id, heads[0])
	if err != nil {
		t.Fatal(err)
	}
	links := []any{}
	for _, p := range b.Prev {
		links = append(links, map[string]any{"cid": p})
	}
	return []any{map[string]any{"cid": b.CID, "height": float64(b.Height), "links": links}}
}

// jsonEqual reports whether a and b encode to the same JSON.
func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(x) == string(y)
}

// TestTimeTravel: a collection's query field with docID and cid answers the
// document as it was at that block, its _version that block; a block that
// deletes it answers []; a block of another document is an error; cid with
// what selects or pages documents is refused.
func TestTimeTravel(t *testing.T) {
	f, cols := newHistory(t, nil)
	notes := cols[1]
	ctx := context.Background()
	gone, err := notes.Create(ctx, map[string]any{"title": "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := notes.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	heads, err := notes.Heads(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	f.ids["$gone"], f.ids["$deletion"] = string(gone), heads[0]
	_, notTheNote := notes.GetAt(ctx, gossipdb.DocID(f.ids["$note"]), f.ids["$other"])
	_, badCID := notes.GetAt(ctx, gossipdb.DocID(f.ids["$note"]), "garbage")
	_, unknown := notes.GetAt(ctx, "garbage", f.ids["$first"])
	fieldError := func(err error, column int) string {
		return fmt.Sprintf(`{"data":null,"errors":[{"message":%q,"locations":[{"line":1,"column":%d}],"path":["Note"]}]}`, err, column)
	}
	refused := func(msg string, column int) string {
		return fmt.Sprintf(`{"errors":[{"message":%q,"locations":[{"line":1,"column":%d}]}]}`, msg, column)
	}
	const with = "gossipdb: invalid input: %s cannot go with cid: cid reads the one document docID names, as it was at that block of its history"
	const needsDocID = `gossipdb: invalid input: cid needs docID to name one document, the one to read as it was at that block, such as User(docID: "bafy…", cid: "bafy…")`
	runCases(t, f, []requestCase{
		{"at the genesis", `{ Note(docID: "$note", cid: "$genesis") { _docID title n tags at } }`, nil,
			`{"data":{"Note":[{"_docID":"$note","title":"a","n":1,"tags":["x"],"at":"2026-12-02T09:00:00Z"}]}}`, true},
		{"at each block", `{ a: Note(docID: "$note", cid: "$first") { title n tags } b: Note(docID: ["$note"], cid: "$second") { title n tags } }`, nil,
			`{"data":{"a":[{"title":"b","n":1,"tags":["x"]}],"b":[{"title":"b","n":3,"tags":["y"]}]}}`, true},
		{"its _version is that block", `{ Note(docID: "$note", cid: "$first") { _version { cid height } } }`, nil,
			`{"data":{"Note":[{"_version":[{"cid":"$first","height":2}]}]}}`, true},
		{"related documents as they are now", `{ Note(docID: "$note", cid: "$genesis") { shelf { name } } }`, nil,
			`{"data":{"Note":[{"shelf":{"name":"top"}}]}}`, true},
		{"variables", `query($id: [ID!], $at: ID, $l: Int) { Note(docID: $id, cid: $at, limit: $l) { title } }`,
			map[string]any{"id": []any{f.ids["$note"]}, "at": f.ids["$genesis"]}, `{"data":{"Note":[{"title":"a"}]}}`, true},
		{"a null cid is none", `{ Note(docID: "$note", cid: null, filter: {title: {_eq: "b"}}) { title } }`, nil,
			`{"data":{"Note":[{"title":"b"}]}}`, true},
		{"deleted at that block", `{ Note(docID: "$gone", cid: "$deletion") { title } }`, nil,
			`{"data":{"Note":[]}}`, true},
		{"before it was deleted", `{ Note(docID: "$gone", cid: "$gone") { title } }`, nil,
			`{"data":{"Note":[{"title":"gone"}]}}`, true},

		{"a block of another document", `{ Note(docID: "$note", cid: "$other") { title } }`, nil, fieldError(notTheNote, 3), true},
		{"a block of another collection's document", `{ Note(docID: "$shelf", cid: "$shelf") { title } }`, nil,
			`{"data":null,"errors":[{"message":"gossipdb: not found: document $shelf in Note","locations":[{"line":1,"column":3}],"path":["Note"]}]}`, true},
		{"a malformed cid", `{ Note(docID: "$note", cid: "garbage") { title } }`, nil, fieldError(badCID, 3), true},
		{"a malformed docID", `{ Note(docID: "garbage", cid: "$first") { title } }`, nil, fieldError(unknown, 3), true},

		{"with filter", `{ Note(filter: {title: {_eq: "b"}}, docID: "$note", cid: "$first") { title } }`, nil,
			refused(fmt.Sprintf(with, "filter"), 8), false},
		{"with limit and order", `{ Note(limit: 1, order: {title: ASC}, docID: "$note", cid: "$first") { title } }`, nil,
			`{"errors":[{"message":"` + fmt.Sprintf(with, "limit") + `","locations":[{"line":1,"column":8}]},{"message":"` + fmt.Sprintf(with, "order") + `","locations":[{"line":1,"column":18}]}]}`, false},
		{"with groupBy, in a fragment", `{ ...Q } fragment Q on Query { Note(groupBy: [title], docID: "$note", cid: "$first") { title } }`, nil,
			refused(fmt.Sprintf(with, "groupBy"), 37), false},
		{"without docID", `{ Note(cid: "$first") { title } }`, nil, refused(needsDocID, 8), false},
		{"with two docIDs", `{ Note(docID: ["$note", "$other"], cid: "$first") { title } }`, nil, refused(needsDocID, 8), false},
		{"a variable's limit", `query($l: Int) { Note(docID: "$note", cid: "$first", limit: $l) { title } }`, map[string]any{"l": json.Number("1")},
			`{"data":null,"errors":[{"message":"` + fmt.Sprintf(with, "limit") + `","locations":[{"line":1,"column":18}],"path":["Note"]}]}`, true},
		{"a variable's docIDs", `query($id: [ID!]) { Note(docID: $id, cid: "$first") { title } }`, map[string]any{"id": []any{}},
			fmt.Sprintf(`{"data":null,"errors":[{"message":%q,"locations":[{"line":1,"column":21}],"path":["Note"]}]}`, needsDocID), true},
		{"not under a relation", `{ Shelf { notes(cid: "$first", docID: "$note") { title } } }`, nil,
			`{"errors":[{"message":"Unknown argument \"cid\" on field \"notes\" of type \"Shelf\": a document is read at a block of its history (cid) by a collection's query field, such as User(docID: \"…\", cid: \"…\"), or listed by _commits(docID: \"…\", cid: \"…\").","locations":[{"line":1,"column":17}]}]}`, false},
	})
}

// TestHistoryNotOnTheFastPath: the fast path takes a query of a document at
// a block, whose fields are a document's, and leaves _version and _commits to
// graphql-go; both answer alike.
func TestHistoryNotOnTheFastPath(t *testing.T) {
	f, _ := newHistory(t, nil)
	slow := graphql.WithoutFastPath(f.e)
	for _, c := range []struct {
		query string
		fast  bool
	}{
		{`{ Note(docID: "$note", cid: "$first") { title _docID } }`, true},
		{`{ Note(docID: "$note", cid: "$first") { title _version { cid } } }`, false},
		{`{ Note { title _version { cid } } }`, false},
		{`{ _commits(docID: "$note") { cid height } }`, false},
		{`{ a: _commits(docID: "$note") { cid } b: Note { title } }`, false},
	} {
		req := client.GraphQLRequest{Query: f.expand(c.query)}
		if _, fast := bothWays(t, f.e, slow, req); fast != c.fast {
			t.Errorf("%s: answered by the fast path %v, want %v", c.query, fast, c.fast)
		}
	}
}

// TestVersionInMutationOverLimit: a mutation's _version counts toward the
// answer's size limit, whether read at once (a create alone, which needs no
// transaction) or once the mutation's transaction has committed; over it the
// _version is null, with the error, and the rest of the answer shows the
// changes that were made.
func TestVersionInMutationOverLimit(t *testing.T) {
	f, _ := newHistory(t, &graphql.Limits{MaxResultSize: 200})
	const over = `"errors":[{"message":"the answer is larger than the limit of 200 bytes: ask for fewer documents (limit, offset), fewer fields or fewer requests at once","locations":[{"line":1,"column":%d}],"path":[%s]}]}`
	runCases(t, f, []requestCase{
		{"a create's _version over the limit", `mutation { create_Note(input: {title: "m"}) { title _version { delta } } }`, nil,
			`{"data":{"create_Note":[{"title":"m","_version":null}]},` + fmt.Sprintf(over, 53, `"create_Note",0,"_version"`), true},
		{"the document was created", `{ _count(Note: {filter: {title: {_eq: "m"}}}) }`, nil,
			`{"data":{"_count":1}}`, true},
		{"an update's _version over the limit", `mutation { update_Note(filter: {title: {_eq: "m"}}, input: {title: "p"}) { title _version { delta } } }`, nil,
			`{"data":{"update_Note":[{"title":"p","_version":null}]},` + fmt.Sprintf(over, 82, `"update_Note",0,"_version",0`), true},
		{"the document was updated", `{ _count(Note: {filter: {title: {_eq: "p"}}}) }`, nil,
			`{"data":{"_count":1}}`, true},
		{"within the limit", `mutation { create_Note(input: {title: "m"}) { _version { height } } }`, nil,
			`{"data":{"create_Note":[{"_version":[{"height":1}]}]}}`, true},
	})
}

// TestMutationBlocks: a mutation writes as few blocks as its atomicity
// needs: a document created alone is one plain block (no transaction, so no
// seal), an update read back in its answer is one plain block too (its
// transaction's one change, read without merging it early), and a list of
// creates is a transaction: its geneses and a seal.
func TestMutationBlocks(t *testing.T) {
	f, _ := newHistory(t, nil)
	created, _ := f.do(t, `mutation { create_Note(input: {title: "z"}) { _docID } }`, nil)
	var res struct {
		Data struct {
			CreateNote []struct {
				ID string `json:"_docID"`
			} `json:"create_Note"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(created), &res); err != nil || len(res.Data.CreateNote) != 1 {
		t.Fatalf("create: %s (%v)", created, err)
	}
	f.ids["$z"] = res.Data.CreateNote[0].ID
	runCases(t, f, []requestCase{
		{"a create alone: one plain block", `{ _commits(docID: "$z") { height txn } }`, nil,
			`{"data":{"_commits":[{"height":1,"txn":null}]}}`, true},
		{"an update read back", `mutation { update_Note(docID: "$z", input: {title: "y"}) { title n } }`, nil,
			`{"data":{"update_Note":[{"title":"y","n":0}]}}`, true},
		{"its one plain block", `{ _commits(docID: "$z") { height txn changes } }`, nil,
			`{"data":{"_commits":[{"height":2,"txn":null,"changes":{"set":{"title":"y"}}},{"height":1,"txn":null,"changes":{"set":{"title":"z"}}}]}}`, true},
		{"a list of creates", `mutation { create_Note(input: [{title: "w1"}, {title: "w2"}]) { title _version { height } } }`, nil,
			`{"data":{"create_Note":[{"title":"w1","_version":[{"height":1}]},{"title":"w2","_version":[{"height":2}]}]}}`, true},
	})
}
