package catchup

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("catchup: invalid config")

// Config bounds and paces a Scheduler.
type Config struct {
	// Workers is how many sessions run at once; at least 1.
	Workers int
	// Queue is how many sessions may wait to start; at least 1.
	Queue int
	// Settle lists the delays after a subscription or a connection at which its
	// sessions are requested again.
	Settle []time.Duration
	// Interval is the period of the backstop; 0 turns it off.
	Interval time.Duration
	// LostDelay is how long after Lost its session is requested; at least 0.
	LostDelay time.Duration
	// RetryMin and RetryMax bound the delay after Failed: the first failure
	// requests the collection's sessions RetryMin later, each further one
	// before Recovered twice as late as the last, at most RetryMax; and the
	// same after a session refused as Busy, for that session (after one
	// that failed as Unfetched, at most the limit Unfetched gives). Both
	// positive, RetryMin at most RetryMax; both 0 turns retries off (Failed,
	// Busy and Unfetched then request nothing).
	RetryMin, RetryMax time.Duration
}

// Validate reports a Config that a Scheduler cannot use, wrapping ErrConfig.
func (c Config) Validate() error {
	switch {
	case c.Workers < 1:
		return fmt.Errorf("%w: Workers %d, want at least 1", ErrConfig, c.Workers)
	case c.Queue < 1:
		return fmt.Errorf("%w: Queue %d, want at least 1", ErrConfig, c.Queue)
	case c.Interval < 0:
		return fmt.Errorf("%w: negative Interval %v", ErrConfig, c.Interval)
	case c.LostDelay < 0:
		return fmt.Errorf("%w: negative LostDelay %v", ErrConfig, c.LostDelay)
	case c.RetryMin < 0 || c.RetryMax < c.RetryMin || (c.RetryMin == 0) != (c.RetryMax == 0):
		return fmt.Errorf("%w: RetryMin %v and RetryMax %v, want both 0 or 0 < RetryMin <= RetryMax", ErrConfig, c.RetryMin, c.RetryMax)
	}
	for _, d := range c.Settle {
		if d <= 0 {
			return fmt.Errorf("%w: Settle delay %v, want positive", ErrConfig, d)
		}
	}
	return nil
}

// Key names one session: a collection with a peer.
type Key struct {
	Collection string
	Peer       peer.ID
}

// Ready is what a Scheduler decided since the last call to Ready.
type Ready struct {
	// Start lists the sessions to start now, in order. Each ends with Done.
	Start []Key
	// Dropped counts requests refused because the queue was full.
	Dropped int
}

// timer is a follow-up request: collection (all if "") with peer (all if "");
// lost marks Lost's, retry Failed's, busy Busy's, unfetched Unfetched's.
type timer struct {
	at         time.Time
	seq        uint64
	collection string
	peer       peer.ID
	lost       bool
	retry      bool
	busy       bool
	unfetched  bool
}

// retry is the state of a collection whose merges failed (see Failed), or of a
// session its peer refused (see Busy) or that lacked a version (see
// Unfetched).
type retry struct {
	delay   time.Duration // the last delay set
	pending bool          // a timer of Failed's is set
}

// Scheduler decides which catch-up sessions to run and when. It is not safe for
// concurrent use; see the package doc.
type Scheduler struct {
	cfg     Config
	subs    map[string]bool
	peers   map[peer.ID]bool
	queue   []Key
	queued  map[Key]bool // in queue
	running map[Key]bool
	again   map[Key]bool     // requested while running
	stalled map[Key]bool     // whose last session timed out (see Stalled)
	lost    map[Key]bool     // with a timer of Lost's pending
	failing map[string]retry // collections whose merges failed (see Failed)
	busy    map[Key]retry    // sessions whose peers refused them (see Busy)
	lacking map[Key]retry    // sessions that lacked a version (see Unfetched)
	timers  []timer          // by (at, seq)
	seq     uint64
	backup  time.Time // when the backstop fires next; zero when off
	last    time.Time // the latest time an event gave
	ready   Ready
}

// New returns a Scheduler with no subscription and no peer, whose backstop (if
// any) first fires one Interval after now. It fails for an invalid cfg.
func New(cfg Config, now time.Time) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Settle = slices.Clone(cfg.Settle)
	s := &Scheduler{
		cfg:     cfg,
		subs:    map[string]bool{},
		peers:   map[peer.ID]bool{},
		queued:  map[Key]bool{},
		running: map[Key]bool{},
		again:   map[Key]bool{},
		stalled: map[Key]bool{},
		lost:    map[Key]bool{},
		failing: map[string]retry{},
		busy:    map[Key]retry{},
		lacking: map[Key]retry{},
	}
	if cfg.Interval > 0 {
		s.backup = now.Add(cfg.Interval)
	}
	s.last = now
	return s, nil
}

