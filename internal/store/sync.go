package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. With SyncWrites on, Badger writes the transactions that reach
// its write loop together in one batch but syncs its write-ahead log once for
// each of them (DB.writeToLSM), one after the other: concurrent writers shared
// no fsync. The store opens Badger without SyncWrites and syncs the logs
// itself: a transaction that wrote waits, once Badger has committed it, for a
// sync round that began after the commit ended; one round serves every commit
// that ended before it began, and the transactions committed while it runs
// wait for the next one. Update returns only after that round, so a write is
// on disk when it is acknowledged, as before. A round that finds transactions
// under way waits briefly for them to commit and join it (gatherWait), so that
// concurrent writers share rounds rather than take turns.
//
// A round syncs Badger's active write-ahead log (*.mem) and, when a commit
// since the last round wrote a value of valueLogMin bytes or more, its last
// value log (*.vlog): fdatasync, as Badger's own msync of them. It also syncs
// every log Badger replaced since the last round, because a commit that ended
// before the round may have gone into a log that Badger has since set aside (a
// full memtable waiting for its flush), which nothing else syncs until the
// flush has written its table. A log already flushed and deleted needs
// nothing: its table was synced when written. Rounds sync through files of
// their own rather than with DB.Sync, which holds a lock that Badger's write
// loop takes for every batch: commits go on while a round waits for the disk.
//
// Between its commit and the end of its round a write is visible to readers
// (Badger's commit made it so) but not yet durable, and its change-feed entry
// is not yet readable (the store releases its position after the round). An
// operating-system crash or power loss in that window may lose it; its writer
// was not yet told it succeeded. A crash of the process alone loses nothing
// Badger committed: the logs are in the page cache.

// Syncing later. Merges of blocks received from peers need not be on disk when
// the merge returns: the peers that sent them keep them, and catch-up fetches
// again whatever a crash lost. UpdateLater commits without waiting for a
// round; laterSync runs one within syncLaterDelay of the commit, so that the
// merges of that interval share it, and releases the commits' change-feed
// positions only after it, so that a position a reader was given is on disk
// and never reused after a crash. A round run for a write in the meantime
// syncs them too (the write-ahead log is written in commit order), so a write
// acknowledged after a merge, a local change that builds on a received block
// say, never survives a crash that loses the merge.
//
// What a crash can lose on a receiver: a crash of the process alone, nothing
// (as above); an operating-system crash or power loss, the merges of at most
// the last syncLaterDelay, which catch-up pulls again from the peers the node
// reconciles with. Nothing a reader of the change feed saw is lost.

// syncLaterDelay bounds how long a commit of UpdateLater waits for its sync
// round to begin.
const syncLaterDelay = 10 * time.Millisecond

// laterSync runs the sync rounds of the commits of UpdateLater.
type laterSync struct {
	durable *groupSync
	release func(first uint64) // releases a commit's change-feed positions

	// syncing is held through a sync, so that one that returns has seen every
	// sync begun before it end.
	syncing   sync.Mutex
	mu        sync.Mutex
	positions []uint64 // first positions of the commits waiting for a round; 0 for none
	scheduled bool     // a round is due within syncLaterDelay
	closed    bool     // Close has begun: no more rounds are scheduled
	rounds    sync.WaitGroup
}

// add schedules a round for a commit that ended, whose change-feed positions
// begin at first (0: none), unless one is due already.
func (l *laterSync) add(first uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.positions = append(l.positions, first)
	if l.scheduled || l.closed {
		return // closed: close runs the last round
	}
	l.scheduled = true
	l.rounds.Add(1)
	time.AfterFunc(syncLaterDelay, func() {
		defer l.rounds.Done()
		l.sync()
	})
}

// sync runs a round for the commits added so far and releases their
// positions. A failed round is the groupSync's error, which fails every later
// write; the positions are released still, as for a failed Update.
func (l *laterSync) sync() {
	l.syncing.Lock()
	defer l.syncing.Unlock()
	l.mu.Lock()
	positions := l.positions
	l.positions, l.scheduled = nil, false
	l.mu.Unlock()
	if len(positions) == 0 {
		return
	}
	l.durable.wait()
	for _, first := range positions {
		if first != 0 {
			l.release(first)
		}
	}
}

// close waits for the scheduled round and runs the last one, before the store
// closes.
func (l *laterSync) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.rounds.Wait()
	l.sync()
}

// gatherWait bounds how long a round waits, before it syncs, for the
// transactions under way in the store to commit and join it.
const gatherWait = 300 * time.Microsecond

// groupSync runs sync rounds for the commits that wait for one.
//
// A round that finds transactions under way (begun, not yet committed) waits
// up to gatherWait for them to commit before it syncs, so that concurrent
// writers share it rather than split into cohorts that take turns: a writer's
// next transaction, built while a round runs, would otherwise always commit
// just after the round began and wait for the next one. The writers that call
// wait while a round gathers join that round: their commits ended before its
// sync begins.
type groupSync struct {
	round func() error // syncs every commit that ended before it began

	underWay atomic.Int64                  // transactions begun and not yet committed or abandoned
	idle     atomic.Pointer[chan struct{}] // closed when underWay drops to 0 while a round gathers

	mu      sync.Mutex
	ended   sync.Cond // signalled at the end of each round; L is &mu
	running bool
	begun   uint64 // rounds begun
	done    uint64 // rounds ended
	err     error  // the error of the first failed round, which ends them all
	failed  uint64 // that round's number
}

