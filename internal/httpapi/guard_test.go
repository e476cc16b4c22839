package httpapi_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/httpapi"
)

// evilOrigin is the origin of a web page the user happens to visit.
const evilOrigin = "http://evil.example"

// send sends a request with body (none if empty) and exactly the headers given,
// as a browser or an attacker's script would, and reads the answer. A "Host"
// entry replaces the Host header.
func send(t testing.TB, srv *httptest.Server, method, path, body string, headers map[string]string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// wantRefused checks that the answer is an error with one of the statuses.
func (a answer) wantRefused(t testing.TB, statuses ...int) {
	t.Helper()
	for _, s := range statuses {
		if a.status == s {
			a.wantError(t, s)
			return
		}
	}
	t.Fatalf("status %d, want one of %v; body %s", a.status, statuses, a.body)
}

// hostOf returns the Host header a client of srv sends: 127.0.0.1:PORT.
func hostOf(srv *httptest.Server) string {
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestCrossOriginSimpleRequests replays what a web page can send without a CORS
// preflight (fetch with mode "no-cors", or a form): text/plain, urlencoded or
// multipart bodies, with the page's Origin, or with no Origin at all as some
// browsers and plugins do. None of them may change anything.
func TestCrossOriginSimpleRequests(t *testing.T) {
	n, srv := newServer(t)
	victim := newNode(t) // a peer only the attacker knows about
	addr := victim.PeerInfo()[0]
	if _, err := n.AddCollection(t.Context(), `type Secret { text: String }`); err != nil {
		t.Fatal(err)
	}
	c, err := n.Collection("Secret")
	if err != nil {
		t.Fatal(err)
	}

	writes := []struct{ name, method, path, body string }{
		{"add collection", "POST", "/api/v0/collections", `{"sdl": "type Evil { x: String }"}`},
		{"create document", "POST", "/api/v0/collections/Secret/documents", `{"text": "planted"}`},
		{"connect", "POST", "/api/v0/p2p/peers", `{"addr": "` + addr + `"}`},
		{"subscribe", "POST", "/api/v0/p2p/collections", `["Secret"]`},
	}
	simpleTypes := []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", ""}
	for _, w := range writes {
		for _, ct := range simpleTypes {
			for _, origin := range []string{evilOrigin, "null", ""} {
				h := map[string]string{}
				if ct != "" {
					h["Content-Type"] = ct
				}
				if origin != "" {
					h["Origin"] = origin
				}
				a := send(t, srv, w.method, w.path, w.body, h)
				if origin != "" {
					a.wantRefused(t, http.StatusForbidden)
				} else {
					a.wantRefused(t, http.StatusUnsupportedMediaType)
				}
			}
		}
		// Even a JSON body (which a browser preflights) is refused from a page.
		send(t, srv, w.method, w.path, w.body, map[string]string{"Content-Type": "application/json", "Origin": evilOrigin}).
			wantRefused(t, http.StatusForbidden)
	}

	if _, err := n.Collection("Evil"); err == nil {
		t.Error("a web page added a collection")
	}
	for doc, err := range c.Find(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("a web page created document %v", doc.Fields)
	}
	if peers := n.ActivePeers(); len(peers) != 0 {
		t.Errorf("a web page connected the node to %v", peers)
	}
	if subs := n.Subscriptions(); len(subs) != 0 {
		t.Errorf("a web page subscribed the node to %v", subs)
	}
	// A page cannot read either, even where no preflight is needed.
	send(t, srv, "GET", "/api/v0/collections", "", map[string]string{"Origin": evilOrigin}).
		wantRefused(t, http.StatusForbidden)
}

// TestDNSRebinding replays requests of a page on the attacker's domain after that
// domain was made to resolve to 127.0.0.1: the browser sends them to the node as
// same-origin requests, with the attacker's domain in Host and no Origin on GET.
func TestDNSRebinding(t *testing.T) {
	n, srv := newServer(t)
	addUser(t, srv)
	id := createDoc(t, srv, `{"name": "Ada"}`)
	c, err := n.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	port := hostOf(srv)[strings.LastIndex(hostOf(srv), ":"):]
	for _, host := range []string{"evil.example" + port, "evil.example", "localhost.evil.example" + port, "127.0.0.1.nip.io" + port} {
		h := map[string]string{"Host": host}
		send(t, srv, "GET", "/api/v0/collections/User/documents/"+id, "", h).wantRefused(t, http.StatusMisdirectedRequest)
		send(t, srv, "GET", "/api/v0/collections", "", h).wantRefused(t, http.StatusMisdirectedRequest)
		h["Content-Type"] = "application/json"
		send(t, srv, "PATCH", "/api/v0/collections/User/documents/"+id, `{"name": "Mallory"}`, h).
			wantRefused(t, http.StatusMisdirectedRequest)
		send(t, srv, "DELETE", "/api/v0/collections/User/documents/"+id, "", h).wantRefused(t, http.StatusMisdirectedRequest)
		send(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Evil { x: String }"}`, h).
			wantRefused(t, http.StatusMisdirectedRequest)
	}
	doc, err := c.Get(t.Context(), gossipdb.DocID(id))
	if err != nil {
		t.Fatalf("the document is gone: %v", err)
	}
	if doc.Fields["name"] != "Ada" {
		t.Errorf("the document was changed: %v", doc.Fields)
	}
	if _, err := n.Collection("Evil"); err == nil {
		t.Error("a rebound page added a collection")
	}

	// The names the API serves are answered: the loopback names at the port the
	// connection came in on.
	for _, host := range []string{hostOf(srv), "localhost" + port, "LOCALHOST" + port} {
		send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Host": host}).want(t, http.StatusOK)
	}
	send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Host": "localhost:1"}).
		wantRefused(t, http.StatusMisdirectedRequest)
}

// TestAllowedOrigin runs what a browser does for a page of an allowed origin: a
// preflight, then the request, each answered with the CORS headers that let the
// page read the answer. Other origins still get nothing.
func TestAllowedOrigin(t *testing.T) {
	const app = "http://localhost:3000"
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{AllowedOrigins: []string{"HTTP://LOCALHOST:3000", "https://app.example"}})

	pre := send(t, srv, "OPTIONS", "/api/v0/collections", "", map[string]string{
		"Origin": app, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
	if pre.status != http.StatusNoContent {
		t.Fatalf("preflight status %d, want 204; body %s", pre.status, pre.body)
	}
	if got := pre.header.Get("Access-Control-Allow-Origin"); got != app {
		t.Errorf("preflight Access-Control-Allow-Origin %q, want %q", got, app)
	}
	if got := pre.header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") || !strings.Contains(got, "PATCH") {
		t.Errorf("preflight Access-Control-Allow-Methods %q", got)
	}
	if got := strings.ToLower(pre.header.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "content-type") ||
		!strings.Contains(got, "authorization") {
		t.Errorf("preflight Access-Control-Allow-Headers %q", got)
	}

	a := send(t, srv, "POST", "/api/v0/collections", jsonString(t, map[string]string{"sdl": userSDL}),
		map[string]string{"Origin": app, "Content-Type": "application/json"}).want(t, http.StatusOK)
	if got := a.header.Get("Access-Control-Allow-Origin"); got != app {
		t.Errorf("Access-Control-Allow-Origin %q, want %q", got, app)
	}
	if _, err := n.Collection("User"); err != nil {
		t.Errorf("the allowed page's collection is missing: %v", err)
	}

	// Another origin: neither the preflight nor the request gets through.
	pre = send(t, srv, "OPTIONS", "/api/v0/collections", "", map[string]string{
		"Origin": evilOrigin, "Access-Control-Request-Method": "POST"})
	pre.wantRefused(t, http.StatusForbidden)
	if got := pre.header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("refused preflight has Access-Control-Allow-Origin %q", got)
	}
	send(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Evil { x: String }"}`,
		map[string]string{"Origin": "http://localhost:3001", "Content-Type": "application/json"}).wantRefused(t, http.StatusForbidden)
	if _, err := n.Collection("Evil"); err == nil {
		t.Error("a page of another origin added a collection")
	}
	// An allowed origin still sends JSON only.
	send(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Evil { x: String }"}`,
		map[string]string{"Origin": app, "Content-Type": "text/plain"}).wantRefused(t, http.StatusUnsupportedMediaType)
}

// TestAllowedOriginDefaultPort checks that an allowed origin given with its
// scheme's default port lets its pages in: browsers leave that port out of the
// Origin header.
func TestAllowedOriginDefaultPort(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{AllowedOrigins: []string{"http://app.example:80", "https://secure.example:443"}})
	for _, origin := range []string{"http://app.example", "https://secure.example"} {
		a := send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Origin": origin}).want(t, http.StatusOK)
		if got := a.header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("Access-Control-Allow-Origin %q, want %q", got, origin)
		}
	}
	send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Origin": "https://app.example"}).wantRefused(t, http.StatusForbidden)
	send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Origin": "http://app.example:8080"}).wantRefused(t, http.StatusForbidden)
}

