package gossipdb

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
	"github.com/gossipdb/gossipdb/internal/store"
)

// The planner picks, among a collection's ready indexes, the one that narrows a
// query most: per index, it takes the filter's top-level conditions (those
// joined by and: the keys of its map, and those of an _and, however nested;
// see appendAnd) on the index's fields in order, an _eq on each leading field
// (a prefix of the keys), then an _eq, _in or range on the next; an index
// whose remaining fields are exactly the query's order (or its reverse),
// which may name first the last fields the equalities fix, also yields the
// results in order, with no sorting. An index on a list or set
// field serves an _any of an item equal to a value, in a list of values or in
// a range (planItems). Each document an index names is read and tested against the
// whole filter, so a plan only decides how much is read, never what matches.
// Without a useful index, the query scans every document in ID order
// (backwards for an order by _docID descending).

// keyRange is a range [lo, hi) of an index's keys, without the index's
// prefix; hi nil means no upper bound.
type keyRange struct{ lo, hi []byte }

// indexPlan is how a query reads an index.
type indexPlan struct {
	ix     store.Index
	prefix []byte // the keys' start the equalities fix
	// orderPrefix is, when ordered, the part of prefix before the first
	// ordered field's value (all of it with no order): a cursor holds the
	// ordered fields' values and the ID (see readIndex).
	orderPrefix []byte
	ranges      []keyRange // in key order
	reverse     bool       // read backwards: the order is the index's reversed
	ordered     bool       // the index yields the query's order
	covered     bool       // the ranges hold exactly the matches: no document needs reading to count them
	score       int
	// items is, for a plan of an index on a list or set whose ranges may
	// hold several entries of one document (an _any of items in a list of
	// values, or in a range), that field as the query names it: a document
	// is sent from its first entry read only (see sentBefore).
	items *crdt.Field
}

// conjuncts returns the conditions joined by and at the top of a filter.
func conjuncts(k *cond) []*cond {
	switch {
	case k == nil:
		return nil
	case k.op == opAnd:
		return k.kids
	}
	return []*cond{k}
}

// plan returns the best index plan for q, run in ctx, or nil for a scan.
func (c *Collection) plan(ctx context.Context, q *compiled) *indexPlan {
	if q.deleted {
		return nil // deleted documents have no index entries
	}
	var best *indexPlan
	for _, ix := range c.node.indexes(ctx, q.s.ID) {
		if ix.State != store.IndexReady || !indexReadsExact(q.s, ix) {
			continue
		}
		if p := planIndex(ix, q); p != nil && (best == nil || p.score > best.score) {
			best = p
		}
	}
	return best
}

