package sim

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/catchup"
	inboxpkg "github.com/gossipdb/gossipdb/internal/inbox"
	"github.com/gossipdb/gossipdb/internal/orphans"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/txns"
)

// Bounds of a simulated node: the node's own decisions with budgets small
// enough that a schedule of a few hundred writes reaches them.
var (
	orphanLimits = orphans.Limits{Bytes: 8 << 10, PeerBytes: 4 << 10, Fetches: 2, Queue: 4, Rounds: 8}
	txnLimits    = txns.Limits{Bytes: 16 << 10, PeerBytes: 8 << 10}
	catchUpCfg   = catchup.Config{Workers: 4, Queue: 1024, Settle: []time.Duration{time.Second, 4 * time.Second}, Interval: 30 * time.Second}
)

const (
	inboxBytes     = 8 << 10 // a subscription's inbox budget, counted as the node counts it
	pullDocs       = 16      // documents per pull request
	pullsInFlight  = 2       // pull requests at once per session
	answerBytes    = blocks.MaxAnswerBytes
	planCache      = 4096 // blocks whose metadata an answering node keeps
	requestTimeout = 5 * time.Second
	fetchPeers     = 3
	fetchAttempts  = 4
	fetchBackoff   = 100 * time.Millisecond
	mergeDelay     = time.Millisecond // how long a merge takes
	slowMerge      = 2 * time.Second  // how long it takes on a slow node
)

// Message kinds.
const (
	kindGossip    = "gossip"
	kindReconcile = "reconcile"
	kindBlocks    = "blocks"
)

// reconcileMsg is one message of a reconciliation; round 0 opens it, an empty
// msg ends it.
type reconcileMsg struct {
	session uint64
	round   int
	msg     []byte
}

// arrival is a set of blocks of the collection that came from a peer, as in the
// node's receive path.
type arrival struct {
	blocks  []*crdt.Block
	from    peer.ID
	via     peer.ID
	fetched cid.Cid
	round   int
	gossip  bool
	cost    int64
}

// inbox holds arrivals for the merge within inboxBytes, by the rules of
// internal/inbox as the node's does.
type inbox struct {
	queue   []arrival
	waiting []arrival // fetched and pulled blocks waiting for room
	budget  *inboxpkg.Budget
}

func newInbox() inbox { return inbox{budget: inboxpkg.New(inboxBytes)} }

// node is one simulated gossipdb node.
type node struct {
	w     *world
	i     int
	id    peer.ID
	key   ed25519.PrivateKey // signs its writes: a function of i, so runs replay
	st    *store.Store
	err   error // the first store error
	up    bool
	epoch int
	clock time.Duration // offset of its wall clock from the simulated one
	slow  int           // slow faults in force
	// indexes are the names of the indexes added to its store and not
	// dropped, as the checks expect them.
	indexes map[string]bool

	// Lost at a crash.
	sub       bool
	orphans   *orphans.Set
	held      *txns.Set // blocks of incomplete transactions
	sched     *catchup.Scheduler
	inbox     inbox
	merging   bool
	seen      map[[32]byte]bool // the messages seen, by hash, as pubsub's seen cache
	peers     []bool            // connected
	pending   map[uint64]*request
	answering map[uint64]*heldSet // sets of the sessions peers run with this node, by session
	sets      map[int]func()      // the releases of the sets sessions hold (see set), by number
	nextSet   int
	planner   *blocks.Planner
	timerAt   time.Duration
	timerGen  int
	nextID    uint64
}

func newNode(w *world, i int, st *store.Store) *node {
	seed := sha256.Sum256(fmt.Appendf(nil, "sim node %d", i))
	return &node{w: w, i: i, id: peer.ID(fmt.Sprintf("n%d", i)), key: ed25519.NewKeyFromSeed(seed[:]), st: st, up: true, indexes: map[string]bool{}}
}

