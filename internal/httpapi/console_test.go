package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/httpapi"
)

// wantFile checks that the answer is a 200 that is not JSON: a file of the console.
func (a answer) wantFile(t testing.TB) answer {
	t.Helper()
	if a.status != http.StatusOK || a.header.Get("Content-Type") == "application/json" {
		t.Fatalf("status %d, Content-Type %q, want a file; body %.200s", a.status, a.header.Get("Content-Type"), a.body)
	}
	return a
}

// consoleFirstLoadLimit is the most the console's first load may transfer.
const consoleFirstLoadLimit = 200 << 10

// TestConsoleFiles serves the console's page and the files it names: each with
// its media type, a policy that keeps other sites' code out and the page out of
// frames, and revalidation by ETag.
func TestConsoleFiles(t *testing.T) {
	_, srv := newServer(t)
	page := call(t, srv, "GET", "/", "").wantFile(t)
	if ct := page.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("page Content-Type %q", ct)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(page.body, -1)
	if len(refs) < 3 {
		t.Fatalf("the page names %d files: %v", len(refs), refs)
	}
	total := len(page.body)
	seen := map[string]bool{}
	for _, ref := range refs {
		path := ref[1]
		if seen[path] {
			continue
		}
		seen[path] = true
		a := call(t, srv, "GET", path, "").wantFile(t)
		total += len(a.body)
		wantType := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
		ext := path[strings.LastIndex(path, "."):]
		if ct := a.header.Get("Content-Type"); ct != wantType[ext] {
			t.Errorf("%s: Content-Type %q, want %q", path, ct, wantType[ext])
		}
		etag := a.header.Get("ETag")
		if etag == "" {
			t.Errorf("%s: no ETag", path)
			continue
		}
		if again := send(t, srv, "GET", path, "", map[string]string{"If-None-Match": etag}); again.status != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", path, again.status)
		}
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if page.header.Get(h) == "" {
			t.Errorf("page without %s", h)
		}
	}
	csp := page.header.Get("Content-Security-Policy")
	for _, part := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, part) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, part)
		}
	}
	if strings.Contains(page.body, "://") {
		t.Errorf("the page loads something from another site:\n%s", page.body)
	}
	t.Logf("console first load: %d bytes in %d files", total, len(seen)+1)
	if total > consoleFirstLoadLimit {
		t.Errorf("console first load is %d bytes, over %d", total, consoleFirstLoadLimit)
	}

	call(t, srv, "GET", "/console/nope.js", "").wantError(t, http.StatusNotFound)
	call(t, srv, "GET", "/console/index.html", "").wantError(t, http.StatusNotFound)
	call(t, srv, "POST", "/", `{}`).wantError(t, http.StatusMethodNotAllowed)
}

// TestConsoleToken serves the console of an API that needs a token: the page
// and its files load without it (they hold no data), the API behind them does
// not.
func TestConsoleToken(t *testing.T) {
	n := newNode(t)
	srv := serve(t, n, &httpapi.Options{Token: "s3cret"})
	call(t, srv, "GET", "/", "").wantFile(t)
	call(t, srv, "GET", "/console/console.js", "").wantFile(t)
	for _, path := range []string{"/api/v0/health", "/api/v0/events", "/api/v0/collections/User/documents",
		"/console/../api/v0/health", "/console/nope", "/nope"} {
		send(t, srv, "GET", path, "", nil).wantRefused(t, http.StatusUnauthorized)
	}
	a := send(t, srv, "GET", "/api/v0/health", "", map[string]string{"Authorization": "Bearer s3cret"})
	a.want(t, http.StatusOK)
}

// TestConsoleEndpointsCrossOrigin sends the endpoints the console uses, and its
// files, from another site's page: all are refused like the rest of the API,
// and the write does nothing.
func TestConsoleEndpointsCrossOrigin(t *testing.T) {
	n, srv := newServer(t)
	addUser(t, srv)
	if err := n.Subscribe(t.Context(), "User"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/console/console.js"},
		{"GET", "/api/v0/events"},
		{"GET", "/api/v0/collections/User/documents"},
		{"GET", "/api/v0/collections/User/sync"},
		{"POST", "/api/v0/collections/User/sync"},
	} {
		send(t, srv, r.method, r.path, "", map[string]string{"Origin": evilOrigin}).wantRefused(t, http.StatusForbidden)
		send(t, srv, r.method, r.path, "", map[string]string{"Host": "evil.example" + srv.URL[strings.LastIndex(srv.URL, ":"):]}).
			wantRefused(t, http.StatusMisdirectedRequest)
	}
	st, err := n.SyncStatus("User")
	if err != nil {
		t.Fatal(err)
	}
	if st.Running != 0 || len(st.Peers) != 0 {
		t.Fatalf("a refused request started catch-up: %+v", st)
	}
}
