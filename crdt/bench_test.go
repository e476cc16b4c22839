package crdt_test

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
)

// benchBlock is a typical change: a few assignments and an increment on one parent.
func benchBlock(b *testing.B) *crdt.Block {
	s := testSchema()
	g := mustGenesis(b, s, map[string]any{"name": "Ada", "age": int64(36)}, nil)
	return mustChange(b, s, mustState(b, g), map[string]any{"name": "Ada Lovelace", "age": int64(37), "ok": true,
		"at": "2024-02-29T12:04:05Z"}, map[string]any{"hits": int64(1), "total": 0.5}, false)
}

func BenchmarkEncode(b *testing.B) {
	blk := benchBlock(b)
	b.ReportAllocs()
	for b.Loop() {
		c := *blk
		if err := c.Encode(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(blk.Data)))
}

// benchState returns the state after benchBlock's change.
func benchState(b *testing.B) *crdt.State {
	s := testSchema()
	g := mustGenesis(b, s, map[string]any{"name": "Ada", "age": int64(36)}, nil)
	st := mustState(b, g)
	mustMerge(b, st, mustChange(b, s, st, map[string]any{"name": "Ada Lovelace", "age": int64(37), "ok": true,
		"at": "2024-02-29T12:04:05Z"}, map[string]any{"hits": int64(1), "total": 0.5}, false))
	return st
}

// BenchmarkEncodeState encodes the state after benchBlock's change, as every
// merge that stores a state does.
func BenchmarkEncodeState(b *testing.B) {
	st := benchState(b)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		data, err := st.Encode()
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.SetBytes(int64(size))
}

// BenchmarkSignedSize sizes a typical unsigned change, as a transaction does
// with each change it holds for SignBatch.
func BenchmarkSignedSize(b *testing.B) {
	blk := benchBlock(b)
	author := testKey.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		c := *blk
		if _, err := c.SignedSize(author); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign signs and encodes a typical change: what every local write
// pays on top of building its block.
func BenchmarkSign(b *testing.B) {
	blk := benchBlock(b)
	b.ReportAllocs()
	for b.Loop() {
		c := *blk
		if err := c.Sign(testKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignBatch signs and encodes 100 typical changes together, as a
// CreateMany of 100 does (one signature per crdt.MaxSignedBatch); per block.
func BenchmarkSignBatch(b *testing.B) {
	blk := benchBlock(b)
	blocks := make([]*crdt.Block, 100)
	b.ReportAllocs()
	for b.Loop() {
		for i := range blocks {
			c := *blk
			blocks[i] = &c
		}
		if err := crdt.SignBatch(testKey, blocks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(blocks)), "ns/block")
}

// BenchmarkVerifyBatch verifies the signatures of 64 blocks by one author
// together, as a node verifies a message or an answer; per block.
func BenchmarkVerifyBatch(b *testing.B) {
	blocks := signedBlocks(b, 64, testKey)
	b.ReportAllocs()
	for b.Loop() {
		if err := crdt.VerifyBatch(blocks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(blocks)), "ns/block")
}

// BenchmarkVerify verifies a typical change's signature, as every receiving
// node does.
func BenchmarkVerify(b *testing.B) {
	blk, err := crdt.Decode(benchBlock(b).Data)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := blk.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	blk := benchBlock(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(blk.Data)))
	for b.Loop() {
		if _, err := crdt.Decode(blk.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStored decodes the same block as read back from the store.
func BenchmarkDecodeStored(b *testing.B) {
	blk := benchBlock(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(blk.Data)))
	for b.Loop() {
		if _, err := crdt.DecodeStored(blk.Data, blk.CID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeState decodes the state after benchBlock's change, from outside
// (DecodeState) and as read back from the store (DecodeStoredState).
func BenchmarkDecodeState(b *testing.B) {
	st := benchState(b)
	data, err := st.Encode()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		decode func([]byte) (*crdt.State, error)
	}{{"outside", crdt.DecodeState}, {"stored", crdt.DecodeStoredState}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := c.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMerge merges a history of 256 blocks (eight concurrent writers syncing every
// few writes) into a fresh state per iteration; ns/block is the cost of one Merge.
func BenchmarkMerge(b *testing.B) {
	s := testSchema()
	g := mustGenesis(b, s, nil, nil)
	const writers, perWriter = 8, 32
	states := make([]*crdt.State, writers)
	known := make([]map[string]bool, writers)
	for i := range states {
		states[i] = mustState(b, g)
		known[i] = map[string]bool{}
	}
	// history is in creation order, which is causal: each block follows its parents.
	var history []*crdt.Block
	for round := range perWriter {
		for w, st := range states {
			blk := mustChange(b, s, st, map[string]any{"name": string(rune('a' + w)), "age": int64(round)},
				map[string]any{"hits": int64(1), "total": 0.1}, false)
			mustMerge(b, st, blk)
			known[w][blk.CID.KeyString()] = true
			history = append(history, blk)
		}
		if round%4 == 3 { // everyone syncs
			for w, st := range states {
				for _, blk := range history {
					if !known[w][blk.CID.KeyString()] {
						mustMerge(b, st, blk)
						known[w][blk.CID.KeyString()] = true
					}
				}
			}
		}
	}
	order := history
	b.ReportAllocs()
	for b.Loop() {
		st, err := crdt.NewState(g)
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range order {
			if err := st.Merge(blk); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(order)), "ns/block")
}

// BenchmarkMergeSet merges a history of 256 edits of a tag set (eight concurrent
// writers, each replacing one of the set's 16 elements per edit: one removal and
// one addition, syncing every few edits) into a fresh state per iteration;
// ns/block is the cost of one Merge, state-bytes the size of the final state's
// encoding, which keeps a tag per removal (see the package doc).
func BenchmarkMergeSet(b *testing.B) {
	s := setSchema()
	initial := make([]any, 16)
	for i := range initial {
		initial[i] = fmt.Sprintf("tag-%03d", i)
	}
	g, err := crdt.NewGenesis(s, map[string]any{"tags": initial}, nil, testNonce, testKey)
	if err != nil {
		b.Fatal(err)
	}
	const writers, perWriter = 8, 32
	states := make([]*crdt.State, writers)
	known := make([]map[string]bool, writers)
	for i := range states {
		states[i] = mustState(b, g)
		known[i] = map[string]bool{}
	}
	var history []*crdt.Block
	for round := range perWriter {
		for w, st := range states {
			cur, _ := st.Value("tags")
			next := slices.Clone(cur.([]any))
			next[(round+w)%len(next)] = fmt.Sprintf("tag-w%d-r%03d", w, round)
			slices.SortFunc(next, crdt.CompareValues)
			nonce := binary.BigEndian.AppendUint64([]byte("set edit"), uint64(round*writers+w))
			blk, err := crdt.NewChange(s, st, map[string]any{"tags": slices.Compact(next)}, nil, false, nonce, testKey)
			if err != nil {
				b.Fatal(err)
			}
			mustMerge(b, st, blk)
			known[w][blk.CID.KeyString()] = true
			history = append(history, blk)
		}
		if round%4 == 3 {
			for w, st := range states {
				for _, blk := range history {
					if !known[w][blk.CID.KeyString()] {
						mustMerge(b, st, blk)
						known[w][blk.CID.KeyString()] = true
					}
				}
			}
		}
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		st, err := crdt.NewState(g)
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range history {
			if err := st.Merge(blk); err != nil {
				b.Fatal(err)
			}
		}
		data, err := st.Encode()
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(history)), "ns/block")
	b.ReportMetric(float64(size), "state-bytes")
}
