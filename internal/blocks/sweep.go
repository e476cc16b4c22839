package blocks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/internal/store"
)

// blockMeta is what the sweep needs of a stored block. It is immutable once made.
type blockMeta struct {
	schema cid.Cid   // the block's collection
	doc    cid.Cid   // the block's document
	height uint64    // its height
	prev   []cid.Cid // its parents
	size   int       // the length of its encoding
}

// metaCache keeps the metadata of recently visited blocks, so that repeated
// requests for the same history do not decode it again. Blocks are immutable and
// never removed from the store, so an entry never goes stale. It holds two
// generations of at most half its size each: a hit in the old one is promoted, and
// when the current one is full it becomes the old one. Safe for concurrent use.
type metaCache struct {
	mu       sync.Mutex
	half     int
	cur, old map[string]*blockMeta
}

func newMetaCache(size int) *metaCache {
	half := max(size/2, 1)
	return &metaCache{half: half, cur: make(map[string]*blockMeta, half)}
}

func (c *metaCache) get(k string) *blockMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.cur[k]; ok {
		return m
	}
	if m, ok := c.old[k]; ok {
		c.putLocked(k, m)
		return m
	}
	return nil
}

func (c *metaCache) put(k string, m *blockMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, m)
}

func (c *metaCache) putLocked(k string, m *blockMeta) {
	if len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[string]*blockMeta, c.half)
	}
	c.cur[k] = m
}

// planned is a block chosen for an answer.
type planned struct {
	cid  cid.Cid
	size int
	data []byte // its bytes when planning read them already, else nil
}

// budget is what remains of an answer's limits.
type budget struct {
	blocks int
	bytes  int
}

// sweep computes, within one read transaction, the blocks the server sends for one
// item: see plan.
type sweep struct {
	tx     *store.Tx
	cache  *metaCache
	schema cid.Cid // the collection the request names
	doc    cid.Cid
	sent   map[string]bool // blocks already in the answer (for earlier items)

	heap      sweepHeap
	nodes     map[string]*sweepNode // the blocks in the heap, by CID key
	wantCount int                   // how many of them are not (yet) reached from the have side
	visited   int                   // blocks popped
}

type sweepNode struct {
	cid  cid.Cid
	meta *blockMeta
	have bool // reached from the have side: the requester has it
}

// plan returns the blocks of (want ∪ ancestors(want)) − (have ∪ ancestors(have)) −
// sent that the store holds for document doc of collection schema, in ascending (height, CID), keeping
// only the lowest part that fits in b. An empty want stands for the document's
// current heads. It also returns the number of blocks visited.
//
// It sweeps down the DAG in descending height with a max-heap of blocks, each marked
// as reached from the want side or from the have side (have wins when both reach
// it). A popped block reached from the have side is known to the requester, and so
// are its parents; any other is in the difference and its parents are reached from
// the want side. Every child of a block is higher than it, so a block's marks are
// final when it is popped, and it is never pushed again. The sweep ends when the heap
// holds only blocks reached from the have side, whose ancestors the requester has. Of
// the difference, found highest first, it keeps only the last b.blocks blocks: the
// heap and that window are all it holds in memory.
func plan(ctx context.Context, tx *store.Tx, cache *metaCache, schema cid.Cid, it Item, b budget, sent map[string]bool) ([]planned, int, error) {
	if b.blocks <= 0 || b.bytes <= 0 {
		return nil, 0, nil
	}
	if len(it.Want) == 0 && len(it.Have) == 0 {
		return planWhole(tx, schema, it.Doc, b, sent)
	}
	sw := &sweep{tx: tx, cache: cache, schema: schema, doc: it.Doc, sent: sent, nodes: make(map[string]*sweepNode)}
	want := it.Want
	if len(want) == 0 {
		heads, err := sw.heads()
		if err != nil || len(heads) == 0 {
			return nil, 0, err
		}
		want = heads
	}
	// Have first, so that a block both wanted and had starts as had.
	for _, c := range it.Have {
		if err := sw.push(c, true, 0); err != nil {
			return nil, 0, err
		}
	}
	for _, c := range want {
		if err := sw.push(c, false, 0); err != nil {
			return nil, 0, err
		}
	}
	// found is a ring of the last b.blocks blocks of the difference, which the
	// sweep finds highest first; next is the index after the newest entry.
	found := make([]planned, 0, min(b.blocks, 1024))
	next := 0
	for sw.wantCount > 0 {
		n := sw.pop()
		if sw.visited%256 == 0 && ctx.Err() != nil {
			return nil, sw.visited, ctx.Err()
		}
		if !n.have {
			sw.wantCount--
		}
		have := n.have || sent[n.cid.KeyString()]
		if !have {
			p := planned{cid: n.cid, size: n.meta.size}
			if len(found) < b.blocks {
				found = append(found, p)
			} else {
				found[next] = p
			}
			next = (next + 1) % b.blocks
		}
		for _, p := range n.meta.prev {
			if err := sw.push(p, have, n.meta.height); err != nil {
				return nil, sw.visited, err
			}
		}
	}
	// Lowest first: the ring read backwards from its newest entry, as long as the
	// blocks fit in the byte budget.
	out := make([]planned, 0, len(found))
	size := 0
	for i := range len(found) {
		p := found[((next-1-i)%len(found)+len(found))%len(found)]
		if size+p.size > b.bytes {
			break
		}
		size += p.size
		out = append(out, p)
	}
	return out, sw.visited, nil
}

