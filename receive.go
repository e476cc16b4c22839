package gossipdb

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/catchup"
	inboxpkg "github.com/gossipdb/gossipdb/internal/inbox"
	"github.com/gossipdb/gossipdb/internal/orphans"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/txns"
)

// Bounds of the receive path. The budgets in bytes are Options.OrphanBytes,
// OrphanPeerBytes and InboxBytes; the fetch pool is Options.FetchWorkers.
const (
	// mergeBatch and mergeBatchBytes bound what one store transaction merges
	// (at most store.Store.BatchBytes, which is less with Options.SmallMemory), and
	// what the merge worker takes from its inbox at once.
	mergeBatch      = 1024
	mergeBatchBytes = 8 << 20
	// fetchQueue is how many documents may wait for a fetch worker.
	fetchQueue = 1024
	// fetchPeers is how many peers a missing history is asked from in one attempt.
	fetchPeers = 3
	// fetchAttempts is how many times those peers are asked, fetchBackoff apart and
	// doubling: a peer that forwarded a change may not have merged its parents
	// yet. A block that came straight from its author is asked for once: the
	// author stored the history before it published the block.
	fetchAttempts = 4
	fetchBackoff  = 100 * time.Millisecond
	// fetchRounds is how many fetches in a row one document's orphans may wait for;
	// an answer can be cut at its size limit, so completing a history may take more
	// than one, but a peer that keeps answering without completing it is given up on.
	fetchRounds = 8
	// fetchBusyRetries is how many more times a fetch asks again, fetchBackoff
	// apart and doubling (6.3 s in all), when every peer asked refused as
	// busy, or sent blocks under a version this node could not fetch then
	// (every definition fetch slot taken, or no answer; see versions.go): a
	// peer busy serving this node's catch-up, or definition fetches another
	// peer keeps waiting, are no fault of the orphans' author, while one that
	// is busy for ever still fails the fetch, which then costs the author
	// standing (but for a version other peers kept from being fetched: see
	// fetch). While it waits the fetch is paused (orphans.Set.Pause): it
	// holds no fetch worker.
	fetchBusyRetries = 6
)

// arrival is a set of blocks of one collection that came from a peer.
type arrival struct {
	blocks []*crdt.Block
	// from is the peer that made them: for gossip, the peer whose key signed
	// them (see gossipArrivals); for catch-up, the peer that served them; for
	// a history fetch, the author of the orphans it was for.
	from peer.ID
	via  peer.ID // the connected peer they came through
	// fetched is the document whose history fetch produced the blocks, if any,
	// and round that fetch's number (orphans.Fetch.Round). It marks a fetch's
	// last arrival: the document's orphans are merged again with it.
	fetched cid.Cid
	round   int
	// gossip marks a pubsub message, which counts against its sender's share of
	// the inbox.
	gossip bool
}

// cost is what a counts against the inbox budget.
func (a arrival) cost() int64 {
	var c int64
	for _, b := range a.blocks {
		c += orphans.Cost(b)
	}
	return c
}

// inbox holds a subscription's arrivals for its merge worker within a budget in
// bytes, whose rules internal/inbox decides: gossip is refused over budget or
// over its sender's share; fetched and caught-up blocks wait for room. The bytes
// of a batch count until the worker has merged it.
type inbox struct {
	ready chan struct{} // holds a token while arrivals wait
	room  chan struct{} // holds a token when bytes were released

	mu     sync.Mutex
	queue  []arrival
	budget *inboxpkg.Budget
	// pushed counts the arrivals queued, merged those merged and released:
	// arrivals are merged in the order they were queued.
	pushed, merged uint64
	released       chan struct{} // closed, and replaced, at each release
}

func newInbox(limit int64) *inbox {
	return &inbox{ready: make(chan struct{}, 1), room: make(chan struct{}, 1), budget: inboxpkg.New(limit),
		released: make(chan struct{})}
}

// waitMerged returns once every arrival queued before the call has been
// merged, or false when sub ends first, or ctx's error.
func (b *inbox) waitMerged(ctx, sub context.Context) (bool, error) {
	b.mu.Lock()
	target := b.pushed
	b.mu.Unlock()
	for {
		b.mu.Lock()
		done, released := b.merged >= target, b.released
		b.mu.Unlock()
		if done {
			return true, nil
		}
		select {
		case <-released:
		case <-ctx.Done():
			return false, ctx.Err()
		case <-sub.Done():
			return false, nil
		}
	}
}

