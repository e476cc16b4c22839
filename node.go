package gossipdb

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/blocks"
	"github.com/gossipdb/gossipdb/internal/policysync"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/regular"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/streams"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// MaxCollectionsPerCall is the most types one AddCollection call may define.
const MaxCollectionsPerCall = 256

// Node is one running gossipdb instance: a Badger store, a libp2p host and a
// GossipSub router. All methods are safe for concurrent use.
//
// After Close every method that returns an error returns ErrClosed, before it
// looks at its arguments; so do the methods of the node's collections, Find
// yields it and the channels of Watch are closed. Of the methods without an
// error, ID and Metrics keep returning the node's ID and its final counters
// (and Collector a collector of them);
// PeerInfo, ActivePeers, Subscriptions and Collections, which describe the
// running node, return nil; while it runs they return a slice that is empty,
// never nil, when there is nothing to list, so that it encodes as the JSON [].
type Node struct {
	opts  *Options
	log   *slog.Logger
	store *store.Store
	key   ed25519.PrivateKey // the identity key: signs the node's writes (see AuthorID)
	// unlock lets the data directory go (see lockDir), after the store is closed.
	unlock func()

	ctx    context.Context // the node's own; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the node starts
	goMu   sync.Mutex     // orders goFunc's wg.Add before Close's wg.Wait
	halted bool           // set under goMu by Close: goFunc starts nothing more

	// life counts the calls in flight that use the store (enter, leave), and
	// has lifeClosed set once Close has begun: from then on enter fails at
	// once, and Close waits for the calls in flight, told by drained when the
	// last one leaves. A call in flight that makes another (a Collection
	// method inside an Update's function) thus gets ErrClosed rather than
	// waiting for a Close that waits for it.
	life      atomic.Int64
	drained   chan struct{}
	drainOnce sync.Once
	closeOnce sync.Once
	closeErr  error

	mu          sync.RWMutex
	collections map[string]*Collection  // by name
	bySchema    map[cid.Cid]*Collection // by schema ID

	// shapeMu serialises the changes of collections' definitions
	// (AddCollection, Patch, UseVersion), each checked against the others'
	// active versions (see schema.CheckInverses). It is taken after enter and
	// before mu and any Collection's mu.
	shapeMu sync.Mutex

	host       host.Host
	id         string // host's peer ID as text, which ID returns (base58: a few µs to encode)
	ps         *pubsub.PubSub
	blocks     *blocks.Server
	reconciler *reconcile.Server
	versionSrv *streams.Server // answers /gossipdb/versions/1
	policySrv  *streams.Server // answers /gossipdb/policy/1
	catchUp    *catchUp
	discovery  *discoverer
	// publishQueue holds committed local writes for publishLoop.
	publishQueue *publishQueue
	// verifiers holds a token per goroutine helping accept verify signatures
	// (see verifySignatures): GOMAXPROCS at most, node-wide.
	verifiers chan struct{}
	// verified remembers the batch signatures that verified (see
	// verifiedBytes).
	verified   *crdt.Verified
	topics     topics
	orphans    *orphanage
	held       *txnHold
	standing   standing
	gater      *gater // the host's connection gater: allow-list and standing
	peerEvents peerEvents
	watchers   watchers
	metrics    metrics
	mesh       meshPeers
	collector  *collector // see Collector
	space      spaceWaiter
	// versionFetches fetches the collection versions blocks name (versions.go).
	versionFetches versionFetches

	// gossipLoss is the fraction of received pubsub messages to drop, scaled by
	// 2^32; always 0 outside tests (see export_test.go).
	gossipLoss atomic.Uint64
	// planned runs in a query right after its plan chose an index, before the
	// query reads it; always nil outside tests (see export_test.go).
	planned atomic.Pointer[func()]
}

