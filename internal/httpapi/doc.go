// Package httpapi is the HTTP API of a gossipdb node and its Go client.
//
// NewHandler serves one *gossipdb.Node under /api/v0/: JSON in and out, one
// endpoint per command of `gossipdb client`, plus GET /api/v0/health. Every error
// is a JSON object {"error": "..."} whose status says whose fault it was: 400 bad
// input, 404 unknown collection, document or endpoint, 405 wrong method, 409 a
// collection defined again with other fields, 410 a deleted document, 413 a body
// over MaxBodySize or a document too large for a block (gossipdb.ErrTooLarge),
// 502/504 a peer that cannot be reached, 503 a closing node, and 500 only for
// faults of the node itself. docs/API.md lists the endpoints.
//
// Documents travel as one JSON object: "_docID" holds the ID, the other keys the
// collection's fields. Request bodies are decoded with json.Number so Int fields
// get exact integers and JSON fields keep every digit. Strings in a document body
// are checked before decoding, which would turn invalid UTF-8 and escaped lone
// UTF-16 surrogates into U+FFFD: such a string is a 400 naming its field.
//
// Client calls the API; it is what the `gossipdb client` commands use.
package httpapi