// TestToken checks that with a token set, every request needs it, preflights
// aside, and that the client sends it.
func TestToken(t *testing.T) {
	const token = "0123456789abcdef"
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{Token: token, AllowedOrigins: []string{"http://localhost:3000"}})

	for _, auth := range []string{"", "Bearer ", "Bearer 0123456789abcdee", "Bearer " + token + "0", "bearer" + token, token,
		"Basic " + token, "Bearer\t" + token} {
		h := map[string]string{"Content-Type": "application/json"}
		if auth != "" {
			h["Authorization"] = auth
		}
		a := send(t, srv, "GET", "/api/v0/health", "", h)
		a.wantError(t, http.StatusUnauthorized, "token")
		if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without WWW-Authenticate: Bearer")
		}
		send(t, srv, "POST", "/api/v0/collections", `{"sdl": "type Evil { x: String }"}`, h).
			wantError(t, http.StatusUnauthorized)
	}
	if _, err := n.Collection("Evil"); err == nil {
		t.Error("a request without the token added a collection")
	}

	// The scheme's name is case-insensitive, and spaces may follow it.
	for _, good := range []string{"Bearer " + token, "bearer " + token, "BEARER  " + token} {
		send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Authorization": good}).want(t, http.StatusOK)
	}
	// A browser's preflight carries no token; the request after it does.
	send(t, srv, "OPTIONS", "/api/v0/health", "", map[string]string{
		"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}).want(t, http.StatusNoContent)

	c, err := client.New(srv.URL, &client.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddCollection(t.Context(), userSDL); err != nil {
		t.Fatalf("client with the token: %v", err)
	}
	c, err = client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *client.APIError
	if _, err := c.Health(t.Context()); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("client without the token: %v, want a 401", err)
	}
	if _, err := client.New(srv.URL, &client.Options{Token: "two words"}); err == nil {
		t.Error("a token with a space was accepted")
	}
}

func TestOptionsValidate(t *testing.T) {
	n := newNode(t)
	for _, c := range []struct {
		opts  httpapi.Options
		field string
	}{
		{httpapi.Options{BodyBudget: httpapi.MaxBodySize - 1}, "BodyBudget"},
		{httpapi.Options{BodyBudget: -1}, "BodyBudget"},
		{httpapi.Options{BodyReadTimeout: -time.Second}, "BodyReadTimeout"},
		{httpapi.Options{Hosts: []string{"node.lan"}}, "Hosts"},
		{httpapi.Options{AllowedOrigins: []string{"*"}}, "AllowedOrigins"},
		{httpapi.Options{AllowedOrigins: []string{"null"}}, "AllowedOrigins"},
		{httpapi.Options{AllowedOrigins: []string{"http://app.example/path"}}, "AllowedOrigins"},
		{httpapi.Options{AllowedOrigins: []string{"app.example"}}, "AllowedOrigins"},
		{httpapi.Options{Token: "a b"}, "Token"},
		{httpapi.Options{Token: "é"}, "Token"},
		{httpapi.Options{EventBudget: 1000}, "EventBudget"},
		{httpapi.Options{EventBudget: -1}, "EventBudget"},
	} {
		if _, err := httpapi.NewHandler(n, &c.opts); err == nil || !strings.Contains(err.Error(), "Options."+c.field) {
			t.Errorf("NewHandler(%+v): %v, want an error naming Options.%s", c.opts, err, c.field)
		}
	}
	if d := httpapi.DefaultOptions(); d.BodyBudget != httpapi.DefaultBodyBudget || d.BodyReadTimeout != httpapi.DefaultBodyReadTimeout ||
		d.EventBudget != httpapi.DefaultEventBudget {
		t.Errorf("DefaultOptions %+v", d)
	}
}

// TestOptionsRanges: NewHandler takes each budget, and BodyReadTimeout, at
// its floor and at its ceiling, and 0 for its default, and refuses a value just
// below the floor or just above the ceiling with an error naming the field, the
// value and the range.
func TestOptionsRanges(t *testing.T) {
	n := newNode(t)
	size := func(v int64) string { return fmt.Sprint(v) }
	duration := func(v int64) string { return time.Duration(v).String() }
	for _, c := range []struct {
		field       string
		set         func(o *httpapi.Options, v int64)
		least, most int64
		show        func(v int64) string // as the error writes v
	}{
		{"BodyBudget", func(o *httpapi.Options, v int64) { o.BodyBudget = v },
			httpapi.MinBodyBudget, httpapi.MaxBodyBudget, size},
		{"AnswerBudget", func(o *httpapi.Options, v int64) { o.AnswerBudget = v },
			httpapi.MinAnswerBudget, httpapi.MaxAnswerBudget, size},
		{"BodyReadTimeout", func(o *httpapi.Options, v int64) { o.BodyReadTimeout = time.Duration(v) },
			int64(httpapi.MinBodyReadTimeout), int64(httpapi.MaxBodyReadTimeout), duration},
		{"EventBudget", func(o *httpapi.Options, v int64) { o.EventBudget = v },
			httpapi.MinEventBudget, httpapi.MaxEventBudget, size},
	} {
		for _, v := range []int64{0, c.least, c.most} {
			var o httpapi.Options
			c.set(&o, v)
			if _, err := httpapi.NewHandler(n, &o); err != nil {
				t.Errorf("Options.%s %s: %v", c.field, c.show(v), err)
			}
		}
		for _, v := range []int64{c.least - 1, c.most + 1} {
			var o httpapi.Options
			c.set(&o, v)
			_, err := httpapi.NewHandler(n, &o)
			want := []string{"Options." + c.field + " is " + c.show(v), "from " + c.show(c.least) + " to " + c.show(c.most)}
			if err == nil || !strings.Contains(err.Error(), want[0]) || !strings.Contains(err.Error(), want[1]) {
				t.Errorf("Options.%s %s: %v, want an error saying %q and %q", c.field, c.show(v), err, want[0], want[1])
			}
		}
	}
}

// TestExtraHost checks that a Host named in Options.Hosts is served, at its port
// only.
func TestExtraHost(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{Hosts: []string{"Node.LAN:9181"}})
	send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Host": "node.lan:9181"}).want(t, http.StatusOK)
	send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Host": "node.lan:9182"}).
		wantRefused(t, http.StatusMisdirectedRequest)
}

