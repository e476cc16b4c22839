package httpguard

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Headers the guard reads and writes.
const (
	headerOrigin        = "Origin"
	headerContentType   = "Content-Type"
	headerAllowOrigin   = "Access-Control-Allow-Origin"
	headerRequestMethod = "Access-Control-Request-Method"
	headerFetchSite     = "Sec-Fetch-Site"
	headerFetchMode     = "Sec-Fetch-Mode"
	headerFetchDest     = "Sec-Fetch-Dest"
	contentTypeJSON     = "application/json"
)

// corsMethods and corsHeaders are what a preflight from an allowed origin may ask
// for; corsMaxAge is how long, in seconds, the browser may remember the answer.
const (
	corsMethods = "GET, POST, PATCH, DELETE"
	corsHeaders = "Content-Type, Authorization"
	corsMaxAge  = "600"
)

// loopbackNames are the host names the guard answers at whatever port it serves.
var loopbackNames = []string{"localhost", "127.0.0.1", "::1"}

// Options configure New. A nil *Options, like the zero value, is the
// strictest guard: only the loopback names, no other origin, no entry page.
type Options struct {
	// Hosts are further HOST:PORT values the Host header may hold, such as
	// "node.lan:9181" for an API served to the network under that name.
	// Without them the guard answers only localhost, 127.0.0.1 and [::1], and
	// the IP address the connection came in on, each at the port it came in
	// on; any other Host gets 421, which is what defeats DNS rebinding.
	// Default none. Add only names this machine owns.
	Hosts []string

	// AllowedOrigins are the web origins ("https://app.example:8443": scheme,
	// host and optional port, nothing else; see ParseOrigin) whose pages may
	// call the API from a browser. A request with any other Origin header
	// gets 403 before the handler sees it, except one whose Origin is the
	// API's own. Default none: no other web page can use the API. Each origin
	// added can do, through the browser of the user, whatever the API does.
	AllowedOrigins []string

	// EntryPages are paths ("/") of pages the API serves that a link from
	// another site may open: a GET of one of them that the browser sends to
	// show it in a tab or a window (Sec-Fetch-Mode navigate, Sec-Fetch-Dest
	// document) is served even when the browser marks it cross-site. Default
	// none. Such a page must hold no data and do nothing by being loaded.
	EntryPages []string
}

// Guard is an http.Handler that serves a request with the handler it wraps
// only if no web page the user visits may have sent it; see the package
// documentation. It is safe for concurrent use.
type Guard struct {
	hosts   map[string]bool // HOST:PORT, host lower case
	origins map[string]bool // as ParseOrigin returns them
	entries map[string]bool // paths
	next    http.Handler
}

// New returns next behind a guard configured by opts (nil means the
// defaults). The error names the field of opts at fault.
func New(next http.Handler, opts *Options) (*Guard, error) {
	g := &Guard{hosts: map[string]bool{}, origins: map[string]bool{}, entries: map[string]bool{}, next: next}
	if opts == nil {
		return g, nil
	}
	for _, h := range opts.Hosts {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("httpguard: Options.Hosts %q: want HOST:PORT", h)
		}
		g.hosts[net.JoinHostPort(strings.ToLower(host), port)] = true
	}
	for _, o := range opts.AllowedOrigins {
		origin, err := ParseOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("httpguard: Options.AllowedOrigins: %w", err)
		}
		g.origins[origin] = true
	}
	for _, p := range opts.EntryPages {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("httpguard: Options.EntryPages %q: want a path that starts with /", p)
		}
		g.entries[p] = true
	}
	return g, nil
}

// ServeHTTP answers r with a refusal, or a CORS preflight of an allowed
// origin, or passes it to the wrapped handler.
func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !g.hostAllowed(r) {
		refuse(w, http.StatusMisdirectedRequest, fmt.Sprintf(
			"Host %q is not a name of this API: call it as localhost, 127.0.0.1 or [::1] at its port", r.Host))
		return
	}
	if origins, ok := r.Header[headerOrigin]; ok && !sameOrigin(r, origins) {
		origin := strings.Join(origins, ",")
		if !g.origins[strings.ToLower(origin)] {
			refuse(w, http.StatusForbidden, fmt.Sprintf(
				"requests from web pages are refused (Origin %q is not an allowed origin)", origin))
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
	} else if !ok && crossSite(r) && !g.opensEntryPage(r) {
		refuse(w, http.StatusForbidden, fmt.Sprintf(
			"requests from web pages are refused (Sec-Fetch-Site %q without an Origin)", r.Header.Get(headerFetchSite)))
		return
	}
	if ct := r.Header.Get(headerContentType); r.ContentLength != 0 || ct != "" {
		if !isJSON(ct) {
			refuse(w, http.StatusUnsupportedMediaType, fmt.Sprintf(
				"request body must be sent as Content-Type: %s (got %q)", contentTypeJSON, ct))
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// refuse answers {"error": msg} with status code.
func refuse(w http.ResponseWriter, code int, msg string) {
	var body strings.Builder
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Error string `json:"error"`
	}{msg}) // a struct of one string always encodes
	w.Header().Set(headerContentType, contentTypeJSON)
	w.WriteHeader(code)
	w.Write([]byte(body.String())) // an error here means the client went away
}

// sameOrigin reports whether the Origin header (its values: origins) is the
// origin the request was addressed to: scheme, then the Host the guard has
// already accepted as a name of this API. Only a page this API served has that
// origin: a page of another site sends its own origin, and one made to reach
// this port by DNS rebinding sends a Host that is not a name of the API and
// was refused before.
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
// nothing but still make the API work.
func crossSite(r *http.Request) bool {
	site := r.Header.Get(headerFetchSite)
	return site == "cross-site" || site == "same-site"
}

// opensEntryPage reports whether a browser sent r to show one of the entry
// pages in a tab or a window, as when the user follows a link from another
// site. Not in a frame, nor as a script, a style or an image: their load
// events would tell any site that the API runs at this port.
func (g *Guard) opensEntryPage(r *http.Request) bool {
	return r.Method == http.MethodGet && g.entries[r.URL.Path] &&
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
// loopbackNames or the IP address the connection came in on, at the port it
// came in on, or one of the extra hosts.
func (g *Guard) hostAllowed(r *http.Request) bool {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil { // no port: the scheme's default
		host, port = strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"), "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	host = strings.ToLower(host)
	if g.hosts[net.JoinHostPort(host, port)] {
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

// ParseOrigin checks that s is a web origin, "scheme://host[:port]" with
// scheme http or https and nothing after, and returns it as browsers send it
// in the Origin header: in lower case, without the scheme's default port
// ("https://app.example:443" is "https://app.example"). "*" and "null" are
// refused: they would let every page in. So is any origin with a "*" in it,
// such as "http://*.example.com": origins are matched exactly, so such a
// pattern would match nothing.
func ParseOrigin(s string) (string, error) {
	if strings.Contains(s, "*") {
		return "", fmt.Errorf("origin %q: origins are matched exactly, so a * matches nothing: list each origin, e.g. http://a.example.com", s)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] with scheme http or https, e.g. http://localhost:3000", s)
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return scheme + "://" + host, nil
}
