package gossipdb

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	libp2pconnmgr "github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/gossipdb/gossipdb/internal/openfiles"
	"github.com/gossipdb/gossipdb/internal/regular"
)

// identityFile is the name of the node's private key file inside its directory.
const identityFile = "identity.key"

// maxIdentityFile bounds what loadIdentity reads of identityFile, in bytes:
// an Ed25519 key in libp2p's encoding is 68.
const maxIdentityFile = 4 << 10

// Connection manager watermarks: above connHigh connections the manager trims to
// connLow, sparing connections younger than connGrace and protected bootstrap peers.
const (
	connLow   = 100
	connHigh  = 400
	connGrace = time.Minute
)

// Re-dial backoff for bootstrap peers (Options.Peers): it starts at redialMin,
// doubles after each failure up to redialMax, and resets after a success.
const (
	redialMin   = 100 * time.Millisecond
	redialMax   = 5 * time.Second
	dialTimeout = 10 * time.Second
	// dnsHintTimeout bounds the lookup of unresolvedHint.
	dnsHintTimeout = 5 * time.Second
	bootstrapTag   = "gossipdb-bootstrap"
)

// loadIdentity returns the node's Ed25519 key: read from dir, or created and
// saved there (mode 0600) on first use. An empty dir gives a fresh key. A key
// file that others may read is refused, as the API token and a network key
// are (see regular.CheckPrivate). One that is not a regular file of at most
// maxIdentityFile bytes, does not decode, or whose public half is not the
// private half's, is refused with ErrDamaged; so is a missing one when
// storeDir holds a store, unless allowNew.
func loadIdentity(dir, storeDir string, allowNew bool) (crypto.PrivKey, error) {
	if dir == "" {
		sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
		return sk, err
	}
	path := filepath.Join(dir, identityFile)
	data, err := regular.ReadPrivate(path, maxIdentityFile)
	if err == nil {
		sk, err := crypto.UnmarshalPrivateKey(data)
		switch {
		case len(data) == 0:
			err = errors.New("empty, not a key")
		case err != nil:
			// libp2p's error speaks of protobuf fields; the key's owner
			// needs to know that the file is not a key.
			err = errors.New("not a private key: it does not decode")
		default:
			err = checkKeyPair(sk)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: identity key: %w", ErrDamaged, &DamageError{File: path, Err: fmt.Errorf(
				"%w: restore it from a backup, or remove it and allow a new one (Options.NewIdentity, "+
					"gossipdb start --new-identity), which gives the node a new peer ID", err)})
		}
		return sk, nil
	}
	if errors.Is(err, regular.ErrNotPrivate) {
		return nil, fmt.Errorf("%w: identity key %w", ErrInvalid, err)
	}
	// regular's errors name path, which the DamageError names already.
	switch {
	case errors.Is(err, regular.ErrNotRegular):
		return nil, fmt.Errorf("%w: identity key: %w", ErrDamaged, &DamageError{File: path, Err: regular.ErrNotRegular})
	case errors.Is(err, regular.ErrTooLarge):
		return nil, fmt.Errorf("%w: identity key: %w", ErrDamaged, &DamageError{File: path,
			Err: fmt.Errorf("%w (%d bytes at most)", regular.ErrTooLarge, maxIdentityFile)})
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("gossipdb: identity key: %w", err)
	}
	if !allowNew {
		switch entries, err := os.ReadDir(storeDir); {
		case len(entries) > 0:
			return nil, fmt.Errorf("%w: identity key: %w", ErrDamaged, &DamageError{File: path, Err: errors.New(
				"missing, but the directory holds a store: a new key would give the node a new peer ID; " +
					"restore the key file, or allow a new one (Options.NewIdentity, gossipdb start --new-identity)")})
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("gossipdb: %w", err)
		}
	}
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	data, err = crypto.MarshalPrivateKey(sk)
	if err != nil {
		return nil, err
	}
	// On disk, its directory entry too, before the store is created: a power
	// cut could otherwise leave a store without its key, which the next Open
	// refuses.
	if err := regular.Replace(path, data, 0o600); errors.Is(err, syscall.ENOSPC) {
		return nil, fmt.Errorf("%w: identity key: %w", ErrNoSpace, err)
	} else if err != nil {
		return nil, fmt.Errorf("gossipdb: identity key: %w", err)
	}
	return sk, nil
}

