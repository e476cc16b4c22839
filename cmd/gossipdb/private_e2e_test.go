package main_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// syncsThrough checks that a document created on from reaches to, which is
// subscribed to User.
func syncsThrough(t *testing.T, from, to *node, name string) {
	t.Helper()
	var created struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", `{"name": "`+name+`"}`, "--url", from.url()), &created)
	poll(t, from.name+" to "+to.name, func(r result) bool { return r.code == 0 && strings.Contains(r.stdout, `"name": "`+name+`"`) },
		"client", "collection", "get", "--name", "User", created.DocID, "--url", to.url())
}

// connectFails checks that `client p2p connect` from n to addr fails, and that
// n then has no active peer.
func connectFails(t *testing.T, n *node, addr string) {
	t.Helper()
	fails(t, []string{"client", "p2p", "connect", addr, "--url", n.url()}, "connect")
	if got := ok(t, "client", "p2p", "active-peers", "--url", n.url()); got != jsonArray() {
		t.Errorf("%s has active peers %s after a refused connection", n.name, got)
	}
}

// TestPrivateNetworkCommand: `gossipdb network-key generate` makes a key file;
// nodes started with it connect and sync, a node without it cannot connect in
// either direction, and a restart without the flag keeps the key (config.json).
func TestPrivateNetworkCommand(t *testing.T) {
	needBinary(t)
	key := filepath.Join(t.TempDir(), "swarm.key")
	if out := ok(t, "network-key", "generate", key); out != "" {
		t.Errorf("network-key generate printed %q", out)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	fails(t, []string{"network-key", "generate", key}, key, "exists")

	n1, n2, outsider := newNode(t, "node 1"), newNode(t, "node 2"), newNode(t, "outsider")
	n1.start(t, "--network-key", key)
	n2.start(t, "--network-key", key)
	outsider.start(t)
	n1.waitLog(t, "private network")
	for _, n := range []*node{n1, n2, outsider} {
		ok(t, "client", "collection", "add", userSDL, "--url", n.url())
		ok(t, "client", "p2p", "collection", "add", "User", "--url", n.url())
	}
	addr1 := n1.p2pAddr() + "/p2p/" + n1.peerID(t)
	connectFails(t, outsider, addr1)
	connectFails(t, n1, outsider.p2pAddr()+"/p2p/"+outsider.peerID(t))
	ok(t, "client", "p2p", "connect", addr1, "--url", n2.url())
	syncsThrough(t, n1, n2, "member")

	// A restart without --network-key stays in the private network.
	n1.stop(t)
	n1.start(t)
	n1.waitLog(t, "private network")
	connectFails(t, outsider, addr1)
	n1.stop(t)
	// The key file kept in config.json is gone: the error says where it came from.
	if err := os.Rename(key, key+".moved"); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"start", "--rootdir", n1.rootdir, "--url", n1.url(), "--p2paddr", n1.p2pAddr()},
		"--network-key (from "+filepath.Join(n1.rootdir, "config.json")+")", "no such file")
}

// TestAllowedPeersCommand: a node started with --allowed-peers connects and
// syncs with the peers listed, and refuses any other in either direction.
func TestAllowedPeersCommand(t *testing.T) {
	needBinary(t)
	n1, n2, outsider := newNode(t, "node 1"), newNode(t, "node 2"), newNode(t, "outsider")
	n2.start(t)
	outsider.start(t)
	n1.start(t, "--allowed-peers", n2.peerID(t))
	for _, n := range []*node{n1, n2, outsider} {
		ok(t, "client", "collection", "add", userSDL, "--url", n.url())
		ok(t, "client", "p2p", "collection", "add", "User", "--url", n.url())
	}
	addr1 := n1.p2pAddr() + "/p2p/" + n1.peerID(t)
	fails(t, []string{"client", "p2p", "connect", outsider.p2pAddr() + "/p2p/" + outsider.peerID(t), "--url", n1.url()},
		"not on the allow-list (Options.AllowedPeers, gossipdb start --allowed-peers)")
	connectFails(t, outsider, addr1)
	ok(t, "client", "p2p", "connect", addr1, "--url", n2.url())
	syncsThrough(t, n1, n2, "allowed")
	syncsThrough(t, n2, n1, "back")
	n1.stop(t)
}

// TestPrivateNetworkFlagErrors: bad --network-key files and --allowed-peers
// values stop `gossipdb start` with one clear line naming the flag.
func TestPrivateNetworkFlagErrors(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join(dir, "good.key")
	ok(t, "network-key", "generate", good)
	hexKey := strings.Repeat("ab", 32)
	start := func(extra ...string) []string {
		return append([]string{"start", "--rootdir", t.TempDir(), "--url", "127.0.0.1:" + strconv.Itoa(freePort(t)),
			"--p2paddr", "/ip4/127.0.0.1/tcp/" + strconv.Itoa(freePort(t))}, extra...)
	}
	for _, tc := range []struct {
		args  []string
		parts []string
	}{
		{start("--network-key", filepath.Join(dir, "missing")), []string{"--network-key", "no such file"}},
		{start("--network-key", write("hex-only", hexKey+"\n", 0o600)), []string{"--network-key", "swarm.key format"}},
		{start("--network-key", write("short", "/key/swarm/psk/1.0.0/\n/base16/\n"+hexKey[:10]+"\n", 0o600)),
			[]string{"--network-key", "5 bytes, want 32"}},
		{start("--network-key", write("readable", "/key/swarm/psk/1.0.0/\n/base16/\n"+hexKey+"\n", 0o644)),
			[]string{"--network-key", "chmod 600"}},
		{start("--network-key", dir), []string{"--network-key", "not a regular file"}},
		{[]string{"start", "--rootdir", t.TempDir(), "--url", "127.0.0.1:" + strconv.Itoa(freePort(t)), "--network-key", good,
			"--p2paddr", "/ip4/127.0.0.1/udp/" + strconv.Itoa(freePort(t)) + "/quic-v1"}, []string{"TCP only", "QUIC"}},
		{start("--allowed-peers", "12D3KooWnope"), []string{"--allowed-peers", `"12D3KooWnope" is not a peer ID`}},
		{start("--allowed-peers", "12D3KooWDy7z9Y6qANCUXADpwYn7cnHoHBAL4MrAuYeWpwA9UePt",
			"--peers", "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWBioqN7JLmsRm6c8td4dHZqvNv5ParHabU5tfrVPGdxYr"),
			[]string{"--peers: /ip4/127.0.0.1/tcp/9/p2p/12D3KooWBioqN7JLmsRm6c8td4dHZqvNv5ParHabU5tfrVPGdxYr", "not in --allowed-peers"}},
	} {
		fails(t, tc.args, tc.parts...)
	}
}
