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

// truncate says what to write for DefraDB's truncate_C.
const truncate = "DefraDB's truncate_, which erases documents and their history from one node, is not supported: delete_ deletes documents, on every peer, keeping their history"

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
	// DefraDB's names of docIDs before it: dockey, dockeys, ids.
	"dockey":  "docID takes a list of IDs",
	"dockeys": "docID takes a list of IDs",
	"ids":     "docID takes a list of IDs",
}

// oldKey says what DefraDB's name of _docID before it, _key, is here, in a
// document's fields, a filter or an order.
const oldKey = "a document's ID is _docID (DefraDB's older _key)"

// unsupportedTypeFields are the fields of the history's types that DefraDB
// has and this API does not, by type and field name.
var unsupportedTypeFields = map[[2]string]string{
	{typeCommit, "signature"}:     "a commit's author is the key that signed it, in the peer ID form; the signature itself is not answered",
	{typeCommit, "collectionID"}:  "a commit names its collection by collectionName (DefraDB's collectionID is a number local to each node)",
	{typeCommitLink, "fieldName"}: "a link here is to a block the change was written on, named \"_head\"; a block changes the whole document, so no link names a field",
}

// unsupportedFieldArgs are the arguments of one field that DefraDB has and
// this API does not, by field and argument name.
var unsupportedFieldArgs = map[[2]string]string{
	{fieldCommits, "depth"}:     "_commits lists every block of the document; depth is not supported: page with limit and offset, or give cid for one block",
	{fieldCommits, "fieldName"}: "a block here changes the whole document, so there are no commits of one field to select",
	{fieldCommits, "fieldId"}:   "a block here changes the whole document, so there are no commits of one field to select",
	{fieldCommits, "filter"}:    "_commits takes docID, cid, order, limit and offset",
	{fieldCommits, "groupBy"}:   "_commits takes docID, cid, order, limit and offset",
}

// relationGroupBy says where groupBy goes, after the validator's words
// about it on another field than a collection's query field.
const relationGroupBy = "groupBy groups the documents of a collection's query field, such as Book(groupBy: [genre]); grouping the documents of a relation is not supported"

// The errors about values of arguments that DefraDB takes and this API does
// not, within graphql-go's words about an argument's value (one line each):
//
//	In field "_alias": Unknown field.
//	In field "ratings": In field "_eq": Unknown field.
//	In element #1: Expected type "BookGroupByArg", found author.
//	Field "_commits" argument "docID" of type "ID!" is required but not provided.
var (
	unknownInput     = regexp.MustCompile(`(?:In field "([^"]+)": )?In field "([^"]+)": Unknown field\.$`)
	badGroupBy       = regexp.MustCompile(`Expected type "[^"]+GroupByArg", found ([^ ]+)\.$`)
	commitsNeedDocID = regexp.MustCompile(`^Field "_commits" argument "docID" of type "ID!" is required but not provided\.$`)
)

// unsupportedValue says, of line, one line of graphql-go's words about an
// argument's value, what DefraDB form it names that is not supported and
// what to write instead; "" if none.
func unsupportedValue(line string, kinds fieldKinds) string {
	if m := unknownInput.FindStringSubmatch(line); m != nil {
		switch {
		case m[2] == "_key":
			return oldKey
		case m[2] == "_alias":
			return "DefraDB's _alias is not supported: filter and order by the field's own name, not by an alias it is selected under"
		case (m[2] == "_eq" || m[2] == "_neq" || m[2] == "_ne") && kinds.lists[m[1]]:
			return "a list or set field is not compared whole here (DefraDB's _eq and _neq on a list are not supported): test its items with _any, _all or _none, such as {" + m[1] + ": {_any: {_eq: …}}}"
		case kinds.jsons[m[1]] && !strings.HasPrefix(m[2], "_"):
			return "a JSON field is compared whole, with _eq, _ne, _in and _nin; DefraDB's filters on the properties inside a JSON field are not supported"
		}
	}
	if m := badGroupBy.FindStringSubmatch(line); m != nil && (kinds.relations[m[1]] || kinds.lists[m[1]] || kinds.jsons[m[1]]) {
		return "groupBy takes the collection's scalar fields; grouping by a relation (DefraDB's groupBy: [author] or [_authorID]), a list, a set or a JSON field is not supported"
	}
	if commitsNeedDocID.MatchString(line) {
		return "_commits lists the blocks of one document; _commits without docID (DefraDB's commits of every document, or of one cid alone) is not supported: give the document's ID, with cid for one of its blocks"
	}
	return ""
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
// schema lacks that it is not supported, after the validator's words. kinds
// names the collections' list, set and JSON fields.
func unsupported(errs []gqlerrors.FormattedError, kinds fieldKinds) []gqlerrors.FormattedError {
	for i, e := range errs {
		var m []string
		var why string
		if m = unknownField.FindStringSubmatch(e.Message); m != nil && !strings.HasPrefix(m[2], "__") &&
			(m[2] != "Query" || m[1] == "commits" || m[1] == "latestCommits") {
			why = unsupportedFields[m[1]]
			if w, ok := unsupportedTypeFields[[2]string{m[2], m[1]}]; ok {
				why = w
			}
			if m[2] == "Mutation" && strings.HasPrefix(m[1], "truncate_") {
				why = truncate
			}
			if isAggregate(m[1]) && (m[2] == "Mutation" || m[2] == "Subscription") {
				why = rootAggregate
			}
			if m[1] == "_key" && m[2] != typeCommit && m[2] != typeCommitLink {
				why = oldKey
			}
		} else if m = unknownArg.FindStringSubmatch(e.Message); m != nil {
			why = unsupportedArgs[m[1]]
			if m[1] == argGroupBy {
				why = relationGroupBy
			}
			if w, ok := unsupportedFieldArgs[[2]string{m[2], m[1]}]; ok && m[3] == "Query" {
				why = w
			}
			if isAggregate(m[2]) && m[3] != "Query" {
				why = unknownAggregated
			}
		}
		if why != "" {
			rest := e.Message[len(m[0]):]
			if why == truncate {
				rest = "" // the validator's guesses, update_C and create_C among them, would mislead
			}
			errs[i].Message = strings.TrimSuffix(m[0], ".") + ": " + why + "." + rest
			continue
		}
		lines := strings.Split(e.Message, "\n")
		changed := false
		for j, line := range lines {
			if why := unsupportedValue(line, kinds); why != "" {
				lines[j] = strings.TrimSuffix(line, ".") + ": " + why + "."
				changed = true
			}
		}
		if changed {
			errs[i].Message = strings.Join(lines, "\n")
		}
	}
	return errs
}