// Planner chooses the blocks of answers as the Server does, keeping the
// metadata of the blocks it visits (at most cacheSize of them) for the next
// answers: blocks never change. It is safe for concurrent use.
type Planner struct{ cache *metaCache }

// NewPlanner returns a Planner that caches the metadata of cacheSize blocks.
func NewPlanner(cacheSize int) *Planner { return &Planner{cache: newMetaCache(cacheSize)} }

// Plan returns the blocks, in the order the Server sends them, that answer a
// request for items of collection schema within maxBlocks blocks and maxBytes
// bytes: for each item in
// turn, the blocks of its want side's history that its have side lacks, parents
// first, none twice. It only reads tx, so a simulation answers requests with the
// Server's own decisions and no stream.
func (pl *Planner) Plan(ctx context.Context, tx *store.Tx, schema cid.Cid, items []Item, maxBlocks, maxBytes int) ([]cid.Cid, error) {
	left := budget{blocks: maxBlocks, bytes: maxBytes}
	sent := make(map[string]bool)
	var out []cid.Cid
	for _, it := range items {
		p, _, err := planItem(ctx, tx, pl.cache, schema, it, &left, sent)
		if err != nil {
			return nil, err
		}
		for _, p := range p {
			out = append(out, p.cid)
		}
	}
	return out, nil
}

// planItem plans item it within left, and takes what it chose from left and
// records it in sent.
func planItem(ctx context.Context, tx *store.Tx, cache *metaCache, schema cid.Cid, it Item, left *budget, sent map[string]bool) ([]planned, int, error) {
	p, visited, err := plan(ctx, tx, cache, schema, it, *left, sent)
	if err != nil {
		return nil, visited, fmt.Errorf("document %s: %w", it.Doc, err)
	}
	for _, p := range p {
		sent[p.cid.KeyString()] = true
		left.blocks--
		left.bytes -= p.size
	}
	return p, visited, nil
}