// start sets up what a node holds in memory, as Open does: the subscriptions come
// back from the store.
func (n *node) start() {
	n.orphans = orphans.New(orphanLimits)
	n.held = txns.New(txnLimits)
	sched, err := catchup.New(catchUpCfg, n.local())
	if err != nil {
		panic(err) // catchUpCfg is valid
	}
	n.sched = sched
	n.inbox = newInbox()
	n.merging = false
	n.seen = map[[32]byte]bool{}
	n.peers = make([]bool, len(n.w.nodes))
	n.pending = map[uint64]*request{}
	n.releaseSets() // the sessions that held them ended at the crash
	n.answering = map[uint64]*heldSet{}
	n.planner = blocks.NewPlanner(planCache)
	n.timerGen++
	n.timerAt = -1
	n.sub = false
	n.view(func(tx *store.Tx) error {
		subs, err := tx.Subscriptions()
		n.sub = slices.Contains(subs, n.w.schema.Name)
		return err
	})
	if n.sub {
		n.sched.Subscribed(n.local(), n.w.schema.Name)
	}
	n.resumeIndexBuilds()
	n.pump()
}

// local is the node's wall clock.
func (n *node) local() time.Time { return epoch0.Add(n.w.now + n.clock) }

func (n *node) fail(err error) {
	if n.err == nil && err != nil {
		n.err = err
	}
}

func (n *node) view(fn func(tx *store.Tx) error) { n.fail(n.st.View(fn)) }

// after runs fn on the node after d, unless it crashed meanwhile.
func (n *node) after(d time.Duration, what string, fn func()) {
	epoch := n.epoch
	n.w.at(n.w.now+d, n.i, label(what), func() {
		if n.up && n.epoch == epoch {
			fn()
		}
	})
}

func (n *node) crash() {
	n.up = false
	n.epoch++
	n.w.refreshConn()
}

func (n *node) restart() {
	if n.up {
		return
	}
	n.up = true
	n.epoch++
	n.start()
	n.w.refreshConn()
}

func (n *node) connected(j int) {
	n.peers[j] = true
	n.sched.Connected(n.local(), n.w.nodes[j].id)
	n.pump()
}

func (n *node) disconnected(j int) {
	if !n.up {
		return
	}
	n.peers[j] = false
	n.sched.Disconnected(n.w.nodes[j].id)
	n.pump()
}

func (n *node) subscribe() {
	n.fail(n.st.Update(func(tx *store.Tx) error { return tx.PutSubscription(n.w.schema.Name) }))
	n.sub = true
	n.sched.Subscribed(n.local(), n.w.schema.Name)
	n.pump()
}

func (n *node) unsubscribe() {
	n.fail(n.st.Update(func(tx *store.Tx) error { return tx.DeleteSubscription(n.w.schema.Name) }))
	n.sub = false
	n.sched.Unsubscribed(n.w.schema.Name)
	n.inbox = newInbox()
	n.orphans.Forget(n.w.schema.ID)
	n.held.Forget(n.w.schema.ID)
	n.act()
	n.pump()
}

// tick feeds the scheduler the node's time and acts on it.
func (n *node) tick() {
	if !n.up {
		return
	}
	n.sched.Tick(n.local())
	n.pump()
}

// pump starts the sessions the scheduler decided on and arms its timer.
func (n *node) pump() {
	for {
		r := n.sched.Ready()
		if len(r.Start) == 0 {
			break
		}
		for _, k := range r.Start {
			n.startSession(k)
		}
	}
	next, ok := n.sched.Next()
	if !ok {
		return
	}
	at := max(next.Sub(epoch0)-n.clock, n.w.now)
	if n.timerAt >= 0 && n.timerAt <= at {
		return
	}
	n.timerGen++
	gen := n.timerGen
	n.timerAt = at
	n.after(at-n.w.now, "timer", func() {
		if n.timerGen == gen {
			n.timerAt = -1
			n.tick()
		}
	})
}

// neighbours returns the connected nodes, in order.
func (n *node) neighbours() []int {
	var out []int
	for j, ok := range n.peers {
		if ok {
			out = append(out, j)
		}
	}
	return out
}

// publish floods the block data of author to the connected subscribers but
// except, as pubsub would.
func (n *node) publish(data []byte, author peer.ID, except int) {
	for _, j := range n.neighbours() {
		if j != except && n.w.nodes[j].sub {
			n.w.send(&message{from: n.i, to: j, kind: kindGossip, payload: author, blockBytes: [][]byte{data}})
		}
	}
}

// request is a request waiting for its reply.
type request struct {
	onReply func(*message)
	onFail  func()
}

