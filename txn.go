package gossipdb

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// MaxTxnBytes is the most bytes of blocks one transaction may write in one
// collection; a larger one fails with ErrTooLarge. Receivers hold a
// transaction's blocks until they have all of them, within
// Options.TxnPeerBytes, which should be above what the largest transaction
// costs there (the default is).
const MaxTxnBytes = 8 << 20

// Txn is a transaction over the documents of any collections of a node, made
// by Node.Update (read-write) or Node.View (read-only). Its reads see its own
// writes: Get, Query, Related, Count and Aggregate. It is valid only inside the function it is passed
// to (kept past it, every call fails with ErrInvalid), and is not safe for
// concurrent use.
//
// Collections are named by name, as Node.Collection takes them; an unknown one
// fails with ErrNotFound. The transaction reads and writes each collection
// through the version that was active when it first used it: a Patch or
// UseVersion made meanwhile changes neither the fields its documents show
// nor the names its writes and filters take. The writes take fields and fail as the Collection
// methods of the same names do, and a failed write writes nothing, so the
// function may go on (or return the error, which undoes the whole
// transaction). In a View transaction they fail with ErrReadOnly.
//
// # On the wire
//
// Each block a transaction writes carries its transaction's ID (crdt.TxnPart),
// and in each collection it wrote to one of them, the seal, counts the
// transaction's blocks there. In an open collection the seal is the last
// change the transaction wrote, if it wrote changes after its last create;
// otherwise (creates only, or a restricted collection) the transaction writes
// one more block when it commits, an empty change to the document it wrote
// last (Watch shows it as an update of that document that changes no field,
// or as a delete when the document is deleted).
// A transaction that wrote a single change in a collection writes it there
// as a plain change, without the mark. Peers merge the
// blocks of one transaction in one collection all at once, in one store
// transaction, once they hold all of them, whether they came in one gossip
// message or several, through history fetch or catch-up; until then they hold
// none of them visible (see Options.TxnBytes for the budget, internal/txns for
// the rules, and txnHold in txnhold.go for how gossip, history fetch, catch-up
// and restarts meet them).
//
// A transaction that writes to several collections is atomic on the writing
// node, and on a receiver within each collection: a receiver subscribed to
// collections A and B sees the transaction's changes to A appear at once and
// those to B at once, but not necessarily at the same moment, since the
// collections travel on different topics and are caught up separately; a
// receiver subscribed to A only sees A's part, whole. An application that needs
// several kinds of records to appear together keeps them in one collection.
//
// # Signatures
//
// In an open collection a transaction's updates and deletes wait unsigned
// until the commit, or until a read needs them merged (a change of the same
// document, any Query, Related, Count or Aggregate; a Get merges a copy in
// memory), so that one signature covers up to
// crdt.MaxSignedBatch of them (crdt.SignBatch): a transaction of 10 updates
// costs one signature instead of 11. Creates are signed at once, since a
// document's ID, which Create returns, is its signed genesis block's CID; so
// are a restricted collection's blocks, each of which names the CID of its
// author's block before it.
type Txn struct {
	n     *Node
	ctx   context.Context
	tx    *store.Tx
	write bool
	id    []byte // the transaction's ID, drawn at its first write

	targets []*crdt.Schema // the node's collections for relation checks, read once
	written []*txnWrites   // per collection written, in order of first write
	// held are the documents with a change held unsigned (txnWrites.held).
	held map[cid.Cid]bool
	// iterating counts the transaction's queries under way: while one runs,
	// changes are signed and merged at once, so that it sees them.
	iterating int
	// writeCount counts the changes merged; lastWrite holds, for each document
	// written (by collection and ID), the count when it was last written.
	// Query reads them to see its own writes (see Txn.Query).
	writeCount int
	lastWrite  map[docKey]int
	// broken is the store's error that left a write half done: the
	// transaction cannot commit, and refuses further writes.
	broken error
	// ended is set once the function the transaction was passed to has
	// returned: the Txn then refuses every call.
	ended bool
	// versions holds the version each collection the transaction used read
	// and wrote through, its active one then, for the rest of the
	// transaction (see version).
	versions map[*collection]*crdt.Schema
}

