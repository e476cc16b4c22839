package gossipdb

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"math"
	"slices"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Order sorts query results by one field, ascending unless Desc. Nulls come
// first in ascending order and last in descending order. The field "_docID"
// is the document ID, compared as a string (as in filters); no index is
// needed for it (see Query).
type Order struct {
	Field string
	Desc  bool
}

// Query selects, orders and pages the live documents of a collection, and
// with ShowDeleted its deleted ones too.
//
// Results are ordered by Order, then by document ID, so the order is total and
// stable: the document ID runs in the direction of the last Order (ascending
// with no Order), unless Order names "_docID", which sets its direction and
// makes any Order after it change nothing (IDs are unique). After, a cursor
// made by Collection.Cursor with the same Order (or one that differs only by
// naming "_docID" in the direction it runs anyway), continues after the
// document that made it: keyset paging, which stays correct while documents
// change (a document whose ordered fields change between pages can be missed
// or seen twice; one that exists and keeps its place throughout is returned
// exactly once). Offset documents are then skipped, and at most Limit
// returned (0: all).
//
// A filter whose top-level conditions name its documents (_docID with _eq
// or _in, at most 4,096 IDs) makes the query read those documents by ID,
// whatever else it says. Ordered by the document ID alone (or by nothing), a
// query reads the documents in ID order (backwards for a descending ID), or
// sorts the matches an index finds, and scans instead where they are too
// many to sort: it never needs an index for that order. Otherwise, without
// an index that yields the Order with the ID in the direction wanted,
// results are sorted in memory, which holds at most MaxSortedResults
// documents (Offset+Limit with a Limit, else every match) and
// MaxSortedBytes of them; beyond that the query fails with ErrTooLarge.
type Query struct {
	Filter Filter
	Order  []Order
	Limit  int
	Offset int
	After  string
	// ShowDeleted makes the query return deleted documents as well, with
	// Document.Deleted set, holding the values they had when deleted (and
	// those of changes merged since: a delete wins, but concurrent changes
	// still count). Deleted documents have no index entries, so such a
	// query reads every document of the collection, as a scan.
	ShowDeleted bool
}

// MaxSortedResults is the most documents a query sorts in memory, when no
// index yields its order.
const MaxSortedResults = 100_000

// MaxSortedBytes is the most bytes of documents a query sorts in memory: their
// values' text (16 bytes for a number or a boolean), IDs and sort keys.
const MaxSortedBytes = 64 << 20

// sumScale is the power of two Aggregate scales a sum of Float values down
// by, so that no sum of float64s overflows.
const sumScale = 64

// MaxOrderFields is the most fields a query may order by.
const MaxOrderFields = 16

// AggregateOp names an aggregate of Collection.Aggregate.
type AggregateOp string

// The aggregates.
const (
	Sum AggregateOp = "sum" // sum of an Int (int64) or Float (float64) field; 0 with no value; fails out of the kind's range
	Avg AggregateOp = "avg" // mean of an Int or Float field as float64; nil with no value
	Min AggregateOp = "min" // least value of an Int, Float, String, DateTime or Boolean field; nil with no value
	Max AggregateOp = "max" // greatest value, as Min
)

// Plan says how a query ran: which index it read, if any, and how much.
type Plan struct {
	// Index is the name of the index the query read, "" for a scan of every document.
	Index string
	// Ranges is how many ranges of the index the query read (one per value of an _in).
	Ranges int
	// Reverse is true when the index was read backwards, for an order opposite
	// to its own, or, with no index, when the documents were scanned backwards,
	// for a descending document ID.
	Reverse bool
	// Sorted is true when results were sorted in memory (no index yields the order).
	Sorted bool
	// EntriesRead is how many index entries the query read.
	EntriesRead int64
	// DocsRead is how many documents the query read and tested against the filter.
	DocsRead int64
	// Results is how many documents the query returned.
	Results int64
}

// orderField is a resolved Order.
type orderField struct {
	field crdt.Field
	desc  bool
}

