package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/gossipdb/gossipdb/client"
)

func newQueryCmd(cc *clientConfig) *cobra.Command {
	var variables string
	cmd := &cobra.Command{
		Use:   "query REQUEST",
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
the exit status is 1 if a field failed.`,
		Example: `  gossipdb client query '{ User(filter: {age: {_gt: 30}}, order: {name: ASC}, limit: 20) { _docID name age } }'
  gossipdb client query '{ _count(User: {filter: {verified: {_eq: true}}}) }'
  gossipdb client query 'mutation { create_User(input: {name: "Ada", age: 36}) { _docID } }'
  gossipdb client query 'query($min: Int) { User(filter: {age: {_gt: $min}}) { name } }' --variables '{"min": 30}'
  gossipdb client query 'subscription { User(filter: {age: {_gt: 30}}) { _docID name age } }'`,
		Args: exactArgs("REQUEST"),
		RunE: cc.run(func(cmd *cobra.Command, args []string, cl *client.Client) error {
			var vars map[string]any
			if variables != "" {
				v, err := parseJSONArg("--variables", variables)
				if err != nil {
					return err
				}
				var ok bool
				if vars, ok = v.(map[string]any); !ok {
					return errors.New("--variables: want a JSON object of variable values")
				}
			}
			if isSubscription(args[0]) {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				for resp, err := range cl.Subscription(cmd.Context(), args[0], vars) {
					if err != nil {
						return err
					}
					if err := enc.Encode(resp); err != nil {
						return err
					}
				}
				return nil
			}
			resp, err := cl.Query(cmd.Context(), args[0], vars)
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
	cmd.Flags().StringVar(&variables, "variables", "", `values of the request's $variables, as a JSON object such as '{"age": 30}'`)
	return cmd
}

// isSubscription reports whether request, a GraphQL request of one operation,
// is a subscription. It parses the request (the node parses it again, and
// answers a request that does not parse with where it fails).
func isSubscription(request string) bool {
	doc, err := parser.ParseQuery(&ast.Source{Input: request})
	return err == nil && len(doc.Operations) == 1 && doc.Operations[0].Operation == ast.Subscription
}