// checkNotSelf fails with ErrInvalid, naming Options.Peers, when one of peers
// (valid: see Options.validate) is the address of the node whose key is sk: a
// node cannot dial itself, and would try again for ever.
func checkNotSelf(sk crypto.PrivKey, peers []string) error {
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return fmt.Errorf("gossipdb: identity key: %w", err)
	}
	for _, a := range peers {
		if info, err := ParseAddr(a); err == nil && info.ID == self {
			return fmt.Errorf("%w: Options.Peers: %s is this node's own address", ErrInvalid, a)
		}
	}
	return nil
}

// checkKeyPair verifies that the public half of a stored key pair belongs to its
// private half: the peer ID is the public half's, and an Ed25519 key file holds
// both. A signature made with the private half (which hashes in the stored public
// half) verifies with the public half only if they match.
func checkKeyPair(sk crypto.PrivKey) error {
	msg := []byte("gossipdb identity key check")
	sig, err := sk.Sign(msg)
	if err != nil {
		return err
	}
	ok, err := sk.GetPublic().Verify(msg, sig)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("its public half does not match its private half")
	}
	return nil
}

// newHost builds the node's libp2p host: TCP and QUIC (TCP alone in a private
// network: see Options.NetworkKey), Noise/TLS security, the resource manager
// (see resourceLimits), a connection manager that trims above connHigh
// connections, the connection gater gater, and NAT traversal (see natOptions),
// which logs to log.
func newHost(sk crypto.PrivKey, o *Options, relays []peer.AddrInfo, gater libp2pconnmgr.ConnectionGater, log *slog.Logger) (host.Host, error) {
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(resourceLimits(openfiles.Limit())))
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(connLow, connHigh, connmgr.WithGracePeriod(connGrace))
	if err != nil {
		rm.Close()
		return nil, err
	}
	var built atomic.Pointer[host.Host]
	opts := append([]libp2p.Option{
		libp2p.Identity(sk),
		libp2p.ListenAddrStrings(o.ListenAddrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(gater),
		libp2p.UserAgent("gossipdb"),
	}, natOptions(o, relays, &built, log)...)
	if o.NetworkKey != nil {
		opts = append(opts, libp2p.PrivateNetwork(o.NetworkKey))
	} else {
		opts = append(opts, libp2p.Transport(quic.NewTransport))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		cm.Close()
		rm.Close()
		return nil, err
	}
	built.Store(&h)
	return h, nil
}

// resourceLimits are libp2p's auto-scaled default limits (a share of this
// machine's memory and file descriptors), raised where they would stop a node
// before its connection manager does: at least connHigh+connLow connections
// (connHigh inbound), so that the manager, not the resource manager, decides
// which peers go, and 64 streams per connection on average. The file
// descriptors libp2p may take are at most half of openFiles, the process's
// limit on open files (0: unknown), whatever that leaves the connection
// manager: peers opening connections must leave the store the files it opens
// as it writes (Badger ends the process when it cannot open one).
func resourceLimits(openFiles int) rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	scaled := limits.AutoScale()
	p := scaled.ToPartialLimitConfig()
	atLeast := func(v *rcmgr.LimitVal, floor int) {
		if *v != rcmgr.Unlimited && v.Build(0) < floor {
			*v = rcmgr.LimitVal(floor)
		}
	}
	atLeast(&p.System.Conns, connHigh+connLow)
	atLeast(&p.System.ConnsInbound, connHigh)
	atLeast(&p.System.ConnsOutbound, connHigh)
	atLeast(&p.System.Streams, 64*connHigh)
	atLeast(&p.System.StreamsInbound, 32*connHigh)
	atLeast(&p.System.StreamsOutbound, 32*connHigh)
	atLeast(&p.System.FD, connHigh+connLow)
	if openFiles > 0 && p.System.FD.Build(0) > openFiles/2 {
		p.System.FD = rcmgr.LimitVal(max(1, openFiles/2))
	}
	return p.Build(scaled)
}

// checkPortsFree fails when a fixed TCP port among listen is taken. libp2p's TCP
// transport listens with SO_REUSEPORT, so without this check a second node on
// the same port would start and share it silently.
func checkPortsFree(listen []string) error {
	for _, s := range listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return fmt.Errorf("%w: listen address %q: %w", ErrInvalid, s, err)
		}
		port, err := a.ValueForProtocol(ma.P_TCP)
		if err != nil || port == "0" {
			continue
		}
		l, err := manet.Listen(a)
		if err != nil {
			return fmt.Errorf("gossipdb: listen on %s: %w", s, err)
		}
		l.Close()
	}
	return nil
}

