package gossipdb

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/cidtext"
	"github.com/gossipdb/gossipdb/internal/policy"
	"github.com/gossipdb/gossipdb/internal/store"
)

// MaxCreateMany is the largest number of documents one CreateMany call takes.
const MaxCreateMany = 10_000

// A query reads the store in pages, each in its own read transaction (a
// consistent snapshot): indexPageSize index entries, each with the document it
// names, or scanPageSize documents of a scan, which reads from each only the
// fields its filter tests; either ends early once its matches hold
// scanPageBytes of values. Either is a few milliseconds of reading; a new read
// transaction costs about as much as scanning a hundred documents.
const (
	indexPageSize = 256
	scanPageSize  = 4096
	scanPageBytes = 4 << 20
	// indexChunkSize is how many documents of an index page are read at
	// once, between checks of scanPageBytes.
	indexChunkSize = 16
)

// DocID identifies a document: the CID string of its first (genesis) block.
type DocID string

// Check fails with ErrInvalid, naming id, when id does not have the form of a
// document ID: the CID string a node gives out (base32, lower case). Another
// string of the same CID (upper case, base58, hex) is refused too, with its
// canonical form in the message. It says nothing of whether such a document
// exists.
func (id DocID) Check() error {
	_, err := parseDocID(id)
	return err
}

// Document is a document as read from a collection, through its active version.
// Fields holds every field of that version: String → string, Int → int64, Float →
// float64, Boolean → bool, DateTime → time.Time, JSON → the decoded JSON value
// (numbers as json.Number, with every digit stored), a relation → the DocID it
// holds, a list with non-null items ([Int!]) → a typed slice ([]string, []int64,
// []float64, []bool, []time.Time), one with nullable items ([Int]) → []any, an
// add-wins set → a typed slice of its elements in ascending order (empty when it
// has none, also when the document never had the field); a counter never added
// to reads 0, a field the document never had reads as its default (see Patch),
// and any other absent or cleared field as nil. The inverse side of a relation
// (books: [Book]) is derived, not stored, and is not in Fields. The map is the
// caller's.
type Document struct {
	ID     DocID
	Fields map[string]any
	// Author is the author of the document's first block, who created it
	// (see AuthorID); Collection.Conflicts and Event name the authors of
	// later changes. Get fills it; Query and Find leave it empty.
	Author string
	// Deleted is true for a deleted document, which only a Query with
	// ShowDeleted returns.
	Deleted bool
}

// Where selects documents by field equality: every named field must equal the
// given value after the same conversion as document inputs (so Where{"age": 42}
// matches an Int field holding 42); fields compare as Get reads them, and a nil
// value matches a field that reads as nil.
type Where map[string]any

// Collection is a typed set of documents. It is safe for concurrent use and stays
// valid as long as its Node. After Close its methods return ErrClosed (see Node),
// except Name, SchemaID, Version and Fields, which keep describing the
// collection, and Indexes, which returns nil.
//
// A collection reads and writes through its active version (see Patch); it
// keeps every version it knows, to check the blocks written under each.
//
// Its writes are signed by the node's identity key unless it is a view made
// by As, whose writes are signed by another key.
type Collection struct {
	*collection
	key ed25519.PrivateKey // signs this view's writes; nil: the node's identity key
}

// collection is the state a Collection and its views made by As share.
type collection struct {
	node   *Node
	root   *crdt.Schema                // the first version: the collection's identity
	active atomic.Pointer[crdt.Schema] // the version reads and writes go through
	policy *policy.Graph               // a restricted collection's policy, nil for an open one; guarded by policyMu
	// policyMu guards policy: held to read the graph, exclusively to add a
	// change and for rule 4 (Disowned and Complete cache). It is never held
	// across a store transaction: the store calls disowned inside its own.
	policyMu sync.RWMutex
	cut      map[cid.Cid]bool // the complete revocations whose cut-off ran (cutOff); guarded by policyMu
	// origins says where each revocation came from, for the change-feed
	// entries and events of its cut-off (see changeOrigin); guarded by
	// policyMu.
	origins map[cid.Cid]string

	mu       sync.RWMutex
	versions map[cid.Cid]*crdt.Schema // every known version by version ID, the root included
	problems map[cid.Cid]*VersionStatus

	// indexMu serialises createIndex's look-up of an index by name with its
	// creation, so that concurrent calls declaring the same index (two
	// AddCollection calls of one SDL) find it rather than collide, and
	// DropIndex's look at the other indexes with the drop.
	indexMu sync.Mutex
}

