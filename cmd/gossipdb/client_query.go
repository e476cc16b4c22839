package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gossipdb/gossipdb/client"
)

// maxRequestFile is the most bytes `client query` reads of a request from
// a file or stdin: the node's limit on a request body.
const maxRequestFile = 4 << 20

func newQueryCmd(cc *clientConfig) *cobra.Command {
	var variables, file, operation string
	cmd := &cobra.Command{
		Use:   "query REQUEST|-",
		Short: "Run a GraphQL request: query, aggregate, mutation or subscription",
		Long: `Send a GraphQL request in DefraDB's query language to the node and print its answer,
{"data": …, "errors": […]}, as JSON.

Queries: Collection(filter: …, order: …, limit: …, offset: …, docID: …, showDeleted: true,
groupBy: [f, …]) { _docID field … _version { … } }, _count(Collection: {filter: …}),
_sum/_avg/_min/_max(Collection: {field: f, filter: …}), _commits(docID: …) { cid height … };
query @explain { … } says how each collection query runs.
Mutations: create_Collection(input: {…} or [{…}, …]) (or add_Collection, as DefraDB
now names it), update_Collection(docID: … or
filter: …, input: {…}), delete_Collection(docID: … or filter: …), upsert_Collection(filter: …,
create: {…}, update: {…}). docs/API.md has them all.
Filter operators: _eq _ne _gt _ge _lt _le _in _nin _like _nlike _ilike _nilike
(and DefraDB's _neq _geq _leq), combined with _and _or _not; null matches an absent field; a list field takes _any
_all _none, each with the operators of one item. --variables gives the values of $variables.
Subscriptions: subscription { Collection(filter: …, docID: …) { … } } prints, one JSON
line each, the answer of each document created or updated from then on that matches,
until interrupted.

A request that does not parse or does not fit the collections prints its errors,
each with its line and column, on stderr; a request that ran prints its answer, and
the exit status is 1 if a field failed.

As with DefraDB's client, the request may come from a file (-f FILE) or from stdin
("-"), and -o NAME runs the operation of that name of a request that holds several.`,
		Example: `  gossipdb client query '{ User(filter: {age: {_gt: 30}}, order: {name: ASC}, limit: 20) { _docID name age } }'
  gossipdb client query '{ _count(User: {filter: {verified: {_eq: true}}}) }'
  gossipdb client query 'mutation { create_User(input: {name: "Ada", age: 36}) { _docID } }'
  gossipdb client query 'query($min: Int) { User(filter: {age: {_gt: $min}}) { name } }' --variables '{"min": 30}'
  gossipdb client query 'subscription { User(filter: {age: {_gt: 30}}) { _docID name age } }'
  gossipdb client query -f request.graphql -o Adults -v '{"min": 18}'
  cat request.graphql | gossipdb client query -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if file != "" {
				return exactArgs()(cmd, args)
			}
			return exactArgs("REQUEST")(cmd, args)
		},
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			req := client.GraphQLRequest{OperationName: operation}
			switch {
			case file != "":
				q, err := readRequest(cmd.InOrStdin(), file)
				if err != nil {
					return err
				}
				req.Query = q
			case args[0] == "-":
				q, err := readRequest(cmd.InOrStdin(), "-")
				if err != nil {
					return err
				}
				req.Query = q
			default:
				req.Query = args[0]
			}
			var vars map[string]any
			if variables != "" {
				if variables == "-" && (file == "-" || file == "" && args[0] == "-") {
					return errors.New("--variables -: the request is read from stdin already; give the variables as JSON or in a file")
				}
				text, err := jsonInput(cmd.InOrStdin(), "variables", variables)
				if err != nil {
					return err
				}
				v, err := parseJSONArg("--variables", text)
				if err != nil {
					return err
				}
				var ok bool
				if vars, ok = v.(map[string]any); !ok {
					return errors.New("--variables: want a JSON object of variable values")
				}
			}
			req.Variables = vars
			if isSubscription(req.Query, operation) {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				for resp, err := range cl.SubscriptionRequest(cmd.Context(), req) {
					if err != nil {
						return err
					}
					if err := enc.Encode(resp); err != nil {
						return err
					}
				}
				return nil
			}
			resp, err := cl.Request(cmd.Context(), req)
			if err != nil {
				return err
			}
			if err := printJSON(cmd.OutOrStdout(), resp); err != nil {
				return err
			}
			if len(resp.Errors) > 0 {
				return fmt.Errorf("%d field(s) failed; first: %w", len(resp.Errors), resp.Errors[0])
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&variables, "variables", "v", "", `values of the request's $variables: a JSON object such as '{"age": 30}', a file that holds one, or - for stdin`)
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the request from this file (in place of REQUEST)")
	cmd.Flags().StringVarP(&operation, "operation", "o", "", "the name of the operation to run, of a request that holds several")
	return cmd
}

// readRequest reads a GraphQL request from the file name, or stdin for "-".
func readRequest(stdin io.Reader, name string) (string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxRequestFile+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxRequestFile {
		return "", fmt.Errorf("%s: more than %d bytes", name, maxRequestFile)
	}
	return string(data), nil
}

// isSubscription reports whether request, a GraphQL request, is a
// subscription: its operation called operation, or its one operation if
// operation is "". It parses the request (the node parses it again, and
// answers a request that does not parse with where it fails).
func isSubscription(request, operation string) bool {
	doc, err := parser.ParseQuery(&ast.Source{Input: request})
	if err != nil {
		return false
	}
	if operation == "" {
		return len(doc.Operations) == 1 && doc.Operations[0].Operation == ast.Subscription
	}
	op := doc.Operations.ForName(operation)
	return op != nil && op.Operation == ast.Subscription
}
