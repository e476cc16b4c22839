package store

// memorySettings are the Badger settings that decide how much memory a store
// takes (see the package doc, "Memory").
type memorySettings struct {
	// memTable is the memtable's size in bytes. Badger allocates it whole in
	// the Go heap, and its write-ahead log, mapped in memory, grows as it
	// fills; the largest transaction Badger commits is 15% of it; each flush
	// builds a level-0 table as large in memory before writing it.
	memTable int64
	// memtables is how many full memtables may wait for their flush, besides
	// the one being flushed and the one being written: more absorb longer
	// bursts of writes before a write waits for a flush.
	memtables int
	// compactors is how many compactions run at once. Each builds its tables
	// in memory, in buffers Badger keeps for the next ones.
	compactors int
}

// defaultMemory and smallMemory are the settings of a store opened without and
// with Options.SmallMemory. Both run without Badger's two caches:
//
//   - The index cache is used by Badger only for encrypted tables; it reads the
//     index of every other table in place from its mapped file.
//   - The block cache would keep only each block's parsed header (the tables
//     are not compressed, so Badger reads their blocks in place from the
//     mapped files) and saves parsing a block read again, not reading it. It
//     charges each block its full 4 KiB against its budget, so 32 MiB held
//     8,000 of the 140,000 blocks of 1,000,000 documents, and every miss paid
//     the cache's bookkeeping on top of the parse: without it, the p99 of an
//     indexed query returning 20 of them fell by a third to a half and a
//     listing of every document ID ran 15–25% faster (docs/BENCHMARKS.md,
//     "No block cache").
//
// SmallMemory's memtable is the smallest whose largest transaction (15%, 3.7 MB)
// merges a received block of the largest size (crdt.MaxBlockSize) with the
// records written with it, its document's state and change-feed entry, each
// of which may hold just under 1 MiB of values (values from valueLogMin go to
// Badger's value log and count as a pointer): with 16 MiB (2.4 MB) such a block
// could never be merged, and catch-up would pull it again and again.
var (
	defaultMemory = memorySettings{memTable: memTableSize, memtables: 5, compactors: 4}
	smallMemory   = memorySettings{memTable: 24 << 20, memtables: 1, compactors: 2}
)

// BatchBytes returns the bytes of blocks a caller should write in one
// transaction when it may split them among several: an eighth of the memtable
// (8 MiB by default, 3 MiB with Options.SmallMemory), within what Badger
// commits at once (15% of it) with the records of small documents. The records
// that come with a block hold its document's values (its state, its
// change-feed entry), so blocks of large values can take more than that: a
// caller that splits gets ErrTxnTooLarge and splits further. It is safe for
// concurrent use.
func (s *Store) BatchBytes() int { return int(s.memTable / 8) }