// Subscribed records that collection is subscribed at now, and requests its
// sessions with every connected peer now and after each Settle delay.
func (s *Scheduler) Subscribed(now time.Time, collection string) {
	s.observe(now)
	s.subs[collection] = true
	s.settle(now, collection, "")
}

// Unsubscribed records that collection is no longer subscribed: its queued
// sessions are let go of (running ones still end with Done).
func (s *Scheduler) Unsubscribed(collection string) {
	delete(s.subs, collection)
	delete(s.failing, collection)
	s.forget(func(k Key) bool { return k.Collection == collection })
}

// Connected records that p is connected at now, and requests the sessions of
// every subscribed collection with it now and after each Settle delay.
func (s *Scheduler) Connected(now time.Time, p peer.ID) {
	s.observe(now)
	s.peers[p] = true
	s.settle(now, "", p)
}

// Disconnected records that p is gone: its queued sessions are let go of.
func (s *Scheduler) Disconnected(p peer.ID) {
	delete(s.peers, p)
	s.forget(func(k Key) bool { return k.Peer == p })
}

// Request asks for the sessions of collection (every subscribed one if "") with
// p (every connected peer if ""). Unsubscribed collections and unconnected peers
// are ignored.
func (s *Scheduler) Request(collection string, p peer.ID) {
	cols := []string{collection}
	if collection == "" {
		cols = sortedKeys(s.subs)
	}
	peers := []peer.ID{p}
	if p == "" {
		peers = sortedKeys(s.peers)
	}
	for _, c := range cols {
		if !s.subs[c] {
			continue
		}
		for _, p := range peers {
			if s.peers[p] {
				s.enqueue(Key{c, p})
			}
		}
	}
}

// Lost records at now that gossip of collection from p was lost: dropped
// before the node merged it (a queue of pubsub's was full, say). It requests
// that session LostDelay later, once however many losses are reported
// meanwhile, so that a burst of losses costs one session, run once the burst
// is over, rather than waiting for the backstop. Unsubscribed collections and
// unconnected peers are ignored.
func (s *Scheduler) Lost(now time.Time, collection string, p peer.ID) {
	s.observe(now)
	k := Key{collection, p}
	if !s.subs[collection] || !s.peers[p] || s.lost[k] {
		return
	}
	s.lost[k] = true
	s.addTimer(timer{at: now.Add(s.cfg.LostDelay), collection: collection, peer: p, lost: true})
}

// Failed records at now that a merge of blocks of collection that its sessions
// (or gossip) brought failed: the blocks are not merged, and a session must
// bring them again. It requests the collection's sessions with every peer once
// a delay has passed, once however many failures are reported meanwhile, and
// the delay doubles with each failure (RetryMin, then twice as long each time,
// at most RetryMax) until Recovered: a failure that lasts (a block this node
// can never merge) costs a session now and then, not one after another.
// Unsubscribed collections are ignored.
func (s *Scheduler) Failed(now time.Time, collection string) {
	s.observe(now)
	r := s.failing[collection]
	if !s.subs[collection] || r.pending || s.cfg.RetryMin == 0 {
		return
	}
	r.delay = min(max(2*r.delay, s.cfg.RetryMin), s.cfg.RetryMax)
	r.pending = true
	s.failing[collection] = r
	s.addTimer(timer{at: now.Add(r.delay), collection: collection, retry: true})
}

// RetryDelay returns the delay the last Failed of collection set, 0 when
// none did since it was subscribed or Recovered.
func (s *Scheduler) RetryDelay(collection string) time.Duration {
	return s.failing[collection].delay
}

// Recovered records that a session of collection found nothing to pull: the
// next Failed waits RetryMin again.
func (s *Scheduler) Recovered(collection string) {
	if r, ok := s.failing[collection]; ok {
		if !r.pending {
			delete(s.failing, collection)
		} else {
			s.failing[collection] = retry{pending: true}
		}
	}
}

// Tick tells the Scheduler the time is now: the follow-ups and the backstop due
// by then fire. A clock that steps forward fires them all at once, and the
// backstop once; one that steps back moves them back by the step, so that they
// are not delayed by it (see observe).
func (s *Scheduler) Tick(now time.Time) {
	s.observe(now)
	for len(s.timers) > 0 && !s.timers[0].at.After(now) {
		t := s.timers[0]
		s.timers = s.timers[1:]
		if t.lost {
			delete(s.lost, Key{t.collection, t.peer})
		}
		if r, ok := s.failing[t.collection]; t.retry && ok {
			r.pending = false
			s.failing[t.collection] = r
		}
		if k := (Key{t.collection, t.peer}); t.busy && s.busy[k].pending {
			r := s.busy[k]
			r.pending = false
			s.busy[k] = r
		}
		if k := (Key{t.collection, t.peer}); t.unfetched && s.lacking[k].pending {
			r := s.lacking[k]
			r.pending = false
			s.lacking[k] = r
		}
		s.Request(t.collection, t.peer)
	}
	if !s.backup.IsZero() && !s.backup.After(now) {
		s.backup = now.Add(s.cfg.Interval)
		s.Request("", "")
	}
}