// call sends a request and runs onReply with the reply, or onFail after
// requestTimeout.
func (n *node) call(to int, kind string, payload any, onReply func(*message), onFail func()) {
	n.nextID++
	id := n.nextID
	n.pending[id] = &request{onReply: onReply, onFail: onFail}
	n.w.send(&message{from: n.i, to: to, kind: kind, req: id, payload: payload})
	n.after(requestTimeout, "timeout", func() {
		if r, ok := n.pending[id]; ok {
			delete(n.pending, id)
			r.onFail()
		}
	})
}

// receive handles a message delivered to the node.
func (n *node) receive(m *message) {
	if m.reply {
		if r, ok := n.pending[m.req]; ok {
			delete(n.pending, m.req)
			r.onReply(m)
		}
		return
	}
	switch m.kind {
	case kindGossip:
		n.gossip(m)
	case kindReconcile:
		n.answerReconcile(m)
	case kindBlocks:
		n.answerBlocks(m)
	}
}

func (n *node) reply(m *message, payload any, data [][]byte) {
	n.w.send(&message{from: n.i, to: m.from, kind: m.kind, req: m.req, reply: true, payload: payload, blockBytes: data})
}

// gossip validates a pubsub message, forwards it once and offers it to the inbox.
func (n *node) gossip(m *message) {
	if !n.sub {
		return
	}
	id := sha256.Sum256(m.blockBytes[0])
	if n.seen[id] {
		return
	}
	n.seen[id] = true
	b, err := n.accept(m.blockBytes[0])
	if err != nil {
		return
	}
	author := m.payload.(peer.ID)
	n.publish(m.blockBytes[0], author, m.from)
	via := n.w.nodes[m.from].id
	a := arrival{blocks: []*crdt.Block{b}, from: author, via: via, gossip: true}
	if !n.offer(a) {
		n.sched.Request(n.w.schema.Name, via)
		n.pump()
	}
}

func costOf(bs []*crdt.Block) int64 {
	var c int64
	for _, b := range bs {
		c += orphans.Cost(b)
	}
	return c
}

// offer queues gossip unless the budget refuses it.
func (n *node) offer(a arrival) bool {
	a.cost = costOf(a.blocks)
	if !n.inbox.budget.Offer(a.via, a.cost) {
		return false
	}
	n.push(a)
	return true
}

// put queues fetched or pulled blocks once there is room.
func (n *node) put(a arrival) {
	if !n.sub {
		return
	}
	a.cost = costOf(a.blocks)
	if len(n.inbox.waiting) > 0 || !n.inbox.budget.Fits(a.cost) {
		n.inbox.waiting = append(n.inbox.waiting, a)
		return
	}
	n.inbox.budget.Add(a.cost)
	n.push(a)
}

func (n *node) push(a arrival) {
	in := &n.inbox
	in.queue = append(in.queue, a)
	held := in.budget.Bytes()
	if held > inboxBytes && len(in.queue) > 1 {
		n.w.report.Budget++
		n.w.report.Problems = append(n.w.report.Problems, fmt.Sprintf("n%d inbox holds %d bytes, budget %d", n.i, held, inboxBytes))
	}
	n.w.report.PeakInboxBytes = max(n.w.report.PeakInboxBytes, held)
	if !n.merging {
		n.merging = true
		d := mergeDelay
		if n.slow > 0 {
			d = slowMerge
		}
		n.after(d, "merge", n.merge)
	}
}

