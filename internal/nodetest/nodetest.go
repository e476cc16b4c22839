package nodetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
)

// UserSDL is the collection of the seed walkthrough.
const UserSDL = `type User { name: String age: Int verified: Boolean points: Float }`

// Open opens a node in dir ("" = in memory) on a loopback ephemeral port and
// closes it when the test ends. Logs go to the test log when GOSSIPDB_TEST_LOG is set.
func Open(t testing.TB, dir string, opts *gossipdb.Options) *gossipdb.Node {
	t.Helper()
	if opts == nil {
		opts = &gossipdb.Options{}
	}
	if opts.Logger == nil && os.Getenv("GOSSIPDB_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := gossipdb.Open(dir, opts)
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	return n
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// WideSDL returns the SDL of types collections, C0, C1 and so on, each of
// fields String fields f0, f1 and so on: a schema whose introspection is large.
func WideSDL(types, fields int) string {
	var sdl strings.Builder
	for c := range types {
		fmt.Fprintf(&sdl, "type C%d {", c)
		for f := range fields {
			fmt.Fprintf(&sdl, " f%d: String", f)
		}
		sdl.WriteString(" }\n")
	}
	return sdl.String()
}

// AddUser adds the seed's User collection to every node and returns it for each.
func AddUser(t testing.TB, nodes ...*gossipdb.Node) []*gossipdb.Collection {
	t.Helper()
	return AddCollection(t, UserSDL, nodes...)
}

// AddCollection adds the collection sdl defines (one type) to every node and
// returns it for each.
func AddCollection(t testing.TB, sdl string, nodes ...*gossipdb.Node) []*gossipdb.Collection {
	t.Helper()
	out := make([]*gossipdb.Collection, len(nodes))
	for i, n := range nodes {
		cols, err := n.AddCollection(context.Background(), sdl)
		if err != nil {
			t.Fatalf("add collection: %v", err)
		}
		out[i] = cols[0]
	}
	return out
}

// Subscribe subscribes each of nodes to the collection called name, failing t
// on an error.
func Subscribe(t testing.TB, name string, nodes ...*gossipdb.Node) {
	t.Helper()
	for _, n := range nodes {
		if err := n.Subscribe(context.Background(), name); err != nil {
			t.Fatalf("subscribe to %s: %v", name, err)
		}
	}
}

// Connect connects a to b and waits until each lists the other as active.
func Connect(t testing.TB, a, b *gossipdb.Node) {
	t.Helper()
	if err := a.Connect(context.Background(), b.PeerInfo()[0]); err != nil {
		t.Fatalf("connect: %v", err)
	}
	Eventually(t, 10*time.Second, func() error {
		if !HasPeer(a, b) || !HasPeer(b, a) {
			return fmt.Errorf("%s and %s do not list each other", a.ID(), b.ID())
		}
		return nil
	})
}

// WaitIdentified waits until a, connected to b, knows that b runs gossipdb:
// until a has synced the User collection with b, which a does only with peers
// libp2p's identify showed to serve catch-up. A node remembers a peer that
// left (Node.KnownPeers) only once it knows that; on a loaded machine
// identify can take seconds. It adds User to both nodes and subscribes a.
func WaitIdentified(t testing.TB, a, b *gossipdb.Node) {
	t.Helper()
	AddUser(t, a, b)
	Subscribe(t, "User", a)
	Eventually(t, 30*time.Second, func() error {
		sessions, err := a.Sync(context.Background(), "User")
		for _, s := range sessions {
			if s.Peer == b.ID() {
				return nil
			}
		}
		return fmt.Errorf("%s synced with %v (%v), not %s", a.ID(), sessions, err, b.ID())
	})
}

// Disconnect closes a's connections to b and waits until neither lists the
// other among its active peers. Nodes that discover peers (without
// Options.NoDiscovery) may connect again by themselves: tests that need two
// nodes not to hear each other open them with NoDiscovery.
func Disconnect(t testing.TB, a, b *gossipdb.Node) {
	t.Helper()
	if err := a.Disconnect(context.Background(), b.ID()); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, func() error {
		if HasPeer(a, b) || HasPeer(b, a) {
			return fmt.Errorf("%s and %s are still connected", a.ID(), b.ID())
		}
		return nil
	})
}

// HasPeer reports whether a lists b among its active peers.
func HasPeer(a, b *gossipdb.Node) bool {
	for _, p := range a.ActivePeers() {
		if len(p) >= len(b.ID()) && p[len(p)-len(b.ID()):] == b.ID() {
			return true
		}
	}
	return false
}

// Eventually calls cond every few milliseconds until it returns nil, failing the
// test with cond's last error when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatal(err)
	}
}

// Poll is Eventually for a goroutine other than the test's, where t.Fatal may
// not be called: it returns nil once cond does, or an error with cond's last
// error when timeout passes first.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met after %v: %w", timeout, err)
		}
		time.Sleep(wait)
	}
}

// Snapshot returns every document of c, live and readable, keyed by ID; the
// comparison of two snapshots is how tests check convergence.
func Snapshot(t testing.TB, c *gossipdb.Collection) map[gossipdb.DocID]map[string]any {
	t.Helper()
	out := map[gossipdb.DocID]map[string]any{}
	for d, err := range c.Find(context.Background(), nil) {
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		out[d.ID] = d.Fields
	}
	return out
}

// WaitTopicPeers waits until node n sees every one of peers subscribed to the
// collection's topic, so that n's next write reaches them by gossip.
func WaitTopicPeers(t testing.TB, n *gossipdb.Node, collection string, peers ...*gossipdb.Node) {
	t.Helper()
	Eventually(t, 15*time.Second, func() error {
		got, err := n.TopicPeers(collection)
		if err != nil {
			return err
		}
		for _, p := range peers {
			if !slices.Contains(got, p.ID()) {
				return fmt.Errorf("%s does not see %s on %s's topic (sees %v)", n.ID(), p.ID(), collection, got)
			}
		}
		return nil
	})
}

// LogBuffer is a buffer safe for concurrent use: a log sink whose lines a
// test asserts, or a command's output that a test reads while it runs.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a text logger writing to l at debug level.
func (l *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
