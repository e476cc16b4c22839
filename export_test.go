package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/catchup"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// SetGossipLoss makes n drop the given fraction (0 to 1) of the pubsub messages
// it receives before merging them (policy changes before accepting them), as a
// lossy network would; tests use it to show that catch-up alone makes nodes
// converge.
func SetGossipLoss(n *Node, fraction float64) {
	n.gossipLoss.Store(uint64(fraction * (1 << 32)))
}

// SetPlanned makes fn run in every query of n right after its plan chose an
// index, before the query reads it (nil: nothing).
func SetPlanned(n *Node, fn func()) {
	if fn == nil {
		n.planned.Store(nil)
		return
	}
	n.planned.Store(&fn)
}

// DropRelationIndex drops c's index called name even when it is the one of a
// relation field, which DropIndex keeps: a store written before nodes
// indexed relations has none.
func DropRelationIndex(c *Collection, name string) error {
	return c.node.store.DropIndex(c.schema().ID, name)
}

// Uncut reports whether some revocation of c is not yet cut off on its node:
// not complete there (a block of a chain it keeps is missing), or complete
// and its documents not yet rebuilt.
func Uncut(c *Collection) bool { return c.uncut() }

// SetCatchUpTimeout bounds each of n's catch-up sessions to d instead of
// catchUpTimeout, so that a test sees a silent peer's session fail quickly.
func SetCatchUpTimeout(n *Node, d time.Duration) { n.catchUp.timeout.Store(int64(d)) }

// SetCatchUpFirstAnswer bounds the wait for a peer's first answer in n's
// catch-up sessions to d instead of catchUpFirstAnswer, so that a test sees
// silent peers' sessions time out quickly.
func SetCatchUpFirstAnswer(n *Node, d time.Duration) { n.catchUp.firstAnswer.Store(int64(d)) }

// SetFetchBackoff makes n's history fetches wait d instead of fetchBackoff
// before their second attempt, and twice as long before each next one, so
// that a test sees a busy peer's retries run out quickly.
func SetFetchBackoff(n *Node, d time.Duration) { n.orphans.backoff.Store(int64(d)) }

// SetVersionFetchTimeout bounds each of n's fetches of a collection version
// to d instead of versions.Timeout, so that a test sees a stalled fetch end
// quickly.
func SetVersionFetchTimeout(n *Node, d time.Duration) { n.versionFetches.timeout.Store(int64(d)) }

// SetSyncUnfetchedWait makes n's Sync wait d instead of syncUnfetchedWait
// for a session that failed for want of a collection version other peers
// kept from being fetched, so that a test sees a stall outlast it quickly.
func SetSyncUnfetchedWait(n *Node, d time.Duration) { n.catchUp.unfetchedWait.Store(int64(d)) }

// FetchBusyRetries is how many more times a history fetch asks again when
// every peer it asked refused as busy.
const FetchBusyRetries = fetchBusyRetries

// StalledPeers counts the peers whose last catch-up session of collection
// timed out waiting for their answers (see catchup.Scheduler.Stalled).
func StalledPeers(n *Node, collection string) int {
	n.catchUp.mu.Lock()
	defer n.catchUp.mu.Unlock()
	k := 0
	for _, p := range n.host.Network().Peers() {
		if n.catchUp.sched.IsStalled(catchup.Key{Collection: collection, Peer: p}) {
			k++
		}
	}
	return k
}

// RetryDelay is the delay before n's catch-up brings again the received blocks
// of collection whose merges failed (catchup.Scheduler.RetryDelay).
func RetryDelay(n *Node, collection string) time.Duration {
	n.catchUp.mu.Lock()
	defer n.catchUp.mu.Unlock()
	return n.catchUp.sched.RetryDelay(collection)
}

// NextCatchUp returns when n's catch-up next asks for sessions of its own
// accord: a follow-up (after a subscription, a connection, a loss, a failure)
// or the periodic backstop (catchup.Scheduler.Next); zero when never.
func NextCatchUp(n *Node) time.Time {
	n.catchUp.mu.Lock()
	defer n.catchUp.mu.Unlock()
	next, _ := n.catchUp.sched.Next()
	return next
}

// StallBlocks makes n a silent peer for /gossipdb/blocks/2: it takes every
// request and never answers, until it closes. Each request it takes is
// signalled on the returned channel, when that has room.
func StallBlocks(n *Node) <-chan struct{} {
	taken := make(chan struct{}, 1)
	n.host.SetStreamHandler(blocks.ProtocolID, func(s network.Stream) {
		defer s.Reset()
		select {
		case taken <- struct{}{}:
		default:
		}
		<-n.ctx.Done()
	})
	return taken
}