// planIndex returns how q would use index ix, or nil if it would not help.
func planIndex(ix store.Index, q *compiled) *indexPlan {
	if ix.Fields[0].List {
		return planItems(ix, q)
	}
	conds := conjuncts(q.filter)
	used := 0 // conditions the plan answers
	on := func(f store.IndexField, ops ...op) []*cond {
		var out []*cond
		for _, k := range conds {
			if k.field.Name != docIDField && fieldKey(k.field) == f.Key && slices.Contains(ops, k.op) {
				out = append(out, k)
			}
		}
		return out
	}
	p := &indexPlan{ix: ix}
	var prefix []byte
	prefixes := [][]byte{nil} // prefixes[k]: the part of prefix the first k fields' equalities fix
	eq := 0
	for _, f := range ix.Fields {
		ks := on(f, opEq)
		if len(ks) == 0 {
			break
		}
		prefix = index.AppendValue(prefix, f.Kind, ks[0].value, f.Desc)
		used += len(ks)
		if len(ks) > 1 && slices.ContainsFunc(ks[1:], func(k *cond) bool { return compareValues(f.Kind, k.value, ks[0].value) != 0 }) {
			p.ranges = []keyRange{} // contradictory: nothing matches
			p.covered, p.score = true, 1000
			return p
		}
		eq++
		prefixes = append(prefixes, slices.Clip(prefix))
	}
	p.score = 10 * eq
	p.prefix = prefix
	rangeField := -1
	if eq < len(ix.Fields) {
		f := ix.Fields[eq]
		if ins := on(f, opIn); len(ins) > 0 {
			rangeField = eq
			used++
			vals := ins[0].values
			keys := make([][]byte, len(vals))
			for i, v := range vals {
				keys[i] = index.AppendValue(slices.Clone(prefix), f.Kind, v, f.Desc)
			}
			slices.SortFunc(keys, bytes.Compare)
			p.ranges = []keyRange{} // an empty _in matches nothing
			for _, k := range keys {
				p.ranges = append(p.ranges, keyRange{k, index.PrefixEnd(k)})
			}
			p.score += 5
		} else if rs := on(f, opGt, opGe, opLt, opLe); len(rs) > 0 {
			rangeField = eq
			used += len(rs)
			p.ranges = []keyRange{valueRange(prefix, f, rs)}
			p.score += 3
		}
	}
	if p.ranges == nil {
		if eq == 0 {
			p.ranges = []keyRange{{}}
		} else {
			p.ranges = []keyRange{{prefix, index.PrefixEnd(prefix)}}
		}
	}
	p.covered = used == len(conds)
	// Does the index yield the order? Its fields after the equalities must be
	// exactly the order's, all in the same direction or all reversed, but for
	// the last fields the equalities fix, which the order may name first: they
	// hold one value in every entry read (filter kind = "x", order by kind,
	// then at). With no order, the document ID's order is wanted, which an
	// index yields when every field is fixed by an equality. Its keys end with
	// the document ID in the direction of its last field, so read either way
	// it yields the ID in the direction of the order's last field: never an
	// order that names _docID in the other direction.
	start := len(ix.Fields) - len(q.order) // the index's first ordered field
	switch {
	case len(q.order) == 0 && eq == len(ix.Fields):
		p.ordered, p.orderPrefix = true, prefix
		p.reverse = ix.Fields[len(ix.Fields)-1].Desc != q.idDesc
	case len(q.order) > 0 && start >= 0 && start <= eq && (rangeField < 0 || rangeField == eq) && q.idDesc == tieBreakDesc(q.order):
		rest := ix.Fields[start:]
		same, opposite := true, true
		for i, o := range q.order {
			if fieldKey(o.field) != rest[i].Key {
				same, opposite = false, false
				break
			}
			same = same && o.desc == rest[i].Desc
			opposite = opposite && o.desc != rest[i].Desc
		}
		if same || opposite {
			p.ordered, p.reverse = true, opposite
			p.orderPrefix = prefixes[start]
		}
	}
	if p.ordered && len(q.order) > 0 {
		p.score += 4
	}
	if p.score == 0 && !(p.ordered && len(q.order) > 0) {
		return nil
	}
	if p.reverse {
		slices.Reverse(p.ranges)
	}
	return p
}

// planItems returns how q would use ix, an index on the items of a list or
// set field, or nil if it would not help: a top-level _any whose items must
// equal a value reads the entries of that value, one per document that holds
// it, in document ID order; one whose items must be in a list of values, or
// in a range, reads those values' entries, each document once, in no
// document order.
func planItems(ix store.Index, q *compiled) *indexPlan {
	f := ix.Fields[0]
	conds := conjuncts(q.filter)
	for _, k := range conds {
		if k.op != opAny || fieldKey(k.field) != f.Key {
			continue
		}
		items := k.kids[0].kids
		if i := slices.IndexFunc(items, func(c *cond) bool { return c.op == opEq }); i >= 0 {
			prefix := index.AppendValue(nil, f.Kind, items[i].value, f.Desc)
			p := &indexPlan{ix: ix, prefix: prefix, ranges: []keyRange{{prefix, index.PrefixEnd(prefix)}}, score: 10}
			p.covered = len(conds) == 1 && len(items) == 1
			if len(q.order) == 0 {
				p.ordered, p.orderPrefix = true, prefix
				p.reverse = f.Desc != q.idDesc
			}
			return p
		}
		list := k.field
		if i := slices.IndexFunc(items, func(c *cond) bool { return c.op == opIn }); i >= 0 {
			p := &indexPlan{ix: ix, ranges: []keyRange{}, score: 5, items: &list} // an empty _in matches nothing
			for _, v := range items[i].values {
				k := index.AppendValue(nil, f.Kind, v, f.Desc)
				p.ranges = append(p.ranges, keyRange{k, index.PrefixEnd(k)})
			}
			slices.SortFunc(p.ranges, func(a, b keyRange) int { return bytes.Compare(a.lo, b.lo) })
			return p
		}
		rs := slices.DeleteFunc(slices.Clone(items), func(c *cond) bool {
			return c.op != opGt && c.op != opGe && c.op != opLt && c.op != opLe
		})
		if len(rs) > 0 {
			return &indexPlan{ix: ix, ranges: []keyRange{valueRange(nil, f, rs)}, score: 3, items: &list}
		}
	}
	return nil
}

