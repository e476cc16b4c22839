package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// The end-to-end tests build the command once and run it as real processes: two
// nodes started with `gossipdb start` and every step of the seed walkthrough
// through `gossipdb client`.

// bin is the path of the command built by TestMain.
var bin string

// openGateEnv is the environment variable that names the file the tests'
// build of the command reads before it opens the node (see openGate).
const openGateEnv = "GOSSIPDB_TEST_OPEN_GATE"

// buildFlags are the flags of the go build that makes bin.
var buildFlags = []string{"-ldflags=-X main.openGate=" + openGateEnv}

// Deadlines of the end-to-end tests. They are far above what a step needs; a
// step that takes that long is broken.
const (
	startTimeout   = 20 * time.Second // until a started node answers /api/v0/health
	stopTimeout    = 15 * time.Second // until a node exits after SIGTERM
	commandTimeout = 30 * time.Second // for one client command
	syncTimeout    = 20 * time.Second // until a change made on one node shows on the other
	pollInterval   = 20 * time.Millisecond
)

const userSDL = `
type User {
  name: String
  age: Int
  verified: Boolean
  points: Float
}
`

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipping the end-to-end tests of cmd/gossipdb in short mode")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "gossipdb-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "gossipdb")
	build := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", bin, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needBinary(t *testing.T) {
	t.Helper()
	if bin == "" {
		t.Skip("end-to-end test: not run in short mode")
	}
}

// givenPorts are the ports freePort has returned: the kernel may offer a
// port again once its listener closed, before the node it went to binds it.
var givenPorts struct {
	sync.Mutex
	m map[int]bool
}

// freePort returns a loopback TCP port that was free a moment ago and that it
// has not returned before.
func freePort(t testing.TB) int {
	t.Helper()
	givenPorts.Lock()
	defer givenPorts.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !givenPorts.m[port] {
			if givenPorts.m == nil {
				givenPorts.m = map[int]bool{}
			}
			givenPorts.m[port] = true
			return port
		}
	}
}

// node is one `gossipdb start` process and the settings it runs with.
type node struct {
	name    string
	rootdir string
	p2pPort int
	apiPort int

	// wrap, when set, runs the command through it: wrap[0] with the rest of
	// wrap, then the command's path and arguments.
	wrap []string

	cmd    *exec.Cmd
	stderr *nodetest.LogBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // the process's exit error, once exited
}

func newNode(t *testing.T, name string) *node {
	return &node{name: name, rootdir: t.TempDir(), p2pPort: freePort(t), apiPort: freePort(t)}
}

// url is the node's --url.
func (n *node) url() string { return "127.0.0.1:" + strconv.Itoa(n.apiPort) }

// p2pAddr is the node's --p2paddr.
func (n *node) p2pAddr() string { return "/ip4/127.0.0.1/tcp/" + strconv.Itoa(n.p2pPort) }

// start runs `gossipdb start` for the node with extra flags and waits until its
// API answers. The process is killed at the end of the test if still running.
func (n *node) start(t *testing.T, extra ...string) {
	t.Helper()
	n.run(t, append([]string{"start", "--rootdir", n.rootdir, "--p2paddr", n.p2pAddr(), "--url", n.url()}, extra...)...)
}

// run runs the command with args, which must start the node, and waits until
// its API answers.
func (n *node) run(t *testing.T, args ...string) {
	t.Helper()
	if n.wrap != nil {
		n.cmd = exec.Command(n.wrap[0], append(append(slices.Clone(n.wrap[1:]), bin), args...)...)
	} else {
		n.cmd = exec.Command(bin, args...)
	}
	n.cmd.Env = cleanEnv()
	n.stderr = &nodetest.LogBuffer{}
	n.cmd.Stderr = n.stderr
	n.cmd.Stdout = n.stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.exited = make(chan struct{})
	cmd, exited := n.cmd, n.exited
	go func() {
		n.err = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("log of %s (%s):\n%s", n.name, strings.Join(args, " "), n.stderr)
		}
	})

	deadline := time.Now().Add(startTimeout)
	for {
		if _, err := n.health(); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before answering (%v):\n%s", n.name, n.err, n.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer /api/v0/health after %v:\n%s", n.name, startTimeout, n.stderr)
		}
		time.Sleep(pollInterval)
	}
}

