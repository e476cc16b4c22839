package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// startBrowser starts headless Chromium for the test and returns its context.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	chromium := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
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
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	return browser
}

// requestLog counts the requests a tab sends, by method and path.
type requestLog struct {
	mu sync.Mutex
	n  map[string]int
}

func logRequests(t *testing.T, tb *tab) *requestLog {
	t.Helper()
	l := &requestLog{n: map[string]int{}}
	err := chromedp.Listen(tb.ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			u := ev.Request.URL
			if i := strings.IndexByte(u, '?'); i >= 0 {
				u = u[:i]
			}
			if i := strings.Index(u, "/api/"); i >= 0 {
				u = u[i:]
			}
			l.mu.Lock()
			l.n[ev.Request.Method+" "+u]++
			l.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// reset forgets what was counted.
func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.n)
}

// count returns how many requests were sent whose method and path end with suffix.
func (l *requestLog) count(suffix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, v := range l.n {
		if strings.HasSuffix(k, suffix) {
			n += v
		}
	}
	return n
}

// TestConsoleListsAndRelations uses the console on a collection with list,
// set and relation fields: lists show and are edited as JSON lists (a value
// with a comma stays one item), the derived inverse side of a relation, which
// holds no data, is neither a column nor an input, the filter offers only
// fields it can compare, and a link to a collection the node lacks says so.
func TestConsoleListsAndRelations(t *testing.T) {
	needBinary(t)
	browser := startBrowser(t)
	n := newNode(t, "node")
	n.start(t)
	const sdl = `type Author { name: String books: [Book] }
		type Book { title: String author: Author scores: [Int] tags: [String!] @crdt(type: set) }`
	if status, body := n.httpCall(t, "POST", "/api/v0/collections", jsonString(map[string]string{"sdl": sdl})); status != http.StatusOK {
		t.Fatalf("add collections: %d %s", status, body)
	}
	create := func(collection, doc string) string {
		t.Helper()
		status, body := n.httpCall(t, "POST", "/api/v0/collections/"+collection+"/documents", doc)
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
		var created struct {
			DocID string `json:"_docID"`
		}
		decodeJSON(t, body, &created)
		return created.DocID
	}
	author := create("Author", `{"name": "Ada"}`)
	book := create("Book", `{"title": "Notes", "author": "`+author+`", "scores": [1, 2], "tags": ["a,b", "c"]}`)

	tb := newTab(t, browser, "console")
	tb.do(t, "open the books",
		chromedp.Navigate("http://"+n.url()+"/#/documents/Book"),
		chromedp.WaitVisible(chromedp.CSS(`#docs tbody tr[data-id="`+book+`"]`)),
	)
	row := eval[[]string](t, tb, `[...document.querySelectorAll('#docs tbody tr[data-id="`+book+`"] td')].map((td) => td.textContent)`)
	head := eval[[]string](t, tb, `[...document.querySelectorAll('#docs thead th')].map((th) => th.textContent)`)
	cells := map[string]string{}
	for i, h := range head {
		if i < len(row) {
			cells[h] = row[i]
		}
	}
	if cells["scores"] != "[1,2]" || cells["tags"] != `["a,b","c"]` {
		t.Errorf("the book's row shows scores %q and tags %q, want [1,2] and [\"a,b\",\"c\"]", cells["scores"], cells["tags"])
	}
	if got := eval[[]string](t, tb, `[...document.querySelectorAll('#filter-field option')].map((o) => o.value)`); !reflect.DeepEqual(got, []string{"author", "title"}) {
		t.Errorf("the filter offers %q, want only the fields it compares, [author title]", got)
	}

	// Edit both lists, one of them a set, in the document's dialog.
	tb.do(t, "edit the lists",
		clickRow(book),
		chromedp.WaitVisible(chromedp.CSS(`#field-tags`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('field-tags').value === '["a,b","c"]'`, chromedp.WithPollingTimeout(stepTimeout)),
		chromedp.SetValue(chromedp.CSS(`#field-scores`), `1, 2, 3`),
		chromedp.Click(chromedp.CSS(`#doc-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#doc-error`)),
	)
	if got := eval[string](t, tb, `document.getElementById('doc-error').textContent`); !strings.Contains(got, "want a JSON list") {
		t.Errorf("a list entered without brackets: the dialog says %q, want it to ask for a JSON list", got)
	}
	tb.do(t, "save the lists",
		chromedp.SetValue(chromedp.CSS(`#field-scores`), `[1, 2, 3]`),
		chromedp.SetValue(chromedp.CSS(`#field-tags`), `["x", "y,z"]`),
		chromedp.Click(chromedp.CSS(`#doc-save`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#doc-dialog`)),
	)
	nodetest.Eventually(t, stepTimeout, func() error {
		status, doc := n.doc(t, "Book", book)
		if status != http.StatusOK {
			return fmt.Errorf("get the book: %d", status)
		}
		if got := fmt.Sprint(doc["scores"], doc["tags"]); got != "[1 2 3] [x y,z]" {
			return fmt.Errorf("the book holds scores and tags %s, want [1 2 3] [x y,z]", got)
		}
		return nil
	})

	// Author's books is derived: no column, no input.
	tb.do(t, "open the authors",
		chromedp.Navigate("http://"+n.url()+"/#/documents/Author"),
		chromedp.WaitVisible(chromedp.CSS(`#docs tbody tr[data-id="`+author+`"]`)),
	)
	if got := eval[[]string](t, tb, `[...document.querySelectorAll('#docs thead th')].map((th) => th.textContent)`); !reflect.DeepEqual(got, []string{"Document ID", "name"}) {
		t.Errorf("the authors' columns are %q, want [Document ID name]", got)
	}
	tb.do(t, "open a new author",
		chromedp.Click(chromedp.CSS(`#new-doc`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-name`)),
	)
	if eval[bool](t, tb, `document.getElementById('field-books') !== null`) {
		t.Error("the new author's dialog has an input for books, the derived side of Book.author")
	}
	tb.do(t, "create an author",
		chromedp.SetValue(chromedp.CSS(`#field-name`), "Grace"),
		chromedp.Click(chromedp.CSS(`#doc-save`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#doc-dialog`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#docs tbody tr').length === 2`, chromedp.WithPollingTimeout(stepTimeout)),
	)

	// A link to a collection the node lacks says so.
	tb.do(t, "open a collection the node lacks",
		chromedp.Navigate("http://"+n.url()+"/#/documents/Nope"),
		chromedp.WaitVisible(chromedp.CSS(`#docs-empty`)),
	)
	if got := eval[string](t, tb, `document.getElementById('docs-empty').textContent`); got != "This node has no collection Nope." {
		t.Errorf("the documents of a collection the node lacks: the console says %q", got)
	}
	tb.noErrors(t, "400 (Bad Request)")
}

// TestConsolePagingAndPolls pages through a collection in the console,
// clicking Next twice before a page has loaded, and checks that the
// documents view, which shows no catch-up state, does not ask the node for
// it on each poll, and that the overview asks for it in one request, not
// one per collection.
func TestConsolePagingAndPolls(t *testing.T) {
	needBinary(t)
	browser := startBrowser(t)
	n := newNode(t, "node")
	n.start(t)
	if status, body := n.httpCall(t, "POST", "/api/v0/collections", jsonString(map[string]string{"sdl": `type Item { n: Int } type Other { a: String }`})); status != http.StatusOK {
		t.Fatalf("add collections: %d %s", status, body)
	}
	var items []string
	for i := range 60 { // three pages of 25
		items = append(items, fmt.Sprintf(`{"n": %d}`, i))
	}
	if status, body := n.httpCall(t, "POST", "/api/v0/collections/Item/documents", "["+strings.Join(items, ",")+"]"); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}

	tb := newTab(t, browser, "console")
	reqs := logRequests(t, tb)
	tb.do(t, "open the items",
		chromedp.Navigate("http://"+n.url()+"/#/documents/Item"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#docs tbody tr').length === 25 && !document.getElementById('page-next').disabled`, chromedp.WithPollingTimeout(stepTimeout)),
	)
	rowIDs := `[...document.querySelectorAll('#docs tbody tr')].map((tr) => tr.dataset.id).join(',')`
	page1 := eval[string](t, tb, rowIDs)

	// A double click on Next: one page on.
	eval[chromedp.Void](t, tb, `document.getElementById('page-next').click(); document.getElementById('page-next').click()`)
	tb.do(t, "load page 2",
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#docs tbody tr').length === 25 && document.querySelector('#docs tbody tr').dataset.id !== '`+strings.SplitN(page1, ",", 2)[0]+`'`, chromedp.WithPollingTimeout(stepTimeout)),
	)
	page2 := eval[string](t, tb, rowIDs)
	if got := eval[string](t, tb, `document.getElementById('page-info').textContent`); got != "page 2" {
		t.Errorf("after a double click on Next from page 1, the console says %q, want page 2", got)
	}
	tb.do(t, "page 3",
		chromedp.Poll[chromedp.Void](`!document.getElementById('page-next').disabled`, chromedp.WithPollingTimeout(stepTimeout)),
		chromedp.Click(chromedp.CSS(`#page-next`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#docs tbody tr').length === 10`, chromedp.WithPollingTimeout(stepTimeout)),
		chromedp.Click(chromedp.CSS(`#page-prev`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#docs tbody tr').length === 25`, chromedp.WithPollingTimeout(stepTimeout)),
	)
	if got := eval[string](t, tb, rowIDs); got != page2 {
		t.Errorf("Previous from page 3 shows %s, want page 2, %s", got, page2)
	}

	// Two polls on the documents view: neither asks for catch-up state.
	reqs.reset()
	nodetest.Eventually(t, stepTimeout, func() error {
		if n := reqs.count("GET /api/v0/p2p/known-peers"); n < 2 {
			return fmt.Errorf("%d polls since the documents view opened, want 2", n)
		}
		return nil
	})
	if got := reqs.count("/sync"); got != 0 {
		t.Errorf("the documents view sent %d requests for catch-up state in two polls, want none", got)
	}
	// The overview shows it: it asks at once, in one request for every
	// collection.
	tb.do(t, "open the overview",
		chromedp.Click(chromedp.CSS(`#nav a[data-view="overview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#catchup`)),
	)
	nodetest.Eventually(t, stepTimeout, func() error {
		if got := reqs.count("GET /api/v0/sync"); got < 2 {
			return fmt.Errorf("the overview asked for catch-up state %d times, want at once and at the next poll", got)
		}
		return nil
	})
	if got := reqs.count("/Item/sync") + reqs.count("/Other/sync"); got != 0 {
		t.Errorf("the overview asked for the catch-up state of one collection %d times, want it for all in one request", got)
	}
	tb.noErrors(t)
}

// TestConsoleEventStreamsTaken opens the console of a node whose event
// streams are all taken: the console says that the node refused its live
// feed, and why, rather than that the node is offline, and follows the
// changes once a stream is free.
func TestConsoleEventStreamsTaken(t *testing.T) {
	needBinary(t)
	browser := startBrowser(t)
	n := newNode(t, "node")
	n.start(t)
	if status, body := n.httpCall(t, "POST", "/api/v0/collections", jsonString(map[string]string{"sdl": `type Item { n: Int }`})); status != http.StatusOK {
		t.Fatalf("add collection: %d %s", status, body)
	}
	ctx, closeStreams := context.WithCancel(context.Background())
	var streams sync.WaitGroup
	defer func() {
		closeStreams()
		streams.Wait()
	}()
	for range httpapi.MaxEventStreams {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+n.url()+"/api/v0/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("open an event stream: %s", res.Status)
		}
		streams.Go(func() { io.Copy(io.Discard, res.Body); res.Body.Close() })
	}

	tb := newTab(t, browser, "console")
	tb.do(t, "load",
		chromedp.Navigate("http://"+n.url()+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="refused"]`)),
	)
	for _, sel := range []string{`document.getElementById('live').title`, `document.getElementById('toast').textContent`} {
		if got := eval[string](t, tb, sel); !strings.Contains(got, "(503)") || !strings.Contains(got, "too many event streams") {
			t.Errorf("%s is %q, want it to say the node refused the stream, and why", sel, got)
		}
	}
	closeStreams()
	streams.Wait()
	tb.do(t, "follow the changes",
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
	)
	tb.noErrors(t, "503 (Service Unavailable)")
}

// TestConsolePeerThatLeft: a peer that stops shows in the console's peers as
// disconnected, with when it was last seen, where it used to vanish from the
// list, so that it looked like a peer never known.
func TestConsolePeerThatLeft(t *testing.T) {
	needBinary(t)
	browser := startBrowser(t)
	n1, n2 := newNode(t, "node1"), newNode(t, "node2")
	n1.start(t)
	id1 := n1.peerID(t)
	n2.start(t, "--peers", n1.p2pAddr()+"/p2p/"+id1)
	id2 := n2.peerID(t)
	// Node 1 remembers a peer that left only once libp2p's identify told it
	// that the peer runs gossipdb: a sync with node 2 says it has.
	ok(t, "client", "collection", "add", userSDL, "--url", n1.url())
	ok(t, "client", "collection", "add", userSDL, "--url", n2.url())
	ok(t, "client", "p2p", "collection", "add", "User", "--url", n1.url())
	poll(t, "node 1 syncs with node 2", func(r result) bool {
		return r.code == 0 && strings.Contains(r.stdout, id2)
	}, "client", "p2p", "sync", "User", "--wait", "--timeout", "30s", "--url", n1.url())

	tb := newTab(t, browser, "node1's console")
	row := `#peers li[data-peer="` + id2 + `"]`
	tb.do(t, "show the peer",
		chromedp.Navigate("http://"+n1.url()+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-state="connected"]`)),
	)
	n2.stop(t)
	tb.do(t, "show the peer that left",
		chromedp.WaitVisible(chromedp.CSS(row+`[data-state="disconnected"]`)),
	)
	text := eval[string](t, tb, `document.querySelector('`+row+`').textContent`)
	if !strings.Contains(text, "disconnected") || !strings.Contains(text, "last seen") || !strings.Contains(text, n2.p2pAddr()) {
		t.Errorf("the peer that left shows as %q, want disconnected, its address %s and when it was last seen", text, n2.p2pAddr())
	}
	if got := eval[string](t, tb, `document.getElementById('peers-count').textContent`); got != "· 0 connected · 1 left" {
		t.Errorf("the peers' count says %q, want · 0 connected · 1 left", got)
	}
	tb.noErrors(t)
}
