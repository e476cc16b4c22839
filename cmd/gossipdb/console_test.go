package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// The console's browser test drives headless Chromium against two real nodes.

var (
	consoleShots = flag.String("console.shots", "",
		"directory for the console test's screenshots (default: the test's temporary directory, removed after)")
	consoleReadme = flag.Bool("console.readme", false,
		"also write the screenshot the README shows to docs/console.png")
)

// Bounds of the browser test.
const (
	browserTimeout   = 90 * time.Second // the whole browser session
	stepTimeout      = 20 * time.Second // one step: a view drawn, a change arrived
	firstLoadLimit   = 200 << 10        // bytes the console's first load may transfer
	consoleStopLimit = 5 * time.Second  // SIGTERM to exit with a console open
	readmeShotLimit  = 150 << 10        // bytes of docs/console.png
	desktopW         = 1280
	desktopH         = 800
	phoneW           = 390
	phoneH           = 844
)

// findChromium returns the path of a Chromium or Chrome binary, or skips the
// test saying how to install one.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("the console's browser test needs Chromium, and none is on PATH: " +
		"install it (Debian, Ubuntu: apt-get install chromium; .ci/run does) and run the test again")
	return ""
}

// tab is one browser tab on one node's console, with what the page reported.
type tab struct {
	name string
	ctx  context.Context

	mu     sync.Mutex
	errors []string // JavaScript exceptions, console errors, failed loads
	bytes  float64  // transferred so far, headers included
}