// health asks the node's API for its peer ID, with the token of its rootdir if
// it has one.
func (n *node) health() (string, error) {
	c := http.Client{Timeout: time.Second}
	req, err := http.NewRequest("GET", "http://"+n.url()+"/api/v0/health", nil)
	if err != nil {
		return "", err
	}
	if token, err := os.ReadFile(filepath.Join(n.rootdir, "api-token")); err == nil {
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var h struct {
		Status string `json:"status"`
		PeerID string `json:"peerID"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Status != "ok" {
		return "", fmt.Errorf("health: %v %+v", err, h)
	}
	return h.PeerID, nil
}

// peerID returns the node's peer ID as its API reports it.
func (n *node) peerID(t *testing.T) string {
	t.Helper()
	id, err := n.health()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// stop sends SIGTERM and checks that the node shuts down cleanly with status 0.
func (n *node) stop(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("%s still running %v after SIGTERM:\n%s", n.name, stopTimeout, n.stderr)
	}
	if n.err != nil {
		t.Fatalf("%s exited with %v after SIGTERM, want status 0:\n%s", n.name, n.err, n.stderr)
	}
	if log := n.stderr.String(); !strings.Contains(log, "Stopped") {
		t.Fatalf("%s did not log a clean stop:\n%s", n.name, log)
	}
}

// waitLog waits until one line of the node's log contains every one of parts,
// and returns that line.
func (n *node) waitLog(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for {
		for _, line := range strings.Split(n.stderr.String(), "\n") {
			if containsAll(line, parts...) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line of %s's log contains all of %q:\n%s", n.name, parts, n.stderr)
		}
		time.Sleep(pollInterval)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// cleanEnv is the test's environment without GOSSIPDB_URL and GOSSIPDB_TOKEN,
// plus extra. A binary
// built with -race exits with status 66 if it found a race, failing the test;
// GORACE drops the race runtime's default one-second sleep at exit.
func cleanEnv(extra ...string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOSSIPDB_URL=") || strings.HasPrefix(kv, "GOSSIPDB_TOKEN=") ||
			strings.HasPrefix(kv, "GORACE=")
	})
	return append(append(env, "GORACE=atexit_sleep_ms=0"), extra...)
}

// result is what one run of the command did.
type result struct {
	stdout, stderr string
	code           int
}

// gossipdb runs the command with args in environment env (nil: cleanEnv()).
func gossipdbEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if env == nil {
		env = cleanEnv()
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		r.code = exit.ExitCode()
	default:
		t.Fatalf("gossipdb %s: %v\nstderr: %s", strings.Join(args, " "), err, r.stderr)
	}
	return r
}

func gossipdb(t *testing.T, args ...string) result {
	t.Helper()
	return gossipdbEnv(t, nil, args...)
}

// ok runs the command and fails the test unless it succeeds; it returns stdout.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := gossipdb(t, args...)
	if r.code != 0 {
		t.Fatalf("gossipdb %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs the command and checks that it fails with status 1 and one line
// "Error: ..." on stderr that contains every one of parts.
func fails(t *testing.T, args []string, parts ...string) {
	t.Helper()
	failsEnv(t, nil, args, parts...)
}

func failsEnv(t *testing.T, env []string, args []string, parts ...string) {
	t.Helper()
	r := gossipdbEnv(t, env, args...)
	if r.code != 1 {
		t.Fatalf("gossipdb %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "Error: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Fatalf("gossipdb %s: stderr %q, want one line \"Error: ...\"", strings.Join(args, " "), r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("gossipdb %s: stderr %q does not contain %q", strings.Join(args, " "), r.stderr, p)
		}
	}
	if r.stdout != "" {
		t.Errorf("gossipdb %s: failed but printed %q", strings.Join(args, " "), r.stdout)
	}
}

// jsonArray renders strings the way the client prints a JSON array.
func jsonArray(items ...string) string {
	if len(items) == 0 {
		return "[]\n"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for i, s := range items {
		q, _ := json.Marshal(s)
		b.WriteString("  ")
		b.Write(q)
		if i < len(items)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.String()
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output %q is not the JSON expected: %v", s, err)
	}
}

type collectionInfo struct {
	Name     string `json:"name"`
	SchemaID string `json:"schemaID"`
	Fields   []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"fields"`
}

// poll runs the command until check accepts its result or syncTimeout passes.
func poll(t *testing.T, what string, check func(result) bool, args ...string) result {
	t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for {
		r := gossipdb(t, args...)
		if check(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gossipdb %s still gives exit %d, stdout %q, stderr %q after %v",
				what, strings.Join(args, " "), r.code, r.stdout, r.stderr, syncTimeout)
		}
		time.Sleep(pollInterval)
	}
}

// TestWalkthrough runs the seed's publisher-subscriber walkthrough with two real
// nodes, then restarts node 2 to check what survives a restart.
func TestWalkthrough(t *testing.T) {
	needBinary(t)
	n1, n2 := newNode(t, "node 1"), newNode(t, "node 2")
	n1.start(t)
	n2.start(t)
	id1, id2 := n1.peerID(t), n2.peerID(t)
	addr1 := n1.p2pAddr() + "/p2p/" + id1

	// Create a common collection.
	var cols1, cols2 []collectionInfo
	decodeJSON(t, ok(t, "client", "collection", "add", userSDL, "--url", n1.url()), &cols1)
	decodeJSON(t, ok(t, "client", "collection", "add", userSDL, "--url", n2.url()), &cols2)
	if got := ok(t, "client", "collection", "docIDs", "--name", "User", "--url", n2.url()); got != jsonArray() {
		t.Fatalf("docIDs of an empty collection printed %q", got)
	}
	if len(cols1) != 1 || cols1[0].Name != "User" || len(cols1[0].Fields) != 4 || !strings.HasPrefix(cols1[0].SchemaID, "bafyrei") {
		t.Fatalf("collection add printed %+v", cols1)
	}
	topic := cols1[0].SchemaID
	if len(cols2) != 1 || cols2[0].SchemaID != topic {
		t.Fatalf("node 2's User has schema ID %+v, node 1's %s", cols2, topic)
	}

	// Connect peers.
	if got := ok(t, "client", "p2p", "info", "--url", n1.url()); got != jsonArray(addr1) {
		t.Fatalf("p2p info printed\n%s\nwant\n%s", got, jsonArray(addr1))
	}
	if got := ok(t, "client", "p2p", "connect", addr1, "--url", n2.url()); got != "" {
		t.Fatalf("p2p connect printed %q", got)
	}
	if got := ok(t, "client", "p2p", "active-peers", "--url", n2.url()); got != jsonArray(addr1) {
		t.Fatalf("node 2's active peers\n%s\nwant\n%s", got, jsonArray(addr1))
	}
	poll(t, "node 1 lists node 2 as a peer", func(r result) bool {
		var peers []string
		return r.code == 0 && json.Unmarshal([]byte(r.stdout), &peers) == nil &&
			len(peers) == 1 && strings.HasSuffix(peers[0], "/p2p/"+id2)
	}, "client", "p2p", "active-peers", "--url", n1.url())

	// Subscribe to updates on a collection.
	if got := ok(t, "client", "p2p", "collection", "add", "User", "--url", n2.url()); got != "" {
		t.Fatalf("p2p collection add printed %q", got)
	}
	n2.waitLog(t, "INF", "Adding pubsub topic", "PeerID="+id2, "Topic="+topic)

	// A document created on node 1 reaches node 2.
	var created struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User",
		`{"name": "Ada", "age": 36, "verified": true, "points": 1.5}`, "--url", n1.url()), &created)
	docID := created.DocID
	if !strings.HasPrefix(docID, "bafyrei") {
		t.Fatalf("create printed the ID %q", docID)
	}
	wantDoc := fmt.Sprintf(`{
  "_docID": %q,
  "age": 36,
  "name": "Ada",
  "points": 1.5,
  "verified": true
}
`, docID)
	if got := ok(t, "client", "collection", "get", "--name", "User", docID, "--url", n1.url()); got != wantDoc {
		t.Fatalf("get on node 1 printed\n%s\nwant\n%s", got, wantDoc)
	}
	r := poll(t, "the document reaches node 2", func(r result) bool { return r.code == 0 },
		"client", "collection", "get", "--name", "User", docID, "--url", n2.url())
	if r.stdout != wantDoc {
		t.Fatalf("get on node 2 printed\n%s\nwant\n%s", r.stdout, wantDoc)
	}
	n2.waitLog(t, "INF", "Received new pubsub message", "PeerID="+id2, "SenderId="+id1, "Topic="+topic)

	if got := ok(t, "client", "p2p", "collection", "getall", "--url", n2.url()); got != jsonArray("User") {
		t.Fatalf("p2p collection getall printed %q", got)
	}
	if got := ok(t, "client", "collection", "docIDs", "--name", "User", "--url", n2.url()); got != jsonArray(docID) {
		t.Fatalf("docIDs on node 2 printed %q", got)
	}

	// Updates and deletes travel too.
	if got := ok(t, "client", "collection", "update", "--name", "User", "--docID", docID, `{"age": 37}`, "--url", n1.url()); got != "" {
		t.Fatalf("update printed %q", got)
	}
	poll(t, "the update reaches node 2", func(r result) bool {
		return r.code == 0 && strings.Contains(r.stdout, `"age": 37,`)
	}, "client", "collection", "get", "--name", "User", docID, "--url", n2.url())
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", `{"name": "Temp"}`, "--url", n1.url()), &created)
	tempID := created.DocID
	both := []string{docID, tempID}
	slices.Sort(both)
	if got := ok(t, "client", "collection", "docIDs", "--name", "User", "--url", n1.url()); got != jsonArray(both...) {
		t.Fatalf("docIDs on node 1 printed %q, want %q", got, jsonArray(both...))
	}
	poll(t, "the second document reaches node 2", func(r result) bool { return r.code == 0 },
		"client", "collection", "get", "--name", "User", tempID, "--url", n2.url())
	if got := ok(t, "client", "collection", "delete", "--name", "User", "--docID", tempID, "--url", n1.url()); got != "" {
		t.Fatalf("delete printed %q", got)
	}
	poll(t, "the delete reaches node 2", func(r result) bool {
		return r.code == 1 && strings.Contains(r.stderr, "deleted")
	}, "client", "collection", "get", "--name", "User", tempID, "--url", n2.url())

	// Both stores pass the integrity check.
	for _, n := range []*node{n1, n2} {
		var res client.CheckResult
		if decodeJSON(t, ok(t, "client", "check", "--url", n.url()), &res); !res.OK {
			t.Fatalf("client check of %s printed %+v", n.url(), res)
		}
	}

	// Restart node 2: same peer ID, still subscribed, no peers.
	n2.stop(t)
	n2.start(t)
	if id := n2.peerID(t); id != id2 {
		t.Fatalf("node 2's peer ID changed across a restart: %s, then %s", id2, id)
	}
	if got := ok(t, "client", "p2p", "info", "--url", n2.url()); got != jsonArray(n2.p2pAddr()+"/p2p/"+id2) {
		t.Fatalf("p2p info after restart printed %q", got)
	}
	n2.waitLog(t, "Adding pubsub topic", "PeerID="+id2, "Topic="+topic)
	if got := ok(t, "client", "p2p", "collection", "getall", "--url", n2.url()); got != jsonArray("User") {
		t.Fatalf("p2p collection getall after restart printed %q", got)
	}
	if got := ok(t, "client", "p2p", "active-peers", "--url", n2.url()); got != "[]\n" {
		t.Fatalf("active-peers after restart printed %q, want []", got)
	}
	if got := ok(t, "client", "collection", "get", "--name", "User", docID, "--url", n2.url()); !strings.Contains(got, `"age": 37,`) {
		t.Fatalf("node 2 lost the document across a restart: %q", got)
	}

	// Start node 2 with --peers: it connects to node 1.
	n2.stop(t)
	n2.start(t, "--peers", addr1)
	poll(t, "node 2 started with --peers lists node 1", func(r result) bool {
		return r.code == 0 && r.stdout == jsonArray(addr1)
	}, "client", "p2p", "active-peers", "--url", n2.url())
	poll(t, "node 1 lists node 2 again", func(r result) bool {
		return r.code == 0 && strings.Contains(r.stdout, "/p2p/"+id2)
	}, "client", "p2p", "active-peers", "--url", n1.url())

	// Unsubscribe.
	ok(t, "client", "p2p", "collection", "remove", "User", "--url", n2.url())
	if got := ok(t, "client", "p2p", "collection", "getall", "--url", n2.url()); got != "[]\n" {
		t.Fatalf("p2p collection getall after remove printed %q", got)
	}
	n2.stop(t)
	n1.stop(t)
}

