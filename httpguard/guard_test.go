package httpguard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/httpguard"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve serves, behind a guard with opts, a handler that answers 200 "served",
// and returns the server's URL.
func serve(t *testing.T, opts *httpguard.Options) string {
	t.Helper()
	g, err := httpguard.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served")
	}), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv.URL
}

// request is one request as a browser, a page or a program sends it.
type request struct {
	name, method, path, body string
	headers                  map[string]string // a "Host" entry replaces the Host header
	status                   int               // wanted
}

// check sends each request to url and checks its status, that a refusal is a
// JSON error, and that every answer carries nosniff.
func check(t *testing.T, url string, requests []request) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, r := range requests {
		resp, data := nodetest.Do(t, client, r.method, url+r.path, r.body, r.headers)
		if resp.StatusCode != r.status {
			t.Errorf("%s: status %d, want %d; body %s", r.name, resp.StatusCode, r.status, data)
			continue
		}
		if r.status != http.StatusOK && r.status != http.StatusNoContent &&
			(resp.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(string(data), `{"error":`)) {
			t.Errorf("%s: refusal %q of type %q, want a JSON error", r.name, data, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no X-Content-Type-Options: nosniff", r.name)
		}
	}
}

// TestGuardDefaults: with no options, programs on this machine are served and
// every way a web page has to reach the handler is refused.
func TestGuardDefaults(t *testing.T) {
	url := serve(t, nil)
	port := url[strings.LastIndex(url, ":"):]
	own := strings.TrimPrefix(url, "http://")
	check(t, url, []request{
		{"GET from a program", "GET", "/", "", nil, http.StatusOK},
		{"POST without a body", "POST", "/", "", nil, http.StatusOK},
		{"POST of JSON", "POST", "/", `{}`, map[string]string{"Content-Type": "application/json; charset=utf-8"}, http.StatusOK},
		{"localhost", "GET", "/", "", map[string]string{"Host": "localhost" + port}, http.StatusOK},
		{"a page the API served", "POST", "/", "", map[string]string{"Origin": "http://" + own}, http.StatusOK},
		{"a URL typed in the browser", "GET", "/", "", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusOK},

		{"DNS rebinding", "GET", "/", "", map[string]string{"Host": "evil.example" + port}, http.StatusMisdirectedRequest},
		{"loopback name at another port", "GET", "/", "", map[string]string{"Host": "localhost:1"}, http.StatusMisdirectedRequest},
		{"a page of another site", "POST", "/", "", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"a sandboxed page", "GET", "/", "", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"another name of the API", "POST", "/", "", map[string]string{"Origin": "http://localhost" + port}, http.StatusForbidden},
		{"an image of another site", "GET", "/", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"a link from another site", "GET", "/", "", map[string]string{
			"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, http.StatusForbidden},
		{"an image of another port", "GET", "/", "", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"a form", "POST", "/", "a=1", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{"text/plain", "POST", "/", "{}", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"JSON in Latin-1", "POST", "/", "{}", map[string]string{"Content-Type": "application/json; charset=latin1"}, http.StatusUnsupportedMediaType},
		{"a body without a type", "POST", "/", "{}", map[string]string{"Content-Type": ""}, http.StatusUnsupportedMediaType},
	})
}

// TestGuardOptions: extra hosts, allowed origins and entry pages let exactly
// those in.
func TestGuardOptions(t *testing.T) {
	const app = "http://localhost:3000"
	url := serve(t, &httpguard.Options{
		Hosts:          []string{"Node.LAN:9181"},
		AllowedOrigins: []string{"HTTP://LOCALHOST:3000"},
		EntryPages:     []string{"/"},
	})
	link := map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
	check(t, url, []request{
		{"an extra host", "GET", "/", "", map[string]string{"Host": "node.lan:9181"}, http.StatusOK},
		{"an extra host at another port", "GET", "/", "", map[string]string{"Host": "node.lan:9182"}, http.StatusMisdirectedRequest},
		{"an allowed origin", "POST", "/", "{}", map[string]string{"Origin": app, "Content-Type": "application/json"}, http.StatusOK},
		{"an allowed origin's preflight", "OPTIONS", "/", "", map[string]string{
			"Origin": app, "Access-Control-Request-Method": "POST"}, http.StatusNoContent},
		{"an allowed origin's text/plain", "POST", "/", "{}", map[string]string{"Origin": app, "Content-Type": "text/plain"},
			http.StatusUnsupportedMediaType},
		{"another origin's preflight", "OPTIONS", "/", "", map[string]string{
			"Origin": "http://localhost:3001", "Access-Control-Request-Method": "POST"}, http.StatusForbidden},
		{"a link to the entry page", "GET", "/", "", link, http.StatusOK},
		{"a link to another page", "GET", "/data", "", link, http.StatusForbidden},
		{"the entry page in a frame", "GET", "/", "", map[string]string{
			"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, http.StatusForbidden},
	})

	for _, bad := range []struct {
		opts  httpguard.Options
		field string
	}{
		{httpguard.Options{Hosts: []string{"node.lan"}}, "Hosts"},
		{httpguard.Options{AllowedOrigins: []string{"*"}}, "AllowedOrigins"},
		{httpguard.Options{AllowedOrigins: []string{"null"}}, "AllowedOrigins"},
		{httpguard.Options{AllowedOrigins: []string{"http://app.example/path"}}, "AllowedOrigins"},
		{httpguard.Options{EntryPages: []string{"index.html"}}, "EntryPages"},
	} {
		if _, err := httpguard.New(http.NotFoundHandler(), &bad.opts); err == nil || !strings.Contains(err.Error(), "Options."+bad.field) {
			t.Errorf("New(%+v): %v, want an error naming Options.%s", bad.opts, err, bad.field)
		}
	}
}

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://Secure.Example:443/": "https://secure.example",
		"http://app.example:80":       "http://app.example",
		"http://localhost:3000":       "http://localhost:3000",
	} {
		if got, err := httpguard.ParseOrigin(in); err != nil || got != want {
			t.Errorf("ParseOrigin(%q): %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"*", "null", "app.example", "ftp://app.example", "http://user@app.example", "http://app.example/x", "http://app.example?q"} {
		if got, err := httpguard.ParseOrigin(in); err == nil {
			t.Errorf("ParseOrigin(%q) = %q, want an error", in, got)
		}
	}
	// A wildcard is never matched, so it is refused with a word on why.
	for _, in := range []string{"http://*.example.com", "https://app.example:*", "*://app.example"} {
		if got, err := httpguard.ParseOrigin(in); err == nil || !strings.Contains(err.Error(), "matched exactly") {
			t.Errorf("ParseOrigin(%q) = %q, %v; want an error saying origins are matched exactly", in, got, err)
		}
	}
}

// ExampleNew puts a program's own API behind the guard: curl and other
// programs on this machine are served, a web page the user visits is not.
func ExampleNew() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /stock/{sku}/add", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "added\n")
	})
	guarded, err := httpguard.New(mux, nil)
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(guarded) // on 127.0.0.1: serve on loopback only
	defer srv.Close()

	post := func(origin string) {
		req, _ := http.NewRequest("POST", srv.URL+"/stock/apple/add", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%d %s", resp.StatusCode, body)
	}
	post("")                     // curl, or this program's own client
	post("https://evil.example") // a form or a script of a page the user visits
	// Output:
	// 200 added
	// 403 {"error":"requests from web pages are refused (Origin \"https://evil.example\" is not an allowed origin)"}
}
