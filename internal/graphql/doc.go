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
// collection C it defines the object type C (_docID and the fields), the input
// types CFilterArg (per field an operator block such as IntOperatorBlock, and
// _and, _or, _not), COrderArg (per field ASC or DESC), CMutationInputArg and the
// enum CNumericFieldArg, the query field C(filter, order, limit, offset, docID),
// its argument to _count, _sum, _avg, _min and _max, and the mutations create_C,
// update_C and delete_C. docs/API.md describes the language as a user sees it.
//
// # Execution
//
// github.com/graphql-go/graphql parses, validates and executes requests: it
// builds schemas at run time and answers introspection itself, which a
// code-generating library (gqlgen) cannot do for collections added while the node
// runs. Four of its gaps are covered here. Its parser has no null literal, so
// rewriteNulls (nulls.go) writes each null of a request as a variable whose value
// is null, keeping every line and column, and the resolvers read their filter,
// order and input arguments from the request itself (request.arg) because
// graphql-go's coerced arguments drop nulls inside objects. Its Int is 32
// bits; intScalar replaces it. Its validator does not survive some requests (a fragment that spreads itself
// recurses until the stack overflows, which no recover catches; a variable
// without a type panics), so checkSize refuses those first, and prepare turns any
// other panic of the parser or validator into an error. Its enums fill their
// lookup tables at first use without a lock, so generate fills them before the
// schema serves concurrent requests.
//
// Requests that passed validation are kept by their text (cache.go): validating
// is most of the cost of a small request. Answers are encoded by appendJSON, the
// JSON encoding/json would write, without its reflection.
//
// # Limits
//
// Before a request is parsed its text may hold at most MaxQuerySize bytes (its
// parsed form takes about 33 times as much) and its brackets may nest at most 128
// deep (the parser recurses once per level); before it is validated it may nest at most
// Limits.MaxDepth selections and select Limits.MaxFields fields, fragments
// expanded; while it runs, the documents it reads into its answer may hold at
// most Limits.MaxResultSize bytes, and a mutation field writes at most
// MaxMutationDocuments documents.
package graphql
