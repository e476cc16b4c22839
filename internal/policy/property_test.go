package policy_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/policy"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// The property tests of this package use rapid, which has its own seed: a
// failure prints -rapid.seed=N, which repeats the run (the other randomised
// tests of gossipdb use nodetest.SeedEnv), and saves the shrunk input under
// testdata/rapid, which every later run replays first.

// The keys of the model: 0 is the admin, 1 and 2 are writers from the start,
// 3 is a reader who may be made a writer, 4 is never granted anything (an
// outsider). Key i writes from replica i%3.
const nKeys = 5

func testKey(i int) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, ed25519.SeedSize))
}

func pub(i int) ed25519.PublicKey { return testKey(i).Public().(ed25519.PublicKey) }

func sortedKeys(ks ...ed25519.PublicKey) []ed25519.PublicKey {
	slices.SortFunc(ks, func(a, b ed25519.PublicKey) int { return bytes.Compare(a, b) })
	return ks
}

func testSchema(tb interface{ Fatal(...any) }) *crdt.Schema {
	s := &crdt.Schema{
		Name: "Doc",
		Fields: []crdt.Field{
			{Name: "n", Kind: crdt.KindInt},
			{Name: "t", Kind: crdt.KindString},
		},
		Policy: &crdt.Policy{
			Admins:  []ed25519.PublicKey{pub(0)},
			Writers: sortedKeys(pub(1), pub(2)),
			Readers: []ed25519.PublicKey{pub(3)},
		},
	}
	if s.ID = schema.ID(s); !s.ID.Defined() {
		tb.Fatal("test schema is not valid")
	}
	return s
}

// item is what replicas exchange: a block or a policy change.
type item struct {
	b *crdt.Block
	c *policy.Change
}

func (it item) cid() cid.Cid {
	if it.b != nil {
		return it.b.CID
	}
	return it.c.CID
}

// replica is one node of the model: what it stores and how it judges, as a
// node does (see the package doc), with document states merged as blocks
// arrive and rebuilt when a revocation disowns blocks they hold.
type replica struct {
	t        *rapid.T
	s        *crdt.Schema
	g        *policy.Graph
	blocks   map[cid.Cid]*crdt.Block
	changes  map[cid.Cid]*policy.Change
	pending  map[cid.Cid]item
	refused  map[cid.Cid]bool
	disowned map[cid.Cid]bool
	states   map[cid.Cid]*crdt.State // by document; none while its genesis is missing or disowned
	chain    map[string]cid.Cid      // the chain head of each key that writes from here
	rebuilt  int                     // documents rebuilt without blocks disowned after they were merged
}

func newReplica(t *rapid.T, s *crdt.Schema) *replica {
	return &replica{
		t: t, s: s, g: policy.NewGraph(s.ID, s.Policy),
		blocks: map[cid.Cid]*crdt.Block{}, changes: map[cid.Cid]*policy.Change{},
		pending: map[cid.Cid]item{}, refused: map[cid.Cid]bool{}, disowned: map[cid.Cid]bool{},
		states: map[cid.Cid]*crdt.State{}, chain: map[string]cid.Cid{},
	}
}

func (r *replica) lookup(c cid.Cid) (*crdt.Block, bool) {
	b, ok := r.blocks[c]
	return b, ok
}

func (r *replica) has(c cid.Cid) bool {
	return r.blocks[c] != nil || r.changes[c] != nil
}

// receive takes an item from a peer (or its own writer), and everything it
// was waiting for.
func (r *replica) receive(it item) {
	if r.has(it.cid()) || r.refused[it.cid()] {
		return
	}
	r.pending[it.cid()] = it
	for progress := true; progress; {
		progress = false
		for _, c := range slices.SortedFunc(mapKeys(r.pending), compareCIDs) {
			switch r.judge(r.pending[c]) {
			case verdictWait:
				continue
			case verdictRefuse:
				r.refused[c] = true
			case verdictStore:
				r.afterStore()
			}
			delete(r.pending, c)
			progress = true
		}
	}
}

type verdict int

const (
	verdictWait verdict = iota
	verdictRefuse
	verdictStore
)

