package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Catch-up bounds. Gossip carries only new messages and may lose some; catch-up
// reconciles each subscribed collection with each connected peer and pulls the
// documents that differ.
const (
	// syncSessionTimeout bounds one reconciliation with one peer, pulling included.
	syncSessionTimeout = 2 * time.Minute
	// syncFetchDocs is how many documents one /gossipdb/blocks/2 request asks for.
	syncFetchDocs = 256
	// syncFetchesInFlight is how many such requests to one peer run at once.
	syncFetchesInFlight = 2
	// syncChunk and syncChunkBytes bound the blocks handed to the merge worker at once.
	syncChunk      = 512
	syncChunkBytes = 4 << 20
	// syncWorkers is how many reconciliation sessions run at once.
	syncWorkers = 4
	// syncQueue bounds the pending (peer, collection) sessions.
	syncQueue = 1024
)

// syncSettle lists the delays after a subscription or a new connection at which
// catch-up runs again: a change published in the moments before the publisher
// learned of the new subscriber never reaches it by gossip, and these follow-ups
// fetch it without waiting for the periodic backstop.
var syncSettle = [...]time.Duration{time.Second, 4 * time.Second}

// SyncStatus describes catch-up of one collection.
type SyncStatus struct {
	Collection string
	// Running is how many reconciliation sessions are under way.
	Running int
	// Pending is how many documents found to differ are still to be pulled.
	Pending int
	// Peers has the last session with each peer, sorted by peer ID.
	Peers []PeerSyncStatus
}

// PeerSyncStatus is the last catch-up session of a collection with one peer.
type PeerSyncStatus struct {
	Peer     string
	Started  time.Time
	Finished time.Time // zero while the session runs
	// Docs is how many documents differed; Pulled how many of them were pulled so far.
	Docs, Pulled int
	// Offered is how many documents the peer lacks or holds in another state than
	// this node: it pulls them in its own sessions.
	Offered int
	// Blocks and Bytes count the blocks received and the bytes the reconciliation
	// exchanged (both directions, block transfers excluded); BlockBytes the
	// encoded size of the blocks received.
	Blocks     int
	Bytes      int
	BlockBytes int64
	Rounds     int
	Err        string // why the session failed; empty when it succeeded
	// LastEqual is when a session with this peer last found both nodes equal in
	// the collection (no document to pull, none offered), this one or an earlier
	// one; zero if none has since Open.
	LastEqual time.Time
}

// syncKey names one session: a collection with a peer.
type syncKey struct {
	collection string
	peer       peer.ID
}

// syncer schedules and runs catch-up sessions.
type syncer struct {
	n     *Node
	queue chan syncKey

	mu      sync.Mutex
	queued  map[syncKey]bool // queued or running
	again   map[syncKey]bool // asked for while running: queue once more when done
	running map[string]int   // by collection
	pending map[string]int   // by collection: documents left to pull
	last    map[syncKey]*PeerSyncStatus
}

func newSyncer(n *Node) *syncer {
	return &syncer{
		n:       n,
		queue:   make(chan syncKey, syncQueue),
		queued:  map[syncKey]bool{},
		again:   map[syncKey]bool{},
		running: map[string]int{},
		pending: map[string]int{},
		last:    map[syncKey]*PeerSyncStatus{},
	}
}

// start launches the session workers and the periodic backstop.
func (s *syncer) start() {
	for range syncWorkers {
		s.n.goFunc(s.work)
	}
	if iv := s.n.opts.SyncInterval; iv > 0 {
		s.n.goFunc(func() {
			t := time.NewTicker(iv)
			defer t.Stop()
			for {
				select {
				case <-s.n.ctx.Done():
					return
				case <-t.C:
					s.schedule("", "")
				}
			}
		})
	}
}

// schedule queues sessions for collection (all subscribed ones if "") with peer
// (all connected ones if ""). A session already queued is not queued twice, and
// one asked for while the same session runs is queued once when it ends (it may
// have compared before the change it should see); when the queue is full the
// request is dropped, the periodic backstop covers it.
func (s *syncer) schedule(collection string, p peer.ID) {
	cols := []string{collection}
	if collection == "" {
		cols = s.n.Subscriptions()
	}
	peers := []peer.ID{p}
	if p == "" {
		peers = s.n.host.Network().Peers()
	}
	for _, c := range cols {
		for _, p := range peers {
			s.mu.Lock()
			s.enqueueLocked(syncKey{c, p})
			s.mu.Unlock()
		}
	}
}

