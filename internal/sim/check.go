package sim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// replica is what one subscriber holds, as the checks compare it.
type replica struct {
	node int
	has  map[cid.Cid]bool // which acknowledged blocks it stores
	docs []docState       // its documents, in ID order
}

type docState struct {
	id    string
	state *crdt.State
	data  []byte // the encoded state
}

// snapshot reads what node nd holds of the acknowledged blocks and its documents.
func (w *world) snapshot(nd *node) replica {
	r := replica{node: nd.i, has: make(map[cid.Cid]bool, len(w.model.blocks))}
	nd.view(func(tx *store.Tx) error {
		for _, c := range w.model.blocks {
			_, err := tx.BlockData(w.schema.ID, c)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			r.has[c] = err == nil
		}
		if err := tx.Docs(w.schema.ID, "", func(id string, st *crdt.State) error {
			r.docs = append(r.docs, docState{id: id, state: st})
			return nil
		}); err != nil {
			return err
		}
		i := 0
		return tx.DocData(w.schema.ID, func(id string, data []byte) error {
			if i >= len(r.docs) || r.docs[i].id != id {
				return fmt.Errorf("DocData lists %s where Docs did not", id)
			}
			r.docs[i].data = bytes.Clone(data)
			i++
			return nil
		})
	})
	return r
}

// fingerprint hashes a replica's documents and encoded states.
func (r replica) fingerprint() [32]byte {
	h := sha256.New()
	for _, d := range r.docs {
		h.Write([]byte(d.id))
		h.Write(d.data)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// converged reports whether every subscriber holds the same documents with the
// same heads (states follow from the blocks) and every acknowledged block. The
// heads are compared first: they are cheap to read.
func (w *world) converged() bool {
	subs := w.subscribers()
	var first [32]byte
	for i, nd := range subs {
		h := sha256.New()
		nd.view(func(tx *store.Tx) error {
			return tx.HeadsHashes(w.schema.ID, "", func(id string, hash [32]byte) error {
				h.Write([]byte(id))
				h.Write(hash[:])
				return nil
			})
		})
		var fp [32]byte
		h.Sum(fp[:0])
		if i == 0 {
			first = fp
		} else if fp != first {
			return false
		}
	}
	if len(subs) == 0 {
		return true
	}
	for _, ok := range w.snapshot(subs[0]).has {
		if !ok {
			return false
		}
	}
	return true
}

// check runs the checks on every subscriber and records what fails.
func (w *world) check() error {
	var reps []replica
	for _, nd := range w.subscribers() {
		reps = append(reps, w.snapshot(nd))
	}
	for _, nd := range w.nodes {
		w.checkIndexes(nd)
	}
	if err := w.failure(); err != nil {
		return err
	}
	r := w.report
	r.Acked = len(w.model.blocks)
	lost, unexpected, divergent, problems := w.model.check(reps)
	r.Lost, r.Unexpected, r.Divergent = lost, unexpected, divergent
	r.Problems = append(r.Problems, problems...)
	if r.Converged < 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("not converged %v after the last heal", w.cfg.Bound))
	}
	if len(reps) < 2 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d subscribers at the end, want every node", len(reps)))
	}
	return nil
}

// check compares replicas with the model of acknowledged writes: lost counts
// acknowledged blocks, deletes and increments missing on a replica; unexpected
// counts documents, values and counter totals that no acknowledged write
// explains; divergent counts replicas whose documents differ from the first's.
func (m *model) check(reps []replica) (lost, unexpected, divergent int, problems []string) {
	for _, r := range reps {
		for _, c := range m.blocks {
			if !r.has[c] {
				lost++
				problems = append(problems, fmt.Sprintf("n%d lacks acknowledged block %s", r.node, c))
			}
		}
		for _, d := range r.docs {
			id, err := cid.Decode(d.id)
			want := m.docs[id]
			if err != nil || want == nil {
				unexpected++
				problems = append(problems, fmt.Sprintf("n%d holds document %s that nobody created", r.node, d.id))
				continue
			}
			if d.state.Deleted != want.deleted {
				if want.deleted {
					lost++
				} else {
					unexpected++
				}
				problems = append(problems, fmt.Sprintf("n%d: document %s deleted %v, want %v", r.node, d.id, d.state.Deleted, want.deleted))
			}
			if v, _ := d.state.Value("name"); !want.names[fmt.Sprint(v)] {
				unexpected++
				problems = append(problems, fmt.Sprintf("n%d: document %s name %v, which nobody wrote", r.node, d.id, v))
			}
			if v, _ := d.state.Value("count"); v != want.count {
				unexpected++
				problems = append(problems, fmt.Sprintf("n%d: document %s count %v, want the sum of the increments %d", r.node, d.id, v, want.count))
			}
		}
	}
	for _, r := range reps[min(1, len(reps)):] {
		if r.fingerprint() != reps[0].fingerprint() {
			divergent++
			problems = append(problems, fmt.Sprintf("n%d differs from n%d", r.node, reps[0].node))
		}
	}
	return lost, unexpected, divergent, problems
}