// TestSameOrigin checks the console's way in: a request whose Origin is the
// origin it was sent to (a page this API served) passes the Origin check, any
// other origin does not, and a rebinding page still fails the Host check.
func TestSameOrigin(t *testing.T) {
	n, srv := newServer(t)
	addUser(t, srv)
	host := hostOf(srv)
	port := host[strings.LastIndex(host, ":"):]
	own := map[string]string{"Content-Type": "application/json", "Origin": "http://" + host}

	send(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "from the console"}`, own).want(t, http.StatusCreated)
	send(t, srv, "GET", "/api/v0/collections/User/documents", "", own).want(t, http.StatusOK)
	if a := send(t, srv, "GET", "/api/v0/health", "", own); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a same-origin answer carries CORS headers: %v", a.header)
	}
	for _, origin := range []string{
		"http://localhost" + port, // another name of the same API: another origin
		"https://" + host,         // another scheme
		"http://" + host + "/",    // not an origin as browsers send it
		"http://127.0.0.1",        // another port
		"http://" + host + ", http://" + host,
		evilOrigin,
		"null",
	} {
		h := map[string]string{"Content-Type": "application/json", "Origin": origin}
		send(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "planted"}`, h).
			wantRefused(t, http.StatusForbidden)
	}
	// DNS rebinding: the page's origin and the Host agree, and name another site.
	rebound := "evil.example" + port
	send(t, srv, "POST", "/api/v0/collections/User/documents", `{"name": "planted"}`,
		map[string]string{"Content-Type": "application/json", "Origin": "http://" + rebound, "Host": rebound}).
		wantRefused(t, http.StatusMisdirectedRequest)

	c, err := n.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for doc, err := range c.Find(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if doc.Fields["name"] != "from the console" {
			t.Errorf("a refused request created %v", doc.Fields)
		}
		count++
	}
	if count != 1 {
		t.Fatalf("%d documents, want the console's one", count)
	}
}