func newCollection(n *Node, root *crdt.Schema) *Collection {
	c := &Collection{collection: &collection{node: n, root: root, versions: map[cid.Cid]*crdt.Schema{root.ID: root}}}
	if root.Policy != nil {
		c.policy = policy.NewGraph(root.ID, root.Policy)
		n.store.TrackChains(root.ID, c.disowned, c.settled)
	}
	c.active.Store(root)
	return c
}

// schema returns the active version. Its ID is the root's, as every version's.
func (c *Collection) schema() *crdt.Schema { return c.active.Load() }

// Name returns the collection's name.
func (c *Collection) Name() string { return c.root.Name }

// SchemaID returns the collection's schema ID, the CID string of its first
// definition: the collection's identity in every version. It is also the name
// of the collection's pubsub topic.
func (c *Collection) SchemaID() string { return c.root.ID.String() }

// Version returns the ID of the collection's active version: the CID string of
// its definition, SchemaID until the collection is patched.
func (c *Collection) Version() string { return c.schema().VersionID().String() }

// Fields describes the fields of the collection's active version, sorted by
// name. The slice is the caller's.
func (c *Collection) Fields() []crdt.Field { return append([]crdt.Field(nil), c.schema().Fields...) }

// split converts a document input into canonical last-writer-wins assignments and
// counter increments of version s, keyed by field key. With create set,
// required fields must be present (or have a default, which is then written).
func split(s *crdt.Schema, fields map[string]any, create bool) (set, add map[string]any, err error) {
	set = make(map[string]any, len(fields))
	for name, v := range fields {
		f, ok := s.Field(name)
		if !ok {
			return nil, nil, invalid(&crdt.FieldError{Field: name, Reason: "unknown field"})
		}
		nv, err := f.Normalize(v)
		if err != nil {
			return nil, nil, invalid(err)
		}
		switch {
		case f.Counter && nv == nil:
			return nil, nil, invalid(&crdt.FieldError{Field: name, Want: f.Kind, Reason: "a counter cannot be cleared"})
		case f.Counter:
			if add == nil {
				add = map[string]any{}
			}
			add[f.ID()] = nv
		case nv == nil && create:
		default:
			set[f.ID()] = nv
		}
	}
	if create {
		for _, f := range s.Fields {
			if _, ok := set[f.ID()]; f.Required && !f.Counter && !ok {
				if f.Default == nil {
					return nil, nil, invalid(&crdt.FieldError{Field: f.Name, Want: f.Kind, Reason: "required"})
				}
				set[f.ID()] = f.Default
			}
		}
	}
	return set, add, nil
}

// namesSet reports whether set, keyed by field key, assigns an add-wins set
// field of version s.
func namesSet(s *crdt.Schema, set map[string]any) bool {
	for key := range set {
		if f, _ := s.FieldByKey(key); f.AddWinsSet {
			return true
		}
	}
	return false
}

func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalid, err) }

// nonceLen is the length of the random nonce of a genesis block and of a change
// with increments (see crdt's package doc).
const nonceLen = 16

// newNonce returns nonceLen random bytes, so that two equal creates make two
// documents and two equal increments two blocks.
func newNonce() []byte {
	nonce := make([]byte, nonceLen)
	rand.Read(nonce) // never fails: crypto/rand crashes the program instead
	return nonce
}

// newGenesis builds the first block of a new document from fields, as part
// txn of a transaction (nil: none), in tx (see newBlock), signed by key (nil:
// unsigned, for crdt.SignBatch; open collections only).
func (c *Collection) newGenesis(tx *store.Tx, s *crdt.Schema, fields map[string]any, txn *crdt.TxnPart, key ed25519.PrivateKey) (*crdt.Block, error) {
	set, add, err := split(s, fields, true)
	if err != nil {
		return nil, err
	}
	return c.newBlock(tx, s, nil, set, add, false, txn, key)
}

