package txns

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/orphans"
)

// Part is a held block with the peers it came from.
type Part = orphans.Orphan

// ErrLimits reports Limits that cannot work.
var ErrLimits = errors.New("txns: invalid limits")

// Limits bound a Set.
type Limits struct {
	Bytes     int64 // most that all held blocks may cost
	PeerBytes int64 // most that the transactions first delivered through one peer may cost; at most Bytes
}

// Validate reports an error matching ErrLimits, naming the field, when l cannot work.
func (l Limits) Validate() error {
	switch {
	case l.Bytes <= 0:
		return fmt.Errorf("%w: Bytes %d", ErrLimits, l.Bytes)
	case l.PeerBytes <= 0 || l.PeerBytes > l.Bytes:
		return fmt.Errorf("%w: PeerBytes %d, want 1 to Bytes (%d)", ErrLimits, l.PeerBytes, l.Bytes)
	}
	return nil
}

// Key identifies a transaction by its collection, its author (a node signs
// every block of a transaction it writes with its own key) and its ID.
type Key struct {
	Schema cid.Cid
	Author string // the author's public key bytes
	ID     string // the transaction ID's bytes
}

// KeyOf returns the key of the transaction p is part of.
func KeyOf(p Part) Key {
	return Key{Schema: p.Block.Schema, Author: string(p.Block.Author), ID: string(p.Block.Txn.ID)}
}

// Reason says why a held block was dropped.
type Reason int

const (
	// Evicted: dropped to stay within a budget, oldest transaction first.
	Evicted Reason = iota + 1
	// Invalid: its transaction's parts, all signed by one author, contradict
	// each other, or one of them cannot be merged (Reject).
	Invalid
	// Abandoned: its collection is no longer received (Forget).
	Abandoned
)