func (s *syncer) enqueueLocked(k syncKey) {
	if s.queued[k] {
		if s.last[k] != nil && s.last[k].Finished.IsZero() {
			s.again[k] = true
		}
		return
	}
	select {
	case s.queue <- k:
		s.queued[k] = true
	default:
	}
}

// scheduleSettling queues sessions now and again after each syncSettle delay.
func (s *syncer) scheduleSettling(collection string, p peer.ID) {
	s.schedule(collection, p)
	s.n.goFunc(func() {
		for _, d := range syncSettle {
			select {
			case <-s.n.ctx.Done():
				return
			case <-time.After(d):
				s.schedule(collection, p)
			}
		}
	})
}

func (s *syncer) work() {
	for {
		select {
		case <-s.n.ctx.Done():
			return
		case k := <-s.queue:
			s.session(k)
			s.mu.Lock()
			delete(s.queued, k)
			if s.again[k] {
				delete(s.again, k)
				s.enqueueLocked(k)
			}
			s.mu.Unlock()
		}
	}
}

// session reconciles one collection with one peer and pulls what differs.
func (s *syncer) session(k syncKey) {
	n := s.n
	sub := n.subscription(k.collection)
	if sub == nil {
		return // unsubscribed since it was queued
	}
	ctx, cancel := context.WithTimeout(sub.ctx, syncSessionTimeout)
	defer cancel()
	st := &PeerSyncStatus{Peer: k.peer.String(), Started: time.Now()}
	s.mu.Lock()
	if prev := s.last[k]; prev != nil {
		st.LastEqual = prev.LastEqual
	}
	s.running[k.collection]++
	s.last[k] = st
	s.mu.Unlock()
	err := s.reconcile(ctx, sub, k.peer, st)
	s.mu.Lock()
	s.running[k.collection]--
	s.pending[k.collection] -= st.Docs - st.Pulled
	st.Finished = time.Now()
	if err != nil {
		st.Err = err.Error()
	}
	s.mu.Unlock()
	s.observe(st, err)
	attrs := []any{logKeyPeer, k.peer.String(), logKeyCollection, k.collection, logKeyDocs, st.Docs,
		logKeyBlocks, st.Blocks, logKeyBytes, st.Bytes, logKeyRounds, st.Rounds, logKeyDuration, st.Finished.Sub(st.Started)}
	switch {
	case errors.Is(err, reconcile.ErrUnknownCollection):
		n.log.Debug("Catch-up skipped: peer lacks the collection", attrs...)
	case err != nil && ctx.Err() == nil:
		n.log.Warn("Catch-up failed", append(attrs, logKeyError, err)...)
	case err == nil && st.Docs > 0:
		n.log.Info("Catch-up finished", attrs...)
	}
}