// merge applies what the inbox holds, parents first, as the node's merge worker
// does, and parks what lacks its ancestors.
func (n *node) merge() {
	n.merging = false
	batch := n.inbox.queue
	n.inbox.queue = nil
	var items []arrival // one block each
	rounds := map[cid.Cid]int{}
	for _, a := range batch {
		if a.fetched.Defined() {
			rounds[a.fetched] = a.round
			for _, o := range n.orphans.Take(a.fetched) {
				items = append(items, arrival{blocks: []*crdt.Block{o.Block}, from: o.From, via: o.Via})
			}
		}
		for _, b := range a.blocks {
			items = append(items, arrival{blocks: []*crdt.Block{b}, from: a.from, via: a.via})
		}
	}
	// Blocks of transactions wait in n.held until their transaction is whole,
	// as the node's txnHold does; any block of a document wakes the
	// transactions blocked on its history.
	var plain []arrival
	var parts []txns.Part
	slices.SortStableFunc(items, func(x, y arrival) int {
		return int(x.blocks[0].Height) - int(y.blocks[0].Height)
	})
	for _, it := range items {
		b := it.blocks[0]
		if b.Txn == nil {
			plain = append(plain, it)
			continue
		}
		known := false
		n.view(func(tx *store.Tx) (err error) { known, err = tx.Has(b); return err })
		if !known {
			parts = append(parts, txns.Part{Block: b, From: it.from, Via: it.via})
		}
	}
	batchBlocks := make([]*crdt.Block, len(items))
	for i, it := range items {
		batchBlocks[i] = it.blocks[0]
	}
	n.held.AddAll(parts, batchBlocks)
	for _, it := range items {
		n.held.Wake(n.w.schema.ID, it.blocks[0].DocID())
	}
	var lacking []arrival
	for ready := n.heldReady(); len(plain) > 0 || len(ready) > 0; ready = n.heldReady() {
		missing := n.applyPlain(plain)
		plain = nil
		mergedAny := false
		for _, t := range ready {
			merged, blocked := n.applyTxn(t)
			switch {
			case blocked != nil:
				n.held.Blocked(t.Key)
				lacking = append(lacking, blocked...)
			case merged:
				mergedAny = true
				for _, p := range n.held.Merged(t.Key) {
					plain = append(plain, arrival{blocks: []*crdt.Block{p.Block}, from: p.From, via: p.Via})
				}
				for _, p := range t.Parts {
					n.held.Wake(n.w.schema.ID, p.Block.DocID())
				}
			}
		}
		if mergedAny && len(missing) > 0 {
			missing = n.applyPlain(missing) // their parents may be blocks of a transaction just merged
		}
		for _, it := range missing {
			if k, ok := n.holding(it.blocks[0]); ok {
				n.held.Depend(k, txns.Part{Block: it.blocks[0], From: it.from, Via: it.via})
			} else {
				lacking = append(lacking, it)
			}
		}
	}
	n.checkWhole(items)
	for _, it := range lacking {
		b := it.blocks[0]
		n.orphans.Park(orphans.Orphan{Block: b, From: it.from, Via: it.via}, rounds[b.DocID()])
	}
	n.act()
	// Release the batch and let waiting arrivals in.
	for _, a := range batch {
		n.inbox.budget.Release(a.via, a.cost, a.gossip)
	}
	for len(n.inbox.waiting) > 0 && n.inbox.budget.Fits(n.inbox.waiting[0].cost) {
		a := n.inbox.waiting[0]
		n.inbox.waiting = n.inbox.waiting[1:]
		n.inbox.budget.Add(a.cost)
		n.push(a)
	}
	n.pump()
}

// act carries out the orphans' decisions: fetches to start, and a catch-up
// with the peer each dropped orphan came through.
func (n *node) act() {
	held := n.orphans.Bytes()
	n.w.report.PeakOrphanBytes = max(n.w.report.PeakOrphanBytes, held)
	if held > orphanLimits.Bytes {
		n.w.report.Budget++
		n.w.report.Problems = append(n.w.report.Problems, fmt.Sprintf("n%d orphans hold %d bytes, budget %d", n.i, held, orphanLimits.Bytes))
	}
	r := n.orphans.Ready()
	for _, f := range r.Fetches {
		n.fetch(f)
	}
	// Forget drops in map order: sort, so that a replay is exact.
	slices.SortFunc(r.Dropped, func(a, b orphans.Drop) int {
		return strings.Compare(a.Block.CID.KeyString(), b.Block.CID.KeyString())
	})
	for _, d := range r.Dropped {
		if d.Reason == orphans.Evicted || d.Reason == orphans.Unresolved {
			n.sched.Request(n.w.schema.Name, d.Via)
		}
	}
}

// have returns what a request for doc's history names as had (blocks.Have).
func (n *node) have(doc cid.Cid) []cid.Cid {
	var hs []cid.Cid
	n.view(func(tx *store.Tx) error {
		var err error
		hs, err = blocks.Have(tx, n.w.schema.ID, doc)
		return err
	})
	return hs
}