func (r Reason) String() string {
	switch r {
	case Evicted:
		return "evicted"
	case Invalid:
		return "invalid"
	case Abandoned:
		return "abandoned"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Dropped is a held block dropped, and why.
type Dropped struct {
	Part
	Reason Reason
}

// Txn is a complete transaction handed over to be merged.
type Txn struct {
	Key   Key
	Parts []Part // every part, seal included, in the order they arrived
}

// Ready is what the Set decided since the last call to Ready.
type Ready struct {
	Complete []Txn
	Dropped  []Dropped
}

// txn is a held transaction.
type txn struct {
	key        Key
	seq        uint64  // arrival order of its first part: smaller is older
	via        peer.ID // the peer its first part came through, charged for all of it
	parts      []Part
	cids       map[string]bool
	need       int // the seal's count; 0 until the seal arrives
	cost       int64
	dependents []Part
	depCIDs    map[string]bool // the CID keys of dependents
	offered    bool            // handed over and not yet reported Merged or Blocked
	blocked    bool            // complete, but waiting for parents outside it
}

func (t *txn) complete() bool { return t.need > 0 && len(t.parts) == t.need }

// Set holds the parts of incomplete transactions. It is not safe for
// concurrent use.
type Set struct {
	limits  Limits
	txns    map[Key]*txn
	byCID   map[string]Key // the CID key of each held part
	peer    map[peer.ID]int64
	bytes   int64
	seq     uint64
	pending []*txn
	blocked map[Key]*txn // complete transactions waiting for parents outside them
	dropped []Dropped
}

// New returns an empty Set. It panics if l does not Validate.
func New(l Limits) *Set {
	if err := l.Validate(); err != nil {
		panic(err)
	}
	return &Set{limits: l, txns: map[Key]*txn{}, byCID: map[string]Key{}, peer: map[peer.ID]int64{},
		blocked: map[Key]*txn{}}
}

// Bytes returns what the held blocks cost.
func (s *Set) Bytes() int64 { return s.bytes }

// Len returns how many transactions the Set holds.
func (s *Set) Len() int { return len(s.txns) }

// Add holds p, a block with a Txn mark. A part held already is ignored.
func (s *Set) Add(p Part) {
	k := KeyOf(p)
	ck := p.Block.CID.KeyString()
	t := s.txns[k]
	if t != nil && t.cids[ck] {
		return
	}
	c := orphans.Cost(p.Block)
	if c > s.limits.PeerBytes {
		s.dropped = append(s.dropped, Dropped{p, Evicted})
		if t != nil {
			s.drop(t, Evicted)
		}
		return
	}
	via := p.Via
	if t != nil {
		via = t.via
	}
	if !s.makeRoom(via, c, t, false, s.ancestors(t, p)) || t != nil && s.txns[k] == nil { // no room, or evicted to make it
		s.dropped = append(s.dropped, Dropped{p, Evicted})
		return
	}
	if t == nil {
		s.seq++
		t = &txn{key: k, seq: s.seq, via: via, cids: map[string]bool{}}
		s.txns[k] = t
	}
	t.parts = append(t.parts, p)
	t.cids[ck] = true
	s.byCID[ck] = k
	s.charge(t, c)
	if n := p.Block.Txn.Parts; n > 0 {
		if t.need != 0 && t.need != n {
			s.drop(t, Invalid)
			return
		}
		t.need = n
	}
	switch {
	case t.need > 0 && len(t.parts) > t.need:
		s.drop(t, Invalid)
	case t.complete() && !t.offered && !t.blocked && s.waits(t):
		t.blocked = true
		s.blocked[k] = t
	case t.complete() && !t.offered && !t.blocked:
		t.offered = true
		s.pending = append(s.pending, t)
	}
}

// waits reports whether a part of t builds on a held part of another
// transaction that is not handed over: t cannot be merged before that one,
// so it waits blocked, to be woken with its documents when that one is
// merged, and gives way to it when room is short.
func (s *Set) waits(t *txn) bool {
	for _, p := range t.parts {
		for _, prev := range p.Block.Prev {
			k, ok := s.byCID[prev.KeyString()]
			if ok && k != t.key && !s.txns[k].offered {
				return true
			}
		}
	}
	return false
}

// AddAll holds ps, the parts of one batch of received blocks, as Add does,
// one transaction after the other: each transaction's parts together, in
// height order, after those of the transactions of ps it builds on. A
// transaction thus completes before the parts of the ones that build on it
// need its room, which height order alone does not give when transactions
// span documents of different depths. A transaction builds on another when
// one of its parts does, directly or through blocks of batch (every block
// of the batch; parts among them or not) that are not parts: a change
// outside any transaction between the two, say.
func (s *Set) AddAll(ps []Part, batch []*crdt.Block) {
	if len(ps) == 0 {
		return // most batches: no transaction, nothing to walk
	}
	var keys []Key
	groups := map[Key][]Part{}
	owner := map[string]Key{}
	for _, p := range ps {
		k := KeyOf(p)
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
		owner[p.Block.CID.KeyString()] = k
	}
	plain := map[string]*crdt.Block{} // the blocks of batch that are not parts
	for _, b := range batch {
		if _, ok := owner[b.CID.KeyString()]; !ok {
			plain[b.CID.KeyString()] = b
		}
	}
	seen := map[Key]bool{} // added, or being added: a cycle, which no honest author writes, is cut there
	// The blocks walked through, for all transactions: every transaction a
	// block builds on was visited when the block was first walked, so
	// another that reaches it need not go further (blocks form no cycle),
	// and the walks cost the batch's size in all.
	walked := map[string]bool{}
	var visit func(k Key)
	visit = func(k Key) {
		if seen[k] {
			return
		}
		seen[k] = true
		g := groups[k]
		slices.SortStableFunc(g, func(x, y Part) int { return cmp.Compare(x.Block.Height, y.Block.Height) })
		var walk func(prev []cid.Cid)
		walk = func(prev []cid.Cid) {
			for _, c := range prev {
				ck := c.KeyString()
				if walked[ck] {
					continue
				}
				walked[ck] = true
				if o, ok := owner[ck]; ok {
					if o != k {
						visit(o)
					}
				} else if b, ok := plain[ck]; ok {
					walk(b.Prev)
				}
			}
		}
		for _, p := range g {
			walk(p.Block.Prev)
		}
		for _, p := range g {
			s.Add(p)
		}
	}
	for _, k := range keys {
		visit(k)
	}
}

// makeRoom evicts transactions until c more bytes charged to via fit: via's
// oldest first, then the oldest of all, those no other held transaction
// builds on before those some do. keep, the transaction the bytes are for,
// goes last: first its dependents, then (unless keepWhole) itself. The
// transactions keep builds on (spared) are never evicted for it: it cannot be
// merged before them, so evicting them for it would stall the chain. It
// reports whether the bytes fit.
func (s *Set) makeRoom(via peer.ID, c int64, keep *txn, keepWhole bool, spared map[*txn]bool) bool {
	for _, over := range []struct {
		used, limit func() int64
		match       func(*txn) bool
	}{
		{func() int64 { return s.peer[via] }, func() int64 { return s.limits.PeerBytes }, func(t *txn) bool { return t.via == via }},
		{func() int64 { return s.bytes }, func() int64 { return s.limits.Bytes }, func(*txn) bool { return true }},
	} {
		for over.used()+c > over.limit() {
			switch victim := s.oldest(over.match, keep, spared); {
			case victim != nil:
				s.drop(victim, Evicted)
			case keep != nil && len(keep.dependents) > 0:
				s.dropDependents(keep)
			case keep != nil && !keepWhole && s.txns[keep.key] == keep:
				s.drop(keep, Evicted)
			default:
				return false
			}
		}
	}
	return true
}

// oldest returns the transaction to evict among those match selects, other
// than keep, those spared and those complete and handed over (about to be
// merged): the oldest of those no other held transaction builds on, else the
// oldest, or nil.
func (s *Set) oldest(match func(*txn) bool, keep *txn, spared map[*txn]bool) *txn {
	var built map[*txn]bool // transactions another held one builds on
	for _, t := range s.txns {
		for u := range s.parents(t) {
			if built == nil {
				built = map[*txn]bool{}
			}
			built[u] = true
		}
	}
	var best *txn
	for _, t := range s.txns {
		if !match(t) || t == keep || t.offered || spared[t] {
			continue
		}
		if best == nil || built[best] && !built[t] || built[best] == built[t] && t.seq < best.seq {
			best = t
		}
	}
	return best
}

// parents returns the other held transactions that a part of t builds on,
// directly or through a block held as a dependent of theirs.
func (s *Set) parents(t *txn) map[*txn]bool {
	var out map[*txn]bool
	for _, p := range t.parts {
		out = s.parentsOf(p, t, out)
	}
	return out
}

// parentsOf adds to out the held transactions other than t that p builds on.
func (s *Set) parentsOf(p Part, t *txn, out map[*txn]bool) map[*txn]bool {
	for _, prev := range p.Block.Prev {
		ck := prev.KeyString()
		var u *txn
		if k, ok := s.byCID[ck]; ok {
			u = s.txns[k]
		} else {
			for _, v := range s.txns {
				if v.depCIDs[ck] {
					u = v
					break
				}
			}
		}
		if u != nil && u != t {
			if out == nil {
				out = map[*txn]bool{}
			}
			out[u] = true
		}
	}
	return out
}

// ancestors returns the held transactions that t (nil when not held yet) and
// p, a block for it, build on, directly or not.
func (s *Set) ancestors(t *txn, p Part) map[*txn]bool {
	out := s.parentsOf(p, t, nil)
	if t != nil {
		for u := range s.parents(t) {
			if out == nil {
				out = map[*txn]bool{}
			}
			out[u] = true
		}
	}
	for queue := slices.Collect(maps.Keys(out)); len(queue) > 0; {
		u := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for v := range s.parents(u) {
			if !out[v] && v != t {
				out[v] = true
				queue = append(queue, v)
			}
		}
	}
	return out
}

// dropDependents lets go of t's dependents, Evicted.
func (s *Set) dropDependents(t *txn) {
	for _, p := range t.dependents {
		c := orphans.Cost(p.Block)
		t.cost -= c
		s.bytes -= c
		s.peer[t.via] -= c
		s.dropped = append(s.dropped, Dropped{p, Evicted})
	}
	t.dependents, t.depCIDs = nil, nil
}

func (s *Set) charge(t *txn, c int64) {
	t.cost += c
	s.bytes += c
	s.peer[t.via] += c
}

// drop lets go of t and its dependents for reason r.
func (s *Set) drop(t *txn, r Reason) {
	for _, p := range t.parts {
		s.dropped = append(s.dropped, Dropped{p, r})
	}
	for _, p := range t.dependents {
		s.dropped = append(s.dropped, Dropped{p, r})
	}
	s.remove(t)
}

func (s *Set) remove(t *txn) {
	for _, p := range t.parts {
		delete(s.byCID, p.Block.CID.KeyString())
	}
	s.bytes -= t.cost
	if s.peer[t.via] -= t.cost; s.peer[t.via] == 0 {
		delete(s.peer, t.via)
	}
	delete(s.txns, t.key)
	delete(s.blocked, t.key)
	if i := slices.Index(s.pending, t); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
}

// Holding returns the transaction of the held part whose CID is c, if any.
func (s *Set) Holding(c cid.Cid) (Key, bool) {
	k, ok := s.byCID[c.KeyString()]
	return k, ok
}

// Depend holds p, whose parent is a part of transaction k, until k is merged.
// A block held already is ignored. It is dropped at once when k is not held,
// or when the budgets leave no room once other transactions and k's other
// dependents are dropped: a dependent never evicts its own transaction.
func (s *Set) Depend(k Key, p Part) {
	t := s.txns[k]
	ck := p.Block.CID.KeyString()
	switch {
	case t != nil && t.depCIDs[ck]:
		return
	case t == nil || !s.makeRoom(t.via, orphans.Cost(p.Block), t, true, s.ancestors(t, p)):
		s.dropped = append(s.dropped, Dropped{p, Evicted})
		return
	}
	if t.depCIDs == nil {
		t.depCIDs = map[string]bool{}
	}
	t.depCIDs[ck] = true
	t.dependents = append(t.dependents, p)
	s.charge(t, orphans.Cost(p.Block))
}

// Merged reports that complete transaction k was merged: the Set lets go of it
// and returns its dependents, to be merged next.
func (s *Set) Merged(k Key) []Part {
	t := s.txns[k]
	if t == nil {
		return nil
	}
	s.remove(t)
	return t.dependents
}

// Blocked reports that complete transaction k could not be merged because a
// part's parent outside it is missing: the Set keeps it until Wake names one
// of its documents.
func (s *Set) Blocked(k Key) {
	if t := s.txns[k]; t != nil {
		t.offered, t.blocked = false, true
		s.blocked[k] = t
	}
}

// Reject reports that complete transaction k cannot be merged, ever (a part
// is invalid): the Set drops it with reason Invalid.
func (s *Set) Reject(k Key) {
	if t := s.txns[k]; t != nil {
		s.drop(t, Invalid)
	}
}

// Wake hands over again the blocked transactions of collection schema with a
// part in document doc.
func (s *Set) Wake(schema, doc cid.Cid) {
	var woken []*txn
	for k, t := range s.blocked {
		if !k.Schema.Equals(schema) {
			continue
		}
		for _, p := range t.parts {
			if p.Block.DocID().Equals(doc) {
				t.blocked, t.offered = false, true
				delete(s.blocked, k)
				woken = append(woken, t)
				break
			}
		}
	}
	slices.SortFunc(woken, func(a, b *txn) int { return cmp.Compare(a.seq, b.seq) })
	s.pending = append(s.pending, woken...)
}

// Forget drops the transactions of collection schema, Abandoned.
func (s *Set) Forget(schema cid.Cid) {
	for _, t := range s.txns {
		if t.key.Schema.Equals(schema) {
			s.drop(t, Abandoned)
		}
	}
}

// Ready returns the transactions completed or woken, in that order, and the
// blocks dropped since the last call.
func (s *Set) Ready() Ready {
	var r Ready
	for _, t := range s.pending {
		r.Complete = append(r.Complete, Txn{Key: t.key, Parts: slices.Clone(t.parts)})
	}
	r.Dropped = s.dropped
	s.pending, s.dropped = nil, nil
	return r
}