// Log attribute keys. One vocabulary serves the library, its internal packages
// and the command (see the package doc, "Logs"): keys in lowerCamelCase, except
// the three the seed walkthrough's log lines show, which keep its spelling
// wherever they appear.
const (
	logKeyPeerID     = "PeerID"     // this node's peer ID
	logKeySenderID   = "SenderId"   // the peer a gossip message came through
	logKeyTopic      = "Topic"      // a collection's schema ID, the name of its topic
	logKeyPeer       = "peer"       // a remote peer's ID
	logKeyCollection = "collection" // a collection's name
	logKeyAddr       = "addr"       // a multiaddr
	logKeyError      = "error"
	logKeyBlock      = "block"   // a block's CID
	logKeyDoc        = "doc"     // a document's ID
	logKeyVersion    = "version" // a collection version's ID
	logKeyParent     = "parent"  // the ID of the version a version evolves from
	logKeyDocs       = "docs"    // a number of documents
	logKeyBlocks     = "blocks"
	logKeyBytes      = "bytes"
	logKeyRounds     = "rounds"
	logKeyDuration   = "duration"
	logKeyRetryIn    = "retryIn"
	logKeyScore      = "score"  // a peer's GossipSub score
	logKeyAgent      = "agent"  // the software a peer says it runs (libp2p's identify)
	logKeyAuthor     = "author" // a key that signs blocks, as AuthorID names it
	logKeyChains     = "chains" // a number of an author's chains of blocks
)

