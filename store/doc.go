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
//
// # Counts
//
// Store.Counts gives the number of documents and blocks of a collection without
// reading any record: Open counts them once, and every committed transaction then
// adds what it wrote. A document is counted by PutGenesis and a block by
// PutGenesis and by each Apply that stores it; a transaction that fails or rolls
// back adds nothing. Open counts from keys alone: the document records' keys (a
// document and its genesis each), then the log's keys (the other blocks), about
// 0.1 s for 100,000 documents and 50,000 changes. A log entry belongs to its
// document's collection: when the store holds more than one collection, Open
// looks that up, one key read per document with changes (0.35 s more for those
// 50,000 on the shared benchmark machine).
//
// # Disk space
//
// Badger writes its memtable logs and its tables through memory-mapped files
// that it extends sparsely, so a write into them on a full filesystem is not an
// error but a fault (SIGBUS) that kills the process. Which is why the store
// keeps free space and refuses writes before Badger runs out of it:
//
//   - Update checks the filesystem's free space (statfs, for an unprivileged
//     user) before it commits a transaction that writes anything. When committing
//     would leave less than Options.Reserve plus the room compactions need, the
//     transaction fails with ErrNoSpace and writes nothing. Reads (View) are never
//     refused, and each later write checks again, so writes resume by themselves
//     once space is freed.
//   - The reserve (DefaultReserve, 128 MiB: two 64 MiB memtables; at least
//     MinReserve) is what Badger may still need after the last accepted write:
//     the flush of a full memtable to a level-0 table as large as the memtable,
//     which happens in the background and at Close, and the batches in flight.
//   - Compactions write all their output before they delete their input. The
//     room they need is added to the reserve at each check, from Badger's level
//     sizes: level 0 and the base level whole (the largest compaction merges
//     them), plus, at most the size of the lower levels, NumCompactors times
//     LevelSizeMultiplier tables of the largest target size. For a small store,
//     all in level 0 and the base level, that room is as large as the store, so
//     such a store fills about half of the disk space beyond the reserve.
//   - Open refuses with ErrNoSpace when the free space is below what Badger's
//     Open writes: the memtables a previous run left unflushed (as large as their
//     logs) plus 4 MiB for new logs and the pages replay reads (tmpfs allocates
//     those too). A store that stopped at its reserve always has that much. A
//     new store also needs the reserve free, to record its layout version.
//
// The check is cheap: a statfs per writing commit, and Badger's level sizes
// read again at most every 10 ms (about 1.5 µs a commit in all). It
// guards against the store's own writes; another program that fills the disk
// can still starve Badger of the reserve. On systems other than Linux, macOS
// and FreeBSD it is not made.
package store
