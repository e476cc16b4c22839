package policy

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// ErrMissing is wrapped by the error of a change or block that names policy
// changes the graph does not hold yet: it is neither accepted nor refused, and
// is judged again once they arrive (an orphan, like a block whose parents are
// missing).
var ErrMissing = errors.New("policy: names policy changes not known yet")

// ErrDenied is wrapped by every *Denied.
var ErrDenied = errors.New("policy: denied")

// Denied is the error of rule 1: Author holds Have where the act needs Need.
type Denied struct {
	Author ed25519.PublicKey
	Need   crdt.Role
	Have   crdt.Role
}

func (d *Denied) Error() string {
	if d.Need == crdt.RoleAdmin {
		return "not an admin"
	}
	return "not a " + d.Need.String()
}

// Unwrap returns ErrDenied.
func (d *Denied) Unwrap() error { return ErrDenied }

// Graph is the policy of one restricted collection as a node knows it: the
// initial policy from the collection's definition and the policy changes
// received so far, a DAG by their Prev. Add must not run concurrently with
// any other method; the others may run concurrently with each other, and
// Disowned and Complete with themselves only under the caller's lock
// (Complete caches, and Disowned reads the cache).
//
// Its memory grows with the square of the number of changes (each keeps its
// set of ancestors): policy changes are an admin's rare acts, not writes.
type Graph struct {
	schema  cid.Cid
	initial *crdt.Policy
	changes map[cid.Cid]*Change
	past    map[cid.Cid]map[cid.Cid]bool // each change's ancestors, itself excluded
	named   map[cid.Cid]bool             // changes another change names in Prev
	byKey   map[string][]*Change         // changes by the key whose role they set
	kept    map[cid.Cid]map[cid.Cid]bool // complete revocations: the blocks they keep
}

// NewGraph returns the graph of the collection schema whose initial policy
// is initial, with no changes.
func NewGraph(schema cid.Cid, initial *crdt.Policy) *Graph {
	return &Graph{
		schema:  schema,
		initial: initial,
		changes: map[cid.Cid]*Change{},
		past:    map[cid.Cid]map[cid.Cid]bool{},
		named:   map[cid.Cid]bool{},
		byKey:   map[string][]*Change{},
		kept:    map[cid.Cid]map[cid.Cid]bool{},
	}
}

// Has reports whether the graph holds change c.
func (g *Graph) Has(c cid.Cid) bool { return g.changes[c] != nil }

