package main_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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

// TestConsoleListsAndRelations uses the console on a collection with list,
// set and relation fields: lists show and are edited as JSON lists (a value
// with a comma stays one item), the derived inverse side of a relation, which
// holds no data, is neither a column nor an input, and the filter offers only
// fields it can compare.
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
	tb.noErrors(t, "400 (Bad Request)")
}
