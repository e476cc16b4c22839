package gossipdb

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/gossipdb/gossipdb/internal/orphans"
	"github.com/gossipdb/gossipdb/internal/store"
)

// MinDiskReserve is the smallest Options.DiskReserve a node accepts, in bytes
// (about 83 MiB): what the store may still need to write after its last accepted
// write, the flush of a full memtable and one batch in flight.
const MinDiskReserve = store.MinReserve

// MaxFetchWorkers is the most Options.FetchWorkers may be: each worker is a
// goroutine and a stream, and up to 4 MiB of blocks, kept whatever the traffic.
const MaxFetchWorkers = 1024

// Options configure a Node. A nil *Options means DefaultOptions(); a zero field
// means that field's default.
type Options struct {
	// ListenAddrs are the multiaddrs the libp2p host listens on.
	// Default: /ip4/127.0.0.1/tcp/0 (loopback, an ephemeral port). Listen on a
	// routable address only where peers on other machines must reach the node.
	// TCP and QUIC work: add /ip4/…/udp/PORT/quic-v1 beside the TCP address to
	// give hole punching across NATs its best odds (UDP holes open more
	// reliably than TCP ones). With NetworkKey, TCP only. Any other address
	// (/udp without /quic-v1, /ws, …) fails validation.
	ListenAddrs []string

	// Peers are full multiaddrs (ending in /p2p/<peer ID>) dialled at Open. They stay
	// bootstrap peers for the node's lifetime: a dropped connection to one is
	// re-dialled with backoff (at most 5 s apart), and a peer that cannot be
	// reached is logged at warn level once, until it is reached again. The
	// node's own address is refused at Open. Default: none.
	Peers []string

	// Logger receives the node's logs. Default nil: silent.
	Logger *slog.Logger

	// NoSync skips the fsync at each commit. Writes become several times faster, but
	// those acknowledged just before an operating-system crash or power loss may be
	// lost (a crash of the process alone loses nothing). Default false: a write that
	// returned nil is on disk; writes that commit at the same time share one
	// fsync. Ignored by in-memory nodes.
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
	// store writes through memory-mapped files; see internal/store's package
	// doc, "Disk space"). Writes resume by themselves once space is freed, and
	// catch-up then brings the blocks not merged. Default 128 MiB (two of the
	// store's memtables); at least MinDiskReserve. More leaves room for other
	// programs' files, at the cost of disk space the node never uses. Ignored by
	// in-memory nodes.
	DiskReserve int64

	// SmallMemory sizes the store for a device with little memory: its engine
	// (Badger) keeps three eighths of the data in memory before it writes it to
	// disk. After 100,000 documents written in a burst, with the Go memory
	// limit at 48 MiB as `gossipdb start --small-memory` sets it, the process
	// held 53 MiB of anonymous memory (the Go heap and runtime), against 168
	// MiB with the defaults; its resident set also counts the pages of the
	// store's files that are mapped in memory (about the store's size on disk),
	// which the kernel reclaims when memory runs short (docs/BENCHMARKS.md,
	// "Memory"; internal/store's package doc, "Memory"). It trades:
	//   - write throughput: the memtable is 24 MiB, not 64, so it is flushed
	//     to disk more often, and writes wait for a flush sooner (one full
	//     memtable may wait for its flush, not five);
	//   - the largest transaction: what one transaction (CreateMany, a Txn of
	//     Node.Update) may write at once is three eighths as large, about 3.7
	//     MB with the records that come with the blocks; a larger one fails
	//     with ErrTooLarge, and a peer's transaction that large cannot be
	//     merged here (received blocks are otherwise merged in smaller
	//     transactions, and a single block of the largest size always is);
	//   - reads of data not in the operating system's page cache: no block
	//     cache keeps recently read table blocks parsed.
	// It does not set the Go runtime's memory limit, which is the whole
	// process's: a program that wants the Go heap kept small too sets it
	// (runtime/debug.SetMemoryLimit or GOMEMLIMIT), as `gossipdb start
	// --small-memory` does (48 MiB, or 90% of a smaller container's limit).
	// Default false. An in-memory node holds all its data in memory whatever
	// this says.
	SmallMemory bool

	// NewIdentity lets Open create a new identity key, hence a new peer ID, when
	// dir holds a store but no identity key (the file was lost). Peers and
	// bootstrap lists that know the old peer ID no longer reach the node. Default
	// false: Open refuses such a directory with ErrDamaged naming the missing file,
	// so that a lost key is noticed rather than silently replaced. A new directory
	// always gets a new key; a damaged key file is refused whatever this says (move
	// it away to start with a new identity). Ignored by in-memory nodes.
	NewIdentity bool

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
	// "Relays"): at most 128 reservations, 16 circuits per peer, 2 minutes and
	// 128 KiB each way per circuit. The node then takes itself to be reachable from outside
	// rather than asking AutoNAT. Default false: turn it on for nodes with a
	// public address.
	RelayService bool

	// Relays are full multiaddrs of relays the node reserves a slot on when
	// AutoNAT finds it unreachable from outside; connected peers that offer a
	// relay service are used too. Default: none.
	Relays []string

	// WatchBuffer is how many events each Watch channel holds for a slow reader
	// before it starts dropping them (it then delivers one EventDropped saying how
	// many were lost). Default 4096. A queued event costs up to some 350 bytes
	// (the events of one write are shared by the watches of its collection),
	// and a watch also holds those it took from its queue and is handing over
	// to the reader, at most as many again: up to some 2.8 MiB per watch by
	// default.
	WatchBuffer int

	// ChangeRetention is how many positions of the change feed (see
	// Collection.Changes) the node keeps at least, counted node-wide: older
	// entries are deleted once an eighth more have accumulated, and a reader
	// asking for them gets ErrCompacted and must rescan. An entry costs about
	// 60 bytes plus the document's values (its genesis block for a create, its
	// encoded state otherwise) on disk.
	// More lets applications stay stopped longer without a rescan, at the cost
	// of disk space. Default 1,000,000.
	ChangeRetention int64

	// OrphanBytes bounds the memory held, node-wide, by received blocks that wait
	// for their missing ancestors to be fetched. A block counts twice its encoded
	// size (its bytes and its decoded fields) plus 1 KiB. Over the budget the
	// oldest are dropped (Metrics.EvictedOrphans) and catch-up brings them later.
	// More rides out longer gaps without falling back on catch-up; every byte of
	// it is memory any peer can make the node hold. Default 64 MiB; at least
	// OrphanPeerBytes.
	OrphanBytes int64

	// OrphanPeerBytes is the share of OrphanBytes that the blocks delivered
	// through one connected peer may use: a peer over it loses its own oldest
	// orphans, not other peers'. Less protects honest peers' orphans from a flood
	// sooner; more lets one peer fill more gaps at once. Default 16 MiB; at least
	// 2 MiB + 1 KiB (one block of the largest size).
	OrphanPeerBytes int64

	// TxnBytes bounds the memory held, node-wide, by received blocks of
	// transactions that wait for the transaction's other blocks (a transaction
	// is merged whole or not at all; see Txn), and by later blocks that build on
	// them, counted as for OrphanBytes. Over the budget whole transactions are
	// dropped, oldest first (Metrics.EvictedTxnBlocks), and catch-up brings them
	// later. A transaction larger than TxnPeerBytes never arrives whole, so keep
	// it above what the largest transaction costs (at most about 25 MiB: see
	// MaxTxnBytes and crdt.MaxTxnParts). Default 64 MiB; at least TxnPeerBytes.
	TxnBytes int64

	// TxnPeerBytes is the share of TxnBytes that the transactions whose first
	// block came through one connected peer may use: a peer that sends parts of
	// transactions and never the rest loses its own oldest, not other peers'.
	// Default 32 MiB; at least 2 MiB + 1 KiB (one block of the largest size).
	TxnPeerBytes int64

	// InboxBytes bounds the received blocks that wait, in each subscribed
	// collection, for the merge worker, counted as for OrphanBytes. Gossip that
	// finds the inbox full, or finds its sender holding half of it, is dropped
	// (Metrics.DroppedMessages; catch-up repairs); fetched and caught-up blocks
	// wait for room. More absorbs longer bursts; every byte of it is memory peers
	// can make the node hold. Default 32 MiB.
	InboxBytes int64

	// FetchWorkers is how many missing histories the node fetches at once: a
	// fixed pool of goroutines, whatever the traffic. Up to 1,024 more documents
	// wait for a worker; past that the longest-waiting one is dropped
	// (Metrics.DroppedFetches) and catch-up repairs it. More fills gaps faster
	// when many documents have them, at the cost of one stream and up to 4 MiB
	// of blocks each. Default 8; at most MaxFetchWorkers.
	FetchWorkers int

	// NetworkKey makes the node a member of a private network: a pre-shared key
	// of NetworkKeySize bytes (GenerateNetworkKey; ReadNetworkKeyFile reads the
	// swarm.key files of libp2p and IPFS) that every connection is encrypted
	// with before its handshake, so that nodes without the same key cannot
	// connect at all, in either direction, nor through a relay. libp2p applies
	// it to TCP only: with a key the node runs no QUIC transport, and
	// ListenAddrs, Peers or Relays over UDP fail validation. Hole punching
	// then relies on TCP, which works across fewer NATs. Default nil: an open
	// network. The slice is read at Open and not kept.
	NetworkKey []byte

	// AllowedPeers, when not empty, are the peer IDs the node alone connects
	// with: the connection gater refuses to dial any other peer (whoever asks:
	// Connect, bootstrap, discovery, mDNS, relays) and drops inbound
	// connections from any other as soon as the handshake has proved its ID.
	// Every peer of Peers and Relays must be on it. Default none: every peer
	// may connect (but see NetworkKey). Peers that lose their standing (see
	// docs/SECURITY.md) are refused whether listed or not.
	AllowedPeers []string
}

