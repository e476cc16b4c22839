package graphql

import (
	"testing"

	"github.com/graphql-go/graphql/gqlerrors"
)

// plainSuggestions drops the names that start with "_" from the validator's
// guesses at a misspelt field that does not, and keeps the sentence's form.
func TestPlainSuggestions(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`Cannot query field "nmae" on type "User". Did you mean "name" or "_max"?`,
			`Cannot query field "nmae" on type "User". Did you mean "name"?`},
		{`Cannot query field "x" on type "User". Did you mean "_a", "b", "_c", "d", or "e"?`,
			`Cannot query field "x" on type "User". Did you mean "b", "d", or "e"?`},
		{`Cannot query field "x" on type "User". Did you mean "_a", "b", or "c"?`,
			`Cannot query field "x" on type "User". Did you mean "b" or "c"?`},
		{`Cannot query field "cont" on type "User". Did you mean "_count"?`,
			`Cannot query field "cont" on type "User".`},
		{`Cannot query field "_mx" on type "User". Did you mean "_max" or "_min"?`,
			`Cannot query field "_mx" on type "User". Did you mean "_max" or "_min"?`},
		{`Cannot query field "x" on type "User". Did you mean to use an inline fragment on "_A"?`,
			`Cannot query field "x" on type "User". Did you mean to use an inline fragment on "_A"?`},
		{`Unknown argument "_x" on field "User" of type "Query". Did you mean "_a"?`,
			`Unknown argument "_x" on field "User" of type "Query". Did you mean "_a"?`},
	} {
		got := plainSuggestions([]gqlerrors.FormattedError{{Message: c.in}})[0].Message
		if got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}