// sentBefore reports whether h, a document read from the entry of one of
// its items (h.item) in a plan of ip.items, was read before from the entry
// of another: whether it holds an item whose entry is in ip's ranges and
// before h.item. Ranges are read in key order, so the first entry a
// document has in them is the one it is sent from.
func (ip *indexPlan) sentBefore(h hit) bool {
	f := ip.ix.Fields[0]
	values, _ := h.st.Value(*ip.items).([]any)
	for _, x := range values {
		k := index.AppendValue(nil, f.Kind, x, f.Desc)
		if bytes.Compare(k, h.item) >= 0 {
			continue
		}
		for _, r := range ip.ranges {
			if bytes.Compare(k, r.lo) >= 0 && (r.hi == nil || bytes.Compare(k, r.hi) < 0) {
				return true
			}
		}
	}
	return false
}

// valueRange returns the keys of the values of field f, after prefix, that
// satisfy every range condition in rs (never null).
func valueRange(prefix []byte, f store.IndexField, rs []*cond) keyRange {
	var lo, hi *cond // tightest lower and upper bounds
	for _, k := range rs {
		c := 0
		switch k.op {
		case opGt, opGe:
			if lo != nil {
				c = compareValues(f.Kind, k.value, lo.value)
			}
			if lo == nil || c > 0 || (c == 0 && k.op == opGt) {
				lo = k
			}
		case opLt, opLe:
			if hi != nil {
				c = compareValues(f.Kind, k.value, hi.value)
			}
			if hi == nil || c < 0 || (c == 0 && k.op == opLt) {
				hi = k
			}
		}
	}
	enc := func(k *cond) []byte { return index.AppendValue(slices.Clone(prefix), f.Kind, k.value, f.Desc) }
	nnLo, nnHi := index.NonNull(f.Desc)
	r := keyRange{append(slices.Clone(prefix), nnLo...), append(slices.Clone(prefix), nnHi...)}
	// In a descending index, the lower bound of the values bounds the keys from above.
	lower, upper := lo, hi
	if f.Desc {
		lower, upper = hi, lo
	}
	if lower != nil {
		if lower.op == opGe || lower.op == opLe {
			r.lo = enc(lower)
		} else {
			r.lo = index.PrefixEnd(enc(lower))
		}
	}
	if upper != nil {
		if upper.op == opGe || upper.op == opLe {
			r.hi = index.PrefixEnd(enc(upper))
		} else {
			r.hi = enc(upper)
		}
	}
	return r
}

// afterCursor narrows ranges read forwards (or backwards) to the keys after
// the one of a cursor's document, key (an index key without the index prefix).
func afterCursor(ranges []keyRange, key []byte, reverse bool) []keyRange {
	out := ranges[:0:0]
	for _, r := range ranges {
		if reverse {
			if r.hi == nil || bytes.Compare(key, r.hi) < 0 {
				r.hi = key // exclusive: the cursor's own document is not read again
			}
		} else {
			next := append(slices.Clone(key), 0) // the least key after key
			if bytes.Compare(next, r.lo) > 0 {
				r.lo = next
			}
		}
		if r.hi == nil || bytes.Compare(r.lo, r.hi) < 0 {
			out = append(out, r)
		}
	}
	return out
}

