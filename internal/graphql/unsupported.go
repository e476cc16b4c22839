package graphql

import (
	"regexp"
	"strings"

	"github.com/graphql-go/graphql/gqlerrors"
)

// The forms of DefraDB's query language that this API does not have, which
// the validator would refuse as unknown names. unsupported says so in their
// errors, so that a request written for DefraDB learns what to write instead.
var (
	// Cannot query field "_count" on type "Author".
	unknownField = regexp.MustCompile(`^Cannot query field "([^"]+)" on type "([^"]+)"\.`)
	// Unknown argument "groupBy" on field "Author" of type "Query".
	unknownArg = regexp.MustCompile(`^Unknown argument "([^"]+)" on field "([^"]+)" of type "([^"]+)"\.`)
)

var unsupportedFields = map[string]string{
	aggCount:        "an aggregate within a document takes one of its list fields or the inverse side of one of its relations, such as _count(books: {}), and this type has none",
	aggSum:          "an aggregate within a document takes one of its lists of numbers or the inverse side of one of its relations to a collection with numeric fields, such as _sum(books: {field: rating}), and this type has none",
	aggAvg:          "an aggregate within a document takes one of its lists of numbers or the inverse side of one of its relations to a collection with numeric fields, such as _avg(books: {field: rating}), and this type has none",
	aggMin:          "an aggregate within a document takes one of its lists of numbers or the inverse side of one of its relations to a collection with numeric fields, such as _min(books: {field: rating}), and this type has none",
	aggMax:          "an aggregate within a document takes one of its lists of numbers or the inverse side of one of its relations to a collection with numeric fields, such as _max(books: {field: rating}), and this type has none",
	"commits":       "a document's commits are _commits here: write _commits(docID: \"…\") { cid height }",
	"latestCommits": "a document's latest commits are its _version, such as User(docID: \"…\") { _version { cid } }; for its whole history write _commits(docID: \"…\")",
}

// rootAggregate says where an aggregate that is not within a document
// stands, after the validator's words about one on the Mutation or
// Subscription type.
const rootAggregate = "an aggregate over a collection is a query: it is a field of the Query type only, such as query { _count(User: {}) }"

// unknownAggregated says what an aggregate within a document takes, after
// the validator's words about an argument it does not.
const unknownAggregated = "an aggregate within a document takes the inverse side of one of its relations, such as _count(books: {}), or one of its list fields (of numbers, for _sum, _avg, _min and _max), or, on a group of a query with groupBy, _group"

var unsupportedArgs = map[string]string{
	"cid":    "a document is read at a block of its history (cid) by a collection's query field, such as User(docID: \"…\", cid: \"…\"), or listed by _commits(docID: \"…\", cid: \"…\")",
	"docIDs": "docID takes a list of IDs",
}

// suggestion is the validator's guess at what an unknown field meant, after
// its words about the field: ` Did you mean "name"?`, ` Did you mean "a" or
// "b"?`, ` Did you mean "a", "b", or "c"?`.
var (
	suggestion = regexp.MustCompile(` Did you mean ("[^"]+"(?:,? (?:or )?"[^"]+")*)\?$`)
	quoted     = regexp.MustCompile(`"([^"]+)"`)
)

// plainSuggestions leaves out, of the validator's guesses at what a
// misspelt field meant, the names that start with "_" (_docID, _group, the
// aggregates, which every collection's type has) unless the field does too:
// for "nmae" it suggests "name", not "name" or "_max".
func plainSuggestions(errs []gqlerrors.FormattedError) []gqlerrors.FormattedError {
	for i, e := range errs {
		m := unknownField.FindStringSubmatch(e.Message)
		if m == nil || strings.HasPrefix(m[1], "_") {
			continue
		}
		loc := suggestion.FindStringSubmatchIndex(e.Message)
		if loc == nil {
			continue
		}
		var keep []string
		for _, q := range quoted.FindAllStringSubmatch(e.Message[loc[2]:loc[3]], -1) {
			if !strings.HasPrefix(q[1], "_") {
				keep = append(keep, `"`+q[1]+`"`)
			}
		}
		msg := e.Message[:loc[0]]
		switch len(keep) {
		case 0:
		case 1:
			msg += " Did you mean " + keep[0] + "?"
		case 2:
			msg += " Did you mean " + keep[0] + " or " + keep[1] + "?"
		default:
			msg += " Did you mean " + strings.Join(keep[:len(keep)-1], ", ") + ", or " + keep[len(keep)-1] + "?"
		}
		errs[i].Message = msg
	}
	return errs
}

// unsupported adds to each error about a form of DefraDB's language that the
// schema lacks that it is not supported, after the validator's words.
func unsupported(errs []gqlerrors.FormattedError) []gqlerrors.FormattedError {
	for i, e := range errs {
		var m []string
		var why string
		if m = unknownField.FindStringSubmatch(e.Message); m != nil && !strings.HasPrefix(m[2], "__") &&
			(m[2] != "Query" || m[1] == "commits" || m[1] == "latestCommits") {
			why = unsupportedFields[m[1]]
			if isAggregate(m[1]) && (m[2] == "Mutation" || m[2] == "Subscription") {
				why = rootAggregate
			}
		} else if m = unknownArg.FindStringSubmatch(e.Message); m != nil {
			why = unsupportedArgs[m[1]]
			if isAggregate(m[2]) && m[3] != "Query" {
				why = unknownAggregated
			}
		}
		if why != "" {
			errs[i].Message = strings.TrimSuffix(m[0], ".") + ": " + why + "." + e.Message[len(m[0]):]
		}
	}
	return errs
}
