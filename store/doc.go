// Package store keeps a gossipdb node's data in Badger: blocks by CID, each
// document's merged state (with its heads) per collection in ID order, a per-document
// log of blocks by height, collection definitions, subscriptions and small metadata.
//
// All reads and writes go through transactions (Store.View, Store.Update). Tx.Apply
// merges one block into its document inside the caller's transaction, so a block,
// the document's new heads and its new state become visible together at commit or
// not at all. Blocks are applied only after their parents: the caller orders them.
//
// Key layout (one byte prefix per kind of record):
//
//	'c' name                              → canonical collection definition
//	'b' block CID                         → block bytes (dag-cbor); Badger's user
//	                                        metadata marks a genesis block
//	'd' schema ID, document ID (string)   → hash of the document's sorted heads (32
//	                                        bytes), then its state (crdt.State encoding)
//	'l' document CID, height (8 bytes BE), block CID → the block's size (uvarint):
//	                                        the document's block log, for every
//	                                        block but the genesis
//	's' name                              → empty: a subscribed collection
//	'm' key                               → metadata, among it the layout version
//
// A new document therefore costs two records, its genesis block and its document
// record, and each later block three. The heads hash leads the document record so
// that set reconciliation reads 32 bytes per document without decoding the state,
// and the genesis has no log entry because its CID is the document ID.
package store