// ParseAddr parses a full peer multiaddr such as
// /ip4/127.0.0.1/tcp/9171/p2p/12D3KooW…, failing with ErrInvalid when it is
// malformed or lacks the /p2p/ part.
func ParseAddr(s string) (*peer.AddrInfo, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, fmt.Errorf("%w: multiaddr %q: %w", ErrInvalid, s, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return nil, fmt.Errorf("%w: multiaddr %q must end with /p2p/<peer ID>: %w", ErrInvalid, s, err)
	}
	return info, nil
}

// addrInfos parses full multiaddrs that validate has checked.
func addrInfos(addrs []string) []peer.AddrInfo {
	out := make([]peer.AddrInfo, len(addrs))
	for i, a := range addrs {
		info, _ := ParseAddr(a)
		out[i] = *info
	}
	return out
}

// ID returns the node's peer ID (12D3KooW…), also after Close. It is stable
// across restarts of an on-disk node.
func (n *Node) ID() string { return n.id }

// PeerInfo returns the node's listen addresses as full multiaddrs ending in
// /p2p/<peer ID>, sorted; nil after Close. The slice is the caller's.
func (n *Node) PeerInfo() []string {
	if n.closing() {
		return nil
	}
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: n.host.ID(), Addrs: n.host.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	slices.Sort(out)
	return out
}

// Connect dials the peer at addr (a full multiaddr ending in /p2p/<peer ID>),
// and the addresses this node knew for that peer from earlier connections.
// Connections are mutual: afterwards both nodes list each other in ActivePeers.
// A malformed address fails with ErrInvalid, an unreachable peer with the dial error
// (which names a DNS name of addr that does not resolve).
// A peer that Options.AllowedPeers leaves out fails without a dial, and so
// does one this node refuses for its standing; a peer that refuses this node
// (for the same reasons on its side) fails too, as does one outside this
// node's private network (Options.NetworkKey), whose handshake cannot complete.
func (n *Node) Connect(ctx context.Context, addr string) error {
	if n.closing() {
		return ErrClosed
	}
	info, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	if info.ID == n.host.ID() {
		return fmt.Errorf("%w: %s is this node's own address", ErrInvalid, addr)
	}
	if !n.gater.allows(info.ID) {
		return fmt.Errorf("gossipdb: connect %s: peer %s is %w", addr, info.ID, errNotAllowed)
	}
	ctx = network.WithForceDirectDial(ctx, "connect")
	known := n.host.Peerstore().Addrs(info.ID) // from earlier connections: libp2p dials them too
	if err := n.host.Connect(ctx, *info); err != nil {
		return fmt.Errorf("gossipdb: connect %s: %w%s%s%s", addr, err, handshakeHint(err, false), n.unresolvedHint(info.Addrs), knownAddrsHint(err, info.Addrs, known))
	}
	// The dial completes before the peer's gater has had its say; the host
	// waited for the exchange of identities, which a peer that refused the
	// connection does not answer.
	if !slices.ContainsFunc(n.host.Network().ConnsToPeer(info.ID), func(c network.Conn) bool { return !c.IsClosed() }) {
		return fmt.Errorf("gossipdb: connect %s: the peer closed the connection at once "+
			"(its allow-list may leave this node out, or it refuses this node for its standing)", addr)
	}
	return nil
}

// handshakeHint says what most likely kept a dial that reached the peer from
// finishing libp2p's security handshake. Most often the two sides do not share
// a network key: the side with a key encrypts every byte, the other reads them
// as the handshake, and the dial fails with an error that by itself says only
// "context deadline exceeded" or "could not read full nonce". Or the address
// names another peer than the one listening there (a peer ID copied from an
// earlier run). It returns "" for any other error.
//
// A peer that was connected until a moment ago (wasConnected) shared the
// network key then: its handshake fails most likely because it is stopping
// (a process being killed still takes connections in the kernel, then resets
// them) or restarting, and the hint says so first.
func handshakeHint(err error, wasConnected bool) string {
	var mismatch sec.ErrPeerIDMismatch
	switch {
	case errors.As(err, &mismatch):
		return fmt.Sprintf(" (the node listening at that address is %s: the address names another peer, "+
			"perhaps from an earlier run; use the address the node prints, gossipdb client p2p info)", mismatch.Actual)
	case strings.Contains(err.Error(), "failed to negotiate security protocol") && wasConnected:
		return " (the peer took the connection but the handshake failed: it was connected until a moment ago, " +
			"so it is most likely stopping or restarting; if it stays unreachable, the two nodes may no longer share " +
			"a network key: Options.NetworkKey, gossipdb start --network-key)"
	case strings.Contains(err.Error(), "failed to negotiate security protocol"):
		return " (the peer took the connection but the handshake failed: the two nodes " +
			"may not share a network key, or one has a key and the other none: Options.NetworkKey, gossipdb start --network-key)"
	}
	return ""
}

