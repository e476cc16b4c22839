package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	msmux "github.com/multiformats/go-multistream"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/catchup"
	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// Catch-up bounds. Gossip carries only new messages and may lose some; catch-up
// reconciles each subscribed collection with each connected peer and pulls the
// documents that differ.
const (
	// catchUpTimeout bounds a session with one peer, reconciliation and pulling
	// included; a session that goes on from a reconciliation that reached its
	// limits has as long again for each such part that follows one that
	// brought blocks.
	catchUpTimeout = 2 * time.Minute
	// pullDocs is how many documents one /gossipdb/blocks/2 request asks for.
	pullDocs = 256
	// pullsInFlight is how many such requests to one peer run at once.
	pullsInFlight = 2
	// pullChunk and pullChunkBytes bound the blocks handed to the merge worker at once.
	pullChunk      = 512
	pullChunkBytes = 4 << 20
	// catchUpWorkers is how many reconciliation sessions run at once; at most
	// catchUpWorkers-1 of them with peers whose last session timed out (see
	// catchup.Scheduler.Stalled).
	catchUpWorkers = 4
	// catchUpFirstAnswer bounds the wait for a peer's first answer in a
	// session's first reconciliation (reconcile.Options.FirstAnswer), unless
	// the peer's last session timed out: then the reconciliation has its
	// whole timeout, behind the other sessions. An honest peer answers within
	// milliseconds, or the few seconds it takes to read a large collection on
	// a loaded machine; one that never answers holds a worker this long, not
	// the reconciliation's 30 s.
	catchUpFirstAnswer = 5 * time.Second
	// catchUpQueue bounds the pending (peer, collection) sessions.
	catchUpQueue = 1024
	// claimStall is how long a session may pull documents it claimed (see
	// catchup.Claims) without progress before other sessions take them over:
	// a slow or silent peer delays them this long. Its peer makes progress
	// each time it has delivered claimProgress bytes of blocks, so a peer
	// that trickles blocks slower than that per claimStall (about 22 KB/s)
	// counts as silent.
	claimStall    = 3 * time.Second
	claimProgress = 64 << 10
	// maxPartialReconciles is how many reconciliations that reached their
	// limits one session goes on from (see catchUp.reconcile): 64 of about
	// 200,000 documents each.
	maxPartialReconciles = 64
	// shareRounds is how many times a session leaves to other sessions the
	// documents they pull and reconciles again once those are merged; after
	// that it pulls what still differs whoever else pulls it, so that a
	// session ends however often others claim its documents first.
	shareRounds = 4
)

// syncPoll is how often Sync checks that the peers it waits for are still
// connected.
const syncPoll = 250 * time.Millisecond

// catchUpLostDelay is how long after pubsub drops a message of a collection
// from a peer catch-up runs with that peer (see catchup.Scheduler.Lost): long
// enough for a burst that overflows the queues to end first.
const catchUpLostDelay = time.Second

// catchUpRetryMin and catchUpRetryMax bound the delay after a failed merge of
// received blocks before catch-up brings them again (see
// catchup.Scheduler.Failed): a second at first, doubling while merges keep
// failing, at most a minute. The same delays space the sessions asked again
// after their peer refused them as busy (catchup.Scheduler.Busy), and, at
// most unfetchedRetryMax apart, those that stopped for want of a collection
// version (catchup.Scheduler.Unfetched).
const (
	catchUpRetryMin = time.Second
	catchUpRetryMax = time.Minute
)

// unfetchedRetryMax returns the longest delay after a session that failed for
// want of a collection version other peers kept from being fetched before
// catch-up runs it again (see catchup.Scheduler.Unfetched): half the timeout
// of a definition fetch (versions.Timeout, 10 s), within catchUpRetryMin and
// catchUpRetryMax. The fetches that held the version up end within that
// timeout, so the session brings what it lacked at most this long after
// they do, at about one run per this delay per (collection, peer) while they
// last.
func (s *catchUp) unfetchedRetryMax() time.Duration {
	return time.Duration(s.n.versionFetches.timeout.Load()) / 2
}

// catchUpSettle lists the delays after a subscription or a new connection at which
// catch-up runs again: a change published in the moments before the publisher
// learned of the new subscriber never reaches it by gossip, and these follow-ups
// fetch it without waiting for the periodic backstop.
var catchUpSettle = []time.Duration{time.Second, 4 * time.Second}

// SyncStatus describes catch-up of one collection.
type SyncStatus struct {
	Collection string
	// Running is how many reconciliation sessions are under way.
	Running int
	// Pending is how many documents found to differ are still to be pulled.
	Pending int
	// Peers has the last session with each connected peer, sorted by peer
	// ID: a peer that disconnects is forgotten.
	Peers []PeerSyncStatus
	// Versions lists the versions of the collection that blocks from peers
	// named and this node has not accepted, sorted by ID: blocks naming them
	// are not merged (see Collection.Patch and VersionStatus).
	Versions []VersionStatus
}

// PeerSyncStatus is the last catch-up session of a collection with one peer.
type PeerSyncStatus struct {
	Peer     string
	Started  time.Time
	Finished time.Time // zero while the session runs
	// Docs is how many documents differed; Pulled how many of them were pulled
	// so far; Shared how many of them another session (with another peer)
	// pulled meanwhile, after which they no longer differed: this session did
	// not pull them again.
	Docs, Pulled, Shared int
	// Offered is how many documents the peer lacks or holds in another state than
	// this node: it pulls them in its own sessions.
	Offered int
	// Blocks and Bytes count the blocks received and the bytes the
	// reconciliations exchanged (both directions, block transfers excluded;
	// a session reconciles again after waiting for documents that sessions
	// with other peers pulled); BlockBytes the encoded size of the blocks
	// received. Rounds counts the reconciliations' round trips.
	Blocks     int
	Bytes      int
	BlockBytes int64
	Rounds     int
	Err        string // why the session failed; empty when it succeeded
	// Equal reports that this session, finished, found both nodes equal in the
	// collection: no document to pull, none offered.
	Equal bool
	// LastEqual is when a session with this peer last found both nodes equal in
	// the collection (no document to pull, none offered), this one or an earlier
	// one; zero if none has since the peer connected.
	LastEqual time.Time
}

// catchUp runs the catch-up sessions that its catchup.Scheduler decides on: it
// feeds the scheduler events and the time, hands the sessions to start to a
// fixed pool of catchUpWorkers goroutines, and wakes the scheduler at its next
// timer.
type catchUp struct {
	n *Node
	// starts carries the sessions to start to the workers. The scheduler keeps
	// at most catchUpWorkers sessions between start and Done, so a send never
	// blocks.
	starts chan catchup.Key
	wake   chan struct{} // the scheduler's next timer may have changed
	// timeout bounds each session: catchUpTimeout, shorter in some tests.
	timeout atomic.Int64
	// firstAnswer bounds the wait for a peer's first answer:
	// catchUpFirstAnswer, shorter in some tests.
	firstAnswer atomic.Int64
	// limits are the reconciliations' Options: nil (the defaults), smaller
	// in some tests.
	limits atomic.Pointer[reconcile.Options]
	// unfetchedWait is how long Sync waits for a session that failed for
	// want of a collection version to be served: syncUnfetchedWait, shorter
	// in some tests.
	unfetchedWait atomic.Int64

	mu      sync.Mutex
	sched   *catchup.Scheduler
	running map[string]int // by collection
	pending map[string]int // by collection: documents left to pull
	// last and finished hold the sessions of connected peers only (see
	// forgetLocked): peer IDs cost nothing to make.
	last map[catchup.Key]*PeerSyncStatus
	// started counts the sessions started, and finished is the last one of
	// each key to finish, for Sync.
	started  uint64
	finished map[catchup.Key]finishedSession
	// ended is closed, and replaced, whenever a session finishes.
	ended chan struct{}
}

