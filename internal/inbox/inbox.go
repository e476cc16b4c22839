// Package inbox decides what a subscription's inbox admits: the received blocks
// that wait for the merge worker, within a budget in bytes.
//
// A Budget is pure bookkeeping, like orphans.Set: the node asks it whether an
// arrival may enter (Offer for gossip, Fits for fetched and caught-up blocks),
// and tells it when the merge worker released one. It does no I/O and does not
// block; the node's inbox waits for room around it, and the simulator
// (internal/sim) uses the same rules.
//
// The rules: gossip is refused when the inbox would go over its limit or the
// peer it came through would hold more than half of it; fetched and caught-up
// blocks wait until they fit; an empty inbox takes any arrival, so one larger
// than the limit is merged too. The bytes of an arrival count from its entry
// until the merge worker releases it.
package inbox

import "github.com/libp2p/go-libp2p/core/peer"

// Budget counts the bytes an inbox holds. The zero value is not usable; see
// New. It is not safe for concurrent use.
type Budget struct {
	limit  int64
	bytes  int64
	byPeer map[peer.ID]int64 // gossip bytes by the peer they came through
}

// New returns an empty Budget of limit bytes.
func New(limit int64) *Budget { return &Budget{limit: limit, byPeer: map[peer.ID]int64{}} }

// Offer admits gossip of cost bytes that came through via, unless the inbox
// would go over its limit or via over half of it; it reports whether it did.
func (b *Budget) Offer(via peer.ID, cost int64) bool {
	if b.bytes > 0 && (b.bytes+cost > b.limit || b.byPeer[via]+cost > b.limit/2) {
		return false
	}
	b.byPeer[via] += cost
	b.bytes += cost
	return true
}

// Fits reports whether fetched or caught-up blocks of cost bytes may enter now.
func (b *Budget) Fits(cost int64) bool { return b.bytes == 0 || b.bytes+cost <= b.limit }

// Add admits fetched or caught-up blocks of cost bytes, once Fits says so.
func (b *Budget) Add(cost int64) { b.bytes += cost }

// Release frees an arrival of cost bytes that the merge worker merged; gossip
// tells whether it entered with Offer, through via.
func (b *Budget) Release(via peer.ID, cost int64, gossip bool) {
	b.bytes -= cost
	if gossip {
		if b.byPeer[via] -= cost; b.byPeer[via] <= 0 {
			delete(b.byPeer, via)
		}
	}
}

// Bytes returns the bytes held.
func (b *Budget) Bytes() int64 { return b.bytes }