// newBlock builds and encodes a block this node writes under version s: the
// genesis of a new document when st is nil, else a change to the document
// whose state is st. set and add are keyed by field key (see split); txn marks
// the block as part of a transaction (nil: none). It draws the block's nonce
// and signs it with key, c's (see Collection.As), or leaves it unsigned for
// crdt.SignBatch if key is nil. It is the one place where
// local blocks are made: Create, CreateMany, Update, Delete and transactions
// all come through it. A key that may not write to c fails with a
// *PolicyError.
//
// In a restricted collection the block names the policy graph's current heads
// and, read in tx (the transaction that will store it), its author's latest
// block in the collection (crdt.Block.Policy and AuthorPrev; see
// internal/policy); tx may be nil only for an open collection, and so may
// key (a restricted collection's blocks are chained, each naming the CID of
// the one before, so they cannot wait to be signed together).
func (c *Collection) newBlock(tx *store.Tx, s *crdt.Schema, st *crdt.State, set, add map[string]any, del bool, txn *crdt.TxnPart, key ed25519.PrivateKey) (*crdt.Block, error) {
	author := c.signer().Public().(ed25519.PublicKey)
	heads, prev := c.policyHeads(), cid.Undef
	if c.policy != nil {
		var err error
		if prev, err = tx.ChainHead(c.root.ID, author); err != nil {
			return nil, err
		}
	}
	if err := c.mayWrite(author, heads, false); err != nil {
		return nil, err
	}
	var b *crdt.Block
	var err error
	if st == nil {
		b, err = crdt.NewGenesisPart(s, set, add, newNonce(), txn, nil)
	} else {
		var nonce []byte
		if len(add) > 0 || namesSet(s, set) {
			// Two nodes making this increment, or adding this set element, on the
			// same heads make two blocks. (NewChange drops it if a set change adds nothing.)
			nonce = newNonce()
		}
		b, err = crdt.NewChangePart(s, st, set, add, del, nonce, txn, nil)
	}
	if err == nil {
		b.Policy, b.AuthorPrev = heads, prev
		if key != nil {
			err = b.Sign(key)
		}
	}
	return b, inputError(err)
}

// inputError tells the input's faults apart among the errors of crdt.NewGenesis
// and crdt.NewChange: a block over the size limit is ErrTooLarge, a value that
// does not fit (an increment that would overflow a counter) ErrInvalid.
func inputError(err error) error {
	var size *crdt.SizeError
	switch {
	case errors.As(err, &size):
		// The caller wrote values, not a block: say what they make.
		return fmt.Errorf("%w: the change is a block of %d bytes, more than the limit of %d", ErrTooLarge, size.Size, size.Max)
	case errors.Is(err, crdt.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, crdt.ErrInvalidValue):
		return invalid(err)
	}
	return err
}

