package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Errors returned by the store. Check them with errors.Is.
var (
	// ErrNotFound reports a missing record (block, document, metadata).
	ErrNotFound = errors.New("store: not found")
	// ErrMissingParent reports an Apply of a block whose parents are not all stored.
	ErrMissingParent = errors.New("store: parent block not stored")
	// ErrClosed reports use of a closed store.
	ErrClosed = errors.New("store: closed")
	// ErrLayout reports a store written with a key layout this version cannot read.
	ErrLayout = errors.New("store: unsupported layout")
	// ErrNoSpace reports a write refused, or an Open refused, because the
	// filesystem lacks the free space the store keeps (see Options.Reserve). It
	// is temporary: once space is freed, the same write succeeds.
	ErrNoSpace = errors.New("store: no space")
	// ErrLocked reports an Open of a directory whose store another Open holds,
	// in this process or another one: Badger allows one writer per directory.
	ErrLocked = errors.New("store: directory in use by another process")
	// ErrTxnTooLarge reports a transaction that writes more than Badger
	// commits at once (about 15% of the memtable, in bytes or entries).
	ErrTxnTooLarge = errors.New("store: transaction too large")
)

// layoutVersion names the key layout (see the package doc) this version reads and
// writes. A store records it at creation under the metadata key layoutKey; one
// without it that holds records predates versioning (layout 1, with a heads-hash
// record of its own per document and a log entry for every genesis). Layout 3,
// a development build's, gave every genesis a block record, which a genesis of a
// genesis-only document lacks in layout 2 (see the package doc, "Layout
// versions"). Layout 4 added records that layout 2 has none of; both hold
// unsigned blocks, which layout 5 does not (every block carries its author's
// signature), so they are refused with ErrLayout and a message that says what
// to do (unsignedLayoutAdvice), like stores of every other layout. Layout 7
// is layout 6 plus indexes on list and set fields, whose entries a version
// reading layout 6 would compute wrongly: Open upgrades a layout-6 store in
// place (upgradableLayouts), and a version reading layout 6 refuses it since.
const (
	layoutVersion = "7"
	layoutKey     = "layout"
)

// upgradableLayouts are the layouts this version's is a superset of: Open
// records this version's in such a store, and reads it as its own.
var upgradableLayouts = []string{"6"}

// unsignedLayouts are the released layouts whose blocks are unsigned.
var unsignedLayouts = []string{"2", "4"}

// chainlessLayouts are the released layouts that keep no author chains.
var chainlessLayouts = []string{"5"}

// chainlessLayoutAdvice ends the error of an Open of a layout that keeps no
// author chains.
const chainlessLayoutAdvice = "it keeps neither policy changes nor the chains of authors' blocks that they need, " +
	"and its restricted collections' blocks name no previous block of their author: open it with the version that wrote it, " +
	"or start this version in a new directory"

// unsignedLayoutAdvice ends the error of an Open of an unsigned layout.
const unsignedLayoutAdvice = "its blocks are unsigned, and this version accepts only blocks signed by their authors; " +
	"no upgrade is possible (nobody but their authors can sign them): open it with the version that wrote it, " +
	"or start this version in a new directory"

// valueLogMin is the size from which Badger keeps a value in its value log
// rather than in its write-ahead log and tables (Badger's default).
//
// Nearly every value is below it, in the tables, where an iterator reads it in
// place; so the store's iterators never set IteratorOptions.PrefetchValues,
// with which Badger starts a goroutine and copies the value for every key
// (a Fingerprint of 1,000,000 documents right after they were merged took 7.1 s
// with it, 2.1 s without).
const valueLogMin = 1 << 20

// optimisticAttempts is how often Update runs a transaction concurrently with
// others before, having lost that many races with writers of the same records, it
// runs it alone (which cannot conflict), so every Update completes.
const optimisticAttempts = 2