// fetch asks for the history of f.Doc as the node's fetch workers do: the peer
// the newest orphan came through, its author if connected, then other peers,
// retrying with backoff unless the block came straight from its author.
func (n *node) fetch(f orphans.Fetch) {
	if !n.sub {
		n.orphans.Done(f.Doc, false)
		n.act()
		return
	}
	var connected []peer.ID
	for _, j := range n.neighbours() {
		connected = append(connected, n.w.nodes[j].id)
	}
	var candidates []int
	for _, p := range f.Peers(connected, fetchPeers) {
		candidates = append(candidates, n.indexOf(p))
	}
	attempts := f.Attempts(fetchAttempts)
	var try func(attempt, c int, backoff time.Duration)
	try = func(attempt, c int, backoff time.Duration) {
		if c == len(candidates) {
			if attempt+1 == attempts {
				n.orphans.Done(f.Doc, false)
				n.act()
				n.pump()
				return
			}
			n.after(backoff, "fetch backoff", func() { try(attempt+1, 0, 2*backoff) })
			return
		}
		items := []blocks.Item{{Doc: f.Doc, Want: f.Want, Have: n.have(f.Doc)}}
		n.call(candidates[c], kindBlocks, items, func(m *message) {
			bs := n.decode(m.blockBytes)
			if len(bs) == 0 {
				try(attempt, c+1, backoff)
				return
			}
			n.orphans.Done(f.Doc, true)
			n.act()
			n.put(arrival{blocks: bs, from: f.Author, via: n.w.nodes[m.from].id, fetched: f.Doc, round: f.Round})
			n.pump()
		}, func() { try(attempt, c+1, backoff) })
	}
	try(0, 0, fetchBackoff)
}

func (n *node) indexOf(p peer.ID) int {
	for j, o := range n.w.nodes {
		if o.id == p {
			return j
		}
	}
	return -1
}

// decode checks received block bytes as the node does: a block that fails
// ends the answer.
func (n *node) decode(data [][]byte) []*crdt.Block {
	out := make([]*crdt.Block, 0, len(data))
	for _, d := range data {
		b, err := n.accept(d)
		if err != nil {
			break
		}
		out = append(out, b)
	}
	return out
}

// accept decodes received block bytes and checks them as the node does before
// it stores them: the structure, the signature and the schema (the parents are
// checked when the block is applied).
func (n *node) accept(data []byte) (*crdt.Block, error) {
	b, err := crdt.Decode(data)
	if err != nil {
		return nil, err
	}
	if !n.w.signed[b.CID.KeyString()] {
		if err := b.Verify(); err != nil {
			return nil, err
		}
		n.w.signed[b.CID.KeyString()] = true
	}
	return b, n.w.schema.Check(b)
}

// answerBlocks answers a history request with the blocks blocks.Planner chooses.
func (n *node) answerBlocks(m *message) {
	var data [][]byte
	n.view(func(tx *store.Tx) error {
		cids, err := n.planner.Plan(context.Background(), tx, n.w.schema.ID, m.payload.([]blocks.Item), n.w.cfg.AnswerBlocks, answerBytes)
		if err != nil {
			return err
		}
		for _, c := range cids {
			d, err := tx.BlockData(n.w.schema.ID, c)
			if err != nil {
				return err
			}
			data = append(data, d)
		}
		return nil
	})
	n.reply(m, nil, data)
}

// releaseSets ends the snapshots of every set the node's sessions hold.
func (n *node) releaseSets() {
	for _, release := range n.sets {
		release()
	}
	n.sets = map[int]func(){}
}

// heldSet is a set a session holds, and its release, which the session
// calls when it ends (or the node's next start does, after a crash).
type heldSet struct {
	set     *reconcile.Set
	release func()
}