// Stalled records, before its Done, whether session k timed out waiting for
// its peer: a peer that never answers, or stops answering, holds a worker
// until then. A session that did marks k stalled, one that ended otherwise
// clears the mark, and so do Disconnected and Unsubscribed. Stalled sessions
// start behind every other queued one, and at most Workers-1 of them (1 when
// Workers is 1) run at once: however many peers leave their sessions
// unanswered, and peer identities cost nothing, a worker is left for the
// others, which need not wait for the stalled ones to time out.
func (s *Scheduler) Stalled(k Key, stalled bool) {
	if !s.running[k] {
		return // a session that did not run says nothing of its peer
	}
	if stalled {
		s.stalled[k] = true
	} else {
		delete(s.stalled, k)
	}
}

// Busy records at now, before its Done, whether session k was refused by its
// peer for now (it serves as many sessions as it allows). A refused session is
// requested again after a delay: RetryMin after the first refusal, twice as
// long after each further one, at most RetryMax; so a peer busy for a moment
// serves it soon rather than at the backstop, and one busy for long is asked
// now and then. A session of k that ended otherwise clears the delay, and so
// do Disconnected and Unsubscribed.
func (s *Scheduler) Busy(now time.Time, k Key, busy bool) {
	s.backOff(now, s.busy, k, busy, s.cfg.RetryMax, timer{busy: true})
}

// Unfetched records at now, before its Done, whether session k failed for
// want of a collection version the node could not fetch then because other
// peers held every definition fetch it may run (or the one of that version):
// nothing its own peer did. Those fetches end within the node's fetch
// timeout, after which the session can succeed; so, rather than at the
// backstop, it is requested again RetryMin after the first such failure,
// twice as long after each further one, at most limit (kept between
// RetryMin and RetryMax; the node ties it to its fetch timeout), until a
// session of k ends otherwise, which clears the delay, as do Disconnected
// and Unsubscribed. Fetches that others hold for ever cost such a session
// one run per limit, not one after another.
func (s *Scheduler) Unfetched(now time.Time, k Key, unfetched bool, limit time.Duration) {
	s.backOff(now, s.lacking, k, unfetched, min(max(limit, s.cfg.RetryMin), s.cfg.RetryMax), timer{unfetched: true})
}

// UnfetchedDelay returns the delay the last Unfetched failure of k set, 0
// when none did since a session of k ended otherwise.
func (s *Scheduler) UnfetchedDelay(k Key) time.Duration {
	return s.lacking[k].delay
}

// backOff records in m at now, before its Done, whether session k failed for
// a cause that passes: one that did is requested again by a timer like t
// after RetryMin, twice the last delay for each further failure, at most
// limit; one that did not clears k's delay. Only one timer of k in m is set
// at a time.
func (s *Scheduler) backOff(now time.Time, m map[Key]retry, k Key, failed bool, limit time.Duration, t timer) {
	s.observe(now)
	if !s.running[k] {
		return // a session that did not run says nothing of its peer
	}
	r := m[k]
	switch {
	case !failed:
		delete(m, k)
		return
	case r.pending || s.cfg.RetryMin == 0:
		return
	}
	r.delay = min(max(2*r.delay, s.cfg.RetryMin), limit)
	r.pending = true
	m[k] = r
	t.at, t.collection, t.peer = now.Add(r.delay), k.Collection, k.Peer
	s.addTimer(t)
}

// BusyDelay returns the delay the last Busy refusal of k set, 0 when none did
// since a session of k ended otherwise.
func (s *Scheduler) BusyDelay(k Key) time.Duration {
	return s.busy[k].delay
}

// IsConnected reports whether p is connected: Connected recorded it, and
// Disconnected has not since.
func (s *Scheduler) IsConnected(p peer.ID) bool { return s.peers[p] }

// Pending reports whether a session of k is to start without another
// Request: one is queued or running, or one refused as Busy, or failed as
// Unfetched, is to be requested again. A Request that found the queue full
// leaves none pending, and so does a Done whose session, requested again
// while it ran, found the queue full.
func (s *Scheduler) Pending(k Key) bool {
	return s.queued[k] || s.running[k] || s.busy[k].pending || s.lacking[k].pending
}

