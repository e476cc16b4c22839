package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// MaxTxnBytes is the most bytes of blocks one transaction may write in one
// collection; a larger one fails with ErrTooLarge. Receivers hold a
// transaction's blocks until they have all of them (see Options.TxnBytes,
// which is at least this).
const MaxTxnBytes = 8 << 20

// Txn is a transaction over the documents of any collections of a node, made
// by Node.Update (read-write) or Node.View (read-only). Its reads see its own
// writes, queries included. It is valid only inside the function it is passed
// to, and is not safe for concurrent use.
//
// Collections are named by name, as Node.Collection takes them; an unknown one
// fails with ErrNotFound. The writes take fields and fail as the Collection
// methods of the same names do, and a failed write writes nothing, so the
// function may go on (or return the error, which undoes the whole
// transaction). In a View transaction they fail with ErrReadOnly.
//
// # On the wire
//
// Each block a transaction writes carries its transaction's ID (crdt.TxnPart),
// and when the transaction commits it writes one more block per collection it
// wrote to, the seal: an empty change to the document it wrote last there,
// which counts the transaction's blocks in that collection (Watch shows it as
// an update of that document that changes no field). Peers merge the
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
type Txn struct {
	n     *Node
	ctx   context.Context
	tx    *store.Tx
	write bool
	id    []byte // the transaction's ID, drawn at its first write

	targets []*crdt.Schema // the node's collections for relation checks, read once
	written []*txnWrites   // per collection written, in order of first write
	// broken is the store's error that left a write half done: the
	// transaction cannot commit, and refuses further writes.
	broken error
}

// txnWrites are the blocks a transaction wrote in one collection, in order.
type txnWrites struct {
	c      *Collection
	blocks []*crdt.Block
	bytes  int
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
// snapshot of all collections. Writes fail with ErrReadOnly. It returns fn's
// error, or ErrClosed; a panic in fn goes on. View is safe for concurrent use.
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
		return t.seal()
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
		n.afterLocalCommit(w.c, w.blocks)
	}
	return nil
}

// collection returns the collection named name and, for a write, checks that
// the transaction may write.
func (t *Txn) collection(name string, write bool) (*Collection, error) {
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

// mark returns the mark of the transaction's next block in c.
func (t *Txn) mark() *crdt.TxnPart {
	if t.id == nil {
		t.id = newTxnID()
	}
	return &crdt.TxnPart{ID: t.id}
}

// apply merges b, a block the transaction wrote in c, once it fits the
// transaction's limits, and records it.
func (t *Txn) apply(c *Collection, b *crdt.Block) error {
	var w *txnWrites
	for _, x := range t.written {
		if x.c == c {
			w = x
		}
	}
	switch {
	case w == nil:
		w = &txnWrites{c: c}
	case len(w.blocks)+1 >= crdt.MaxTxnParts:
		return fmt.Errorf("%w: a transaction writes at most %d blocks in a collection", ErrTooLarge, crdt.MaxTxnParts-1)
	case w.bytes+len(b.Data) > MaxTxnBytes:
		return fmt.Errorf("%w: a transaction writes at most %d bytes of blocks in a collection", ErrTooLarge, MaxTxnBytes)
	}
	var err error
	if b.IsGenesis() {
		// New, with a fresh random nonce: nothing to look for first.
		err = t.tx.PutGenesis(store.NewGenesis(b))
	} else {
		// New too: it carries the transaction's random ID.
		_, err = t.tx.ApplyNew(b)
	}
	if err != nil {
		t.broken = err
		return err
	}
	if len(w.blocks) == 0 {
		t.written = append(t.written, w)
	}
	w.blocks = append(w.blocks, b)
	w.bytes += len(b.Data)
	return nil
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
	s := c.schema()
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
	s := c.schema()
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
	return t.change(c, c.schema(), id, nil, nil, true)
}

func (t *Txn) change(c *Collection, s *crdt.Schema, id DocID, set, add map[string]any, del bool) error {
	doc, err := parseDocID(id)
	if err != nil {
		return err
	}
	b, err := c.newChange(t.tx, s, t.targets, doc, id, set, add, del, t.mark())
	if err != nil {
		return err
	}
	return t.apply(c, b)
}

// seal writes, in each collection the transaction wrote to, the block that
// counts its blocks there: an empty change to the document written last.
func (t *Txn) seal() error {
	for _, w := range t.written {
		s := w.c.schema()
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
	return nil
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
	return document(c.schema(), id, stateValues{st}), nil
}

// Query returns the live documents of the named collection that match q, as
// the transaction sees them (its own writes included); see Collection.Query.
// The loop body may write in the transaction; documents it writes whose place
// in the order is still ahead are then seen as written.
func (t *Txn) Query(collection string, q Query) iter.Seq2[*Document, error] {
	c, err := t.collection(collection, false)
	if err != nil {
		return func(yield func(*Document, error) bool) { yield(nil, err) }
	}
	return c.Query(context.WithValue(t.ctx, txnKey{}, t), q)
}

// txnKey is the context key under which a query inside a transaction finds it.
type txnKey struct{}

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