// runIndex runs q by reading the index of plan ip. Unless mode is inOrder,
// results need no order; with idsOnly, a covered plan reads no document.
//
// Results streamed to the caller in the index's order are read a page at a
// time, each page in its own snapshot, so that the caller's loop body runs
// outside any. The others (sorted in memory, counted or aggregated) reach the
// caller only once the index has been read, which is then read in one
// snapshot: a document that changes meanwhile is seen once, as it was then,
// even when it moves between the plan's ranges (a name in an _in that
// changes from one of its values to another) or, in an index on a list,
// changes which of its entries are in them.
func (c *Collection) runIndex(ctx context.Context, q *compiled, ip *indexPlan, e *emitter, mode runMode) error {
	var s *sorter
	if !ip.ordered && mode == inOrder {
		e.p.Sorted = true
		s = newSorter(q)
	}
	var err error
	if s != nil || !e.streams {
		err = c.node.read(ctx, func(tx *store.Tx) error {
			return c.readIndex(ctx, q, ip, e, mode, s, func(fn func(*store.Tx) error) error { return fn(tx) })
		})
	} else {
		err = c.readIndex(ctx, q, ip, e, mode, nil, func(fn func(*store.Tx) error) error { return c.node.read(ctx, fn) })
	}
	if err == nil && s != nil {
		s.emit(e)
	}
	return err
}

// readIndex is runIndex, reading each page of entries through view and
// passing the matches to s, or with no sorter to e.
func (c *Collection) readIndex(ctx context.Context, q *compiled, ip *indexPlan, e *emitter, mode runMode, s *sorter, view func(func(*store.Tx) error) error) error {
	p := e.p
	p.Index, p.Reverse, p.Ranges = ip.ix.Name, ip.reverse, len(ip.ranges)
	ranges := ip.ranges
	if ip.ordered && q.after != nil {
		key := q.after
		if ip.reverse {
			key = index.Complement(key)
		}
		// The cursor holds the ordered fields' values, which follow the
		// part of the equalities' prefix before them in the index's keys.
		ranges = afterCursor(ranges, append(slices.Clone(ip.orderPrefix), key...), ip.reverse)
	}
	// An ordered read with a limit reads about as many entries as it returns:
	// its first page is as large as the results it wants, and each next one
	// twice the last, up to indexPageSize.
	size := indexPageSize
	if ip.ordered && q.limit > 0 {
		size = min(indexPageSize, q.wanted())
	}
	for _, r := range ranges {
		for {
			page, last, err := c.indexPage(ctx, q, ip, r, size, mode != idsOnly || !ip.covered, e.p, view)
			size = min(indexPageSize, 2*size)
			if err != nil {
				return err
			}
			for _, h := range page {
				if ip.items != nil && ip.sentBefore(h) {
					continue // sent from the entry of another of its items
				}
				if s != nil {
					// A held state must not keep its page's others alive.
					h.st = &scanned{keys: h.st.keys, values: slices.Clone(h.st.values)}
					if err := s.add(h); err != nil {
						return err
					}
				} else if !e.send(h.id, h.st) {
					return nil
				}
			}
			if last == nil {
				break
			}
			if ip.reverse {
				r.hi = last
			} else {
				r.lo = append(last, 0)
			}
		}
	}
	return nil
}

// errIndexPageFull ends the reading of a page of index entries.
var errIndexPageFull = errors.New("index page full")

