package sim

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Operation kinds, as Report.Ops counts them.
const (
	OpCreate      = "create"
	OpUpdate      = "update"
	OpIncrement   = "increment"
	OpDelete      = "delete"
	OpTransfer    = "transfer"
	OpSubscribe   = "subscribe"
	OpUnsubscribe = "unsubscribe"
)

// op runs one operation of the workload on the node, as a program calling the
// node's API would: a write is acknowledged once its transaction committed, and
// only then published.
func (n *node) op() {
	if !n.up {
		return
	}
	w := n.w
	r := w.rng.IntN(100)
	switch {
	case len(w.model.order) == 0 || r < 25 && (w.cfg.Docs == 0 || len(w.model.order) < w.cfg.Docs):
		n.create()
	case r < 55:
		n.change(OpUpdate, map[string]any{"name": w.value()}, nil, false)
	case r < 78:
		d := int64(w.rng.IntN(9) + 1)
		if w.rng.IntN(2) == 0 {
			d = -d
		}
		n.change(OpIncrement, nil, map[string]any{"count": d}, false)
	case r < 85 && !w.cfg.NoTransfers:
		n.transfer()
	case r < 92:
		n.change(OpDelete, nil, nil, true)
	case n.sub:
		w.report.Ops[OpUnsubscribe]++
		n.unsubscribe()
	default:
		w.report.Ops[OpSubscribe]++
		n.subscribe()
	}
}

func (w *world) value() string { return fmt.Sprintf("v%d", w.rng.IntN(1_000_000)) }

func (w *world) nonce() []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(w.rng.Uint32())
	}
	return b
}

func (n *node) create() {
	w := n.w
	name, count := w.value(), int64(w.rng.IntN(9)+1)
	g, err := crdt.NewGenesis(w.schema, map[string]any{"name": name}, map[string]any{"count": count}, w.nonce(), n.key)
	if err != nil {
		n.fail(err)
		return
	}
	if err := n.st.Update(func(tx *store.Tx) error { return tx.PutGenesis(store.NewGenesis(g)) }); err != nil {
		n.fail(err)
		return
	}
	w.report.Ops[OpCreate]++
	w.model.create(g, name, count)
	n.publish(g.Data, n.id, -1)
}

// change writes to a document the model knows, if this node has it and it is
// not deleted.
func (n *node) change(kind string, set, add map[string]any, del bool) {
	w := n.w
	doc := w.model.order[w.rng.IntN(len(w.model.order))]
	var nonce []byte
	if add != nil {
		nonce = w.nonce()
	}
	var b *crdt.Block
	err := n.st.Update(func(tx *store.Tx) error {
		st, err := tx.State(w.schema.ID, doc)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || st.Deleted {
			return err
		}
		b, err = crdt.NewChange(w.schema, st, set, add, del, nonce, n.key)
		if err != nil {
			return err
		}
		_, _, err = tx.Apply(b)
		return err
	})
	var fe *crdt.FieldError
	switch {
	case errors.As(err, &fe):
		return // a counter at its bound: refused, as the API refuses it
	case err != nil:
		n.fail(err)
		return
	case b == nil:
		return
	}
	w.report.Ops[kind]++
	w.model.change(b)
	n.publish(b.Data, n.id, -1)
}

// transfer moves an amount between the counts of two documents the model
// knows, in one transaction, as Node.Update does when a read merged its
// changes before the commit: two changes and an empty seal, each published
// on its own, so that faults split them.
func (n *node) transfer() {
	w := n.w
	if len(w.model.order) < 2 {
		return
	}
	from := w.model.order[w.rng.IntN(len(w.model.order))]
	to := w.model.order[w.rng.IntN(len(w.model.order))]
	if from == to {
		return
	}
	d, id, nonces := int64(w.rng.IntN(9)+1), w.nonce(), [][]byte{w.nonce(), w.nonce()}
	var made []*crdt.Block
	err := n.st.Update(func(tx *store.Tx) error {
		made = made[:0]
		var st *crdt.State
		for i, doc := range []cid.Cid{from, to} {
			var err error
			st, err = tx.State(w.schema.ID, doc)
			if errors.Is(err, store.ErrNotFound) || err == nil && st.Deleted {
				made = nil
				return errSkip
			}
			if err != nil {
				return err
			}
			b, err := crdt.NewChangePart(w.schema, st, nil, map[string]any{"count": []int64{-d, d}[i]}, false, nonces[i], &crdt.TxnPart{ID: id}, n.key)
			if err != nil {
				return err
			}
			if st, _, err = tx.Apply(b); err != nil {
				return err
			}
			made = append(made, b)
		}
		seal, err := crdt.NewChangePart(w.schema, st, nil, nil, false, nil, &crdt.TxnPart{ID: id, Parts: 3}, n.key)
		if err != nil {
			return err
		}
		if _, _, err := tx.Apply(seal); err != nil {
			return err
		}
		made = append(made, seal)
		return nil
	})
	var fe *crdt.FieldError
	switch {
	case errors.Is(err, errSkip), errors.As(err, &fe):
		return // a document this node lacks or deleted, or a count at its bound
	case err != nil:
		n.fail(err)
		return
	}
	w.report.Ops[OpTransfer]++
	w.model.transaction(made)
	for _, b := range made {
		n.publish(b.Data, n.id, -1)
	}
}

// errSkip ends a transaction that has nothing to do.
var errSkip = errors.New("skip")

// model is what was acknowledged.
type model struct {
	order  []cid.Cid // documents, in creation order
	docs   map[cid.Cid]*docModel
	blocks []cid.Cid
	txnOf  map[cid.Cid][]cid.Cid // the blocks of the transaction each transaction block is part of
}

// transaction records the blocks of a transaction.
func (m *model) transaction(made []*crdt.Block) {
	cids := make([]cid.Cid, len(made))
	for i, b := range made {
		m.change(b)
		cids[i] = b.CID
	}
	for _, c := range cids {
		m.txnOf[c] = cids
	}
}

type docModel struct {
	names   map[string]bool // every value written to name
	count   int64           // the sum of every increment
	deleted bool
}

func newModel() *model {
	return &model{docs: map[cid.Cid]*docModel{}, txnOf: map[cid.Cid][]cid.Cid{}}
}

func (m *model) create(g *crdt.Block, name string, count int64) {
	m.order = append(m.order, g.CID)
	m.docs[g.CID] = &docModel{names: map[string]bool{name: true}, count: count}
	m.blocks = append(m.blocks, g.CID)
}

func (m *model) change(b *crdt.Block) {
	d := m.docs[b.DocID()]
	if v, ok := b.Set["name"].(string); ok {
		d.names[v] = true
	}
	if v, ok := b.Add["count"].(int64); ok {
		d.count += v
	}
	d.deleted = d.deleted || b.Delete
	m.blocks = append(m.blocks, b.CID)
}