// compiled is a checked query.
type compiled struct {
	s      *crdt.Schema // the version the query names fields of, read once
	filter *cond
	order  []orderField // the ordered fields, none after _docID
	idDesc bool         // the document ID's direction, after them
	after  []byte       // sort key to continue after; nil from the start
	offset int
	limit  int
	// deleted: deleted documents match too (Query.ShowDeleted)
	deleted bool
	// byID: the filter names at most ids (sorted, each once), few enough
	// that the query reads those documents instead of scanning (see idPages)
	byID bool
	ids  []string
}

// tieBreakDesc reports the direction of the document ID after order when the
// query does not name _docID: that of the last ordered field.
func tieBreakDesc(order []orderField) bool {
	return len(order) > 0 && order[len(order)-1].desc
}

// sortKey returns the key results are ordered by: the ordered fields' values,
// then the document ID (see package internal/index).
func (q *compiled) sortKey(dst []byte, id string, st valuer) []byte {
	for _, o := range q.order {
		dst = index.AppendValue(dst, o.field.Kind, st.Value(o.field), o.desc)
	}
	return index.AppendDocID(dst, id, q.idDesc)
}

// wanted returns how many ordered results a query with a limit reads before
// it is done: offset+limit, or math.MaxInt where that sum overflows an int
// (limit and offset may each be as large as an int holds).
func (q *compiled) wanted() int {
	if q.offset > math.MaxInt-q.limit {
		return math.MaxInt
	}
	return q.offset + q.limit
}

// compile checks a query, whose field names are version s's.
func compile(s *crdt.Schema, q Query) (*compiled, error) {
	filter, err := compileFilter(s, q.Filter)
	if err != nil {
		return nil, err
	}
	order, idDesc, err := resolveOrder(s, q.Order)
	if err != nil {
		return nil, err
	}
	if q.Limit < 0 {
		return nil, fmt.Errorf("%w: negative limit %d", ErrInvalid, q.Limit)
	}
	if q.Offset < 0 {
		return nil, fmt.Errorf("%w: negative offset %d", ErrInvalid, q.Offset)
	}
	cq := &compiled{s: s, filter: filter, order: order, idDesc: idDesc, offset: q.Offset, limit: q.Limit, deleted: q.ShowDeleted}
	if ids, ok := filter.docIDs(); ok && len(ids) <= maxIDPlan {
		cq.byID, cq.ids = true, ids
	}
	if q.After != "" {
		if cq.after, err = parseCursor(q.After, order, idDesc); err != nil {
			return nil, err
		}
	}
	return cq, nil
}

// resolveOrder resolves orders by the fields of version s: the ordered fields
// before any _docID, and the document ID's direction after them.
func resolveOrder(s *crdt.Schema, orders []Order) (fields []orderField, idDesc bool, err error) {
	if len(orders) > MaxOrderFields {
		return nil, false, fmt.Errorf("%w: order by more than %d fields", ErrInvalid, MaxOrderFields)
	}
	all := make([]orderField, 0, len(orders))
	byID := -1 // the position of _docID in all
	for _, o := range orders {
		if o.Field == docIDField {
			if byID >= 0 {
				return nil, false, filterError(o.Field, "ordered by twice")
			}
			byID = len(all)
			all = append(all, orderField{field: crdt.Field{Name: docIDField, Kind: crdt.KindString}, desc: o.Desc})
			continue
		}
		f, ok := s.Field(o.Field)
		switch {
		case !ok:
			return nil, false, filterError(o.Field, "unknown field in order")
		case f.Kind == crdt.KindJSON:
			return nil, false, filterError(o.Field, "cannot order by a JSON field")
		case f.List || f.AddWinsSet || f.Kind == crdt.KindRelation:
			return nil, false, filterError(o.Field, "cannot order by a list, set or relation field")
		case slices.ContainsFunc(all, func(p orderField) bool { return p.field.Name == o.Field }):
			return nil, false, filterError(o.Field, "ordered by twice")
		}
		all = append(all, orderField{field: f, desc: o.Desc})
	}
	if byID < 0 {
		return all, tieBreakDesc(all), nil
	}
	// The fields after the ID never decide: IDs are unique.
	return all[:byID:byID], all[byID].desc, nil
}

