package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Badger settings the space guard is sized from (see the package doc, "Disk
// space"). memTableSize is Badger's default, set explicitly so that the reserve
// follows it.
const (
	memTableSize = 64 << 20
	// memFileExt is the suffix of Badger's memtable write-ahead logs.
	memFileExt = ".mem"
	// openSlack is the free space Badger's Open needs besides the flush of the
	// memtables a previous run left: the headers of a new memtable log and value
	// log, and the pages its replay reads past their last entry (which tmpfs
	// allocates even on a read).
	openSlack = 4 << 20
)

// DefaultReserve is the free space a Store keeps on its filesystem unless
// Options.Reserve says otherwise: two memtables.
const DefaultReserve = 2 * memTableSize

// MinReserve is the smallest Options.Reserve a Store accepts: the flush of a
// full memtable to a level-0 table (as large as the memtable plus the one batch
// that may overfill it) with one more batch of writes in flight.
const MinReserve = memTableSize + 2*maxBatchSize

// maxBatchSize is the most bytes Badger writes in one batch: 15% of a memtable.
const maxBatchSize = 15 * memTableSize / 100

// freeSpace returns the bytes an unprivileged process may still allocate on the
// filesystem holding dir.
func freeSpace(dir string) (int64, error) {
	free, err := statFree(dir)
	if err != nil {
		return 0, fmt.Errorf("store: free space of %q: %w", dir, err)
	}
	return free, nil
}

// compactionSpace returns the free space Badger's compactions may take before
// they delete their input: a compaction writes all its output tables first. The
// largest merges level 0 into the base level (both whole, at worst); the others
// merge one table into the tables of the next level it overlaps, about
// LevelSizeMultiplier of them, with up to NumCompactors at once, and never more
// than those levels hold.
func compactionSpace(db *badger.DB) int64 {
	opts := db.Opts()
	var l0, base, lower, maxFile int64
	for _, l := range db.Levels() {
		switch {
		case l.Level == 0:
			l0 = l.Size
		case l.IsBaseLevel:
			base = l.Size
		default:
			lower += l.Size
		}
		maxFile = max(maxFile, l.TargetFileSize)
	}
	others := int64(opts.NumCompactors) * int64(opts.LevelSizeMultiplier) * maxFile
	return l0 + base + min(lower, others)
}

// compactionRecheck is how long the store reuses the room compactionSpace
// computed (which takes microseconds, a write commit's worth without fsync). The
// level sizes change at a flush or a compaction; what the store accepts in the
// meantime on the stale figure is far less than the reserve's slack beyond a
// flush and a batch.
const compactionRecheck = 10 * time.Millisecond

// freeRecheck is how long the store accepts writes on the free space it last
// read, less the bytes it accepted since, instead of a statfs per commit (a
// syscall of 2–10 µs, 4% of the CPU of eight concurrent writers). A write is
// refused only on a figure read for it.
const freeRecheck = 10 * time.Millisecond

// spaceCache keeps the last compactionSpace and free space of a store.
type spaceCache struct {
	mu         sync.Mutex
	at         time.Time // when compaction was computed; zero before the first time
	compaction int64
	freeAt     time.Time // when free was read; zero before the first time
	free       int64     // the free space read at freeAt, less what was accepted since
}

// needFree returns the free space a write transaction of size bytes needs at
// now: the reserve, room for compactions, and the transaction itself. The
// caller holds s.space.mu.
func (s *Store) needFree(size int64, now time.Time) int64 {
	c := &s.space
	if now.Sub(c.at) >= compactionRecheck {
		c.compaction, c.at = compactionSpace(s.db), now
	}
	return s.reserve + c.compaction + size
}

// checkSpace refuses, with an error matching ErrNoSpace, a write transaction of
// size bytes that would leave less free space than the store needs. An
// in-memory store has no limit.
func (s *Store) checkSpace(size int64) error {
	if s.dir == "" {
		return nil
	}
	c := &s.space
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	need := s.needFree(size, now)
	free, err := c.take(now, size, need, func() (int64, error) {
		s.spaceReads.Add(1)
		return freeSpace(s.dir)
	})
	if err != nil {
		return err
	}
	if free < need {
		return &SpaceError{Dir: s.dir, Free: free, Need: need, Size: size}
	}
	return nil
}

// SpaceError is the error of a write transaction refused for lack of free
// space (see the package doc, "Disk space"). It matches ErrNoSpace.
type SpaceError struct {
	Dir  string // the store's directory
	Free int64  // the bytes free on its filesystem when the write was refused
	Need int64  // the bytes the write needed free: the reserve, room for compactions and Size
	Size int64  // the bytes the transaction writes
}

// Error says how much space was free and how much the write needed.
func (e *SpaceError) Error() string {
	return fmt.Sprintf("%v: %s has %s free, writes need %s", ErrNoSpace, e.Dir, mib(e.Free), mib(e.Need))
}

// Unwrap returns ErrNoSpace.
func (e *SpaceError) Unwrap() error { return ErrNoSpace }

// take decides at now whether a write of size bytes leaves the need bytes free
// that the store needs, and subtracts size from the free space when it does. It
// returns the free space it decided on, below need when the write is refused.
// It calls read for the free space when the last figure is older than
// freeRecheck or too small to accept the write. The caller holds c.mu.
func (c *spaceCache) take(now time.Time, size, need int64, read func() (int64, error)) (int64, error) {
	if c.freeAt.IsZero() || now.Sub(c.freeAt) >= freeRecheck || c.free < need {
		free, err := read()
		if err != nil {
			return 0, err
		}
		c.free, c.freeAt = free, now
		if free < need {
			return free, nil
		}
	}
	free := c.free
	c.free -= size
	return free, nil
}

// checkOpenSpace refuses, with an error matching ErrNoSpace, to open the Badger
// database in dir when its filesystem lacks the space Open needs: Badger writes
// the memtables a previous run left (they are as large as their logs) to level-0
// tables before it serves anything, through memory-mapped files that would fault
// (SIGBUS) on a full filesystem, and replays and starts logs.
func checkOpenSpace(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	need := int64(openSlack)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), memFileExt) {
			continue
		}
		alloc, err := allocated(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		need += alloc
	}
	free, err := freeSpace(dir)
	if err != nil {
		return err
	}
	if free < need {
		return fmt.Errorf("%w: %s has %s free, opening the store needs %s", ErrNoSpace, dir, mib(free), mib(need))
	}
	return nil
}

// CheckSpace reports whether a write transaction of size bytes (the Size of a
// SpaceError that refused one) would be accepted now: nil, or a *SpaceError
// that says how much space is free and how much the write needs. It is safe for
// concurrent use.
func (s *Store) CheckSpace(size int64) error {
	if s.db.IsClosed() {
		return ErrClosed
	}
	return s.checkSpace(size)
}

// SpaceReads returns how many times the store has read the free space of its
// filesystem (a statfs) to decide on a write or a CheckSpace since Open. It
// is safe for concurrent use.
func (s *Store) SpaceReads() int64 { return s.spaceReads.Load() }

// mib formats a number of bytes in MiB.
func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