// Create adds a document with the given field values and returns its ID. Counter
// fields take their initial value, add-wins set fields their elements. A list is
// given as any Go slice or array (as JSON decodes it, []any, or []string, []int64
// and so on); a relation as the DocID of a document of the collection it refers
// to, or its string: one this node holds in another collection fails with
// ErrInvalid, one it does not hold (yet) is accepted. When Create returns nil the
// document is durably stored; it is then published to the collection's peers. Unknown fields, values of
// the wrong type and missing required fields fail with ErrInvalid and a *FieldError;
// a document too large to store (its block over crdt.MaxBlockSize) with ErrTooLarge.
func (c *Collection) Create(ctx context.Context, fields map[string]any) (DocID, error) {
	if c.node.closing() {
		return "", ErrClosed
	}
	ids, err := c.create(ctx, []map[string]any{fields})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// CreateMany adds up to MaxCreateMany documents in one transaction: all of them or,
// on error, none. It returns their IDs in input order. Documents that together
// are more than the store commits at once fail with ErrTooLarge: with
// Options.SmallMemory that can happen from about 2 MB of them.
func (c *Collection) CreateMany(ctx context.Context, docs []map[string]any) ([]DocID, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	if len(docs) > MaxCreateMany {
		return nil, fmt.Errorf("%w: CreateMany takes at most %d documents, got %d", ErrInvalid, MaxCreateMany, len(docs))
	}
	if len(docs) == 0 {
		return nil, nil
	}
	return c.create(ctx, docs)
}

func (c *Collection) create(ctx context.Context, docs []map[string]any) ([]DocID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := c.schema()
	targets := c.node.schemas()
	if c.policy != nil {
		return c.createChained(s, targets, docs)
	}
	blocks, prepared, err := c.newGeneses(s, docs)
	if err != nil {
		return nil, err
	}
	err = c.commit(func(tx *store.Tx) ([]*crdt.Block, error) {
		for i, b := range blocks {
			if err := c.checkRelations(tx, s, targets, b.Set); err != nil {
				if len(blocks) > 1 {
					return nil, fmt.Errorf("document %d: %w", i, err)
				}
				return nil, err
			}
		}
		for _, g := range prepared {
			if err := tx.PutGenesis(g); err != nil {
				return nil, err
			}
		}
		return blocks, nil
	})
	if err != nil {
		return nil, err
	}
	ids := make([]DocID, len(prepared))
	for i, g := range prepared {
		ids[i] = DocID(g.ID())
	}
	return ids, nil
}

// createChained is create for a restricted collection: each genesis names
// its author's previous block (see newBlock), so they are built one after the
// other, in the transaction that stores them.
func (c *Collection) createChained(s *crdt.Schema, targets []*crdt.Schema, docs []map[string]any) ([]DocID, error) {
	ids := make([]DocID, len(docs))
	err := c.commit(func(tx *store.Tx) ([]*crdt.Block, error) {
		blocks := make([]*crdt.Block, len(docs))
		for i, fields := range docs {
			b, err := c.newGenesis(tx, s, fields, nil, c.signer())
			if err == nil {
				err = c.checkRelations(tx, s, targets, b.Set)
			}
			if err == nil {
				err = tx.PutGenesis(store.NewGenesis(b))
			}
			if err != nil && len(docs) > 1 {
				return nil, fmt.Errorf("document %d: %w", i, err)
			} else if err != nil {
				return nil, err
			}
			blocks[i], ids[i] = b, DocID(b.CID.String())
		}
		return blocks, nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// parallelGenesesMin is the smallest number of new documents whose genesis blocks
// are built on several goroutines.
const parallelGenesesMin = 64

// newGeneses builds, checks, signs and encodes the genesis block of a new
// document of version s per element of docs, and the records that store it,
// spreading the work over GOMAXPROCS goroutines, each of which signs its share
// with one signature per crdt.MaxSignedBatch blocks (crdt.SignBatch): it is
// most of the CPU cost of CreateMany, and needs no transaction. On error it reports the first bad document.
func (c *Collection) newGeneses(s *crdt.Schema, docs []map[string]any) ([]*crdt.Block, []*store.Genesis, error) {
	blocks := make([]*crdt.Block, len(docs))
	prepared := make([]*store.Genesis, len(docs))
	errs := make([]error, len(docs))
	key := c.signer()
	build := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if blocks[i], errs[i] = c.newGenesis(nil, s, docs[i], nil, nil); errs[i] != nil {
				return
			}
		}
		// One signature for up to crdt.MaxSignedBatch blocks.
		if err := crdt.SignBatch(key, blocks[lo:hi]); err != nil {
			// The block at fault fails alone too (a block too large, say).
			for i := lo; i < hi; i++ {
				if errs[i] = inputError(blocks[i].Sign(key)); errs[i] != nil {
					return
				}
			}
			errs[lo] = inputError(err)
			return
		}
		for i := lo; i < hi; i++ {
			prepared[i] = store.NewGenesis(blocks[i])
		}
	}
	if workers := min(runtime.GOMAXPROCS(0), len(docs)/parallelGenesesMin+1); workers == 1 {
		build(0, len(docs))
	} else {
		// Each worker's share is a whole number of signed batches.
		per := (len(docs)/workers + crdt.MaxSignedBatch - 1) / crdt.MaxSignedBatch * crdt.MaxSignedBatch
		var wg sync.WaitGroup
		for lo := 0; lo < len(docs); lo += per {
			wg.Go(func() { build(lo, min(lo+per, len(docs))) })
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		if len(docs) > 1 {
			return nil, nil, fmt.Errorf("document %d: %w", i, err)
		}
		return nil, nil, err
	}
	return blocks, prepared, nil
}

// commit runs write, which stores locally made blocks and returns them, in one
// transaction (run again on a conflict), then publishes the blocks and emits
// their events.
func (c *Collection) commit(write func(tx *store.Tx) ([]*crdt.Block, error)) error {
	n := c.node
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	var blocks []*crdt.Block
	var kinds []store.ChangeKind
	err := n.store.Update(func(tx *store.Tx) error {
		var err error
		if blocks, err = write(tx); err != nil {
			return err
		}
		kinds = mergedKinds(tx, blocks)
		return nil
	})
	if errors.Is(err, store.ErrTxnTooLarge) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err) // see Options.SmallMemory
	}
	if err != nil {
		return noSpace(err)
	}
	n.afterLocalCommit(c, blocks, kinds)
	return nil
}

// mergedKinds returns what the change feed reports of each of blocks, just
// merged in tx (store.Tx.Kind), for their events.
func mergedKinds(tx *store.Tx, blocks []*crdt.Block) []store.ChangeKind {
	kinds := make([]store.ChangeKind, len(blocks))
	for i, b := range blocks {
		kinds[i] = tx.Kind(b)
	}
	return kinds
}

// afterLocalCommit emits the events of committed local blocks, which the
// change feed reported as kinds (mergedKinds), and publishes them.
func (n *Node) afterLocalCommit(c *Collection, blocks []*crdt.Block, kinds []store.ChangeKind) {
	n.metrics.writes.Add(uint64(len(blocks)))
	n.watchers.emit(c.Name(), len(blocks), func(i int) Event { return newEvent(c, blocks[i], kinds[i], "") })
	n.publish(c, blocks)
}

// parseDocID checks that id is a document ID of the form this node makes:
// a CIDv1 dag-cbor in its canonical string form (base32, lower case), the only
// form documents are known by. Another form of the same CID (upper case,
// another multibase, other padding bits) is refused, naming the canonical one.
func parseDocID(id DocID) (cid.Cid, error) {
	c, err := cid.Decode(string(id))
	if err != nil || c.Prefix().Codec != cid.DagCBOR || c.Version() != 1 {
		return cid.Undef, fmt.Errorf("%w: document ID %q is not a gossipdb document ID", ErrInvalid, id)
	}
	if s := c.String(); s != string(id) {
		return cid.Undef, fmt.Errorf("%w: document ID %q is not in its canonical form %q", ErrInvalid, id, s)
	}
	return c, nil
}

// change builds and commits a change to document id under version s.
func (c *Collection) change(ctx context.Context, s *crdt.Schema, id DocID, set, add map[string]any, del bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	doc, err := parseDocID(id)
	if err != nil {
		return err
	}
	targets := c.node.schemas()
	return c.commit(func(tx *store.Tx) ([]*crdt.Block, error) {
		b, err := c.newChange(tx, s, targets, doc, id, set, add, del, nil, c.signer())
		if err != nil {
			return nil, err
		}
		if _, _, err := tx.Apply(b); err != nil {
			return nil, err
		}
		return []*crdt.Block{b}, nil
	})
}

// newChange builds a change to the live document id (doc parsed) under
// version s, read in tx, once its relations check against targets (see
// checkRelations). txn marks it as part of a transaction (nil: none); key
// signs it, or nil leaves it unsigned (see newBlock).
func (c *Collection) newChange(tx *store.Tx, s *crdt.Schema, targets []*crdt.Schema, doc cid.Cid, id DocID, set, add map[string]any, del bool, txn *crdt.TxnPart, key ed25519.PrivateKey) (*crdt.Block, error) {
	st, err := c.state(tx, doc, id)
	if err != nil {
		return nil, err
	}
	if err := c.checkRelations(tx, s, targets, set); err != nil {
		return nil, err
	}
	return c.newBlock(tx, s, st, set, add, del, txn, key)
}

// state reads the live state of document doc; deleted and unknown documents are errors.
func (c *Collection) state(tx *store.Tx, doc cid.Cid, id DocID) (*crdt.State, error) {
	st, err := tx.State(c.schema().ID, doc)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: document %s in %s", ErrNotFound, id, c.schema().Name)
	}
	if err != nil {
		return nil, err
	}
	if st.Deleted {
		return nil, fmt.Errorf("%w: document %s in %s", ErrDeleted, id, c.schema().Name)
	}
	return st, nil
}

