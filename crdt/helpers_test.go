package crdt_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/multiformats/go-multihash"
)

// testKey signs the blocks the tests make: a fixed key, so that blocks and
// their CIDs are the same on every run.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// testCID returns the CIDv1 dag-cbor sha2-256 of s.
func testCID(s string) cid.Cid {
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: 32}.Sum([]byte(s))
	if err != nil {
		panic(err)
	}
	return c
}

// testSchema has a field of every kind, a required one and two counters.
func testSchema() *crdt.Schema {
	return &crdt.Schema{
		ID:   testCID("schema User"),
		Name: "User",
		Fields: []crdt.Field{
			{Name: "age", Kind: crdt.KindInt},
			{Name: "at", Kind: crdt.KindDateTime},
			{Name: "hits", Kind: crdt.KindInt, Counter: true},
			{Name: "meta", Kind: crdt.KindJSON},
			{Name: "name", Kind: crdt.KindString},
			{Name: "ok", Kind: crdt.KindBoolean},
			{Name: "score", Kind: crdt.KindFloat},
			{Name: "title", Kind: crdt.KindString, Required: true},
			{Name: "total", Kind: crdt.KindFloat, Counter: true},
		},
	}
}

var testNonce = []byte("0123456789abcdef")

func mustGenesis(tb testing.TB, s *crdt.Schema, set, add map[string]any) *crdt.Block {
	tb.Helper()
	if set == nil {
		set = map[string]any{}
	}
	if _, ok := set["title"]; !ok {
		set["title"] = "t"
	}
	b, err := crdt.NewGenesis(s, set, add, testNonce, testKey)
	if err != nil {
		tb.Fatalf("NewGenesis: %v", err)
	}
	return b
}

func mustState(tb testing.TB, g *crdt.Block) *crdt.State {
	tb.Helper()
	st, err := crdt.NewState(g)
	if err != nil {
		tb.Fatalf("NewState: %v", err)
	}
	return st
}

// changes counts the nonces changeNonce has handed out.
var changes atomic.Uint64

// changeNonce returns the nonce of a change with increments add, as a node would
// draw it: nil without increments, else bytes no other change of the test run has.
func changeNonce(add map[string]any) []byte {
	if len(add) == 0 {
		return nil
	}
	return binary.BigEndian.AppendUint64([]byte("change: "), changes.Add(1))
}

func mustChange(tb testing.TB, s *crdt.Schema, st *crdt.State, set, add map[string]any, del bool) *crdt.Block {
	tb.Helper()
	b, err := crdt.NewChange(s, st, set, add, del, changeNonce(add), testKey)
	if err != nil {
		tb.Fatalf("NewChange: %v", err)
	}
	return b
}

func mustMerge(tb testing.TB, st *crdt.State, b *crdt.Block) {
	tb.Helper()
	if err := st.Merge(b); err != nil {
		tb.Fatalf("Merge: %v", err)
	}
}

// wantErr fails unless err wraps target and its message contains substr.
func wantErr(tb testing.TB, err, target error, substr string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %v containing %q", target, substr)
	}
	if !errors.Is(err, target) {
		tb.Fatalf("error %q does not wrap %q", err, target)
	}
	if !strings.Contains(err.Error(), substr) {
		tb.Fatalf("error %q does not contain %q", err, substr)
	}
}

// rawMap encodes a dag-cbor map of the given entries in canonical form (sorted keys),
// so that tests can build well-formed bytes with invalid content.
func rawMap(tb testing.TB, entries map[string]qp.Assemble) []byte {
	tb.Helper()
	n, err := qp.BuildMap(basicnode.Prototype.Any, int64(len(entries)), func(ma datamodel.MapAssembler) {
		for k, v := range entries {
			qp.MapEntry(ma, k, v)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(n, &buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func link(c cid.Cid) qp.Assemble { return qp.Link(cidlink.Link{Cid: c}) }

func links(cs ...cid.Cid) qp.Assemble {
	return qp.List(int64(len(cs)), func(la datamodel.ListAssembler) {
		for _, c := range cs {
			qp.ListEntry(la, link(c))
		}
	})
}

func scalars(m map[string]qp.Assemble) qp.Assemble {
	return qp.Map(int64(len(m)), func(ma datamodel.MapAssembler) {
		for k, v := range m {
			qp.MapEntry(ma, k, v)
		}
	})
}

// sortedCIDs returns cs sorted by bytes.
func sortedCIDs(cs ...cid.Cid) []cid.Cid {
	slices.SortFunc(cs, func(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) })
	return cs
}