// Open opens the node whose data lives in dir, creating it if needed. An empty dir
// makes an in-memory node whose data vanishes at Close; it keeps no document
// whose values take 1 MiB or more together (a write that would make one fails
// with ErrTooLarge, and such a document of a peer is not merged there). A nil
// opts means DefaultOptions(). The caller must Close the node.
//
// A directory with a damaged or missing file is refused with an error matching
// ErrDamaged that names the file (errors.As finds a *DamageError): a store file
// Badger would otherwise "repair" by discarding data (see the store package), a
// damaged identity key, or a missing one next to an existing store unless
// Options.NewIdentity allows a new peer ID. An identity key file that users
// other than its owner may read or write (a mode beyond 0600) is refused with
// ErrInvalid, naming it and saying to run chmod 600 on it, as a network key is.
//
// A dir that names a file, or a symbolic link to nothing (a disk not mounted),
// fails with ErrInvalid saying so; Open does not make the link's target.
//
// A directory that another open Node holds, in this process or another, fails
// with ErrLocked, naming the directory and the process that holds it; such an
// Open writes nothing there. A node holds its directory from Open to Close.
func Open(dir string, opts *Options) (*Node, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bootstrap := addrInfos(opts.Peers)
	if err := checkPortsFree(opts.ListenAddrs); err != nil {
		return nil, err // before anything is written
	}
	storeDir := ""
	unlock := func() {}
	if dir != "" {
		if err := regular.CheckDir(dir); errors.Is(err, regular.ErrNotDir) {
			return nil, fmt.Errorf("%w: data directory: %w", ErrInvalid, err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("gossipdb: %w", err)
		}
		var err error
		if unlock, err = lockDir(dir); err != nil {
			return nil, err
		}
		storeDir = filepath.Join(dir, "store")
	}
	sk, err := loadIdentity(dir, storeDir, opts.NewIdentity)
	if err != nil {
		unlock()
		return nil, err
	}
	if err := checkNotSelf(sk, opts.Peers); err != nil {
		unlock()
		return nil, err
	}
	key, err := identityKey(sk)
	if err != nil {
		unlock()
		return nil, err
	}
	st, err := store.Open(storeDir, &store.Options{NoSync: opts.NoSync, Logger: log, Reserve: opts.DiskReserve, SmallMemory: opts.SmallMemory})
	if err != nil {
		unlock()
		switch {
		case errors.Is(err, store.ErrDamaged):
			return nil, damaged(err)
		case errors.Is(err, store.ErrNoSpace):
			return nil, noSpace(err)
		case errors.Is(err, store.ErrLocked):
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("gossipdb: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		opts:        opts,
		log:         log,
		store:       st,
		key:         key,
		unlock:      unlock,
		ctx:         ctx,
		cancel:      cancel,
		drained:     make(chan struct{}),
		collections: map[string]*Collection{},
		bySchema:    map[cid.Cid]*Collection{},
		topics:      topics{byName: map[string]*topicState{}},

		publishQueue: newPublishQueue(publishQueueBytes),
		verifiers:    make(chan struct{}, runtime.GOMAXPROCS(0)),
		verified:     crdt.NewVerified(verifiedBytes),
	}
	n.peerEvents = peerEvents{n: n, waiters: map[peer.ID]chan struct{}{}, known: map[peer.ID]*knownPeer{}}
	n.catchUp = newCatchUp(n)
	n.orphans = newOrphanage(n)
	n.versionFetches.timeout.Store(int64(versions.Timeout))
	n.held = newTxnHold(n)
	n.standing = standing{n: n, points: map[peer.ID]*demerit{}, invalid: map[peer.ID]*invalidRun{}}
	n.collector = newCollector(n)
	if err := n.start(sk, bootstrap); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

// start loads the stored collections, starts the network and restores the
// subscriptions. On error the caller closes the node.
func (n *Node) start(sk crypto.PrivKey, bootstrap []peer.AddrInfo) error {
	if err := n.loadCollections(); err != nil {
		return err
	}
	for _, c := range n.bySchema {
		if c.uncut() {
			n.cutOff(c) // a cut-off a crash interrupted
		}
	}
	n.resumeIndexBuilds()
	allowed, _ := n.opts.checkAllowedPeers() // checked by validate
	n.gater = &gater{allowed: allowed, standing: &n.standing}
	h, err := newHost(sk, n.opts, addrInfos(n.opts.Relays), n.gater, n.log)
	if err != nil {
		return fmt.Errorf("gossipdb: listen on %v: %w", n.opts.ListenAddrs, err)
	}
	n.host, n.id = h, h.ID().String()
	h.Network().Notify(n.peerEvents.bundle())
	if n.blocks, err = blocks.NewServer(h, n.store, &blocks.Options{Logger: n.log, Allow: n.mayRead}); err != nil {
		return fmt.Errorf("gossipdb: %w", err)
	}
	if n.reconciler, err = reconcile.NewServer(h, n.reconcileSource, &reconcile.Options{Logger: n.log, Allow: n.mayRead,
		MaxSnapshotBytes: n.snapshotBudget(), SnapshotItems: n.snapshotItems, Summary: n.reconcileSummary, Buckets: n.reconcileBuckets}); err != nil {
		return fmt.Errorf("gossipdb: %w", err)
	}
	if n.versionSrv, err = versions.NewServer(h, n.storedVersion, n.log); err != nil {
		return fmt.Errorf("gossipdb: %w", err)
	}
	if n.policySrv, err = policysync.NewServer(h, n.policySince, n.log); err != nil {
		return fmt.Errorf("gossipdb: %w", err)
	}
	if n.ps, err = n.newPubSub(); err != nil {
		return fmt.Errorf("gossipdb: pubsub: %w", err)
	}
	if err := n.catchUp.start(); err != nil {
		return fmt.Errorf("gossipdb: %w", err)
	}
	n.orphans.start()
	n.goFunc(n.publishLoop)
	n.goFunc(n.compactChanges)
	if err := n.restoreSubscriptions(); err != nil {
		return err
	}
	for _, info := range bootstrap {
		n.goFunc(func() { n.keepConnected(info) })
	}
	if err := n.startDiscovery(); err != nil {
		return fmt.Errorf("gossipdb: discovery: %w", err)
	}
	return nil
}

// Close stops every goroutine of the node and closes its store. It is safe to call
// more than once; every call returns the first call's error. It first waits for
// the calls in flight to return, the function of an Update or View included;
// calls begun meanwhile, from any goroutine (such a function's own), fail with
// ErrClosed at once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		if n.life.Add(lifeClosed) != lifeClosed {
			<-n.drained // calls in flight
		}
		n.cancel()
		n.goMu.Lock()
		n.halted = true
		n.goMu.Unlock()
		var errs []error
		if n.blocks != nil {
			n.blocks.Close()
		}
		if n.reconciler != nil {
			n.reconciler.Close()
		}
		if n.policySrv != nil {
			n.policySrv.Close()
		}
		if n.versionSrv != nil {
			n.versionSrv.Close()
		}
		if n.discovery != nil {
			errs = append(errs, n.discovery.close())
		}
		if n.host != nil {
			errs = append(errs, n.host.Close())
		}
		n.wg.Wait()
		errs = append(errs, n.store.Close())
		n.unlock()
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// lifeClosed is the bit of Node.life that Close sets; the bits below it
// count the calls in flight.
const lifeClosed = 1 << 62

// enter marks the start of a call that uses the store; it fails with ErrClosed
// once Close has begun, without waiting. Every successful enter is paired with
// leave.
func (n *Node) enter() error {
	if n.life.Add(1)&lifeClosed != 0 {
		n.leave()
		return ErrClosed
	}
	return nil
}

// leave marks the end of a call that entered; the last one to leave after
// Close has begun lets Close go on.
func (n *Node) leave() {
	if n.life.Add(-1) == lifeClosed {
		n.drainOnce.Do(func() { close(n.drained) })
	}
}

// closing reports whether Close has begun. It takes no lock, unlike enter, so
// methods that only read memory check it, as do all methods first thing, so
// that ErrClosed comes before any complaint about their arguments.
func (n *Node) closing() bool { return n.ctx.Err() != nil }

// loadCollections reads the stored collection definitions, their later
// versions and which version each collection reads and writes through.
func (n *Node) loadCollections() error {
	return n.store.View(func(tx *store.Tx) error {
		err := tx.Collections(func(name string, def []byte) error {
			s, err := schema.Decode(def)
			if err != nil {
				return fmt.Errorf("gossipdb: stored collection %q: %w", name, err)
			}
			if c := n.addCollectionLocked(s); c.policy != nil {
				return c.loadPolicy(tx)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return n.loadVersions(tx)
	})
}

func (n *Node) addCollectionLocked(s *crdt.Schema) *Collection {
	c := newCollection(n, s)
	n.collections[s.Name] = c
	n.bySchema[s.ID] = c
	return c
}

// AddCollection defines the collections of the GraphQL SDL string sdl (one or more
// `type Name { field: Type ... }`) and returns them in the order given. A relation
// (author: Author) or an inverse side (books: [Book]) names a type of sdl or an
// existing collection; any other type fails with ErrInvalid naming it. A field
// may give a default, as in Patch (email: String @default(string: "none"), or
// int:, float:, bool:, dateTime:, json:): documents without the field read it.
// Defaults are not part of the first version, so they change no schema ID: a
// type with defaults is defined as its first version and, made active in the
// same transaction, the version Patch would make of it with sdl (a peer that
// defines the type without them shares its topic and documents). A @default
// Patch refuses (on a counter, a list, a set or a relation, or of another
// kind than the field's) fails with ErrInvalid and a *SchemaError, as does a
// @rename (patch an existing collection to rename a field). A definition
// with the fields of a version an existing collection knows (its first, its
// active one or another), with that version's defaults when sdl gives any,
// and the collection's @policy (or none for an open one) returns that
// collection, unchanged; a name that exists with another policy, or with
// different fields or defaults, fails with ErrSchemaConflict, which says what
// differs and to use Collection.Patch (adding an inverse side to an existing
// collection is such a patch);
// bad SDL fails with ErrInvalid and a *SchemaError, as does a new collection
// that would leave an existing one's inverse side (from a version learned
// from peers, which may name a collection this node does not define yet)
// with no relation to derive from or with two. The indexes the SDL declares
// with @index (see Index) that the collections lack, an existing
// collection's too (on the fields the SDL names, under whatever names the
// active version gives them; one without a name on the fields of an
// existing index is that index), are created in the same transaction as the
// new collections, and built in the background; a declaration that cannot
// be created (see CreateIndex) fails with ErrInvalid. Either every
// collection of sdl is added with its indexes or, on error, nothing changes.
// Then each relation field that no index starts with gets one (see Index);
// one that cannot be created (its collection has 64 indexes already) is
// logged at Warn, as after Patch, and the next Open tries again.
func (n *Node) AddCollection(ctx context.Context, sdl string) ([]*Collection, error) {
	cols, err := n.addCollections(ctx, sdl)
	if err != nil {
		return nil, err
	}
	for _, c := range cols {
		n.dropNonMembers(c)
	}
	for _, c := range cols {
		c.indexRelations(ctx)
	}
	return cols, nil
}

// addCollections adds the collections of sdl, with their versions that give
// defaults and the indexes sdl declares, in one transaction, and returns them.
func (n *Node) addCollections(ctx context.Context, sdl string) ([]*Collection, error) {
	if n.closing() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	n.shapeMu.Lock()
	defer n.shapeMu.Unlock()
	schemas, wants, err := schema.Define(sdl, n.schemas()...) // relations may name existing collections
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	indexes, err := schema.Indexes(sdl, n.schemas()...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(schemas) > MaxCollectionsPerCall {
		return nil, fmt.Errorf("%w: %d types in one AddCollection, at most %d", ErrInvalid, len(schemas), MaxCollectionsPerCall)
	}
	for i, s := range wants {
		if err := checkDeclaredIndexes(s, indexes[i]); err != nil {
			return nil, err
		}
	}
	// Only a holder of shapeMu adds collections: those read now stay until
	// the new ones are added, below. n.mu is not held across the store's
	// transaction, which waits for every write transaction under way, and a
	// Txn's calls take n.mu.
	n.mu.RLock()
	collections := maps.Clone(n.collections)
	n.mu.RUnlock()
	out := make([]*Collection, len(schemas))
	versions := make([]*crdt.Schema, len(schemas)) // the version whose field names sdl uses
	var fresh []int
	for i, s := range schemas {
		want := wants[i]
		existing, ok := collections[s.Name]
		switch {
		case ok && want == s && existing.root.ID.Equals(s.ID):
			versions[i] = existing.root
		case ok:
			versions[i] = existing.shaped(s, want)
		}
		switch {
		case !ok:
			fresh = append(fresh, i)
		case versions[i] != nil:
			out[i] = existing
		case !schema.SamePolicy(existing.root.Policy, s.Policy):
			return nil, fmt.Errorf("%w: collection %s: @policy differs; a collection's policy is fixed by its first definition (change its members with Grant and Revoke)",
				ErrSchemaConflict, s.Name)
		default:
			diff := schema.Diff(existing.schema(), s)
			if len(diff) == 0 {
				diff = defaultsDiff(existing.schema(), want)
			}
			return nil, fmt.Errorf("%w: collection %s: %s (to change a collection, patch it: Collection.Patch, `gossipdb client collection patch`)",
				ErrSchemaConflict, s.Name, strings.Join(diff, "; "))
		}
	}
	if len(fresh) > 0 {
		// An inverse side of an existing collection may name a new one: a
		// version learned from peers may name a collection this node did
		// not define yet.
		var known []*crdt.Schema
		for _, i := range fresh {
			known = append(known, schemas[i])
		}
		for _, c := range collections {
			known = append(known, c.schema())
		}
		for _, i := range fresh {
			if err := schema.CheckInverses(schemas[i], known...); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		}
	}
	// The indexes to add; those of existing collections are checked against
	// theirs, under each one's indexMu, as createIndex does.
	var add []store.NewIndex
	for i, s := range schemas {
		if c := out[i]; c != nil {
			c.indexMu.Lock()
			defer c.indexMu.Unlock()
			if err := c.checkNewIndexes(versions[i], indexes[i]); err != nil {
				return nil, err
			}
			add = append(add, c.missingIndexes(versions[i], indexes[i])...)
			continue
		}
		versions[i] = wants[i]
		add = append(add, newIndexes(s.Name, nil, wants[i], indexes[i])...)
	}
	if len(fresh) == 0 && len(add) == 0 {
		return out, nil
	}
	defs := make([][2][]byte, len(schemas)) // each fresh collection's root and, if it gives defaults, version
	for _, i := range fresh {
		if defs[i][0], err = schema.Encode(schemas[i]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		if wants[i] != schemas[i] {
			if defs[i][1], err = schema.EncodeVersion(wants[i]); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		}
	}
	ixs, err := n.store.AddIndexes(add, func(tx *store.Tx) error {
		for _, i := range fresh {
			s, want := schemas[i], wants[i]
			if err := tx.PutCollection(s.Name, defs[i][0]); err != nil {
				return err
			}
			if want == s {
				continue
			}
			if err := tx.PutVersion(want.Version, defs[i][1]); err != nil {
				return err
			}
			if err := tx.PutActive(s.Name, want.Version); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrIndex) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err != nil {
		return nil, storeError("add collection", err)
	}
	n.mu.Lock()
	for _, i := range fresh {
		c := n.addCollectionLocked(schemas[i])
		if want := wants[i]; want != schemas[i] {
			c.versions[want.Version] = want
			c.active.Store(want)
		}
		out[i] = c
	}
	n.mu.Unlock()
	for _, ix := range ixs {
		c, _ := n.collectionBySchema(ix.Schema)
		c.buildIndex(ix.ID)
	}
	return out, nil
}

// defaultsDiff describes how the defaults of version want differ from those
// of active, which declares the same fields, one difference per field in
// name order.
func defaultsDiff(active, want *crdt.Schema) []string {
	var diffs []string
	for _, f := range want.Fields {
		g, _ := active.Field(f.Name)
		if f.Default == g.Default {
			continue
		}
		describe := func(v any) string {
			if v == nil {
				return "none"
			}
			return fmt.Sprintf("%#v", v)
		}
		diffs = append(diffs, fmt.Sprintf("field %q: default %s in existing, %s in new", f.Name, describe(g.Default), describe(f.Default)))
	}
	return diffs
}

// Collection returns the collection called name, or an error matching ErrNotFound.
func (n *Node) Collection(name string) (*Collection, error) {
	if n.closing() {
		return nil, ErrClosed
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if c, ok := n.collections[name]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w: collection %q", ErrNotFound, name)
}

// Collections returns every collection of the node, sorted by name; nil after
// Close. The slice is the caller's.
func (n *Node) Collections() []*Collection {
	if n.closing() {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	names := slices.Sorted(maps.Keys(n.collections))
	out := make([]*Collection, len(names))
	for i, name := range names {
		out[i] = n.collections[name]
	}
	return out
}

// collectionBySchema returns the collection whose schema ID is id.
func (n *Node) collectionBySchema(id cid.Cid) (*Collection, bool) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	c, ok := n.bySchema[id]
	return c, ok
}

// goFunc starts f as a goroutine of the node, awaited by Close, and reports
// whether it did: once Close has begun it starts nothing.
func (n *Node) goFunc(f func()) bool {
	n.goMu.Lock()
	defer n.goMu.Unlock()
	if n.halted {
		return false
	}
	n.wg.Go(f)
	return true
}

// Check verifies the integrity of the node's store: every table file matches its
// checksums (else the error matches ErrDamaged and carries a *DamageError naming
// the file), every document's state decodes and its heads are stored blocks of
// that document, and every index holds exactly the entries its documents'
// states give. It reads the whole store; use it in tests and after incidents,
// not on hot paths. It stops with ctx's error soon after ctx ends; Close waits
// for a Check under way.
func (n *Node) Check(ctx context.Context) error {
	if n.closing() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	if err := n.store.CheckFiles(ctx); err != nil {
		return damaged(err)
	}
	return n.store.View(func(tx *store.Tx) error { return tx.Check(ctx) })
}