// knownAddrsHint says, after a failed dial, why libp2p's dial error lists
// addresses that were not given: libp2p dials every address it holds for the
// peer, and known lists those it held before the dial, learnt from earlier
// connections (which the peer may have left since). It returns "" when the
// error lists none of them.
func knownAddrsHint(err error, given, known []ma.Multiaddr) string {
	var de *swarm.DialError
	if !errors.As(err, &de) {
		return ""
	}
	var others []string
	for _, te := range de.DialErrors {
		if slices.ContainsFunc(known, te.Address.Equal) && !slices.ContainsFunc(given, te.Address.Equal) {
			others = append(others, te.Address.String())
		}
	}
	if len(others) == 0 {
		return ""
	}
	return fmt.Sprintf(" (besides the address given, this node dialled those it knew for the peer from earlier connections: %s)", strings.Join(others, ", "))
}

// unresolvedHint says, after a failed dial, which DNS name among addrs
// (/dns, /dns4, /dns6) does not resolve: libp2p's dial error lists only the
// addresses it dialled, so an address whose name resolved to none is missing
// from it and nothing says why. It returns "" when every name resolves.
func (n *Node) unresolvedHint(addrs []ma.Multiaddr) string {
	for _, a := range addrs {
		c, _ := ma.SplitFirst(a)
		if c == nil {
			continue
		}
		switch c.Protocol().Code {
		case ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
		default:
			continue
		}
		ctx, cancel := context.WithTimeout(n.ctx, dnsHintTimeout)
		_, err := net.DefaultResolver.LookupIPAddr(ctx, c.Value())
		cancel()
		if err != nil {
			return fmt.Sprintf(" (the name %s does not resolve: %v)", c.Value(), err)
		}
	}
	return ""
}

// Disconnect closes every connection to the peer with the given ID (or full
// multiaddr). A bootstrap peer from Options.Peers is re-dialled afterwards, and
// discovery may connect to the peer again if it subscribes to one of this
// node's collections (Options.NoDiscovery turns that off).
func (n *Node) Disconnect(ctx context.Context, peerID string) error {
	if n.closing() {
		return ErrClosed
	}
	id, err := peer.Decode(peerID)
	if err != nil {
		info, perr := ParseAddr(peerID)
		if perr != nil {
			return fmt.Errorf("%w: peer %q: %w", ErrInvalid, peerID, err)
		}
		id = info.ID
	}
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	return n.host.Network().ClosePeer(id)
}