// newTab opens a tab of the browser in parent and records its errors and
// transfers.
func newTab(t *testing.T, parent context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	tb := &tab{name: name, ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tb.errors = append(tb.errors, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tb.errors = append(tb.errors, "console.error: "+strings.Join(args, " "))
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				tb.errors = append(tb.errors, fmt.Sprintf("%s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventLoadingFinished:
			tb.bytes += ev.EncodedDataLength
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// do runs steps in the tab within stepTimeout.
func (tb *tab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s, %s: %v", tb.name, what, err)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %s: %v", tb.name, expr, err)
	}
	return v
}

// noErrors fails the test if the page reported any error but those that
// contain one of expected.
func (tb *tab) noErrors(t *testing.T, expected ...string) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errors {
		if !slices.ContainsFunc(expected, func(x string) bool { return strings.Contains(e, x) }) {
			t.Errorf("%s: %s", tb.name, e)
		}
	}
}

// shot saves a screenshot of the tab's viewport as name.png in dir, checks that
// it is a PNG of the viewport's size, and returns it.
func (tb *tab) shot(t *testing.T, dir, name string, w, h int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("%s: screenshot %s: %v", tb.name, name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("%s: screenshot %s: %v", tb.name, name, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("%s: screenshot %s is %dx%d, want %dx%d", tb.name, name, b.Dx(), b.Dy(), w, h)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d KB)", path, len(buf)>>10)
	return buf
}

// clickNow waits for the element that the CSS selector sel names, and clicks
// it. Lists are redrawn whenever a change or a poll brings news, so the element
// is found and clicked in one step in the page, not found first and clicked
// after.
func clickNow(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('`+sel+`').click()`),
	)
}

// clickRow clicks the row of document id in the document list.
func clickRow(id string) chromedp.Action[chromedp.Void] {
	return clickNow(`#docs tbody tr[data-id="` + id + `"]`)
}

// doc reads one document from n's API; the status and the decoded document.
func (n *node) doc(t *testing.T, collection, id string) (int, map[string]any) {
	t.Helper()
	status, body := n.httpCall(t, "GET", "/api/v0/collections/"+collection+"/documents/"+id, "")
	var doc map[string]any
	if status == http.StatusOK {
		decodeJSON(t, body, &doc)
	}
	return status, doc
}

// TestConsoleInBrowser opens the console of two connected nodes in headless
// Chromium: each loads without errors and shows the other as a peer, a
// document created in node 1's console appears in node 2's console live, an
// edit made in node 2's console reaches node 1, and a delete made in node 1's
// console reaches node 2. It takes a screenshot of each view, and measures
// what the first load transfers.
func TestConsoleInBrowser(t *testing.T) {
	needBinary(t)
	chromium := findChromium(t)
	shots := *consoleShots
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	n1, n2 := newNode(t, "node1"), newNode(t, "node2")
	n1.start(t)
	id1 := n1.peerID(t)
	n2.start(t, "--peers", n1.p2pAddr()+"/p2p/"+id1)
	id2 := n2.peerID(t)
	const sdl = `type User { name: String age: Int verified: Boolean points: Float stars: Int @crdt(type: pncounter) }`
	for _, n := range []*node{n1, n2} {
		if status, body := n.httpCall(t, "POST", "/api/v0/collections", jsonString(map[string]string{"sdl": sdl})); status != http.StatusOK {
			t.Fatalf("%s: add collection: %d %s", n.name, status, body)
		}
		if status, body := n.httpCall(t, "POST", "/api/v0/p2p/collections", `["User"]`); status != http.StatusNoContent {
			t.Fatalf("%s: subscribe: %d %s", n.name, status, body)
		}
	}
	for _, doc := range []string{`{"name": "Grace Hopper", "age": 85, "verified": true, "points": 9.5}`,
		`{"name": "Alan Turing", "age": 41, "stars": 3}`} {
		if status, body := n1.httpCall(t, "POST", "/api/v0/collections/User/documents", doc); status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(desktopW, desktopH),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil { // starts the browser, with no timeout of its own
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	tab1, tab2 := newTab(t, browser, "node1's console"), newTab(t, browser, "node2's console")
	viewport := chromedp.EmulateViewport(desktopW, desktopH)

	// Each console loads, shows its node and the other one as a connected peer,
	// and follows the node's changes.
	for _, c := range []struct {
		tab      *tab
		n        *node
		me, peer string
	}{{tab1, n1, id1, id2}, {tab2, n2, id2, id1}} {
		c.tab.do(t, "load",
			viewport,
			chromedp.Navigate("http://"+c.n.url()+"/"),
			chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		)
		c.tab.mu.Lock()
		loaded := c.tab.bytes
		c.tab.mu.Unlock()
		t.Logf("%s: the first load transferred %.1f KB", c.tab.name, loaded/1024)
		if loaded == 0 || loaded > firstLoadLimit {
			t.Errorf("%s: the first load transferred %.0f bytes, want some and at most %d", c.tab.name, loaded, firstLoadLimit)
		}
		c.tab.do(t, "show the peer",
			chromedp.WaitVisible(chromedp.CSS(`#peers li[data-peer="`+c.peer+`"][data-state="connected"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#catchup li[data-collection="User"]`)),
		)
		if got := eval[string](t, c.tab, `document.getElementById('node-id').textContent`); got != c.me {
			t.Errorf("%s shows peer ID %q, want %q", c.tab.name, got, c.me)
		}
	}

	// Node 2's console shows User's documents; the page must not reload.
	tab2.do(t, "open the documents",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="documents"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#docs tbody tr`)),
	)
	eval[chromedp.Void](t, tab2, `window.sameDocument = true`)

	// Create a document in node 1's console.
	tab1.do(t, "create a document",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="documents"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#docs tbody tr`)),
		chromedp.Click(chromedp.CSS(`#new-doc`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-name`)),
		chromedp.SendKeys(chromedp.CSS(`#field-name`), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS(`#field-age`), "36"),
		chromedp.SetValue(chromedp.CSS(`#field-verified`), "true"),
		chromedp.SendKeys(chromedp.CSS(`#field-points`), "1.5"),
		chromedp.Click(chromedp.CSS(`#doc-save`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#doc-dialog`)),
	)
	var ada string
	nodetest.Eventually(t, stepTimeout, func() error { // the created document on node 1
		status, body := n1.httpCall(t, "GET", "/api/v0/collections/User/documents?where="+url.QueryEscape(`{"name":"Ada Lovelace"}`), "")
		var page struct {
			Documents []map[string]any `json:"documents"`
		}
		decodeJSON(t, body, &page)
		if status != http.StatusOK || len(page.Documents) != 1 {
			return fmt.Errorf("status %d: %s", status, body)
		}
		ada = page.Documents[0]["_docID"].(string)
		return nil
	})
	if _, doc := n1.doc(t, "User", ada); fmt.Sprintf("%v %v %v", doc["age"], doc["verified"], doc["points"]) != "36 true 1.5" {
		t.Fatalf("node 1 stored %v, want what the form said", doc)
	}

	// It appears in node 2's console, live.
	tab2.do(t, "see the new document",
		chromedp.WaitVisible(chromedp.CSS(`#docs tbody tr[data-id="`+ada+`"]`)),
	)
	if !eval[bool](t, tab2, `window.sameDocument === true`) {
		t.Fatal("node 2's console reloaded to show the document")
	}
	if row := eval[string](t, tab2, `document.querySelector('#docs tr[data-id="`+ada+`"]').textContent`); !strings.Contains(row, "Ada Lovelace") {
		t.Fatalf("node 2's row of the document: %q", row)
	}
	tab2.shot(t, shots, "documents", desktopW, desktopH)
	tab2.do(t, "see the change in the feed, from node 1",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="feed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#feed li[data-doc="`+ada+`"][data-type="created"][data-peer="`+id1+`"]`)),
	)
	tab2.shot(t, shots, "feed", desktopW, desktopH)

	// Edit it in node 2's console: the change reaches node 1, and node 1's
	// console shows it live.
	tab2.do(t, "edit the document",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="documents"]`)),
		clickRow(ada),
		chromedp.WaitVisible(chromedp.CSS(`#field-age`)),
		chromedp.SetValue(chromedp.CSS(`#field-age`), "37"),
		chromedp.SendKeys(chromedp.CSS(`#field-stars`), "-2"), // a counter: adds -2
	)
	tab2.shot(t, shots, "edit", desktopW, desktopH)
	tab2.do(t, "save the edit",
		chromedp.Click(chromedp.CSS(`#doc-save`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#doc-dialog`)),
	)
	nodetest.Eventually(t, stepTimeout, func() error { // the edit on node 1
		status, doc := n1.doc(t, "User", ada)
		if status != http.StatusOK || fmt.Sprint(doc["age"]) != "37" || fmt.Sprint(doc["stars"]) != "-2" ||
			doc["name"] != "Ada Lovelace" {
			return fmt.Errorf("status %d, %v", status, doc)
		}
		return nil
	})
	tab1.do(t, "see the edit",
		chromedp.Poll[chromedp.Void](`Array.from((document.querySelector('#docs tr[data-id="`+ada+`"]') || {cells: []}).cells).some((c) => c.textContent === '37')`,
			chromedp.WithPollingTimeout(stepTimeout)),
	)

	// Its history in node 1's console: the edit, then the creation.
	tab1.do(t, "open the document's history",
		clickRow(ada),
		chromedp.WaitVisible(chromedp.CSS(`#doc-history-box summary`)),
		chromedp.Click(chromedp.CSS(`#doc-history-box summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#doc-history li[data-height="1"]`)),
	)
	tab1.shot(t, shots, "history", desktopW, desktopH)
	history := eval[[]string](t, tab1, `Array.from(document.querySelectorAll('#doc-history li')).map((li) => li.dataset.height + ': ' + li.querySelector('.what').textContent)`)
	if want := []string{"2: age = 37; stars - 2", "1: age = 36; name = \"Ada Lovelace\"; points = 1.5; verified = true"}; !slices.Equal(history, want) {
		t.Errorf("history shows %q, want %q", history, want)
	}
	tab1.do(t, "close the document",
		chromedp.Click(chromedp.CSS(`#doc-cancel`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#doc-dialog`)),
	)

	// Delete it in node 1's console: it is gone on node 2.
	tab1.do(t, "delete the document",
		clickRow(ada),
		chromedp.WaitVisible(chromedp.CSS(`#doc-delete`)),
		chromedp.Click(chromedp.CSS(`#doc-delete`)),
		chromedp.Click(chromedp.CSS(`#doc-delete`)), // confirms
		chromedp.WaitNotVisible(chromedp.CSS(`#doc-dialog`)),
	)
	nodetest.Eventually(t, stepTimeout, func() error { // the delete on node 2
		if status, doc := n2.doc(t, "User", ada); status != http.StatusGone {
			return fmt.Errorf("status %d, %v", status, doc)
		}
		return nil
	})
	tab2.do(t, "see the delete",
		chromedp.WaitNotPresent(chromedp.CSS(`#docs tbody tr[data-id="`+ada+`"]`)),
	)

	// Node 2's console shows it among the deleted documents, read-only, with
	// its whole history.
	tab2.do(t, "show the deleted documents",
		chromedp.Click(chromedp.CSS(`#show-deleted`)),
		clickNow(`#docs tbody tr[data-id="`+ada+`"][data-deleted="1"]`),
		chromedp.WaitVisible(chromedp.CSS(`#doc-history-box summary`)),
		chromedp.Click(chromedp.CSS(`#doc-history-box summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#doc-history li[data-height="1"]`)),
	)
	if state := eval[string](t, tab2, `[document.getElementById('doc-title').textContent, document.getElementById('doc-save').hidden, document.getElementById('doc-delete').hidden, document.getElementById('field-name').disabled, document.querySelectorAll('#doc-history li').length].join(' ')`); state != "User document (deleted) true true true 3" {
		t.Errorf("the deleted document's dialog: %q, want its title, Save and Delete hidden, fields disabled and 3 blocks", state)
	}
	tab2.do(t, "hide the deleted documents",
		chromedp.Click(chromedp.CSS(`#doc-cancel`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#doc-dialog`)),
		chromedp.Click(chromedp.CSS(`#show-deleted`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#docs tbody tr[data-id="`+ada+`"]`)),
	)

	// Filter node 2's documents by a field.
	tab2.do(t, "filter the documents",
		chromedp.SetValue(chromedp.CSS(`#filter-field`), "name"),
		chromedp.SendKeys(chromedp.CSS(`#filter-value`), "Grace Hopper"),
		chromedp.Click(chromedp.CSS(`#filter-form button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`(() => { const rows = document.querySelectorAll('#docs tbody tr');
			return rows.length === 1 && rows[0].textContent.includes('Grace Hopper'); })()`, chromedp.WithPollingTimeout(stepTimeout)),
		chromedp.Click(chromedp.CSS(`#filter-clear`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#docs tbody tr').length === 2`, chromedp.WithPollingTimeout(stepTimeout)),
	)

	tab1.do(t, "show the overview",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="overview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recent li[data-doc="`+ada+`"][data-type="deleted"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#toast`)),
	)
	tab1.shot(t, shots, "overview", desktopW, desktopH)

	// Add a collection in node 1's console and subscribe to it there: the
	// console follows its changes from then on, through the stream it has
	// (it follows every collection, those added later too).
	tab1.do(t, "add a collection",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="collections"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#collections [data-collection="User"] table.sync`)),
		chromedp.Click(chromedp.CSS(`#add-collection`)),
		chromedp.WaitVisible(chromedp.CSS(`#sdl`)),
		chromedp.SendKeys(chromedp.CSS(`#sdl`), `type Post { title: String! body: String }`),
		chromedp.Click(chromedp.CSS(`#sdl-form button[type="submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#sdl-dialog`)),
		clickNow(`#collections [data-collection="Post"] button[data-action="subscribe"]`),
		chromedp.WaitVisible(chromedp.CSS(`#collections [data-collection="Post"] button[data-action="unsubscribe"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"][title*="every collection"]`)),
	)
	if status, body := n1.httpCall(t, "GET", "/api/v0/p2p/collections", ""); status != http.StatusOK || body != `["Post","User"]`+"\n" {
		t.Fatalf("node 1's subscriptions after the console's: %d %s", status, body)
	}
	status, body := n1.httpCall(t, "POST", "/api/v0/collections/Post/documents", `{"title": "hello"}`)
	if status != http.StatusCreated {
		t.Fatalf("create a post: %d %s", status, body)
	}
	var post struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, body, &post)
	tab1.do(t, "see the post in the feed",
		chromedp.WaitReady(chromedp.CSS(`#feed li[data-doc="`+post.DocID+`"][data-type="created"][data-peer=""]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#toast`)),
	)
	tab1.shot(t, shots, "collections", desktopW, desktopH)
	tab2.do(t, "show the overview on a phone",
		chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateScale(1)),
		chromedp.Click(chromedp.CSS(`#nav a[data-view="overview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recent li[data-doc="`+ada+`"]`)),
	)
	if w := eval[int](t, tab2, `document.documentElement.scrollWidth`); w > phoneW {
		t.Errorf("on a phone the overview is %d px wide, wider than the screen (%d px)", w, phoneW)
	}
	tab2.shot(t, shots, "overview-phone", phoneW, phoneH)
	tab2.do(t, "show the documents on a phone",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="documents"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#docs tbody tr`)),
	)
	tab2.shot(t, shots, "documents-phone", phoneW, phoneH)

	// A node that needs a token: its console asks for it, then works, and
	// keeps it for the tab.
	n3 := newNode(t, "node3")
	n3.start(t, "--require-token")
	token, err := os.ReadFile(filepath.Join(n3.rootdir, "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	tab3 := newTab(t, browser, "node3's console")
	tab3.do(t, "ask for the token",
		viewport,
		chromedp.Navigate("http://"+n3.url()+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#token-dialog[open] #token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), strings.Repeat("0", 64)),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-error`)),
		chromedp.SetValue(chromedp.CSS(`#token`), strings.TrimSpace(string(token))),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#token-dialog`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
	)
	if got, id3 := eval[string](t, tab3, `document.getElementById('node-id').textContent`), n3.peerID(t); got != id3 {
		t.Errorf("%s shows peer ID %q, want %q", tab3.name, got, id3)
	}
	tab3.do(t, "load again with the token kept",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
	)
	if open := eval[bool](t, tab3, `document.getElementById('token-dialog').open`); open {
		t.Errorf("%s asks for the token again after a reload", tab3.name)
	}

	tab1.noErrors(t)
	tab2.noErrors(t)
	tab3.noErrors(t, "status of 401") // the answers that made it ask for the token

	if *consoleReadme {
		writeReadmeShot(t, filepath.Join(shots, "overview.png"))
	}

	// A node stops promptly with its console open: the event stream does not
	// hold the HTTP server's shutdown.
	start := time.Now()
	n1.stop(t)
	if d := time.Since(start); d > consoleStopLimit {
		t.Errorf("node 1 took %v to stop with a console open, want under %v", d, consoleStopLimit)
	}
}

// writeReadmeShot copies the screenshot at path to docs/console.png.
func writeReadmeShot(t *testing.T, path string) {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) > readmeShotLimit {
		t.Fatalf("%s is %d KB, over the %d KB the README may show", path, len(buf)>>10, readmeShotLimit>>10)
	}
	out := filepath.Join("..", "..", "docs", "console.png")
	if err := os.WriteFile(out, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}

// jsonString encodes v as JSON text.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
