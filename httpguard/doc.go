// Package httpguard keeps the web pages a user visits out of an HTTP API that
// a program serves on the user's machine. Any page can make the browser send
// requests to 127.0.0.1; New wraps a handler so that such requests are refused
// before the handler sees them, while programs such as curl, and pages the
// API serves itself, are answered as before. It is what the gossipdb node's
// own API (`gossipdb start`) applies first to every request, and what a
// program embedding a node puts in front of an API of its own
// (examples/inventory does).
//
// The guard refuses, in this order:
//
//  1. A request whose Host is not a name of the API (421 Misdirected
//     Request): a page of another domain made to resolve to 127.0.0.1 (DNS
//     rebinding) could otherwise read every answer, as the browser would take
//     the API for part of that page's site. The names of the API are
//     localhost, 127.0.0.1, [::1] and the IP address the connection came in
//     on, each at the port it came in on, and Options.Hosts.
//  2. A request with an Origin header that is neither the API's own origin
//     (the scheme and Host the request was sent to: a page the API served)
//     nor one of Options.AllowedOrigins (403). Browsers send Origin on
//     cross-origin requests and on every POST, PATCH and DELETE. For an
//     allowed origin, CORS preflights are answered and answers carry
//     Access-Control-Allow-Origin.
//  3. A request without Origin that the browser marks Sec-Fetch-Site
//     cross-site or same-site (403): a page's image, script or frame, which
//     cannot read the answer but could make the API work. A link that opens
//     one of Options.EntryPages in a tab is let through.
//  4. A request with a body, or a Content-Type, that is not
//     application/json (415): the content types a page may send cross-origin
//     without a preflight ("simple requests": text/plain, forms) are refused,
//     even if a browser left the Origin header out.
//
// Every answer, refusals included, carries X-Content-Type-Options: nosniff, so
// a browser never runs a JSON answer as a script nor shows it as a page. A
// refusal is a JSON object {"error": "..."} that says why.
//
// The guard does not authenticate: an API reachable from other machines needs
// a token (or TLS client certificates) as well, and should be bound to a
// loopback address otherwise. docs/SECURITY.md says why each rule exists.
package httpguard
