package main_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleOtherNodeAtItsAddress: when another node takes the console's
// address (a node started again with another rootdir), the console shows that
// node's ID and addresses and drops the changes of the one before, once its
// stream reconnects; it used to show the first node's until reloaded.
func TestConsoleOtherNodeAtItsAddress(t *testing.T) {
	needBinary(t)
	browser := startBrowser(t)
	n1 := newNode(t, "node1")
	tb := newTab(t, browser, "console")
	n1.start(t)
	id1 := n1.peerID(t)
	if status, body := n1.httpCall(t, "POST", "/api/v0/collections", jsonString(map[string]string{"sdl": `type Item { n: Int }`})); status != 200 {
		t.Fatalf("add collection: %d %s", status, body)
	}
	tb.do(t, "load",
		chromedp.Navigate("http://"+n1.url()+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
	)
	if status, body := n1.httpCall(t, "POST", "/api/v0/collections/Item/documents", `{"n": 1}`); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	tb.do(t, "see the change",
		chromedp.WaitVisible(chromedp.CSS(`#recent li[data-type="created"]`)),
	)
	if got := eval[string](t, tb, `document.getElementById('node-id').textContent`); got != id1 {
		t.Fatalf("the console shows %q, want node 1, %s", got, id1)
	}
	n1.stop(t)
	tb.do(t, "see the node gone",
		chromedp.WaitVisible(chromedp.CSS(`#live:not([data-state="live"])`)),
	)
	n2 := newNode(t, "node2")
	n2.apiPort = n1.apiPort
	n2.start(t)
	id2 := n2.peerID(t)
	tb.do(t, "show the node now at the address",
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById('node-id').textContent === '`+id2+`' && [...document.querySelectorAll('#node-addrs code')].some((c) => c.textContent.includes('/tcp/`+strconv.Itoa(n2.p2pPort)+`/'))`,
			chromedp.WithPollingTimeout(stepTimeout)),
	)
	if got := eval[string](t, tb, `document.getElementById('me').textContent`); got != id2 {
		t.Errorf("the header shows %q, want node 2, %s", got, id2)
	}
	if n := eval[int](t, tb, `document.querySelectorAll('#recent li[data-type], #feed li').length`); n != 0 {
		t.Errorf("the console shows %d changes of the node before, want none", n)
	}
	tb.noErrors(t, "ERR_CONNECTION_REFUSED", "Failed to fetch")
}
