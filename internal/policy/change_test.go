package policy_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/policy"
)

func signedChange(t testing.TB, signer int, role crdt.Role) *policy.Change {
	t.Helper()
	s := testSchema(t)
	c := &policy.Change{Schema: s.ID, Key: pub(3), Role: role}
	if err := c.Sign(testKey(signer)); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChangeRoundTrip(t *testing.T) {
	c := signedChange(t, 0, crdt.RoleWriter)
	got, err := policy.DecodeChange(c.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CID.Equals(c.CID) || got.Role != crdt.RoleWriter || got.Verify() != nil {
		t.Fatalf("decoded %+v, want %+v with a valid signature", got, c)
	}
	// A signature over other content does not verify.
	got.Role = crdt.RoleReader
	if err := got.Verify(); !errors.Is(err, policy.ErrInvalidChange) {
		t.Fatalf("Verify after changing the role: %v, want ErrInvalidChange", err)
	}
	for _, bad := range [][]byte{nil, {0xa0}, c.Data[:len(c.Data)-1], append(append([]byte{}, c.Data...), 0)} {
		if _, err := policy.DecodeChange(bad); !errors.Is(err, policy.ErrInvalidChange) {
			t.Errorf("DecodeChange(%x): %v, want ErrInvalidChange", bad, err)
		}
	}
	admin := &policy.Change{Schema: c.Schema, Key: pub(3), Role: crdt.RoleAdmin}
	if err := admin.Sign(testKey(0)); !errors.Is(err, policy.ErrInvalidChange) {
		t.Fatalf("a change granting admin: %v, want ErrInvalidChange", err)
	}
}

func TestGraphRules(t *testing.T) {
	s := testSchema(t)
	g := policy.NewGraph(s.ID, s.Policy)
	// Rule 3: only an admin changes the policy, and never an admin's role.
	if err := g.Add(signedChange(t, 1, crdt.RoleWriter)); !errors.Is(err, policy.ErrDenied) || err.Error() != "not an admin" {
		t.Fatalf("a writer's change: %v, want ErrDenied, not an admin", err)
	}
	demote := &policy.Change{Schema: s.ID, Key: pub(0), Role: crdt.RoleNone}
	if err := demote.Sign(testKey(0)); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(demote); !errors.Is(err, policy.ErrInvalidChange) {
		t.Fatalf("a change of an admin's role: %v, want ErrInvalidChange", err)
	}
	grant := signedChange(t, 0, crdt.RoleWriter)
	if err := g.Add(grant); err != nil {
		t.Fatal(err)
	}
	// Rule 2: concurrent grant and revocation, the revocation wins; one
	// after the other, the later wins.
	revoke := &policy.Change{Schema: s.ID, Key: pub(3), Role: crdt.RoleReader}
	if err := revoke.Sign(testKey(0)); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(revoke); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		heads []*policy.Change
		want  crdt.Role
	}{{nil, crdt.RoleReader}, {[]*policy.Change{grant}, crdt.RoleWriter}, {[]*policy.Change{grant, revoke}, crdt.RoleReader}} {
		var heads []cid.Cid
		for _, c := range tc.heads {
			heads = append(heads, c.CID)
		}
		if got, err := g.Role(sortCIDs(heads), pub(3)); err != nil || got != tc.want {
			t.Errorf("role at %v: %v, %v; want %v", heads, got, err, tc.want)
		}
	}
	later := &policy.Change{Schema: s.ID, Prev: []cid.Cid{revoke.CID}, Key: pub(3), Role: crdt.RoleWriter}
	if err := later.Sign(testKey(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Role([]cid.Cid{later.CID}, pub(3)); !errors.Is(err, policy.ErrMissing) {
		t.Fatalf("role at an unknown change: %v, want ErrMissing", err)
	}
	if err := g.Add(later); err != nil {
		t.Fatal(err)
	}
	if got, _ := g.Role(sortCIDs([]cid.Cid{grant.CID, later.CID}), pub(3)); got != crdt.RoleWriter {
		t.Fatalf("a grant after the revocation: %v, want writer", got)
	}
}

func FuzzDecodeChange(f *testing.F) {
	f.Add(signedChange(f, 0, crdt.RoleWriter).Data)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := policy.DecodeChange(data)
		if err != nil {
			if !errors.Is(err, policy.ErrInvalidChange) {
				t.Fatalf("error %v does not wrap ErrInvalidChange", err)
			}
			return
		}
		// Only canonical bytes decode: the round trip gives them back.
		again, err := policy.DecodeChange(c.Data)
		if err != nil || !again.CID.Equals(c.CID) {
			t.Fatalf("a decoded change does not decode again: %v", err)
		}
	})
}

func sortCIDs(cs []cid.Cid) []cid.Cid {
	slices.SortFunc(cs, compareCIDs)
	return cs
}

// TestDisownedCachesNothingUncommitted checks that what Disowned learns
// through a lookup that sees blocks not yet stored for good (those of a
// transaction that has not committed, and may fail) is not what Complete
// reports through a lookup of the stored blocks: only Complete caches a
// revocation's kept chains.
func TestDisownedCachesNothingUncommitted(t *testing.T) {
	s := testSchema(t)
	g := policy.NewGraph(s.ID, s.Policy)
	block := func(n int64, prev cid.Cid) *crdt.Block {
		b, err := crdt.NewGenesis(s, map[string]any{"n": n}, nil, bytes.Repeat([]byte{byte(n)}, 8), testKey(1))
		if err != nil {
			t.Fatal(err)
		}
		b.AuthorPrev = prev
		if err := b.Sign(testKey(1)); err != nil {
			t.Fatal(err)
		}
		return b
	}
	kept := block(1, cid.Undef) // the chain the revocation keeps
	later := block(2, kept.CID) // written after it: not kept
	r := &policy.Change{Schema: s.ID, Key: pub(1), Role: crdt.RoleNone, Keep: []cid.Cid{kept.CID}}
	if err := r.Sign(testKey(0)); err != nil {
		t.Fatal(err)
	}
	if err := g.Add(r); err != nil {
		t.Fatal(err)
	}
	lookup := func(blocks ...*crdt.Block) policy.Lookup {
		return func(c cid.Cid) (*crdt.Block, bool) {
			i := slices.IndexFunc(blocks, func(b *crdt.Block) bool { return b.CID.Equals(c) })
			if i < 0 {
				return nil, false
			}
			return blocks[i], true
		}
	}
	stored := lookup(later)      // what the store holds
	inTxn := lookup(later, kept) // and what a transaction stores, uncommitted
	if !g.Disowned(later, inTxn) {
		t.Fatal("a block the complete revocation does not keep is not disowned")
	}
	if g.Complete(r, stored) {
		t.Fatal("Complete reports the revocation complete while a block of its kept chain is not stored: Disowned cached what a transaction had not committed")
	}
	if g.Disowned(later, stored) {
		t.Fatal("Disowned disowns a block for a revocation not complete in the stored blocks")
	}
	if !g.Complete(r, inTxn) || !g.Disowned(later, stored) {
		t.Fatal("once Complete saw the kept chain whole, the block is not disowned")
	}
}