// StallVersions makes n a silent peer for /gossipdb/versions/1: it takes
// every request for a collection version and never answers, until it
// closes.
func StallVersions(n *Node) {
	n.host.SetStreamHandler(versions.ProtocolID, func(s network.Stream) {
		defer s.Reset()
		<-n.ctx.Done()
	})
}

// ClaimedDocs returns how many documents of collection name the catch-up
// sessions of n claim (see catchup.Claims), once the claims whose blocks have
// been merged have ended; -1 if n is not subscribed to it.
func ClaimedDocs(n *Node, name string) int {
	sub := n.subscription(name)
	if sub == nil {
		return -1
	}
	sub.claims.lock()
	defer sub.claims.mu.Unlock()
	return sub.claims.claims.Len()
}

// Standing returns the score node n gives peer p for the documents of p's it
// gave up on; GossipSub ignores p below GraylistThreshold.
func Standing(n *Node, p peer.ID) float64 { return n.standing.score(p) }

// GivenUp returns the points node n counts against peer p for the documents
// of p's it gave up on, as they have decayed by now: one a document, or more
// for large blocks. Standing forgives the first few; GivenUp shows them all.
func GivenUp(n *Node, p peer.ID) float64 {
	n.standing.mu.Lock()
	defer n.standing.mu.Unlock()
	if d := n.standing.points[p]; d != nil {
		return d.decayed(time.Now())
	}
	return 0
}

// GraylistThreshold is the score below which GossipSub ignores a peer.
const GraylistThreshold = graylistThreshold

// InvalidLimit is how many invalid messages a peer relays before the
// validator ignores the rest unvalidated.
const InvalidLimit = invalidLimit

// WireOptions are the GossipSub options that every node's messages depend on
// (no message signatures, content IDs): a test peer that publishes to a node
// uses them, or the node drops its messages.
func WireOptions() []pubsub.Option { return wireOptions() }

// CollectionProtected reports whether n's connection manager protects the
// peer id as a peer of one of n's collections.
func CollectionProtected(n *Node, id string) bool {
	p, err := peer.Decode(id)
	return err == nil && n.host.ConnManager().IsProtected(p, collectionTag)
}

// PeerScore returns the GossipSub score node n gave peer p when it last looked
// (every scoreInspectInterval), and whether p was scored then.
func PeerScore(n *Node, p peer.ID) (float64, bool) {
	n.standing.mu.Lock()
	defer n.standing.mu.Unlock()
	s, ok := n.standing.scores[p]
	return s, ok
}

// StoreGeneses stores genesis blocks in n's store as they are, past every
// rule of accept (a bad signature included), so that n serves them to peers
// as a hostile node would.
func StoreGeneses(n *Node, blocks ...*crdt.Block) error {
	return n.store.Update(func(tx *store.Tx) error {
		for _, b := range blocks {
			if err := tx.PutGenesis(store.NewGenesis(b)); err != nil {
				return err
			}
		}
		return nil
	})
}

// SubscribedPeers returns the peers n's GossipSub counts as subscribed to the
// collection whose schema ID is schema, whether or not n joined its topic.
func SubscribedPeers(n *Node, schema string) []peer.ID { return n.ps.ListPeers(schema) }

// StoredBlock reads block id of collection c from n's store.
func StoredBlock(n *Node, c *Collection, id string) (*crdt.Block, error) {
	b, err := cid.Decode(id)
	if err != nil {
		return nil, err
	}
	var out *crdt.Block
	err = n.store.View(func(tx *store.Tx) (err error) {
		out, err = tx.Block(c.schema().ID, b)
		return err
	})
	return out, err
}

// ReportGossipLost tells n, as its pubsub tracer does, that pubsub dropped a
// message of collection c from peer p.
func ReportGossipLost(n *Node, c *Collection, p string) error {
	id, err := peer.Decode(p)
	if err != nil {
		return err
	}
	n.gossipLost(c.SchemaID(), id)
	return nil
}

// SetReconcileLimits bounds the reconciliations of n's catch-up sessions to
// rounds round trips and bytes bytes each.
func SetReconcileLimits(n *Node, rounds, bytes int) {
	n.catchUp.limits.Store(&reconcile.Options{MaxRounds: rounds, MaxBytes: bytes})
}

// InMesh reports whether p is in n's GossipSub mesh of the collection whose
// schema ID is schema: whether n forwards it every message of the collection.
func InMesh(n *Node, schema string, p peer.ID) bool { return n.mesh.has(schema, p) }

// HoldPublishQueue makes n's publish queue full until the returned function is
// called, as if a write as large as its budget were being published: every
// local write meanwhile is acknowledged and left unpublished.
func HoldPublishQueue(n *Node) (release func()) {
	q := n.publishQueue
	q.mu.Lock()
	q.bytes += q.budget
	q.mu.Unlock()
	return func() { q.release([]publishJob{{cost: q.budget}}) }
}