// judge applies the acceptance rules to it and stores it if they let it in.
func (r *replica) judge(it item) verdict {
	if c := it.c; c != nil {
		if c.Verify() != nil {
			return verdictRefuse
		}
		switch err := r.g.Add(c); {
		case errors.Is(err, policy.ErrMissing):
			return verdictWait
		case err != nil:
			return verdictRefuse
		}
		r.changes[c.CID] = c
		return verdictStore
	}
	b := it.b
	if b.Verify() != nil || r.s.Check(b) != nil {
		return verdictRefuse
	}
	switch err := r.g.Authorize(b.Author, b.Policy); {
	case errors.Is(err, policy.ErrMissing):
		return verdictWait
	case err != nil:
		return verdictRefuse
	}
	parents := make([]*crdt.Block, 0, len(b.Prev))
	for _, p := range b.Prev {
		pb := r.blocks[p]
		if pb == nil {
			return verdictWait
		}
		parents = append(parents, pb)
	}
	if !b.IsGenesis() && crdt.CheckParents(b, parents) != nil {
		return verdictRefuse
	}
	if b.AuthorPrev.Defined() {
		ap := r.blocks[b.AuthorPrev]
		if ap == nil {
			return verdictWait
		}
		if policy.CheckAuthorPrev(b, ap) != nil {
			return verdictRefuse
		}
	}
	r.blocks[b.CID] = b
	if r.g.Disowned(b, r.lookup) {
		r.disowned[b.CID] = true
		return verdictStore
	}
	if b.IsGenesis() {
		st, err := crdt.NewState(b)
		if err != nil {
			r.t.Fatalf("NewState: %v", err)
		}
		r.states[b.CID] = st
	} else if st := r.states[b.Doc]; st != nil {
		if err := st.Merge(b); err != nil {
			r.t.Fatalf("Merge %s: %v", b.CID, err)
		}
	}
	return verdictStore
}

// afterStore re-judges rule 4 for the blocks of revoked keys, since a
// revocation may have completed, and rebuilds the documents that lost a
// block. A disowned block that comes back breaks rule 4's monotony.
func (r *replica) afterStore() {
	revoked := r.g.Revoked()
	rebuild := map[cid.Cid]bool{}
	for c, b := range r.blocks {
		if !slices.ContainsFunc(revoked, func(k ed25519.PublicKey) bool { return bytes.Equal(k, b.Author) }) {
			continue
		}
		d := r.g.Disowned(b, r.lookup)
		if r.disowned[c] && !d {
			r.t.Fatalf("block %s disowned, then not: rule 4 is not monotone", c)
		}
		if d && !r.disowned[c] {
			r.disowned[c] = true
			rebuild[b.DocID()] = true
		}
	}
	for doc := range rebuild {
		r.rebuilt++
		if st := r.rebuild(doc); st != nil {
			r.states[doc] = st
		} else {
			delete(r.states, doc)
		}
	}
}

// rebuild returns doc's state from its stored blocks that are not disowned,
// merged in (height, CID) order, or nil if its genesis is disowned.
func (r *replica) rebuild(doc cid.Cid) *crdt.State {
	var blocks []*crdt.Block
	for c, b := range r.blocks {
		if b.DocID().Equals(doc) && !r.disowned[c] {
			blocks = append(blocks, b)
		}
	}
	slices.SortFunc(blocks, func(a, b *crdt.Block) int {
		if a.Height != b.Height {
			return int(a.Height) - int(b.Height)
		}
		return compareCIDs(a.CID, b.CID)
	})
	if len(blocks) == 0 || !blocks[0].IsGenesis() {
		return nil
	}
	st, err := crdt.NewState(blocks[0])
	if err != nil {
		r.t.Fatalf("NewState: %v", err)
	}
	for _, b := range blocks[1:] {
		if err := st.Merge(b); err != nil {
			r.t.Fatalf("Merge %s: %v", b.CID, err)
		}
	}
	return st
}

