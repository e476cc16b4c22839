package gossipdb_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// The network-namespace tests build small networks out of Linux network
// namespaces, veth pairs and bridges, run one node per namespace (this test
// binary, re-executed with netNodeEnv set) and drive it over its stdin and
// stdout. Every address lives only inside the namespaces a test makes; the
// test's own namespace gets no interface and no route, and every namespace is
// deleted when the test ends.
//
// The "internet" between the NATs is 198.18.0.0/24, a range set aside for
// testing network devices (RFC 2544). libp2p treats it as unroutable and would
// neither hole punch nor run AutoNAT on it, so the nodes of these tests treat
// it as public (netNodeMain); 10.231.0.0/16 are the private LANs.
const netNodeEnv = "GOSSIPDB_NETNODE"

// netNodeConfig is what a node process runs with.
type netNodeConfig struct {
	Listen    []string
	Peers     []string
	Relay     bool // serve as a relay
	MDNS      bool
	Subscribe bool // subscribe to User (else only run the network)
	Log       bool // log at info level to stderr, which netNode.logs keeps
}

// netRequest is one command to a node process; netReply its answer. Remote
// changes arrive as replies with Event set.
type netRequest struct {
	Op    string // "info", "peers", "create"
	Count int    // create: documents, in one CreateMany
	Size  int    // create: bytes of each document's name
}

type netReply struct {
	Op     string
	Err    string
	Addrs  []string // info: PeerInfo; peers: ActivePeers
	ID     string
	Start  int64  // create: Unix nanoseconds just before the call
	Event  string // "doc" for each remote change
	DocID  string
	AtNano int64 // Unix nanoseconds of the event
}

// netNodeMain runs a node as netNodeEnv's JSON says until stdin closes.
func netNodeMain(cfgJSON string) {
	var cfg netNodeConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i, n := range manet.Unroutable4 {
		if n.String() == "198.18.0.0/15" {
			manet.Unroutable4 = append(manet.Unroutable4[:i:i], manet.Unroutable4[i+1:]...)
			break
		}
	}
	var log *slog.Logger
	if os.Getenv("GOSSIPDB_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else if cfg.Log {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	n, err := gossipdb.Open("", &gossipdb.Options{
		ListenAddrs: cfg.Listen, Peers: cfg.Peers, RelayService: cfg.Relay, MDNS: cfg.MDNS, NoSync: true, Logger: log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer n.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	out := json.NewEncoder(os.Stdout)
	send := func(r netReply) {
		mu.Lock()
		defer mu.Unlock()
		out.Encode(r)
	}
	var users *gossipdb.Collection
	if cfg.Subscribe {
		cols, err := n.AddCollection(ctx, nodetest.UserSDL)
		if err == nil {
			err = n.Subscribe(ctx, "User")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		users = cols[0]
		events, err := users.Watch(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		go func() {
			for ev := range events {
				if ev.Remote() {
					send(netReply{Event: "doc", DocID: string(ev.DocID), AtNano: time.Now().UnixNano()})
				}
			}
		}()
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var req netRequest
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			send(netReply{Err: err.Error()})
			continue
		}
		r := netReply{Op: req.Op}
		switch req.Op {
		case "info":
			r.ID, r.Addrs = n.ID(), n.PeerInfo()
		case "peers":
			r.Addrs = n.ActivePeers()
		case "create":
			docs := make([]map[string]any, req.Count)
			for i := range docs {
				docs[i] = map[string]any{"name": strings.Repeat("x", req.Size), "age": i}
			}
			r.Start = time.Now().UnixNano()
			ids, err := users.CreateMany(ctx, docs)
			if err != nil {
				r.Err = err.Error()
			} else if len(ids) > 0 {
				r.ID = string(ids[len(ids)-1])
			}
		default:
			r.Err = "unknown op " + req.Op
		}
		send(r)
	}
}

// needNetns skips tb unless it can make network namespaces and has ip and nft.
func needNetns(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("network-namespace tests need root (CI runs them as root)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("network-namespace tests need %s (apt-get install iproute2 nftables): %v", tool, err)
		}
	}
	b := make([]byte, 3)
	rand.Read(b)
	probe := "gdbprobe" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		tb.Skipf("cannot make network namespaces here (a container without CAP_SYS_ADMIN?): %v: %s", err, out)
	}
	if out, err := exec.Command("ip", "netns", "del", probe).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns del %s: %v\n%s", probe, err, out)
	}
}

// netLab makes namespaces and links and removes them all when the test ends.
type netLab struct {
	tb     testing.TB
	prefix string
}

