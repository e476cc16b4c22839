// Package client is the Go client of a gossipdb node's HTTP API, the API that
// `gossipdb start` serves (docs/API.md): what the `gossipdb client` commands use,
// for any Go program that talks to a running node rather than embedding one.
//
// New returns a Client of the node at "HOST:PORT" or "http(s)://HOST:PORT";
// Options.Token sends the bearer token of a node that needs one (started with
// --require-token, or serving its API on a non-loopback address). Each method
// is one endpoint and takes a context that bounds the call. Options.Timeout
// bounds each call too, so that a node that takes the connection and never
// answers fails it: a call whose answer is read whole must end within it, a
// call that streams (Changes, Subscription, DocIDs, History) must see its
// answer begin within it. Without it (the default) a call waits for the node
// as long as its context allows, after 5 seconds to connect.
//
// A Client keeps connections to the node open between calls; Close closes
// them (defer c.Close() once done with a Client), and calls after it fail
// with ErrClosed. A Client given an Options.HTTPClient uses that client's
// connections, which remain its caller's to close.
//
// Errors: an *APIError when the node answered with an error status; it matches
// gossipdb's sentinel errors with errors.Is (404 is gossipdb.ErrNotFound, 410
// gossipdb.ErrDeleted, 400 gossipdb.ErrInvalid, 403 gossipdb.ErrForbidden, 413
// gossipdb.ErrTooLarge (which is also ErrInvalid), 409
// gossipdb.ErrSchemaConflict, 507 gossipdb.ErrNoSpace, 416 gossipdb.ErrCompacted,
// 503 without Retry-After gossipdb.ErrClosed), and its RetryAfter is set when a
// busy node asks to try again later. An
// *UnreachableError when no answer came, or none within Options.Timeout (it
// then matches context.DeadlineExceeded and says whether the request may have
// been applied). ErrClosed after Close. The context's error when it ended
// first.
//
// An answer is input like any other: one that is not what a gossipdb node
// sends fails with an error naming the request ("bad answer from GET …"). The
// client reads at most what a node may send for the request, so that an
// address that is not a working node's cannot make it hold unbounded memory:
// 64 KiB for an answer of one small object (Health, Create), 16 MiB for lists
// of IDs, names or peers (CreateMany, Tx, PeerInfo, ActivePeers,
// Subscriptions, Sync, SyncStatus), 64 MiB for documents, GraphQL answers and
// collection descriptions (a GraphQL answer holds at most 4 MiB of
// documents). A larger answer fails with an error matching ErrAnswerTooLarge
// once the client has read about that much. DocIDs, Changes and Subscription
// stream answers of any length, one item at a time: an ID of at most 64 KiB, a
// change of at most MaxChangeEvent bytes, a subscription's answer of at most
// MaxSubscriptionEvent.
//
// The types the API speaks (Document, CollectionInfo, DocIDResult, …) are defined
// here once, and the node's server uses the same. Numbers in documents read back
// are json.Number, so integers stay exact; pass json.Number to write them exactly.
package client