// Update sets the given fields of document id; a nil value clears a field. At
// least one field must be given (else ErrInvalid). For a
// counter field the value is an increment added to the counter (negative to
// decrease); an increment that would take an Int counter beyond the int64 range,
// or a Float counter beyond the float64 range, fails with ErrInvalid. For an add-wins set field the value is the set's whole
// new content (nil: empty): the change adds the elements the set lacks and removes
// those it has and the value lacks, so that elements other nodes add
// concurrently are kept. Values convert as for Create. Unknown documents fail
// with ErrNotFound, deleted ones with ErrDeleted, bad fields with ErrInvalid, a
// change too large to store with ErrTooLarge.
func (c *Collection) Update(ctx context.Context, id DocID, fields map[string]any) error {
	if c.node.closing() {
		return ErrClosed
	}
	if len(fields) == 0 {
		return fmt.Errorf("%w: an update needs at least one field", ErrInvalid)
	}
	s := c.schema()
	set, add, err := split(s, fields, false)
	if err != nil {
		return err
	}
	return c.change(ctx, s, id, set, add, false)
}

// Delete deletes document id on every replica: deletion wins over any concurrent or
// later change. Unknown documents fail with ErrNotFound, deleted ones with ErrDeleted.
func (c *Collection) Delete(ctx context.Context, id DocID) error {
	if c.node.closing() {
		return ErrClosed
	}
	return c.change(ctx, c.schema(), id, nil, nil, true)
}

