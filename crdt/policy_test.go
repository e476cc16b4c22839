package crdt_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

func TestBlockPolicyHeadsAndAuthorPrev(t *testing.T) {
	s := testSchema()
	g := mustGenesis(t, s, map[string]any{"name": "a"}, nil)
	st := mustState(t, g)
	b := mustChange(t, s, st, map[string]any{"name": "b"}, nil, false)
	plain := b.CID
	b.Policy = sortedCIDs(testCID("p1"), testCID("p2"))
	b.AuthorPrev = g.CID
	if err := b.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	if b.CID.Equals(plain) {
		t.Fatal("policy heads and author prev do not change the CID")
	}
	got, err := crdt.Decode(b.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	if len(got.Policy) != 2 || !got.Policy[0].Equals(b.Policy[0]) || !got.AuthorPrev.Equals(g.CID) {
		t.Fatalf("decoded pol %v aup %v, want %v %v", got.Policy, got.AuthorPrev, b.Policy, g.CID)
	}
	// The signature covers them: a block that names other heads does not verify.
	forged := *got
	forged.Policy = []cid.Cid{testCID("p3")}
	forged.Data, forged.CID = nil, cid.Undef
	if err := forged.Encode(); err != nil {
		t.Fatal(err)
	}
	if err := forged.Verify(); !errors.Is(err, crdt.ErrSignature) {
		t.Fatalf("Verify of a block whose policy heads changed: %v, want ErrSignature", err)
	}
	// Unsorted heads are refused.
	bad := *got
	bad.Policy = []cid.Cid{b.Policy[1], b.Policy[0]}
	if err := bad.Sign(testKey); !errors.Is(err, crdt.ErrInvalidBlock) {
		t.Fatalf("Sign with unsorted policy heads: %v, want ErrInvalidBlock", err)
	}
	// A block without them encodes without their keys.
	if bytes.Contains(g.Data, []byte("pol")) || bytes.Contains(g.Data, []byte("aup")) {
		t.Fatal("an open collection's block carries policy keys")
	}
}