// IsStalled reports whether the last session of k timed out waiting for its
// peer (see Stalled).
func (s *Scheduler) IsStalled(k Key) bool { return s.stalled[k] }

// Done ends session k that Ready started; if it was requested again while it
// ran, it is queued once more.
func (s *Scheduler) Done(k Key) {
	if !s.running[k] {
		return // a Done without a start is ignored
	}
	delete(s.running, k)
	if s.again[k] {
		delete(s.again, k)
		if s.subs[k.Collection] && s.peers[k.Peer] {
			s.enqueue(k)
		}
	}
	s.pump()
}

// Ready returns the decisions since the last call and clears them. The slices
// are the caller's.
func (s *Scheduler) Ready() Ready {
	r := s.ready
	s.ready = Ready{}
	return r
}

// Next returns when the next timer is due, or false when none is set.
func (s *Scheduler) Next() (time.Time, bool) {
	var next time.Time
	if len(s.timers) > 0 {
		next = s.timers[0].at
	}
	if !s.backup.IsZero() && (next.IsZero() || s.backup.Before(next)) {
		next = s.backup
	}
	return next, !next.IsZero()
}

// observe takes in the time of an event. A time before the latest one seen is a
// clock stepped back: the timers move back by the step, so that they still fire
// after the delays they were set for, not after the step too.
func (s *Scheduler) observe(now time.Time) {
	if now.Before(s.last) {
		step := now.Sub(s.last)
		for i := range s.timers {
			s.timers[i].at = s.timers[i].at.Add(step)
		}
		if !s.backup.IsZero() {
			s.backup = s.backup.Add(step)
		}
	}
	s.last = now
}

func (s *Scheduler) settle(now time.Time, collection string, p peer.ID) {
	s.Request(collection, p)
	for _, d := range s.cfg.Settle {
		s.addTimer(timer{at: now.Add(d), collection: collection, peer: p})
	}
}

// addTimer inserts t, numbered after every earlier timer, in order.
func (s *Scheduler) addTimer(t timer) {
	s.seq++
	t.seq = s.seq
	i, _ := slices.BinarySearchFunc(s.timers, t, func(a, b timer) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return int(a.seq) - int(b.seq)
	})
	s.timers = slices.Insert(s.timers, i, t)
}

func (s *Scheduler) enqueue(k Key) {
	switch {
	case s.queued[k]:
	case s.running[k]:
		s.again[k] = true
	case len(s.queue) >= s.cfg.Queue:
		s.ready.Dropped++
	default:
		s.queued[k] = true
		s.queue = append(s.queue, k)
		s.pump()
	}
}

// forget lets go of the queued sessions and the marks of the keys drop
// reports: their collection was unsubscribed or their peer disconnected.
func (s *Scheduler) forget(drop func(Key) bool) {
	for k := range s.stalled {
		if drop(k) {
			delete(s.stalled, k)
		}
	}
	for k := range s.busy {
		if drop(k) {
			delete(s.busy, k)
		}
	}
	for k := range s.lacking {
		if drop(k) {
			delete(s.lacking, k)
		}
	}
	s.unqueue(drop)
}

func (s *Scheduler) unqueue(drop func(Key) bool) {
	s.queue = slices.DeleteFunc(s.queue, func(k Key) bool {
		if drop(k) {
			delete(s.queued, k)
			return true
		}
		return false
	})
	for k := range s.again {
		if drop(k) {
			delete(s.again, k)
		}
	}
	s.pump()
}

// pump starts queued sessions while workers are free.
func (s *Scheduler) pump() {
	for len(s.running) < s.cfg.Workers {
		i := s.next()
		if i < 0 {
			return
		}
		k := s.queue[i]
		s.queue = slices.Delete(s.queue, i, i+1)
		delete(s.queued, k)
		s.running[k] = true
		s.ready.Start = append(s.ready.Start, k)
	}
}

// next returns the position in the queue of the session to start next, -1
// for none: the first one not stalled, else the first stalled one while
// fewer than Workers-1 (at least 1) stalled sessions run.
func (s *Scheduler) next() int {
	first := -1
	for i, k := range s.queue {
		if !s.stalled[k] {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	if first < 0 || s.runningStalled() >= max(s.cfg.Workers-1, 1) {
		return -1
	}
	return first
}

// runningStalled counts the running sessions of stalled keys.
func (s *Scheduler) runningStalled() int {
	k := 0
	for r := range s.running {
		if s.stalled[r] {
			k++
		}
	}
	return k
}

func sortedKeys[K ~string](m map[K]bool) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