// finishedSession is a finished session: its number among the sessions
// started (see catchUp.started) and what it did.
type finishedSession struct {
	number  uint64
	status  PeerSyncStatus
	unknown bool // the peer lacks the collection, or is no gossipdb node
	busy    bool // the peer refused the session, or one of its pulls, for now (reconcile.ErrBusy, blocks.ErrBusy)
	// unfetched: the session failed for want of a collection version that
	// other peers kept from being fetched (see catchUp.session).
	unfetched bool
}

func newCatchUp(n *Node) *catchUp {
	cfg := catchup.Config{Workers: catchUpWorkers, Queue: catchUpQueue, Settle: catchUpSettle,
		Interval: max(n.opts.SyncInterval, 0), LostDelay: catchUpLostDelay,
		RetryMin: catchUpRetryMin, RetryMax: catchUpRetryMax}
	sched, err := catchup.New(cfg, time.Now())
	if err != nil {
		panic(err) // the configuration is constant but for a validated interval
	}
	s := &catchUp{
		n:        n,
		starts:   make(chan catchup.Key, catchUpWorkers),
		wake:     make(chan struct{}, 1),
		sched:    sched,
		running:  map[string]int{},
		pending:  map[string]int{},
		last:     map[catchup.Key]*PeerSyncStatus{},
		finished: map[catchup.Key]finishedSession{},
		ended:    make(chan struct{}),
	}
	s.timeout.Store(int64(catchUpTimeout))
	s.firstAnswer.Store(int64(catchUpFirstAnswer))
	s.unfetchedWait.Store(int64(syncUnfetchedWait))
	return s
}

// start launches the session workers, the timer and the watch on libp2p's
// identify, and tells the scheduler of the peers that connected before the
// node watched connections. It watches identify before it looks at those
// peers: one whose identify completes meanwhile is seen by either.
func (s *catchUp) start() error {
	sub, err := s.n.host.EventBus().Subscribe([]any{new(event.EvtPeerIdentificationCompleted), new(event.EvtPeerProtocolsUpdated)},
		eventbus.Name("gossipdb catch-up"))
	if err != nil {
		return err
	}
	if !s.n.goFunc(func() { s.watchIdentify(sub) }) {
		sub.Close()
	}
	for range catchUpWorkers {
		s.n.goFunc(s.work)
	}
	s.n.goFunc(s.timer)
	for _, p := range s.n.host.Network().Peers() {
		s.peerChanged(p, false)
	}
	return nil
}

// watchIdentify hands the peers that libp2p's identify tells of to
// peerChanged until the node closes: catch-up runs only with peers that
// serve it, and a peer that connected is known to once identify has told its
// protocols, one round trip after the connection opened (or later, when the
// peer adds the protocol and tells so).
func (s *catchUp) watchIdentify(sub event.Subscription) {
	defer sub.Close()
	for {
		select {
		case <-s.n.ctx.Done():
			return
		case e, ok := <-sub.Out():
			if !ok {
				return
			}
			switch e := e.(type) {
			case event.EvtPeerIdentificationCompleted:
				s.identified(e.Peer, e.Conn, e.AgentVersion)
			case event.EvtPeerProtocolsUpdated:
				if slices.Contains(e.Added, reconcile.ProtocolID) {
					s.identified(e.Peer, nil, "")
				}
			}
		}
	}
}

// identified brings the records of p (catch-up's and KnownPeers') in line
// once identify has told its protocols (on connection c, when not nil, whose peer runs agent), and logs
// the peer: at info level when it is a gossipdb node (one that serves
// catch-up) newly connected, at debug level when it connected and is not one.
func (s *catchUp) identified(p peer.ID, c network.Conn, agent string) {
	n := s.n
	if n.servesCatchUp(p) {
		n.peerEvents.identified(p)
	}
	if connected, _ := s.peerChanged(p, false); connected {
		addr, _ := n.peerAddr(p)
		n.log.Info("Peer connected", logKeyPeer, p.String(), logKeyAddr, addr)
		return
	}
	if c != nil && !c.IsClosed() && !n.servesCatchUp(p) {
		n.log.Debug("Peer connected", logKeyPeer, p.String(), logKeyAddr, c.RemoteMultiaddr().String(), logKeyAgent, agent)
	}
}

// servesCatchUp reports whether p is known to serve catch-up: libp2p's
// identify told that it speaks the reconciliation protocol, on this
// connection or an earlier one (the peerstore keeps what it told).
func (n *Node) servesCatchUp(p peer.ID) bool {
	ok, err := n.host.Peerstore().SupportsProtocols(p, reconcile.ProtocolID)
	return err == nil && len(ok) > 0
}

// identifyDone reports whether libp2p's identify has ended, told the peer's
// protocols or failed, on every connection to p.
func (n *Node) identifyDone(p peer.ID) bool {
	h, ok := n.host.(interface{ IDService() identify.IDService })
	if !ok {
		return true // no identify to wait for
	}
	for _, c := range n.host.Network().ConnsToPeer(p) {
		select {
		case <-h.IDService().IdentifyWait(c):
		default:
			return false
		}
	}
	return true
}