// ActivePeers returns the connected peers as full multiaddrs (the address of the
// connection, ending in /p2p/<peer ID>; a direct connection's rather than a
// relayed one's when there are both), sorted: an empty slice, not nil, when
// there are none (so it encodes as the JSON []), and nil after Close. The slice
// is the caller's.
func (n *Node) ActivePeers() []string {
	if n.closing() {
		return nil
	}
	out := []string{}
	for _, id := range n.host.Network().Peers() {
		if addr, ok := n.peerAddr(id); ok {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out
}

// peerAddr returns the full multiaddr of the node's connection to id (a
// direct one's rather than a relayed one's when there are both); false when
// there is none.
func (n *Node) peerAddr(id peer.ID) (string, bool) {
	conns := n.host.Network().ConnsToPeer(id)
	if len(conns) == 0 {
		return "", false
	}
	best := conns[0]
	for _, c := range conns {
		if !c.Stat().Limited && !isRelayed(c.RemoteMultiaddr()) {
			best = c
			break
		}
	}
	return fullAddr(best.RemoteMultiaddr(), id)
}

// fullAddr is a with /p2p/<id> appended.
func fullAddr(a ma.Multiaddr, id peer.ID) (string, bool) {
	p2p, err := ma.NewComponent("p2p", id.String())
	if err != nil {
		return "", false
	}
	return a.Encapsulate(p2p.Multiaddr()).String(), true
}

// MaxKnownPeers is how many disconnected peers KnownPeers remembers: when one
// more leaves, the one that left longest ago is forgotten. A node reachable
// from the internet meets peers without end; each remembered one costs some
// 300 bytes.
const MaxKnownPeers = 256

// KnownPeer is a peer the node has been connected to since it opened (see
// KnownPeers).
type KnownPeer struct {
	// ID is the peer's ID.
	ID string
	// Addr is the full multiaddr, ending in /p2p/<ID>, of its connection as
	// ActivePeers gives it while it is connected, or else of the last
	// connection it had (a direct one's rather than a relayed one's when it
	// had both).
	Addr string
	// Connected reports whether the node is connected to it now.
	Connected bool
	// LastSeen is when its last connection closed; zero while it is
	// connected.
	LastSeen time.Time
}

// KnownPeers returns the peers connected now, sorted by address as
// ActivePeers sorts them, then the last MaxKnownPeers gossipdb nodes that
// were connected since the node opened and no longer are, the one that left
// last first (a peer that left without identify telling that it serves
// catch-up, such as another node's AutoNAT dial-back, is not kept). A node
// does not remember peers across a restart. It returns an empty slice, not
// nil, when there are none, and nil after Close. The slice is the caller's.
// It is safe for concurrent use.
func (n *Node) KnownPeers() []KnownPeer {
	if n.closing() {
		return nil
	}
	net := n.host.Network()
	out := []KnownPeer{}
	listed := map[peer.ID]bool{}
	for _, id := range net.Peers() {
		if addr, ok := n.peerAddr(id); ok {
			out = append(out, KnownPeer{ID: id.String(), Addr: addr, Connected: true})
			listed[id] = true
		}
	}
	slices.SortFunc(out, func(a, b KnownPeer) int { return strings.Compare(a.Addr, b.Addr) })
	connected := len(out)
	pe := &n.peerEvents
	pe.knownMu.Lock()
	now := time.Now()
	for id, k := range pe.known {
		if listed[id] {
			continue
		}
		left := k.left
		if left.IsZero() {
			left = now // its close is being announced
		}
		out = append(out, KnownPeer{ID: id.String(), Addr: k.addr, LastSeen: left})
	}
	pe.knownMu.Unlock()
	slices.SortFunc(out[connected:], func(a, b KnownPeer) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// isRelayed reports whether a is a Circuit Relay address.
func isRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// peerEvents logs peer connections, wakes bootstrap re-dialers on
// disconnects and remembers the peers that were connected (KnownPeers). A
// peer is logged as connected at info level once catch-up records it (a
// gossipdb node, as identify tells: see catchUp.peerChanged), and as
// disconnected at info level when its record goes; other peers, and those
// that leave before identify tells, at debug level.
type peerEvents struct {
	n *Node

	mu      sync.Mutex
	waiters map[peer.ID]chan struct{} // bootstrap peers' wake-ups

	knownMu sync.Mutex
	known   map[peer.ID]*knownPeer // connected now, or among the last MaxKnownPeers that left
	gone    int                    // entries of known that left
	left    uint64                 // peers that left so far: their order
}

// knownPeer is what peerEvents remembers of a peer.
type knownPeer struct {
	addr string    // full multiaddr of its last connection, a direct one's if it had one
	left time.Time // when its last connection closed; zero while connected
	seq  uint64    // when it left, among those that left: peerEvents.left then
	node bool      // identify told that it serves catch-up: a gossipdb node
}

// seen records that p's connection at addr opened or closed, as the network
// is when the lock is held: libp2p announces connections after the fact and
// those of different connections concurrently, so each announcement reads
// the peer's state afresh, and the record is true after the last one.
func (pe *peerEvents) seen(net network.Network, p peer.ID, addr ma.Multiaddr) {
	pe.knownMu.Lock()
	defer pe.knownMu.Unlock()
	k := pe.known[p]
	if k == nil {
		k = &knownPeer{}
		pe.known[p] = k
	} else if !k.left.IsZero() {
		pe.gone--
	}
	if full, ok := fullAddr(addr, p); ok && (k.addr == "" || !isRelayed(addr)) {
		k.addr = full
	}
	if pe.n.servesCatchUp(p) {
		k.node = true
	}
	if net.Connectedness(p) == network.Connected {
		k.left = time.Time{}
		return
	}
	if !k.node {
		// Not a gossipdb node, or one that left before identify told: a
		// plain libp2p peer, or another node's AutoNAT dial-back, which
		// comes from a new peer ID every time. Listing those would push
		// the nodes that left out of the list.
		delete(pe.known, p)
		return
	}
	k.left = time.Now()
	pe.left++
	k.seq = pe.left
	pe.gone++
	if pe.gone <= MaxKnownPeers {
		return
	}
	var oldest peer.ID
	for id, o := range pe.known {
		if !o.left.IsZero() && (oldest == "" || o.seq < pe.known[oldest].seq) {
			oldest = id
		}
	}
	delete(pe.known, oldest)
	pe.gone--
}

// identified records that p, whose connection seen recorded, serves
// catch-up, as identify has just told. The record keeps it: a node that
// closes unregisters its protocols first, and identify may tell its peers so
// before the connection closes, after which the peerstore no longer says
// that it was a gossipdb node.
func (pe *peerEvents) identified(p peer.ID) {
	pe.knownMu.Lock()
	defer pe.knownMu.Unlock()
	if k := pe.known[p]; k != nil {
		k.node = true
	}
}

func (pe *peerEvents) bundle() *network.NotifyBundle {
	return &network.NotifyBundle{
		ConnectedF: func(net network.Network, c network.Conn) {
			p := c.RemotePeer()
			pe.seen(net, p, c.RemoteMultiaddr())
			if connected, _ := pe.n.catchUp.peerChanged(p, len(net.ConnsToPeer(p)) == 1); connected {
				pe.n.log.Info("Peer connected", logKeyPeer, p.String(), logKeyAddr, c.RemoteMultiaddr().String())
			}
		},
		DisconnectedF: func(net network.Network, c network.Conn) {
			pe.seen(net, c.RemotePeer(), c.RemoteMultiaddr())
			_, disconnected := pe.n.catchUp.peerChanged(c.RemotePeer(), false)
			if disconnected {
				pe.n.log.Info("Peer disconnected", logKeyPeer, c.RemotePeer().String())
			}
			// A connection that closed before catch-up recorded it changes
			// no record, but a bootstrap peer left unconnected is dialled
			// again all the same.
			if net.Connectedness(c.RemotePeer()) == network.Connected {
				return
			}
			if !disconnected {
				pe.n.log.Debug("Peer disconnected", logKeyPeer, c.RemotePeer().String())
			}
			pe.mu.Lock()
			ch := pe.waiters[c.RemotePeer()]
			pe.mu.Unlock()
			if ch != nil {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		},
	}
}

// keepConnected dials the bootstrap peer info now and again whenever the
// connection drops, with backoff, until the node closes. The first failed
// dial of an outage is logged at warn level, the retries that follow at debug
// level (they come every redialMax), and the end of the outage at info level,
// whichever side dialled.
func (n *Node) keepConnected(info peer.AddrInfo) {
	wake := make(chan struct{}, 1)
	n.peerEvents.mu.Lock()
	n.peerEvents.waiters[info.ID] = wake
	n.peerEvents.mu.Unlock()
	n.host.ConnManager().Protect(info.ID, bootstrapTag)
	backoff := redialMin
	down := false      // a dial has failed since the last success: the warning is out
	connected := false // the peer was connected when the outage began
	for {
		if n.host.Network().Connectedness(info.ID) != network.Connected {
			ctx, cancel := context.WithTimeout(network.WithForceDirectDial(n.ctx, "bootstrap"), dialTimeout)
			err := n.host.Connect(ctx, info)
			cancel()
			if err != nil {
				if n.ctx.Err() != nil {
					return
				}
				if !down {
					// Only the warning explains: the hints may look names
					// up, which the retries, every redialMax, need not.
					err = fmt.Errorf("%w%s%s", err, handshakeHint(err, connected), n.unresolvedHint(info.Addrs))
					n.log.Warn("Bootstrap peer unreachable; retrying until it answers", logKeyPeer, info.ID.String(), logKeyError, err)
					down = true
				} else {
					n.log.Debug("Bootstrap peer unreachable", logKeyPeer, info.ID.String(), logKeyError, err, logKeyRetryIn, backoff)
				}
				select {
				case <-n.ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, redialMax)
				continue
			}
		}
		// Connected, by this dial or by the peer's own (a restarted peer
		// often dials first): the outage is over either way, so the next
		// one is warned of again and re-dialled from redialMin.
		if down {
			n.log.Info("Bootstrap peer reachable again", logKeyPeer, info.ID.String())
			down = false
		}
		connected = true
		backoff = redialMin
		select {
		case <-n.ctx.Done():
			return
		case <-wake:
		case <-time.After(redialMax):
		}
	}
}