// txnWrites are the blocks a transaction wrote in one collection.
type txnWrites struct {
	c *Collection
	// blocks are signed and merged in the transaction's store transaction, in
	// the order they were merged; bytes is their size. kinds are what the
	// change feed reports of them (mergedKinds), read once they are sealed.
	blocks []*crdt.Block
	kinds  []store.ChangeKind
	bytes  int
	// held are changes written since, unsigned and not merged (see "Signatures"
	// in Txn's doc, and Txn.flush); heldBytes is at most what they take signed.
	held      []*crdt.Block
	heldBytes int
}

// Update runs fn in a read-write transaction and commits it: every change fn
// made becomes durable and visible at once (one store transaction, one fsync
// with the default Options), then is published to the collections' peers.
// When fn returns an error, panics (the panic goes on after the transaction
// is undone) or ctx ends before the commit, nothing fn wrote stays, and Update
// returns that error (ctx's for an ended ctx).
//
// Conflicts: when another write or merge changed a document fn read or wrote
// before the commit, the store detects it (Badger's conflict detection) and
// Update runs fn again on fresh data; after two such attempts the third runs
// alone, so Update never fails with a conflict. fn may therefore run more than
// once, and must have no effect outside the Txn that it cannot repeat; values
// it computed in an attempt that was run again (such as IDs of created
// documents) are void. This is the choice of Badger's and bbolt's callers who
// retry ErrConflict themselves, made once here so that callers need no loop.
//
// fn writes through tx only, and must not call the node's other writes: a
// Collection's Create, CreateMany, Update or Delete, another Update,
// AddCollection, Patch, UseVersion, CreateIndex, DropIndex, Grant or Revoke.
// Such a write waits whenever the store holds writes back until every
// transaction under way, fn's included, has ended (for the third attempt of
// any Update, catch-up's snapshots of a collection's items, and
// AddCollection, CreateIndex, DropIndex and Patch themselves): called in
// fn, it then waits for ever, and every write of the node with it. Get, Query, Count and Aggregate outside tx are fine, and
// read the node without fn's writes.
//
// Other errors: ErrClosed, ErrNoSpace, ErrTooLarge (over MaxTxnBytes or
// crdt.MaxTxnParts, or over what the store commits at once: about 9 MiB of
// blocks, document records and index entries), and the errors of fn. A write
// that the store fails halfway leaves the transaction unable to commit: later
// writes return the same error, and so does Update. Update is safe for
// concurrent use.
func (n *Node) Update(ctx context.Context, fn func(tx *Txn) error) error {
	return n.runTxn(ctx, true, fn)
}

// View runs fn in a read-only transaction: every read sees the same consistent
// snapshot of all collections. Writes fail with ErrReadOnly; once ctx has
// ended, the Txn's calls fail with ctx's error. It returns fn's error,
// ErrClosed, or ctx's error when ctx ended before fn was called or while it
// ran (even if fn returned nil); a panic in fn goes on. View is safe for
// concurrent use.
func (n *Node) View(ctx context.Context, fn func(tx *Txn) error) error {
	return n.runTxn(ctx, false, fn)
}

// txnPanic carries a panic of a transaction's function out of the store
// transaction, which is undone, to be raised again.
type txnPanic struct{ value any }

func (txnPanic) Error() string { return "gossipdb: transaction function panicked" }