// DefaultOptions returns the options a nil *Options stands for.
func DefaultOptions() *Options {
	return &Options{
		ListenAddrs:  []string{"/ip4/127.0.0.1/tcp/0"},
		SyncInterval: 30 * time.Second,
		DiskReserve:  store.DefaultReserve,
		WatchBuffer:  4096,

		ChangeRetention: 1_000_000,

		OrphanBytes:        64 << 20,
		OrphanPeerBytes:    16 << 20,
		TxnBytes:           64 << 20,
		TxnPeerBytes:       32 << 20,
		InboxBytes:         32 << 20,
		FetchWorkers:       8,
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
	c.NetworkKey = slices.Clone(o.NetworkKey) // libp2p keeps it; the caller's slice is theirs
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
	if c.ChangeRetention == 0 {
		c.ChangeRetention = d.ChangeRetention
	}
	if c.OrphanBytes == 0 {
		c.OrphanBytes = d.OrphanBytes
	}
	if c.OrphanPeerBytes == 0 {
		c.OrphanPeerBytes = min(d.OrphanPeerBytes, c.OrphanBytes)
	}
	if c.TxnBytes == 0 {
		c.TxnBytes = d.TxnBytes
	}
	if c.TxnPeerBytes == 0 {
		c.TxnPeerBytes = min(d.TxnPeerBytes, c.TxnBytes)
	}
	if c.InboxBytes == 0 {
		c.InboxBytes = d.InboxBytes
	}
	if c.FetchWorkers == 0 {
		c.FetchWorkers = d.FetchWorkers
	}
	return &c
}

// validate rejects option values that cannot work, naming the field.
func (o *Options) validate() error {
	for _, a := range o.ListenAddrs {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			return fmt.Errorf("%w: Options.ListenAddrs: %q: %w", ErrInvalid, a, err)
		}
		if !listenable(m) {
			return fmt.Errorf("%w: Options.ListenAddrs: %q: the node listens on TCP (/ip4/…/tcp/PORT) and QUIC "+
				"(/ip4/…/udp/PORT/quic-v1) addresses only, over /ip4, /ip6 or /dns", ErrInvalid, a)
		}
	}
	for _, a := range o.Peers {
		if _, err := ParseAddr(a); err != nil {
			return fmt.Errorf("Options.Peers: %w", err)
		}
	}
	if o.DiskReserve < MinDiskReserve {
		return fmt.Errorf("%w: Options.DiskReserve: %d is below MinDiskReserve (%d)", ErrInvalid, o.DiskReserve, MinDiskReserve)
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
	if o.ChangeRetention < 0 {
		return fmt.Errorf("%w: Options.ChangeRetention: %d is negative", ErrInvalid, o.ChangeRetention)
	}
	if o.OrphanPeerBytes < orphans.MaxCost {
		return fmt.Errorf("%w: Options.OrphanPeerBytes: %d, want at least %d (one block of the largest size)",
			ErrInvalid, o.OrphanPeerBytes, orphans.MaxCost)
	}
	if o.OrphanBytes < o.OrphanPeerBytes {
		return fmt.Errorf("%w: Options.OrphanBytes: %d, want at least Options.OrphanPeerBytes (%d)",
			ErrInvalid, o.OrphanBytes, o.OrphanPeerBytes)
	}
	if o.TxnPeerBytes < orphans.MaxCost {
		return fmt.Errorf("%w: Options.TxnPeerBytes: %d, want at least %d (one block of the largest size)",
			ErrInvalid, o.TxnPeerBytes, orphans.MaxCost)
	}
	if o.TxnBytes < o.TxnPeerBytes {
		return fmt.Errorf("%w: Options.TxnBytes: %d, want at least Options.TxnPeerBytes (%d)",
			ErrInvalid, o.TxnBytes, o.TxnPeerBytes)
	}
	if o.InboxBytes < 0 {
		return fmt.Errorf("%w: Options.InboxBytes: %d is negative", ErrInvalid, o.InboxBytes)
	}
	if o.FetchWorkers < 0 || o.FetchWorkers > MaxFetchWorkers {
		return fmt.Errorf("%w: Options.FetchWorkers: %d, want 0 (the default) to %d", ErrInvalid, o.FetchWorkers, MaxFetchWorkers)
	}
	if o.NetworkKey != nil {
		if len(o.NetworkKey) != NetworkKeySize {
			return fmt.Errorf("%w: Options.NetworkKey: %d bytes, want %d", ErrInvalid, len(o.NetworkKey), NetworkKeySize)
		}
		if err := checkPrivateNetwork("Options.ListenAddrs", o.ListenAddrs); err != nil {
			return err
		}
		if err := checkPrivateNetwork("Options.Peers", o.Peers); err != nil {
			return err
		}
		if err := checkPrivateNetwork("Options.Relays", o.Relays); err != nil {
			return err
		}
	}
	_, err := o.checkAllowedPeers()
	return err
}

// listenable reports whether one of the node's transports (see newHost)
// listens on a: an IP address or a DNS name, then /tcp/PORT or
// /udp/PORT/quic-v1. libp2p fails only when it can listen on none of
// ListenAddrs, and leaves the others out without a word.
func listenable(a ma.Multiaddr) bool {
	ps := a.Protocols()
	if len(ps) < 2 {
		return false
	}
	switch ps[0].Code {
	case ma.P_IP4, ma.P_IP6, ma.P_DNS, ma.P_DNS4, ma.P_DNS6:
	default:
		return false
	}
	switch {
	case len(ps) == 2:
		return ps[1].Code == ma.P_TCP
	case len(ps) == 3:
		return ps[1].Code == ma.P_UDP && ps[2].Code == ma.P_QUIC_V1
	}
	return false
}