// set returns the set reconciliation compares, every document with the hash
// of its heads, as the node's sessions do: made of the store's buckets
// (store.Store.SnapshotItems), so that a session reads only those it needs from one
// snapshot, which a read of the whole collection that keeps none of it cuts
// first when the store keeps none; read whole only if that read could not.
func (n *node) set() *heldSet {
	sn, ok, err := n.st.SnapshotItems(n.w.schema.ID)
	n.fail(err)
	if !ok {
		n.w.report.WholeReads++
		n.fail(n.st.Items(n.w.schema.ID, "", func(string, [32]byte) error { return nil }))
		sn, ok, err = n.st.SnapshotItems(n.w.schema.ID)
		n.fail(err)
	}
	if !ok {
		n.w.report.WholeReads++
		var items []reconcile.Item
		n.fail(n.st.Items(n.w.schema.ID, "", func(id string, hash [32]byte) error {
			items = append(items, reconcile.Item{Key: id, Hash: hash})
			return nil
		}))
		set, err := reconcile.NewSet(items)
		n.fail(err)
		return &heldSet{set: set, release: func() {}}
	}
	set, err := reconcile.NewBucketSet(sn.Buckets(), func(i int) ([]reconcile.Item, error) {
		n.w.report.BucketReads++
		var items []reconcile.Item
		err := sn.Read(i, func(id string, hash [32]byte) error {
			items = append(items, reconcile.Item{Key: id, Hash: hash})
			return nil
		})
		return items, err
	})
	n.fail(err)
	k := n.nextSet
	n.nextSet++
	n.sets[k] = sn.Close
	return &heldSet{set: set, release: func() {
		if n.sets[k] != nil {
			delete(n.sets, k)
			sn.Close()
		}
	}}
}

// answerReconcile is the responder's side of a session: the set is taken when
// the session opens and kept until its end, as the node's server does.
func (n *node) answerReconcile(m *message) {
	r := m.payload.(reconcileMsg)
	key := uint64(m.from)<<32 | r.session
	end := func() {
		if h := n.answering[key]; h != nil {
			h.release()
			delete(n.answering, key)
		}
	}
	if len(r.msg) == 0 {
		end()
		return
	}
	h := n.answering[key]
	if r.round == 0 {
		end() // a session opened again under the same number
		h = n.set()
		n.answering[key] = h
	}
	if h == nil {
		return // this node crashed since the session opened: it times out
	}
	out, err := reconcile.Respond(h.set, r.msg)
	if err != nil {
		end()
		return
	}
	n.reply(m, reconcileMsg{session: r.session, round: r.round, msg: out}, nil)
}

// session is one catch-up session this node runs.
type session struct {
	key   catchup.Key
	peer  int
	id    uint64
	set   *heldSet // released once the reconciliation ends
	pulls *catchup.Pulls
	ended bool
}

// startSession runs a session the scheduler started: reconcile, then pull.
func (n *node) startSession(k catchup.Key) {
	peerIdx := n.indexOf(k.Peer)
	if !n.sub || peerIdx < 0 {
		n.sched.Done(k)
		return
	}
	n.nextID++
	s := &session{key: k, peer: peerIdx, id: n.nextID, set: n.set()}
	rs := reconcile.NewSession(s.set.set)
	var step func(round int, msg []byte)
	step = func(round int, msg []byte) {
		n.call(s.peer, kindReconcile, reconcileMsg{session: s.id, round: round, msg: msg}, func(m *message) {
			next, done, err := rs.Reply(m.payload.(reconcileMsg).msg)
			switch {
			case err != nil:
				n.endSession(s)
			case !done:
				step(round+1, next)
			default:
				n.w.send(&message{from: n.i, to: s.peer, kind: kindReconcile, payload: reconcileMsg{session: s.id, round: round + 1}})
				s.set.release() // the pulls need only the difference
				s.pulls = catchup.NewPulls(rs.Result().Need, pullDocs, pullsInFlight)
				n.pull(s)
			}
		}, func() { n.endSession(s) })
	}
	step(0, rs.Initiate())
}

// pull starts the requests the session's Pulls allow, and ends the session
// when they are over.
func (n *node) pull(s *session) {
	for batch, ok := s.pulls.Next(); ok && !s.ended; batch, ok = s.pulls.Next() {
		items := make([]blocks.Item, 0, len(batch))
		for _, id := range batch {
			doc, err := cid.Decode(id)
			if err != nil {
				n.endSession(s)
				return
			}
			items = append(items, blocks.Item{Doc: doc, Have: n.have(doc)})
		}
		n.call(s.peer, kindBlocks, items, func(m *message) {
			s.pulls.Done(true)
			if bs := n.decode(m.blockBytes); len(bs) > 0 {
				p := n.w.nodes[s.peer].id
				n.put(arrival{blocks: bs, from: p, via: p})
			}
			n.pull(s)
		}, func() {
			s.pulls.Done(false)
			n.pull(s)
		})
	}
	if s.pulls.Finished() {
		n.endSession(s)
	}
}

func (n *node) endSession(s *session) {
	if s.ended {
		return
	}
	s.ended = true
	s.set.release()
	n.sched.Done(s.key)
	n.pump()
}

