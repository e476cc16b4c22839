package catchup

import (
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Claims shares out among the sessions of one collection the documents they
// pull, so that a document several peers hold is pulled once: a session claims
// the documents of a request before it sends it, leaves those another session
// holds, and waits for them after its other pulls (see the package doc). Each
// session is named by its peer: the Scheduler runs at most one session per
// collection and peer at a time.
//
// A claim is pulling from Claim until Pulled, then merging until Merged passes
// the sequence number Pulled gave (the position of the pull's last arrival in
// the merge worker's queue). A pulling claim whose owner made no Progress for
// the stall duration is stalled: another session's Claim takes it over, and
// Waiting no longer counts it.
//
// Its size is bounded by the documents in flight: those of the requests under
// way (at most the running sessions times their requests in flight times the
// documents in a request) and those whose blocks wait for the merge worker (at
// most the blocks the inbox holds), provided the caller reports Merged. Claims
// does no I/O and reads no clock; it is not safe for concurrent use.
type Claims struct {
	stall   time.Duration
	docs    map[string]claim
	owners  map[peer.ID]owner
	merging []queued // by seq
	merged  uint64
}

// claim is one document's claim. seq is 0 while its owner pulls it.
type claim struct {
	owner peer.ID
	since time.Time
	seq   uint64
}

// owner is what Claims knows of a session that holds pulling claims.
type owner struct {
	progress time.Time // its peer last delivered
	busy     bool      // it works on what it received, not waiting on its peer
}

// queued is a merging claim in the order of its sequence number.
type queued struct {
	seq uint64
	doc string
}

// NewClaims returns an empty Claims whose pulling claims stall after stall
// without progress.
func NewClaims(stall time.Duration) *Claims {
	return &Claims{stall: stall, docs: map[string]claim{}, owners: map[peer.ID]owner{}}
}

// Claim claims for owner, at now, the documents of ids that no other session
// holds, and takes over those whose claim stalled. It returns them in mine, and
// in others the documents that another session holds; both keep the order of
// ids and are new slices. A document whose blocks owner pulled and the merge
// worker has not merged yet is in others too: pulling it again would fetch
// those blocks again.
func (c *Claims) Claim(now time.Time, p peer.ID, ids []string) (mine, others []string) {
	for _, id := range ids {
		switch cl, ok := c.docs[id]; {
		case !ok, cl.seq == 0 && (cl.owner == p || c.stalled(now, cl)):
			c.docs[id] = claim{owner: p, since: now}
			mine = append(mine, id)
		default:
			// Held by another session, or merging after a pull of owner's own
			// that the store does not show yet.
			others = append(others, id)
		}
	}
	if len(mine) > 0 {
		if _, ok := c.owners[p]; !ok {
			c.owners[p] = owner{progress: now}
		}
	}
	return mine, others
}

// stalled reports whether cl is a pulling claim whose owner has waited on its
// peer for the stall duration or longer, since the claim or its last progress.
func (c *Claims) stalled(now time.Time, cl claim) bool {
	if cl.seq != 0 {
		return false
	}
	o := c.owners[cl.owner]
	return !o.busy && now.Sub(laterOf(cl.since, o.progress)) >= c.stall
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Progress records that owner's peer delivered at now, or that owner is
// waiting on its peer again after being Busy.
func (c *Claims) Progress(now time.Time, p peer.ID) {
	if _, ok := c.owners[p]; ok {
		c.owners[p] = owner{progress: now}
	}
}

// Busy records that owner works on what its peer delivered (checks it, hands
// it to the merge worker) rather than waiting on its peer: its claims do not
// stall until its next Progress.
func (c *Claims) Busy(p peer.ID) {
	if o, ok := c.owners[p]; ok {
		o.busy = true
		c.owners[p] = o
	}
}

// Pulled ends owner's pulls of ids, successful or not: their blocks, if any,
// were queued for the merge worker up to position seq, 0 if none was. The
// claims owner still holds on ids become merging until Merged passes seq, or
// end at once when seq is 0 or already merged. It reports whether a claim
// ended at once, so that the caller wakes the sessions that wait.
func (c *Claims) Pulled(p peer.ID, ids []string, seq uint64) (released bool) {
	for _, id := range ids {
		cl, ok := c.docs[id]
		if !ok || cl.owner != p || cl.seq != 0 {
			continue
		}
		if seq == 0 || seq <= c.merged {
			delete(c.docs, id)
			released = true
			continue
		}
		cl.seq = seq
		c.docs[id] = cl
		// After those of the same seq: the order of the calls among them.
		i, _ := slices.BinarySearchFunc(c.merging, seq, func(q queued, seq uint64) int {
			if q.seq <= seq {
				return -1
			}
			return 1
		})
		c.merging = slices.Insert(c.merging, i, queued{seq: seq, doc: id})
	}
	return released
}

// Merged records that the merge worker has merged every arrival up to
// position seq: the merging claims up to it end.
func (c *Claims) Merged(seq uint64) {
	if seq <= c.merged {
		return
	}
	c.merged = seq
	n := 0
	for n < len(c.merging) && c.merging[n].seq <= seq {
		q := c.merging[n]
		if cl, ok := c.docs[q.doc]; ok && cl.seq == q.seq {
			delete(c.docs, q.doc)
		}
		n++
	}
	c.merging = slices.Delete(c.merging, 0, n)
}

// End forgets the session of owner, which has ended: the claims it still
// pulls end (its merging claims stay until Merged). It reports whether a claim
// ended.
func (c *Claims) End(p peer.ID) (released bool) {
	delete(c.owners, p)
	for id, cl := range c.docs {
		if cl.owner == p && cl.seq == 0 {
			delete(c.docs, id)
			released = true
		}
	}
	return released
}

// Waiting returns how many of ids other sessions than owner hold at now with
// a claim that has not stalled, and the earliest time one of those pulling
// claims would stall without further progress (zero when all are merging, or
// none is held).
func (c *Claims) Waiting(now time.Time, p peer.ID, ids []string) (held int, until time.Time) {
	for _, id := range ids {
		cl, ok := c.docs[id]
		if !ok || cl.owner == p || c.stalled(now, cl) {
			continue
		}
		held++
		if cl.seq != 0 || c.owners[cl.owner].busy {
			continue
		}
		at := laterOf(cl.since, c.owners[cl.owner].progress).Add(c.stall)
		if until.IsZero() || at.Before(until) {
			until = at
		}
	}
	return held, until
}

// Len returns how many documents are claimed.
func (c *Claims) Len() int { return len(c.docs) }