func (n *Node) runTxn(ctx context.Context, write bool, fn func(tx *Txn) error) (err error) {
	if n.closing() {
		return ErrClosed
	}
	if fn == nil {
		return fmt.Errorf("%w: a transaction of a nil function", ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.enter(); err != nil {
		return err
	}
	var t *Txn
	attempt := func(tx *store.Tx) (err error) {
		t = &Txn{n: n, ctx: ctx, tx: tx, write: write, targets: n.schemas()}
		defer func() {
			t.ended = true
			if v := recover(); v != nil {
				err = txnPanic{v}
			}
		}()
		if err := fn(t); err != nil {
			return err
		}
		if t.broken != nil {
			return t.broken
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := t.seal(); err != nil {
			return err
		}
		for _, w := range t.written {
			w.kinds = mergedKinds(tx, w.blocks)
		}
		return nil
	}
	if write {
		err = noSpace(n.store.Update(attempt))
		if errors.Is(err, store.ErrTxnTooLarge) {
			err = fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
	} else {
		err = damaged(n.store.View(attempt))
	}
	n.leave()
	if p, ok := err.(txnPanic); ok {
		panic(p.value)
	}
	if err != nil || !write {
		return err
	}
	for _, w := range t.written {
		n.afterLocalCommit(w.c, w.blocks, w.kinds)
	}
	return nil
}

// collection returns the collection named name and, for a write, checks that
// the transaction may write.
func (t *Txn) collection(name string, write bool) (*Collection, error) {
	if t.ended {
		return nil, errTxnEnded
	}
	if write && !t.write {
		return nil, ErrReadOnly
	}
	if write && t.broken != nil {
		return nil, t.broken
	}
	if err := t.ctx.Err(); err != nil {
		return nil, err
	}
	return t.n.Collection(name)
}

// errTxnEnded refuses a call to a Txn kept past the function it was passed.
var errTxnEnded = fmt.Errorf("%w: the transaction has ended: a Txn is valid only inside the function Update or View passed it", ErrInvalid)

// mark returns the mark of the transaction's next block in c.
func (t *Txn) mark() *crdt.TxnPart {
	if t.id == nil {
		t.id = newTxnID()
	}
	return &crdt.TxnPart{ID: t.id}
}

// writes returns what the transaction wrote in c, recorded if new.
func (t *Txn) writes(c *Collection) *txnWrites {
	for _, w := range t.written {
		if w.c == c {
			return w
		}
	}
	w := &txnWrites{c: c}
	t.written = append(t.written, w)
	return w
}

// fits checks that one more block of size bytes keeps the transaction within
// its limits in c; t.writes(c) then records it.
func (t *Txn) fits(c *Collection, size int) error {
	for _, w := range t.written {
		switch {
		case w.c != c:
		case len(w.blocks)+len(w.held)+1 >= crdt.MaxTxnParts:
			return fmt.Errorf("%w: a transaction writes at most %d blocks in a collection", ErrTooLarge, crdt.MaxTxnParts-1)
		case w.bytes+w.heldBytes+size > MaxTxnBytes:
			return fmt.Errorf("%w: a transaction writes at most %d bytes of blocks in a collection", ErrTooLarge, MaxTxnBytes)
		}
	}
	return nil
}

// apply merges b, a signed block the transaction wrote in c, once it fits
// the transaction's limits, and records it.
func (t *Txn) apply(c *Collection, b *crdt.Block) error {
	if err := t.fits(c, len(b.Data)); err != nil {
		return err
	}
	if err := t.merge(b); err != nil {
		return err
	}
	w := t.writes(c)
	w.blocks = append(w.blocks, b)
	w.bytes += len(b.Data)
	t.wrote(c, b)
	return nil
}

// docKey names a document of a collection.
type docKey struct {
	collection string
	id         DocID
}

// wrote records that the transaction merged b, a change of a document of c.
func (t *Txn) wrote(c *Collection, b *crdt.Block) {
	if t.lastWrite == nil {
		t.lastWrite = map[docKey]int{}
	}
	t.writeCount++
	t.lastWrite[docKey{c.Name(), DocID(b.Doc.String())}] = t.writeCount
}

// writtenSince reports whether the transaction has written document id of
// the named collection after its write count was since.
func (t *Txn) writtenSince(since int, collection string, id DocID) bool {
	return t.lastWrite[docKey{collection, id}] > since
}

// hold records b, an unsigned change the transaction wrote in c, to be
// signed and merged by flush, once it fits the transaction's limits.
func (t *Txn) hold(c *Collection, b *crdt.Block) error {
	size, err := b.SignedSize(c.signer().Public().(ed25519.PublicKey))
	if err != nil {
		return inputError(err)
	}
	size += crdt.MaxProofSize
	if err := t.fits(c, size); err != nil {
		return err
	}
	w := t.writes(c)
	w.held = append(w.held, b)
	w.heldBytes += size
	if t.held == nil {
		t.held = map[cid.Cid]bool{}
	}
	t.held[b.Doc] = true
	return nil
}

// flush signs the changes the transaction holds, one signature for up to
// crdt.MaxSignedBatch of a collection's, and merges them.
func (t *Txn) flush() error {
	if len(t.held) == 0 {
		return nil
	}
	clear(t.held)
	for _, w := range t.written {
		if len(w.held) == 0 {
			continue
		}
		if err := crdt.SignBatch(w.c.signer(), w.held); err != nil {
			t.broken = err
			return err
		}
		for _, b := range w.held {
			if err := t.merge(b); err != nil {
				return err
			}
			w.blocks = append(w.blocks, b)
			w.bytes += len(b.Data)
			t.wrote(w.c, b)
		}
		w.held, w.heldBytes = nil, 0
	}
	return nil
}

// merge stores b, a signed block the transaction wrote; an error breaks the
// transaction.
func (t *Txn) merge(b *crdt.Block) error {
	var err error
	switch {
	case b.IsGenesis():
		// New, with a fresh random nonce: nothing to look for first.
		err = t.tx.PutGenesis(store.NewGenesis(b))
	case b.Txn != nil:
		// New too: it carries the transaction's random ID.
		_, err = t.tx.ApplyNew(b)
	default:
		// The transaction's only block in its collection (see seal).
		_, _, err = t.tx.Apply(b)
	}
	if err != nil {
		t.broken = err
	}
	return err
}

// newTxnID returns a random transaction ID.
func newTxnID() []byte {
	id := newNonce()
	return id[:crdt.TxnIDLen]
}

// Create adds a document to the named collection and returns its ID; see
// Collection.Create.
func (t *Txn) Create(collection string, fields map[string]any) (DocID, error) {
	c, err := t.collection(collection, true)
	if err != nil {
		return "", err
	}
	s := t.version(c)
	b, err := c.newGenesis(t.tx, s, fields, t.mark(), c.signer())
	if err != nil {
		return "", err
	}
	if err := c.checkRelations(t.tx, s, t.targets, b.Set); err != nil {
		return "", err
	}
	if err := t.apply(c, b); err != nil {
		return "", err
	}
	return DocID(b.CID.String()), nil
}

// Update sets fields of document id of the named collection; see
// Collection.Update.
func (t *Txn) Update(collection string, id DocID, fields map[string]any) error {
	c, err := t.collection(collection, true)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return fmt.Errorf("%w: an update needs at least one field", ErrInvalid)
	}
	s := t.version(c)
	set, add, err := split(s, fields, false)
	if err != nil {
		return err
	}
	return t.change(c, s, id, set, add, false)
}

// Delete deletes document id of the named collection; see Collection.Delete.
func (t *Txn) Delete(collection string, id DocID) error {
	c, err := t.collection(collection, true)
	if err != nil {
		return err
	}
	return t.change(c, t.version(c), id, nil, nil, true)
}

func (t *Txn) change(c *Collection, s *crdt.Schema, id DocID, set, add map[string]any, del bool) error {
	doc, err := parseDocID(id)
	if err != nil {
		return err
	}
	if t.held[doc] {
		if err := t.flush(); err != nil {
			return err
		}
	}
	if c.policy != nil || t.iterating > 0 {
		b, err := c.newChange(t.tx, s, t.targets, doc, id, set, add, del, t.mark(), c.signer())
		if err != nil {
			return err
		}
		return t.apply(c, b)
	}
	b, err := c.newChange(t.tx, s, t.targets, doc, id, set, add, del, t.mark(), nil)
	if err != nil {
		return err
	}
	return t.hold(c, b)
}

// seal counts the transaction's blocks in each collection it wrote to, then
// signs and merges the changes it holds (flush). The count goes in the
// collection's seal: the last change held there, else a new empty change to
// the document written last. A single change held alone in its collection
// loses its mark instead: a plain change is atomic by itself.
func (t *Txn) seal() error {
	for _, w := range t.written {
		switch n := len(w.blocks) + len(w.held); {
		case len(w.held) == 1 && n == 1:
			w.held[0].Txn = nil
			continue
		case len(w.held) > 0:
			w.held[len(w.held)-1].Txn = &crdt.TxnPart{ID: t.id, Parts: n}
			continue
		}
		s := t.version(w.c)
		last := w.blocks[len(w.blocks)-1].DocID()
		st, err := t.tx.State(s.ID, last)
		if err != nil {
			return err
		}
		b, err := w.c.newBlock(t.tx, s, st, nil, nil, false, &crdt.TxnPart{ID: t.id, Parts: len(w.blocks) + 1}, w.c.signer())
		if err != nil {
			return err
		}
		if _, err := t.tx.ApplyNew(b); err != nil {
			return err
		}
		w.blocks = append(w.blocks, b)
	}
	return t.flush()
}

// Get returns document id of the named collection as the transaction sees it;
// see Collection.Get.
func (t *Txn) Get(collection string, id DocID) (*Document, error) {
	c, err := t.collection(collection, false)
	if err != nil {
		return nil, err
	}
	doc, err := parseDocID(id)
	if err != nil {
		return nil, err
	}
	st, err := c.state(t.tx, doc, id)
	if err != nil {
		return nil, damaged(err)
	}
	if t.held[doc] {
		if st, err = t.withHeld(c, doc, st); err != nil {
			return nil, err
		}
		if st.Deleted {
			return nil, fmt.Errorf("%w: document %s in %s", ErrDeleted, id, c.Name())
		}
	}
	genesis, err := t.tx.Block(c.root.ID, doc)
	if err != nil {
		return nil, damaged(err)
	}
	d := document(t.version(c), id, stateValues{st})
	d.Author = AuthorID(genesis.Author)
	return d, nil
}

// withHeld returns st, the stored state of document doc of c, with the
// change the transaction holds for it merged in, in memory: a copy of the
// change, signed for this read alone, into a copy of st. The change stays
// held, so that a transaction that reads back what it changed last still
// seals that change at the commit rather than writing a block more (see "On
// the wire" in Txn's doc). The copy's CID is not the one the change will
// have, but no value depends on it: the change is the document's only head
// above the stored ones.
func (t *Txn) withHeld(c *Collection, doc cid.Cid, st *crdt.State) (*crdt.State, error) {
	var copies []*crdt.Block
	for _, w := range t.written {
		if w.c != c {
			continue
		}
		for _, b := range w.held {
			if b.Doc.Equals(doc) {
				cp := *b
				copies = append(copies, &cp)
			}
		}
	}
	if len(copies) == 0 {
		return st, nil
	}
	if err := crdt.SignBatch(c.signer(), copies); err != nil {
		return nil, err
	}
	out := st.Clone()
	for _, b := range copies {
		if err := out.Merge(b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Query returns the live documents of the named collection that match q, as
// the transaction sees them (its own writes included); see Collection.Query.
// The loop body may write in the transaction; documents it writes whose place
// in the order is still ahead are then seen as written.
//
// A query reads documents a page at a time, ahead of the loop. When the next
// document it would yield is one the loop body has written since its page was
// read, the query starts again after the last document yielded (as q.After
// and Cursor do), reading the transaction as it is then; so a loop body that
// writes the document after the one it is given each time reads a page for
// every document.
func (t *Txn) Query(collection string, q Query) iter.Seq2[*Document, error] {
	c, err := t.collection(collection, false)
	if err != nil {
		return func(yield func(*Document, error) bool) { yield(nil, err) }
	}
	ctx := context.WithValue(t.ctx, txnKey{}, t)
	return func(yield func(*Document, error) bool) {
		if t.ended {
			yield(nil, errTxnEnded)
			return
		}
		if err := t.flush(); err != nil {
			yield(nil, err)
			return
		}
		t.iterating++
		defer func() { t.iterating-- }()
		q := q
		limited := q.Limit > 0
		for {
			since := t.writeCount
			var last *Document // its ID and the values it is ordered by
			stale := false
			for d, err := range c.Query(ctx, q) {
				if err == nil && t.writtenSince(since, c.Name(), d.ID) {
					stale = true // read before the loop body wrote it
					break
				}
				if err == nil {
					// Kept before the loop body, which owns d, may change it.
					last = &Document{ID: d.ID, Fields: make(map[string]any, len(q.Order))}
					for _, o := range q.Order {
						last.Fields[o.Field] = d.Fields[o.Field]
					}
				}
				if !yield(d, err) || err != nil {
					return
				}
				q.Limit--
			}
			if !stale {
				return
			}
			if last != nil {
				if q.After, err = cursor(t.version(c), q, last); err != nil {
					yield(nil, err)
					return
				}
				q.Offset = 0
			}
			if !limited {
				q.Limit = 0
			}
		}
	}
}

// Count returns how many live documents of the named collection match f, as
// the transaction sees them (its own writes included, as Query sees them);
// see Collection.Count.
func (t *Txn) Count(collection string, f Filter) (int64, error) {
	c, ctx, err := t.reader(collection)
	if err != nil {
		return 0, err
	}
	return c.Count(ctx, f)
}

// Aggregate computes op over field of the live documents of the named
// collection that match f, as the transaction sees them (its own writes
// included, as Query sees them); see Collection.Aggregate.
func (t *Txn) Aggregate(collection string, f Filter, op AggregateOp, field string) (any, error) {
	c, ctx, err := t.reader(collection)
	if err != nil {
		return nil, err
	}
	return c.Aggregate(ctx, f, op, field)
}

// Related returns the documents on field, the inverse side of a relation
// of the named collection (books: [Book] on Author), of its document id, as
// the transaction sees them (its own writes included); see
// Collection.Related, and Query for what the loop body may write.
func (t *Txn) Related(collection string, id DocID, field string, q Query) iter.Seq2[*Document, error] {
	c, err := t.collection(collection, false)
	if err != nil {
		return func(yield func(*Document, error) bool) { yield(nil, err) }
	}
	target, rq, err := c.relatedQuery(context.WithValue(t.ctx, txnKey{}, t), id, field, q)
	if err != nil {
		return func(yield func(*Document, error) bool) { yield(nil, err) }
	}
	return t.Query(target.Name(), rq)
}

// reader returns the named collection, and the context under which its reads
// run in the transaction, once the changes the transaction holds unsigned
// are merged, so that the reads see them (as Query's do).
func (t *Txn) reader(collection string) (*Collection, context.Context, error) {
	c, err := t.collection(collection, false)
	if err != nil {
		return nil, nil, err
	}
	if err := t.flush(); err != nil {
		return nil, nil, err
	}
	return c, context.WithValue(t.ctx, txnKey{}, t), nil
}

// txnKey is the context key under which a query inside a transaction finds it.
type txnKey struct{}

// version returns the version of c the transaction reads and writes
// through: c's active version when the transaction first used c. A Patch or
// UseVersion made since does not change it, so that the transaction's reads
// give its documents one shape and its writes take the field names its
// reads gave.
func (t *Txn) version(c *Collection) *crdt.Schema {
	if v, ok := t.versions[c.collection]; ok {
		return v
	}
	v := c.schema()
	if t.versions == nil {
		t.versions = map[*collection]*crdt.Schema{}
	}
	t.versions[c.collection] = v
	return v
}

// schemaIn returns the version of c that a read in ctx goes through: that of
// ctx's transaction (see Txn.version), if ctx is one of c's node's
// transactions, else c's active version.
func (c *Collection) schemaIn(ctx context.Context) *crdt.Schema {
	if t, ok := ctx.Value(txnKey{}).(*Txn); ok && t.n == c.node {
		return t.version(c)
	}
	return c.schema()
}

// indexes returns the indexes of the collection with the given schema ID that
// a read in ctx may use: those of ctx's transaction's snapshot, if ctx is one
// of n's transactions (an index that finished building since is not complete
// in it), or else the store's, which a later snapshot holds whole.
func (n *Node) indexes(ctx context.Context, schema cid.Cid) []store.Index {
	if t, ok := ctx.Value(txnKey{}).(*Txn); ok && t.n == n {
		return t.tx.Indexes(schema)
	}
	return n.store.Indexes(schema)
}

// read runs fn on the store: in the transaction of the Txn that ctx carries
// (a query inside a transaction), else in a read transaction of its own.
func (n *Node) read(ctx context.Context, fn func(tx *store.Tx) error) error {
	if t, ok := ctx.Value(txnKey{}).(*Txn); ok && t.n == n {
		return fn(t.tx)
	}
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	return n.store.View(fn)
}