// Options configure a Store. The zero value is the safe default.
type Options struct {
	// NoSync skips the fsync at each commit. Faster, but writes acknowledged in the
	// last moments before an operating-system crash or power loss may be lost (a
	// crash of the process alone loses nothing). Default false: every commit is
	// durable when Update returns; commits that end at about the same time
	// share one fsync (see sync.go).
	NoSync bool
	// Logger receives Badger's warnings and errors, and the store's own: at
	// Open, a table a crash left that Badger deletes, and that the last
	// process to open the store did not close it (killed, crashed, or its
	// machine stopped; known on unix only). Nil discards them.
	Logger *slog.Logger
	// Reserve is the free space, in bytes, the store keeps on its filesystem
	// besides the room Badger's compactions need (see the package doc, "Disk
	// space"): a write transaction that would leave less fails with ErrNoSpace
	// and writes nothing, so that Badger can always finish writing what it
	// acknowledged (it writes through memory-mapped files, and a full
	// filesystem makes such a write crash the process). Default 0 means
	// DefaultReserve (128 MiB); at least MinReserve. A larger reserve leaves
	// room for other programs' files too, at the cost of disk space the store
	// never uses. Ignored by in-memory stores.
	Reserve int64
	// MemTableSize is the size in bytes of Badger's memtable, which Open
	// allocates whole. Default 0 means 64 MiB. A smaller one saves memory and
	// time at Open (a simulation opens thousands of in-memory stores) at the cost
	// of more frequent flushes; the disk reserve assumes the default, which is
	// the largest. Between 8 MiB (below it Badger's batches could not hold its
	// largest values) and 64 MiB.
	MemTableSize int64
	// SmallMemory sizes Badger for a device with little memory (see the package
	// doc, "Memory"): a 24 MiB memtable, one memtable waiting for its flush, two
	// compactions at once. It keeps the store's memory a fraction of the
	// default's, at the cost of write throughput, of reads of data not in the
	// page cache, and of the largest transaction, which is three eighths as
	// large (BatchBytes and ErrTxnTooLarge), yet takes the largest block with
	// its records (see memory.go). MemTableSize, when set, still decides the
	// memtable's size.
	SmallMemory bool
	// BucketItems is how many items (documents) a whole read of a collection
	// puts in each bucket of its directory (see SnapshotItems); a bucket that
	// commits grow past 16 times as many makes the directory uneven. Default
	// 0 (or less) means 256. Fewer makes each bucket a reconciliation reads
	// smaller and the directory larger: a simulation, whose collections hold a
	// few dozen documents, sets a few to see many buckets.
	BucketItems int
	// BuildPage is how many documents one transaction of BuildIndex reads.
	// Default 0 (or less) means 1024. Fewer make each transaction of a build
	// shorter and a build take more of them: a simulation, whose collections
	// hold a few dozen documents, sets a few so that builds span many of its
	// events.
	BuildPage int
}

// Store is a node's Badger database. It is safe for concurrent use.
type Store struct {
	db      *badger.DB
	dir     string // "" for an in-memory store
	reserve int64  // see Options.Reserve
	space   spaceCache
	// spaceReads counts the reads of the free space (see SpaceReads)
	spaceReads atomic.Int64
	// compression of each table file at Open, by ID (see CheckFiles)
	compression map[uint64]options.CompressionType
	// serial is held shared by Update's optimistic attempts and exclusively by its
	// last one.
	serial sync.RWMutex
	// durable makes commits durable before Update returns; nil with
	// Options.NoSync and in memory.
	durable     *groupSync
	later       *laterSync  // rounds for UpdateLater's commits; nil when durable is
	wals, vlogs *logFiles   // Badger's logs, which durable's rounds sync
	vlogWritten atomic.Bool // a commit wrote to the value log since the last round began

	counts    counts    // documents and blocks by collection
	summaries summaries // the sums of the collections' items (see Summary)
	indexes   indexes   // the secondary indexes maintained (see index.go)
	feed      feed      // change-feed positions (see feed.go)
	chains    chains    // collections whose author chains are kept (see chain.go)

	memTable int64 // the size of Badger's memtable, in bytes (see BatchBytes)

	buildPage int64 // documents one transaction of BuildIndex reads (see Options.BuildPage)

	snapshots atomic.Int64 // ItemsSnapshots not yet closed (see Reset)

	// snapshotStarted, set by tests only, runs in snapshot right after its
	// transaction starts.
	snapshotStarted func()
}

