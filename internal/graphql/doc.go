// Package graphql answers GraphQL requests in DefraDB's query language against
// one gossipdb node, through the node's public API: it generates the schema from
// the node's collections and executes requests with it. It is what POST
// /api/v0/graphql (internal/httpapi) and `gossipdb client query` run.
//
// # Schema
//
// generate (schema.go) is the one function that makes the schema, from the
// node's current collections; Executor.Do makes it again whenever the
// collections (names, schema IDs, fields) differ from the last request's. For a
// collection C it defines the object type C (_docID, the fields, _deleted and _version),
// the input types CFilterArg (per field an operator block such as IntOperatorBlock,
// or for a list or set IntListOperatorBlock, with _any, _all and _none; and
// _and, _or, _not), COrderArg (per field and for _docID, ASC or DESC),
// CMutationInputArg and the enums CNumericFieldArg and CGroupByArg (its
// scalar fields but lists, sets, relations and JSON), the query field
// C(filter, order, limit, offset, docID, groupBy, showDeleted, cid), its arguments to _count
// (CCountArg: filter, limit, offset) and to _sum, _avg, _min and _max
// (CAggregateArg: field and order too), and the mutations create_C (and
// add_C, the same under DefraDB's newer name), update_C, upsert_C and delete_C. Within a document of C, _count, _sum, _avg, _min and _max take
// the inverse sides of its relations, with those arguments, and its list
// fields, with IntCountArg, IntAggregateArg and IntFilterArg (one of each per
// scalar: no collection is named after a scalar); aggregate.go runs them.
// A query operation with @explain answers the plans of its collection
// queries instead of their documents (explain.go). With groupBy, the query
// field answers groups (groupby.go): objects of type
// C that hold the groupBy fields, _group, the group's documents, with the
// query field's arguments, and the aggregates over _group, with C's own
// arguments to them; C has _group and takes _group in its aggregates for
// that, and checkGroups refuses, once the validator has passed a request, a
// group's other fields, _group outside a group, and an aggregate without
// exactly one argument (what it aggregates). Relations between
// collections (relation.go) are object fields in both directions, conditions
// on the related documents in filters, and sort keys on a related document's
// fields in orders (order.go), which are sorted in memory within the Go API's
// bounds of a sort. A document's history (history.go) is the query field
// _commits(docID, cid, order, limit, offset), the blocks of a document of any
// collection as objects of type Commit (with CommitLink and CommitOrderArg),
// newest first; _version, a document's heads as Commits; and cid, which
// reads the one document docID names as it was at one of its blocks, and
// which checkAt refuses, before a request runs, with an argument that
// selects or pages documents or without one docID. A collection stored
// before Commit and CommitLink were the API's, under one of those names,
// leaves the history out of the schema. docs/API.md describes the language
// as a user sees it.
//
// # Execution
//
// github.com/graphql-go/graphql parses, validates and executes requests: it
// builds schemas at run time and answers introspection itself, which a
// code-generating library (gqlgen) cannot do for collections added while the node
// runs. Fifteen of its gaps are covered here. Its parser has no null literal, so
// rewriteNulls (nulls.go) writes each null of a request as a variable whose value
// is null, keeping every line and column (nullErrors refuses one where a
// non-null type stands, as the validator would a null; nullOperandsRule
// (rules.go) one given to a range or a pattern, whose operand the schema
// types as nullable, as an input field of a non-null type would be
// required, and keepNulls and checkVariables a variable's null there), and
// the resolvers read their filter, order and input arguments from the
// request itself (request.arg) because
// graphql-go's coerced arguments drop nulls inside objects. Its Int is 32
// bits; intScalar replaces it. Its validator does not survive some requests (a fragment that spreads itself
// recurses until the stack overflows, which no recover catches; a variable
// without a type panics), so checkSize refuses those first, and prepare turns any
// other panic of the parser or validator into an error. Its enums fill their
// lookup tables at first use without a lock, so generate fills them before the
// schema serves concurrent requests. It locates each error by scanning the
// request's text from its start, so prepare leaves a parsed request without
// its text and relocate gives the errors their lines and columns, counting
// characters where graphql-go counted bytes (and, within a string, partly
// bytes: inString places those errors again). Its lexer
// counts a comment's characters where it reads bytes, so a name after "# é"
// was read from the wrong place: blankComments (comments.go) writes the bytes
// of such characters in comments, and byte order marks, as spaces first. Its rule
// that the fields of one response name can be merged compares each pair of
// them, printing their arguments, and makes an error of each pair that
// conflicts (1,000 fields of one name took minutes), so prepare leaves that
// rule out and checkMerge (merge.go) applies it in time and errors linear in
// the request's size, one error for each response name that conflicts. Its
// validator lacks the rules that a directive stands at most once where it is
// used and that a request holds operations and fragments only:
// uniqueDirectivesRule and executableDefinitionsRule (rules.go) are those
// rules. It takes an inline fragment without a type condition
// (... @include(if: $b) { … }) to be of the type of the field it selects
// from, a list, which no fragment fits;
// possibleFragmentSpreadsRule lets it be of the type it stands in. It takes
// operations without a name to be named "", and refused two of them for
// that too; uniqueOperationNamesRule leaves them to the rule that an
// anonymous operation is the only one. Its
// String, Boolean and ID turn a variable's value of any kind into one (5 into
// "5", "no" into true), and it numbers a list's elements wrong in its errors,
// so checkVariables (variables.go) checks the variables' values before a
// request runs, and floatScalar refuses a string or a boolean. It refuses a
// default value for a variable of a non-null type, which the specification
// allows since 2018: prepare drops that error (allowRequiredDefaults), and Do
// and Subscribe send such a variable's default when the request sends none
// (withRequiredDefaults). It gives a variable its default value when the
// request sends null for it, where the specification makes the null its
// value: keepNulls runs the request without those defaults, and refuses the
// null where the variable stands for a non-null value, which the validator
// allowed for the default's sake. Its lexer decodes
// each \u escape of a string on its own, a UTF-16 surrogate as U+FFFD, so
// surrogatePairs (escapes.go) decodes again the strings that escape a
// character beyond U+FFFF as a pair ("\uD83D\uDE00", as JSON writes it), and
// refuses a surrogate without its other half, as the specification does.
//
// The mutations of a request run in one transaction (gossipdb.Node.Update),
// which writes its last block in each collection as it commits (see
// gossipdb.Txn), so the _version lists of a mutation's answer are read once
// it has committed (versions, history.go): a query of _commits(docID, cid)
// for each head, with the _version fields' selections, runs through
// graphql-go, and its answers take their places. An error then makes them
// null and stands beside the rest of the answer, since the mutations'
// changes were made. A request whose one mutation creates one document
// (singleCreate) runs without a transaction, which would add a block to seal
// the document's first one.
//
// A subscription, subscription { C(filter: …, docID: […]) { … } }, runs with
// Executor.Subscribe (subscribe.go): it must select exactly one root field
// (checkSubscriptions), and it follows the collection with
// gossipdb.Collection.Watch, local writes and merges from peers alike. For
// each document created or updated it runs the operation through graphql-go,
// the field's resolver reading that one document with the field's filter
// and docID, and answers it when it matches: each answer is a request of its
// own within the limits below. Deletes answer nothing. Changes the watch
// dropped for a slow reader are answered by one error that counts them.
// Do refuses a subscription.
//
// Requests that passed validation are kept by their text (cache.go): validating
// is most of the cost of a small request. Answers are encoded by appendJSON, the
// JSON encoding/json would write, without its reflection, and with each
// object's keys in the order the request selects them (keyorder.go):
// graphql-go's answers are maps, and the GraphQL specification asks a
// serialization that can keep the selection order to keep it.
//
// graphql-go executes each field of each document on its own, at about 1 KiB
// of garbage a field, so a page of documents costs it more than the rest of the
// request. A fast path (fast.go) answers the simple queries without it. When a
// request is validated and cached, planFast decides once whether it is one: a
// single query operation without directives or fragments, each top-level field
// a collection query without groupBy or an aggregate under its own response
// key (not _commits), each field of a document a plain scalar field or _docID
// (aliases allowed, no __typename, no _version). Its
// plan calls the schema's own resolvers with the arguments graphql-go would give
// them (limit and offset parsed or coerced as graphql-go does; the others the
// resolvers read from the request, as always) and writes the answer's JSON
// directly, keys in the order appendJSON gives graphql-go's maps, so the answer
// is the same bytes. It leaves to graphql-go, which then runs the request from the
// start, an operation name that does not match, variables graphql-go would
// refuse (validInput mirrors its check and is never more lenient), and any
// error while it runs: a resolver's (the result size limit, a bad argument), a
// panic, a null in a non-null field, a value that does not encode. A query
// writes nothing, so running it again costs only time. Tests run tables of
// requests and random ones through both paths and compare the bytes.
//
// # Limits
//
// Before a request is parsed its text may hold at most MaxQuerySize bytes (its
// parsed form takes about 33 times as much) and its brackets may nest at most 128
// deep (the parser recurses once per level); before it is validated it may nest at most
// Limits.MaxDepth selections, select Limits.MaxFields fields and write
// MaxValues values (graphql-go's validator costs some 2.6 KiB a value),
// fragments expanded; while it runs, on either path, the documents it reads into its
// answer may hold at most Limits.MaxResultSize bytes, a value counted once for
// each alias that selects it (one nothing selects is neither counted nor held:
// charge drops it), an aggregate within a document 8 bytes, a group its
// groupBy values and a commit what the request selects of it, its delta the
// length of its base64 (a query that reaches the
// limit on the fast path reads up to it again in graphql-go, which answers the
// error), a grouped query holds the documents it groups within the Go API's
// bounds of a sort (gossipdb.MaxSortedResults, gossipdb.MaxSortedBytes), and
// so does _commits in ascending order the blocks it answers, a
// mutation field writes at most MaxMutationDocuments documents, and
// the request runs at most Limits.MaxDuration: then its context ends, and the
// resolvers, which graphql-go runs in a goroutine of its own, stop within a
// page of the collection and fail with the limit's error (bounded). graphql-go
// is given a context that does not end, so that it returns only once they
// have, rather than at once with the resolvers still running.
//
// Each of Limits' fields may be raised up to a ceiling (CeilingMaxDepth and
// the others), beyond which it would have no effect or let one request take
// the node; New refuses a larger one. `gossipdb start` sets them with its
// --graphql-* flags.
package graphql
