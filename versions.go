package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/cidtext"
	"github.com/gossipdb/gossipdb/internal/orphans"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// Collection versions (see crdt's package doc for the version chain and field
// identity). A node checks a block against the version it names. A version it
// does not know is fetched, with its chain of parents, from the peer that sent
// the block (/gossipdb/versions/1), checked against its parent and root,
// stored, and from then on known. Meanwhile:
//
//   - a gossip message naming it is held, within versionWaitBytes in all, and
//     neither forwarded nor penalised; once the version is accepted it is checked
//     and merged as if it had just arrived. Beyond the budget, or when
//     maxVersionFetches fetches already run, the message is left to catch-up,
//     which is scheduled with the peer;
//   - a block fetched by history fetch or catch-up waits for the fetch, within
//     that exchange's own limits; when the version cannot be fetched then
//     (maxVersionFetches run already, or no answer) the exchange fails and
//     the block is not refused: a later one brings it. A history fetch then
//     asks again as when every peer is busy (fetchBusyRetries), rather than
//     giving the document up against its author; when its retries run out
//     first (a stalled definition fetch ends only after versions.Timeout), it
//     lets the document's orphans go, for catch-up to bring, and holds that
//     against nobody, unless the author itself kept the version from being
//     fetched: it was asked for the version, or held one of the fetches
//     that were all running (see unfetchedVersion). The catch-up session
//     that the drop starts stops at the same version while the fetches
//     stall; one that stops so, its own peer not standing in the way, is
//     run again 1 s later, then twice as long each time, at most half
//     versions.Timeout apart, while it stops so (catchup.Scheduler.Unfetched):
//     the document comes soon after the stall ends, not at the next
//     Options.SyncInterval.
//
// A version that cannot be accepted (a malformed definition, one that breaks a
// rule against its parent or belongs to another collection) is logged at Warn
// and reported in SyncStatus.Versions; blocks naming it are refused, and the
// collection keeps syncing everything else. A version that could not be
// fetched (no answer, a lie, an answer cut before a known version) is reported
// too, and fetched again when a block names it again.
const (
	// maxVersionFetches is how many definition fetches run at once. Each
	// holds the answers versions.FetchChain reads, 4 MiB at most.
	maxVersionFetches = 4
	// versionWaitBytes bounds the gossip blocks held while their version is fetched.
	versionWaitBytes = 4 << 20
	// maxVersionProblems is how many unaccepted versions a collection remembers
	// for SyncStatus; a refused one beyond it is fetched again when named again.
	maxVersionProblems = 64
)

// errUnknownVersion reports a block that names a version of its collection
// this node does not know yet.
var errUnknownVersion = errors.New("gossipdb: unknown collection version")

// versionFetchError is awaitVersion's error for a version it could not
// fetch: it wraps errUnknownVersion, and the fetch's error when one ran.
type versionFetchError struct {
	version cid.Cid
	// peers stood in the way: the peer the fetch asked, or, when every
	// definition fetch was taken (maxVersionFetches), the peers those asked.
	peers []peer.ID
	err   error // the fetch's error; nil when no fetch could start
}

func (e *versionFetchError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("%v %s (too many definitions being fetched)", errUnknownVersion, e.version)
	}
	return fmt.Sprintf("%v %s: %v", errUnknownVersion, e.version, e.err)
}

func (e *versionFetchError) Unwrap() []error {
	if e.err == nil {
		return []error{errUnknownVersion}
	}
	return []error{errUnknownVersion, e.err}
}

// VersionStatus describes a version of a collection, named by blocks from a
// peer, that this node has not accepted.
type VersionStatus struct {
	Version string    // the version ID
	Peer    string    // the peer asked for it last
	When    time.Time // when the last attempt ended
	Err     string    // why it was not accepted
	// Refused is set when the definition itself is invalid: it will never be
	// accepted, and blocks naming it are refused. Otherwise the definition could
	// not be fetched, and is asked for again when a block names it.
	Refused bool
}

// PatchResult is what Collection.Patch or UseVersion did.
type PatchResult struct {
	Collection string
	Version    string   // the ID of the version the collection now reads and writes through
	Parent     string   // the ID of the version it was patched from
	Diff       []string // what changed, one change per line; empty when nothing did
}

