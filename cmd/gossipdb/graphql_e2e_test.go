package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// graphiqlQuery is the introspection query GraphiQL sends when it opens.
const graphiqlQuery = "../../internal/graphql/testdata/graphiql_introspection.graphql"

// TestGraphQLLimitFlags: the --graphql-* flags set the limits of the node's
// GraphQL requests, and config.json keeps them. GraphiQL's introspection of a
// schema of 150 collections of 50 fields answers more than the default
// --graphql-max-result-size (4 MiB) and is refused with it; with 16MiB it is
// answered. --graphql-max-depth 15 lets GraphiQL's query (15 deep) through and
// refuses one level more, still after a restart without the flags, which
// config.json keeps; given its default again, the result size is no longer
// kept, and the node refuses the introspection.
func TestGraphQLLimitFlags(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t, "--graphql-max-result-size", "16MiB", "--graphql-max-depth", "15")
	url := n.url()
	ok(t, "client", "collection", "add", nodetest.WideSDL(150, 50), "--url", url)

	var answer struct {
		Data struct {
			Schema struct {
				Types []struct{ Name string }
			} `json:"__schema"`
		}
	}
	out := ok(t, "client", "query", "-f", graphiqlQuery, "--url", url)
	decodeJSON(t, out, &answer)
	if len(answer.Data.Schema.Types) < 150 || len(out) < 4<<20 {
		t.Fatalf("introspection answered %d types in %d bytes; want the 150 collections' in more than 4 MiB",
			len(answer.Data.Schema.Types), len(out))
	}
	deep := `{ __type(name: "C0") {` + strings.Repeat(" ofType {", 14) + " name" + strings.Repeat(" }", 15) + " }"
	fails(t, []string{"client", "query", deep, "--url", url}, "selections nest deeper than the limit of 15")

	n.stop(t)
	n.start(t)
	fails(t, []string{"client", "query", deep, "--url", url}, "selections nest deeper than the limit of 15")
	var kept map[string]any
	data, err := os.ReadFile(filepath.Join(n.rootdir, "config.json"))
	if err == nil {
		err = json.Unmarshal(data, &kept)
	}
	if err != nil || kept["graphqlMaxResultSize"] != "16MiB" || kept["graphqlMaxDepth"] != 15.0 {
		t.Fatalf("config.json: %s, %v; want graphqlMaxResultSize 16MiB and graphqlMaxDepth 15", data, err)
	}

	n.stop(t)
	n.start(t, "--graphql-max-result-size", "4MiB")
	fails(t, []string{"client", "query", "-f", graphiqlQuery, "--url", url},
		"introspection answer is over the limit of 4194304 bytes")
	fails(t, []string{"client", "query", deep, "--url", url}, "selections nest deeper than the limit of 15")
	data, err = os.ReadFile(filepath.Join(n.rootdir, "config.json"))
	if err != nil || strings.Contains(string(data), "graphqlMaxResultSize") || !strings.Contains(string(data), `"graphqlMaxDepth": 15`) {
		t.Fatalf("config.json: %s, %v; want graphqlMaxDepth and no graphqlMaxResultSize, at its default", data, err)
	}
}
