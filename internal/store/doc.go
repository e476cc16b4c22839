// Package store keeps a gossipdb node's data in Badger: blocks by CID, each
// document's merged state (with its heads) per collection in ID order, a per-document
// log of blocks by height, collection definitions, subscriptions and small metadata.
//
// All reads and writes go through transactions (Store.View, Store.Update). Tx.Apply
// merges one block into its document inside the caller's transaction, so a block,
// the document's new heads and its new state become visible together at commit or
// not at all. Blocks are applied only after their parents: the caller orders them.
// Update returns once its commit is on disk; concurrent commits share one sync
// of the write-ahead log (sync.go), and a commit is visible to other
// transactions from the moment Badger made it until that sync ends, a little
// before it is durable: an operating-system crash in between may lose it, but
// its writer was not told it succeeded. UpdateLater, for merges of blocks from
// peers, returns without waiting for that sync, which runs within 10 ms (see
// "Syncing later" in sync.go).
//
// The files follow the records: tx.go has the transaction and its write buffer,
// block.go the blocks by CID, document.go and record.go the document records and
// the scans of a collection, apply.go Apply and new documents, log.go the block
// log, meta.go collections, subscriptions and metadata, index.go the secondary
// indexes, feed.go the change feed, chain.go the policy changes and author
// chains of restricted collections, docdata.go the scans of whole states,
// stats.go Counts, check.go Check, sync.go the group commit that makes commits
// durable, memory.go Badger's memory settings, files.go and space.go the
// checks of Badger's files and of free space, and unclean.go the word an Open
// gives of a store its last user did not close.
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
//	'v' version ID                        → the definition of a later version of a
//	                                        collection (internal/schema's version
//	                                        format), whose CID is the key
//	'a' name                              → the ID of the version collection name
//	                                        reads and writes through; absent: its root
//	's' name                              → empty: a subscribed collection
//	'i' schema ID, index ID (4 bytes BE)  → a secondary index's definition (JSON)
//	'x' index ID, key, document ID        → empty: an index entry (index.go)
//	'f' schema ID, position (8 bytes BE)  → change-feed entries of the collection
//	                                        at consecutive positions ending at the
//	                                        key's (see "Change feed", feed.go)
//	'p' schema ID, change CID             → a policy change of a restricted
//	                                        collection (internal/policy's encoding)
//	'h' schema ID, author key (32 bytes), block CID → when it was recorded (8
//	                                        bytes BE): a head of the author's chain
//	                                        of blocks in a restricted collection,
//	                                        kept with the blocks (chain.go)
//	'm' key                               → metadata, among it the layout version,
//	                                        the next index ID ("nextIndex") and
//	                                        the change feed's floor ("changesFloor"),
//	                                        each collection's (see feed.go)
//
// A new document costs one record: its document record holds the genesis block,
// which gets a block record of its own only when the document merges a second
// block (each later block costs three records: block, log entry, document record).
// The heads hash leads the document record so that set reconciliation reads 32
// bytes per document without decoding anything, and the genesis has no log entry
// because its CID is the document ID.
//
// Once a collection's records have been read whole for reconciliation
// (Items), the store keeps the sum of their items, each document's ID with
// its heads hash, up to date in memory (Summary): every write transaction
// records what it changed in them (a new document's item, a changed heads
// hash), and its commit adds that to the sum before Update returns. From the
// sum follows the fingerprint of the whole collection, so a reconciliation
// between replicas that agree reads no record. Beside the sum the store keeps
// the collection's bucket directory: its items cut, in ID order, into runs of
// 256 with the sum of each, which commits keep up to date item by item (a
// binary search among the runs). A reconciliation that finds a difference reads
// the directory and the runs it needs from one snapshot (SnapshotItems), not
// the whole collection. Runs that commits grow above 4,096 items make the
// directory uneven, and the next whole read cuts it anew.
//
// # Finding a block by CID
//
// Every lookup of a block names the collection it is looked for in: Tx.Block,
// BlockData and GenesisData take the collection's schema ID, and Has reads it
// from the block. Every caller knows it: the root package looks blocks up in a
// Collection, Apply looks for a block's parents in the block's collection, and
// the blocks protocol's requests carry the collection's schema ID (since
// /gossipdb/blocks/2). A lookup reads the block record and, when there is none,
// the document record the CID would have in that collection, where a genesis
// that is its document's only block lives: two reads at most, whatever the
// number of collections, and no lookup tries the collections one by one. A block
// of another collection is not found (ErrNotFound): the lookup compares the
// schema ID at the end of the block's bytes, where dag-cbor's key order puts it,
// without decoding the block (see namesSchema in block.go).
//
// The two other ways to find a genesis-only document's genesis by CID alone cost
// more where it matters, and both were built and measured:
//
//   - A block record for every genesis, naming its collection (layout 3): one
//     more Badger record per new document, which Badger's commit handles one by
//     one. Back to back on the shared machine, CreateMany made 36,200–44,100
//     documents per second with it, under the 50,000 the project targets, and
//     46,800–70,800 with one record (66 allocations and 5.2 KB per document
//     against 51 and 4.5 KB; docs/BENCHMARKS.md); the tables of 100,000
//     genesis-only documents grew from 24 to 33 MiB.
//   - Document records keyed by document ID alone, with the schema ID inside:
//     documents of all collections are then interleaved, so each scan of one
//     collection (Docs, StoredStates, HeadsHashes: a Find, a Fingerprint, and
//     reconciliation, which runs for every subscribed collection with every peer
//     every SyncInterval) reads every collection's records. HeadsHashes of 100
//     documents took 34 µs alone and 15 ms beside a collection of 10,000
//     (BenchmarkHeadsHashesBeside, 23 and 52 µs with the records keyed by
//     collection).
//
// # Change feed
//
// Every document PutGenesis stores and every block Apply merges gets a position
// in one sequence per store, and an entry written in the same transaction as
// the merge: the document ID, the kind (created, updated, deleted, or
// overridden: a change concurrent with a delete, which wins), the block CID,
// the peer it came from (SetOrigin; empty when made on this node), the
// author's key, and the document's values after it. A change's values are
// stored, not referenced, because the state they come from changes later: its
// entry holds the encoded state (the same bytes as the document record,
// encoded once). A created document's values are its genesis block, which
// never changes and which the document's records hold already: its entry
// holds none, and Changes reads the genesis by the document ID, in place: in
// its block record once the document has a state, else (after a miss, which
// costs little) in the document record. A copy would
// double what a CreateMany writes, and so halve how many documents fit in one
// Badger transaction. Readers scan the values without decoding
// (crdt.ScanGenesis, ScanState).
//
// A transaction's entries of one collection are written in records of at most
// 1,024 entries and 256 KiB, keyed by the collection and the last position they
// hold: a CreateMany of 1,000 documents adds one record, not 1,000 (one Badger
// record more per new document cost a third of CreateMany's rate, see above).
// Keying by collection makes a collection's feed one range of keys, read from
// any position with one seek; positions stay one sequence per store.
//
// Positions are not counted in a record: one counter read and written by every
// transaction would make every pair of concurrent writers conflict, and Update
// would run them one after the other. They are handed out in memory when a
// transaction ends, just before its commit, and Open restores the last one from
// the last key of each collection's records (one seek per collection) or the
// floor. The store tracks the positions of transactions not yet committed or
// abandoned; Watermark is below the first of them, and readers read only up to
// it, so that a reader never passes a position that commits later. An
// abandoned or retried transaction leaves a gap. Nor does Watermark pass the
// last position committed: positions abandoned at the end of the feed are
// handed out again after a restart, so a position a reader saved from
// Watermark must not lie among them.
//
// Order: a transaction that merges a block sees its parents committed (or
// merges them itself, first), and those got their positions before it ended,
// so a block's entry comes after its parents'. Within a transaction entries
// keep the order of the Apply calls.
//
// An Apply of a delete into a live document also reports, as overridden, every
// change of the document the delete does not descend from, not only the
// heads, in ascending height: a head with the state before the delete, an
// earlier change with the state of the delete's history and the overridden
// changes up to it, merged in height order, without the delete; an Apply of a change into a deleted document reports the
// change as overridden, with the state after it. A change that writes no value
// (a transaction's seal may be one, after the transaction's own delete or a
// concurrent one) loses nothing and is never reported overridden: merged into
// a live document it is an update, into a deleted one it is reported by what
// it leaves, as deleted with the document's last values, so that no entry
// after a delete tells a reader the document lives. Both nodes of such a race so
// report the same changes, with the same values when one branch raced the
// delete.
//
// A block its collection's Disowned reports as cut off when it is merged
// (TrackChains) leaves the document's state in the same transaction, and gets
// one entry, with the values of the state without it: deleted when the
// document then reads as deleted (its genesis is cut off, or it was deleted),
// else updated. The entries its merge would write (created with the
// genesis's values, or the overridden changes of a cut-off delete) are not
// written: the document never holds those values. Nor does a delete report a
// cut-off change as overridden, or its values in those of the changes it
// does report. A Rebuild after a revocation adds an entry, naming the
// revocation and, as its origin, the peer SetOrigin named (the node passes
// where the revocation came from), for each document whose values it
// changes. Tx.Kind tells, in
// the transaction that merged a block, the kind of the entry that reports it,
// so that the node's events say what the feed says.
//
// CompactChanges deletes whole records up to a position and raises the floor
// (metadata "changesFloor"), and the floor of each collection whose records it
// deletes, in the same transactions; a read of a collection from below its
// floor fails with ErrCompacted. It goes through the collections one after
// the other, so that a compaction cut short by a crash may leave records of
// the collections it had not reached below the feed's floor (above their
// own), which the next compaction deletes. A version that kept only the feed's floor
// left no collection's: a collection's floor is then the feed's (see
// collectionFloorPrefix in feed.go), so such a store needs no new layout. Check verifies that each record decodes, lies
// above its collection's floor and at or below the last position, and names a stored
// document.
//
// # Layout versions
//
// This version reads and writes layout 7, which is layout 6 plus secondary
// indexes on list and set fields (one entry per distinct item, see index.go):
// a version reading layout 6 would maintain such an index as if each
// document held one value, so Open upgrades a layout-6 store to 7 in place,
// which that version then refuses with ErrLayout. Layout 6's keys are layout 5's plus the
// policy changes and author chain heads of restricted collections ('p', 'h'),
// and whose blocks may share one signature among up to 16 (crdt.SignBatch:
// the entry "sp", which a version reading layout 5 would refuse). Layout 5
// kept neither, and the blocks it holds of a restricted collection
// name no previous block of their author, so a revocation could keep none of
// them: Open refuses it with ErrLayout and a message that says so and what to
// do, as it refuses layouts 2 and 4. Layout 5's keys were layout 4's plus the
// change feed's and its blocks are signed: every block carries its author's key and signature (see
// the crdt package doc), so every block's bytes and CID, and so every document
// ID, differ from layout 4's. Layout 4 was layout 2 plus records layout 2 never
// holds (collection versions, the field kinds added with them, secondary
// indexes), and Open upgraded a layout-2 store in place. Both hold unsigned
// blocks, which this version must not read as valid and cannot sign for their
// authors, so there is no upgrade: Open refuses them with ErrLayout and a
// message that says so and what to do (open the store with the version that
// wrote it, or start in a new directory). Open refuses every other layout
// with ErrLayout too, whose message names the layout this version reads.
// Layout 1 predates the version record. Layout 3 gave every
// genesis a block record naming its collection; it was never released and was
// undone (it cost a third of CreateMany's rate), but stores of it exist from
// development builds, and reading them as layout 2 would misread them: a
// genesis-only document's block record holds a schema ID there, not a block. So
// they are refused like any other layout.
//
// # Why the store is internal
//
// Only this module uses the store: the root package, which is the API, the
// blocks protocol in internal/blocks, and the simulator in internal/sim. It is
// not public because it is not an API:
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
// The check is cheap: the free space (statfs) and Badger's level sizes are read
// again at most every 10 ms, and in between the store subtracts from the free
// space the bytes of the writes it accepted. A write is refused only on a free
// space read for it. The check guards against the store's own writes; another
// program that fills the disk can still starve Badger of the reserve. On
// systems other than Linux, macOS and FreeBSD it is not made.
//
// # Memory
//
// Badger's settings that decide the store's memory are set on purpose, in
// memory.go; Options.SmallMemory picks the second column:
//
//	setting            default   SmallMemory  why
//	MemTableSize       64 MiB    24 MiB       the largest transaction is 15% of it
//	NumMemtables       5         1            full memtables that may wait for a flush
//	NumCompactors      4         2            compactions at once; each builds tables in memory
//	BlockCacheSize     0         0            blocks are read in place (no compression)
//	IndexCacheSize     0         0            used only for encrypted tables
//
// Where the memory goes, measured (BenchmarkMemory in the root package, see
// docs/BENCHMARKS.md, "Memory"):
//
//   - The memtable. Badger allocates it whole in the Go heap (the memtable
//     and 30% more for the largest batch: 83 MB), and the Go collector lets
//     the heap grow to twice what is live, so a 64 MiB memtable costs up to
//     about 160 MiB of anonymous memory. Its write-ahead log is a mapped file whose
//     written pages (as many as the memtable holds) count in the resident set
//     too. The memtable is the store's largest cost and cannot shrink without
//     shrinking the largest transaction: Badger commits at most 15% of a
//     memtable at once (ErrTxnTooLarge), and a transaction of MaxTxnBytes
//     (8 MiB of blocks, in the root package) needs the default 64 MiB. Up to
//     NumMemtables full memtables wait for their flush besides the one being
//     flushed and the one being written, and a write waits for a flush beyond
//     that. Badger's default, 5, lets 7 memtables (580 MB) be allocated if
//     flushes fall behind a long burst of writes. The store keeps it: with 2,
//     bursts of 1,000,000 documents ran 10% and 43% slower (2 pairs of runs)
//     and took no less memory (flushes kept up; compactions are what fell
//     behind). SmallMemory allows 1 (3 memtables, 94 MB at most), a bound that
//     matters more there than the rate.
//   - Building tables. A flush and each compaction build their table whole in
//     the Go heap before writing it, in buffers that double as they fill (a
//     64 MiB memtable's flush takes about 124 MiB of them), and Badger keeps
//     the buffers of up to 8 finished builds for the next ones, freeing one
//     every 2 seconds in which no table is built. While compactions run,
//     after a long burst of writes, that is most of the store's memory: 540
//     MiB of buffers after 1,000,000 documents written at full speed. No
//     setting of Badger bounds it: a smaller memtable makes a flush's buffers
//     smaller, and fewer compactors make fewer builds run at once. The store
//     keeps Badger's 4: 2 were measured together with 2 memtables above,
//     which lowered no figure and cost that rate. SmallMemory, whose buffers
//     are three eighths as large, runs 2.
//   - Table files. Badger maps every table file in memory and writes new ones
//     through the mapping, so every page of a table written since Open is
//     resident until the kernel reclaims it, as it reclaims any page cache
//     when memory runs short (the pages are clean: written to disk before the
//     table is used). They count in the process's RSS: about the store's size
//     on disk (45 MiB for 100,000 documents). Tables opened but not rewritten
//     cost only the pages reads touch.
//   - Caches. The tables are not compressed, so Badger reads a block in place
//     from the mapped file; a block cache would keep only parsed block headers
//     and save parsing, not reading, and it made reads slower, not faster
//     (memory.go), so it is off. The index cache is off too: Badger uses it
//     only for encrypted tables and reads every other table's index in place.
//     Compression would make the tables about 30% smaller but decompressed
//     blocks then take heap, and a measured run took more memory with it, not
//     less.
//   - The value log keeps values of 1 MiB or more (rare: a block is at most
//     crdt.MaxBlockSize); its files are mapped at up to 2 GiB of address
//     space each, of which only written pages are resident.
//
// The Go runtime's memory limit (runtime/debug.SetMemoryLimit, GOMEMLIMIT) is
// the process's to set, not the store's: it trades collector CPU for less
// heap headroom, and `gossipdb start` sets it, to 90% of a container's memory
// limit and with --small-memory.
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
//     for the 24 MiB of tables of 100,000 documents (BenchmarkOpen).
//   - a table the MANIFEST does not list that holds writes newer than every
//     listed table's, while no write-ahead log is left: the MANIFEST lost the
//     entries that listed it (cut short inside an entry, which Badger takes for
//     a torn tail, or at an entry's end, which it takes for no damage at all),
//     and Badger would delete the table. A crash cannot leave that (below). It
//     is reported as the MANIFEST's damage.
//   - a key registry (KEYREGISTRY) that does not read, or a write-ahead or
//     value log whose header names a data key. The store is not encrypted;
//     Badger would refuse either as a wrong encryption key.
//
// It allows what crash recovery leaves, whose data is not lost:
//
//   - tables the MANIFEST does not list. A flush or compaction writes its tables
//     before it records them in the MANIFEST and deletes the tables it replaced
//     after, so a crash in between leaves tables whose data is still in the
//     write-ahead log or in listed tables: a compaction's tables hold no write
//     newer than the listed tables', and a flush's table holds those of a
//     memtable whose write-ahead log is still there. Badger deletes them; Open
//     logs each.
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
// write-ahead log is gone unnoticed); a MANIFEST that lost entries at its end
// while a write-ahead log is left, as after a crash (the tables those entries
// listed are then deleted as unlisted); and damage
// to a table after Open, which reads skip silently until CheckFiles or the next
// Open finds it. A compaction that reads such a table may carry the loss into
// the tables it writes.
package store