// Open opens (creating if needed) the store in dir. An empty dir opens an in-memory
// store whose contents vanish on Close. It fails for a bad Options value, and with
// ErrNoSpace when the filesystem lacks the space Badger needs to open (see the
// package doc, "Disk space"). A store whose files are damaged or missing is
// refused with an error matching ErrDamaged that names the file (see checkDir);
// Open reads every table file whole to check it.
func Open(dir string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	reserve := opts.Reserve
	switch {
	case reserve == 0:
		reserve = DefaultReserve
	case reserve < MinReserve:
		return nil, fmt.Errorf("store: Options.Reserve %d is below MinReserve (%d)", reserve, MinReserve)
	}
	mem := defaultMemory
	if opts.SmallMemory {
		mem = smallMemory
	}
	memTable := mem.memTable
	switch {
	case opts.MemTableSize == 0:
	case opts.MemTableSize < 8<<20 || opts.MemTableSize > memTableSize:
		return nil, fmt.Errorf("store: Options.MemTableSize %d is not between 8 MiB and %d", opts.MemTableSize, int64(memTableSize))
	default:
		memTable = opts.MemTableSize
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: open %q: %w", dir, err)
		}
		if err := checkOpenSpace(dir); err != nil {
			return nil, fmt.Errorf("store: open %q: %w", dir, err)
		}
	}
	bo := badger.DefaultOptions(dir).
		WithMemTableSize(memTable).
		WithInMemory(dir == "").
		WithSyncWrites(false). // the store syncs, once for concurrent commits (see sync.go)
		WithLogger(badgerLogger{opts.Logger}).
		WithValueThreshold(valueLogMin).
		WithCompression(options.None).
		WithNumMemtables(mem.memtables).
		WithNumCompactors(mem.compactors).
		WithBlockCacheSize(0). // see memory.go
		WithIndexCacheSize(0). // used only for encrypted tables (see memory.go)
		WithNumVersionsToKeep(1).
		WithVerifyValueChecksum(true). // see value in files.go
		WithMetricsEnabled(false)
	if dir == "" {
		bo.Dir, bo.ValueDir = "", ""
	}
	compression, err := checkDir(bo, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("store: open %q: %w", dir, err)
	}
	db, err := badger.Open(bo)
	if err != nil {
		if dir != "" {
			// Badger's error for a held lock keeps only the errno's text: another
			// Open may have taken the directory since checkDir let it go.
			if unlock, lerr := lockDir(dir); errors.Is(lerr, ErrLocked) {
				return nil, lerr
			} else if lerr == nil {
				unlock()
			}
		}
		return nil, fmt.Errorf("store: open %q: %w", dir, err)
	}
	s := &Store{db: db, dir: dir, reserve: reserve, compression: compression, memTable: memTable, buildPage: buildPage}
	if opts.BuildPage > 0 {
		s.buildPage = int64(opts.BuildPage)
	}
	s.summaries.bucketItems, s.summaries.maxBucketItems = bucketItems, maxBucketItems
	if opts.BucketItems > 0 {
		s.summaries.bucketItems = int64(opts.BucketItems)
		s.summaries.maxBucketItems = maxBucketItems / bucketItems * int64(opts.BucketItems)
	}
	if dir != "" && !opts.NoSync {
		if err := s.followLogs(); err != nil {
			return nil, errors.Join(fmt.Errorf("store: open %q: %w", dir, err), db.Close())
		}
	}
	if err := s.checkLayout(); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open %q: %w", dir, err), db.Close())
	}
	if err := s.countAll(); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open %q: %w", dir, err), db.Close())
	}
	if err := s.loadIndexes(); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open %q: %w", dir, err), db.Close())
	}
	if err := s.loadFeed(); err != nil {
		return nil, errors.Join(fmt.Errorf("store: open %q: %w", dir, err), db.Close())
	}
	return s, nil
}

