package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuery runs GraphQL requests through `gossipdb client query` against a
// running node: a mutation, a query, a variable, and the errors.
func TestQuery(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)

	var created struct {
		Data struct {
			CreateUser []struct {
				DocID string `json:"_docID"`
				Name  string
			} `json:"create_User"`
		}
	}
	decodeJSON(t, ok(t, "client", "query", `mutation { create_User(input: [{name: "Ada", age: 36}, {name: "Bob"}]) { _docID name } }`, "--url", url), &created)
	if len(created.Data.CreateUser) != 2 || created.Data.CreateUser[0].Name != "Ada" || !strings.HasPrefix(created.Data.CreateUser[0].DocID, "bafyrei") {
		t.Fatalf("create printed %+v", created)
	}

	want := `{
  "data": {
    "User": [
      {
        "name": "Ada",
        "age": 36
      }
    ]
  }
}
`
	if got := ok(t, "client", "query", `{ User(filter: {age: {_gt: 30}}, order: {name: ASC}, limit: 20) { name age } }`, "--url", url); got != want {
		t.Fatalf("query printed %q, want %q", got, want)
	}
	want = "{\n  \"data\": {\n    \"User\": [\n      {\n        \"name\": \"Bob\"\n      }\n    ]\n  }\n}\n"
	if got := ok(t, "client", "query", `query($n: Int) { User(filter: {age: {_eq: $n}}) { name } }`, "--variables", `{"n": null}`, "--url", url); got != want {
		t.Fatalf("query with a variable printed %q, want %q", got, want)
	}
	if got := ok(t, "client", "query", `{ User(filter: {age: {_eq: null}}) { name } }`, "--url", url); got != want {
		t.Fatalf("query with null printed %q, want %q", got, want)
	}
	if got := ok(t, "client", "query", `{ _count(User: {}) }`, "--url", url); got != "{\n  \"data\": {\n    \"_count\": 2\n  }\n}\n" {
		t.Fatalf("_count printed %q", got)
	}

	fails(t, []string{"client", "query", "{ User { name ", "--url", url}, "1:15: syntax error: Expected Name, found EOF")
	fails(t, []string{"client", "query", "{ Usr { name } }", "--url", url}, `1:3: Cannot query field "Usr" on type "Query"`)
	fails(t, []string{"client", "query", "{ __typename }", "--variables", "[1]", "--url", url}, "--variables: want a JSON object")
	fails(t, []string{"client", "query", "{ __typename }", "--variables", "{", "--url", url}, "invalid JSON --variables")

	// A request that ran with a failing field prints its answer and exits 1.
	r := gossipdb(t, "client", "query", "{ User(limit: -1) { name } }", "--url", url)
	if r.code != 1 || !strings.Contains(r.stdout, `"message": "gossipdb: invalid input: negative limit -1"`) ||
		r.stderr != "Error: 1 field(s) failed; first: 1:3: gossipdb: invalid input: negative limit -1\n" {
		t.Fatalf("failing field: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// So does a sum beyond the range of a Float; an order by _docID works.
	ok(t, "client", "query", `mutation { create_User(input: [{name: "Cy", points: 1.7e308}, {name: "Di", points: 1.7e308}]) { name } }`, "--url", url)
	r = gossipdb(t, "client", "query", "{ _sum(User: {field: points}) _max(User: {field: points}) }", "--url", url)
	if r.code != 1 || !strings.Contains(r.stdout, `"_sum": null`) || !strings.Contains(r.stdout, `"_max": 1.7e+308`) ||
		r.stderr != "Error: 1 field(s) failed; first: 1:3: gossipdb: invalid input: field \"points\": sum is out of the range of a Float\n" {
		t.Fatalf("sum out of range: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var ordered struct {
		Data struct {
			User []struct {
				DocID string `json:"_docID"`
			}
		}
	}
	decodeJSON(t, ok(t, "client", "query", `{ User(order: {_docID: DESC}) { _docID } }`, "--url", url), &ordered)
	if u := ordered.Data.User; len(u) != 4 || !strings.HasPrefix(u[0].DocID, "bafyrei") || u[0].DocID <= u[1].DocID || u[1].DocID <= u[2].DocID || u[2].DocID <= u[3].DocID {
		t.Fatalf("order by _docID DESC printed %+v", u)
	}

	// DefraDB's flags: the request from a file (-f) or stdin ("-"), the
	// operation to run (-o), the variables (-v).
	file := filepath.Join(t.TempDir(), "request.graphql")
	if err := os.WriteFile(file, []byte(`query Old($n: Int) { User(filter: {age: {_gt: $n}}) { name } } query Count { _count(User: {}) }`), 0o600); err != nil {
		t.Fatal(err)
	}
	want = "{\n  \"data\": {\n    \"User\": [\n      {\n        \"name\": \"Ada\"\n      }\n    ]\n  }\n}\n"
	if got := ok(t, "client", "query", "-f", file, "-o", "Old", "-v", `{"n": 30}`, "--url", url); got != want {
		t.Fatalf("query -f -o -v printed %q, want %q", got, want)
	}
	if got := ok(t, "client", "query", "--file", file, "--operation", "Count", "--url", url); got != "{\n  \"data\": {\n    \"_count\": 4\n  }\n}\n" {
		t.Fatalf("query --file --operation printed %q", got)
	}
	cmd := exec.Command(bin, "client", "query", "-", "--url", url)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(`{ _count(User: {}) }`)
	if out, err := cmd.Output(); err != nil || string(out) != "{\n  \"data\": {\n    \"_count\": 4\n  }\n}\n" {
		t.Fatalf("query - printed %q, %v", out, err)
	}
	// The variables from a file, or from stdin: those of a large request
	// exceed what an argument holds.
	vars := filepath.Join(t.TempDir(), "variables.json")
	if err := os.WriteFile(vars, []byte(`{"n": 30}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ok(t, "client", "query", "-f", file, "-o", "Old", "-v", vars, "--url", url); got != want {
		t.Fatalf("query -v FILE printed %q, want %q", got, want)
	}
	cmd = exec.Command(bin, "client", "query", "-f", file, "-o", "Old", "-v", "-", "--url", url)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(`{"n": 30}`)
	if out, err := cmd.Output(); err != nil || string(out) != want {
		t.Fatalf("query -v - printed %q, %v", out, err)
	}
	fails(t, []string{"client", "query", "-", "-v", "-", "--url", url}, "--variables -: the request is read from stdin already")
	fails(t, []string{"client", "query", "{ __typename }", "-v", filepath.Join(t.TempDir(), "none.json"), "--url", url},
		"a file to read it from, or - for stdin")
	fails(t, []string{"client", "query", "-f", file, "--url", url}, "Must provide operation name")
	fails(t, []string{"client", "query", "-f", file, "-o", "Nope", "--url", url}, `Unknown operation named "Nope"`)
	fails(t, []string{"client", "query", "-f", file, "{ x }", "--url", url}, "want no arguments, got 1")
}