// observe counts a finished session in the node's metrics, unless the peer
// lacks the collection or the node is closing.
func (s *syncer) observe(st *PeerSyncStatus, err error) {
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

func (s *syncer) reconcile(ctx context.Context, sub *subscription, p peer.ID, st *PeerSyncStatus) error {
	n := s.n
	items, err := n.reconcileItems(sub.c.schema.ID)
	if err != nil {
		return err
	}
	res, err := reconcile.Reconcile(ctx, n.host, p, sub.c.schema.ID, items, nil)
	s.mu.Lock()
	st.Bytes, st.Rounds = res.BytesSent+res.BytesReceived, res.Rounds
	st.Docs, st.Offered = len(res.Need), len(res.Offer)
	if err == nil && st.Docs == 0 && st.Offered == 0 {
		st.LastEqual = time.Now()
	}
	s.pending[sub.c.Name()] += len(res.Need)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if len(res.Need) > 0 {
		n.log.Info("Catch-up started", logKeyPeer, p.String(), logKeyCollection, sub.c.Name(), logKeyDocs, len(res.Need))
	}
	return s.pullAll(ctx, sub, p, res.Need, st)
}

// pullAll pulls the documents ids from p in requests of syncFetchDocs, with
// syncFetchesInFlight of them at a time, so that p prepares an answer while this
// node checks and merges the previous one. It stops at the first error.
func (s *syncer) pullAll(ctx context.Context, sub *subscription, p peer.ID, ids []string, st *PeerSyncStatus) error {
	batches := make(chan []string)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range syncFetchesInFlight {
		wg.Go(func() {
			for batch := range batches {
				if err := s.pull(ctx, sub, p, batch, st); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for batch := range slices.Chunk(ids, syncFetchDocs) {
		select {
		case batches <- batch:
		case <-ctx.Done():
			break feed
		}
	}
	close(batches)
	wg.Wait()
	return context.Cause(ctx)
}

// pull fetches the documents ids from p, beyond our own heads, and hands the
// blocks to the collection's merge worker.
func (s *syncer) pull(ctx context.Context, sub *subscription, p peer.ID, ids []string, st *PeerSyncStatus) error {
	n := s.n
	items := make([]blocks.Item, 0, len(ids))
	err := n.store.View(func(tx *store.Tx) error {
		for _, id := range ids {
			doc, err := cid.Decode(id)
			if err != nil {
				return fmt.Errorf("%w: peer listed document %q", blocks.ErrProtocol, id)
			}
			it := blocks.Item{Doc: doc}
			if heads, err := tx.Heads(sub.c.schema.ID, doc); err == nil {
				it.Have = heads
			}
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var chunk []*crdt.Block
	chunkBytes := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := sub.inbox.put(ctx, arrival{blocks: chunk, from: p, via: p})
		chunk, chunkBytes = nil, 0
		return err
	}
	stats, err := blocks.Fetch(ctx, n.host, p, sub.c.schema.ID, items, func(b *crdt.Block) error {
		if err := sub.c.schema.Check(b); err != nil {
			n.metrics.schemaRejects.Add(1)
			return err
		}
		chunk = append(chunk, b)
		chunkBytes += len(b.Data)
		if len(chunk) == syncChunk || chunkBytes >= syncChunkBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	n.metrics.catchUpBlocks.Add(uint64(stats.Blocks))
	s.mu.Lock()
	st.Blocks += stats.Blocks
	st.BlockBytes += stats.Bytes
	st.Pulled += len(ids)
	s.pending[sub.c.Name()] -= len(ids)
	s.mu.Unlock()
	return err
}

// reconcileItems is the set reconciliation compares for a collection: every
// document's ID with the hash of its heads, in ID order.
func (n *Node) reconcileItems(schemaID cid.Cid) ([]reconcile.Item, error) {
	var items []reconcile.Item
	err := n.store.View(func(tx *store.Tx) error {
		return tx.HeadsHashes(schemaID, func(id string, hash [32]byte) error {
			items = append(items, reconcile.Item{Key: id, Hash: hash})
			return nil
		})
	})
	return items, err
}

// reconcileSource answers peers' reconciliation sessions for any collection this
// node knows, subscribed or not.
func (n *Node) reconcileSource(ctx context.Context, schemaID cid.Cid) ([]reconcile.Item, error) {
	if _, ok := n.collectionBySchema(schemaID); !ok {
		return nil, reconcile.ErrUnknownCollection
	}
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	return n.reconcileItems(schemaID)
}

// SyncStatus reports catch-up of collection name: sessions running, documents
// still to pull and the last session with each peer. An unknown name fails with
// ErrNotFound.
func (n *Node) SyncStatus(name string) (SyncStatus, error) {
	if n.closing() {
		return SyncStatus{}, ErrClosed
	}
	if _, err := n.Collection(name); err != nil {
		return SyncStatus{}, err
	}
	s := n.syncer
	s.mu.Lock()
	defer s.mu.Unlock()
	out := SyncStatus{Collection: name, Running: s.running[name], Pending: s.pending[name]}
	for k, st := range s.last {
		if k.collection == name {
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

// Sync reconciles collection name with every connected peer now, and returns
// when those sessions have been queued (their progress shows in SyncStatus). Only
// subscribed collections are caught up; others fail with ErrInvalid.
func (n *Node) Sync(ctx context.Context, name string) error {
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := n.Collection(name); err != nil {
		return err
	}
	if n.subscription(name) == nil {
		return fmt.Errorf("%w: not subscribed to %s", ErrInvalid, name)
	}
	n.syncer.schedule(name, "")
	return nil
}