// checkLayout records the layout version in a new store and refuses a store of
// another layout.
func (s *Store) checkLayout() error {
	return s.Update(func(tx *Tx) error {
		v, err := tx.Meta(layoutKey)
		switch {
		case err == nil && string(v) == layoutVersion:
			return nil
		case err == nil && slices.Contains(upgradableLayouts, string(v)):
			return tx.PutMeta(layoutKey, []byte(layoutVersion))
		case err == nil && slices.Contains(unsignedLayouts, string(v)):
			return fmt.Errorf("%w %s, this version reads layout %s: %s", ErrLayout, v, layoutVersion, unsignedLayoutAdvice)
		case err == nil && slices.Contains(chainlessLayouts, string(v)):
			return fmt.Errorf("%w %s, this version reads layout %s: %s", ErrLayout, v, layoutVersion, chainlessLayoutAdvice)
		case err == nil:
			return fmt.Errorf("%w %.16q, this version reads layout %s", ErrLayout, v, layoutVersion)
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if !tx.empty() {
			return fmt.Errorf("%w 1, this version reads layout %s", ErrLayout, layoutVersion)
		}
		return tx.PutMeta(layoutKey, []byte(layoutVersion))
	})
}

// empty reports whether the store holds no record at all.
func (tx *Tx) empty() bool {
	it := tx.txn.NewIterator(badger.IteratorOptions{})
	defer it.Close()
	it.Rewind()
	return !it.Valid()
}

// Reset deletes every record, leaving the store as Open leaves a new one, so that
// a test or a simulation reuses it instead of opening another. It must not run
// concurrently with any other method, and fails while an ItemsSnapshot is open:
// its read transaction would outlive the records it reads, and Badger would
// keep every later commit's keys for it.
func (s *Store) Reset() error {
	if n := s.snapshots.Load(); n > 0 {
		return fmt.Errorf("store: reset: %d items snapshots still open: close them first", n)
	}
	if err := s.db.DropAll(); err != nil {
		return fmt.Errorf("store: reset: %w", err)
	}
	s.counts.reset()
	s.summaries.reset()
	s.indexes.set.Store(&indexSet{})
	s.feed.reset(0, 0)
	if err := s.checkLayout(); err != nil {
		return fmt.Errorf("store: reset: %w", err)
	}
	return nil
}

// Close flushes and closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	if s.db.IsClosed() {
		return nil
	}
	if s.later != nil {
		s.later.close()
	}
	if err := errors.Join(s.db.Close(), s.closeLogs()); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// View runs fn in a read-only transaction that sees a consistent snapshot.
func (s *Store) View(fn func(tx *Tx) error) error {
	if s.db.IsClosed() {
		return ErrClosed
	}
	txn, ix := s.snapshot()
	defer txn.Discard()
	return s.viewTxn(txn, ix, fn)
}

// snapshot starts a read-only transaction and returns it with the index set
// that holds for its snapshot, the one queries and Check read it by.
//
// A build publishes an index's progress (and at last its readiness) after
// committing it, and a drop publishes that the index is gone before deleting
// its entries. A set published before the transaction starts, and still the
// current one after, therefore claims no entry the snapshot lacks (a build's
// later pages may be in the snapshot, which a building index allows) and
// names no index whose entries the snapshot misses. Loading the set only
// after starting the transaction could see an index ready whose last page
// the snapshot does not hold.
func (s *Store) snapshot() (*badger.Txn, indexSet) {
	for {
		before := s.indexes.set.Load()
		txn := s.db.NewTransaction(false)
		if s.snapshotStarted != nil {
			s.snapshotStarted()
		}
		if s.indexes.set.Load() == before {
			if before == nil {
				return txn, nil
			}
			return txn, *before
		}
		txn.Discard() // the set changed meanwhile: which came first is unknown
	}
}

