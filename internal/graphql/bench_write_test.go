package graphql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
)

// BenchmarkGraphQLWrite runs durable writes through the executor on a node
// on disk, one request each, as DefraDB's users make them: create_ of one
// document, and update_ of one document, its answer read back. It reports
// the blocks each request wrote (blocks/op, from Metrics.Writes) and the
// requests per second.
func BenchmarkGraphQLWrite(b *testing.B) {
	for _, kind := range []string{"create", "update"} {
		b.Run(kind, func(b *testing.B) {
			n, err := gossipdb.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { n.Close() })
			ctx := context.Background()
			if _, err := n.AddCollection(ctx, `type User { name: String age: Int }`); err != nil {
				b.Fatal(err)
			}
			e, err := graphql.New(n, nil)
			if err != nil {
				b.Fatal(err)
			}
			do := func(query string, vars map[string]any) []byte {
				resp, _, err := e.Do(ctx, client.GraphQLRequest{Query: query, Variables: vars})
				if err != nil || len(resp.Errors) > 0 {
					b.Fatalf("%s: %v %+v", query, err, resp.Errors)
				}
				return resp.Data
			}
			var created struct {
				Create []struct {
					ID string `json:"_docID"`
				} `json:"create_User"`
			}
			if err := json.Unmarshal(do(`mutation { create_User(input: {name: "Ada", age: 0}) { _docID } }`, nil), &created); err != nil {
				b.Fatal(err)
			}
			id := created.Create[0].ID
			before := n.Metrics().Writes
			i := 0
			for b.Loop() {
				i++
				if kind == "create" {
					do(`mutation($name: String) { create_User(input: {name: $name}) { _docID name } }`, map[string]any{"name": fmt.Sprint("user ", i)})
				} else {
					do(`mutation($id: [ID!], $age: Int) { update_User(docID: $id, input: {age: $age}) { name age } }`, map[string]any{"id": []any{id}, "age": json.Number(fmt.Sprint(i))})
				}
			}
			b.ReportMetric(float64(n.Metrics().Writes-before)/float64(b.N), "blocks/op")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		})
	}
}
