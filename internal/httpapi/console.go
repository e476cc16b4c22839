package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// consoleFiles are the web console: plain HTML, CSS and JavaScript, served as
// they are, with no build step and nothing loaded from elsewhere.
//
//go:embed console
var consoleFiles embed.FS

// Routes of the console: its page, and the files the page loads.
const (
	routeConsolePage  = "GET /{$}"
	routeConsoleAsset = "GET /console/{file}"
	consolePrefix     = "/console/"
	consoleIndex      = "index.html"
)

// consolePolicy is the Content-Security-Policy of the console's files: the page
// runs only its own script and style, talks only to this API, and may not be
// framed, so another site can neither inject into it nor overlay it.
const consolePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// consoleTypes are the media types of the console's files, by extension.
var consoleTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one file of the console, ready to serve.
type asset struct {
	name  string
	body  []byte
	etag  string
	ctype string
}

// consoleAssets holds the console's files by name; it is never changed.
var consoleAssets = loadConsole()

func loadConsole() map[string]*asset {
	entries, err := fs.ReadDir(consoleFiles, "console")
	if err != nil {
		panic(err) // the files are compiled in: cannot happen
	}
	out := map[string]*asset{}
	for _, e := range entries {
		body, err := fs.ReadFile(consoleFiles, "console/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		out[e.Name()] = &asset{name: e.Name(), body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`,
			ctype: consoleTypes[path.Ext(e.Name())]}
	}
	return out
}

// isConsoleAsset reports whether r asks for a file of the console: those need
// no token (they are the same in every binary and hold no data; the page asks
// for the token before it calls the API).
func isConsoleAsset(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.URL.Path == "/" {
		return true
	}
	name, ok := strings.CutPrefix(r.URL.Path, consolePrefix)
	return ok && name != consoleIndex && consoleAssets[name] != nil
}

// mountConsole routes the console's page and files.
func (s *server) mountConsole() {
	s.mux.HandleFunc(routeConsolePage, func(w http.ResponseWriter, r *http.Request) {
		serveAsset(w, r, consoleAssets[consoleIndex])
	})
	s.mux.HandleFunc(routeConsoleAsset, func(w http.ResponseWriter, r *http.Request) {
		a := consoleAssets[r.PathValue("file")]
		if a == nil || a.name == consoleIndex {
			writeError(w, http.StatusNotFound, "no such file of the console: "+r.URL.Path)
			return
		}
		serveAsset(w, r, a)
	})
}

// serveAsset answers with a, or 304 when the browser has it already: the
// browser revalidates every time, so a new binary's console shows at once.
func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set(headerContentType, a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", consolePolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}