func newNetLab(tb testing.TB) *netLab {
	tb.Helper()
	needNetns(tb)
	b := make([]byte, 3)
	rand.Read(b)
	return &netLab{tb: tb, prefix: "gdb" + hex.EncodeToString(b) + "-"}
}

// run runs a command, failing the test with its output if it fails.
func (l *netLab) run(args ...string) {
	l.tb.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		l.tb.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ns makes a namespace with loopback up and returns its name. It is deleted
// at cleanup, which also removes every interface in it.
func (l *netLab) ns(role string) string {
	l.tb.Helper()
	name := l.prefix + role
	l.run("ip", "netns", "add", name)
	l.tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			l.tb.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	l.run("ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// bridge makes a bridge named br in namespace ns with address cidr.
func (l *netLab) bridge(ns, cidr string) {
	l.tb.Helper()
	l.run("ip", "-n", ns, "link", "add", "name", "gdbbr", "type", "bridge", "mcast_snooping", "0")
	l.run("ip", "-n", ns, "addr", "add", cidr, "dev", "gdbbr")
	l.run("ip", "-n", ns, "link", "set", "dev", "gdbbr", "up")
}

// plug links namespace ns (interface ifname, address cidr) to the bridge of
// namespace brNS with a veth pair whose other end is port there.
func (l *netLab) plug(ns, ifname, cidr, brNS, port string) {
	l.tb.Helper()
	l.run("ip", "-n", ns, "link", "add", "name", ifname, "type", "veth", "peer", "name", port, "netns", brNS)
	l.run("ip", "-n", brNS, "link", "set", "dev", port, "master", "gdbbr", "up")
	l.run("ip", "-n", ns, "addr", "add", cidr, "dev", ifname)
	l.run("ip", "-n", ns, "link", "set", "dev", ifname, "up")
}

// link joins namespaces a and b with a veth pair, addressing each end.
func (l *netLab) link(a, aIf, aCIDR, b, bIf, bCIDR string) {
	l.tb.Helper()
	l.run("ip", "-n", a, "link", "add", "name", aIf, "type", "veth", "peer", "name", bIf, "netns", b)
	l.run("ip", "-n", a, "addr", "add", aCIDR, "dev", aIf)
	l.run("ip", "-n", b, "addr", "add", bCIDR, "dev", bIf)
	l.run("ip", "-n", a, "link", "set", "dev", aIf, "up")
	l.run("ip", "-n", b, "link", "set", "dev", bIf, "up")
}

// natRouter makes router namespace r forward from its lan to its wan and
// masquerade, like a home router: it keeps source ports where it can
// (endpoint-independent mapping, no random ports), unless symmetric, when it
// picks a random port for every connection as symmetric NATs do; and it
// silently drops unsolicited packets from the wan.
func (l *netLab) natRouter(r string, symmetric bool) {
	l.tb.Helper()
	l.run("ip", "netns", "exec", r, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
	masquerade := "masquerade"
	if symmetric {
		masquerade = "masquerade fully-random"
	}
	rules := `
table ip gossipdbnat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ` + masquerade + `
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" ct state established,related accept
		iifname "wan" drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "wan" ct state established,related accept
		iifname "wan" drop
	}
}`
	cmd := exec.Command("ip", "netns", "exec", r, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.tb.Fatalf("nft in %s: %v\n%s", r, err, out)
	}
}

// netNode is a node process in a namespace.
type netNode struct {
	tb      testing.TB
	name    string
	logs    *nodetest.LogBuffer // its stderr
	stdin   io.WriteCloser
	replies chan netReply
	events  chan netReply
}

// start runs a node in namespace ns; it is stopped when the test ends.
func (l *netLab) start(ns string, cfg netNodeConfig) *netNode {
	l.tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		l.tb.Fatal(err)
	}
	js, _ := json.Marshal(cfg)
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), netNodeEnv+"="+string(js))
	logs := &nodetest.LogBuffer{}
	cmd.Stderr = io.MultiWriter(testLogWriter{l.tb, ns}, logs)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		l.tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		l.tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.tb.Fatal(err)
	}
	n := &netNode{tb: l.tb, name: ns, logs: logs, stdin: stdin, replies: make(chan netReply, 16), events: make(chan netReply, 1<<16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dec := json.NewDecoder(stdout)
		for {
			var r netReply
			if err := dec.Decode(&r); err != nil {
				close(n.replies)
				return
			}
			if r.Event != "" {
				n.events <- r
			} else {
				n.replies <- r
			}
		}
	}()
	l.tb.Cleanup(func() {
		stdin.Close() // the node closes and exits
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		cmd.Wait()
	})
	return n
}

type testLogWriter struct {
	tb   testing.TB
	name string
}

func (w testLogWriter) Write(p []byte) (int, error) {
	w.tb.Logf("%s: %s", w.name, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// call sends req and returns the node's answer.
func (n *netNode) call(req netRequest) netReply {
	n.tb.Helper()
	js, _ := json.Marshal(req)
	if _, err := n.stdin.Write(append(js, '\n')); err != nil {
		n.tb.Fatalf("%s: %v", n.name, err)
	}
	select {
	case r, ok := <-n.replies:
		if !ok {
			n.tb.Fatalf("%s: the node exited", n.name)
		}
		if r.Err != "" {
			n.tb.Fatalf("%s: %s: %s", n.name, req.Op, r.Err)
		}
		return r
	case <-time.After(30 * time.Second):
		n.tb.Fatalf("%s: no answer to %s", n.name, req.Op)
	}
	return netReply{}
}

// addr returns the node's first listen address whose transport is proto.
func (n *netNode) addr(proto string) string {
	n.tb.Helper()
	for _, a := range n.call(netRequest{Op: "info"}).Addrs {
		if strings.Contains(a, "/"+proto+"/") {
			return a
		}
	}
	n.tb.Fatalf("%s: no %s address", n.name, proto)
	return ""
}

// peerAddr returns the address of n's connection to the peer id, "" if none.
func (n *netNode) peerAddr(id string) string {
	for _, a := range n.call(netRequest{Op: "peers"}).Addrs {
		if strings.HasSuffix(a, "/p2p/"+id) {
			return a
		}
	}
	return ""
}

// waitDoc waits for the remote change to document id and returns when it
// arrived (Unix nanoseconds); other events are dropped.
func (n *netNode) waitDoc(id string, timeout time.Duration) int64 {
	n.tb.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-n.events:
			if ev.DocID == id {
				return ev.AtNano
			}
		case <-deadline:
			n.tb.Fatalf("%s: document %s did not arrive within %v", n.name, id, timeout)
		}
	}
}

// natLab is two nodes, each behind its own NAT router, and a relay on the
// "internet" between the routers:
//
//	a 10.231.1.2 ─ r1 (10.231.1.1 | 198.18.0.11) ─┐
//	                                              br in inet: relay 198.18.0.1
//	b 10.231.2.2 ─ r2 (10.231.2.1 | 198.18.0.12) ─┘
type natLab struct {
	relay, a, b *netNode
	aID, bID    string
}

func startNATLab(tb testing.TB) *natLab {
	tb.Helper()
	return startNATLabWith(tb, false)
}

// startNATLabWith is startNATLab with b's router a symmetric NAT if
// symmetricB, and the nodes logging at info level.
func startNATLabWith(tb testing.TB, symmetricB bool) *natLab {
	tb.Helper()
	l := newNetLab(tb)
	inet, r1, r2, na, nb := l.ns("inet"), l.ns("r1"), l.ns("r2"), l.ns("a"), l.ns("b")
	l.bridge(inet, "198.18.0.1/24")
	for i, r := range []string{r1, r2} {
		l.plug(r, "wan", fmt.Sprintf("198.18.0.1%d/24", i+1), inet, fmt.Sprintf("r%d", i+1))
		l.natRouter(r, i == 1 && symmetricB)
	}
	l.link(r1, "lan", "10.231.1.1/24", na, "eth0", "10.231.1.2/24")
	l.link(r2, "lan", "10.231.2.1/24", nb, "eth0", "10.231.2.2/24")
	l.run("ip", "-n", na, "route", "add", "default", "via", "10.231.1.1")
	l.run("ip", "-n", nb, "route", "add", "default", "via", "10.231.2.1")

	lab := &natLab{}
	lab.relay = l.start(inet, netNodeConfig{
		Listen: []string{"/ip4/198.18.0.1/tcp/4001", "/ip4/198.18.0.1/udp/4001/quic-v1"}, Relay: true,
	})
	relay := lab.relay.addr("tcp")
	for i, ns := range []string{na, nb} {
		ip := fmt.Sprintf("10.231.%d.2", i+1)
		n := l.start(ns, netNodeConfig{
			Listen:    []string{"/ip4/" + ip + "/tcp/4001", "/ip4/" + ip + "/udp/4001/quic-v1"},
			Peers:     []string{relay},
			Subscribe: true,
			Log:       true,
		})
		if i == 0 {
			lab.a = n
		} else {
			lab.b = n
		}
	}
	lab.aID = lab.a.call(netRequest{Op: "info"}).ID
	lab.bID = lab.b.call(netRequest{Op: "info"}).ID
	return lab
}

// waitDirect waits until a and b are connected directly through their NATs:
// a's connection to b comes from b's router's public address, which lets in
// nothing a did not punch a hole for. It returns that address.
func (lab *natLab) waitDirect(tb testing.TB, timeout time.Duration) string {
	tb.Helper()
	var direct string
	nodetest.Eventually(tb, timeout, func() error {
		a := lab.a.peerAddr(lab.bID)
		if a == "" || strings.Contains(a, "/p2p-circuit") {
			return fmt.Errorf("a's connection to b: %q (a's addresses %v, b's %v)", a,
				lab.a.call(netRequest{Op: "info"}).Addrs, lab.b.call(netRequest{Op: "info"}).Addrs)
		}
		direct = a
		return nil
	})
	return direct
}

// TestNATHolePunching: two nodes behind separate NAT routers, which know only
// a relay on the network between them, find each other through it (DHT),
// connect through the relay, punch holes into both NATs and then exchange
// changes over a direct connection.
func TestNATHolePunching(t *testing.T) {
	lab := startNATLab(t)
	direct := lab.waitDirect(t, 60*time.Second)
	if !strings.HasPrefix(direct, "/ip4/198.18.0.12/") {
		t.Fatalf("a reaches b at %s, want b's router's address 198.18.0.12", direct)
	}
	// The punched connection is set up on each side in turn: b may list only
	// its relayed one for a moment after a lists the direct one.
	nodetest.Eventually(t, 10*time.Second, func() error {
		if back := lab.b.peerAddr(lab.aID); !strings.HasPrefix(back, "/ip4/198.18.0.11/") {
			return fmt.Errorf("b reaches a at %q, want a's router's address 198.18.0.11", back)
		}
		return nil
	})
	id := lab.a.call(netRequest{Op: "create", Count: 1, Size: 8}).ID
	lab.b.waitDoc(id, 30*time.Second)
}

// TestNATSymmetricHolePunchingFails: behind a NAT that picks a new port for
// every connection, hole punching fails; the nodes stay connected through the
// relay, which carries no changes, and say so in their logs rather than list
// each other as peers with no word of why nothing syncs.
func TestNATSymmetricHolePunchingFails(t *testing.T) {
	lab := startNATLabWith(t, true)
	nodetest.Eventually(t, 90*time.Second, func() error {
		for _, n := range []*netNode{lab.a, lab.b} {
			if strings.Contains(n.logs.String(), "Hole punching failed") {
				return nil
			}
		}
		return fmt.Errorf("no node logged a failed hole punch; a's connection to b: %q", lab.a.peerAddr(lab.bID))
	})
	if a := lab.a.peerAddr(lab.bID); a != "" && !strings.Contains(a, "/p2p-circuit") {
		t.Fatalf("a reaches b at %s through b's symmetric NAT", a)
	}
}

// TestMDNSAcrossBridge: two nodes on one LAN (a bridge), with mDNS and no
// peers given, find each other and sync.
func TestMDNSAcrossBridge(t *testing.T) {
	l := newNetLab(t)
	lan, m1, m2 := l.ns("lan"), l.ns("m1"), l.ns("m2")
	l.bridge(lan, "10.231.9.1/24")
	nodes := make([]*netNode, 2)
	for i, ns := range []string{m1, m2} {
		ip := fmt.Sprintf("10.231.9.%d", i+2)
		l.plug(ns, "eth0", ip+"/24", lan, fmt.Sprintf("m%d", i+1))
		// mDNS sends to 224.0.0.251 by the route for multicast.
		l.run("ip", "-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0")
		nodes[i] = l.start(ns, netNodeConfig{Listen: []string{"/ip4/" + ip + "/tcp/4001"}, MDNS: true, Subscribe: true})
	}
	id2 := nodes[1].call(netRequest{Op: "info"}).ID
	nodetest.Eventually(t, 30*time.Second, func() error {
		if a := nodes[0].peerAddr(id2); !strings.HasPrefix(a, "/ip4/10.231.9.3/") {
			return fmt.Errorf("m1's connection to m2: %q", a)
		}
		return nil
	})
	id := nodes[0].call(netRequest{Op: "create", Count: 1, Size: 8}).ID
	nodes[1].waitDoc(id, 30*time.Second)
}