// indexPage reads up to size entries of range r (fewer once the matches
// hold scanPageBytes of values) in a read transaction of view, and returns
// the matching documents (only counted, with nil states, when withDocs is
// false) and the key of the last entry read, nil at the range's end.
func (c *Collection) indexPage(ctx context.Context, q *compiled, ip *indexPlan, r keyRange, size int, withDocs bool, p *Plan, view func(func(*store.Tx) error) error) (page []hit, last []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	seen := 0
	all := fieldKeys(q.s)
	var stop error
	err = view(func(tx *store.Tx) error {
		// The page's entries first, then their documents, read in chunks
		// until their values reach scanPageBytes: the page then ends
		// after the last document read.
		var ids []string
		var items [][]byte     // with ip.items, the item component of each entry
		var chunkEnds [][]byte // the key of each chunk's last entry, where a page may end
		err := tx.IndexEntries(ip.ix, r.lo, r.hi, ip.reverse, func(key []byte, doc func() (string, error)) error {
			if seen == size {
				return errIndexPageFull
			}
			seen++
			last = append(last[:0], key...)
			p.EntriesRead++
			if !withDocs {
				page = append(page, hit{})
				return nil
			}
			id, err := doc()
			if err != nil {
				return err
			}
			ids = append(ids, id)
			if ip.items != nil {
				n, _ := index.ValueLen(key, ip.ix.Fields[0].Kind, ip.ix.Fields[0].Desc) // doc() read it
				items = append(items, slices.Clone(key[:n]))
			}
			if len(ids)%indexChunkSize == 0 {
				chunkEnds = append(chunkEnds, slices.Clone(key))
			}
			return nil
		})
		if len(ids) == 0 || (err != nil && !errors.Is(err, errIndexPageFull)) {
			return err
		}
		held := 0
		for start := 0; start < len(ids); start += indexChunkSize {
			if held >= scanPageBytes {
				last, err = chunkEnds[start/indexChunkSize-1], errIndexPageFull
				break
			}
			chunk := ids[start:min(start+indexChunkSize, len(ids))]
			// One allocation of values and one of states for the chunk.
			values := make([]any, len(chunk)*len(all))
			out := make([][]any, len(chunk))
			for i := range out {
				out[i] = values[i*len(all) : (i+1)*len(all) : (i+1)*len(all)]
			}
			deleted := make([]bool, len(chunk))
			if err := tx.DocValues(q.s.ID, chunk, all, out, deleted); err != nil {
				return err
			}
			sts := make([]scanned, len(chunk))
			for i, id := range chunk {
				if stop = ctx.Err(); stop != nil {
					return stop
				}
				p.DocsRead++
				sts[i] = scanned{keys: all, values: out[i]}
				if !deleted[i] && q.filter.match(id, &sts[i]) {
					h := hit{id: id, st: &sts[i]}
					if ip.items != nil {
						h.item = items[start+i]
					}
					page = append(page, h)
					for _, v := range out[i] {
						held += valueBytes(v)
					}
				}
			}
		}
		return err
	})
	switch {
	case stop != nil:
		return nil, nil, stop
	case errors.Is(err, errIndexPageFull):
		return page, last, nil
	case err != nil:
		return nil, nil, damaged(err)
	}
	return page, nil, nil
}

// sorter holds the results of a query that sorts in memory: the first
// Offset+Limit by sort key, or every one without Limit, up to MaxSortedResults
// and MaxSortedBytes.
type sorter struct {
	q     *compiled
	keep  int
	held  hitHeap
	bytes int // of held, as hitBytes counts them
}

func newSorter(q *compiled) *sorter {
	s := &sorter{q: q, keep: MaxSortedResults + 1}
	if q.limit > 0 {
		s.keep = min(s.keep, q.wanted())
	}
	return s
}

// add considers one match.
func (s *sorter) add(h hit) error {
	h.key = s.q.sortKey(nil, h.id, h.st)
	if s.q.after != nil && bytes.Compare(h.key, s.q.after) <= 0 {
		return nil
	}
	switch {
	case len(s.held) < s.keep:
		heap.Push(&s.held, h)
		s.bytes += hitBytes(h)
	case bytes.Compare(h.key, s.held[0].key) < 0:
		s.bytes += hitBytes(h) - hitBytes(s.held[0])
		s.held[0] = h
		heap.Fix(&s.held, 0)
	}
	if len(s.held) > MaxSortedResults || s.bytes > MaxSortedBytes {
		return errTooManyToSort
	}
	return nil
}

// hitBytes is what h counts toward MaxSortedBytes: its sort key, its ID and
// its values' text, 16 bytes for any other value.
func hitBytes(h hit) int {
	n := len(h.key) + len(h.id)
	for _, v := range h.st.values {
		n += valueBytes(v)
	}
	return n
}

func valueBytes(v any) int {
	switch v := v.(type) {
	case string:
		return len(v) + 16
	case []any:
		n := 24
		for _, e := range v {
			n += valueBytes(e)
		}
		return n
	}
	return 16
}

// errTooManyToSort reports a query that would sort more than MaxSortedResults
// documents or MaxSortedBytes.
var errTooManyToSort = fmt.Errorf("%w: the query sorts more than %d documents or %d bytes in memory; add a limit or an index on its order", ErrTooLarge, MaxSortedResults, MaxSortedBytes)

// emit sends the held results in order.
func (s *sorter) emit(e *emitter) {
	slices.SortFunc(s.held, func(a, b hit) int { return bytes.Compare(a.key, b.key) })
	for _, h := range s.held {
		if !e.send(h.id, h.st) {
			return
		}
	}
}