// Get returns document id. Unknown documents fail with ErrNotFound, deleted ones
// with ErrDeleted.
func (c *Collection) Get(ctx context.Context, id DocID) (*Document, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	var st *crdt.State
	var genesis *crdt.Block
	err := c.viewDoc(ctx, id, func(tx *store.Tx, doc cid.Cid) (err error) {
		if st, err = c.state(tx, doc, id); err != nil {
			return err
		}
		genesis, err = tx.Block(c.root.ID, doc)
		return err
	})
	if err != nil {
		return nil, err
	}
	d := document(c.schema(), id, stateValues{st})
	d.Author = AuthorID(genesis.Author)
	return d, nil
}

// viewDoc runs fn in a read transaction on document id, once id parsed and the
// node is known to be open.
func (c *Collection) viewDoc(ctx context.Context, id DocID, fn func(tx *store.Tx, doc cid.Cid) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	doc, err := parseDocID(id)
	if err != nil {
		return err
	}
	n := c.node
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	return damaged(n.store.View(func(tx *store.Tx) error { return fn(tx, doc) }))
}

// document converts a document's values, as version s reads them (a stored
// state, or the values a query read), into a Document: a relation reads as the
// DocID it holds.
func document(s *crdt.Schema, id DocID, v valuer) *Document {
	d := &Document{ID: id, Fields: make(map[string]any, len(s.Fields))}
	for _, f := range s.Fields {
		if f.Derived() {
			continue // the inverse side of a relation holds nothing
		}
		x := f.Export(v.Value(f))
		if r, ok := x.(string); ok && f.Kind == crdt.KindRelation {
			x = DocID(r)
		}
		d.Fields[f.Name] = x
	}
	return d
}

// Find iterates over the live documents that match where (nil: all of them), in
// document ID order. It is sugar over Query: each value of where is an _eq
// operand (so Where{"age": 42} matches an Int field holding 42, a nil value an
// absent field, and a map a JSON field holding that object; a list field is
// not compared whole, see Query's _any, _all and _none). A bad condition
// yields one error and stops; so does a closed node, with ErrClosed. The
// iteration reads the store in pages, so it sees documents committed while it
// runs if their IDs are still ahead, and the loop body may write to the node.
func (c *Collection) Find(ctx context.Context, where Where) iter.Seq2[*Document, error] {
	return c.Query(ctx, Query{Filter: where.Filter()})
}

// Filter returns where as the Filter it means: each value an _eq operand.
func (where Where) Filter() Filter {
	f := make(Filter, len(where))
	for name, v := range where {
		f[name] = Filter{"_eq": v}
	}
	return f
}

// Watch returns a channel of the collection's events, local and remote, from now
// until ctx ends (then the channel is closed; also at Close). A slow reader never
// blocks writers: past Options.WatchBuffer undelivered events, new ones are dropped
// and the reader then gets one EventDropped that says how many it missed. Watch
// is the in-memory, non-durable shortcut: its events carry no values and end
// with the node; Changes is the durable, resumable feed with values.
func (c *Collection) Watch(ctx context.Context) (<-chan Event, error) {
	n := c.node
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	out := make(chan Event)
	w := &watcher{collection: c.schema().Name}
	n.watchers.add(n, w, func(node context.Context) {
		defer close(out)
		w.run(ctx, node, out)
	})
	return out, nil
}

