package gossipdb

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/store"
)

// Bounds of the receive path.
const (
	// inboxSize is how many batches of received blocks wait for the merge worker.
	// The reader blocks when it is full, so pubsub's own buffer takes the slack.
	inboxSize = 1024
	// mergeBatch and mergeBatchBytes bound what one store transaction merges.
	mergeBatch      = 1024
	mergeBatchBytes = 8 << 20
	// maxOrphans is the most received blocks held while their ancestors are fetched;
	// past it new orphans are dropped (catch-up fetches them later).
	maxOrphans = 100_000
	// fetchConcurrency is the most history fetches running at once per collection.
	fetchConcurrency = 8
	// fetchPeers is how many peers a missing history is asked from in one attempt.
	fetchPeers = 3
	// fetchAttempts is how many times those peers are asked, fetchBackoff apart and
	// doubling: a peer that forwarded a change may not have merged its parents yet.
	fetchAttempts = 4
	fetchBackoff  = 100 * time.Millisecond
	// fetchRounds is how many fetches in a row one document's orphans may wait for;
	// an answer can be cut at its size limit, so completing a history may take more
	// than one, but a peer that keeps answering without completing it is given up on.
	fetchRounds = 8
)

// arrival is a set of blocks of one collection that came from a peer.
type arrival struct {
	blocks []*crdt.Block
	from   peer.ID // the peer that made them (a gossip message's author)
	via    peer.ID // the connected peer they came through
	// fetched is the document whose history fetch produced the blocks, if any.
	fetched cid.Cid
}

// subscription receives one collection's topic and merges what arrives. Its
// goroutines end when the subscription is stopped or the node closes.
type subscription struct {
	n        *Node
	c        *Collection
	ps       *pubsub.Subscription
	ctx      context.Context
	cancel   context.CancelFunc
	inbox    chan arrival
	fetchSem chan struct{}

	// orphans and fetching belong to the worker goroutine.
	orphans  map[cid.Cid][]arrival // by document: blocks waiting for ancestors
	norphans int
	fetching map[cid.Cid]int // by document: fetch rounds so far; absent when none runs
}

func (n *Node) startSubscription(c *Collection, ps *pubsub.Subscription) *subscription {
	ctx, cancel := context.WithCancel(n.ctx)
	s := &subscription{
		n: n, c: c, ps: ps, ctx: ctx, cancel: cancel,
		inbox:    make(chan arrival, inboxSize),
		fetchSem: make(chan struct{}, fetchConcurrency),
		orphans:  map[cid.Cid][]arrival{},
		fetching: map[cid.Cid]int{},
	}
	n.goFunc(s.read)
	n.goFunc(s.work)
	return s
}

func (s *subscription) stop() {
	s.cancel()
	s.ps.Cancel()
}

// read hands each accepted message to the worker.
func (s *subscription) read() {
	self := s.n.host.ID()
	for {
		msg, err := s.ps.Next(s.ctx)
		if err != nil {
			return
		}
		if msg.ReceivedFrom == self || msg.GetFrom() == self {
			continue
		}
		blks, ok := msg.ValidatorData.([]*crdt.Block)
		if !ok {
			continue
		}
		if loss := s.n.gossipLoss.Load(); loss > 0 && rand.Uint64N(1<<32) < loss {
			continue
		}
		s.n.metrics.receivedMessages.Add(1)
		select {
		case s.inbox <- arrival{blocks: blks, from: msg.GetFrom(), via: msg.ReceivedFrom}:
		case <-s.ctx.Done():
			return
		}
	}
}

// work merges arrivals in batches until the subscription ends.
func (s *subscription) work() {
	for {
		var batch []arrival
		select {
		case a := <-s.inbox:
			batch = append(batch, a)
		case <-s.ctx.Done():
			return
		}
		size := len(batch[0].blocks)
	drain:
		for size < mergeBatch {
			select {
			case a := <-s.inbox:
				batch = append(batch, a)
				size += len(a.blocks)
			default:
				break drain
			}
		}
		s.merge(batch)
	}
}

// received is one block of a batch with the peers it came from (see arrival).
type received struct {
	b         *crdt.Block
	from, via peer.ID
}

// merge applies a batch in one transaction, parents first. Blocks whose
// ancestors are missing wait as orphans while their history is fetched.
func (s *subscription) merge(batch []arrival) {
	var items []received
	rounds := map[cid.Cid]int{} // documents whose fetch ended in this batch
	for _, a := range batch {
		if a.fetched.Defined() {
			rounds[a.fetched] = s.fetching[a.fetched]
			if len(a.blocks) == 0 {
				rounds[a.fetched] = fetchRounds // the fetch failed: give up
			}
			delete(s.fetching, a.fetched)
			for _, o := range s.orphans[a.fetched] {
				for _, b := range o.blocks {
					items = append(items, received{b, o.from, o.via})
				}
				s.norphans -= len(o.blocks)
			}
			delete(s.orphans, a.fetched)
		}
		for _, b := range a.blocks {
			items = append(items, received{b, a.from, a.via})
		}
	}
	// Height grows along every edge, so ascending height is a causal order.
	slices.SortFunc(items, func(x, y received) int {
		if x.b.Height != y.b.Height {
			if x.b.Height < y.b.Height {
				return -1
			}
			return 1
		}
		return 0
	})
	var applied, missing []received
	for len(items) > 0 {
		part := items[:txnPart(items)]
		items = items[len(part):]
		a, m, err := s.apply(part)
		if err != nil {
			s.n.mergeFailed(s.c, err) // catch-up brings them again
			continue
		}
		applied, missing = append(applied, a...), append(missing, m...)
	}
	s.n.metrics.mergedBlocks.Add(uint64(len(applied)))
	s.n.watchers.emit(s.c.Name(), len(applied), func(i int) Event {
		return newEvent(s.c, applied[i].b, applied[i].from.String())
	})
	for _, it := range missing {
		if r := rounds[it.b.DocID()]; r >= fetchRounds {
			s.n.metrics.droppedOrphans.Add(1)
			s.n.syncer.schedule(s.c.Name(), it.via)
			continue
		}
		s.park(it, rounds[it.b.DocID()])
	}
}

