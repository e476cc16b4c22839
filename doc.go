// Package gossipdb is an embedded database for peer-to-peer document sync.
//
// A Node keeps typed documents in a Badger store and shares them over libp2p. A
// Collection is defined in GraphQL SDL; its schema ID (the CID of its canonical
// definition) is the same on every peer with the same fields, and is the name of
// the collection's GossipSub topic. Every change to a document is a
// content-addressed Merkle-CRDT block (package crdt) that names the heads it
// builds on; a node stores it, its document's new heads and state in one
// transaction, then publishes it.
//
// Nodes subscribed to a collection validate and merge the blocks they receive:
// last writer wins per field by (height, CID), counters add up, add-wins sets
// keep every element some node added and no node removed after seeing it, delete
// wins. A relation field holds another document's ID: a local write checks it
// names no document of another collection, a received block only that it is a
// document ID (see relation.go). A
// block whose ancestors are missing waits, within a budget in bytes
// (Options.OrphanBytes, with a share per peer), while a fixed pool of workers
// fetches the whole gap from a peer in one round trip; over the budget the
// oldest wait is dropped and catch-up repairs it. GossipSub peer scoring
// ignores peers that send invalid messages or whose blocks' history cannot be
// completed; the latter are also disconnected for a while. Gossip may lose messages, so subscribed nodes also
// reconcile each collection with each peer (range-based set reconciliation)
// when they subscribe, when a peer connects and periodically, pulling only the
// documents that differ.
//
// A collection keeps its identity across versions of its definition: its schema
// ID is that of its first version, and Collection.Patch adds a later version that
// names its parent, with fields that keep their identity (a key) across renames.
// Blocks name the version they were written under; a node that meets a version it
// does not know fetches its definition from the peer that sent the block
// (/gossipdb/versions/1, versions.go), checks it against its parent, stores it
// and checks the block against it. Each node reads through its own active
// version; fields of other versions stay in the state and are passed on.
//
// Node.Update runs a function over documents of any collections in one
// transaction (a Txn): it commits with one store transaction, or writes nothing.
// Its blocks carry the transaction's ID, and its last block in each collection
// (the seal) counts them, so a receiver holds them, within a budget in bytes
// (Options.TxnBytes), until it has every one, then merges them in one store
// transaction: peers see a transaction's changes to a collection all at once
// (txn.go, txnhold.go, internal/txns).
//
// A node keeps free space on the disk of its data directory (Options.DiskReserve,
// plus room for the store's compactions; see package store, "Disk space"). A write
// that would use it fails with ErrNoSpace and writes nothing, reads go on, received
// blocks wait and catch-up brings them once space is freed, and writes resume by
// themselves.
//
// A node finds peers by itself: given one peer, it finds the other subscribers
// of its collections through a private DHT among gossipdb nodes (unless
// Options.NoDiscovery); with Options.MDNS it also finds nodes on the local
// network. Behind a NAT it reserves a slot on a relay and then connects
// directly by hole punching; Options.RelayService makes a node a relay.
//
// A deployment can refuse every outsider at the transport: Options.NetworkKey
// makes a private network of the nodes that share a pre-shared key (TCP only),
// and Options.AllowedPeers lists the only peers a node connects with (the
// connection gater of private.go). Peers that send invalid blocks or blocks
// whose history nobody can supply lose their standing: GossipSub's peer score
// ignores them and the node disconnects and refuses them (pubsub.go, "Peer
// scoring"; docs/SECURITY.md).
//
// One word per concept, in the code as here: catch-up is the process that
// makes a subscriber hold what a peer holds, one session per (collection, peer):
// reconcile (the set-reconciliation step, internal/reconcile), then pull the
// documents that differ (internal/blocks). When sessions run, and which session
// pulls a document that several peers hold (so that its blocks travel once, and
// a silent peer delays them by seconds only), is decided by the pure
// Scheduler and Claims of internal/catchup; catchup.go is their I/O. The
// public Sync and SyncStatus keep the API's word for the same thing.
//
// Open a node with Open, define collections with AddCollection, connect with
// Connect (or Options.Peers) and start receiving with Subscribe. All methods of
// Node and Collection are safe for concurrent use.
//
// # Queries and indexes
//
// Collection.Query selects a collection's live documents with DefraDB's filter
// language written as Go values (Filter: _eq _ne _gt _ge _lt _le _in _nin
// _like _nlike _ilike _nilike, combined with _and _or _not), orders them
// (Order, by fields or by "_docID", the document ID breaking ties), pages
// them (Limit, Offset, and a keyset cursor from Collection.Cursor) and streams
// them. Count and Aggregate (sum, avg, min, max) take the same filters; Find
// is sugar over Query for equality. A relation field (author: Author) reads
// as the ID it holds, which Get reads and a filter compares; the inverse
// side (books: [Book] on Author) holds nothing, and Collection.Related reads
// it: the books whose author is one document, through the index of the
// relation field, with a Query's filter, order and page. RelatedQuery gives
// that query, for Explain, Count, Aggregate and transactions. A Txn reads
// with Get, Query, Related, Count and Aggregate, seeing its own writes. A query names fields as the collection's
// active version does, read once per query, and sees the values Get shows (a
// default for a field a document never had, 0 for an unset counter). A query
// reads the store in pages, each from a consistent snapshot, so it never
// blocks writes or merges.
//
// Secondary indexes (Index) are declared in the SDL (@index on a field, or
// DefraDB's composite @index(includes: […]) on a type) or added with
// CreateIndex, and built in the background when the collection already holds
// documents; each relation field gets one of its own (see Index). They are local: they change neither the schema ID nor what peers
// exchange. Every change to a document's state, local or merged (a
// last-writer-wins field whose winner flips, a counter, a delete), changes its
// index entries in the same transaction, and Node.Check verifies them. An
// index names its fields by key (crdt.Field.ID), so it keeps serving a field a
// patch renames. The planner (plan.go) uses the best ready index for equality,
// _in, ranges and ordering, but never one on a field with a default or a
// counter (an entry holds what the state holds, not what the version reads), and Collection.Explain says which one it used and how much it read;
// other filters scan every document, reading from each record only the fields
// the filter tests.
//
// # Change feed
//
// Every change a node applies, local or merged from a peer, gets a position in
// one sequence per node that survives restarts, and an entry written in the
// same transaction as the change (see package store, "Change feed"): the
// document, the kind, the block, where it came from and the document's values
// after it. Collection.Changes streams a collection's entries after a position
// and then follows new ones: an application that saves the position of the
// last change it processed and passes it back never misses a change and never
// gets one twice, across restarts of itself or of the node. Positions are given
// in memory as transactions commit, without a record every writer would
// conflict on, and readers read only up to the first position of a
// transaction still running (store.Watermark), so following the feed never
// skips a change that commits late. A block's entry comes after its parents'.
// An update concurrent with a delete of its document is reported as
// EventOverridden, with its values, on every node. The oldest positions are
// compacted beyond Options.ChangeRetention; reading from one fails with
// ErrCompacted.
//
// Watch stays the in-memory shortcut: it reports blocks from now, without
// values, and drops events for a slow reader; it is not built on the feed,
// but each event has the kind the feed gives its block, which the store
// decides as it merges the block (store.Tx.Kind; see Event).
//
// # Logs
//
// A node logs to Options.Logger (nil: nowhere). Attribute keys form one
// vocabulary across the node, its internal servers and the gossipdb command:
// lowerCamelCase words (peer, collection, error, addr, block, doc, docs, blocks,
// bytes, rounds, duration), except three keys that keep the spelling of the seed
// walkthrough's log lines, which users know: PeerID is this node's own peer ID,
// SenderId the peer a gossip message came through (messages are not signed, so
// not necessarily its author) and Topic a collection's schema ID
// (the name of its topic). A remote peer is always peer, a collection's name
// always collection; values are strings, numbers or durations, never
// structures (a CID is logged as its string).
//
// # Metrics
//
// Node.Metrics returns the node's counters; Node.Collector exposes them, with
// histograms and gauges, to Prometheus (docs/METRICS.md lists them).
package gossipdb