// event feeds the scheduler one event under the lock, then starts the sessions
// it decided on and wakes the timer.
func (s *catchUp) event(fn func(sched *catchup.Scheduler)) {
	s.mu.Lock()
	fn(s.sched)
	r := s.sched.Ready()
	s.mu.Unlock()
	for _, k := range r.Start {
		s.starts <- k
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// schedule asks for the sessions of collection (all subscribed ones if "") with
// peer (all connected ones if ""); see catchup.Scheduler.Request.
func (s *catchUp) schedule(collection string, p peer.ID) {
	s.event(func(sched *catchup.Scheduler) { sched.Request(collection, p) })
}

// failed tells the scheduler that a merge of collection's received blocks
// failed: catch-up brings them again (see catchup.Scheduler.Failed).
func (s *catchUp) failed(collection string) {
	s.event(func(sched *catchup.Scheduler) { sched.Failed(time.Now(), collection) })
}

// subscribed and unsubscribed tell the scheduler.
func (s *catchUp) subscribed(collection string) {
	s.event(func(sched *catchup.Scheduler) { sched.Subscribed(time.Now(), collection) })
}

func (s *catchUp) unsubscribed(collection string) {
	s.event(func(sched *catchup.Scheduler) { sched.Unsubscribed(collection) })
}

// lost tells the scheduler that gossip of collection from p was dropped.
func (s *catchUp) lost(collection string, p peer.ID) {
	s.event(func(sched *catchup.Scheduler) { sched.Lost(time.Now(), collection, p) })
}

// peerChanged brings the scheduler's record of p in line with the network, as
// it is when the scheduler's lock is held: connected and serving catch-up, or
// not. A peer is recorded once it is connected and known to serve catch-up
// (see servesCatchUp: libp2p's identify has told so, on this connection or an
// earlier one), and stays recorded until it disconnects; no session starts
// with a peer that is not recorded, so none with a libp2p peer that does not
// run gossipdb, nor with one that leaves before identify tells (such as
// another node's AutoNAT dial-back, which checks from a throwaway peer ID
// that this node can be reached, and closes at once).
//
// libp2p announces each connection that opens and each that closes, after
// the fact, and those of different connections concurrently, and identify
// tells of the protocols of a peer on a connection apart from both: one
// peer's two connections opened at once may each see the other, a closing
// may be announced after the next connection opened, and identify may tell
// before the connection is announced or after. Each announcement reads the
// state afresh under the lock, so the record is true after the last one,
// whatever their order. first marks the announcement of a connection that was
// the peer's only one: the peer (re)connected, and its sessions are
// requested again even if the record never saw it leave. It reports whether
// the record changed.
func (s *catchUp) peerChanged(p peer.ID, first bool) (connected, disconnected bool) {
	s.event(func(sched *catchup.Scheduler) {
		known := sched.IsConnected(p)
		now := s.n.host.Network().Connectedness(p) == network.Connected && (known || s.n.servesCatchUp(p))
		switch {
		case now && (!known || first):
			sched.Connected(time.Now(), p)
			connected = !known
		case !now && known:
			sched.Disconnected(p)
			s.forgetLocked(p)
			disconnected = true
		}
	})
	return connected, disconnected
}

// forgetLocked lets go of the records of p's sessions, which has disconnected.
// A session still running with it records nothing when it ends (see
// session). The caller holds s.mu.
func (s *catchUp) forgetLocked(p peer.ID) {
	for k := range s.last {
		if k.Peer == p {
			delete(s.last, k)
		}
	}
	for k := range s.finished {
		if k.Peer == p {
			delete(s.finished, k)
		}
	}
}

// timer ticks the scheduler at its next timer until the node closes.
func (s *catchUp) timer() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		next, ok := s.sched.Next()
		s.mu.Unlock()
		d := time.Hour
		if ok {
			d = max(time.Until(next), 0)
		}
		t.Reset(d)
		select {
		case <-s.n.ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
			s.event(func(sched *catchup.Scheduler) { sched.Tick(time.Now()) })
		}
	}
}

func (s *catchUp) work() {
	for {
		select {
		case <-s.n.ctx.Done():
			return
		case k := <-s.starts:
			caughtUp, stalled, busy, unfetched := s.session(k)
			s.event(func(sched *catchup.Scheduler) {
				now := time.Now()
				sched.Stalled(k, stalled)
				sched.Busy(now, k, busy)
				sched.Unfetched(now, k, unfetched, s.unfetchedRetryMax())
				sched.Done(k)
				if caughtUp {
					sched.Recovered(k.Collection)
				}
			})
		}
	}
}

// session reconciles one collection with one peer and pulls what differs. It
// reports whether it found nothing to pull, whether it timed out waiting for
// the peer's answers (see catchup.Scheduler.Stalled), whether the peer
// refused it for now (see catchup.Scheduler.Busy), and whether it stopped
// at a block whose collection version could not be fetched because peers
// other than its own held the definition fetches (see unfetchedVersion and
// catchup.Scheduler.Unfetched).
func (s *catchUp) session(k catchup.Key) (caughtUp, stalled, busy, unfetched bool) {
	n := s.n
	sub := n.subscription(k.Collection)
	if sub == nil {
		return false, false, false, false // unsubscribed since it was queued
	}
	if err := n.awaitingSpace(k.Collection); err != nil {
		// The blocks it would pull could not be merged: waitForSpace asks
		// for the session again once there is room.
		s.deferred(k, err)
		return false, false, false, false
	}
	timeout := time.Duration(s.timeout.Load())
	firstAnswer := time.Duration(s.firstAnswer.Load())
	var cancels []context.CancelFunc
	defer func() {
		for _, cancel := range cancels {
			cancel()
		}
	}()
	// fresh bounds a part of the session to the timeout: the whole session,
	// unless it goes on from a reconciliation that reached its limits (see
	// reconcile), which starts a new part.
	fresh := func() context.Context {
		ctx, cancel := context.WithTimeout(sub.ctx, timeout)
		cancels = append(cancels, cancel)
		return ctx
	}
	ctx := fresh()
	st := &PeerSyncStatus{Peer: k.Peer.String(), Started: time.Now()}
	s.mu.Lock()
	if prev := s.last[k]; prev != nil {
		st.LastEqual = prev.LastEqual
	}
	s.running[k.Collection]++
	s.last[k] = st
	s.started++
	number := s.started
	if s.sched.IsStalled(k) {
		firstAnswer = 0 // a slow honest peer gets the whole timeout next
	}
	s.mu.Unlock()
	err := s.reconcile(ctx, fresh, firstAnswer, sub, k.Peer, st)
	s.mu.Lock()
	s.running[k.Collection]--
	s.pending[k.Collection] -= st.Docs - st.Pulled - st.Shared
	st.Finished = time.Now()
	if pe := (*reconcile.PeerError)(nil); errors.As(err, &pe) {
		st.Err = pe.Err.Error() // the status names the peer and the collection already
	} else if err != nil {
		st.Err = err.Error()
	}
	st.Equal = err == nil && st.Docs == 0 && st.Offered == 0
	unknown := errors.Is(err, reconcile.ErrUnknownCollection) || errors.Is(err, msmux.ErrNotSupported[protocol.ID]{})
	busy = errors.Is(err, reconcile.ErrBusy) || errors.Is(err, blocks.ErrBusy)
	unfetched, byPeer := unfetchedVersion(err, k.Peer)
	unfetched = unfetched && !byPeer
	if n.host.Network().Connectedness(k.Peer) == network.Connected {
		s.finished[k] = finishedSession{number: number, status: *st, unknown: unknown, busy: busy, unfetched: unfetched}
	} else {
		// The peer disconnected: forgetLocked has run, or will.
		delete(s.last, k)
	}
	close(s.ended)
	s.ended = make(chan struct{})
	s.mu.Unlock()
	s.observe(st, err)
	attrs := []any{logKeyPeer, k.Peer.String(), logKeyCollection, k.Collection, logKeyDocs, st.Docs,
		logKeyBlocks, st.Blocks, logKeyBytes, st.Bytes, logKeyRounds, st.Rounds, logKeyDuration, st.Finished.Sub(st.Started)}
	switch {
	case errors.Is(err, reconcile.ErrUnknownCollection):
		n.log.Debug("Catch-up skipped: peer lacks the collection", attrs...)
	case busy:
		n.log.Debug("Catch-up refused: peer busy, asking again later", append(attrs, logKeyError, err)...)
	case errors.Is(err, store.ErrNoSpace):
		n.log.Info("Catch-up stopped: received blocks wait for free disk space", append(attrs, logKeyError, err)...)
	case unfetched:
		n.log.Info("Catch-up incomplete: a collection version could not be fetched yet, asking again later", append(attrs, logKeyError, err)...)
	case err != nil && ctx.Err() == nil:
		n.log.Warn("Catch-up failed", append(attrs, logKeyError, err)...)
	case err == nil && st.Docs > 0:
		n.log.Info("Catch-up finished", attrs...)
	}
	return err == nil && st.Docs == 0, errors.Is(err, reconcile.ErrTimeout), busy, unfetched
}