// WatchBatches is Watch for a reader that cannot take every event of a busy
// collection, such as a dashboard: it delivers the blocks merged together (one
// local write, or one merge of received blocks) as one Batch holding the events
// of the first limit of them and the count of all. A write of many documents
// then costs the reader one Batch, not an event each. limit must be 1 to
// MaxBatchEvents, and is lowered to Options.WatchBuffer. A slow reader never
// blocks writers: past Options.WatchBuffer undelivered events, batches are
// dropped, and a Batch with no events and a Count of 0 counts their blocks in
// Dropped, where they would have been: after the batches queued before them
// and before those queued after (a smaller batch can still fit once a larger
// one was dropped).
func (c *Collection) WatchBatches(ctx context.Context, limit int) (<-chan Batch, error) {
	return c.node.watchBatches(ctx, limit, &watcher{collection: c.schema().Name})
}

// WatchBatches is Collection.WatchBatches for every collection of the node,
// those added after the call too, through one channel: each Batch names its
// collection. It costs what one collection's watch costs, however many
// collections the node has: one goroutine, and one queue of at most
// Options.WatchBuffer undelivered events for all of them. A slow reader never
// blocks writers: past that, batches are dropped, and a Batch with no events
// and a Count of 0 reports, where they would have been, how many blocks of
// its collection were dropped (one such Batch per collection that lost some
// there). limit must be 1 to MaxBatchEvents, and is lowered to
// Options.WatchBuffer. The channel closes when ctx ends or the node closes.
// It fails with ErrClosed after Close.
func (n *Node) WatchBatches(ctx context.Context, limit int) (<-chan Batch, error) {
	return n.watchBatches(ctx, limit, &watcher{all: true})
}

// watchBatches starts w, a watch of one collection or of all, delivering
// batches of at most limit events on the channel it returns.
func (n *Node) watchBatches(ctx context.Context, limit int, w *watcher) (<-chan Batch, error) {
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	if limit < 1 || limit > MaxBatchEvents {
		return nil, fmt.Errorf("%w: batch limit %d, want 1 to %d", ErrInvalid, limit, MaxBatchEvents)
	}
	out := make(chan Batch)
	w.batchLimit = min(limit, n.opts.WatchBuffer)
	n.watchers.add(n, w, func(node context.Context) {
		defer close(out)
		w.runBatches(ctx, node, out)
	})
	return out, nil
}

// Heads returns the CIDs of document id's current heads (deleted documents
// included), sorted. Unknown documents fail with ErrNotFound.
func (c *Collection) Heads(ctx context.Context, id DocID) ([]string, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	var heads []string
	err := c.viewDoc(ctx, id, func(tx *store.Tx, doc cid.Cid) error {
		hs, err := tx.Heads(c.schema().ID, doc)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: document %s in %s", ErrNotFound, id, c.schema().Name)
		}
		if err != nil {
			return err
		}
		for _, h := range hs {
			heads = append(heads, h.String())
		}
		return nil
	})
	return heads, err
}

// Fingerprint returns a hash of the collection's whole merged state: every
// document, deleted ones included, with its heads and field values. Two replicas
// that merged the same blocks have the same fingerprint, whatever the order they
// merged them in; it is how to check that replicas converged. A document that
// has merged only its genesis counts by its heads (the genesis, whose CID holds
// its values): its state, a function of the genesis alone, is not computed.
func (c *Collection) Fingerprint(ctx context.Context) (string, error) {
	if c.node.closing() {
		return "", ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	n := c.node
	if err := n.enter(); err != nil {
		return "", err
	}
	defer n.leave()
	h := sha256.New()
	var buf []byte
	err := n.store.View(func(tx *store.Tx) error {
		return tx.StoredStates(c.schema().ID, func(id string, headsHash [32]byte, state []byte) error {
			// An ID holds no space, and what follows it has a fixed length or
			// says its own.
			buf = append(append(append(buf[:0], id...), ' '), headsHash[:]...)
			buf = binary.AppendUvarint(buf, uint64(len(state)))
			h.Write(buf)
			h.Write(state)
			return nil
		})
	})
	if err != nil {
		return "", damaged(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Block returns the encoded bytes (dag-cbor) of the stored block with the given
// CID, which must belong to this collection; ErrNotFound otherwise. Its CID can be
// recomputed from the bytes: it is what peers exchange.
func (c *Collection) Block(ctx context.Context, blockCID string) ([]byte, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := cidtext.Parse("block CID", blockCID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	n := c.node
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	var data []byte
	err = n.store.View(func(tx *store.Tx) error {
		b, err := tx.Block(c.schema().ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: block %s in %s", ErrNotFound, blockCID, c.schema().Name)
		}
		if err != nil {
			return err
		}
		data = b.Data
		return nil
	})
	return data, damaged(err)
}