// Patch makes sdl, the whole new GraphQL SDL of the collection's type, its new
// active version: the version reads and writes go through from then on, here
// and after a restart. Nothing stored is rewritten: documents keep their IDs and
// history, and peers on other versions keep exchanging every change with this
// node. The SDL is as AddCollection takes it, defaults included, and may also
// rename a field:
//
//	email: String @default(string: "none")   // also int:, float:, bool:, dateTime:, json:
//	fullName: String @rename(from: "name")
//
// A field the SDL leaves out is dropped: it is hidden, and its data is kept and
// passed on. A renamed field keeps its identity, so writes under its old name
// on peers of older versions merge with writes under the new one. A document
// that never had a field reads as its default; a counter never added to reads 0
// and an add-wins set never added to reads empty. A relation may name this
// collection or another of the node's; adding or dropping the inverse side of a
// relation (books: [Book]) holds no data and is a patch like any other. An
// inverse side of another collection (Author.books: [Book]) is derived from
// the one field of Book of type Author: a patch of Book that would add a
// second one, or drop it, fails with ErrInvalid and a *SchemaError naming
// Author.books (patch Author to drop books first); renaming it keeps books.
//
// Changing a field's type (its kind, list-ness, non-null items, or a relation's
// target) or CRDT type (last-writer-wins, counter, set), a @default on a list,
// set or relation, making an optional field required without a default,
// dropping the default of a required field (documents without it read the
// default), and adding a required field without a default (a list or relation has none, so
// it is added optional and stays so) fail with
// ErrInvalid and a *SchemaError that names the field and says what to do
// instead; so does a patch of a collection whose active version has 255
// versions before it (a chain holds at most 256, the root included), and
// one whose version would encode in more than 64 KiB (long defaults, or many
// long names), which neither this node when it opens nor its peers would
// read. An SDL
// equal to the active version changes nothing, as does the same patch applied
// again (its @rename of a field the active version has under the new name
// already). Patch is safe for concurrent use.
//
// The indexes sdl declares with @index (see AddCollection and Index) that
// the collection lacks are created, whether or not the fields change, in the
// same transaction as the new version: a patch that returned an error changed
// nothing, and after one that returned nil, or a crash, the version has its
// indexes (each built in the background, as CreateIndex builds one). A
// declaration that cannot be created (see CreateIndex) fails the patch with
// ErrInvalid. An @index without a name on the fields of an existing index
// is that index, whatever its name (an index on a field renamed since is
// named after the old name). Leaving an @index out drops nothing: indexes are local, and
// DropIndex drops them. A relation field the new version adds gets an index
// too, after the patch (see Index).
func (c *Collection) Patch(ctx context.Context, sdl string) (*PatchResult, error) {
	res, err := c.patch(ctx, sdl)
	if err != nil {
		return nil, err
	}
	c.indexRelations(ctx)
	return res, nil
}

// indexRelations creates, after AddCollection, Patch or UseVersion, the
// indexes of the relation fields the active version may have added
// (relationIndexes). A failure is logged: the collection and its version are
// in force, and the next Open tries again.
func (c *Collection) indexRelations(ctx context.Context) {
	if err := c.relationIndexes(ctx); err != nil {
		c.node.log.Warn("Cannot index a relation field", logKeyCollection, c.Name(), logKeyError, err)
	}
}