// deferred records the session k as not run because the blocks it would pull
// could not be merged (err says why): Sync and SyncStatus report it.
func (s *catchUp) deferred(k catchup.Key, err error) {
	n := s.n
	now := time.Now()
	st := &PeerSyncStatus{Peer: k.Peer.String(), Started: now, Finished: now, Err: err.Error()}
	s.mu.Lock()
	if prev := s.last[k]; prev != nil {
		st.LastEqual = prev.LastEqual
	}
	s.started++
	if n.host.Network().Connectedness(k.Peer) == network.Connected {
		s.last[k] = st
		s.finished[k] = finishedSession{number: s.started, status: *st}
	}
	close(s.ended)
	s.ended = make(chan struct{})
	s.mu.Unlock()
	n.log.Debug("Catch-up deferred: received blocks wait for free disk space", logKeyPeer, k.Peer.String(),
		logKeyCollection, k.Collection, logKeyError, err)
}

// observe counts a finished session in the node's metrics, unless the peer
// lacks the collection or the node is closing.
func (s *catchUp) observe(st *PeerSyncStatus, err error) {
	m, c := &s.n.metrics, s.n.collector
	switch {
	case errors.Is(err, reconcile.ErrUnknownCollection) || s.n.closing():
		return
	case err != nil:
		m.catchUpsFailed.Add(1)
	case st.Docs == 0 && st.Offered == 0:
		m.catchUpsEqual.Add(1)
	default:
		m.catchUpsPulled.Add(1)
	}
	c.catchUpSeconds.Observe(st.Finished.Sub(st.Started).Seconds())
	c.catchUpBytes.Observe(float64(int64(st.Bytes) + st.BlockBytes))
	c.catchUpRounds.Observe(float64(st.Rounds))
}

// reconcile runs a session's exchanges with p: a restricted collection's
// policy changes first (pullPolicy: those of p's that the node lacks, which
// no block may name), then the documents.
//
// The sessions of a collection share out the documents they pull (see
// catchup.Claims): a session pulls first the documents no other session
// pulls, then waits until the others' have been merged, or their claims
// released, and reconciles with p again to pull what still differs: p may
// hold a newer state of those documents than the peer they came from.
//
// A reconciliation that reaches its limits returns what it found so far and
// where it stopped (reconcile.Result.Resume); the session pulls what it found
// while the next reconciliation goes on from there, in a new part. A part
// that follows one that brought blocks is bounded by fresh's timeout; one that
// follows a part that brought none shares that part's time, so that a peer
// that names documents it does not serve, settling a little more of the key
// space each time, holds the session no longer than one timeout.
//
// The first reconciliation waits at most firstAnswer (when positive) for p's
// first answer; the later ones, once p has answered, only for the timeout.
func (s *catchUp) reconcile(ctx context.Context, fresh func() context.Context, firstAnswer time.Duration, sub *subscription, p peer.ID, st *PeerSyncStatus) error {
	n := s.n
	if err := n.pullPolicy(ctx, sub.c, p); err != nil && ctx.Err() == nil {
		// The documents are exchanged still; a block that names a change the
		// node lacks asks p for it again.
		n.log.Info("Cannot fetch policy changes", logKeyPeer, p.String(), logKeyCollection, sub.c.Name(), logKeyError, err)
	}
	defer sub.claims.end(p)
	var (
		waited []string // the documents left to other sessions, waited for before this reconciliation, sorted
		from   string   // where this reconciliation starts: "", or where a partial one stopped
		// ahead is the reconciliation that goes on from a partial one while
		// the documents it found are pulled.
		ahead *background
		// pulling lists the documents from from on that partial
		// reconciliations found, sorted: pulled, perhaps not merged yet.
		pulling []string
		left    []string // documents of partial reconciliations left to other sessions
	)
	defer func() {
		if ahead != nil {
			ahead.stop()
		}
	}()
	shares, partials := 0, 0
	for round := 0; ; round++ {
		var r reconciled
		if ahead != nil {
			r = ahead.wait()
			ahead = nil
		} else {
			r = s.reconcileFrom(ctx, sub, p, from, firstAnswer)
			firstAnswer = 0
		}
		res, items, err := r.res, r.items, r.err
		// A reconciliation that reached its limits (a difference of more
		// than about 200,000 documents) returns the documents it found to
		// differ so far: they are pulled while the next one goes on from
		// where it stopped. It may find again some of those it found
		// beyond that point, not merged yet: they are not pulled twice.
		partial := errors.Is(err, reconcile.ErrLimit) && len(res.Need) > 0 && partials < maxPartialReconciles
		need := without(res.Need, pulling)
		s.mu.Lock()
		st.Bytes += res.BytesSent + res.BytesReceived
		st.Rounds += res.Rounds
		st.Offered = len(res.Offer)
		if err == nil && from == "" && len(res.Need) == 0 && len(res.Offer) == 0 {
			st.LastEqual = time.Now()
		}
		if round == 0 {
			st.Docs = len(need)
		} else {
			// Documents waited for that differ no more were pulled by others;
			// those that differ now and were not waited for are new.
			both := overlap(waited, need)
			st.Shared += len(waited) - both
			st.Docs += len(need) - both
		}
		s.pending[sub.c.Name()] += len(need) - len(waited)
		before := st.Blocks // blocks received before this reconciliation's pulls
		s.mu.Unlock()
		waited = nil
		if err != nil && !partial {
			return err
		}
		if round == 0 && len(need) > 0 {
			n.log.Info("Catch-up started", logKeyPeer, p.String(), logKeyCollection, sub.c.Name(), logKeyDocs, len(need))
		}
		var next context.Context // the next part's
		if partial {
			next = fresh() // a new part: each has catchUpTimeout
			ahead = s.reconcileBackground(next, sub, p, res.Resume)
		}
		var changed func(id string, hash [32]byte) bool
		if shares < shareRounds {
			changed = func(id string, hash [32]byte) bool {
				i, ok := slices.BinarySearchFunc(items, id, func(it reconcile.Item, id string) int { return strings.Compare(it.Key, id) })
				return ok != (hash != [32]byte{}) || ok && items[i].Hash != hash
			}
		}
		deferred, err := s.pullAll(ctx, sub, p, need, st, changed)
		if err != nil {
			return err
		}
		if partial {
			s.mu.Lock()
			brought := st.Blocks > before
			s.mu.Unlock()
			if !brought && res.Resume <= from {
				// p named documents it did not serve, and the key space
				// settled no further: no going on with it.
				return fmt.Errorf("%w: a partial reconciliation settled nothing more and its documents brought no block", reconcile.ErrLimit)
			}
			partials++
			if brought {
				ctx = next
			}
			from = res.Resume
			pulling = keysFrom(mergeSorted(pulling, need), from)
			left = append(left, deferred...)
			continue
		}
		deferred = append(left, deferred...)
		slices.Sort(deferred)
		if len(deferred) == 0 {
			return nil
		}
		shares++
		// Reconcile the whole collection again once the others' pulls of
		// deferred, and this session's own, have been merged: the store
		// then shows them.
		if err := sub.claims.await(ctx, p, deferred); err != nil {
			return err
		}
		switch merged, err := sub.inbox.waitMerged(ctx, sub.ctx); {
		case err != nil:
			return err
		case !merged:
			return context.Cause(sub.ctx)
		}
		waited, from, pulling, left = deferred, "", nil, nil
	}
}

// reconciled is the outcome of one reconciliation of a session: the node's
// items, as it compared them, of the documents found to differ (needed), and
// what the reconciliation returned.
type reconciled struct {
	items []reconcile.Item
	res   reconcile.Result
	err   error
}