// txnPart returns how many of items, from the start, one transaction applies: at
// most mergeBatch blocks and mergeBatchBytes bytes (at least one block).
func txnPart(items []received) int {
	size := 0
	for i, it := range items {
		size += len(it.b.Data)
		if i > 0 && (i == mergeBatch || size > mergeBatchBytes) {
			return i
		}
	}
	return len(items)
}

// apply merges items, parents first, in one transaction. It returns the blocks
// merged now and those whose parents are missing; invalid ones are logged and
// counted.
func (s *subscription) apply(items []received) (applied, missing []received, err error) {
	var rejected []received
	var reasons []error
	err = s.n.store.Update(func(tx *store.Tx) error {
		applied, missing, rejected, reasons = applied[:0], missing[:0], rejected[:0], reasons[:0]
		for _, it := range items {
			_, fresh, err := tx.Apply(it.b)
			switch {
			case errors.Is(err, store.ErrMissingParent):
				missing = append(missing, it)
			case errors.Is(err, crdt.ErrInvalidBlock):
				rejected, reasons = append(rejected, it), append(reasons, err)
			case err != nil:
				return err
			case fresh:
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

// park keeps a block whose ancestors are missing and, unless one runs already,
// starts round number round+1 of fetching its document's history from the peer
// that sent it.
func (s *subscription) park(it received, round int) {
	doc := it.b.DocID()
	if s.norphans >= maxOrphans {
		s.n.metrics.droppedOrphans.Add(1)
		return
	}
	s.orphans[doc] = append(s.orphans[doc], arrival{blocks: []*crdt.Block{it.b}, from: it.from, via: it.via})
	s.norphans++
	if _, ok := s.fetching[doc]; ok {
		return
	}
	s.fetching[doc] = round + 1
	want := []cid.Cid{it.b.CID}
	var have []cid.Cid
	s.n.store.View(func(tx *store.Tx) error {
		if heads, err := tx.Heads(s.c.schema.ID, doc); err == nil {
			have = heads
		}
		return nil
	})
	s.n.goFunc(func() { s.fetch(doc, want, have, it.via, it.from) })
}

// fetch asks the peer the blocks came through, their author if connected, then
// other peers, for the history of doc between have and want, and hands what
// arrives to the worker: nothing when every attempt failed.
func (s *subscription) fetch(doc cid.Cid, want, have []cid.Cid, via, author peer.ID) {
	select {
	case s.fetchSem <- struct{}{}:
		defer func() { <-s.fetchSem }()
	case <-s.ctx.Done():
		return
	}
	net := s.n.host.Network()
	candidates := []peer.ID{via}
	if author != via && net.Connectedness(author) == network.Connected {
		candidates = append(candidates, author)
	}
	for _, p := range net.Peers() {
		if len(candidates) < fetchPeers && !slices.Contains(candidates, p) {
			candidates = append(candidates, p)
		}
	}
	s.n.metrics.fetches.Add(1)
	start, requests, size := time.Now(), 0, int64(0)
	defer func() {
		c := s.n.collector
		c.fetchSeconds.Observe(time.Since(start).Seconds())
		c.fetchRounds.Observe(float64(requests))
		c.fetchBytes.Observe(float64(size))
	}()
	var got []*crdt.Block
	backoff := fetchBackoff
	for attempt := range fetchAttempts {
		if attempt > 0 {
			select {
			case <-time.After(backoff):
				backoff *= 2
			case <-s.ctx.Done():
				return
			}
		}
		for _, p := range candidates {
			got = got[:0]
			stats, err := blocks.Fetch(s.ctx, s.n.host, p, []blocks.Item{{Doc: doc, Want: want, Have: have}},
				func(b *crdt.Block) error {
					if err := s.c.schema.Check(b); err != nil {
						s.n.metrics.schemaRejects.Add(1)
						return err
					}
					got = append(got, b)
					return nil
				})
			requests++
			size += stats.Bytes
			s.n.metrics.fetchedBlocks.Add(uint64(stats.Blocks))
			if err != nil {
				s.n.metrics.failedFetches.Add(1)
				s.n.log.Warn("Cannot fetch history", logKeyPeer, p.String(), logKeyDoc, doc.String(), logKeyError, err)
				continue
			}
			if len(got) > 0 {
				s.deliver(arrival{blocks: got, from: author, via: p, fetched: doc})
				return
			}
		}
	}
	s.deliver(arrival{via: via, fetched: doc})
}

// deliver hands a to the worker unless the subscription ends first.
func (s *subscription) deliver(a arrival) {
	select {
	case s.inbox <- a:
	case <-s.ctx.Done():
	}
}
