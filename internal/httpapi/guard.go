package httpapi

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Headers the guard reads and writes.
const (
	headerOrigin        = "Origin"
	headerAuthorization = "Authorization"
	headerAllowOrigin   = "Access-Control-Allow-Origin"
	headerRequestMethod = "Access-Control-Request-Method"
	headerFetchSite     = "Sec-Fetch-Site"
	headerFetchMode     = "Sec-Fetch-Mode"
	headerFetchDest     = "Sec-Fetch-Dest"
	bearerPrefix        = "Bearer "
)

// corsMethods and corsHeaders are what a preflight from an allowed origin may ask
// for; corsMaxAge is how long, in seconds, the browser may remember the answer.
const (
	corsMethods = "GET, POST, PATCH, DELETE"
	corsHeaders = "Content-Type, Authorization"
	corsMaxAge  = "600"
)

// loopbackNames are the host names the API answers at whatever port it serves.
var loopbackNames = []string{"localhost", "127.0.0.1", "::1"}

// guard decides who may use the API, before a request is routed or its body read:
//
//  1. Host must name this API (else 421): defeats DNS rebinding.
//  2. An Origin header must be the API's own origin (the console, a page it
//     served) or an allowed origin (else 403): no other web page can use the
//     API unless let in; preflights of allowed origins are answered here. A
//     request without one that a browser marks as sent by a page of another
//     site (Sec-Fetch-Site, on an image, a script or a frame) is refused too,
//     unless it opens the console's page in a tab, as a link does.
//  3. The bearer token, if one is set, must match (else 401); the console's
//     static files need none, they hold no data.
//  4. A body, or a Content-Type, must be application/json (else 415): the
//     content types a page can send cross-origin without a preflight are refused.
//
// It is safe for concurrent use.
type guard struct {
	hosts   map[string]bool // extra HOST:PORT, host lower case
	origins map[string]bool // lower case
	auth    []byte          // "Bearer <token>"; nil when no token is needed
	next    http.Handler
}

func newGuard(o Options, next http.Handler) *guard {
	g := &guard{hosts: map[string]bool{}, origins: map[string]bool{}, next: next}
	for _, h := range o.Hosts {
		host, port, _ := splitHost(h) // checked by validate
		g.hosts[net.JoinHostPort(host, port)] = true
	}
	for _, origin := range o.AllowedOrigins {
		origin, _ = ParseOrigin(origin) // checked by validate
		g.origins[origin] = true
	}
	if o.Token != "" {
		g.auth = []byte(bearerPrefix + o.Token)
	}
	return g
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer is read as the type it says or not at all: a browser
	// never runs a JSON answer as a script nor shows it as a page.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !g.hostAllowed(r) {
		writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf(
			"Host %q is not a name of this API: call it as localhost, 127.0.0.1 or [::1] at its port", r.Host))
		return
	}
	if origins, ok := r.Header[headerOrigin]; ok && !sameOrigin(r, origins) {
		origin := strings.Join(origins, ",")
		if !g.origins[strings.ToLower(origin)] {
			writeError(w, http.StatusForbidden, fmt.Sprintf(
				"requests from web pages are refused (Origin %q); `gossipdb start --allowed-origins` lets an origin in", origin))
			return
		}
		w.Header().Set(headerAllowOrigin, origin)
		w.Header().Add("Vary", headerOrigin)
		if r.Method == http.MethodOptions && r.Header.Get(headerRequestMethod) != "" {
			w.Header().Set("Access-Control-Allow-Methods", corsMethods)
			w.Header().Set("Access-Control-Allow-Headers", corsHeaders)
			w.Header().Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	} else if !ok && crossSite(r) && !opensConsole(r) {
		writeError(w, http.StatusForbidden, fmt.Sprintf(
			"requests from web pages are refused (Sec-Fetch-Site %q without an Origin)", r.Header.Get(headerFetchSite)))
		return
	}
	if g.auth != nil && !isConsoleAsset(r) && subtle.ConstantTimeCompare([]byte(r.Header.Get(headerAuthorization)), g.auth) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gossipdb"`)
		writeError(w, http.StatusUnauthorized,
			"missing or wrong token: send \"Authorization: Bearer <token>\" (gossipdb client: --token or $GOSSIPDB_TOKEN)")
		return
	}
	if ct := r.Header.Get(headerContentType); r.ContentLength != 0 || ct != "" {
		if !isJSON(ct) {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf(
				"request body must be sent as Content-Type: %s (got %q)", contentTypeJSON, ct))
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// sameOrigin reports whether the Origin header (its values: origins) is the
// origin the request was addressed to: scheme, then the Host the guard has
// already accepted as a name of this API. Only a page this API served has that
// origin, so this lets the console in and nothing else: a page of another site
// sends its own origin, and one made to reach this port by DNS rebinding sends
// a Host that is not a name of the API and was refused before.
func sameOrigin(r *http.Request, origins []string) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return len(origins) == 1 && strings.EqualFold(origins[0], scheme+r.Host)
}

// crossSite reports whether a browser says that a page of another site (or of
// another port of this host) sent r. Browsers send no Origin on a GET by an
// image, a script or a frame, so without this a page could, unseen, read
// nothing but still make the API work: open every event stream slot, or scan
// a collection.
func crossSite(r *http.Request) bool {
	site := r.Header.Get(headerFetchSite)
	return site == "cross-site" || site == "same-site"
}

// opensConsole reports whether a browser sent r to show the console's page in
// a tab or a window, as when the user follows a link from another site: the
// one request of another site's page the API serves. Its files are not served
// to such a page, nor the page in a frame: their load events would tell any
// site that a node runs at this port.
func opensConsole(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Path == "/" &&
		r.Header.Get(headerFetchMode) == "navigate" && r.Header.Get(headerFetchDest) == "document"
}

// isJSON reports whether the media type ct is application/json in UTF-8.
func isJSON(ct string) bool {
	if ct == contentTypeJSON { // what clients send, parsed as below
		return true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != contentTypeJSON {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// hostAllowed reports whether r's Host header names this API: one of
// loopbackNames or the IP address the connection came in on, at the port it came
// in on, or one of the extra hosts.
func (g *guard) hostAllowed(r *http.Request) bool {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil { // no port: the scheme's default
		host, port = strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	host = strings.ToLower(host)
	if len(g.hosts) > 0 && g.hosts[net.JoinHostPort(host, port)] {
		return true
	}
	ap, ok := localAddr(r)
	if !ok || port != strconv.Itoa(int(ap.Port())) {
		return false
	}
	for _, name := range loopbackNames {
		if host == name {
			return true
		}
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap() == ap.Addr().Unmap()
}

// localAddr returns the address r came in on, if net/http recorded it.
func localAddr(r *http.Request) (netip.AddrPort, bool) {
	switch local := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return local.AddrPort(), true
	case net.Addr:
		ap, err := netip.ParseAddrPort(local.String())
		return ap, err == nil
	}
	return netip.AddrPort{}, false
}