func newGroupSync(round func() error) *groupSync {
	g := &groupSync{round: round}
	g.ended.L = &g.mu
	return g
}

// wait returns once a round that began after the call has ended: every commit
// that ended before the call is then on disk. The caller that finds no round
// running runs one; the others wait for it. After a failed round every wait
// fails with its error: once the operating system reported a failed write back,
// it may have dropped the pages it could not write, and a later sync that
// succeeds does not bring them back.
func (g *groupSync) wait() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	need := g.begun + 1
	for g.done < need && g.err == nil {
		if g.running {
			g.ended.Wait()
			continue
		}
		g.running = true
		g.mu.Unlock()
		g.gather()
		g.mu.Lock()
		g.begun++
		n := g.begun
		g.mu.Unlock()
		err := g.round()
		g.mu.Lock()
		g.running = false
		g.done = n
		if err != nil {
			g.err, g.failed = fmt.Errorf("store: sync: %w", err), n
		}
		g.ended.Broadcast()
	}
	if g.err != nil && need >= g.failed {
		return g.err
	}
	return nil
}

// begin counts a transaction under way; end is called once it committed or
// was abandoned.
func (g *groupSync) begin() { g.underWay.Add(1) }

func (g *groupSync) end() {
	if g.underWay.Add(-1) == 0 {
		if ch := g.idle.Swap(nil); ch != nil {
			close(*ch)
		}
	}
}

// gather waits up to gatherWait for the transactions under way to end.
func (g *groupSync) gather() {
	if g.underWay.Load() == 0 {
		return
	}
	idle := make(chan struct{})
	g.idle.Store(&idle)
	defer g.idle.CompareAndSwap(&idle, nil) // unless end took it to close it
	if g.underWay.Load() == 0 {
		return // they ended before idle was set
	}
	t := time.NewTimer(gatherWait)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// broken returns the error of a failed round, or nil.
func (g *groupSync) broken() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// logFiles follows the log files of one kind in a Badger directory, which
// Badger numbers in the order it creates them, so that a sync round also syncs
// those Badger replaced since the last one.
type logFiles struct {
	dir    string
	suffix string   // walSuffix or vlogSuffix
	digits int      // of the zero-padded number in the file names
	last   uint64   // the number of the newest file a round synced, or found at Open
	f      *os.File // file last, once a round opened it
}

// newLogFiles returns the logs of dir with suffix, whose numbers have digits
// digits, as Open finds them.
func newLogFiles(dir, suffix string, digits int) (*logFiles, error) {
	l := &logFiles{dir: dir, suffix: suffix, digits: digits}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(num, 10, 64); err == nil && n > l.last {
			l.last = n
		}
	}
	return l, nil
}

func (l *logFiles) path(n uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%0*d%s", l.digits, n, l.suffix))
}

// sync syncs the newest log, which Badger writes to, and every log Badger
// replaced since the last call. A log that is gone was flushed into a synced
// table.
func (l *logFiles) sync() error {
	for {
		_, err := os.Stat(l.path(l.last + 1))
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		if err := l.syncLast(); err != nil {
			return err
		}
		if err := l.close(); err != nil {
			return err
		}
		l.last++
	}
	return l.syncLast()
}

// syncLast syncs the data of log last, if there is one.
func (l *logFiles) syncLast() error {
	if l.f == nil {
		f, err := os.Open(l.path(l.last))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		l.f = f
	}
	return syncData(l.f)
}

// close closes the file of log last, if open.
func (l *logFiles) close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// followLogs sets up the group commit of a store on disk.
func (s *Store) followLogs() error {
	var err error
	// Badger names its write-ahead logs 00001.mem and its value logs 000001.vlog.
	if s.wals, err = newLogFiles(s.dir, walSuffix, 5); err != nil {
		return err
	}
	if s.vlogs, err = newLogFiles(s.dir, vlogSuffix, 6); err != nil {
		return err
	}
	s.durable = newGroupSync(s.syncLogs)
	s.later = &laterSync{durable: s.durable, release: func(first uint64) { s.feed.release(first, true) }}
	return nil
}

// closeLogs closes the files of the group commit.
func (s *Store) closeLogs() error {
	if s.durable == nil {
		return nil
	}
	return errors.Join(s.wals.close(), s.vlogs.close())
}

// syncLogs is a sync round: it syncs every log a commit that ended before it
// began may have written to.
func (s *Store) syncLogs() error {
	if s.db.IsClosed() {
		return ErrClosed
	}
	if err := s.wals.sync(); err != nil {
		return err
	}
	if s.vlogWritten.Swap(false) {
		return s.vlogs.sync()
	}
	return nil
}