// offer queues gossip a unless the budget refuses it.
func (b *inbox) offer(a arrival) bool {
	c := a.cost()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.budget.Offer(a.via, c) {
		return false
	}
	b.pushLocked(a)
	return true
}

// put queues a once there is room, or returns ctx's error.
func (b *inbox) put(ctx context.Context, a arrival) error {
	_, err := b.putAt(ctx, a)
	return err
}

// putAt is put that also returns a's position in the queue: a has been merged
// once mergedThrough reports that position or a later one.
func (b *inbox) putAt(ctx context.Context, a arrival) (uint64, error) {
	c := a.cost()
	for {
		b.mu.Lock()
		if b.budget.Fits(c) {
			b.budget.Add(c)
			seq := b.pushLocked(a)
			b.mu.Unlock()
			return seq, nil
		}
		b.mu.Unlock()
		select {
		case <-b.room:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// pushLocked queues a and returns its position: 1 for the first arrival.
func (b *inbox) pushLocked(a arrival) uint64 {
	b.pushed++
	b.queue = append(b.queue, a)
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return b.pushed
}

// mergedThrough returns the position of the last arrival merged (every one
// before it is merged too), and a channel closed when more are.
func (b *inbox) mergedThrough() (uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.merged, b.released
}

// take waits for arrivals and returns the oldest, at most mergeBatch blocks and
// mergeBatchBytes bytes of them (at least one arrival), or ctx's error. The
// caller releases them once merged.
func (b *inbox) take(ctx context.Context) ([]arrival, error) {
	for {
		b.mu.Lock()
		if len(b.queue) > 0 {
			n, blocks, size := 0, 0, 0
			for n < len(b.queue) && (n == 0 || blocks+len(b.queue[n].blocks) <= mergeBatch && size < mergeBatchBytes) {
				blocks += len(b.queue[n].blocks)
				for _, blk := range b.queue[n].blocks {
					size += len(blk.Data)
				}
				n++
			}
			batch := slices.Clone(b.queue[:n])
			b.queue = slices.Delete(b.queue, 0, n)
			if len(b.queue) > 0 {
				select {
				case b.ready <- struct{}{}:
				default:
				}
			}
			b.mu.Unlock()
			return batch, nil
		}
		b.mu.Unlock()
		select {
		case <-b.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release frees the bytes of a merged batch.
func (b *inbox) release(batch []arrival) {
	b.mu.Lock()
	for _, a := range batch {
		b.budget.Release(a.via, a.cost(), a.gossip)
	}
	b.merged += uint64(len(batch))
	close(b.released)
	b.released = make(chan struct{})
	b.mu.Unlock()
	select {
	case b.room <- struct{}{}:
	default:
	}
}

// subscription receives one collection's topic and merges what arrives. Its
// goroutines end when the subscription is stopped or the node closes.
type subscription struct {
	n      *Node
	c      *Collection
	ps     *pubsub.Subscription
	ctx    context.Context
	cancel context.CancelFunc
	inbox  *inbox
	claims *pullClaims    // the documents its catch-up sessions pull
	wg     sync.WaitGroup // read and work

	// failures counts the merge transactions of received blocks that failed,
	// and lastFailure is the last one's error: Sync reports those that fail
	// while it runs.
	failMu      sync.Mutex
	failures    int
	lastFailure error
}

// mergeFailed records a merge of received blocks that failed with err and
// hands it to the node (Node.mergeFailed), which has catch-up bring them again.
func (s *subscription) mergeFailed(err error) {
	s.failMu.Lock()
	s.failures++
	s.lastFailure = err
	s.failMu.Unlock()
	s.n.mergeFailed(s.c, err)
}

// mergeFailures returns how many merges of received blocks have failed since
// the subscription started, and the last one's error.
func (s *subscription) mergeFailures() (int, error) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return s.failures, s.lastFailure
}

func (n *Node) startSubscription(c *Collection, ps *pubsub.Subscription) *subscription {
	ctx, cancel := context.WithCancel(n.ctx)
	s := &subscription{n: n, c: c, ps: ps, ctx: ctx, cancel: cancel, inbox: newInbox(n.opts.InboxBytes)}
	s.claims = newPullClaims(s.inbox)
	for _, f := range []func(){s.read, s.work} {
		s.wg.Add(1)
		if !n.goFunc(func() { defer s.wg.Done(); f() }) {
			s.wg.Done()
		}
	}
	return s
}

// stop ends the subscription, waits for its goroutines and lets go of its
// collection's orphans. Its reader and merge worker take no lock of the node's
// topics, so the caller may hold it.
func (s *subscription) stop() {
	s.cancel()
	s.ps.Cancel()
	s.wg.Wait()
	s.n.orphans.forget(s.c.schema().ID)
	s.n.held.forget(s.c.schema().ID)
}

// read hands each accepted message to the worker.
func (s *subscription) read() {
	self := s.n.host.ID()
	for {
		msg, err := s.ps.Next(s.ctx)
		if err != nil {
			return
		}
		if msg.ReceivedFrom == self {
			continue
		}
		if blks, ok := msg.ValidatorData.([]*crdt.Block); ok {
			// GossipSub keeps the message for a few heartbeats to answer gossip;
			// from here its blocks count against the inbox, not held twice.
			msg.ValidatorData = nil
			s.receive(blks, msg.ReceivedFrom)
		}
	}
}

// losesGossip reports whether the node drops the gossip message it is
// handling, as the test hook gossipLoss asks.
func (n *Node) losesGossip() bool {
	loss := n.gossipLoss.Load()
	return loss > 0 && rand.Uint64N(1<<32) < loss
}

// receive offers the blocks of a gossip message received from peer via to the
// worker. A full inbox drops the message (what is left of it, when it has
// blocks of several authors) and asks via for catch-up.
func (s *subscription) receive(blks []*crdt.Block, via peer.ID) {
	if s.n.losesGossip() {
		return
	}
	for _, a := range gossipArrivals(blks, via) {
		a.gossip = true
		if !s.inbox.offer(a) {
			s.n.metrics.droppedMessages.Add(1)
			s.n.catchUp.schedule(s.c.Name(), via)
			return
		}
	}
	s.n.metrics.receivedMessages.Add(1)
}

// gossipArrivals splits the blocks of a gossip message received from peer via
// into arrivals of consecutive blocks of one author, each from the peer whose
// key signed its blocks (authorPeer): a message names no publisher (see
// wireOptions), and a block's author is the one peer that is known to have
// made it, and that can supply its history. A node's own writes are signed
// with its identity key, so their author is the node that published them; a
// key a node writes as (Collection.As) is no peer's, and counts against none.
func gossipArrivals(blocks []*crdt.Block, via peer.ID) []arrival {
	var out []arrival
	for i := 0; i < len(blocks); {
		j := i + 1
		for j < len(blocks) && bytes.Equal(blocks[j].Author, blocks[i].Author) {
			j++
		}
		out = append(out, arrival{blocks: blocks[i:j], from: authorPeer(blocks[i].Author), via: via})
		i = j
	}
	return out
}

// work merges arrivals in batches until the subscription ends.
func (s *subscription) work() {
	for {
		batch, err := s.inbox.take(s.ctx)
		if err != nil {
			return
		}
		s.merge(batch)
		s.inbox.release(batch)
	}
}

// received is one block of a batch with the peers it came from (see arrival).
type received struct {
	b         *crdt.Block
	from, via peer.ID
	// kind is, once b is merged, what the change feed reports of it
	// (store.Tx.Kind), which its event reports.
	kind store.ChangeKind
}

// merge applies a batch in one transaction, parents first. Blocks whose
// ancestors are missing wait as orphans while their history is fetched.
func (s *subscription) merge(batch []arrival) {
	var items []received
	rounds := map[cid.Cid]int{} // documents whose fetch ended in this batch
	for _, a := range batch {
		if a.fetched.Defined() {
			rounds[a.fetched] = a.round
			for _, o := range s.n.orphans.take(a.fetched) {
				items = append(items, received{b: o.Block, from: o.From, via: o.Via})
			}
		}
		for _, b := range a.blocks {
			items = append(items, received{b: b, from: a.from, via: a.via})
		}
	}
	var applied, missing []received
	schema := s.c.schema().ID
	for round := 0; len(items) > 0; round++ {
		// Blocks of transactions wait until their transaction is complete; any
		// block of a document wakes the transactions blocked on its history.
		var complete []txns.Txn
		if round == 0 {
			arrived := slices.Clone(items)
			var parts []received
			items = slices.DeleteFunc(items, func(it received) bool { return it.b.Txn != nil })
			for _, it := range arrived {
				if it.b.Txn != nil {
					parts = append(parts, it)
				}
			}
			parts, err := s.unstored(parts)
			if err != nil {
				s.mergeFailed(err)
			}
			complete = s.n.held.add(schema, parts, arrived)
		}
		// Height grows along every edge, so ascending height is a causal order.
		slices.SortFunc(items, func(x, y received) int { return cmpHeight(x.b, y.b) })
		var lacking []received
		for len(items) > 0 {
			part := items[:txnPart(items, min(mergeBatchBytes, s.n.store.BatchBytes()))]
			items = items[len(part):]
			a, m, err := s.applySplit(part)
			applied, lacking = append(applied, a...), append(lacking, m...)
			if err != nil {
				s.mergeFailed(err) // catch-up brings the rest again
			}
		}
		for len(complete) > 0 {
			out, err := s.applyTxnsSplit(complete, lacking)
			if err != nil {
				s.mergeFailed(err)
				// Kept, and tried again when their documents' blocks arrive.
				out = out.failed(complete, lacking)
			}
			s.n.metrics.mergedTxns.Add(uint64(len(out.merged)))
			s.n.metrics.rejectedBlocks.Add(uint64(out.invalid))
			for _, reason := range out.reasons {
				s.n.log.Warn("Rejected transaction", logKeyTopic, s.c.SchemaID(), logKeyError, reason)
			}
			applied, lacking = append(applied, out.applied...), out.missing
			missing = append(missing, out.lacking...)
			var deps []received
			deps, complete = s.n.held.settle(schema, out)
			items = append(items, deps...)
		}
		missing = append(missing, s.n.held.depend(lacking)...)
	}
	s.n.metrics.mergedBlocks.Add(uint64(len(applied)))
	s.n.watchers.emit(s.c.Name(), len(applied), func(i int) Event {
		return newEvent(s.c, applied[i].b, applied[i].kind, applied[i].from.String())
	})
	if len(missing) > 0 {
		s.n.orphans.park(missing, rounds)
	}
	if len(applied) > 0 && s.c.uncut() {
		s.n.cutOff(s.c) // the blocks may complete a revocation
	}
}

// txnPart returns how many of items, from the start, one transaction applies: at
// most mergeBatch blocks and maxBytes bytes (at least one block).
func txnPart(items []received, maxBytes int) int {
	size := 0
	for i, it := range items {
		size += len(it.b.Data)
		if i > 0 && (i == mergeBatch || size > maxBytes) {
			return i
		}
	}
	return len(items)
}

// applySplit merges items, sorted parents first, as apply does: in one
// transaction, or, when the records written with the blocks (each document's
// state and change-feed entry, which hold its values) make that more than the
// store commits at once, in halves, the first before the second. A half's
// blocks have their parents in it or before it, so the halves merge what one
// transaction would. On an error it returns what it merged before it.
func (s *subscription) applySplit(items []received) (applied, missing []received, err error) {
	applied, missing, err = s.apply(items)
	if !errors.Is(err, store.ErrTxnTooLarge) || len(items) == 1 {
		return applied, missing, err
	}
	half := len(items) / 2
	applied, missing, err = s.applySplit(items[:half])
	if err != nil {
		return applied, missing, err
	}
	a, m, err := s.applySplit(items[half:])
	return append(applied, a...), append(missing, m...), err
}

// apply merges items, parents first, in one transaction. It returns the blocks
// merged now and those whose parents are missing; invalid ones are logged and
// counted. The merge is synced to disk shortly after it returns, with the
// merges around it (store.Store.UpdateLater): the peers keep what a crash of the
// machine loses, and catch-up pulls it again.
func (s *subscription) apply(items []received) (applied, missing []received, err error) {
	var rejected []received
	var reasons []error
	err = s.n.store.UpdateLater(func(tx *store.Tx) error {
		applied, missing, rejected, reasons = applied[:0], missing[:0], rejected[:0], reasons[:0]
		var from peer.ID
		origin := ""
		for _, it := range items {
			if it.from != from {
				from, origin = it.from, it.from.String() // base58: once per run of one peer's blocks
			}
			tx.SetOrigin(origin)
			_, fresh, err := tx.Apply(it.b)
			switch {
			case errors.Is(err, store.ErrMissingParent):
				missing = append(missing, it)
			case errors.Is(err, crdt.ErrInvalidBlock):
				rejected, reasons = append(rejected, it), append(reasons, err)
			case err != nil:
				return err
			case fresh:
				it.kind = tx.Kind(it.b)
				applied = append(applied, it)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i, it := range rejected {
		s.n.metrics.rejectedBlocks.Add(1)
		s.n.log.Warn("Rejected block", logKeyPeer, it.from.String(), logKeyBlock, it.b.CID.String(), logKeyError, reasons[i])
	}
	return applied, missing, nil
}

// orphanage is the I/O around the node's orphans.Set: it parks what merges
// cannot apply yet, runs the fetches the Set decides on through a fixed pool of
// FetchWorkers goroutines, and acts on what the Set drops.
type orphanage struct {
	n *Node
	// fetches carries the Set's fetches to the workers. The Set keeps at most
	// FetchWorkers fetches between Ready and Done, so a send never blocks.
	fetches chan orphans.Fetch
	// backoff is the first wait between a fetch's attempts: fetchBackoff,
	// shorter in some tests.
	backoff atomic.Int64

	mu  sync.Mutex
	set *orphans.Set
}

func newOrphanage(n *Node) *orphanage {
	o := &orphanage{
		n:       n,
		fetches: make(chan orphans.Fetch, n.opts.FetchWorkers),
		set: orphans.New(orphans.Limits{
			Bytes:     n.opts.OrphanBytes,
			PeerBytes: n.opts.OrphanPeerBytes,
			Fetches:   n.opts.FetchWorkers,
			Queue:     fetchQueue,
			Rounds:    fetchRounds,
		}),
	}
	o.backoff.Store(int64(fetchBackoff))
	return o
}

// start launches the fetch workers.
func (o *orphanage) start() {
	for range o.n.opts.FetchWorkers {
		o.n.goFunc(o.work)
	}
}

// park keeps blocks whose ancestors are missing. rounds has the fetch number of
// the documents whose fetch ended in the same batch.
func (o *orphanage) park(missing []received, rounds map[cid.Cid]int) {
	o.mu.Lock()
	for _, it := range missing {
		o.set.Park(orphans.Orphan{Block: it.b, From: it.from, Via: it.via}, rounds[it.b.DocID()])
	}
	r := o.readyLocked()
	o.mu.Unlock()
	o.act(r)
}

// room returns how much more the orphans delivered through via may cost
// before parking another evicts one of them.
func (o *orphanage) room(via peer.ID) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.set.Room(via)
}

// take returns the orphans of doc to merge them with what its fetch brought.
func (o *orphanage) take(doc cid.Cid) []orphans.Orphan {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.set.Take(doc)
	o.n.metrics.orphanBytes.Store(o.set.Bytes())
	return out
}

// done ends the fetch of doc.
func (o *orphanage) done(doc cid.Cid, ok bool) {
	o.mu.Lock()
	o.set.Done(doc, ok)
	r := o.readyLocked()
	o.mu.Unlock()
	o.act(r)
}

// excuse ends the failed fetch of doc, holding it against no author (see
// orphans.Set.Excuse).
func (o *orphanage) excuse(doc cid.Cid) {
	o.mu.Lock()
	o.set.Excuse(doc)
	r := o.readyLocked()
	o.mu.Unlock()
	o.act(r)
}

// pause takes the fetch of doc out of its worker while it waits d to ask
// again peers that were all busy, then queues it again (see
// orphans.Set.Pause). The wait ends early, and the fetch with it, when the
// node closes.
func (o *orphanage) pause(doc cid.Cid, d time.Duration) {
	o.mu.Lock()
	o.set.Pause(doc)
	r := o.readyLocked()
	o.mu.Unlock()
	o.act(r)
	o.n.goFunc(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-o.n.ctx.Done():
			return
		}
		o.mu.Lock()
		o.set.Resume(doc)
		r := o.readyLocked()
		o.mu.Unlock()
		o.act(r)
	})
}

// forget lets go of the orphans of an unsubscribed collection.
func (o *orphanage) forget(schema cid.Cid) {
	o.mu.Lock()
	o.set.Forget(schema)
	r := o.readyLocked()
	o.mu.Unlock()
	o.act(r)
}

func (o *orphanage) readyLocked() orphans.Ready {
	o.n.metrics.orphanBytes.Store(o.set.Bytes())
	return o.set.Ready()
}

// act starts the fetches of r and accounts for its drops: each is counted, the
// peer it came through is caught up with (that repairs it), and a document
// given up on costs the authors of its orphans standing (see standing), even
// when its orphans were evicted while its fetch was in flight.
func (o *orphanage) act(r orphans.Ready) {
	n := o.n
	for _, f := range r.Fetches {
		o.fetches <- f
	}
	n.metrics.droppedFetches.Add(uint64(r.DroppedFetches))
	caughtUp := map[catchup.Key]bool{}
	for _, d := range r.Dropped {
		switch d.Reason {
		case orphans.Evicted:
			n.metrics.evictedOrphans.Add(1)
		case orphans.Unresolved:
			n.metrics.droppedOrphans.Add(1)
		default:
			continue
		}
		if c, ok := n.collectionBySchema(d.Block.Schema); ok {
			caughtUp[catchup.Key{Collection: c.Name(), Peer: d.Via}] = true
		}
	}
	for _, g := range r.GivenUp {
		n.standing.penalize(g.Author, g.Bytes)
	}
	for k := range caughtUp {
		n.catchUp.schedule(k.Collection, k.Peer)
	}
}

// work runs fetches until the node closes.
func (o *orphanage) work() {
	for {
		select {
		case f := <-o.fetches:
			o.fetch(f)
		case <-o.n.ctx.Done():
			return
		}
	}
}

// fetch asks the peer the newest orphan came through, its author if connected,
// then other peers, for the history of f.Doc between the node's heads and
// f.Want, and hands what arrives to the collection's merge worker in chunks as
// catch-up does (pullChunk, pullChunkBytes). The last one marks the fetch's end, unless nothing arrived.
func (o *orphanage) fetch(f orphans.Fetch) {
	n := o.n
	var sub *subscription
	if c, ok := n.collectionBySchema(f.Schema); ok {
		sub = n.subscription(c.Name())
	}
	if sub == nil {
		o.done(f.Doc, false) // unsubscribed: its orphans were let go of
		return
	}
	var have []cid.Cid
	n.store.View(func(tx *store.Tx) error {
		var err error
		have, err = blocks.Have(tx, f.Schema, f.Doc)
		return err
	})
	candidates := f.Peers(n.host.Network().Peers(), fetchPeers)
	attempts := f.Attempts(fetchAttempts)
	if f.Retry == 0 {
		n.metrics.fetches.Add(1) // a retry is the same fetch; the histograms below observe each part of it
	}
	start, requests, size := time.Now(), 0, int64(0)
	defer func() {
		c := n.collector
		c.fetchSeconds.Observe(time.Since(start).Seconds())
		c.fetchRounds.Observe(float64(requests))
		c.fetchBytes.Observe(float64(size))
	}()
	var chunk []*crdt.Block
	chunkBytes, got := 0, 0
	var from peer.ID // the peer of the blocks in chunk
	// accepted checks chunk, the blocks from peer from, with accept.
	accepted := func() error {
		_, err := n.accept(sub.ctx, sub.c, chunk, from, fromFetch)
		n.countRejected(err)
		return err
	}
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := accepted(); err != nil {
			return err
		}
		err := sub.inbox.put(sub.ctx, arrival{blocks: chunk, from: f.Author, via: from})
		chunk, chunkBytes = nil, 0
		return err
	}
	backoff := time.Duration(o.backoff.Load())
	// busy: every peer asked the last time refused as busy, or sent blocks
	// under a version not fetched then; excused: and one of them under a
	// version that peers other than the orphans' author kept from being
	// fetched (see unfetchedVersion).
	busy, excused := false, false
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(backoff):
				backoff *= 2
			case <-sub.ctx.Done():
				o.done(f.Doc, false)
				return
			}
		}
		busy, excused = true, false
		for _, p := range candidates {
			stats, err := blocks.Fetch(sub.ctx, n.host, p, sub.c.schema().ID, []blocks.Item{{Doc: f.Doc, Want: f.Want, Have: have}},
				func(b *crdt.Block) error {
					if p != from {
						if err := flush(); err != nil {
							return err
						}
						from = p
					}
					chunk = append(chunk, b)
					chunkBytes += len(b.Data)
					got++
					if len(chunk) == pullChunk || chunkBytes >= pullChunkBytes {
						return flush()
					}
					return nil
				})
			requests++
			size += stats.Bytes
			n.metrics.fetchedBlocks.Add(uint64(stats.Blocks))
			if sub.ctx.Err() != nil {
				o.done(f.Doc, false)
				return
			}
			if err == nil && len(chunk) > 0 {
				err = accepted() // the answer's last blocks; the fetch marker goes with them
			}
			if err != nil {
				// What is left of a failed answer is dropped; chunks already
				// handed on were accepted.
				got -= len(chunk)
				chunk, chunkBytes = nil, 0
				n.metrics.failedFetches.Add(1)
				n.log.Warn("Cannot fetch history", logKeyPeer, p.String(), logKeyDoc, f.Doc.String(), logKeyError, err)
				unfetched, byAuthor := unfetchedVersion(err, f.Author)
				busy = busy && (errors.Is(err, blocks.ErrBusy) || unfetched)
				excused = excused || unfetched && !byAuthor
				continue
			}
			busy = false // it answered
			if got > 0 {
				break
			}
		}
		if got > 0 {
			break
		}
	}
	if got == 0 && busy && f.Retry < fetchBusyRetries && !n.storedAll(f.Schema, f.Want) {
		o.pause(f.Doc, time.Duration(o.backoff.Load())<<f.Retry) // ask again later, for no attempt of the fetch's own
		return
	}
	// An empty answer is no failure when the wanted blocks are stored by now:
	// catch-up, or another fetch, brought them while this one waited. The
	// orphans are then merged as after a fetch, and their author keeps its
	// standing (a slow catch-up is normal).
	ok := got > 0 || n.storedAll(f.Schema, f.Want)
	switch {
	case ok:
		o.done(f.Doc, true)
		sub.inbox.put(sub.ctx, arrival{blocks: chunk, from: f.Author, via: from, fetched: f.Doc, round: f.Round})
	case busy && excused:
		// Its retries ran out while other peers kept a version of the
		// history from being fetched (a definition fetch times out only
		// after versions.Timeout): the orphans are dropped, and catch-up
		// brings the document (act asks for a session with the peer they
		// came through, which catch-up runs again while the version cannot
		// be fetched), but the author keeps its standing.
		o.excuse(f.Doc)
	default:
		o.done(f.Doc, false)
	}
}

// unfetchedVersion reports whether err is accept's for a block whose version
// could not be fetched then (every definition fetch slot taken, or no
// answer), rather than a refused one: like a busy peer, no fault of the
// orphans' author unless author stood in the way itself (byAuthor): it was
// asked for the version and did not send it, or held one of the definition
// fetches that were all taken. An author that never sends the versions its
// history names is given up on as one that never answers. Catch-up asks the
// same of a session's error with its peer as author: a session stopped by
// other peers is run again soon (see catchUp.session).
func unfetchedVersion(err error, author peer.ID) (unfetched, byAuthor bool) {
	var e *versionFetchError
	if !errors.As(err, &e) || errors.Is(err, schema.ErrInvalid) {
		return false, false
	}
	return true, slices.Contains(e.peers, author)
}

// storedAll reports whether every block of cids is stored in the collection
// whose schema ID is schema.
func (n *Node) storedAll(schema cid.Cid, cids []cid.Cid) bool {
	err := n.store.View(func(tx *store.Tx) error {
		for _, c := range cids {
			if _, err := tx.BlockData(schema, c); err != nil {
				return err
			}
		}
		return nil
	})
	return err == nil
}
