package gossipdb

import (
	"errors"
	"slices"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/catchup"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/txns"
)

// txnHold is the I/O around the node's txns.Set: the received blocks of
// transactions wait there until their transaction is complete in its
// collection, and are then merged whole, in one store transaction, by the
// collection's merge worker (subscription.merge); internal/txns decides.
//
// How the paths meet it:
//   - gossip, history fetch and catch-up all hand blocks to the merge worker,
//     which passes the transactions' blocks here, known ones left out, so a
//     transaction whose blocks came in several messages or by several paths
//     completes the same way;
//   - a complete transaction whose block builds on a block outside it that the
//     node lacks is blocked: that block waits as an orphan too, whose history
//     fetch brings the missing ancestors, and any block of its document arriving
//     (fetch, catch-up) wakes the transaction to be tried again;
//   - a received block that builds on a held block of an incomplete
//     transaction waits with it (txns.Set.Depend) instead of being fetched for:
//     its peers would answer with the held block, which cannot be merged alone;
//   - catch-up compares merged state only, so documents a held transaction
//     touches keep differing from the peers that merged it, and the next
//     catch-up pulls their blocks again: whatever was evicted or lost (held
//     blocks are in memory only, gone at a restart) comes back, and a node that
//     merged a transaction holds every one of its blocks to serve.
//
// Known limit: held blocks do not move the heads a node sends with its next
// history request, so when a document's missing history is longer than one
// answer (blocks.MaxAnswerBytes) and a transaction's blocks lie beyond the cut
// of two documents at once, each of which waits for the other, the answers
// repeat the same prefix and the documents do not converge. internal/sim shows
// it with answers of 4 blocks (Config.NoTransfers); with answers of megabytes
// it needs a backlog of that size whose transactions chain the documents.
type txnHold struct {
	n *Node

	mu  sync.Mutex
	set *txns.Set
	// evicted counts the blocks evicted, by collection (schema ID): a Sync
	// during which some were runs again (see Node.Sync).
	evicted map[cid.Cid]uint64
}

func newTxnHold(n *Node) *txnHold {
	return &txnHold{n: n, set: txns.New(txns.Limits{Bytes: n.opts.TxnBytes, PeerBytes: n.opts.TxnPeerBytes}),
		evicted: map[cid.Cid]uint64{}}
}

// evictions returns how many held blocks of collection schema were evicted
// since Open.
func (h *txnHold) evictions(schema cid.Cid) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.evicted[schema]
}

// add holds parts (txns.Set.AddAll orders them, following the blocks of
// items between them) and wakes the blocked transactions of the documents of
// items (every block of a batch), and returns the transactions ready to
// merge.
func (h *txnHold) add(schema cid.Cid, parts, items []received) []txns.Txn {
	ps := make([]txns.Part, len(parts))
	for i, it := range parts {
		ps[i] = txns.Part{Block: it.b, From: it.from, Via: it.via}
	}
	var batch []*crdt.Block // for AddAll's walks, when there is a part to order
	if len(ps) > 0 {
		batch = make([]*crdt.Block, len(items))
		for i, it := range items {
			batch[i] = it.b
		}
	}
	h.mu.Lock()
	h.set.AddAll(ps, batch)
	seen := map[cid.Cid]bool{}
	for _, it := range items {
		if d := it.b.DocID(); !seen[d] {
			seen[d] = true
			h.set.Wake(schema, d)
		}
	}
	r := h.readyLocked()
	h.mu.Unlock()
	h.act(r)
	return r.Complete
}

// depend holds those of missing (blocks whose parents are missing) that build
// on a held block, and returns the others.
func (h *txnHold) depend(missing []received) []received {
	h.mu.Lock()
	rest := missing[:0:0]
	for _, it := range missing {
		held := false
		for _, p := range it.b.Prev {
			if k, ok := h.set.Holding(p); ok {
				h.set.Depend(k, txns.Part{Block: it.b, From: it.from, Via: it.via})
				held = true
				break
			}
		}
		if !held {
			rest = append(rest, it)
		}
	}
	r := h.readyLocked()
	h.mu.Unlock()
	h.act(r)
	return rest
}

// settle reports the outcome of merging complete transactions: merged ones
// are let go of (their dependents returned, to be merged next, and the
// transactions blocked on their documents woken), blocked ones kept, refused
// ones dropped. It returns the dependents and the transactions woken.
func (h *txnHold) settle(schema cid.Cid, out txnOutcome) (deps []received, woken []txns.Txn) {
	h.mu.Lock()
	for _, k := range out.blocked {
		h.set.Blocked(k)
	}
	for _, k := range out.merged {
		for _, p := range h.set.Merged(k) {
			deps = append(deps, received{b: p.Block, from: p.From, via: p.Via})
		}
	}
	for _, k := range out.rejected {
		h.set.Reject(k)
	}
	if len(out.merged) > 0 {
		seen := map[cid.Cid]bool{}
		for _, it := range out.applied {
			if d := it.b.DocID(); !seen[d] {
				seen[d] = true
				h.set.Wake(schema, d)
			}
		}
	}
	r := h.readyLocked()
	h.mu.Unlock()
	h.act(r)
	return deps, r.Complete
}

