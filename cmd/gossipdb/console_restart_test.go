package main_test

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestConsoleFrozenNode: a node that stops answering, without closing its
// connections (stopped, or cut off by the network), shows as offline once
// its stream has been silent for three keep-alive intervals, and live again
// when it answers; the stream used to show live for as long as the
// connection stayed open.
func TestConsoleFrozenNode(t *testing.T) {
	needBinary(t)
	browser := startBrowser(t)
	n := newNode(t, "node")
	n.start(t)
	tb := newTab(t, browser, "console")
	tb.do(t, "load",
		chromedp.Navigate("http://"+n.url()+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
	)
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			n.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	start := time.Now()
	ctx, cancel := context.WithTimeout(tb.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#live[data-state="offline"]`))); err != nil {
		t.Fatalf("the console of a stopped node still shows %q after %v: %v",
			eval[string](t, tb, `document.getElementById('live').dataset.state`), time.Since(start), err)
	}
	t.Logf("offline %v after the node stopped", time.Since(start).Round(time.Second))
	if title := eval[string](t, tb, `document.getElementById('live').title`); !strings.Contains(title, "stopped answering") {
		t.Errorf("the live indicator says %q, want that the node stopped answering", title)
	}
	resume()
	tb.do(t, "live again",
		chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`)),
	)
	tb.noErrors(t)
}
