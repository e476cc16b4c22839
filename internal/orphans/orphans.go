package orphans

import (
	"container/list"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
)

// Overhead is what an orphan counts beyond its bytes: the decoded block's
// structure and the Set's bookkeeping.
const Overhead = 1 << 10

// MaxWant is the most orphans a Fetch names as wanted: the newest ones of the
// document. The answer holds their ancestors too, so a few are enough.
const MaxWant = 64

// Cost is what block b counts against the budgets while it is parked.
func Cost(b *crdt.Block) int64 { return 2*int64(len(b.Data)) + Overhead }

// MaxCost is the Cost of a block of the largest size, crdt.MaxBlockSize.
const MaxCost = 2*crdt.MaxBlockSize + Overhead

// ErrLimits reports Limits that cannot work.
var ErrLimits = errors.New("orphans: invalid limits")

// Limits bound a Set. Every field must be positive.
type Limits struct {
	Bytes     int64 // most that all parked orphans may cost
	PeerBytes int64 // most that the orphans delivered through one peer may cost; at most Bytes
	Fetches   int   // most fetches in flight
	Queue     int   // most documents waiting for a fetch
	Rounds    int   // most fetches for one document's orphans
}

// Validate reports an error matching ErrLimits, naming the field, when l cannot work.
func (l Limits) Validate() error {
	switch {
	case l.Bytes <= 0:
		return fmt.Errorf("%w: Bytes %d", ErrLimits, l.Bytes)
	case l.PeerBytes <= 0 || l.PeerBytes > l.Bytes:
		return fmt.Errorf("%w: PeerBytes %d, want 1 to Bytes (%d)", ErrLimits, l.PeerBytes, l.Bytes)
	case l.Fetches <= 0:
		return fmt.Errorf("%w: Fetches %d", ErrLimits, l.Fetches)
	case l.Queue <= 0:
		return fmt.Errorf("%w: Queue %d", ErrLimits, l.Queue)
	case l.Rounds <= 0:
		return fmt.Errorf("%w: Rounds %d", ErrLimits, l.Rounds)
	}
	return nil
}

// Orphan is a received block whose ancestors are missing, with the peers it came from.
type Orphan struct {
	Block *crdt.Block
	From  peer.ID // its author: for gossip, the peer whose key signed it; else the peer that served it
	Via   peer.ID // the connected peer it came through
}

// Reason says why an orphan was dropped.
type Reason int

const (
	// Evicted: dropped to stay within a budget or the fetch queue, oldest first.
	Evicted Reason = iota + 1
	// Unresolved: its history could not be completed (a fetch failed, or the
	// document needed more than Limits.Rounds fetches).
	Unresolved
	// Abandoned: its collection is no longer received (Forget).
	Abandoned
)

