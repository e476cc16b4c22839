// Package store keeps a gossipdb node's data in Badger: blocks by CID, each
// document's merged state (with its heads) per collection in ID order, a per-document
// log of blocks by height, collection definitions, subscriptions and small metadata.
//
// All reads and writes go through transactions (Store.View, Store.Update). Tx.Apply
// merges one block into its document inside the caller's transaction, so a block,
// the document's new heads and its new state become visible together at commit or
// not at all. Blocks are applied only after their parents, and a document only
// after its collection (Tx.PutCollection): the caller orders them.
//
// Key layout (one byte prefix per kind of record):
//
//	'c' name                              → canonical collection definition, whose
//	                                        CID is the collection's schema ID
//	'b' block CID                         → block bytes (dag-cbor); Badger's user
//	                                        metadata marks a genesis block
//	'd' schema ID, document ID (string)   → the document record: hash of the
//	                                        document's sorted heads (32 bytes), then
//	                                        the genesis block, or the heads and the
//	                                        state (see record.go)
//	'l' document CID, height (8 bytes BE), block CID → the block's size (uvarint):
//	                                        the document's block log, for every
//	                                        block but the genesis
//	's' name                              → empty: a subscribed collection
//	'm' key                               → metadata, among it the layout version
//
// A new document costs one record: its document record holds the genesis block,
// which gets a block record of its own only when the document merges a second
// block (each later block costs three records: block, log entry, document record).
// Looking a genesis up by CID therefore falls back to the document records of the
// known collections, which the store lists in memory. The heads hash leads the
// document record so that set reconciliation reads 32 bytes per document without
// decoding anything, and the genesis has no log entry because its CID is the
// document ID.
package store