// chainHeads returns key's blocks this replica stores that no other of its
// stored blocks names as AuthorPrev: what a revocation made here keeps.
func (r *replica) chainHeads(key ed25519.PublicKey) []cid.Cid {
	named := map[cid.Cid]bool{}
	for _, b := range r.blocks {
		if bytes.Equal(b.Author, key) && b.AuthorPrev.Defined() {
			named[b.AuthorPrev] = true
		}
	}
	var heads []cid.Cid
	for c, b := range r.blocks {
		if bytes.Equal(b.Author, key) && !named[c] {
			heads = append(heads, c)
		}
	}
	slices.SortFunc(heads, compareCIDs)
	return heads[:min(len(heads), policy.MaxKeep)]
}

func mapKeys[V any](m map[cid.Cid]V) func(func(cid.Cid) bool) {
	return func(yield func(cid.Cid) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func compareCIDs(a, b cid.Cid) int { return bytes.Compare(a.Bytes(), b.Bytes()) }

// message is an item on its way to a replica.
type message struct {
	to int
	it item
}

// rogue is a block made by an attacker, and whether it is back-dated: a
// revocation of its key existed (anywhere) when it was made, the block names a
// policy state from before every revocation of its key, and no block equal to
// it was made before its key's first revocation.
type rogue struct {
	b         *crdt.Block
	backdated bool
}

// TestConvergenceWithRevocations: three replicas, random writes by writers,
// grants and revocations by the admin, blocks by outsiders and revoked
// writers that name old policy states (back-dating), delivered in random
// orders with losses, then exchanged until nothing is left: every replica
// holds the same blocks, changes and disowned set and byte-identical
// document states, equal to a rebuild from scratch; no outsider's block is
// stored; every block a key made after its revocation, not naming it, is
// refused or disowned; a writer never revoked loses nothing.
func TestConvergenceWithRevocations(t *testing.T) {
	var seen struct{ disowned, rebuilt, refused, backdated int }
	defer func() {
		t.Logf("over all runs: %d blocks disowned, %d after they were merged; %d items refused; %d back-dated blocks", seen.disowned, seen.rebuilt, seen.refused, seen.backdated)
		if !t.Failed() && (seen.rebuilt == 0 || seen.backdated == 0 || seen.refused == 0) {
			t.Error("the runs never rebuilt a document, back-dated a block or refused one: the test does not exercise the rules")
		}
	}()
	rapid.Check(t, func(t *rapid.T) {
		s := testSchema(t)
		reps := []*replica{newReplica(t, s), newReplica(t, s), newReplica(t, s)}
		var inflight, lost []message
		var changes []*policy.Change // every change made, in order
		var rogues []rogue
		var honest []*crdt.Block
		revsAt := map[cid.Cid]int{} // honest block → how many changes existed when it was made
		madeAt := map[cid.Cid]int{} // any block → how many changes existed when it was first made
		revokedEver := map[int]bool{}
		var nonce uint64
		nextNonce := func() []byte {
			nonce++
			return binary.BigEndian.AppendUint64(make([]byte, 0, 8), nonce)
		}
		broadcast := func(from int, it item) {
			for i := range reps {
				if i != from {
					inflight = append(inflight, message{i, it})
				}
			}
		}
		// write makes a block of key k on replica r's view: a new document or a
		// change to one r holds.
		write := func(t *rapid.T, r *replica, k int, heads []cid.Cid, authorPrev cid.Cid) *crdt.Block {
			set := map[string]any{"n": rapid.Int64Range(0, 9).Draw(t, "n"), "t": rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "t")}
			docs := slices.SortedFunc(func(yield func(cid.Cid) bool) {
				for d, st := range r.states {
					if st != nil && !yield(d) {
						return
					}
				}
			}, compareCIDs)
			var b *crdt.Block
			var err error
			if len(docs) == 0 || rapid.IntRange(0, 3).Draw(t, "new doc") == 0 {
				b, err = crdt.NewGenesis(s, set, nil, nextNonce(), testKey(k))
			} else {
				d := rapid.SampledFrom(docs).Draw(t, "doc")
				b, err = crdt.NewChange(s, r.states[d], set, nil, false, nil, testKey(k))
			}
			if err != nil {
				t.Fatalf("writing: %v", err)
			}
			b.Policy, b.AuthorPrev = heads, authorPrev
			if err := b.Sign(testKey(k)); err != nil {
				t.Fatalf("signing: %v", err)
			}
			return b
		}
		steps := rapid.IntRange(10, 60).Draw(t, "steps")
		for range steps {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op <= 2: // an honest write, refused locally without the right
				k := rapid.IntRange(0, 3).Draw(t, "writer")
				r := reps[k%3]
				heads := r.g.Heads()
				if role, _ := r.g.Role(heads, pub(k)); role < crdt.RoleWriter {
					continue
				}
				b := write(t, r, k, heads, r.chain[string(pub(k))])
				r.receive(item{b: b})
				if !r.has(b.CID) {
					t.Fatalf("the writer's own replica did not store its block")
				}
				r.chain[string(pub(k))] = b.CID
				honest = append(honest, b)
				revsAt[b.CID] = len(changes)
				if _, ok := madeAt[b.CID]; !ok {
					madeAt[b.CID] = len(changes)
				}
				broadcast(k%3, item{b: b})
			case op == 3: // a rogue block: any key but the admin, an old policy state
				k := rapid.IntRange(1, 4).Draw(t, "rogue")
				// Changes are made in order on replica 0, so a change's
				// ancestors come before it: naming a change before k's first
				// revocation names a state that holds none of them.
				first := slices.IndexFunc(changes, func(c *policy.Change) bool { return bytes.Equal(c.Key, pub(k)) && c.Revokes() })
				before := len(changes)
				if first >= 0 {
					before = first
				}
				var heads []cid.Cid
				if before > 0 && rapid.Bool().Draw(t, "names a change") {
					heads = []cid.Cid{changes[rapid.IntRange(0, before-1).Draw(t, "old head")].CID}
				}
				r := reps[rapid.IntRange(0, 2).Draw(t, "view")]
				var ap cid.Cid
				if mine := r.chainHeads(pub(k)); len(mine) > 0 {
					ap = rapid.SampledFrom(mine).Draw(t, "aup")
				}
				b := write(t, r, k, heads, ap)
				// A block equal to one made before the revocation (the same
				// change of the same state: changes carry no nonce) is that
				// block, which the revocation may keep: not back-dated.
				at, made := madeAt[b.CID]
				if !made {
					madeAt[b.CID] = len(changes)
				}
				rogues = append(rogues, rogue{b, first >= 0 && !(made && at <= first)})
				broadcast(-1, item{b: b})
			case op == 4: // a grant or revocation by the admin, on replica 0
				k := rapid.IntRange(1, 3).Draw(t, "key")
				c := &policy.Change{Schema: s.ID, Prev: reps[0].g.Heads(), Key: pub(k), Role: crdt.Role(rapid.IntRange(0, 2).Draw(t, "role"))}
				if c.Revokes() {
					c.Keep = reps[0].chainHeads(pub(k))
					revokedEver[k] = true
				}
				if err := c.Sign(testKey(0)); err != nil {
					t.Fatalf("signing a change: %v", err)
				}
				reps[0].receive(item{c: c})
				if !reps[0].has(c.CID) {
					t.Fatalf("the admin's replica did not store its change")
				}
				changes = append(changes, c)
				broadcast(0, item{c: c})
			case op == 5 && len(inflight) > 0: // a message is lost (until catch-up)
				i := rapid.IntRange(0, len(inflight)-1).Draw(t, "lose")
				lost = append(lost, inflight[i])
				inflight = slices.Delete(inflight, i, i+1)
			default: // a message is delivered
				if len(inflight) == 0 {
					continue
				}
				i := rapid.IntRange(0, len(inflight)-1).Draw(t, "deliver")
				m := inflight[i]
				inflight = slices.Delete(inflight, i, i+1)
				reps[m.to].receive(m.it)
			}
		}
		// A change signed by someone who is not an admin is refused everywhere.
		forged := &policy.Change{Schema: s.ID, Key: pub(4), Role: crdt.RoleWriter}
		if err := forged.Sign(testKey(1)); err != nil {
			t.Fatal(err)
		}
		broadcast(-1, item{c: forged})
		// What is left arrives in random order, then catch-up: each replica
		// receives what another stores, until nothing changes.
		inflight = append(inflight, lost...)
		for len(inflight) > 0 {
			i := rapid.IntRange(0, len(inflight)-1).Draw(t, "final")
			m := inflight[i]
			inflight = slices.Delete(inflight, i, i+1)
			reps[m.to].receive(m.it)
		}
		for changed := true; changed; {
			changed = false
			for _, a := range reps {
				for _, b := range reps {
					for _, c := range slices.SortedFunc(mapKeys(a.changes), compareCIDs) {
						if !b.has(c) {
							b.receive(item{c: a.changes[c]})
							changed = true
						}
					}
					for _, c := range slices.SortedFunc(mapKeys(a.blocks), compareCIDs) {
						if !b.has(c) {
							b.receive(item{b: a.blocks[c]})
							changed = true
						}
					}
				}
			}
		}

		// All replicas agree, on what they hold and on every document's bytes.
		ref := reps[0]
		for i, r := range reps {
			for doc := range r.states {
				want := r.rebuild(doc)
				if !sameState(t, r.states[doc], want) {
					t.Fatalf("replica %d: document %s merged incrementally differs from its rebuild", i, doc)
				}
			}
			if i == 0 {
				continue
			}
			if !sameKeys(r.blocks, ref.blocks) || !sameKeys(r.changes, ref.changes) || !sameKeys(r.disowned, ref.disowned) {
				t.Fatalf("replica %d holds %d blocks, %d changes, %d disowned; replica 0 %d, %d, %d",
					i, len(r.blocks), len(r.changes), len(r.disowned), len(ref.blocks), len(ref.changes), len(ref.disowned))
			}
			if len(r.states) != len(ref.states) {
				t.Fatalf("replica %d has %d documents, replica 0 %d", i, len(r.states), len(ref.states))
			}
			for doc, st := range ref.states {
				if !sameState(t, r.states[doc], st) {
					t.Fatalf("replica %d: document %s differs from replica 0's", i, doc)
				}
			}
		}
		seen.disowned += len(ref.disowned)
		seen.refused += len(ref.refused)
		for _, r := range reps {
			seen.rebuilt += r.rebuilt
		}
		for _, ro := range rogues {
			if ro.backdated {
				seen.backdated++
			}
		}
		if ref.has(forged.CID) {
			t.Fatal("a change signed by a non-admin was stored")
		}
		// No block of a key that never was a writer is stored; a block a key
		// made after one of its revocations existed, naming none of them,
		// is refused or disowned (no back-dating).
		for _, ro := range rogues {
			if bytes.Equal(ro.b.Author, pub(4)) && ref.has(ro.b.CID) {
				t.Fatalf("an outsider's block %s was stored", ro.b.CID)
			}
			if ro.backdated && ref.has(ro.b.CID) && !ref.disowned[ro.b.CID] {
				t.Fatalf("block %s of a revoked key, back-dated before its revocation, is live", ro.b.CID)
			}
		}
		// An honest write is never lost unless a revocation of its author
		// that its writer had not seen cut it off: writes of keys never
		// revoked, and writes that name every revocation of their author made
		// so far when no other came later, stay live.
		for _, b := range honest {
			k := slices.IndexFunc([]int{0, 1, 2, 3}, func(i int) bool { return bytes.Equal(pub(i), b.Author) })
			sawAll := true
			for i, c := range changes {
				if bytes.Equal(c.Key, b.Author) && c.Revokes() && (i >= revsAt[b.CID] || !ref.g.Holds(b.Policy, c.CID)) {
					sawAll = false
				}
			}
			if (!revokedEver[k] || sawAll) && (!ref.has(b.CID) || ref.disowned[b.CID]) {
				t.Fatalf("honest block %s of key %d is not live, though no revocation it had not seen exists", b.CID, k)
			}
		}
	})
}

func sameKeys[V any](a, b map[cid.Cid]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func sameState(t *rapid.T, a, b *crdt.State) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ea, err := a.Encode()
	if err != nil {
		t.Fatalf("encoding a state: %v", err)
	}
	eb, err := b.Encode()
	if err != nil {
		t.Fatalf("encoding a state: %v", err)
	}
	return bytes.Equal(ea, eb)
}