// Update runs fn in a read-write transaction and commits it; nothing fn writes is
// visible to others before the commit, and with the default Options the commit is
// durable when Update returns. When another transaction changed a record fn read,
// the commit fails and fn runs again on fresh data (after two such failures, alone,
// so it cannot fail that way again), so fn must not have effects outside the
// transaction except idempotent ones. A transaction that writes anything fails
// with ErrNoSpace, and writes nothing, when committing it would leave less free
// space than the store keeps (see Options.Reserve); the same call succeeds once
// space is freed.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.update(fn, false)
}

// UpdateLater is Update for a transaction that need not be durable when it
// returns: merges of blocks received from peers, which catch-up fetches again
// if a crash loses them. Its commit is synced within syncLaterDelay, sharing
// the round with the commits around it, and its change-feed entries are
// readable only after that (see "Syncing later" in sync.go).
func (s *Store) UpdateLater(fn func(tx *Tx) error) error {
	return s.update(fn, true)
}

// SyncLater returns once every commit UpdateLater made before the call is on
// disk and its change-feed entries are readable, without waiting for the
// round it would otherwise wait up to syncLaterDelay for.
func (s *Store) SyncLater() {
	if s.later != nil {
		s.later.sync()
	}
}

func (s *Store) update(fn func(tx *Tx) error, later bool) error {
	if s.db.IsClosed() {
		return ErrClosed
	}
	if s.durable != nil {
		if err := s.durable.broken(); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		exclusive := attempt >= optimisticAttempts
		if exclusive {
			s.serial.Lock()
		} else {
			s.serial.RLock()
		}
		var changed []collectionDelta // what the transaction changed, counted and summed once it commits
		var positions uint64          // the first change-feed position the attempt took
		var wrote, valueLog bool      // whether the transaction wrote, and to the value log
		var judging bool              // whether it holds chains.judging, until it has committed or failed
		if s.durable != nil {
			s.durable.begin()
		}
		// Loaded before the transaction starts: only a build's progress can
		// be published meanwhile, as the set changes otherwise while no write
		// runs (see snapshot).
		ix := s.indexes.load()
		err := s.db.Update(func(txn *badger.Txn) error {
			tx := &Tx{txn: txn, ix: ix, write: true, inMemory: s.dir == "", feed: &s.feed, chains: &s.chains}
			defer func() { positions = tx.allocated }()
			err := fn(tx)
			if endErr := tx.end(err == nil); err == nil {
				err = endErr
			}
			if err == nil && tx.size > 0 {
				err = s.checkSpace(tx.size)
			}
			changed, wrote, valueLog, judging = tx.deltas, tx.size > 0, tx.valueLog, tx.judging
			return err
		})
		if judging {
			s.chains.judging.RUnlock() // committed, and visible, or failed
		}
		if s.durable != nil {
			s.durable.end()
		}
		if err == nil {
			s.counts.add(changed)
			s.summaries.add(changed)
		}
		if exclusive {
			s.serial.Unlock()
		} else {
			s.serial.RUnlock()
		}
		if err == nil && wrote && s.durable != nil {
			if valueLog {
				s.vlogWritten.Store(true) // before the wait, for the round it waits for
			}
			if later {
				s.later.add(positions) // released after the round
				positions = 0
			} else {
				err = s.durable.wait()
			}
		}
		if positions != 0 {
			// Committed, visible and durable, or abandoned: readers may pass them.
			s.feed.release(positions, err == nil)
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("%w: %w", ErrTxnTooLarge, err)
		}
		if !errors.Is(err, badger.ErrConflict) || exclusive {
			return err
		}
	}
}

// badgerLogger passes Badger's warnings and errors to slog and drops the rest.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error(fmt.Sprintf(f, a...), logKeyComponent, "badger")
	}
}

func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn(fmt.Sprintf(f, a...), logKeyComponent, "badger")
	}
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
