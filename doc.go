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
// last writer wins per field by (height, CID), counters add up, delete wins. A
// block whose ancestors are missing makes the node fetch the whole gap from a
// peer in one round trip. Gossip may lose messages, so subscribed nodes also
// reconcile each collection with each peer (range-based set reconciliation)
// when they subscribe, when a peer connects and periodically, pulling only the
// documents that differ.
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
// Open a node with Open, define collections with AddCollection, connect with
// Connect (or Options.Peers) and start receiving with Subscribe. All methods of
// Node and Collection are safe for concurrent use.
package gossipdb
