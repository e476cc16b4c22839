package gossipdb

import (
	"fmt"
	"log/slog"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/gossipdb/gossipdb/store"
)

// Options configure a Node. A nil *Options means DefaultOptions(); a zero field
// means that field's default.
type Options struct {
	// ListenAddrs are the multiaddrs the libp2p host listens on.
	// Default: /ip4/127.0.0.1/tcp/0 (loopback, an ephemeral port). Listen on a
	// routable address only where peers on other machines must reach the node.
	// TCP and QUIC work: add /ip4/…/udp/PORT/quic-v1 beside the TCP address to
	// give hole punching across NATs its best odds (UDP holes open more
	// reliably than TCP ones).
	ListenAddrs []string

	// Peers are full multiaddrs (ending in /p2p/<peer ID>) dialled at Open. They stay
	// bootstrap peers for the node's lifetime: a dropped connection to one is
	// re-dialled with backoff. Default: none.
	Peers []string

	// Logger receives the node's logs. Default nil: silent.
	Logger *slog.Logger

	// NoSync skips the fsync at each commit. Writes become several times faster, but
	// those acknowledged just before an operating-system crash or power loss may be
	// lost (a crash of the process alone loses nothing). Default false: a write that
	// returned nil is on disk. Ignored by in-memory nodes.
	NoSync bool

	// SyncInterval is how often every subscribed collection is reconciled with every
	// connected peer as a backstop for lost gossip (catch-up also runs at each
	// Subscribe and each new connection). Shorter heals losses sooner at the cost
	// of a few hundred bytes per collection and peer each time. Negative disables
	// the backstop. Default 30s.
	SyncInterval time.Duration

	// DiskReserve is the free space, in bytes, the node keeps on the filesystem of
	// its data directory, besides the room its store's compactions need: a write,
	// or a merge of received blocks, that would leave less fails with ErrNoSpace
	// and writes nothing, so that a full disk is an error and not a crash (the
	// store writes through memory-mapped files; see the store package, "Disk
	// space"). Writes resume by themselves once space is freed, and catch-up
	// then brings the blocks not merged. Default store.DefaultReserve (128 MiB);
	// at least store.MinReserve (about 83 MiB). More leaves room for other
	// programs' files, at the cost of disk space the node never uses. Ignored by
	// in-memory nodes.
	DiskReserve int64

	// MDNS announces the node on the local network with multicast DNS (service
	// "_gossipdb._udp") and connects to the gossipdb nodes it hears there. Default
	// false: an embedded database should not tell everyone on a café's Wi-Fi that
	// it runs, nor connect by itself to strangers' nodes; turn it on for a home,
	// office or edge LAN where nodes should find each other with no configuration.
	MDNS bool

	// NoDiscovery turns off finding peers by collection. By default every node
	// runs a private Kademlia DHT with its peers (protocol prefix /gossipdb, never
	// the public IPFS DHT), advertises in it the collections it is subscribed to,
	// and looks up and connects to other subscribers until it has
	// PeersPerCollection of them for each collection, so that knowing one peer of
	// the network is enough. Turn it off to connect only to the peers given in
	// Peers, through Connect and over mDNS. Default false.
	NoDiscovery bool

	// PeersPerCollection is how many connected peers subscribed to each of its
	// collections discovery looks for (fewer when fewer exist) and keeps
	// protected from the connection manager. More peers make a collection's
	// gossip mesh (GossipSub's D is 6) more robust at the cost of connections and
	// duplicate messages. Default 6; at most 64.
	PeersPerCollection int

	// RelayService makes the node a Circuit Relay v2 relay: nodes behind NAT
	// reserve a slot on it and are reached through it until hole punching gives a
	// direct connection. Relayed connections are limited (see docs/SECURITY.md,
	// "Relays"): at most 128 reservations, 16 circuits, 2 minutes and 128 KiB each
	// way per circuit. The node then takes itself to be reachable from outside
	// rather than asking AutoNAT. Default false: turn it on for nodes with a
	// public address.
	RelayService bool

	// Relays are full multiaddrs of relays the node reserves a slot on when
	// AutoNAT finds it unreachable from outside; connected peers that offer a
	// relay service are used too. Default: none.
	Relays []string

	// WatchBuffer is how many events each Watch channel holds for a slow reader
	// before it starts dropping them (it then delivers one EventDropped saying how
	// many were lost). Default 4096.
	WatchBuffer int
}

// DefaultOptions returns the options a nil *Options stands for.
func DefaultOptions() *Options {
	return &Options{
		ListenAddrs:  []string{"/ip4/127.0.0.1/tcp/0"},
		SyncInterval: 30 * time.Second,
		DiskReserve:  store.DefaultReserve,
		WatchBuffer:  4096,

		PeersPerCollection: 6,
	}
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o *Options) withDefaults() *Options {
	d := DefaultOptions()
	if o == nil {
		return d
	}
	c := *o
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = d.ListenAddrs
	}
	if c.SyncInterval == 0 {
		c.SyncInterval = d.SyncInterval
	}
	if c.DiskReserve == 0 {
		c.DiskReserve = d.DiskReserve
	}
	if c.PeersPerCollection == 0 {
		c.PeersPerCollection = d.PeersPerCollection
	}
	if c.WatchBuffer == 0 {
		c.WatchBuffer = d.WatchBuffer
	}
	return &c
}

// validate rejects option values that cannot work, naming the field.
func (o *Options) validate() error {
	for _, a := range o.ListenAddrs {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("%w: Options.ListenAddrs: %q: %w", ErrInvalid, a, err)
		}
	}
	for _, a := range o.Peers {
		if _, err := ParseAddr(a); err != nil {
			return fmt.Errorf("Options.Peers: %w", err)
		}
	}
	if o.DiskReserve < store.MinReserve {
		return fmt.Errorf("%w: Options.DiskReserve: %d is below store.MinReserve (%d)", ErrInvalid, o.DiskReserve, store.MinReserve)
	}
	for _, a := range o.Relays {
		if _, err := ParseAddr(a); err != nil {
			return fmt.Errorf("Options.Relays: %w", err)
		}
	}
	if o.PeersPerCollection < 0 || o.PeersPerCollection > maxPeersPerCollection {
		return fmt.Errorf("%w: Options.PeersPerCollection: %d is not between 1 and %d", ErrInvalid, o.PeersPerCollection, maxPeersPerCollection)
	}
	if o.WatchBuffer < 0 {
		return fmt.Errorf("%w: Options.WatchBuffer: %d is negative", ErrInvalid, o.WatchBuffer)
	}
	return nil
}