// cursorVersion leads every cursor, so that a later format can be told apart.
const cursorVersion = 1

// orderHash identifies an order in a cursor, so that a cursor of another order
// is refused rather than misread. The document ID counts only in a direction
// other than its tie-break's: an order that names it in that direction is the
// same order as the one that does not.
func orderHash(order []orderField, idDesc bool) uint32 {
	h := fnv.New32a()
	for _, o := range order {
		fmt.Fprintf(h, "%s/%t;", o.field.ID(), o.desc)
	}
	if idDesc != tieBreakDesc(order) {
		fmt.Fprintf(h, "%s/%t;", docIDField, idDesc)
	}
	return h.Sum32()
}

func makeCursor(order []orderField, idDesc bool, key []byte) string {
	b := binary.BigEndian.AppendUint32([]byte{cursorVersion}, orderHash(order, idDesc))
	return base64.RawURLEncoding.EncodeToString(append(b, key...))
}

// maxCursorLen bounds a cursor's text, as a value of a document's fields does.
const maxCursorLen = 2 * crdt.MaxBlockSize

func parseCursor(s string, order []orderField, idDesc bool) ([]byte, error) {
	if len(s) > maxCursorLen {
		return nil, fmt.Errorf("%w: cursor too long", ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 6 || b[0] != cursorVersion {
		return nil, fmt.Errorf("%w: malformed cursor %.32q", ErrInvalid, s)
	}
	if binary.BigEndian.Uint32(b[1:5]) != orderHash(order, idDesc) {
		return nil, fmt.Errorf("%w: cursor made for another order", ErrInvalid)
	}
	return b[5:], nil
}

// Cursor returns the cursor that continues q after doc (see Query.After), a
// document q returned: it encodes doc's values of q's ordered fields and its ID,
// so it stays valid whatever happens to doc. It fails with ErrInvalid for a bad
// order, a doc whose ID is no document ID, or one whose fields do not fit the
// collection.
func (c *Collection) Cursor(q Query, doc *Document) (string, error) {
	if c.node.closing() {
		return "", ErrClosed
	}
	return cursor(c.schema(), q, doc)
}

// cursor is Cursor with q's fields named as version s names them.
func cursor(s *crdt.Schema, q Query, doc *Document) (string, error) {
	order, idDesc, err := resolveOrder(s, q.Order)
	if err != nil {
		return "", err
	}
	if doc == nil {
		return "", fmt.Errorf("%w: cursor of a nil document", ErrInvalid)
	}
	if _, err := parseDocID(doc.ID); err != nil {
		return "", err
	}
	st := &scanned{keys: make([]string, len(order)), values: make([]any, len(order))}
	for i, o := range order {
		f := o.field
		f.Required = false
		v, err := f.Normalize(doc.Fields[f.Name])
		if err != nil {
			return "", invalid(err)
		}
		if v == nil {
			v = crdt.Null // the document shows null: no default applies
		}
		st.keys[i], st.values[i] = f.ID(), v
	}
	cq := &compiled{order: order, idDesc: idDesc}
	return makeCursor(order, idDesc, cq.sortKey(nil, string(doc.ID), st)), nil
}

// Query returns the live documents that match q (deleted ones too with
// q.ShowDeleted), in q's order (see Query). The
// results stream: the query reads the store in pages, each from a consistent
// snapshot, so it never blocks writes or merges, and the loop body may write to
// the node. (A query whose matches an index finds and memory sorts reads all
// its pages in one snapshot, before the loop body first runs.) A bad query yields one error wrapping ErrInvalid that names the
// field or operator at fault, and stops; so does a closed node (ErrClosed) or
// an ended ctx. Documents are the caller's.
func (c *Collection) Query(ctx context.Context, q Query) iter.Seq2[*Document, error] {
	return func(yield func(*Document, error) bool) {
		if c.node.closing() {
			yield(nil, ErrClosed)
			return
		}
		cq, err := compile(c.schemaIn(ctx), q)
		if err != nil {
			yield(nil, err)
			return
		}
		ended := false // ctx ended between two documents
		err = c.run(ctx, cq, nil, inOrder, true, func(id string, st valuer) bool {
			if ended = ctx.Err() != nil; ended {
				return false
			}
			d := document(cq.s, DocID(id), st)
			if sc, ok := st.(*scanned); ok {
				d.Deleted = sc.deleted
			}
			return yield(d, nil)
		})
		if err == nil && ended {
			err = ctx.Err()
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

// Explain runs q as Query does, without building its documents, and says how:
// which index it read and how many entries and documents. Errors are Query's.
func (c *Collection) Explain(ctx context.Context, q Query) (*Plan, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	cq, err := compile(c.schemaIn(ctx), q)
	if err != nil {
		return nil, err
	}
	var p Plan
	err = c.run(ctx, cq, &p, inOrder, false, func(string, valuer) bool { return true })
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// DocIDs iterates over the IDs of the collection's live documents in ID
// order, reading of each document record only whether it is deleted: listing
// a collection's IDs costs about what reading its keys costs. Like Query it
// reads the store in pages, so it never holds the whole list, and the loop
// body may write to the node. A closed node yields ErrClosed.
func (c *Collection) DocIDs(ctx context.Context) iter.Seq2[DocID, error] {
	return func(yield func(DocID, error) bool) {
		if c.node.closing() {
			yield("", ErrClosed)
			return
		}
		cq, err := compile(c.schemaIn(ctx), Query{})
		if err != nil {
			yield("", err)
			return
		}
		ended := false // ctx ended between two documents
		err = c.run(ctx, cq, nil, idsOnly, true, func(id string, _ valuer) bool {
			if ended = ctx.Err() != nil; ended {
				return false
			}
			return yield(DocID(id), nil)
		})
		if err == nil && ended {
			err = ctx.Err()
		}
		if err != nil {
			yield("", err)
		}
	}
}

// Count returns how many live documents match f. Errors are Query's.
func (c *Collection) Count(ctx context.Context, f Filter) (int64, error) {
	if c.node.closing() {
		return 0, ErrClosed
	}
	cq, err := compile(c.schemaIn(ctx), Query{Filter: f})
	if err != nil {
		return 0, err
	}
	var n int64
	err = c.run(ctx, cq, nil, idsOnly, false, func(string, valuer) bool { n++; return true })
	return n, err
}

// Aggregate computes op (Sum, Avg, Min, Max) over field of the live documents
// that match f, ignoring those where field is null. Sum and Avg take Int and
// Float fields. A Sum beyond the range of its field's kind (int64, or finite
// float64) fails with an error wrapping ErrInvalid and a *FieldError naming the
// field ("sum is out of the range of a Float"); a running sum that overflows
// on the way to one in range does not, and Avg, the mean, always fits: no
// result is ever an infinity or NaN. Min and Max return the field's value as
// Document.Fields holds it. An unknown op or field, or a field of a kind op
// does not take, fails with ErrInvalid; other errors are Query's.
func (c *Collection) Aggregate(ctx context.Context, f Filter, op AggregateOp, field string) (any, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	s := c.schemaIn(ctx)
	fd, ok := s.Field(field)
	if !ok {
		return nil, filterError(field, "unknown field in aggregate")
	}
	switch op {
	case Sum, Avg:
		if (fd.Kind != crdt.KindInt && fd.Kind != crdt.KindFloat) || fd.List || fd.AddWinsSet {
			return nil, filterError(field, fmt.Sprintf("%s takes Int or Float fields, not %s", op, fd.Kind))
		}
	case Min, Max:
		if fd.Kind == crdt.KindJSON || fd.List || fd.AddWinsSet || fd.Kind == crdt.KindRelation {
			return nil, filterError(field, fmt.Sprintf("%s does not take a JSON, list, set or relation field", op))
		}
	default:
		return nil, fmt.Errorf("%w: unknown aggregate %.32q (want sum, avg, min or max)", ErrInvalid, op)
	}
	cq, err := compile(s, Query{Filter: f})
	if err != nil {
		return nil, err
	}
	var (
		n    int64
		isum int64 // the sum of an Int field, modulo 2^64
		wrap int64 // how many times isum wrapped around: the sum is isum + wrap×2^64
		fsum float64
		// ssum is fsum scaled down by 2^sumScale, which the sum of any
		// number of float64s below 2^64 of them cannot overflow: it is used
		// only where fsum did. (Scaling by a power of two is exact except
		// for the tiniest values, which cannot matter to such a sum.)
		ssum float64
		best any
	)
	err = c.run(ctx, cq, nil, anyOrder, false, func(_ string, st valuer) bool {
		v := st.Value(fd)
		if v == nil {
			return true
		}
		n++
		switch x := v.(type) {
		case int64:
			s := isum + x
			switch {
			case x > 0 && s < isum:
				wrap++
			case x < 0 && s > isum:
				wrap--
			}
			isum = s
			fsum += float64(x)
		case float64:
			fsum += x
			ssum += x * (1.0 / (1 << sumScale))
		}
		if c := compareValues(fd.Kind, v, best); best == nil || (op == Min && c < 0) || (op == Max && c > 0) {
			best = v
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if math.IsInf(fsum, 0) || math.IsNaN(fsum) {
		// The running sum overflowed, which the sum itself may not.
		fsum = ssum * (1 << sumScale)
	}
	switch op {
	case Sum:
		switch {
		case fd.Kind == crdt.KindFloat && math.IsInf(fsum, 0):
			return nil, filterError(field, "sum is out of the range of a Float")
		case fd.Kind == crdt.KindFloat:
			return fsum, nil
		case wrap != 0:
			return nil, filterError(field, "sum is out of the range of an Int")
		}
		return isum, nil
	case Avg:
		switch {
		case n == 0:
			return nil, nil
		case fd.Kind == crdt.KindInt && wrap == 0:
			return float64(isum) / float64(n), nil
		case !math.IsInf(fsum, 0):
			return fsum / float64(n), nil
		}
		// The mean lies between the least and the greatest value, so it is
		// finite; rounding cannot take it beyond them.
		avg := ssum / float64(n) * (1 << sumScale)
		return max(-math.MaxFloat64, min(avg, math.MaxFloat64)), nil
	}
	if best == nil {
		return nil, nil
	}
	return fd.Export(best), nil
}

// runMode says what a run's caller needs of the results.
type runMode uint8

const (
	inOrder  runMode = iota // the documents in the query's order
	anyOrder                // the documents, in any order (an aggregate)
	idsOnly                 // only how many: where an index answers the filter, emit gets nil states
)

// run executes q, calling emit for each result until it returns false. With p,
// it fills in how the query ran. streams says that emit runs the caller's
// code (a loop body over Query's or DocIDs' results), which must not run
// inside a read transaction.
func (c *Collection) run(ctx context.Context, q *compiled, p *Plan, mode runMode, streams bool, emit func(id string, st valuer) bool) error {
	if c.node.closing() {
		return ErrClosed
	}
	if p == nil {
		p = &Plan{}
	}
	e := &emitter{q: q, p: p, emit: emit, skip: q.offset, mode: mode, streams: streams}
	for attempt := 1; ; attempt++ {
		ip := c.plan(ctx, q)
		if ip == nil || q.byID {
			break
		}
		if f := c.node.planned.Load(); f != nil {
			(*f)()
		}
		err := c.runIndex(ctx, q, ip, e, mode)
		if errors.Is(err, store.ErrIndexDropped) && !e.sent && attempt < maxReplans {
			// Dropped after the plan chose it and before its first page was
			// read: nothing was read of it, so the query plans again.
			*p = Plan{}
			continue
		}
		if errors.Is(err, store.ErrIndexDropped) {
			return fmt.Errorf("%w: %q of %s; run the query again", ErrIndexDropped, ip.ix.Name, c.Name())
		}
		if !errors.Is(err, errTooManyToSort) || len(q.order) > 0 {
			return err
		}
		// Too many matches to sort by ID: a scan yields them in that order.
		p.Index, p.Sorted, p.Reverse, p.Ranges = "", false, false, 0
		e.skip = q.offset
		break
	}
	if len(q.order) == 0 {
		return c.scanInOrder(ctx, q, e)
	}
	return c.scanSorted(ctx, q, e)
}

// emitter applies a query's offset and limit to its ordered results.
type emitter struct {
	q    *compiled
	p    *Plan
	emit func(id string, st valuer) bool
	mode runMode
	// streams says that emit runs the caller's code (see run).
	streams bool
	skip    int
	done    bool
	// sent is set once a result was passed on (or skipped as before Offset).
	sent bool
}

// maxReplans is how many times a query plans again when the index its plan
// chose is dropped before the query read any of it, so that only a query
// that was streaming results from an index fails for its drop.
const maxReplans = 8

// send passes on one ordered result; false once no more are wanted.
func (e *emitter) send(id string, st valuer) bool {
	if e.done {
		return false
	}
	e.sent = true
	if e.skip > 0 {
		e.skip--
		return true
	}
	e.p.Results++
	if !e.emit(id, st) || (e.q.limit > 0 && e.p.Results >= int64(e.q.limit)) {
		e.done = true
	}
	return !e.done
}

// hit is a matching document read by a query.
type hit struct {
	id   string
	st   *scanned // the values of every field; nil when only counted
	key  []byte   // its sort key, when the query sorts
	item []byte   // read from an index on a list: the component of the item whose entry named it
}

// scanPages reads the collection's documents in ID order from from on
// (with reverse, in reverse ID order from from down; "" is the start), in
// pages of scanPageSize each read in its own snapshot, and calls fn with each
// page's matches once the page's snapshot is released, until fn returns false.
func (c *Collection) scanPages(ctx context.Context, q *compiled, p *Plan, from string, reverse bool, mode runMode, fn func([]hit) bool) error {
	if q.byID {
		return c.idPages(ctx, q, p, from, reverse, fn)
	}
	names := q.filter.fields(nil)
	for {
		page, next, err := c.scanPage(ctx, q, p, from, reverse, names, mode)
		if err != nil {
			return err
		}
		if !fn(page) || next == "" {
			return nil
		}
		from = next
	}
}

// errPageFull ends the reading of a page.
var errPageFull = errors.New("page full")

// scanPage reads a page of documents from from on (down, with reverse): from each record, the
// fields the filter tests (names, their keys), then every field of those that match
// (none with idsOnly), until it has read scanPageSize documents or holds
// scanPageBytes of values (as valueBytes counts them). No state is decoded, except of documents whose record
// the scan cannot read field by field (see store.Tx.ScanDocs).
func (c *Collection) scanPage(ctx context.Context, q *compiled, p *Plan, from string, reverse bool, names []string, mode runMode) (page []hit, next string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	seen, held := 0, 0 // documents read, bytes of values held
	all := fieldKeys(q.s)
	var stop error
	err = c.node.read(ctx, func(tx *store.Tx) error {
		sc := &scanned{keys: names}
		return tx.ScanDocs(q.s.ID, from, reverse, names, func(id string, deleted bool, values []any, read func([]string, []any) error) error {
			// A filter may cost much per document (10,000 terms over
			// large values): a query that must end stops within one.
			if stop = ctx.Err(); stop != nil {
				return stop
			}
			if seen == scanPageSize || held >= scanPageBytes {
				next = id
				return errPageFull
			}
			seen++
			p.DocsRead++
			sc.values = values
			if (deleted && !q.deleted) || !q.filter.match(id, sc) {
				return nil
			}
			if mode == idsOnly {
				page = append(page, hit{id: id})
				return nil
			}
			h := hit{id: id, st: &scanned{keys: all, values: make([]any, len(all)), deleted: deleted}}
			if err := read(all, h.st.values); err != nil {
				return err
			}
			for _, v := range h.st.values {
				held += valueBytes(v)
			}
			page = append(page, h)
			return nil
		})
	})
	switch {
	case stop != nil:
		return nil, "", stop
	case err != nil && !errors.Is(err, errPageFull):
		return nil, "", damaged(err)
	}
	return page, next, nil
}

// maxIDPlan is the most document IDs a filter may name (with _docID _eq or
// _in, at its top) for its query to read those documents one by one instead
// of scanning the collection: about 40 ms of point reads at most.
const maxIDPlan = 4096

// idPages is scanPages for a query whose filter names its documents (byID):
// it reads those of q.ids from from on (with reverse, from from down; "" is
// the start), in pages of scanPageSize each read in its own snapshot, and
// calls fn with each page's matches, until fn returns false. Unknown IDs
// match nothing.
func (c *Collection) idPages(ctx context.Context, q *compiled, p *Plan, from string, reverse bool, fn func([]hit) bool) error {
	ids := q.ids
	if reverse {
		ids = slices.Clone(ids)
		slices.Reverse(ids)
	}
	if from != "" {
		i := slices.IndexFunc(ids, func(id string) bool {
			if reverse {
				return id <= from
			}
			return id >= from
		})
		if i < 0 {
			return nil
		}
		ids = ids[i:]
	}
	all := fieldKeys(q.s)
	for start := 0; start < len(ids); start += scanPageSize {
		chunk := ids[start:min(start+scanPageSize, len(ids))]
		var page []hit
		err := c.node.read(ctx, func(tx *store.Tx) error {
			deleted := make([]bool, 1)
			for _, id := range chunk {
				if err := ctx.Err(); err != nil {
					return err
				}
				values := make([]any, len(all))
				err := tx.DocValues(q.s.ID, []string{id}, all, [][]any{values}, deleted)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				p.DocsRead++
				st := &scanned{keys: all, values: values, deleted: deleted[0]}
				if (deleted[0] && !q.deleted) || !q.filter.match(id, st) {
					continue
				}
				page = append(page, hit{id: id, st: st})
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return damaged(err)
		}
		if !fn(page) {
			return nil
		}
	}
	return nil
}

// scanInOrder runs a query ordered by nothing but the document ID over every
// document, in ID order or, for a descending ID, backwards.
func (c *Collection) scanInOrder(ctx context.Context, q *compiled, e *emitter) error {
	from := ""
	if q.after != nil {
		key := q.after
		if q.idDesc {
			key = index.Complement(key)
		}
		id, ok := index.DocIDOf(key)
		if !ok {
			return fmt.Errorf("%w: malformed cursor", ErrInvalid)
		}
		from = id
	}
	e.p.Reverse = q.idDesc
	return c.scanPages(ctx, q, e.p, from, q.idDesc, e.mode, func(page []hit) bool {
		for _, h := range page {
			if q.after != nil && (h.id == from || (h.id < from) != q.idDesc) {
				continue
			}
			if !e.send(h.id, h.st) {
				return false
			}
		}
		return true
	})
}

// scanSorted runs an ordered query over every document, sorting in memory.
func (c *Collection) scanSorted(ctx context.Context, q *compiled, e *emitter) error {
	e.p.Sorted = true
	s := newSorter(q)
	var addErr error
	err := c.scanPages(ctx, q, e.p, "", false, inOrder, func(page []hit) bool {
		for _, h := range page {
			if addErr = s.add(h); addErr != nil {
				return false
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if addErr != nil {
		return addErr
	}
	s.emit(e)
	return nil
}

// hitHeap is a max-heap of hits by sort key: the hits a sorted query keeps.
type hitHeap []hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return bytes.Compare(h[i].key, h[j].key) > 0 }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