// forget lets go of the transactions of an unsubscribed collection.
func (h *txnHold) forget(schema cid.Cid) {
	h.mu.Lock()
	h.set.Forget(schema)
	r := h.readyLocked()
	h.mu.Unlock()
	h.act(r)
}

func (h *txnHold) readyLocked() txns.Ready {
	r := h.set.Ready()
	h.n.metrics.txnBytes.Store(h.set.Bytes())
	for _, d := range r.Dropped {
		if d.Reason == txns.Evicted {
			h.evicted[d.Block.Schema]++
		}
	}
	return r
}

// act accounts for the blocks r drops and catches up with the peers they came
// through, which brings them again.
func (h *txnHold) act(r txns.Ready) {
	n := h.n
	caughtUp := map[catchup.Key]bool{}
	for _, d := range r.Dropped {
		switch d.Reason {
		case txns.Evicted:
			n.metrics.evictedTxnBlocks.Add(1)
		case txns.Invalid:
			// Its author's lie, or a block that cannot merge: no honest
			// transaction is dropped Invalid (see internal/txns).
			n.metrics.invalidTxnBlocks.Add(1)
			continue
		default:
			continue
		}
		if c, ok := n.collectionBySchema(d.Block.Schema); ok {
			caughtUp[catchup.Key{Collection: c.Name(), Peer: d.Via}] = true
		}
	}
	for k := range caughtUp {
		n.catchUp.schedule(k.Collection, k.Peer)
	}
}

// errTxnRefused aborts a store transaction that merges complete transactions
// when one of them, index i, cannot be merged: the store transaction runs
// again without it.
type errTxnRefused struct {
	i   int
	err error
}

func (e errTxnRefused) Error() string { return e.err.Error() }

// txnOutcome is what merging complete transactions did.
type txnOutcome struct {
	applied  []received // blocks merged now
	merged   []txns.Key // transactions merged whole
	blocked  []txns.Key // transactions that build on blocks the node lacks
	lacking  []received // the blocks of those that build on them
	rejected []txns.Key // transactions refused
	reasons  []error    // why, by rejected
	missing  []received // of retry, blocks still missing parents
	invalid  int        // of retry, blocks refused
}

// failed completes o, what a merge of complete and retry did before it
// failed: the transactions it did not settle are kept, blocked, and retry
// waits as missing.
func (o txnOutcome) failed(complete []txns.Txn, retry []received) txnOutcome {
	settled := map[txns.Key]bool{}
	for _, keys := range [][]txns.Key{o.merged, o.blocked, o.rejected} {
		for _, k := range keys {
			settled[k] = true
		}
	}
	for _, t := range complete {
		if !settled[t.Key] {
			o.blocked = append(o.blocked, t.Key)
		}
	}
	o.missing = retry
	return o
}

// join returns what o and p, merges one after the other, did.
func (o txnOutcome) join(p txnOutcome) txnOutcome {
	return txnOutcome{
		applied:  append(o.applied, p.applied...),
		merged:   append(o.merged, p.merged...),
		blocked:  append(o.blocked, p.blocked...),
		lacking:  append(o.lacking, p.lacking...),
		rejected: append(o.rejected, p.rejected...),
		reasons:  append(o.reasons, p.reasons...),
		missing:  append(o.missing, p.missing...),
		invalid:  o.invalid + p.invalid,
	}
}

// applyTxnsSplit merges complete transactions and retries retry as
// applyTxns does: in one store transaction, or, when that is more than the
// store commits at once, in halves of the transactions, the first before the
// second, each transaction whole (complete lists a transaction after those
// it builds on); retry goes with the second half. Each transaction fits on
// its own, since its writer committed it in one store transaction; several
// that arrived together may not. On an error it returns what it merged
// before it.
func (s *subscription) applyTxnsSplit(complete []txns.Txn, retry []received) (txnOutcome, error) {
	out, err := s.applyTxns(complete, retry)
	switch {
	case err == nil:
		return out, nil
	case !errors.Is(err, store.ErrTxnTooLarge) || len(complete) == 1:
		return txnOutcome{}, err
	}
	half := len(complete) / 2
	out, err = s.applyTxnsSplit(complete[:half], nil)
	if err != nil {
		return out, err
	}
	second, err := s.applyTxnsSplit(complete[half:], retry)
	return out.join(second), err
}

