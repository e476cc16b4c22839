package crdt

import (
	"container/heap"
	"crypto/ed25519"
	"fmt"

	"github.com/ipfs/go-cid"
)

// Assignment is a last-writer-wins assignment of one field by one block.
type Assignment struct {
	Field string
	Value any // canonical; nil clears the field
	Block cid.Cid
	// Author is the key that signed the block (see Block.Author).
	Author ed25519.PublicKey
	// Height is the block's height: with the block's CID, what decides which
	// of two concurrent assignments wins.
	Height uint64
}

// Concurrent returns, for each of fields (last-writer-wins fields, which the
// caller takes from the document's State) that some block of a document's
// history assigns, the assignments that no later assignment of the same field
// overwrote: those made in blocks none of whose descendants assign the field
// again. Merge keeps the one of the greatest (height, CID bytes), so a field
// with more than one such assignment had a conflict, and the others are what
// it lost. heads are the document's heads; load returns a block of its
// history. Assignments are in descending (height, CID bytes) order, so the
// first of each field is the one State holds.
//
// Concurrent reads the history newest first, each block once, and holds for
// each block still to read the fields some descendant assigns; it stops once
// every one of fields is assigned after each block left, so a document whose
// fields were all set again recently costs only its recent blocks.
func Concurrent(heads []cid.Cid, fields []string, load func(cid.Cid) (*Block, error)) (map[string][]Assignment, error) {
	want := make(map[string]bool, len(fields))
	for _, f := range fields {
		want[f] = true
	}
	out := map[string][]Assignment{}
	// after[c] is the set of wanted fields some descendant of block c assigns,
	// complete when c is read: its children, higher, are read before it.
	// partial counts the blocks queued whose after set lacks a wanted field:
	// every block not read yet is an ancestor of a queued one, so once none
	// lacks any, nothing older can be a maximal assignment.
	after := map[cid.Cid]map[string]bool{}
	partial := 0
	q := &byHeight{}
	add := func(c cid.Cid, fields map[string]bool) error {
		if set, ok := after[c]; ok {
			wasPartial := len(set) < len(want)
			for f := range fields {
				set[f] = true
			}
			if wasPartial && len(set) == len(want) {
				partial--
			}
			return nil
		}
		b, err := load(c)
		if err != nil {
			return fmt.Errorf("crdt: block %s: %w", c, err)
		}
		after[c] = cloneSet(fields)
		if len(fields) < len(want) {
			partial++
		}
		heap.Push(q, b)
		return nil
	}
	for _, h := range heads {
		if err := add(h, nil); err != nil {
			return nil, err
		}
	}
	for partial > 0 {
		b := heap.Pop(q).(*Block)
		covered := after[b.CID]
		delete(after, b.CID)
		if len(covered) < len(want) {
			partial--
		}
		// A block every wanted field is assigned after still passes that on:
		// its parents may be reached by other paths too.
		below := cloneSet(covered)
		for f, v := range b.Set {
			if want[f] && !covered[f] {
				out[f] = append(out[f], Assignment{Field: f, Value: v, Block: b.CID, Author: b.Author, Height: b.Height})
				below[f] = true
			}
		}
		for _, p := range b.Prev {
			if err := add(p, below); err != nil {
				return nil, err
			}
		}
	}
	for f := range out {
		as := out[f]
		for i := 1; i < len(as); i++ { // insertion sort: a field rarely has more than two
			for j := i; j > 0 && wins(as[j].Height, as[j].Block, as[j-1].Height, as[j-1].Block); j-- {
				as[j], as[j-1] = as[j-1], as[j]
			}
		}
	}
	return out, nil
}

func cloneSet(s map[string]bool) map[string]bool {
	out := make(map[string]bool, len(s))
	for k := range s {
		out[k] = true
	}
	return out
}

// byHeight is a max-heap of blocks by height: a block's children, higher, come
// out before it.
type byHeight []*Block

func (h byHeight) Len() int           { return len(h) }
func (h byHeight) Less(i, j int) bool { return h[i].Height > h[j].Height }
func (h byHeight) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *byHeight) Push(x any)        { *h = append(*h, x.(*Block)) }
func (h *byHeight) Pop() any {
	old := *h
	b := old[len(old)-1]
	*h = old[:len(old)-1]
	return b
}