// TestCrossSiteWithoutOrigin replays what a page of another site sends
// without an Origin header: a GET as an image, a script or a frame (mode
// no-cors), which browsers mark Sec-Fetch-Site: cross-site (or same-site, from
// another port of the same host). It is refused, or a page could hold every
// event stream slot with MaxEventStreams images, and the console, its own
// origin, could no longer follow events. The console's page is still served
// to a navigation: a link from another site opens the console.
func TestCrossSiteWithoutOrigin(t *testing.T) {
	_, srv := newServer(t)
	addUser(t, srv)
	for _, site := range []string{"cross-site", "same-site"} {
		img := map[string]string{"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}
		send(t, srv, "GET", "/api/v0/collections", "", img).wantRefused(t, http.StatusForbidden)
		send(t, srv, "GET", "/api/v0/collections/User/documents", "", img).wantRefused(t, http.StatusForbidden)
		send(t, srv, "POST", "/api/v0/collections/User/sync", "", img).wantRefused(t, http.StatusForbidden)
		link := map[string]string{"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
		if a := send(t, srv, "GET", "/", "", link); a.status != http.StatusOK {
			t.Errorf("the console from a link of a %s page: status %d", site, a.status)
		}
	}
	// The page's images of the event stream do not take its slots.
	for range httpapi.MaxEventStreams {
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v0/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("an image of the event stream: status %d, want 403", resp.StatusCode)
		}
	}
	console := openStreamWith(t, srv.Client(), srv.URL+"/api/v0/events")
	if console.resp.StatusCode != http.StatusOK {
		t.Fatalf("the console's event stream: status %d", console.resp.StatusCode)
	}
	own := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://" + hostOf(srv)}
	send(t, srv, "GET", "/api/v0/collections", "", own).want(t, http.StatusOK)
	typed := map[string]string{"Sec-Fetch-Site": "none"} // a URL typed into the browser
	send(t, srv, "GET", "/api/v0/health", "", typed).want(t, http.StatusOK)
}

// TestConsoleFilesCrossSite replays another site's page loading the console's
// files as its own script, style or image, or the console in a frame: served,
// their load events would tell any site that a node runs at that port. Only a
// browser opening the console's page in a tab, as a link does, is served.
func TestConsoleFilesCrossSite(t *testing.T) {
	_, srv := newServer(t)
	for _, site := range []string{"cross-site", "same-site"} {
		for _, r := range []struct{ path, mode, dest string }{
			{"/console/console.js", "no-cors", "script"},
			{"/console/console.css", "no-cors", "style"},
			{"/console/icon.svg", "no-cors", "image"},
			{"/", "no-cors", "script"},
			{"/", "navigate", "iframe"},
			{"/console/console.js", "navigate", "document"},
		} {
			h := map[string]string{"Sec-Fetch-Site": site, "Sec-Fetch-Mode": r.mode, "Sec-Fetch-Dest": r.dest}
			send(t, srv, "GET", r.path, "", h).wantRefused(t, http.StatusForbidden)
		}
	}
	// The console's own page loads its files from its origin.
	own := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}
	if a := send(t, srv, "GET", "/console/console.js", "", own); a.status != http.StatusOK {
		t.Errorf("the console's script from its page: status %d", a.status)
	}
}