// applyTxns merges complete transactions, each whole or not at all, in one
// store transaction, then retries the blocks of retry (whose parents were
// missing, and may be blocks of the transactions). A transaction is merged
// once every block it builds on is stored or its own, in an order that merges
// the transactions one builds on first; one that builds on a block missing
// still is blocked, one with a block that fails to merge refused. Each
// block's change-feed entry names the peer it came from, as apply's do.
func (s *subscription) applyTxns(complete []txns.Txn, retry []received) (txnOutcome, error) {
	refused := map[int]error{}
	for {
		var out txnOutcome
		err := s.n.store.UpdateLater(func(tx *store.Tx) error { // as subscription.apply
			out = txnOutcome{}
			done := make([]bool, len(complete))
			for progress := true; progress; {
				progress = false
				for i, t := range complete {
					if done[i] || refused[i] != nil {
						continue
					}
					ready, err := parentsStored(tx, t)
					if err != nil || !ready {
						if err != nil {
							return err
						}
						continue
					}
					parts := slices.Clone(t.Parts)
					slices.SortFunc(parts, func(x, y txns.Part) int { return cmpHeight(x.Block, y.Block) })
					for _, p := range parts {
						tx.SetOrigin(p.From.String())
						_, fresh, err := tx.Apply(p.Block)
						switch {
						case errors.Is(err, crdt.ErrInvalidBlock), errors.Is(err, store.ErrMissingParent):
							return errTxnRefused{i, err}
						case err != nil:
							return err
						case fresh:
							out.applied = append(out.applied, received{b: p.Block, from: p.From, via: p.Via, kind: tx.Kind(p.Block)})
						}
					}
					out.merged = append(out.merged, t.Key)
					done[i], progress = true, true
				}
			}
			for i, t := range complete {
				if done[i] || refused[i] != nil {
					continue
				}
				out.blocked = append(out.blocked, t.Key)
				own := ownBlocks(t)
				for _, p := range t.Parts {
					if ok, err := hasParents(tx, p.Block, own); err != nil {
						return err
					} else if !ok {
						out.lacking = append(out.lacking, received{b: p.Block, from: p.From, via: p.Via})
					}
				}
			}
			for _, it := range retry {
				tx.SetOrigin(it.from.String())
				_, fresh, err := tx.Apply(it.b)
				switch {
				case errors.Is(err, store.ErrMissingParent):
					out.missing = append(out.missing, it)
				case errors.Is(err, crdt.ErrInvalidBlock):
					out.invalid++
				case err != nil:
					return err
				case fresh:
					it.kind = tx.Kind(it.b)
					out.applied = append(out.applied, it)
				}
			}
			return nil
		})
		var r errTxnRefused
		if errors.As(err, &r) {
			refused[r.i] = r.err
			continue
		}
		for i, reason := range refused {
			out.rejected = append(out.rejected, complete[i].Key)
			out.reasons = append(out.reasons, reason)
		}
		return out, err
	}
}

// parentsStored reports whether every parent of every block of t is stored or
// a block of t.
func parentsStored(tx *store.Tx, t txns.Txn) (bool, error) {
	own := ownBlocks(t)
	for _, p := range t.Parts {
		if ok, err := hasParents(tx, p.Block, own); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// ownBlocks returns the CIDs of t's blocks.
func ownBlocks(t txns.Txn) map[cid.Cid]bool {
	own := make(map[cid.Cid]bool, len(t.Parts))
	for _, p := range t.Parts {
		own[p.Block.CID] = true
	}
	return own
}

// hasParents reports whether every parent of b is stored in its collection or
// in own.
func hasParents(tx *store.Tx, b *crdt.Block, own map[cid.Cid]bool) (bool, error) {
	for _, p := range b.Prev {
		if own[p] {
			continue
		}
		_, err := tx.BlockData(b.Schema, p)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// cmpHeight orders blocks by height: ascending height is a causal order.
func cmpHeight(x, y *crdt.Block) int {
	switch {
	case x.Height < y.Height:
		return -1
	case x.Height > y.Height:
		return 1
	}
	return 0
}

// unstored returns those of parts the store lacks: a transaction merged
// already needs none of its blocks held again.
func (s *subscription) unstored(parts []received) ([]received, error) {
	var out []received
	err := s.n.store.View(func(tx *store.Tx) error {
		out = out[:0]
		for _, it := range parts {
			known, err := tx.Has(it.b)
			if err != nil {
				return err
			}
			if !known {
				out = append(out, it)
			}
		}
		return nil
	})
	return out, err
}
