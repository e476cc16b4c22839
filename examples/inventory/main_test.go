package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// asMain, set in a process's environment, makes the test binary run the
// program itself: the tests start real processes, which they can kill -9,
// without building another binary.
const asMain = "INVENTORY_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

const (
	waitTimeout  = 20 * time.Second // for a process to start, or nodes to converge
	pollInterval = 20 * time.Millisecond
)

// httpClient keeps no idle connections, which would outlive the test.
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

// node is one inventory process.
type node struct {
	name    string
	rootdir string
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
	p2p     string // its p2p address, once started
	url     string // its HTTP API, once started
}

// start runs an inventory process on n.rootdir joined to peers, and waits until
// it prints its addresses. The process is killed at the end of the test.
func (n *node) start(t *testing.T, peers ...string) {
	t.Helper()
	args := []string{"--rootdir", n.rootdir, "--http", "127.0.0.1:0"}
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	n.out = &syncBuffer{}
	n.cmd = exec.Command(os.Args[0], args...)
	n.cmd.Env = append(os.Environ(), asMain+"=1")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	n.exited = exited
	go func(cmd *exec.Cmd) { cmd.Wait(); close(exited) }(n.cmd)
	t.Cleanup(func() { n.kill(t) })

	rx := regexp.MustCompile(`(?m)^p2p: (\S+)\nhttp: (\S+)$`)
	poll(t, n.name+" prints its addresses", func() error {
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", n.name, n.out)
		default:
		}
		m := rx.FindStringSubmatch(n.out.String())
		if m == nil {
			return fmt.Errorf("output so far:\n%s", n.out)
		}
		n.p2p, n.url = m[1], m[2]
		return nil
	})
}

// kill ends the process with SIGKILL, as a crash or a power cut would.
func (n *node) kill(t *testing.T) {
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Kill()
	<-n.exited
	t.Logf("%s printed:\n%s", n.name, n.out)
}

// add takes delta units of sku into (or, negative, out of) the node's stock.
func (n *node) add(t *testing.T, sku string, delta int) {
	t.Helper()
	resp, err := httpClient.Post(fmt.Sprintf("%s/stock/%s/add?n=%d", n.url, sku, delta), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: add %d %s: %s", n.name, delta, sku, resp.Status)
	}
}

// stock returns what GET /stock answers.
func (n *node) stock() (map[string]int64, error) {
	resp, err := httpClient.Get(n.url + "/stock")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var counts map[string]int64
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		return nil, fmt.Errorf("GET /stock: %s: %w", resp.Status, err)
	}
	return counts, nil
}

// converge polls until every node's stock is want.
func converge(t *testing.T, want map[string]int64, nodes ...*node) {
	t.Helper()
	poll(t, fmt.Sprintf("stock %v on every node", want), func() error {
		for _, n := range nodes {
			got, err := n.stock()
			if err != nil {
				return err
			}
			if !maps.Equal(got, want) {
				return fmt.Errorf("%s has %v", n.name, got)
			}
		}
		return nil
	})
}

// TestKilledNodeCatchesUp runs three inventory nodes as processes, takes stock
// in and out on each, kills one with SIGKILL, goes on writing on the other two,
// restarts it and checks that all three agree on every count.
func TestKilledNodeCatchesUp(t *testing.T) {
	a := &node{name: "A", rootdir: t.TempDir()}
	b := &node{name: "B", rootdir: t.TempDir()}
	c := &node{name: "C", rootdir: t.TempDir()}
	a.start(t)
	b.start(t, a.p2p)
	c.start(t, a.p2p)

	// Concurrent changes to the same counter on different nodes all count.
	a.add(t, "apple", 10)
	b.add(t, "apple", 5)
	c.add(t, "apple", -2)
	c.add(t, "pear", 3)
	converge(t, map[string]int64{"apple": 13, "pear": 3}, a, b, c)
	t.Log("three nodes agree: apple 13, pear 3")

	c.kill(t)
	a.add(t, "apple", -4)
	b.add(t, "pear", 2)
	b.add(t, "plum", 7)
	converge(t, map[string]int64{"apple": 9, "pear": 5, "plum": 7}, a, b)
	t.Log("C killed; A and B went on: apple 9, pear 5, plum 7")

	// C keeps its data and subscription on disk; peers are not kept, so it is
	// given one again, and catch-up brings what it missed.
	c.start(t, a.p2p)
	converge(t, map[string]int64{"apple": 9, "pear": 5, "plum": 7}, a, b, c)
	c.add(t, "plum", -1)
	converge(t, map[string]int64{"apple": 9, "pear": 5, "plum": 6}, a, b, c)
	t.Log("C restarted, caught up, and its new change reached A and B: plum 6")
}

// TestWebPagesRefused sends a node what a web page the user visits can make
// the browser send to 127.0.0.1: requests for another Host (DNS rebinding),
// with another site's Origin, as a form, or as an image. Each is refused and
// changes nothing; requests of programs on this machine (no Origin) and of a
// page the API served itself (its own origin) are served.
func TestWebPagesRefused(t *testing.T) {
	a := &node{name: "A", rootdir: t.TempDir()}
	a.start(t)
	a.add(t, "apple", 10) // as curl sends it: no Origin
	host := strings.TrimPrefix(a.url, "http://")
	rebound := "evil.example" + host[strings.LastIndex(host, ":"):]
	const take = "/stock/apple/add?n=-10"

	for _, r := range []struct {
		name, method, path, body string
		headers                  map[string]string // a "Host" entry replaces the Host header
		status                   int
	}{
		{"DNS rebinding, read", "GET", "/stock", "", map[string]string{"Host": rebound}, http.StatusMisdirectedRequest},
		{"DNS rebinding, write", "POST", take, "", map[string]string{"Host": rebound}, http.StatusMisdirectedRequest},
		{"cross-site write", "POST", take, "", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"cross-site read", "GET", "/stock", "", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"form without Origin", "POST", take, "n=-10", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			http.StatusUnsupportedMediaType},
		{"image of another site", "GET", "/stock", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"page of this API", "POST", "/stock/apple/add?n=1", "", map[string]string{"Origin": "http://" + host}, http.StatusOK},
	} {
		resp, answer := nodetest.Do(t, httpClient, r.method, a.url+r.path, r.body, r.headers)
		if resp.StatusCode != r.status {
			t.Errorf("%s: %s, want %d; answer %s", r.name, resp.Status, r.status, answer)
		}
	}
	// Only the two served writes counted: 10, then 1 from the API's own page.
	got, err := a.stock()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"apple": 11}; !maps.Equal(got, want) {
		t.Errorf("stock %v, want %v", got, want)
	}
}

// TestNonLoopbackHTTPRefused checks that the API, which has no
// authentication, refuses to serve other machines: an --http address that is
// not a loopback one stops the program with an error saying so.
func TestNonLoopbackHTTPRefused(t *testing.T) {
	out := &syncBuffer{}
	cmd := exec.Command(os.Args[0], "--http", "0.0.0.0:0")
	cmd.Env = append(os.Environ(), asMain+"=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var err error
	exited := make(chan struct{})
	go func() { err = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	poll(t, "the program to exit", func() error {
		select {
		case <-exited:
			return nil
		default:
			return fmt.Errorf("still running; output so far:\n%s", out)
		}
	})
	if err == nil || !strings.Contains(out.String(), "not a loopback address") {
		t.Fatalf("exit %v, output:\n%s\nwant a failure saying the address is not a loopback one", err, out)
	}
}

// poll calls check until it returns nil, and fails the test if it still fails
// after waitTimeout.
func poll(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(pollInterval)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
