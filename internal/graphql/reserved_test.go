package graphql_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestCollectionNamesCannotBreakTheSchema: a collection cannot be dropped, so
// a type whose name the generated schema uses (its root types, GraphQL's ID,
// a type generated for another collection or for a scalar) is refused by
// AddCollection with ErrInvalid; it never leaves the node with a GraphQL
// schema that cannot be made.
func TestCollectionNamesCannotBreakTheSchema(t *testing.T) {
	ctx := context.Background()
	for _, sdl := range []string{
		`type Query { a: Int }`,
		`type Mutation { a: Int }`,
		`type ID { a: Int }`,
		`type Ordering { a: Int }`,
		`type Commit { a: Int }`,
		`type CommitLink { a: Int }`,
		`type CommitOrderArg { a: Int }`,
		`type IntOperatorBlock { a: Int }`,
		`type User { a: Int } type UserFilterArg { b: Int }`,
		`type User { a: Int } type UserOrderArg { b: Int }`,
		`type User { a: Int } type UserMutationInputArg { b: Int }`,
		`type User { a: Int } type UserNumericFieldArg { b: Int }`,
		`type User { a: Int } type UserCountArg { b: Int }`,
		`type User { a: Int } type UserAggregateArg { b: Int }`,
		`type User { a: Int } type UserGroupByArg { b: Int }`,
	} {
		n := nodetest.Open(t, "", nil)
		if _, err := n.AddCollection(ctx, sdl); !errors.Is(err, gossipdb.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", sdl, err)
		}
		e, err := graphql.New(n, nil)
		if err == nil {
			_, _, err = e.Do(ctx, client.GraphQLRequest{Query: `{ __typename }`})
		}
		if err != nil {
			t.Errorf("after %s, GraphQL fails: %v", sdl, err)
		}
	}
}
