package httpapi

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gossipdb/gossipdb/httpguard"
)

// Headers of the token check.
const (
	headerAuthorization = "Authorization"
	bearerScheme        = "Bearer"
)

// consolePagePath is the console's page: the one page of the API a link from
// another site may open.
const consolePagePath = "/"

// newGuard returns next behind the checks that decide who may use the API,
// before a request is routed or its body read:
//
//  1. httpguard's, which keep web pages out: Host must name this API (else
//     421), an Origin must be the API's own (the console) or an allowed origin
//     (else 403), a request without one that a browser marks as sent by a page
//     of another site is refused (403) unless it opens the console's page in a
//     tab, and a body or a Content-Type must be application/json (else 415).
//  2. The bearer token, if one is set, must match (else 401); the console's
//     static files need none, they hold no data.
//
// The error names the field of o at fault.
func newGuard(o Options, next http.Handler) (http.Handler, error) {
	if o.Token != "" {
		next = &tokenCheck{token: []byte(o.Token), next: next}
	}
	return httpguard.New(next, &httpguard.Options{
		Hosts:          o.Hosts,
		AllowedOrigins: o.AllowedOrigins,
		EntryPages:     []string{consolePagePath},
	})
}

// tokenCheck serves a request with next only if it carries the bearer token,
// or asks for a file of the console. It is safe for concurrent use.
type tokenCheck struct {
	token []byte
	next  http.Handler
}

// carries reports whether r's Authorization header is "Bearer <token>", the
// scheme's name in any case (RFC 9110, section 11.1) and followed by one or
// more spaces.
func (c *tokenCheck) carries(r *http.Request) bool {
	scheme, token, _ := strings.Cut(r.Header.Get(headerAuthorization), " ")
	return strings.EqualFold(scheme, bearerScheme) &&
		subtle.ConstantTimeCompare([]byte(strings.TrimLeft(token, " ")), c.token) == 1
}

func (c *tokenCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isConsoleAsset(r) && !c.carries(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gossipdb"`)
		writeError(w, http.StatusUnauthorized,
			"missing or wrong token: send \"Authorization: Bearer <token>\" (gossipdb client: --token or $GOSSIPDB_TOKEN)")
		return
	}
	c.next.ServeHTTP(w, r)
}