// TestErrors checks the errors people hit: each is one line and exit status 1.
func TestErrors(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)

	t.Run("node not running", func(t *testing.T) {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		want := "Error: cannot reach gossipdb at http://" + addr + ": is `gossipdb start` running?\n"
		for _, env := range [][]string{nil, cleanEnv("GOSSIPDB_URL=" + addr)} {
			args := []string{"client", "p2p", "info"}
			if env == nil {
				args = append(args, "--url", addr)
			}
			r := gossipdbEnv(t, env, args...)
			if r.code != 1 || r.stderr != want || r.stdout != "" {
				t.Fatalf("gossipdb %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(args, " "), r.code, r.stderr, want)
			}
		}
		// The environment variable is used when there is no --url, and --url wins over it.
		if r := gossipdbEnv(t, cleanEnv("GOSSIPDB_URL="+url), "client", "p2p", "info"); r.code != 0 {
			t.Fatalf("GOSSIPDB_URL=%s is not used: %q", url, r.stderr)
		}
		failsEnv(t, cleanEnv("GOSSIPDB_URL="+url), []string{"client", "p2p", "info", "--url", addr}, "cannot reach gossipdb")
		fails(t, []string{"client", "p2p", "info", "--url", "ftp://x"}, "--url", "scheme")
	})
	t.Run("malformed multiaddr", func(t *testing.T) {
		fails(t, []string{"client", "p2p", "connect", "/ip4/127.0.0.1/tcp/notaport", "--url", url},
			"invalid input", "multiaddr", "/ip4/127.0.0.1/tcp/notaport")
		fails(t, []string{"client", "p2p", "connect", "/ip4/127.0.0.1/tcp/9171", "--url", url}, "/p2p/")
		fails(t, []string{"start", "--rootdir", t.TempDir(), "--url", "127.0.0.1:" + strconv.Itoa(freePort(t)), "--peers", "/ip4/1.2.3.4"},
			"--peers", "/p2p/")
	})
	t.Run("unknown collection", func(t *testing.T) {
		fails(t, []string{"client", "collection", "create", "--name", "Nope", `{"name": "x"}`, "--url", url}, "not found", `collection "Nope"`)
		fails(t, []string{"client", "collection", "docIDs", "--name", "Nope", "--url", url}, "not found", `collection "Nope"`)
		fails(t, []string{"client", "p2p", "collection", "add", "User,Nope", "--url", url}, "not found", `collection "Nope"`)
	})
	t.Run("invalid JSON", func(t *testing.T) {
		fails(t, []string{"client", "collection", "create", "--name", "User", `{"name": `, "--url", url}, "invalid JSON document")
		fails(t, []string{"client", "collection", "create", "--name", "User", `{name: "x"}`, "--url", url}, "invalid JSON document", "byte")
		fails(t, []string{"client", "collection", "create", "--name", "User", `"x"`, "--url", url}, "JSON object")
		fails(t, []string{"client", "collection", "update", "--name", "User", "--docID", "bafyreix", `{"age": 1`, "--url", url}, "invalid JSON document")
	})
	t.Run("wrong field type", func(t *testing.T) {
		fails(t, []string{"client", "collection", "create", "--name", "User", `{"age": "abc"}`, "--url", url}, `field "age": want Int, got "abc"`)
		fails(t, []string{"client", "collection", "create", "--name", "User", `{"nick": "x"}`, "--url", url}, `field "nick": unknown field`)
	})
	t.Run("schema mismatch", func(t *testing.T) {
		fails(t, []string{"client", "collection", "add", "type User { name: Int }", "--url", url},
			"collection exists with different fields", "User")
		fails(t, []string{"client", "collection", "add", "type User {", "--url", url}, "invalid input")
	})
	t.Run("document errors", func(t *testing.T) {
		fails(t, []string{"client", "collection", "get", "--name", "User", "nonsense", "--url", url}, "not a gossipdb document ID")
	})
	t.Run("port in use", func(t *testing.T) {
		// The API port of the running node.
		fails(t, []string{"start", "--rootdir", t.TempDir(), "--p2paddr", "/ip4/127.0.0.1/tcp/" + strconv.Itoa(freePort(t)), "--url", url},
			"cannot serve the API on "+url, "address already in use")
		// The same rootdir as the running node.
		fails(t, []string{"start", "--rootdir", n.rootdir, "--url", "127.0.0.1:" + strconv.Itoa(freePort(t))},
			"cannot start the node")
	})
	t.Run("p2p port in use", func(t *testing.T) {
		fails(t, []string{"start", "--rootdir", t.TempDir(), "--p2paddr", n.p2pAddr(), "--url", "127.0.0.1:" + strconv.Itoa(freePort(t))},
			"cannot start the node", "address already in use")
	})
	t.Run("p2p address of another machine", func(t *testing.T) {
		// libp2p logs the failure to listen to stderr by itself, in its own
		// format; the command reports it once, as its own error (fails wants
		// one line).
		fails(t, []string{"start", "--rootdir", t.TempDir(), "--p2paddr", "/ip4/192.0.2.1/tcp/0", "--url", "127.0.0.1:" + strconv.Itoa(freePort(t))},
			"cannot start the node", "failed to listen", "192.0.2.1")
	})
	t.Run("remote API refused", func(t *testing.T) {
		fails(t, []string{"start", "--rootdir", t.TempDir(), "--url", "0.0.0.0:" + strconv.Itoa(freePort(t))},
			"not a loopback address", "--allow-remote-api")
	})
	t.Run("bad flags and commands", func(t *testing.T) {
		fails(t, []string{"strat"}, `unknown command "strat" for "gossipdb"`, `did you mean "start"`)
		fails(t, []string{"client", "frob"}, `unknown command "frob" for "gossipdb client"`)
		fails(t, []string{"client", "p2p", "collection", "list"}, `unknown command "list"`)
		fails(t, []string{"start", "--bogus"}, "unknown flag: --bogus")
		fails(t, []string{"client", "p2p", "info", "extra", "--url", url}, "want no arguments")
		fails(t, []string{"client", "p2p", "connect", "--url", url}, "want 1 argument(s) (MULTIADDR), got 0")
		fails(t, []string{"client", "collection", "create", `{}`, "--url", url}, `required flag(s) "name" not set`)
		fails(t, []string{"client", "p2p", "collection", "add", "--url", url}, "NAME")
		fails(t, []string{"client", "p2p", "collection", "add", ",", "--url", url}, "no collection name")
		fails(t, []string{"start", "--log-level", "loud", "--rootdir", t.TempDir()}, "--log-level")
		fails(t, []string{"start", "--log-format", "xml", "--rootdir", t.TempDir()}, "--log-format")
	})
	t.Run("help", func(t *testing.T) {
		for _, args := range [][]string{
			{"--help"}, {}, {"client"}, {"client", "p2p", "--help"}, {"start", "--help"},
			{"client", "collection", "create", "--help"},
		} {
			r := gossipdb(t, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || r.stderr != "" {
				t.Errorf("gossipdb %s: exit %d, stdout %q, stderr %q; want help with examples", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
		}
		if r := gossipdb(t, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "gossipdb ") {
			t.Errorf("version: exit %d, %q", r.code, r.stdout)
		}
	})
	n.stop(t)
}

// TestLogFormatJSON checks --log-format json and that config.json records the
// flags of the last start and supplies those not given.
func TestLogFormatJSON(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t, "--log-format", "json", "--log-level", "debug")
	id := n.peerID(t)
	ok(t, "client", "collection", "add", userSDL, "--url", n.url())
	ok(t, "client", "p2p", "collection", "add", "User", "--url", n.url())
	line := n.waitLog(t, `"msg":"Adding pubsub topic"`)
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("log line %q is not JSON: %v", line, err)
	}
	if rec["level"] != "INFO" || rec["PeerID"] != id || !strings.HasPrefix(fmt.Sprint(rec["Topic"]), "bafyrei") {
		t.Fatalf("log record %v", rec)
	}
	n.waitLog(t, `"msg":"HTTP request"`) // debug level
	n.stop(t)

	data, err := os.ReadFile(filepath.Join(n.rootdir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["url"] != n.url() || cfg["logFormat"] != "json" || fmt.Sprint(cfg["p2paddr"]) != "["+n.p2pAddr()+"]" {
		t.Fatalf("config.json: %s", data)
	}

	// Started with --rootdir alone, the node takes its settings from config.json.
	n.run(t, "start", "--rootdir", n.rootdir)
	if got := n.peerID(t); got != id {
		t.Fatalf("peer ID %s, want %s", got, id)
	}
	n.stop(t)
	if !strings.Contains(n.stderr.String(), `"msg":"Stopped"`) {
		t.Fatalf("log not JSON as config.json says:\n%s", n.stderr)
	}
}

// TestCatchUp: a node that was down while a peer wrote catches up when it comes
// back, although gossip carried the change while it was away (catch-up over
// /gossipdb/sync/1).
func TestCatchUp(t *testing.T) {
	needBinary(t)
	n1, n2 := newNode(t, "node 1"), newNode(t, "node 2")
	n1.start(t)
	n2.start(t)
	addr1 := n1.p2pAddr() + "/p2p/" + n1.peerID(t)
	ok(t, "client", "collection", "add", userSDL, "--url", n1.url())
	ok(t, "client", "collection", "add", userSDL, "--url", n2.url())
	ok(t, "client", "p2p", "collection", "add", "User", "--url", n2.url())
	n2.stop(t)

	var created struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", `{"name": "Missed"}`, "--url", n1.url()), &created)
	n2.start(t, "--peers", addr1)
	poll(t, "node 2 catches up with what it missed", func(r result) bool {
		return r.code == 0 && strings.Contains(r.stdout, `"name": "Missed"`)
	}, "client", "collection", "get", "--name", "User", created.DocID, "--url", n2.url())

	// p2p sync --wait returns once node 2 holds what node 1 holds.
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", `{"name": "Later"}`, "--url", n1.url()), &created)
	var res client.SyncResult
	decodeJSON(t, ok(t, "client", "p2p", "sync", "User", "--wait", "--timeout", "30s", "--url", n2.url()), &res)
	if !res.Synced || len(res.Peers) != 1 || res.Peers[0].Peer != n1.peerID(t) {
		t.Fatalf("p2p sync --wait: %+v", res)
	}
	if got := ok(t, "client", "collection", "get", "--name", "User", created.DocID, "--url", n2.url()); !strings.Contains(got, `"name": "Later"`) {
		t.Fatalf("right after p2p sync --wait, node 2 has %s", got)
	}
	ok(t, "client", "p2p", "sync", "User", "--url", n2.url())
	n2.stop(t)
	n1.stop(t)
}

// rawCall sends one HTTP request to addr with exactly the headers given (a
// "Host" entry replaces the Host header) and returns the answer's status and
// headers.
func rawCall(t *testing.T, method, addr, path, body string, headers map[string]string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
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
	c := http.Client{Timeout: commandTimeout}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// TestWebPagesRefused runs a node as the seed walkthrough does (--url
// localhost:PORT) and sends it what a web page could: cross-origin simple
// requests and, after DNS rebinding, requests under another Host. None changes
// anything; the CLI still works, and a preflight of an allowed origin is
// answered.
func TestWebPagesRefused(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	local := "localhost:" + strconv.Itoa(n.apiPort)
	n.run(t, "start", "--rootdir", n.rootdir, "--p2paddr", n.p2pAddr(), "--url", local,
		"--allowed-origins", "http://localhost:3000")
	ok(t, "client", "collection", "add", userSDL, "--url", local)

	evil := `{"sdl": "type Evil { x: String }"}`
	for _, c := range []struct {
		headers map[string]string
		want    int
	}{
		{map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"}, http.StatusForbidden},
		{map[string]string{"Content-Type": "application/json", "Host": "evil.example:" + strconv.Itoa(n.apiPort)}, http.StatusMisdirectedRequest},
	} {
		if got, _ := rawCall(t, "POST", local, "/api/v0/collections", evil, c.headers); got != c.want {
			t.Errorf("POST with %v: status %d, want %d", c.headers, got, c.want)
		}
	}
	if got := ok(t, "client", "collection", "list", "--url", local); strings.Contains(got, "Evil") {
		t.Fatalf("a refused request added a collection:\n%s", got)
	}

	status, h := rawCall(t, "OPTIONS", local, "/api/v0/collections", "", map[string]string{
		"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
	if status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("preflight of the allowed origin: %d %v", status, h)
	}
	if _, err := os.Stat(filepath.Join(n.rootdir, "api-token")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a loopback API without --require-token made a token file: %v", err)
	}
	n.stop(t)
}

// TestAPIToken checks the token of a node started with --require-token, and of
// one whose API listens on every address: made once with mode 0600, announced
// in the log, needed by every request, taken by the client from --token or
// GOSSIPDB_TOKEN, and kept across restarts.
func TestAPIToken(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t, "--require-token")
	path := filepath.Join(n.rootdir, "api-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(data))
	n.waitLog(t, "bearer token", path, "GOSSIPDB_TOKEN")

	url := n.url()
	fails(t, []string{"client", "collection", "add", userSDL, "--url", url}, "token")
	fails(t, []string{"client", "p2p", "info", "--url", url, "--token", strings.Repeat("0", len(token))}, "token")
	failsEnv(t, cleanEnv("GOSSIPDB_TOKEN=nope"), []string{"client", "p2p", "info", "--url", url}, "token")
	if status, _ := rawCall(t, "GET", url, "/api/v0/collections", "", nil); status != http.StatusUnauthorized {
		t.Errorf("GET without a token: status %d, want 401", status)
	}
	ok(t, "client", "collection", "add", userSDL, "--url", url, "--token", token)
	if r := gossipdbEnv(t, cleanEnv("GOSSIPDB_TOKEN="+token), "client", "collection", "list", "--url", url); r.code != 0 ||
		!strings.Contains(r.stdout, "User") {
		t.Fatalf("client with GOSSIPDB_TOKEN: exit %d, %s", r.code, r.stderr)
	}

	// A restart keeps the token, and --require-token from config.json.
	n.stop(t)
	n.start(t)
	if data, err := os.ReadFile(path); err != nil || strings.TrimSpace(string(data)) != token {
		t.Fatalf("the token changed across a restart: %q, %v", data, err)
	}
	fails(t, []string{"client", "p2p", "info", "--url", url}, "token")
	ok(t, "client", "p2p", "info", "--url", url, "--token", token)
	n.stop(t)

	// A token file others may read is refused.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"start", "--rootdir", n.rootdir, "--p2paddr", n.p2pAddr(), "--url", url}, "api-token", "chmod 600")

	// An API on every address needs a token without being asked.
	remote := newNode(t, "remote")
	remote.run(t, "start", "--rootdir", remote.rootdir, "--p2paddr", remote.p2pAddr(),
		"--url", "0.0.0.0:"+strconv.Itoa(remote.apiPort), "--allow-remote-api")
	data, err = os.ReadFile(filepath.Join(remote.rootdir, "api-token"))
	if err != nil {
		t.Fatalf("an API on every address has no token file: %v", err)
	}
	fails(t, []string{"client", "p2p", "info", "--url", remote.url()}, "token")
	ok(t, "client", "p2p", "info", "--url", remote.url(), "--token", strings.TrimSpace(string(data)))
	remote.stop(t)
}

// TestDataDirInUse starts a second node on the rootdir of a running one, on
// ports of its own, then on the same ports (those of the rootdir's
// config.json): it must refuse with gossipdb's error naming the directory and
// the process that holds it, not Badger's nor the bind error of the API port,
// and leave the first node serving.
func TestDataDirInUse(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	other := newNode(t, "other")
	inUse := "data directory in use: " + filepath.Join(n.rootdir, "data") + " (held by process " + strconv.Itoa(n.cmd.Process.Pid) + ")"
	fails(t, []string{"start", "--rootdir", n.rootdir, "--p2paddr", other.p2pAddr(), "--url", other.url()}, inUse)
	fails(t, []string{"start", "--rootdir", n.rootdir}, inUse)
	if _, err := n.health(); err != nil {
		t.Fatalf("the first node stopped answering: %v", err)
	}
	n.stop(t)
}

// TestSmallMemoryStart: --small-memory sets the Go memory limit (unless
// $GOMEMLIMIT does) and is kept in config.json for the next start.
func TestSmallMemoryStart(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	want := []string{"In small-memory mode", "memoryLimit=50331648"} // 48 MiB
	if os.Getenv("GOMEMLIMIT") != "" {
		want = want[:1]
	}
	n.start(t, "--small-memory")
	n.waitLog(t, want...)
	n.stop(t)
	n.start(t)
	n.waitLog(t, want...)
	n.stop(t)
}

// TestStartMemoryLimitFromCgroup: run in a memory cgroup of 256 MiB, start
// sets the Go memory limit to 90% of it and says so; with --small-memory, to
// the smaller 48 MiB; with $GOMEMLIMIT, not at all. It needs root, to make the
// cgroup.
func TestStartMemoryLimitFromCgroup(t *testing.T) {
	needBinary(t)
	const fromContainer = "Go memory limit set from the container's"
	c := nodetest.MemoryCgroup(t, 256<<20)
	n := newNode(t, "node")
	// The environment's $GOMEMLIMIT, if any, would win: env takes it away.
	n.wrap = append(c.Prefix(), "env", "-u", "GOMEMLIMIT")
	n.start(t)
	n.waitLog(t, fromContainer, "memoryLimit=241591910", "containerLimit=268435456")
	n.stop(t)

	n.start(t, "--small-memory")
	n.waitLog(t, "In small-memory mode", "memoryLimit=50331648")
	if log := n.stderr.String(); strings.Contains(log, fromContainer) {
		t.Errorf("--small-memory in 256 MiB: the limit is said to be the container's:\n%s", log)
	}
	n.stop(t)

	n.wrap = append(c.Prefix(), "env", "GOMEMLIMIT=200MiB")
	n.start(t, "--small-memory=false")
	n.waitLog(t, "Providing HTTP API")
	if log := n.stderr.String(); strings.Contains(log, fromContainer) || strings.Contains(log, "memoryLimit=") {
		t.Errorf("$GOMEMLIMIT set: start set the Go memory limit itself:\n%s", log)
	}
	n.stop(t)
}
