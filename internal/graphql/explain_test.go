package graphql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestExplain: @explain answers, for each collection query of the
// operation, the index it reads, if any, and what it read, as
// Collection.Explain says it, in place of its documents; it refuses what
// is not a collection query.
func TestExplain(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.user.CreateIndex(context.Background(), "ByAge", gossipdb.Order{Field: "age"}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, f.user)
	runCases(t, f, []requestCase{
		{"a scan", `query @explain { User(filter: {name: {_eq: "Ada"}}) { name } }`, nil,
			`{"data":{"explain":{"User":{"collection":"User","index":null,"ranges":0,"reverse":false,"sorted":false,"grouped":false,"entriesRead":0,"docsRead":4,"results":1}}}}`, true},
		{"an index, two queries, aliased", `query @explain(type: execute) { old: User(filter: {age: {_gt: 30}}, order: {age: DESC}, limit: 1) { name } Post { title } }`, nil,
			`{"data":{"explain":{"old":{"collection":"User","index":"ByAge","ranges":1,"reverse":true,"sorted":false,"grouped":false,"entriesRead":1,"docsRead":1,"results":1},"Post":{"collection":"Post","index":null,"ranges":0,"reverse":false,"sorted":false,"grouped":false,"entriesRead":0,"docsRead":1,"results":1}}}}`, true},
		{"grouped: what the groups read", `query @explain { User(groupBy: [verified], filter: {age: {_ge: 20}}) { verified } }`, nil,
			`{"data":{"explain":{"User":{"collection":"User","index":"ByAge","ranges":1,"reverse":false,"sorted":true,"grouped":true,"entriesRead":3,"docsRead":3,"results":3}}}}`, true},
		{"not an aggregate", `query @explain { _count(User: {}) User { name } }`, nil,
			`{"errors":[{"message":"@explain explains collection queries, such as User(filter: …) { … }; _count is not one","locations":[{"line":1,"column":18}]}]}`, false},
		{"not a mutation", `mutation @explain { delete_User(docID: "$ada") { name } }`, nil,
			`{"errors":[{"message":"Directive \"explain\" may not be used on MUTATION.","locations":[{"line":1,"column":10}]}]}`, false},
		{"not with cid", `query @explain { User(docID: "$ada", cid: "$ada") { name } }`, nil,
			`{"data":null,"errors":[{"message":"gossipdb: invalid input: @explain does not take cid: a document read at a block reads no index","locations":[{"line":1,"column":18}],"path":["User"]}]}`, true},
		{"nothing was deleted", `{ User(docID: "$ada") { name } }`, nil,
			`{"data":{"User":[{"name":"Ada"}]}}`, true},
	})
}

// waitReady waits until every index of c is built.
func waitReady(t *testing.T, c *gossipdb.Collection) {
	t.Helper()
	nodetest.Eventually(t, 10*time.Second, func() error {
		for _, ix := range c.Indexes() {
			if !ix.Ready {
				return fmt.Errorf("index %s not ready", ix.Name)
			}
		}
		return nil
	})
}