// reconcileFrom reconciles the documents of sub's collection from from on (as
// strings; "": every one) with p, waiting at most firstAnswer (when positive)
// for p's first answer. Of the whole collection, once the store keeps the sum
// of its items, it reads them only if p differs from it.
func (s *catchUp) reconcileFrom(ctx context.Context, sub *subscription, p peer.ID, from string, firstAnswer time.Duration) reconciled {
	schema := sub.c.schema().ID
	var opts reconcile.Options
	if l := s.limits.Load(); l != nil {
		opts = *l
	}
	opts.FirstAnswer = firstAnswer
	var (
		set     *reconcile.Set
		release = func() {}
	)
	defer func() { release() }()
	load := func() (*reconcile.Set, error) {
		var err error
		set, release, err = s.n.reconcileSet(schema, from)
		return set, err
	}
	var res reconcile.Result
	var err error
	if sum, ok := s.n.store.Summary(schema); ok && from == "" {
		res, err = reconcile.ReconcileSum(ctx, s.n.host, p, schema, sum, load, &opts)
	} else if _, err = load(); err == nil {
		res, err = reconcile.ReconcileSet(ctx, s.n.host, p, schema, set, from, &opts)
	}
	return reconciled{items: needed(set, res.Need), res: res, err: err}
}

// needed returns the items of set, in key order, whose keys are among need,
// sorted: what the node held of the documents a reconciliation found to
// differ, as it compared them. A nil set holds none.
func needed(set *reconcile.Set, need []string) []reconcile.Item {
	if set == nil || set.Err() != nil {
		return nil
	}
	var items []reconcile.Item
	for _, k := range need {
		if hash, ok := set.Lookup(k); ok {
			items = append(items, reconcile.Item{Key: k, Hash: hash})
		}
	}
	return items
}

// background is a reconciliation running on its own goroutine.
type background struct {
	done   chan reconciled
	cancel context.CancelFunc
}

// reconcileBackground starts reconcileFrom on a goroutine of its own. The
// caller must end it with wait or stop.
func (s *catchUp) reconcileBackground(ctx context.Context, sub *subscription, p peer.ID, from string) *background {
	ctx, cancel := context.WithCancel(ctx)
	b := &background{done: make(chan reconciled, 1), cancel: cancel}
	go func() { b.done <- s.reconcileFrom(ctx, sub, p, from, 0) }()
	return b
}

// wait returns the reconciliation's outcome once it has ended.
func (b *background) wait() reconciled {
	r := <-b.done
	b.cancel()
	return r
}

// stop cancels the reconciliation and returns once it has ended.
func (b *background) stop() {
	b.cancel()
	<-b.done
}

// mergeSorted returns the strings of sorted lists a and b, which hold none in
// common, in one sorted list.
func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// keysFrom returns the strings of sorted list a from from on.
func keysFrom(a []string, from string) []string {
	i, _ := slices.BinarySearch(a, from)
	return a[i:]
}

// without returns the strings of sorted list a that sorted list b lacks; a
// itself when b is empty.
func without(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a))
	for _, k := range a {
		if _, ok := slices.BinarySearch(b, k); !ok {
			out = append(out, k)
		}
	}
	return out
}

// overlap counts the strings that both sorted lists hold.
func overlap(a, b []string) int {
	k := 0
	for len(a) > 0 && len(b) > 0 {
		switch c := strings.Compare(a[0], b[0]); {
		case c < 0:
			a = a[1:]
		case c > 0:
			b = b[1:]
		default:
			k++
			a, b = a[1:], b[1:]
		}
	}
	return k
}

// pullAll pulls the documents ids from p in the batches of a catchup.Pulls,
// pullsInFlight requests at a time, so that p prepares an answer while this
// node checks and merges the previous one. It stops at the first error.
//
// Unless changed is nil, the sessions of the collection share the documents
// out: pullAll claims each batch's documents first (pullClaims.claim), and
// pulls only those that no other session holds and whose heads hash is still
// the one the reconciliation compared (changed reports whether the node's
// hash of a document, zero when it has none, differs from that one: another
// session merged something of it since). It returns the others in deferred,
// sorted. A session that runs alone does not skip changed documents.
func (s *catchUp) pullAll(ctx context.Context, sub *subscription, p peer.ID, ids []string, st *PeerSyncStatus, changed func(id string, hash [32]byte) bool) (deferred []string, err error) {
	plan := catchup.NewPulls(ids, pullDocs, pullsInFlight)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type result struct {
		skipped []string
		err     error
	}
	done := make(chan result, pullsInFlight)
	var wg sync.WaitGroup
	for {
		for batch, ok := plan.Next(); ok; batch, ok = plan.Next() {
			if changed != nil {
				var others []string
				batch, others = sub.claims.claim(p, batch)
				deferred = append(deferred, others...)
				if len(batch) == 0 {
					plan.Done(true)
					continue
				}
			}
			check := changed
			if check != nil && s.alone(sub.c.Name()) {
				// Nothing else pulls: a document that changed since the
				// reconciliation changed by gossip, and the request names
				// its heads now.
				check = nil
			}
			wg.Go(func() {
				skipped, err := s.pull(ctx, sub, p, batch, st, check)
				done <- result{skipped, err}
			})
		}
		if plan.Finished() {
			break
		}
		r := <-done
		deferred = append(deferred, r.skipped...)
		if r.err != nil {
			cancel(r.err)
		}
		plan.Done(r.err == nil)
	}
	wg.Wait()
	slices.Sort(deferred)
	return deferred, context.Cause(ctx)
}

// alone reports whether one session at most catches collection up.
func (s *catchUp) alone(collection string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[collection] <= 1
}