// patch is Patch but for the indexes of relation fields. The new version,
// the collection's active version from then on and the indexes sdl declares
// that the collection lacks commit in one transaction, so that no crash
// leaves the version without them; their builds run after it.
func (c *Collection) patch(ctx context.Context, sdl string) (*PatchResult, error) {
	n := c.node
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
	known := n.schemas() // relations may name the node's collections
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	active := c.schema()
	v, err := schema.Patch(c.chainLocked(active), sdl, known...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	decls, err := schema.PatchIndexes(sdl)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := c.checkNewIndexes(v, decls); err != nil {
		return nil, err
	}
	res := &PatchResult{Collection: c.Name(), Version: v.VersionID().String(), Parent: active.VersionID().String()}
	add := c.missingIndexes(v, decls)
	if v == active && len(add) == 0 {
		return res, nil
	}
	var put func(tx *store.Tx) error
	if v != active {
		def, err := schema.EncodeVersion(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		put = func(tx *store.Tx) error {
			if err := tx.PutVersion(v.Version, def); err != nil {
				return err
			}
			return tx.PutActive(c.Name(), v.Version)
		}
	}
	ixs, err := n.store.AddIndexes(add, put)
	if errors.Is(err, store.ErrIndex) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err != nil {
		return nil, storeError("patch collection", err)
	}
	if v != active {
		c.versions[v.Version] = v
		c.active.Store(v)
		res.Diff = schema.VersionDiff(active, v)
		n.log.Info("Patched collection", logKeyCollection, c.Name(), logKeyVersion, res.Version, logKeyParent, res.Parent)
	}
	for _, ix := range ixs {
		c.buildIndex(ix.ID)
	}
	return res, nil
}

// UseVersion makes the known version with the given ID the collection's active
// version, as Patch does: a version this node made or one it learned from
// peers' blocks (SyncStatus and the "Added collection version" log line name
// them), so that nodes can move to the very version others use rather than
// patch to an equal one. The version's fields then read as they were kept all
// along. An unknown or malformed ID fails with ErrNotFound or ErrInvalid. The
// result's Diff says what changed. UseVersion is safe for concurrent use. A
// relation field the version has gets an index (see Index).
//
// A version that would leave an inverse side of a relation (books: [Book])
// with no relation to derive from or with two, among the active versions of
// this node's collections, its own inverse sides or another collection's (a
// version of Book with a second field of type Author while Author has books),
// fails with ErrInvalid and a *SchemaError naming the inverse side, and the
// active version stays: patch the other collection first. Such a version is
// known all the same, and the blocks written under it are accepted and
// merged, whatever the node's active versions.
func (c *Collection) UseVersion(ctx context.Context, version string) (*PatchResult, error) {
	res, err := c.useVersion(ctx, version)
	if err != nil {
		return nil, err
	}
	c.indexRelations(ctx)
	return res, nil
}

// useVersion is UseVersion but for the indexes of relation fields.
func (c *Collection) useVersion(ctx context.Context, version string) (*PatchResult, error) {
	n := c.node
	if n.closing() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := cidtext.Parse("version", version)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	n.shapeMu.Lock()
	defer n.shapeMu.Unlock()
	known := n.schemas()
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.versions[id]
	if !ok {
		return nil, fmt.Errorf("%w: version %s of collection %s", ErrNotFound, version, c.Name())
	}
	active := c.schema()
	res := &PatchResult{Collection: c.Name(), Version: v.VersionID().String(), Parent: active.VersionID().String()}
	if v == active {
		return res, nil
	}
	if err := schema.CheckInverses(v, known...); err != nil {
		return nil, fmt.Errorf("%w: version %s of collection %s: %w", ErrInvalid, version, c.Name(), err)
	}
	if err := n.store.Update(func(tx *store.Tx) error { return tx.PutActive(c.Name(), v.VersionID()) }); err != nil {
		return nil, storeError("use collection version", err)
	}
	c.active.Store(v)
	res.Diff = schema.VersionDiff(active, v)
	n.log.Info("Patched collection", logKeyCollection, c.Name(), logKeyVersion, res.Version, logKeyParent, res.Parent)
	return res, nil
}

// Versions returns the IDs of the collection's known versions: its root first,
// then the others sorted by ID. The slice is the caller's.
func (c *Collection) Versions() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := []string{c.root.ID.String()}
	for _, id := range slices.SortedFunc(maps.Keys(c.versions), cmpCID) {
		if !id.Equals(c.root.ID) {
			out = append(out, id.String())
		}
	}
	return out
}

// shaped returns the known version of the collection that declares the fields
// want declares (see schema.SameShape) and, if want gives defaults, the same
// defaults; nil if none does or if root, the first version of the same SDL,
// declares another policy than the collection's (a later version declares
// none: the root's is the collection's for good). Versions may share a shape
// with different field identities, so the choice is fixed: the active version
// if it fits, else the one with the smallest ID.
func (c *Collection) shaped(root, want *crdt.Schema) *crdt.Schema {
	if !schema.SamePolicy(c.root.Policy, root.Policy) {
		return nil
	}
	fits := func(v *crdt.Schema) bool {
		return schema.SameShape(v, want) && (!hasDefaults(want) || sameDefaults(v, want))
	}
	if active := c.schema(); fits(active) {
		return active
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, id := range slices.SortedFunc(maps.Keys(c.versions), cmpCID) {
		if v := c.versions[id]; fits(v) {
			return v
		}
	}
	return nil
}

// hasDefaults reports whether a field of version v has a default.
func hasDefaults(v *crdt.Schema) bool {
	return slices.ContainsFunc(v.Fields, func(f crdt.Field) bool { return f.Default != nil })
}

// sameDefaults reports whether each field of b has the default the field of
// a of the same name has.
func sameDefaults(a, b *crdt.Schema) bool {
	for _, f := range b.Fields {
		if g, _ := a.Field(f.Name); g.Default != f.Default {
			return false
		}
	}
	return true
}

// chainLocked returns v and its ancestors, v first and the root last. c.mu is held.
func (c *Collection) chainLocked(v *crdt.Schema) []*crdt.Schema {
	chain := []*crdt.Schema{v}
	for v.Parent.Defined() {
		p, ok := c.versions[v.Parent]
		if !ok {
			break // cannot happen: a version is known only with its parents
		}
		chain = append(chain, p)
		v = p
	}
	return chain
}

// version returns the known version with the given ID.
func (c *Collection) version(id cid.Cid) (*crdt.Schema, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.versions[id]
	return s, ok
}

// check validates b against the version it names, which must be known; else
// the error wraps errUnknownVersion.
func (c *Collection) check(b *crdt.Block) error {
	if !b.Schema.Equals(c.root.ID) {
		return c.root.Check(b) // refuses it, naming both schema IDs
	}
	s, ok := c.version(b.VersionID())
	if !ok {
		return fmt.Errorf("%w %s of %s", errUnknownVersion, b.VersionID(), c.Name())
	}
	return s.Check(b)
}

// unknownVersion returns the first version among blocks' that c does not
// know, or cid.Undef.
func (c *Collection) unknownVersion(blocks []*crdt.Block) cid.Cid {
	for _, b := range blocks {
		if b.Schema.Equals(c.root.ID) {
			if _, ok := c.version(b.VersionID()); !ok {
				return b.VersionID()
			}
		}
	}
	return cid.Undef
}

// loadVersions reads the stored versions and active versions of the node's
// collections, whose roots are loaded.
func (n *Node) loadVersions(tx *store.Tx) error {
	err := tx.Versions(func(def []byte) error {
		v, err := schema.DecodeVersion(def)
		if err != nil {
			return fmt.Errorf("gossipdb: stored version: %w", err)
		}
		if c, ok := n.bySchema[v.ID]; ok {
			c.versions[v.Version] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	for name, c := range n.collections {
		id, err := tx.Active(name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		v, ok := c.versions[id]
		if !ok {
			return fmt.Errorf("gossipdb: collection %s: active version %s is not stored", name, id)
		}
		c.active.Store(v)
	}
	return nil
}

// versionFetches runs the fetches of unknown versions, one per version ID.
type versionFetches struct {
	mu      sync.Mutex
	running map[cid.Cid]*versionFetch
	held    int64 // bytes of gossip blocks held, versionWaitBytes at most
	// timeout bounds each fetch: versions.Timeout, shorter in some tests.
	timeout atomic.Int64
}

// versionFetch is the fetch of one version from peer: done closes when it
// ends, then err says why it failed, if it did.
type versionFetch struct {
	peer peer.ID
	done chan struct{}
	err  error
	held []arrival // gossip waiting for the version, with its cost
	cost int64
}

// startVersionFetch returns the running fetch of version id of c, or starts
// one from peer p; nil if maxVersionFetches run already or the node is closing.
// n.versionFetches.mu is held.
func (n *Node) startVersionFetchLocked(c *Collection, id cid.Cid, p peer.ID) *versionFetch {
	vf := &n.versionFetches
	if f, ok := vf.running[id]; ok {
		return f
	}
	if len(vf.running) >= maxVersionFetches {
		return nil
	}
	f := &versionFetch{peer: p, done: make(chan struct{})}
	if !n.goFunc(func() { n.runVersionFetch(c, id, p, f) }) {
		return nil
	}
	if vf.running == nil {
		vf.running = map[cid.Cid]*versionFetch{}
	}
	vf.running[id] = f
	return f
}

// runVersionFetch fetches version id of c from p, accepts it, and hands the
// gossip held for it to the subscription, or holds it again for another
// version its blocks name that c does not know either.
func (n *Node) runVersionFetch(c *Collection, id cid.Cid, p peer.ID, f *versionFetch) {
	ctx, cancel := context.WithTimeout(n.ctx, time.Duration(n.versionFetches.timeout.Load()))
	defer cancel()
	defs, err := versions.FetchChain(ctx, n.host, p, id, func(v cid.Cid) bool {
		_, ok := c.version(v)
		return ok
	})
	if err == nil {
		err = n.acceptVersions(c, defs, p)
	}
	vf := &n.versionFetches
	vf.mu.Lock()
	delete(vf.running, id)
	held := f.held
	vf.held -= f.cost
	f.held, f.err = nil, err
	vf.mu.Unlock()
	close(f.done)
	if err != nil {
		c.noteProblem(id, p, err)
		if errors.Is(err, schema.ErrInvalid) {
			n.log.Warn("Refused collection version", logKeyCollection, c.Name(), logKeyVersion, id.String(), logKeyPeer, p.String(), logKeyError, err)
		} else {
			n.log.Info("Cannot fetch collection version", logKeyCollection, c.Name(), logKeyVersion, id.String(), logKeyPeer, p.String(), logKeyError, err)
		}
		if len(held) > 0 && !errors.Is(err, schema.ErrInvalid) {
			n.catchUp.schedule(c.Name(), p) // catch-up fetches the blocks, and the version, again
		}
		return
	}
	sub := n.subscription(c.Name())
	for _, a := range held {
		_, err := n.accept(n.ctx, c, a.blocks, a.via, fromGossip)
		for errors.Is(err, errUnknownVersion) {
			// Another version the blocks name: they are held for it in turn.
			if _, handled := n.holdForVersion(c, a.blocks, a.via); handled {
				break
			}
			_, err = n.accept(n.ctx, c, a.blocks, a.via, fromGossip)
		}
		if err != nil {
			n.countRejected(err)
			continue
		}
		if sub == nil || sub.inbox.put(sub.ctx, a) != nil {
			return
		}
	}
}

// acceptVersions checks and stores defs, the definitions of a version and its
// parents as versions.Fetch returned them, down to the first version c knows.
// Errors about the definitions themselves wrap schema.ErrInvalid: the bytes
// hash to their IDs, so such a version can never be accepted. An answer that
// stops before a known version is not one of them (the peer may have cut it).
// Each version added is logged, with p, the peer that sent it: a fetch of one
// version may add its parents too.
func (n *Node) acceptVersions(c *Collection, defs [][]byte, p peer.ID) error {
	vs := make([]*crdt.Schema, 0, len(defs))
	for _, def := range defs {
		v, err := schema.DecodeVersion(def)
		if err != nil {
			return err
		}
		vs = append(vs, v)
		if _, ok := c.version(v.Parent); ok {
			break
		}
	}
	if err := c.checkChain(vs); err != nil {
		return err
	}
	err := n.store.Update(func(tx *store.Tx) error {
		for i, v := range vs {
			if err := tx.PutVersion(v.Version, defs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storeError("store collection version", err)
	}
	var added []cid.Cid
	c.mu.Lock()
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if _, ok := c.versions[v.Version]; !ok {
			c.versions[v.Version] = v
			added = append(added, v.Version)
		}
		delete(c.problems, v.Version)
	}
	c.mu.Unlock()
	for _, id := range added {
		n.log.Info("Added collection version", logKeyCollection, c.Name(), logKeyVersion, id.String(), logKeyPeer, p.String())
	}
	return nil
}

// checkChain checks vs, a version and its parents, the parent of the last a
// known version, each against its parent and the root.
func (c *Collection) checkChain(vs []*crdt.Schema) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	last := vs[len(vs)-1]
	parent, ok := c.versions[last.Parent]
	if !ok {
		return fmt.Errorf("gossipdb: version %s of %s: the peer's answer ends at %s, whose parent %s this node does not know",
			vs[0].Version, c.Name(), last.Version, last.Parent)
	}
	for i := len(vs) - 1; i >= 0; i-- {
		if err := schema.CheckVersion(c.root, parent, vs[i]); err != nil {
			return fmt.Errorf("version %s: %w", vs[i].Version, err)
		}
		parent = vs[i]
	}
	return nil
}

// noteProblem records why version id of c was not accepted, for SyncStatus,
// unless c knows it: another fetch, from another peer, may have added it
// meanwhile.
func (c *Collection) noteProblem(id cid.Cid, p peer.ID, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.versions[id]; ok {
		return
	}
	if c.problems == nil {
		c.problems = map[cid.Cid]*VersionStatus{}
	}
	if _, ok := c.problems[id]; !ok && len(c.problems) >= maxVersionProblems {
		return
	}
	c.problems[id] = &VersionStatus{Version: id.String(), Peer: p.String(), When: time.Now(), Err: err.Error(),
		Refused: errors.Is(err, schema.ErrInvalid)}
}

// refused reports whether version id of c was refused as invalid.
func (c *Collection) refused(id cid.Cid) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.problems[id]
	return ok && p.Refused
}

// versionProblems returns the versions of c not accepted, sorted by ID.
func (c *Collection) versionProblems() []VersionStatus {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]VersionStatus, 0, len(c.problems))
	for _, id := range slices.SortedFunc(maps.Keys(c.problems), cmpCID) {
		out = append(out, *c.problems[id])
	}
	return out
}

func cmpCID(a, b cid.Cid) int {
	switch ka, kb := a.KeyString(), b.KeyString(); {
	case ka < kb:
		return -1
	case ka > kb:
		return 1
	}
	return 0
}

// holdForVersion handles a gossip message whose blocks accept found to name a
// version of c it does not know: it holds the blocks while the first such
// version is fetched from via, the peer that forwarded them, and tells pubsub
// to neither forward nor penalise the message. A refused version's message is
// rejected. It looks for the version under n.versionFetches.mu, which a fetch
// takes to hand on what it held only once it has added its version: a version
// unknown there is one whose fetch, running or started here, hands the blocks
// on. When c knows every version the blocks name by then (a fetch added it
// since accept looked), holdForVersion does nothing and returns handled
// false: the caller accepts the blocks again.
func (n *Node) holdForVersion(c *Collection, blocks []*crdt.Block, via peer.ID) (res pubsub.ValidationResult, handled bool) {
	var cost int64
	for _, b := range blocks {
		cost += orphans.Cost(b)
	}
	vf := &n.versionFetches
	vf.mu.Lock()
	id := c.unknownVersion(blocks)
	if !id.Defined() {
		vf.mu.Unlock()
		return 0, false
	}
	if c.refused(id) {
		vf.mu.Unlock()
		n.metrics.schemaRejects.Add(1)
		return pubsub.ValidationReject, true
	}
	f := n.startVersionFetchLocked(c, id, via)
	held := f != nil && vf.held+cost <= versionWaitBytes
	if held {
		f.held = append(f.held, gossipArrivals(blocks, via)...)
		f.cost += cost
		vf.held += cost
	}
	vf.mu.Unlock()
	if !held {
		n.metrics.droppedMessages.Add(1)
		n.catchUp.schedule(c.Name(), via)
	}
	return pubsub.ValidationIgnore, true
}

// storedVersion answers /gossipdb/versions/1 from the store.
func (n *Node) storedVersion(id cid.Cid) ([]byte, error) {
	var def []byte
	err := n.store.View(func(tx *store.Tx) (err error) {
		def, err = tx.Version(id)
		return err
	})
	return def, err
}