// planWhole plans the answer to a request for a whole document (no want, no have):
// every stored block of it (of collection schema), which the document's log lists in ascending height
// without reading a block. Planning reads the genesis, to learn that doc is a
// document; the answer reuses its bytes.
func planWhole(tx *store.Tx, schema, doc cid.Cid, b budget, sent map[string]bool) ([]planned, int, error) {
	g, err := tx.GenesisData(schema, doc)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var out []planned
	visited := 1
	if !sent[doc.KeyString()] {
		if len(g) > b.bytes {
			return nil, visited, nil
		}
		b.bytes -= len(g)
		out = append(out, planned{cid: doc, size: len(g), data: g})
	}
	errFull := errors.New("answer full")
	err = tx.DocLog(doc, 2, func(e store.LogEntry) error {
		visited++
		if sent[e.CID.KeyString()] {
			return nil
		}
		if len(out) == b.blocks || e.Size > b.bytes {
			return errFull
		}
		b.bytes -= e.Size
		out = append(out, planned{cid: e.CID, size: e.Size})
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, visited, err
	}
	return out, visited, nil
}

// heads returns the current heads of the document, or nothing when it is not a
// document of the request's collection. It keeps the genesis's metadata for the
// sweep.
func (sw *sweep) heads() ([]cid.Cid, error) {
	g, err := sw.tx.Block(sw.schema, sw.doc)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !g.IsGenesis() {
		return nil, nil // not a document ID
	}
	sw.cache.put(g.CID.KeyString(), &blockMeta{schema: g.Schema, doc: g.CID, height: g.Height, size: len(g.Data)})
	heads, err := sw.tx.Heads(sw.schema, sw.doc)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return heads, err
}

// meta returns the metadata of stored block c, or nil when it is not stored in the
// request's collection. A cached entry may be of another collection; push checks.
func (sw *sweep) meta(c cid.Cid) (*blockMeta, error) {
	k := c.KeyString()
	if m := sw.cache.get(k); m != nil {
		return m, nil
	}
	b, err := sw.tx.Block(sw.schema, c)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := &blockMeta{schema: b.Schema, doc: b.DocID(), height: b.Height, prev: b.Prev, size: len(b.Data)}
	sw.cache.put(k, m)
	return m, nil
}

// push adds block c to the heap, reached from the have or the want side, or merges
// that mark into its entry. Blocks the store lacks and blocks of other documents or
// collections are ignored. below is the height of the child that reaches c (0 for the item's own
// lists): a stored parent at least as high is a corrupt store, refused so that the
// sweep always terminates.
func (sw *sweep) push(c cid.Cid, have bool, below uint64) error {
	k := c.KeyString()
	if n, ok := sw.nodes[k]; ok {
		if have && !n.have {
			n.have = true
			sw.wantCount--
		}
		return nil
	}
	m, err := sw.meta(c)
	if err != nil || m == nil || !m.doc.Equals(sw.doc) || !m.schema.Equals(sw.schema) {
		return err
	}
	if below != 0 && m.height >= below {
		return fmt.Errorf("blocks: stored block %s at height %d is a parent of a block at height %d", c, m.height, below)
	}
	n := &sweepNode{cid: c, meta: m, have: have}
	sw.nodes[k] = n
	sw.heap.push(n)
	if !have {
		sw.wantCount++
	}
	return nil
}

// pop removes and returns the highest block of the heap.
func (sw *sweep) pop() *sweepNode {
	n := sw.heap.pop()
	delete(sw.nodes, n.cid.KeyString())
	sw.visited++
	return n
}

// sweepHeap is a max-heap of nodes by (height, CID bytes).
type sweepHeap []*sweepNode

func higher(a, b *sweepNode) bool {
	if a.meta.height != b.meta.height {
		return a.meta.height > b.meta.height
	}
	return strings.Compare(a.cid.KeyString(), b.cid.KeyString()) > 0
}

func (h *sweepHeap) push(n *sweepNode) {
	*h = append(*h, n)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !higher(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *sweepHeap) pop() *sweepNode {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = nil
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && higher(s[l], s[m]) {
			m = l
		}
		if r < len(s) && higher(s[r], s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// Have returns what a request for the history of document doc of collection
// schema names as had: the document's heads, then the blocks of its log at
// distances 1, 2, 4, 8, … below the highest, and its genesis. A peer that does
// not know the heads (the two histories diverged) still finds among the others
// a block it has, close above where they diverged, so that its answer starts
// there instead of at the genesis; otherwise an answer cut at its limit would
// bring only blocks the requester has, and catch-up would never progress. A
// document this store does not hold has nothing to name.
func Have(tx *store.Tx, schema, doc cid.Cid) ([]cid.Cid, error) {
	heads, err := tx.Heads(schema, doc)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	n := 1 // the genesis, whose CID is doc, then the log
	if err := tx.DocLog(doc, 0, func(store.LogEntry) error { n++; return nil }); err != nil {
		return nil, err
	}
	wanted := map[int]bool{0: true}
	for d := 1; d < n; d *= 2 {
		wanted[n-1-d] = true
	}
	out := heads
	if len(out) < MaxLinks {
		out = append(out, doc)
	}
	i := 1
	err = tx.DocLog(doc, 0, func(e store.LogEntry) error {
		if wanted[i] && len(out) < MaxLinks {
			out = append(out, e.CID)
		}
		i++
		return nil
	})
	return out, err
}
