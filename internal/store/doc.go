// Package store keeps a gossipdb node's data in Badger: blocks by CID, each
// document's merged state (with its heads) per collection in ID order, a per-document
// log of blocks by height, collection definitions, subscriptions and small metadata.
//
// All reads and writes go through transactions (Store.View, Store.Update). Tx.Apply
// merges one block into its document inside the caller's transaction, so a block,
// the document's new heads and its new state become visible together at commit or
// not at all. Blocks are applied only after their parents: the caller orders them.
//
// The files follow the records: tx.go has the transaction and its write buffer,
// block.go the blocks by CID, document.go and record.go the document records and
// the scans of a collection, apply.go Apply and new documents, log.go the block
// log, meta.go collections, subscriptions and metadata, check.go Check, and
// files.go and space.go the checks of Badger's files and of free space.
//
// Key layout (one byte prefix per kind of record):
//
//	'c' name                              → canonical collection definition, whose
//	                                        CID is the collection's schema ID
//	'b' block CID                         → block bytes (dag-cbor), or, for a genesis
//	                                        that is its document's only block, the
//	                                        schema ID of its collection; Badger's
//	                                        user metadata says which, and marks a
//	                                        genesis (see tx.go)
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
// A new document costs two records: its document record, which holds the genesis
// block until the document merges a second block, and the genesis's block
// record, which until then holds only the schema ID of the document's collection
// (36 bytes) and then the genesis. Each later block costs three records: block,
// log entry, document record. The heads hash leads the document record so that
// set reconciliation reads 32 bytes per document without decoding anything, and
// the genesis has no log entry because its CID is the document ID.
//
// # Finding a block by CID
//
// Every stored block has a block record, so a block is found by its CID alone,
// as the blocks protocol (which names documents and blocks, not collections)
// needs: one read, and for a genesis that is its document's only block a second
// one, of the document record its block record names. Whether a CID is stored at
// all is one read. Layout 2 gave such a genesis no block record, to keep a new
// document at one record; finding it then tried the document record of every
// collection (one read each, from a list of the collections kept in memory for
// that purpose), and so did every lookup of a CID not stored.
//
// Two other layouts keep one record per new document, and both cost more where
// it matters:
//
//   - Document records keyed by document ID alone, with the schema ID inside.
//     Lookups by CID are then one read, but documents of all collections are
//     interleaved, so each scan of one collection (Docs, DocData, HeadsHashes: a
//     Find, a Fingerprint, and reconciliation, which runs for every subscribed
//     collection with every peer every SyncInterval) reads every collection's
//     records. Built and measured: HeadsHashes of 100 documents took 34 µs alone
//     and 15 ms beside a collection of 10,000 (BenchmarkHeadsHashesBeside, where
//     this layout costs the same, 23 and 52 µs, on the same loaded machine).
//   - Callers passing the collection: the blocks protocol's requests would carry
//     the schema ID, a wire change.
//
// The genesis's block record costs a new document one more Badger record, which
// Badger's commit handles one by one: CreateMany makes 66 allocations and 5.2 KB
// per document against 51 and 4.5 KB with one record; its rates overlapped,
// 34,400–64,500 documents per second against 46,800–69,900, back to back on the
// shared machine. The tables of 100,000 documents that merged only their genesis
// grow from 24 to 33 MiB (BenchmarkOpen). A history applied in one transaction,
// as catch-up does, writes the genesis's block record once: the genesis replaces
// the schema ID before the commit.
//
// # Why the store is internal
//
// Only this module uses the store: the root package, which is the API, and the
// blocks server in internal/blocks. It is not public because it is not an API:
//
//   - Some of its rules are the node's, not checked here: a block is applied
//     only after its schema's Check, PutGenesis is only for a document known to
//     be new, collection definitions are in internal/schema's canonical encoding
//     (which outside programs cannot import). A caller that breaks them loses or
//     corrupts data.
//   - It changes with the node. Its transactions' file changed in 12 of 50
//     commits, and the change that made it internal also removed two readers and
//     changed the key layout; published, each such change would break importers,
//     or wait for a major version.
//   - Its data has a versioned layout, and a store of another layout is refused
//     (ErrLayout): a tool built with another version of this package cannot read
//     the store anyway, so a stable Go API would promise more than the data keeps.
//
// What an outside tool could want of it is served through the API: Node.Check
// runs CheckFiles and Tx.Check on an open node, and an offline checker belongs in
// the gossipdb command, which may import internal packages, so that it opens
// the store with the same code and layout as the node.
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
//
// # Damage
//
// Badger "repairs" some damaged directories by discarding data, and reports no
// damage it meets while reading: a damaged table block reads as the end of its
// table (a listing comes back short, a Get says not found) and a value it cannot
// read from its value log comes back empty, with a log line. So the store checks
// what Badger does not, and refuses rather than lose data silently. Every such
// error matches ErrDamaged; a *DamageError names the file where it is known.
//
// Before badger.Open, Open checks the directory (checkDir in files.go), holding a
// shared lock on it so that another process's compaction cannot look like
// damage. It refuses:
//
//   - a directory with data files (*.sst, *.vlog, *.mem) but no MANIFEST. The
//     MANIFEST is Badger's commit record of which tables make up the store;
//     without it Badger starts an empty store and deletes the tables.
//   - a MANIFEST that does not decode or whose checksums do not match.
//   - a table the MANIFEST lists that is missing.
//   - a table whose footer, index or any block fails its checksum: it reads
//     every table whole. A truncated table otherwise made Badger panic in a
//     goroutine of its own, and a flipped byte made reads skip data silently.
//     This costs one sequential read of the tables at each Open, about 25 ms
//     for the 24 MiB of tables of 100,000 documents of layout 2
//     (BenchmarkOpen); their layout 3 tables are 33 MiB.
//
// It allows what crash recovery leaves, whose data is not lost:
//
//   - tables the MANIFEST does not list. A flush or compaction writes its tables
//     before it records them in the MANIFEST and deletes the tables it replaced
//     after, so a crash in between leaves tables whose data is still in the
//     write-ahead log or in listed tables. Badger deletes them; Open logs each.
//   - the torn tail of a log. Badger cuts the write-ahead logs (*.mem), the last
//     value log and the MANIFEST at their last whole entry. With the default
//     Options every acknowledged write was synced before it was acknowledged, so
//     only writes never acknowledged can be in a torn tail; Badger cannot tell a
//     torn tail from damage inside a log, though (see below).
//
// While the store is open, CheckFiles reads every table again and checks its
// checksums, and every read of a value fails with ErrDamaged where Badger
// returned nothing for a value it holds (values of 1 MiB or more, kept in the
// value log, whose checksums Badger is told to verify).
//
// Not detected: damage inside a write-ahead log or the last value log (Badger
// cuts the log there at Open, so the writes from there on are lost; a value so
// lost fails its reads with ErrDamaged, a write that was still in the
// write-ahead log is gone unnoticed); a MANIFEST that lost whole entries at its
// end (the tables those entries listed are then deleted as unlisted); and damage
// to a table after Open, which reads skip silently until CheckFiles or the next
// Open finds it. A compaction that reads such a table may carry the loss into
// the tables it writes.
package store