// Heads returns the changes no other change names, sorted by bytes: what a
// block or change written now names. The slice is the caller's.
func (g *Graph) Heads() []cid.Cid {
	var heads []cid.Cid
	for c := range g.changes {
		if !g.named[c] {
			heads = append(heads, c)
		}
	}
	slices.SortFunc(heads, func(a, b cid.Cid) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
	return heads
}

// missing returns an error wrapping ErrMissing if some of heads are not held.
func (g *Graph) missing(heads []cid.Cid) error {
	for _, h := range heads {
		if g.changes[h] == nil {
			return fmt.Errorf("%w: %s", ErrMissing, h)
		}
	}
	return nil
}

// Add judges change c, whose signature the caller verified, and holds it if
// it is valid (rule 3 of the package doc): it belongs to the collection, its
// author is an admin of the initial policy, it does not set an admin's role,
// and every change it names is held (else an error wrapping ErrMissing). A
// refused change's error wraps ErrInvalidChange or ErrDenied. Adding a held
// change again does nothing.
func (g *Graph) Add(c *Change) error {
	if g.changes[c.CID] != nil {
		return nil
	}
	if err := g.Check(c); err != nil {
		return err
	}
	past := map[cid.Cid]bool{}
	for _, p := range c.Prev {
		past[p] = true
		for a := range g.past[p] {
			past[a] = true
		}
		g.named[p] = true
	}
	g.changes[c.CID], g.past[c.CID] = c, past
	g.byKey[string(c.Key)] = append(g.byKey[string(c.Key)], c)
	return nil
}

// Check returns the error Add would return for change c, without adding it:
// a caller that stores c before it is in force checks it first.
func (g *Graph) Check(c *Change) error {
	switch {
	case !c.Schema.Equals(g.schema):
		return invalid("change of collection %s, not %s", c.Schema, g.schema)
	case g.initial.Role(c.Author) != crdt.RoleAdmin:
		return &Denied{Author: c.Author, Need: crdt.RoleAdmin, Have: g.initial.Role(c.Author)}
	case g.initial.Role(c.Key) == crdt.RoleAdmin:
		return invalid("sets an admin's role: admins are fixed")
	}
	return g.missing(c.Prev)
}

// closure returns heads and their ancestors.
func (g *Graph) closure(heads []cid.Cid) map[cid.Cid]bool {
	s := make(map[cid.Cid]bool, len(heads))
	for _, h := range heads {
		s[h] = true
		for a := range g.past[h] {
			s[a] = true
		}
	}
	return s
}

// Holds reports whether the policy state heads name holds change c: c is
// one of heads or an ancestor of one.
func (g *Graph) Holds(heads []cid.Cid, c cid.Cid) bool {
	for _, h := range heads {
		if h.Equals(c) || g.past[h][c] {
			return true
		}
	}
	return false
}

// Role returns the role key holds in the policy state heads name (rule 2 of
// the package doc): an initial admin's is admin; else, among the changes of
// key's role in heads and their ancestors, those no other of them follows
// decide, the weakest winning; with none, key's initial role. It fails with
// ErrMissing if heads names a change the graph does not hold.
func (g *Graph) Role(heads []cid.Cid, key ed25519.PublicKey) (crdt.Role, error) {
	if err := g.missing(heads); err != nil {
		return crdt.RoleNone, err
	}
	initial := g.initial.Role(key)
	if initial == crdt.RoleAdmin {
		return initial, nil
	}
	state := g.closure(heads)
	var about []*Change
	for _, c := range g.byKey[string(key)] {
		if state[c.CID] {
			about = append(about, c)
		}
	}
	if len(about) == 0 {
		return initial, nil
	}
	role := crdt.RoleAdmin
	for _, c := range about {
		if !slices.ContainsFunc(about, func(d *Change) bool { return g.past[d.CID][c.CID] }) {
			role = min(role, c.Role)
		}
	}
	return role, nil
}

// Authorize is rule 1 of the package doc for a data block of the collection
// by author that names the policy state heads (crdt.Block.Policy): author
// holds the writer role there. It returns nil, an error wrapping ErrMissing
// (judge the block again once the graph holds the changes it names), or a
// *Denied.
func (g *Graph) Authorize(author ed25519.PublicKey, heads []cid.Cid) error {
	role, err := g.Role(heads, author)
	if err != nil {
		return err
	}
	if role < crdt.RoleWriter {
		return &Denied{Author: author, Need: crdt.RoleWriter, Have: role}
	}
	return nil
}

// Lookup returns a block the node stores, or false.
type Lookup func(c cid.Cid) (*crdt.Block, bool)

// Disowned is rule 4 of the package doc for a data block b that Authorize
// let in: it reports whether a revocation of b's author, complete (its kept
// chains all stored, see lookup) and outside the policy state b names, does
// not keep b. A disowned block stays stored but no document state holds it.
// Once true for a block, Disowned stays true as changes and blocks arrive.
//
// lookup may see blocks not stored for good (those of a transaction that may
// yet fail): Disowned caches nothing, and reads a revocation's chains through
// lookup until Complete has cached them.
func (g *Graph) Disowned(b *crdt.Block, lookup Lookup) bool {
	for _, r := range g.byKey[string(b.Author)] {
		if !r.Revokes() || g.Holds(b.Policy, r.CID) {
			continue
		}
		kept := g.kept[r.CID]
		if kept == nil {
			kept = g.keptBy(r, lookup)
		}
		if kept != nil && !kept[b.CID] {
			return true
		}
	}
	return false
}

// keptBy returns the blocks revocation r keeps: its Keep heads that are
// blocks of the revoked key and their chains of AuthorPrev. It returns nil
// while some block of those chains is not stored (r is not complete).
func (g *Graph) keptBy(r *Change, lookup Lookup) map[cid.Cid]bool {
	kept := map[cid.Cid]bool{}
	for _, h := range r.Keep {
		for c := h; c.Defined() && !kept[c]; {
			b, ok := lookup(c)
			if !ok {
				return nil
			}
			if !bytes.Equal(b.Author, r.Key) {
				break
			}
			kept[c] = true
			c = b.AuthorPrev
		}
	}
	return kept
}

// Revoked returns the keys some held revocation names, for a node that
// re-judges their blocks once a revocation completes.
func (g *Graph) Revoked() []ed25519.PublicKey {
	var keys []ed25519.PublicKey
	for k, cs := range g.byKey {
		if slices.ContainsFunc(cs, (*Change).Revokes) {
			keys = append(keys, ed25519.PublicKey(k))
		}
	}
	slices.SortFunc(keys, func(a, b ed25519.PublicKey) int { return bytes.Compare(a, b) })
	return keys
}

// CheckAuthorPrev checks b's link to its author's previous block prev (rule
// 1's companion, run where parents are checked): prev is a block of the same
// collection by the same author. A block whose AuthorPrev is not stored yet
// waits for it, as for a missing parent.
func CheckAuthorPrev(b, prev *crdt.Block) error {
	if !prev.Schema.Equals(b.Schema) || !bytes.Equal(prev.Author, b.Author) {
		return fmt.Errorf("%w: aup %s is not a block of the same collection by the same author", crdt.ErrInvalidBlock, prev.CID)
	}
	return nil
}

// Since returns the changes the graph holds that the policy state heads does
// not hold, each after the changes it names (by number of ancestors, then
// CID), so that another graph can Add them in order. heads may name changes
// the graph does not hold: they are ignored. Since(nil) returns every change.
func (g *Graph) Since(heads []cid.Cid) []*Change {
	held := g.closure(slices.DeleteFunc(slices.Clone(heads), func(h cid.Cid) bool { return g.changes[h] == nil }))
	var out []*Change
	for id, c := range g.changes {
		if !held[id] {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Change) int {
		if d := len(g.past[a.CID]) - len(g.past[b.CID]); d != 0 {
			return d
		}
		return bytes.Compare(a.CID.Bytes(), b.CID.Bytes())
	})
	return out
}

// Revocations returns the revocations the graph holds, by CID.
func (g *Graph) Revocations() []*Change {
	var out []*Change
	for _, c := range g.changes {
		if c.Revokes() {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Change) int { return bytes.Compare(a.CID.Bytes(), b.CID.Bytes()) })
	return out
}

// Complete reports whether revocation r is complete (rule 4): every block of
// the chains it keeps is stored (lookup). Once it has reported true it caches
// r's kept chains, which Disowned then reads instead of lookup, so lookup
// must see only blocks stored for good, as a read-only snapshot of the store
// does: the chains a transaction that has not committed stores, seen by other
// transactions through the cache, would make them judge r complete before any
// snapshot holds its chains, and for ever if that transaction fails. It runs
// only under the caller's lock.
func (g *Graph) Complete(r *Change, lookup Lookup) bool {
	if g.kept[r.CID] != nil {
		return true
	}
	kept := g.keptBy(r, lookup)
	if kept == nil {
		return false
	}
	g.kept[r.CID] = kept
	return true
}