// applyPlain merges blocks outside transactions, parents first, in one store
// transaction, and returns those whose parents are missing.
func (n *node) applyPlain(items []arrival) (missing []arrival) {
	if len(items) == 0 {
		return nil
	}
	slices.SortStableFunc(items, func(x, y arrival) int {
		return int(x.blocks[0].Height) - int(y.blocks[0].Height)
	})
	n.fail(n.st.Update(func(tx *store.Tx) error {
		missing = missing[:0]
		for _, it := range items {
			_, _, err := tx.Apply(it.blocks[0])
			switch {
			case errors.Is(err, store.ErrMissingParent):
				missing = append(missing, it)
			case errors.Is(err, crdt.ErrInvalidBlock):
				return fmt.Errorf("a valid block refused: %w", err)
			case err != nil:
				return err
			}
		}
		return nil
	}))
	return missing
}

// heldReady collects the transactions n.held completed or woke, acts on what it
// dropped as on dropped orphans, and checks its budget.
func (n *node) heldReady() []txns.Txn {
	held := n.held.Bytes()
	if held > txnLimits.Bytes {
		n.w.report.Budget++
		n.w.report.Problems = append(n.w.report.Problems, fmt.Sprintf("n%d holds %d bytes of transactions, budget %d", n.i, held, txnLimits.Bytes))
	}
	n.w.report.PeakTxnBytes = max(n.w.report.PeakTxnBytes, held)
	r := n.held.Ready()
	for _, d := range r.Dropped {
		if d.Reason == txns.Invalid {
			n.fail(fmt.Errorf("a valid transaction refused: block %s", d.Block.CID))
		}
		if d.Reason == txns.Evicted {
			n.sched.Request(n.w.schema.Name, d.Via)
		}
	}
	return r.Complete
}

// applyTxn merges complete transaction t whole, in one store transaction, when
// every block it builds on is stored or its own; else it returns the blocks of
// t whose parents are missing.
func (n *node) applyTxn(t txns.Txn) (merged bool, lacking []arrival) {
	own := map[cid.Cid]bool{}
	for _, p := range t.Parts {
		own[p.Block.CID] = true
	}
	parts := slices.Clone(t.Parts)
	slices.SortStableFunc(parts, func(x, y txns.Part) int { return int(x.Block.Height) - int(y.Block.Height) })
	n.fail(n.st.Update(func(tx *store.Tx) error {
		lacking = lacking[:0]
		for _, p := range parts {
			for _, prev := range p.Block.Prev {
				if _, err := tx.BlockData(p.Block.Schema, prev); !own[prev] && errors.Is(err, store.ErrNotFound) {
					lacking = append(lacking, arrival{blocks: []*crdt.Block{p.Block}, from: p.From, via: p.Via})
					break
				}
			}
		}
		if len(lacking) > 0 {
			return nil
		}
		for _, p := range parts {
			if _, _, err := tx.Apply(p.Block); err != nil {
				return fmt.Errorf("a whole transaction refused: %w", err)
			}
		}
		merged = true
		return nil
	}))
	if len(lacking) == 0 {
		lacking = nil
	}
	return merged, lacking
}

// holding returns the transaction of the held block b builds on, if any.
func (n *node) holding(b *crdt.Block) (txns.Key, bool) {
	for _, p := range b.Prev {
		if k, ok := n.held.Holding(p); ok {
			return k, true
		}
	}
	return txns.Key{}, false
}

// checkWhole checks, for each block of a transaction among items that the node
// stores, that it stores every block of that transaction, as the model knows
// them: no transaction may be seen in part.
func (n *node) checkWhole(items []arrival) {
	n.view(func(tx *store.Tx) error {
		for _, it := range items {
			b := it.blocks[0]
			if b.Txn == nil {
				continue
			}
			if _, err := tx.BlockData(b.Schema, b.CID); err != nil {
				continue // not merged (yet)
			}
			for _, c := range n.w.model.txnOf[b.CID] {
				if _, err := tx.BlockData(b.Schema, c); err != nil {
					n.w.report.Problems = append(n.w.report.Problems, fmt.Sprintf("n%d shows part of a transaction: %s without %s (%v)", n.i, b.CID, c, err))
					return nil
				}
			}
		}
		return nil
	})
}