// CatchUpRecords returns how many (collection, peer) sessions n's catch-up
// keeps a record of: the last session's status, and the last finished one
// for Sync.
func CatchUpRecords(n *Node) int {
	n.catchUp.mu.Lock()
	defer n.catchUp.mu.Unlock()
	return len(n.catchUp.last) + len(n.catchUp.finished)
}

// CheckParents runs accept's parents rule (checkParents) on blocks of
// collection c, as n's validator does on a message's blocks.
func CheckParents(n *Node, c *Collection, blocks []*crdt.Block) error {
	_, err := n.checkParents(c, blocks)
	return err
}

// LookUpInReconcileSet looks up document id in the Set a session of c's
// collection would compare (reconcileSet), as a session does, and releases
// the Set.
func LookUpInReconcileSet(c *Collection, id string) (bool, error) {
	set, release, err := c.node.reconcileSet(c.schema().ID, "")
	if err != nil {
		return false, err
	}
	defer release()
	_, ok := set.Lookup(id)
	return ok, set.Err()
}

// FillCatchUp takes every worker and every queue slot of n's catch-up with
// sessions of collection with made-up peers that are not connected, which
// never run, until the returned function is called: meanwhile each request
// for another session is refused, as when more sessions wait than the queue
// holds. Those peers are then let go of, and the workers free.
func FillCatchUp(n *Node, collection string) (release func()) {
	s := n.catchUp
	var fake []peer.ID
	s.mu.Lock()
	for i := range catchUpWorkers + catchUpQueue {
		p := peer.ID(fmt.Sprint("made-up peer ", i))
		fake = append(fake, p)
		s.sched.Connected(time.Now(), p)
	}
	running := s.sched.Ready().Start // held here, not handed to the workers
	s.mu.Unlock()
	return func() {
		s.event(func(sched *catchup.Scheduler) {
			for _, p := range fake {
				sched.Disconnected(p)
			}
			for _, k := range running {
				sched.Done(k)
			}
		})
	}
}

// CatchUpTimersDone reports whether n's catch-up has no timer set but its
// backstop: no follow-up of a subscription, connection, loss or refusal is
// still to come before SyncInterval.
func CatchUpTimersDone(n *Node) bool {
	s := n.catchUp
	s.mu.Lock()
	defer s.mu.Unlock()
	next, ok := s.sched.Next()
	return !ok || time.Until(next) > n.opts.SyncInterval-time.Minute
}

// BeginSync does what Sync does before it waits: it notes the sessions to
// wait for and asks for them. wait does the rest, as Sync does.
func BeginSync(ctx context.Context, n *Node, name string) (wait func(ctx context.Context) ([]PeerSyncStatus, error), err error) {
	sub, err := n.syncSubscription(ctx, name)
	if err != nil {
		return nil, err
	}
	waiting := n.catchUp.requestSync(name)
	return func(ctx context.Context) ([]PeerSyncStatus, error) {
		out, errs, err := n.syncRound(ctx, sub, name, waiting)
		if err != nil {
			return nil, err
		}
		return out, errors.Join(errs...)
	}, nil
}

// SetAncestryBudget makes GetAt hold at most budget bytes of a block's
// ancestry, until the test ends.
func SetAncestryBudget(t interface{ Cleanup(func()) }, budget int) {
	old := ancestryBudget
	ancestryBudget = budget
	t.Cleanup(func() { ancestryBudget = old })
}

// CopyVersion gives collection to the version called id that collection
// from knows, with its parents down to one to knows, as if to's node had
// fetched it from from's (see acceptVersions).
func CopyVersion(from, to *Collection, id string) error {
	v, err := cid.Decode(id)
	if err != nil {
		return err
	}
	var defs [][]byte
	for {
		if _, ok := to.version(v); ok {
			break
		}
		def, err := from.node.storedVersion(v)
		if err != nil {
			return err
		}
		defs = append(defs, def)
		s, ok := from.version(v)
		if !ok {
			return fmt.Errorf("%s does not know version %s", from.Name(), v)
		}
		v = s.Parent
	}
	if len(defs) == 0 {
		return nil
	}
	return to.node.acceptVersions(to, defs, from.node.host.ID())
}

// SpaceChecks returns how many times n has checked, while merges waited for
// free disk space, whether there is room for them.
func SpaceChecks(n *Node) int {
	n.space.mu.Lock()
	defer n.space.mu.Unlock()
	return n.space.checks
}

// SpaceReads returns how many times n's store has read the free space of its
// filesystem.
func SpaceReads(n *Node) int64 { return n.store.SpaceReads() }