// TestEveryAnswerNosniff: every answer, served or refused, JSON, GraphQL,
// list or console file, tells the browser not to read it as another type
// than it says (a JSON answer run as a script, shown as a page).
func TestEveryAnswerNosniff(t *testing.T) {
	_, srv := newServer(t)
	for _, r := range []struct {
		method, path, body string
		headers            map[string]string
		status             int
	}{
		{"GET", "/api/v0/health", "", nil, http.StatusOK},
		{"GET", "/api/v0/collections", "", nil, http.StatusOK},
		{"POST", "/api/v0/graphql", `{"query":"{ __typename }"}`, map[string]string{"Content-Type": "application/json"}, http.StatusOK},
		{"GET", "/api/v0/collections/Nothing/docIDs", "", nil, http.StatusNotFound},
		{"GET", "/console/console.js", "", nil, http.StatusOK},
		{"GET", "/api/v0/health", "", map[string]string{"Origin": "https://elsewhere.example"}, http.StatusForbidden},
		{"POST", "/api/v0/collections", "type X { a: Int }", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
	} {
		a := send(t, srv, r.method, r.path, r.body, r.headers)
		if a.status != r.status {
			t.Errorf("%s %s: status %d, want %d", r.method, r.path, a.status, r.status)
		}
		if got := a.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q, want nosniff", r.method, r.path, a.status, got)
		}
	}
}
