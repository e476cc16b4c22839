// Package httpapi is the HTTP API of a gossipdb node. Its Go client, and the
// JSON types both sides share, are the public package client.
//
// NewHandler serves one *gossipdb.Node under /api/v0/: JSON in and out, one
// endpoint per command of `gossipdb client`, plus those no command calls (GET
// /api/v0/health, the console's pages of documents, a collection's sync status
// and the event stream), and the node's metrics for Prometheus at GET /metrics
// (metrics.go). POST
// /api/v0/graphql (graphql.go) hands GraphQL requests to internal/graphql and
// answers in GraphQL's form, {"data": …, "errors": […]}, 400 for a request refused
// before it ran. Every other error
// is a JSON object {"error": "..."} whose status says whose fault it was: 400 bad
// input, 403 a write or policy change the collection's policy forbids
// (gossipdb.ErrForbidden), 404 unknown collection, document or endpoint, 405
// wrong method, 408 a
// body not received within Options.BodyReadTimeout, 409 a collection defined
// again with other fields, 410 a deleted document, 413 a body over MaxBodySize
// or holding more JSON values than the body budget can decode, or a document
// too large for a block (gossipdb.ErrTooLarge), 416 a change-feed
// position compacted away (gossipdb.ErrCompacted), 502/504 a peer
// that cannot be reached, 503 a closing node or a full body budget (then with
// Retry-After), 507 a write refused for lack of disk space
// (gossipdb.ErrNoSpace), and 500 only for faults of the node itself.
// docs/API.md lists the endpoints. Three stream Server-Sent Events: a GraphQL
// subscription posted to /api/v0/graphql (graphql.go), one event per answer
// of graphql.Executor.Subscribe, its backlog held by the node's watch; GET
// /api/v0/events (events.go), the in-memory Watch of every collection, whose
// events carry no ID and which does not resume, its unsent events held within
// Options.EventBudget for all streams together; and GET
// /api/v0/collections/{name}/changes (changes.go), a collection's durable
// change feed from a position, resumable with Last-Event-ID. Each writes
// through an sseWriter (sse.go), which sends a quiet stream a comment line,
// ": keep-alive", every KeepAliveInterval (15 s) until an event goes out, so
// that a proxy's idle timeout does not cut it and its reader can tell it
// from a dead connection; readers ignore lines that start with ':', and a
// keep-alive that cannot be written ends the stream.
//
// Before a request is routed, a guard (guard.go) decides whether it may be
// served at all. First the public package httpguard, so that no web page the
// user visits can use the API: a Host that is not a name of the API gets 421
// (DNS rebinding), an Origin that is neither the API's own nor in
// Options.AllowedOrigins 403 (cross-origin requests; preflights of allowed
// origins are answered), and so does a request without Origin that the
// browser marks Sec-Fetch-Site cross-site or same-site (a page's image, script
// or frame) unless it opens the console's page in a tab, and a body that is
// not Content-Type application/json 415 (the "simple requests" a page can send
// without a preflight). Then a missing or wrong token gets 401 when
// Options.Token is set. Request bodies then reserve their size in
// Options.BodyBudget before they are read, and as they are read the reservation
// grows by an estimate of what their JSON takes once decoded (body.go), before
// the decoder sees the bytes: a body that could never fit is a 413 naming the
// budget. Each budget, and BodyReadTimeout, has a range (MinBodyBudget to
// MaxBodyBudget and the others) outside of which NewHandler refuses it;
// `gossipdb start` takes the ranges of its --api-* flags from there. The
// reservation is given back when the answer begins, since the request's work
// is done by then (a GraphQL subscription keeps it until its stream ends, so
// one that would hold more than MaxSubscriptionBody gets 413 before it runs), and
// the answer is written a piece of at most 64 KiB at a time, each of which the
// client must take within Options.BodyReadTimeout, else the connection is
// closed (server.go's answerWriter): a client that reads nothing cannot hold
// an answer or a reservation for ever, one that reads steadily is sent an
// answer of any size. A body of documents or a GraphQL request is read whole
// into one buffer of its announced length and then decoded from it; other
// bodies are decoded straight from the connection into their destination.
//
// Documents travel as one JSON object: "_docID" holds the ID, the other keys the
// collection's fields. Request bodies are decoded with json.Number so Int fields
// get exact integers and JSON fields keep every digit. Strings in a document body
// are checked in the bytes received, since decoding turns invalid UTF-8 and
// escaped lone UTF-16 surrogates into U+FFFD: such a string is a 400 naming its
// field.
//
// The handler also serves a web console at / (console.go; the files are in
// console/, embedded in the binary): a page that uses the API from the same
// origin, which the guard lets through, and follows GET /api/v0/events. Its
// files need no token; the page asks for one when the API answers 401.
package httpapi