// pull fetches the documents ids from p, beyond our own heads, and hands the
// blocks to the collection's merge worker. Unless changed is nil, it leaves
// out, and returns in skipped, the documents whose heads hash it reports
// changed. It reports its progress, and its end, to the subscription's
// claims.
func (s *catchUp) pull(ctx context.Context, sub *subscription, p peer.ID, ids []string, st *PeerSyncStatus, changed func(id string, hash [32]byte) bool) (skipped []string, err error) {
	n := s.n
	var seq uint64 // the position of the last arrival queued
	defer func() { sub.claims.pulled(p, ids, seq) }()
	schema := sub.c.schema().ID
	items := make([]blocks.Item, 0, len(ids))
	err = n.store.View(func(tx *store.Tx) error {
		for _, id := range ids {
			doc, err := cid.Decode(id)
			if err != nil {
				return fmt.Errorf("%w: peer listed document %q", blocks.ErrProtocol, id)
			}
			if changed != nil {
				heads, err := tx.Heads(schema, doc)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				var hash [32]byte
				if err == nil {
					hash = crdt.HeadsHash(heads)
				}
				if changed(id, hash) {
					skipped = append(skipped, id)
					continue
				}
			}
			it := blocks.Item{Doc: doc}
			if it.Have, err = blocks.Have(tx, schema, doc); err != nil {
				return err
			}
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var chunk []*crdt.Block
	chunkBytes := 0
	var full error // why flush stopped the pulls: the disk is full
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		// Checking the blocks and waiting for room in the inbox is this
		// node's work, not p's: the claims do not stall meanwhile.
		sub.claims.busy(p)
		defer sub.claims.progress(p)
		if err := n.awaitingSpace(sub.c.Name()); err != nil {
			full = err
			return err // the blocks could not be merged: stop pulling
		}
		if _, err := n.accept(ctx, sub.c, chunk, p, fromFetch); err != nil {
			n.countRejected(err)
			return err
		}
		at, err := sub.inbox.putAt(ctx, arrival{blocks: chunk, from: p, via: p})
		if err == nil {
			seq = at
		}
		chunk, chunkBytes = nil, 0
		return err
	}
	delivered := 0 // bytes since the last progress reported
	stats, err := blocks.Fetch(ctx, n.host, p, schema, items, func(b *crdt.Block) error {
		if delivered += len(b.Data); delivered >= claimProgress {
			delivered = 0
			sub.claims.progress(p)
		}
		chunk = append(chunk, b)
		chunkBytes += len(b.Data)
		if len(chunk) == pullChunk || chunkBytes >= pullChunkBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if full != nil {
		// Not the fault of the block that was arriving, nor of p (which
		// the session's status and log name): the pulls stopped.
		err = fmt.Errorf("stopped pulling: %w", full)
	}
	n.metrics.catchUpBlocks.Add(uint64(stats.Blocks))
	n.metrics.catchUpBytes.Add(uint64(stats.Bytes))
	s.mu.Lock()
	st.Blocks += stats.Blocks
	st.BlockBytes += stats.Bytes
	st.Pulled += len(items)
	s.pending[sub.c.Name()] -= len(items)
	s.mu.Unlock()
	return skipped, err
}

// pullClaims is a subscription's catchup.Claims, shared by the catch-up
// sessions of its collection, with the lock that guards it. Every call first
// tells the claims how far the merge worker has merged, which keeps them
// bounded by the documents in flight.
type pullClaims struct {
	inbox *inbox

	mu     sync.Mutex
	claims *catchup.Claims
	// released is closed, and replaced, when claims end other than by a
	// merge (which the inbox signals).
	released chan struct{}
}

func newPullClaims(b *inbox) *pullClaims {
	return &pullClaims{inbox: b, claims: catchup.NewClaims(claimStall), released: make(chan struct{})}
}

// lock takes the lock and brings the claims up to date with the merge worker.
func (c *pullClaims) lock() {
	merged, _ := c.inbox.mergedThrough()
	c.mu.Lock()
	c.claims.Merged(merged)
}

// wake closes released under the lock.
func (c *pullClaims) wakeLocked() {
	close(c.released)
	c.released = make(chan struct{})
}

// claim claims ids for the session with p; see catchup.Claims.Claim.
func (c *pullClaims) claim(p peer.ID, ids []string) (mine, others []string) {
	c.lock()
	defer c.mu.Unlock()
	return c.claims.Claim(time.Now(), p, ids)
}

// progress, busy, pulled and end report to the claims; see catchup.Claims.
func (c *pullClaims) progress(p peer.ID) {
	c.lock()
	defer c.mu.Unlock()
	c.claims.Progress(time.Now(), p)
}

func (c *pullClaims) busy(p peer.ID) {
	c.lock()
	defer c.mu.Unlock()
	c.claims.Busy(p)
}

func (c *pullClaims) pulled(p peer.ID, ids []string, seq uint64) {
	c.lock()
	defer c.mu.Unlock()
	if c.claims.Pulled(p, ids, seq) {
		c.wakeLocked()
	}
}

func (c *pullClaims) end(p peer.ID) {
	c.lock()
	defer c.mu.Unlock()
	if c.claims.End(p) {
		c.wakeLocked()
	}
}

// await returns once no session but the one with p holds a claim on ids (see
// catchup.Claims.Waiting), or ctx's error: it wakes when the merge worker
// merges, when claims are released, and when the first of those it waits for
// would stall.
func (c *pullClaims) await(ctx context.Context, p peer.ID, ids []string) error {
	t := time.NewTimer(claimStall)
	defer t.Stop()
	for {
		_, merged := c.inbox.mergedThrough()
		c.lock()
		held, until := c.claims.Waiting(time.Now(), p, ids)
		released := c.released
		c.mu.Unlock()
		if held == 0 {
			return nil
		}
		// A claim whose owner is busy may stall once it is not: look again
		// within claimStall.
		d := claimStall
		if !until.IsZero() {
			d = min(max(time.Until(until), 0), claimStall)
		}
		t.Reset(d)
		select {
		case <-merged:
		case <-released:
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reconcileItems is the set reconciliation compares for a collection: every
// document's ID with the hash of its heads, in ID order. The first read of a
// whole collection makes its sum known to the store (store.Summary), which
// answers sessions that agree from then on, and its buckets
// (store.Store.SnapshotItems), which let a session that finds differences read
// only the parts of the collection around them.
func (n *Node) reconcileItems(schemaID cid.Cid, from string) ([]reconcile.Item, error) {
	n.metrics.syncItemReads.Add(1)
	var items []reconcile.Item
	err := n.store.Items(schemaID, from, func(id string, hash [32]byte) error {
		items = append(items, reconcile.Item{Key: id, Hash: hash})
		return nil
	})
	return items, err
}

// reconcileSet returns the Set of a collection's items from from on that a
// session compares, and release, which frees it once the session has ended:
// made of the store's buckets (bucketSet), which a read of the whole
// collection that keeps none of its items builds first when the store keeps
// none or they grew uneven (cutBuckets); read whole (reconcileItems) only
// when another read is building them.
func (n *Node) reconcileSet(schemaID cid.Cid, from string) (set *reconcile.Set, release func(), err error) {
	set, release, ok, err := n.cutBucketSet(schemaID)
	if err != nil || ok {
		return set, release, err
	}
	items, err := n.reconcileItems(schemaID, from)
	if err != nil {
		return nil, func() {}, err
	}
	set, err = reconcile.NewSet(items)
	return set, func() {}, err
}

// cutBucketSet is bucketSet, after cutBuckets when the store keeps no
// buckets of the collection's items.
func (n *Node) cutBucketSet(schemaID cid.Cid) (set *reconcile.Set, release func(), ok bool, err error) {
	set, release, ok, err = n.bucketSet(schemaID)
	if err != nil || ok {
		return set, release, ok, err
	}
	if err := n.cutBuckets(schemaID); err != nil {
		return nil, func() {}, false, err
	}
	return n.bucketSet(schemaID)
}

// cutBuckets reads the items of a collection whole, keeping none of them,
// so that the store knows their sum and cuts them into buckets (store.Items).
func (n *Node) cutBuckets(schemaID cid.Cid) error {
	n.metrics.syncItemReads.Add(1)
	return n.store.Items(schemaID, "", func(string, [32]byte) error { return nil })
}

// bucketSet returns a Set made of the buckets of a collection's items that
// the store keeps (store.Store.SnapshotItems), which reads only the buckets a
// session needs, each from the same snapshot, and release, which ends the
// snapshot. ok is false, with no error, while the store keeps none.
func (n *Node) bucketSet(schemaID cid.Cid) (set *reconcile.Set, release func(), ok bool, err error) {
	sn, ok, err := n.store.SnapshotItems(schemaID)
	if err != nil || !ok {
		return nil, func() {}, false, err
	}
	set, err = reconcile.NewBucketSet(sn.Buckets(), func(i int) ([]reconcile.Item, error) {
		if err := n.enter(); err != nil {
			return nil, err // the store closes
		}
		defer n.leave()
		n.metrics.syncBucketReads.Add(1)
		var items []reconcile.Item
		err := sn.Read(i, func(id string, hash [32]byte) error {
			items = append(items, reconcile.Item{Key: id, Hash: hash})
			return nil
		})
		return items, err
	})
	if err != nil {
		sn.Close()
		return nil, func() {}, false, err
	}
	return set, sn.Close, true, nil
}

// Memory the snapshots of peers' reconciliation sessions may take together
// (reconcile.Options.MaxSnapshotBytes): by default 256 MiB, the snapshots of
// about 1,400,000 documents; with Options.SmallMemory 32 MiB, about 170,000.
// A session alone is served whatever its size.
const (
	snapshotBytes      = 256 << 20
	smallSnapshotBytes = 32 << 20
)

// snapshotBudget returns the bytes the snapshots of peers' reconciliation
// sessions may take together.
func (n *Node) snapshotBudget() int64 {
	if n.opts.SmallMemory {
		return smallSnapshotBytes
	}
	return snapshotBytes
}

// snapshotItems is the items of a snapshot of the collection with schema ID
// schemaID, before it is read: its documents.
func (n *Node) snapshotItems(schemaID cid.Cid) int {
	return int(n.store.Counts(schemaID).Docs)
}

// reconcileSource answers peers' reconciliation sessions for any collection this
// node knows, subscribed or not.
func (n *Node) reconcileSource(ctx context.Context, schemaID cid.Cid, from string) ([]reconcile.Item, error) {
	if _, ok := n.collectionBySchema(schemaID); !ok {
		return nil, reconcile.ErrUnknownCollection
	}
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	return n.reconcileItems(schemaID, from)
}

// reconcileBuckets answers peers' sessions for a collection this node knows
// from the buckets the store keeps of its items, cut first if it keeps none
// (cutBucketSet; reconcile.Options.Buckets): such a session reads only the
// buckets it needs, where reconcileSource, left for a collection whose
// buckets another read is cutting, reads the collection whole and holds it.
func (n *Node) reconcileBuckets(_ context.Context, schemaID cid.Cid) (*reconcile.Set, func(), bool, error) {
	if _, ok := n.collectionBySchema(schemaID); !ok {
		return nil, nil, false, nil // reconcileSource says it is unknown
	}
	if err := n.enter(); err != nil {
		return nil, nil, false, err
	}
	defer n.leave()
	return n.cutBucketSet(schemaID)
}

// reconcileSummary is the sum of the items reconcileSource would give for
// the whole of a collection this node knows, once the store keeps it (see
// store.Summary): a peer's session that agrees with it is answered without
// reading them.
func (n *Node) reconcileSummary(schemaID cid.Cid) (itemsum.Sum, bool) {
	if _, ok := n.collectionBySchema(schemaID); !ok {
		return itemsum.Sum{}, false
	}
	return n.store.Summary(schemaID)
}

// SyncStatus reports catch-up of collection name: sessions running, documents
// still to pull and the last session with each peer. An unknown name fails with
// ErrNotFound.
func (n *Node) SyncStatus(name string) (SyncStatus, error) {
	if n.closing() {
		return SyncStatus{}, ErrClosed
	}
	c, err := n.Collection(name)
	if err != nil {
		return SyncStatus{}, err
	}
	s := n.catchUp
	s.mu.Lock()
	defer s.mu.Unlock()
	out := SyncStatus{Collection: name, Running: s.running[name], Pending: s.pending[name], Versions: c.versionProblems()}
	for k, st := range s.last {
		if k.Collection == name {
			out.Peers = append(out.Peers, *st)
		}
	}
	slices.SortFunc(out.Peers, func(a, b PeerSyncStatus) int {
		switch {
		case a.Peer < b.Peer:
			return -1
		case a.Peer > b.Peer:
			return 1
		}
		return 0
	})
	return out, nil
}

// StartSync reconciles collection name with every connected gossipdb peer now, and
// returns when those sessions have been queued (their progress shows in
// SyncStatus). Only subscribed collections are caught up; others fail with
// ErrInvalid.
func (n *Node) StartSync(ctx context.Context, name string) error {
	if _, err := n.syncSubscription(ctx, name); err != nil {
		return err
	}
	n.catchUp.requestSync(name)
	return nil
}

// syncSubscription checks that collection name can be synced, and returns its
// subscription.
func (n *Node) syncSubscription(ctx context.Context, name string) (*subscription, error) {
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := n.Collection(name); err != nil {
		return nil, err
	}
	sub := n.subscription(name)
	if sub == nil {
		return nil, fmt.Errorf("%w: not subscribed to %s", ErrInvalid, name)
	}
	return sub, nil
}

// requestSync asks for a session of collection with every connected peer, and
// returns the sessions to wait for: one with each connected gossipdb peer
// numbered above the mark it gives (see marks).
func (s *catchUp) requestSync(collection string) map[catchup.Key]uint64 {
	// The marks first: a session asked for here may start before schedule
	// returns, and it must count.
	marks := s.marks(collection)
	s.schedule(collection, "")
	return marks
}

// marks returns, for a session of collection with each connected peer that
// may be a gossipdb node, the number of the last session started: the
// sessions that start from now on are numbered above it.
func (s *catchUp) marks(collection string) map[catchup.Key]uint64 {
	n := s.n
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[catchup.Key]uint64{}
	for _, p := range n.host.Network().Peers() {
		// Leave out peers known not to be gossipdb nodes. One whose protocols
		// are not known yet (it connected a moment ago) counts: if identify
		// tells that it does not serve catch-up, syncRound leaves it out.
		protos, _ := n.host.Peerstore().GetProtocols(p)
		if len(protos) == 0 || slices.Contains(protos, reconcile.ProtocolID) {
			out[catchup.Key{Collection: collection, Peer: p}] = s.started
		}
	}
	return out
}

// ErrSync reports a Sync that could not complete with some peer; the error
// names the peer and says why.
var ErrSync = errors.New("gossipdb: sync incomplete")

// Sync reconciles collection name with every connected gossipdb peer and
// returns once each of those reconciliations, started after the call, has
// completed and everything it found missing has been pulled and merged, and is
// on disk and in the change feed: at that moment this node holds everything
// those peers held when they answered.
// Peers that lack the collection are left out; subscribed or not, a peer that
// has it counts (a writer need not subscribe to its own collection). A peer is
// a gossipdb peer once libp2p's identify exchange (one round trip after it
// connected) shows that it serves catch-up: Sync waits for that exchange with
// a peer that connected a moment ago, and leaves out libp2p peers that do not
// run gossipdb. It returns the sessions, one per peer, sorted by peer ID. A
// peer whose session fails or that disconnects meanwhile makes Sync return an
// error wrapping ErrSync that names it (with the sessions of the others); so do merges of
// what the sessions pulled that fail meanwhile (the error wraps the last
// one's, ErrNoSpace when the disk is full): catch-up brings those blocks
// again later. While earlier merges of the collection's received blocks wait
// for free disk space and there is still no room for them, Sync pulls nothing
// (catch-up does not either: it brings them once space is freed) and returns
// at once, with no sessions, an error wrapping ErrSync and ErrNoSpace. Blocks of transactions that the node evicted meanwhile (see
// Options.TxnPeerBytes) are not merged: Sync then reconciles again, up to
// syncRounds times in all, after which it returns an error wrapping ErrSync.
// A peer that refuses its session, or one of its pulls, as busy (serving as
// many as it allows, in all or to this node) is
// asked again as catch-up asks it again (1 s later, then twice as long each
// time; see catchup.Scheduler.Busy): its first session to end otherwise, or
// the first refused syncBusyWait after its first refusal, counts. Likewise, a
// peer whose session fails for want of a collection version that other peers
// keep from being fetched (they hold the node's definition fetches) is asked
// again as catch-up asks it again (1 s later, then twice as long each time,
// at most half the definition fetch timeout; see
// catchup.Scheduler.Unfetched): its first session to end otherwise, or the
// first to fail so syncUnfetchedWait after the first such failure, counts.
// A session that fails for want of a version that its own peer was asked for
// and did not send, or kept from being fetched, counts at once (catch-up
// leaves it to the periodic backstop).
// ctx ending returns ctx's error. Sync with no such peer returns
// at once. Only subscribed collections are synced; others fail with
// ErrInvalid.
func (n *Node) Sync(ctx context.Context, name string) ([]PeerSyncStatus, error) {
	sub, err := n.syncSubscription(ctx, name)
	if err != nil {
		return nil, err
	}
	failed, _ := sub.mergeFailures()
	schema := sub.c.schema().ID
	for round := 1; ; round++ {
		if err := n.awaitingSpaceNow(name); err != nil {
			// Blocks pulled now could not be merged: pull none.
			return nil, fmt.Errorf("%w: %s: received blocks wait for free disk space: %w", ErrSync, name, err)
		}
		// Read before the sessions are asked for: what they evict, or fail
		// to merge, however soon, counts.
		evicted := n.held.evictions(schema)
		waiting := n.catchUp.requestSync(name)
		out, errs, err := n.syncRound(ctx, sub, name, waiting)
		if err != nil {
			return nil, err
		}
		if k, last := sub.mergeFailures(); k > failed {
			// What the sessions pulled is not all merged: catch-up brings it
			// again, but the node is not in sync now.
			errs = append(errs, fmt.Errorf("%w: %s: %d merges of received blocks failed, the last: %w", ErrSync, name, k-failed, noSpace(last)))
		}
		if k := n.held.evictions(schema) - evicted; k > 0 && len(errs) == 0 {
			if round < syncRounds {
				if _, err := n.syncSubscription(ctx, name); err != nil {
					return nil, err
				}
				continue
			}
			errs = append(errs, fmt.Errorf("%w: %s: %d blocks of transactions were evicted in round %d (Options.TxnPeerBytes)", ErrSync, name, k, round))
		}
		n.store.SyncLater() // what was merged is on disk and in the change feed
		slices.SortFunc(out, func(a, b PeerSyncStatus) int { return strings.Compare(a.Peer, b.Peer) })
		return out, errors.Join(errs...)
	}
}

// syncRounds bounds how many times Sync reconciles when transactions it
// received were evicted before they were complete.
const syncRounds = 4

// syncBusyWait is how long after a peer first refused a Sync's session as
// busy Sync still waits for one it serves.
const syncBusyWait = 8 * time.Second

// syncUnfetchedWait is how long after a Sync's session with a peer first
// failed for want of a collection version that other peers kept from being
// fetched Sync still waits for one that does not: twice the definition fetch
// timeout (versions.Timeout, 10 s). The fetches that held the version began
// before that failure, so they end within one fetch timeout of it, and
// catch-up asks for the session again at most unfetchedRetryMax (half that
// timeout) apart: the wait leaves room for two sessions after those fetches
// end, the first of which may still find the fetches taken by others that
// their end let start. Fetches held that long are being taken anew on
// purpose: Sync then reports the failure rather than wait while that lasts.
const syncUnfetchedWait = 2 * versions.Timeout

// syncRound waits for a session of each key in waiting numbered above its
// mark (see catchUp.requestSync), then for the merge of what they pulled. It returns
// the sessions, the errors of those that failed, and an error that ends Sync.
// A request for a session is refused when the catch-up queue is full (more
// sessions wait than it holds): syncRound asks again, each time it looks,
// for each session waited for that nothing is to start.
func (n *Node) syncRound(ctx context.Context, sub *subscription, name string, waiting map[catchup.Key]uint64) ([]PeerSyncStatus, []error, error) {
	s := n.catchUp
	busy := map[catchup.Key]time.Time{}    // when each peer first refused a session as busy
	lacking := map[catchup.Key]time.Time{} // when a session with each peer first failed as unfetched
	unfetchedWait := time.Duration(s.unfetchedWait.Load())
	// again reports whether Sync waits for the session that catch-up starts
	// again after one of k's failed for a cause that passes: it notes the
	// first such failure in first, and waits until wait after it.
	again := func(first map[catchup.Key]time.Time, k catchup.Key, wait time.Duration) bool {
		if first[k].IsZero() {
			first[k] = time.Now()
			return true
		}
		return time.Since(first[k]) < wait
	}
	var out []PeerSyncStatus
	var errs []error
	tick := time.NewTicker(syncPoll)
	defer tick.Stop()
	for len(waiting) > 0 {
		var ask []catchup.Key // sessions waited for that nothing is to start
		s.mu.Lock()
		ended := s.ended
		for k, mark := range waiting {
			switch f := s.finished[k]; {
			case f.number > mark && f.unknown:
				delete(waiting, k) // the peer lacks the collection
			case f.number > mark && f.busy && again(busy, k, syncBusyWait):
				waiting[k] = f.number // the session catch-up starts again counts
			case f.number > mark && f.unfetched && again(lacking, k, unfetchedWait):
				waiting[k] = f.number // likewise
			case f.number > mark:
				st := f.status
				out = append(out, st)
				if st.Err != "" {
					errs = append(errs, fmt.Errorf("%w: %s with peer %s: %s", ErrSync, name, k.Peer, st.Err))
				}
				delete(waiting, k)
			case n.host.Network().Connectedness(k.Peer) != network.Connected:
				errs = append(errs, fmt.Errorf("%w: %s with peer %s: disconnected", ErrSync, name, k.Peer))
				out = append(out, PeerSyncStatus{Peer: k.Peer.String(), Err: "disconnected"})
				delete(waiting, k)
			case !s.sched.IsConnected(k.Peer) && n.identifyDone(k.Peer) && !n.servesCatchUp(k.Peer):
				// Identify told that the peer does not serve catch-up (or
				// failed): no session starts with it.
				delete(waiting, k)
			case !s.sched.Pending(k):
				// Its request found the queue full: ask again.
				ask = append(ask, k)
			}
		}
		s.mu.Unlock()
		if len(waiting) == 0 {
			break
		}
		if len(ask) > 0 {
			s.event(func(sched *catchup.Scheduler) {
				for _, k := range ask {
					if !sched.Pending(k) {
						sched.Request(k.Collection, k.Peer)
					}
				}
			})
		}
		select {
		case <-ended:
		case <-tick.C:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-sub.ctx.Done():
			if n.closing() {
				return nil, nil, ErrClosed
			}
			return nil, nil, fmt.Errorf("%w: unsubscribed from %s during Sync", ErrInvalid, name)
		}
	}
	switch merged, err := sub.inbox.waitMerged(ctx, sub.ctx); {
	case err != nil:
		return nil, nil, err
	case !merged && n.closing():
		return nil, nil, ErrClosed
	case !merged:
		return nil, nil, fmt.Errorf("%w: unsubscribed from %s during Sync", ErrInvalid, name)
	}
	return out, errs, nil
}
