package gossipdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// refused checks that a cannot connect to b: Connect fails, or the connection
// it made is dropped, and then neither lists the other.
func refused(t *testing.T, a, b *gossipdb.Node) {
	t.Helper()
	err := a.Connect(dialContext(t), b.PeerInfo()[0])
	nodetest.Eventually(t, 10*time.Second, func() error {
		if nodetest.HasPeer(a, b) || nodetest.HasPeer(b, a) {
			return fmt.Errorf("%s and %s are connected (Connect: %v)", a.ID(), b.ID(), err)
		}
		return nil
	})
	if err == nil {
		t.Errorf("Connect from %s to %s succeeded", a.ID(), b.ID())
	}
}

// dialContext bounds a dial that is expected to fail. Where the two sides do
// not share a network key, the handshake may wait for bytes that never come
// until libp2p's own timeout, 5 s for an address on this machine; a dial that
// would succeed takes milliseconds.
func dialContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bareHost returns a libp2p host with the default transports and options (no
// network key, no gater), closed when the test ends.
func bareHost(t *testing.T, opts ...libp2p.Option) *peer.AddrInfo {
	t.Helper()
	h, err := libp2p.New(append([]libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return &peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
}

// TestNetworkKeyKeepsOutsidersOut: nodes that share a network key connect,
// catch up and gossip; a node without a key, a node with another key and a
// bare libp2p host cannot connect to them in either direction nor reach any of
// their protocols, and get nothing.
func TestNetworkKeyKeepsOutsidersOut(t *testing.T) {
	ctx := context.Background()
	key := gossipdb.GenerateNetworkKey()
	n1 := nodetest.Open(t, "", &gossipdb.Options{NetworkKey: key})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NetworkKey: slices.Clone(key)})
	open := nodetest.Open(t, "", nil)
	other := nodetest.Open(t, "", &gossipdb.Options{NetworkKey: gossipdb.GenerateNetworkKey()})
	users := nodetest.AddUser(t, n1, n2, open, other)
	nodetest.Subscribe(t, "User", n1, n2, open, other)
	before, err := users[0].Create(ctx, map[string]any{"name": "written before connecting"})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []*gossipdb.Node{open, other} {
		refused(t, out, n1)
		refused(t, n1, out)
	}

	// A bare host without the key: no connection, no stream to the block server.
	bare := bareHost(t)
	h, err := libp2p.New(libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	id1, _ := peer.Decode(n1.ID())
	info1, err := gossipdb.ParseAddr(n1.PeerInfo()[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Connect(dialContext(t), *info1); err == nil {
		t.Errorf("a host without the network key connected to node 1")
	}
	if s, err := h.NewStream(dialContext(t), id1, "/gossipdb/blocks/2"); err == nil {
		s.Reset()
		t.Errorf("a host without the network key opened a block stream to node 1")
	}
	// The handshake fails (the host reads node 1's encrypted bytes as the
	// handshake, and either waits for more or gives up); the error says why.
	if err := n1.Connect(ctx, fmt.Sprintf("%s/p2p/%s", bare.Addrs[0], bare.ID)); err == nil {
		t.Errorf("node 1 connected to a host without the network key")
	} else if !strings.Contains(err.Error(), "may not share a network key") {
		t.Errorf("node 1 connecting to a host without the network key: %v, want it to name the network key", err)
	}

	// Members connect, catch up and gossip.
	nodetest.Connect(t, n2, n1)
	waitDoc(t, users[1], before, nil)
	after, err := users[0].Create(ctx, map[string]any{"name": "written after"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], after, nil)
	for i, out := range []*gossipdb.Node{open, other} {
		if peers := out.ActivePeers(); len(peers) != 0 {
			t.Errorf("outsider %s has peers %v", out.ID(), peers)
		}
		for _, id := range []gossipdb.DocID{before, after} {
			if _, err := users[2+i].Get(ctx, id); !errors.Is(err, gossipdb.ErrNotFound) {
				t.Errorf("outsider %s: document %s: %v, want ErrNotFound", out.ID(), id, err)
			}
		}
	}
}

// TestAllowedPeersKeepOutsidersOut: a node with an allow-list connects with
// the peers on it, and refuses everyone else in both directions, even when it
// could find them through an allowed peer (discovery); the outsider gets no
// data from it.
func TestAllowedPeersKeepOutsidersOut(t *testing.T) {
	ctx := context.Background()
	n2 := nodetest.Open(t, "", nil)
	outsider := nodetest.Open(t, "", nil)
	n1 := nodetest.Open(t, "", &gossipdb.Options{AllowedPeers: []string{n2.ID()}})
	users := nodetest.AddUser(t, n1, n2, outsider)
	nodetest.Subscribe(t, "User", n1, n2, outsider)
	secret, err := users[0].Create(ctx, map[string]any{"name": "for node 2"})
	if err != nil {
		t.Fatal(err)
	}
	err = n1.Connect(ctx, outsider.PeerInfo()[0])
	if err == nil || !strings.Contains(err.Error(), "not on the allow-list (Options.AllowedPeers") {
		t.Errorf("node 1 connecting to an outsider: %v, want an error saying it is not on the allow-list", err)
	}
	refused(t, outsider, n1)
	refused(t, n1, outsider)

	nodetest.Connect(t, n2, n1)
	waitDoc(t, users[1], secret, nil)
	// The outsider connects to node 2, which has no allow-list, and learns of
	// node 1 through it (discovery); node 1 stays out of its reach, so what the
	// outsider gets comes through node 2 alone.
	nodetest.Connect(t, outsider, n2)
	waitDoc(t, users[2], secret, nil)
	fromOutsider, err := users[2].Create(ctx, map[string]any{"name": "outsider"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[0], fromOutsider, nil) // through node 2
	notConnected(t, n1, outsider)
	// A bare libp2p host is refused as well.
	h, err := libp2p.New(libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	info1, _ := gossipdb.ParseAddr(n1.PeerInfo()[0])
	h.Connect(ctx, *info1) // may complete before node 1 drops it
	if s, err := h.NewStream(ctx, info1.ID, "/gossipdb/blocks/2"); err == nil {
		if _, err := s.Read(make([]byte, 1)); err == nil {
			t.Errorf("a host not on the allow-list read from node 1's block server")
		}
		s.Reset()
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if len(h.Network().ConnsToPeer(info1.ID)) > 0 {
			return errors.New("the bare host is still connected to node 1")
		}
		return nil
	})
}

// TestPrivateNetworkOptionsValidated: bad network keys, QUIC addresses with a
// network key, malformed allow-lists and bootstrap peers or relays left off
// the allow-list are refused at Open with ErrInvalid naming the field.
func TestPrivateNetworkOptionsValidated(t *testing.T) {
	key := gossipdb.GenerateNetworkKey()
	peerID := bareHost(t).ID.String()
	bootstrap := "/ip4/127.0.0.1/tcp/9/p2p/" + peerID
	for _, tc := range []struct {
		field string
		opts  *gossipdb.Options
	}{
		{"NetworkKey", &gossipdb.Options{NetworkKey: key[:16]}},
		{"NetworkKey", &gossipdb.Options{NetworkKey: []byte{}}},
		{"ListenAddrs", &gossipdb.Options{NetworkKey: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}}},
		{"Peers", &gossipdb.Options{NetworkKey: key, Peers: []string{"/ip4/127.0.0.1/udp/9/quic-v1/p2p/" + peerID}}},
		{"AllowedPeers", &gossipdb.Options{AllowedPeers: []string{"not a peer ID"}}},
		{"AllowedPeers", &gossipdb.Options{AllowedPeers: []string{"12D3KooWnope"}}}, // decodes, holds no key
		{"Peers", &gossipdb.Options{AllowedPeers: []string{bareHost(t).ID.String()}, Peers: []string{bootstrap}}},
		{"Relays", &gossipdb.Options{AllowedPeers: []string{bareHost(t).ID.String()}, Relays: []string{bootstrap}}},
	} {
		n, err := gossipdb.Open("", tc.opts)
		if err == nil {
			n.Close()
			t.Errorf("%s: Open accepted %+v", tc.field, tc.opts)
			continue
		}
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "Options."+tc.field) {
			t.Errorf("%s: %v, want ErrInvalid naming Options.%s", tc.field, err, tc.field)
		}
	}
}

// TestNetworkKeyFile: a key survives its file; files that are not a key, or
// that others may read, are refused with an error that names the file and
// says what is wrong; an existing file is never overwritten.
func TestNetworkKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "swarm.key")
	key := gossipdb.GenerateNetworkKey()
	if err := gossipdb.WriteNetworkKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	got, err := gossipdb.ReadNetworkKeyFile(path)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("read back %x, %v; want %x", got, err, key)
	}
	data, _ := os.ReadFile(path)
	if want := fmt.Sprintf("/key/swarm/psk/1.0.0/\n/base16/\n%x\n", key); string(data) != want {
		t.Errorf("key file holds %q, want %q", data, want)
	}
	if err := gossipdb.WriteNetworkKeyFile(path, gossipdb.GenerateNetworkKey()); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwriting a key file: %v, want fs.ErrExist", err)
	}
	if again, _ := gossipdb.ReadNetworkKeyFile(path); !bytes.Equal(again, key) {
		t.Errorf("the key file changed")
	}
	// The base64 form libp2p also writes, and CRLF line ends.
	crlf := []byte("/key/swarm/psk/1.0.0/\r\n/base64/\r\n" + "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" + "\r\n")
	if k, err := gossipdb.DecodeNetworkKey(crlf); err != nil || k[31] != 31 {
		t.Errorf("base64 key with CRLF: %x, %v", k, err)
	}

	hexKey := fmt.Sprintf("%x", key)
	for name, tc := range map[string]struct {
		data string
		mode os.FileMode
		want string
	}{
		"empty":        {"", 0o600, "swarm.key format"},
		"bare hex":     {hexKey + "\n", 0o600, "swarm.key format"},
		"wrong header": {"/key/swarm/psk/2.0.0/\n/base16/\n" + hexKey, 0o600, "swarm.key format"},
		"encoding":     {"/key/swarm/psk/1.0.0/\n/base32/\n" + hexKey, 0o600, `encoding "/base32/"`},
		"not hex":      {"/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat("zz", 32), 0o600, "invalid byte"},
		"short":        {"/key/swarm/psk/1.0.0/\n/base16/\n" + hexKey[:62], 0o600, "31 bytes, want 32"},
		"long":         {"/key/swarm/psk/1.0.0/\n/base16/\n" + hexKey + "00", 0o600, "33 bytes, want 32"},
		"huge":         {"/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat("0", 1<<20), 0o600, "larger than"},
		"readable":     {"/key/swarm/psk/1.0.0/\n/base16/\n" + hexKey, 0o644, "chmod 600"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(p, []byte(tc.data), tc.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, tc.mode) // whatever the umask
		_, err := gossipdb.ReadNetworkKeyFile(p)
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want ErrInvalid naming %s and saying %q", name, err, p, tc.want)
		}
	}
	if _, err := gossipdb.ReadNetworkKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := gossipdb.ReadNetworkKeyFile(dir); !errors.Is(err, gossipdb.ErrInvalid) {
		t.Errorf("a directory: %v, want ErrInvalid", err)
	}
}

// TestDiscoveryRespectsAllowedPeers: nodes that know only a hub find each
// other through the DHT, except that a node with an allow-list connects only
// with the peers on it. The outsider's lookup that finds node B finds node A
// too (both advertise the collection, and a node looks for up to
// Options.PeersPerCollection subscribers), yet neither dials the other through.
func TestDiscoveryRespectsAllowedPeers(t *testing.T) {
	hub := nodetest.Open(t, "", nil)
	opts := &gossipdb.Options{Peers: []string{hub.PeerInfo()[0]}}
	b := nodetest.Open(t, "", opts)
	outsider := nodetest.Open(t, "", opts)
	a := nodetest.Open(t, "", &gossipdb.Options{Peers: opts.Peers, AllowedPeers: []string{hub.ID(), b.ID()}})
	nodetest.AddUser(t, a, b, outsider)
	subscribeAll(t, a, b, outsider)
	nodetest.WaitTopicPeers(t, a, "User", b)
	nodetest.WaitTopicPeers(t, outsider, "User", b)
	notConnected(t, a, outsider)
}

// notConnected checks that node a, whose allow-list leaves out outsider, does
// not list it as a peer, and that the outsider does not either for long: a
// connection it dials completes on its side before a drops it.
func notConnected(t *testing.T, a, outsider *gossipdb.Node) {
	t.Helper()
	if nodetest.HasPeer(a, outsider) {
		t.Errorf("%s lists %s, which its allow-list leaves out", a.ID(), outsider.ID())
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if nodetest.HasPeer(outsider, a) {
			return fmt.Errorf("%s still lists %s, whose allow-list leaves it out", outsider.ID(), a.ID())
		}
		return nil
	})
}

// FuzzDecodeNetworkKey: decoding any bytes never panics, every key it accepts
// is NetworkKeySize bytes, and it encodes back to a file that decodes to the
// same key.
func FuzzDecodeNetworkKey(f *testing.F) {
	good, err := gossipdb.EncodeNetworkKey(gossipdb.GenerateNetworkKey())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("/key/swarm/psk/1.0.0/\r\n/base64/\r\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"))
	f.Add([]byte("/key/swarm/psk/1.0.0/\n/bin/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := gossipdb.DecodeNetworkKey(data)
		if err != nil {
			return
		}
		if len(key) != gossipdb.NetworkKeySize {
			t.Fatalf("accepted a key of %d bytes", len(key))
		}
		file, err := gossipdb.EncodeNetworkKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := gossipdb.DecodeNetworkKey(file); err != nil || !bytes.Equal(again, key) {
			t.Fatalf("re-encoded: %x, %v; want %x", again, err, key)
		}
	})
}