func (r Reason) String() string {
	switch r {
	case Evicted:
		return "evicted"
	case Unresolved:
		return "unresolved"
	case Abandoned:
		return "abandoned"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Drop is an orphan the Set let go of.
type Drop struct {
	Orphan
	Reason Reason
}

// Fetch asks for the history of a document: every block between the node's
// heads of Doc (which the node reads when it starts the fetch) and Want. Ask Via
// first, then Author, then other peers. The node reports its end with Done.
type Fetch struct {
	Doc    cid.Cid
	Schema cid.Cid   // the document's collection
	Want   []cid.Cid // the newest orphans of Doc, at most MaxWant
	Via    peer.ID   // the peer the newest orphan came through
	Author peer.ID   // its author
	Round  int       // 1 for the document's first fetch, and so on
	// Retry is how many times this fetch has waited for peers that were all
	// busy (Pause, then Resume): 0 when it starts.
	Retry int
}

// Peers returns the peers to ask for f's history, in order: Via, then Author if
// connected holds it, then the other peers of connected (in its order) until
// there are n. connected lists the peers connected now.
func (f Fetch) Peers(connected []peer.ID, n int) []peer.ID {
	out := []peer.ID{f.Via}
	if f.Author != f.Via && slices.Contains(connected, f.Author) {
		out = append(out, f.Author)
	}
	for _, p := range connected {
		if len(out) >= n {
			break
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Attempts returns how many times to ask the Peers, with backoff, at most n: a
// peer that forwarded a change may not have merged its parents yet, but a block
// that came straight from its author is asked for once, since the author stored
// its history before it published it, and so is a retry (Retry), which waited
// before it was resumed.
func (f Fetch) Attempts(n int) int {
	if f.Via == f.Author || f.Retry > 0 {
		return 1
	}
	return n
}

// GiveUp is a document whose history could not be completed, with one author
// of the orphans parked for it and what they held: the node holds it against
// the author (an honest author stored the history of its blocks before
// publishing them, and answers for it).
type GiveUp struct {
	Doc    cid.Cid
	Author peer.ID
	Bytes  int // the encoded size of the author's orphans of Doc, parked since its last complete fetch
}

// Ready holds the actions of the inputs since the last call to Ready.
type Ready struct {
	Fetches        []Fetch  // to start now
	Dropped        []Drop   // orphans let go of, oldest first
	GivenUp        []GiveUp // documents given up on, by author
	DroppedFetches int      // documents dropped from a full fetch queue
}

// maxAuthors is how many authors a document's give-up is held against: anyone
// can sign with fresh keys, so the list is bounded, and the first authors kept.
const maxAuthors = 4

// docState is where a document with orphans stands.
type docState int

const (
	idle     docState = iota // no fetch: just Done, or waiting for a Take
	queued                   // waiting for a fetch slot
	inFlight                 // fetching; Done ends it
	paused                   // a fetch waiting to ask busy peers again, in no slot; Resume queues it
)

type entry struct {
	Orphan
	cost int64
	doc  *doc
	all  *list.Element // in Set.age
	peer *list.Element // in Set.peers[Via].age
	mine *list.Element // in doc.orphans
}

type doc struct {
	id      cid.Cid
	schema  cid.Cid
	orphans list.List // of *entry, oldest first
	round   int       // fetches started so far
	retry   int       // the Retry of the fetch in flight, paused or queued again
	resumed bool      // queued by Resume: the next fetch is the last one's retry
	state   docState
	queued  *list.Element // in Set.queue while queued
	// authors holds the encoded bytes of the orphans each author had parked for
	// the document since it was last taken, at most maxAuthors of them. It
	// outlives evictions while a fetch is in flight, so that a fetch that fails
	// is held against the authors even when their orphans were evicted
	// meanwhile: a flood that fills its peer's share would otherwise never be
	// given up on.
	authors []GiveUp
	// crowded: an orphan of the document was evicted to make room for
	// another peer's (the global budget, Limits.Bytes), since it was last
	// taken. A paused fetch left with no orphans that way is held against
	// nobody: other peers' orphans crowded them out, no fault of the authors.
	crowded bool
}

type peerState struct {
	bytes int64
	age   list.List // of *entry, oldest first
}

// Set holds parked orphans within Limits and decides what to fetch. It is not
// safe for concurrent use.
type Set struct {
	l        Limits
	bytes    int64
	age      list.List // of *entry, oldest first
	byCID    map[cid.Cid]*entry
	peers    map[peer.ID]*peerState
	docs     map[cid.Cid]*doc
	queue    list.List // of *doc, oldest first
	inFlight int
	ready    Ready
}

// New returns an empty Set; l must be valid (see Limits.Validate).
func New(l Limits) *Set {
	if err := l.Validate(); err != nil {
		panic(err)
	}
	return &Set{
		l:     l,
		byCID: map[cid.Cid]*entry{},
		peers: map[peer.ID]*peerState{},
		docs:  map[cid.Cid]*doc{},
	}
}

// Bytes returns what the parked orphans cost now.
func (s *Set) Bytes() int64 { return s.bytes }

// Len returns how many orphans are parked.
func (s *Set) Len() int { return len(s.byCID) }

// Room returns how much more the orphans delivered through via may cost before
// parking another evicts one of them.
func (s *Set) Room(via peer.ID) int64 {
	if ps := s.peers[via]; ps != nil {
		return s.l.PeerBytes - ps.bytes
	}
	return s.l.PeerBytes
}

// InFlight returns how many fetches are in flight.
func (s *Set) InFlight() int { return s.inFlight }

// Park keeps o until its document's history arrives, dropping the oldest orphans
// to make room, and queues a fetch of its document unless one is queued or in
// flight. round is how many fetches o's document had when o was found missing
// its ancestors: 0 for a block from gossip, Fetch.Round for one merged with a
// fetch's answer.
func (s *Set) Park(o Orphan, round int) {
	if _, ok := s.byCID[o.Block.CID]; ok {
		return
	}
	c := Cost(o.Block)
	if c > s.l.PeerBytes {
		s.drop(&entry{Orphan: o}, Evicted)
		return
	}
	if ps := s.peers[o.Via]; ps != nil {
		for ps.bytes+c > s.l.PeerBytes {
			s.evict(ps.age.Front().Value.(*entry), o.Via)
		}
	}
	for s.bytes+c > s.l.Bytes {
		s.evict(s.age.Front().Value.(*entry), o.Via)
	}
	id := o.Block.DocID()
	d := s.docs[id]
	if d == nil {
		d = &doc{id: id, schema: o.Block.Schema}
		s.docs[id] = d
	}
	d.round = max(d.round, round)
	d.count(o.From, len(o.Block.Data))
	ps := s.peers[o.Via]
	if ps == nil {
		ps = &peerState{}
		s.peers[o.Via] = ps
	}
	e := &entry{Orphan: o, cost: c, doc: d}
	e.all = s.age.PushBack(e)
	e.peer = ps.age.PushBack(e)
	e.mine = d.orphans.PushBack(e)
	s.byCID[o.Block.CID] = e
	s.bytes += c
	ps.bytes += c
	if d.state == idle {
		s.want(d)
	}
	s.pump()
}

// Done ends the fetch of doc that Ready returned. When it failed (ok false) the
// document's orphans are dropped as Unresolved; otherwise they stay until Take,
// which the node calls once the fetched blocks are merged.
func (s *Set) Done(doc cid.Cid, ok bool) {
	d := s.docs[doc]
	if d == nil || d.state != inFlight {
		return // a Done without a Fetch is ignored
	}
	s.inFlight--
	d.state = idle
	if !ok {
		s.giveUp(d)
	} else if d.orphans.Len() == 0 {
		delete(s.docs, d.id)
	}
	s.pump()
}

// Excuse ends the fetch of doc that Ready returned as a failed Done does,
// dropping its orphans as Unresolved, but holds it against nobody: the node
// calls it when the fetch failed for a cause that is no fault of the
// orphans' authors (a collection version the node could not fetch from
// other peers), so no GiveUp is reported. An Excuse of a fetch not in
// flight is ignored.
func (s *Set) Excuse(doc cid.Cid) {
	d := s.docs[doc]
	if d == nil || d.state != inFlight {
		return
	}
	s.inFlight--
	d.state = idle
	d.authors = nil
	s.dropDoc(d, Unresolved)
	s.pump()
}

// Pause takes the fetch of doc that Ready returned out of its slot while it
// waits to ask again peers that were all busy (a busy peer is no fault of
// the orphans' author), so that the wait holds up no other document's
// fetch. The node calls Resume after the wait; until then the fetch is
// neither in flight nor queued, and its document's orphans stay parked. A
// fetch whose orphans all went meanwhile (evicted, forgotten) has nothing
// to ask again for: it ends as a failed Done does. A Pause of a fetch not in
// flight is ignored.
func (s *Set) Pause(doc cid.Cid) {
	d := s.docs[doc]
	if d == nil || d.state != inFlight {
		return
	}
	s.inFlight--
	d.state = paused
	if d.orphans.Len() == 0 {
		d.state = idle
		s.giveUpUnlessCrowded(d)
	}
	s.pump()
}

// Resume queues again the fetch of doc that Pause took out, as its retry:
// Ready returns it with the same Round and Retry one more, and the node ends
// it with Done, or Pause again. A Resume of a fetch not paused (its orphans
// were taken, evicted or forgotten meanwhile) is ignored.
func (s *Set) Resume(doc cid.Cid) {
	d := s.docs[doc]
	if d == nil || d.state != paused {
		return
	}
	d.state = idle
	d.resumed = true
	s.want(d)
	s.pump()
}

// Take removes the orphans of doc, oldest first, so that the node merges them
// again with the blocks a fetch brought; those still missing ancestors come back
// with Park. A queued fetch of doc is dropped (the orphans it was for are taken);
// one in flight still ends with Done.
func (s *Set) Take(doc cid.Cid) []Orphan {
	d := s.docs[doc]
	if d == nil {
		return nil
	}
	d.authors, d.crowded = nil, false
	out := make([]Orphan, 0, d.orphans.Len())
	for d.orphans.Len() > 0 {
		e := d.orphans.Front().Value.(*entry)
		out = append(out, e.Orphan)
		s.remove(e)
	}
	if d.state == queued {
		s.queue.Remove(d.queued)
		d.state = idle
	}
	if d.state == idle || d.state == paused {
		delete(s.docs, d.id)
	}
	return out
}

// Forget drops every orphan of collection schema as Abandoned and the queued
// fetches of its documents; fetches in flight still end with Done.
func (s *Set) Forget(schema cid.Cid) {
	for _, d := range s.docs {
		if d.schema.Equals(schema) {
			s.dropDoc(d, Abandoned)
		}
	}
	s.pump()
}

// Ready returns the actions since the last call and clears them. The slices are
// the caller's.
func (s *Set) Ready() Ready {
	r := s.ready
	s.ready = Ready{}
	return r
}

// want queues a fetch of idle document d, or gives its orphans up when it had
// all its rounds (a resumed fetch is its round's retry, not a round).
func (s *Set) want(d *doc) {
	if d.round >= s.l.Rounds && !d.resumed {
		s.giveUp(d)
		return
	}
	if s.queue.Len() >= s.l.Queue {
		s.ready.DroppedFetches++
		s.dropDoc(s.queue.Front().Value.(*doc), Evicted)
	}
	d.state = queued
	d.queued = s.queue.PushBack(d)
}

// pump starts queued fetches while there are free slots.
func (s *Set) pump() {
	for s.inFlight < s.l.Fetches && s.queue.Len() > 0 {
		d := s.queue.Remove(s.queue.Front()).(*doc)
		d.queued = nil
		newest := d.orphans.Back().Value.(*entry)
		f := Fetch{Doc: d.id, Schema: d.schema, Via: newest.Via, Author: newest.From}
		for el := d.orphans.Back(); el != nil && len(f.Want) < MaxWant; el = el.Prev() {
			f.Want = append(f.Want, el.Value.(*entry).Block.CID)
		}
		if d.resumed {
			d.resumed = false
			d.retry++
		} else {
			d.round++
			d.retry = 0
		}
		f.Round, f.Retry = d.round, d.retry
		d.state = inFlight
		s.inFlight++
		s.ready.Fetches = append(s.ready.Fetches, f)
	}
}

// evict drops e to make room for an orphan from peer room. A document left
// without orphans no longer needs its queued fetch.
func (s *Set) evict(e *entry, room peer.ID) {
	s.drop(e, Evicted)
	d := e.doc
	if e.Via != room {
		d.crowded = true
	}
	if d.orphans.Len() > 0 {
		return
	}
	switch d.state {
	case queued:
		s.queue.Remove(d.queued)
		delete(s.docs, d.id)
	case idle:
		delete(s.docs, d.id)
	case paused:
		// As a fetch in flight that fails is held against the authors of
		// its orphans evicted meanwhile, so is one paused: a flood that
		// fills its peer's share, then answers as busy, is given up on;
		// but not orphans crowded out by other peers' (see doc.crowded).
		s.giveUpUnlessCrowded(d)
	}
}

// giveUpUnlessCrowded gives idle or paused document d up (see giveUp), or,
// when other peers' orphans crowded its own out, drops it against nobody.
func (s *Set) giveUpUnlessCrowded(d *doc) {
	if d.crowded {
		d.authors = nil
	}
	s.giveUp(d)
}

// giveUp drops every orphan of idle document d as Unresolved and reports d
// against the authors of the orphans parked for it.
func (s *Set) giveUp(d *doc) {
	for _, a := range d.authors {
		s.ready.GivenUp = append(s.ready.GivenUp, GiveUp{Doc: d.id, Author: a.Author, Bytes: a.Bytes})
	}
	d.authors = nil
	s.dropDoc(d, Unresolved)
}

// count adds size bytes of author's orphans to d's authors.
func (d *doc) count(author peer.ID, size int) {
	for i := range d.authors {
		if d.authors[i].Author == author {
			d.authors[i].Bytes += size
			return
		}
	}
	if len(d.authors) < maxAuthors {
		d.authors = append(d.authors, GiveUp{Doc: d.id, Author: author, Bytes: size})
	}
}

// dropDoc drops every orphan of d and forgets d unless a fetch of it is in
// flight (a paused one is let go of: Resume then ignores it).
func (s *Set) dropDoc(d *doc, why Reason) {
	for d.orphans.Len() > 0 {
		s.drop(d.orphans.Front().Value.(*entry), why)
	}
	if d.state == queued {
		s.queue.Remove(d.queued)
		d.state = idle
	}
	if d.state == idle || d.state == paused {
		delete(s.docs, d.id)
	}
}

// drop removes e, if parked, and reports it.
func (s *Set) drop(e *entry, why Reason) {
	if e.doc != nil {
		s.remove(e)
	}
	s.ready.Dropped = append(s.ready.Dropped, Drop{Orphan: e.Orphan, Reason: why})
}

// remove unlinks parked entry e from every index.
func (s *Set) remove(e *entry) {
	s.age.Remove(e.all)
	ps := s.peers[e.Via]
	ps.age.Remove(e.peer)
	ps.bytes -= e.cost
	if ps.age.Len() == 0 {
		delete(s.peers, e.Via)
	}
	e.doc.orphans.Remove(e.mine)
	delete(s.byCID, e.Block.CID)
	s.bytes -= e.cost
}
