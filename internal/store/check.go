package store

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb/crdt"
)

// Check verifies the store's integrity: every document record holds the hash of
// its heads and a state in canonical form, the document's genesis is stored and
// marked as one, each of its heads is a stored block of that document whose bytes
// hash to its CID, and the block log lists it (a genesis needs no log entry);
// every change-feed record decodes, lies between its collection's floor and the
// last position given, and names a stored document whose state it can read; every author
// chain head is a stored block of its collection by its author; every index
// holds exactly the entries its documents' states give (checkIndexes). It
// reads everything, so it is for tests and repair tools, not hot paths. It
// stops with ctx's error soon after ctx ends.
func (tx *Tx) Check(ctx context.Context) error {
	if err := tx.flush(); err != nil {
		return err
	}
	stop := &checkStop{ctx: ctx}
	want := tx.newIndexSums()
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixDoc}})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := stop.err(); err != nil {
			return fmt.Errorf("store: check: document records: %w", err)
		}
		k := it.Item().Key()
		var st *crdt.State
		err := value(it.Item(), func(rec []byte) error {
			_, schema, err := cid.CidFromBytes(k[1:])
			if err != nil {
				return err
			}
			doc, err := cid.Decode(string(k[1+schema.ByteLen():]))
			if err != nil {
				return err
			}
			st, err = checkDocRecord(rec, schema, doc)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: check: document record %x: %w", k, err)
		}
		want.add(st)
		if _, err := tx.GenesisData(st.Schema, st.Doc); err != nil {
			return fmt.Errorf("store: check: genesis of %s not stored as a genesis: %w", st.Doc, err)
		}
		for _, h := range st.Heads {
			data, err := tx.BlockData(st.Schema, h)
			if err != nil {
				return fmt.Errorf("store: check: head %s of %s: %w", h, st.Doc, err)
			}
			b, err := crdt.Decode(data)
			if err != nil || !b.CID.Equals(h) {
				return fmt.Errorf("store: check: head %s of %s: bytes do not decode to that block (%v)", h, st.Doc, err)
			}
			if !b.DocID().Equals(st.Doc) || !b.Schema.Equals(st.Schema) {
				return fmt.Errorf("store: check: head %s belongs to another document than %s", h, st.Doc)
			}
			if b.IsGenesis() {
				continue
			}
			if ok, err := tx.has(logKey(st.Doc, b.Height, h)); err != nil || !ok {
				return fmt.Errorf("store: check: head %s of %s missing from the block log", h, st.Doc)
			}
		}
	}
	if err := tx.checkIndexes(want, stop); err != nil {
		return err
	}
	if err := tx.checkChains(stop); err != nil {
		return err
	}
	tx.feed.mu.Lock()
	last := tx.feed.last
	tx.feed.mu.Unlock()
	return tx.checkChanges(last, stop)
}

// checkStrideRecords is how many records Check reads between two looks at
// its context.
const checkStrideRecords = 256

// checkStop tells Check's loops when to stop: its err returns the context's
// error once the context has ended, looking at it every checkStrideRecords
// calls.
type checkStop struct {
	ctx   context.Context
	calls int
}

func (s *checkStop) err() error {
	s.calls++
	if s.calls%checkStrideRecords != 0 {
		return nil
	}
	return s.ctx.Err()
}
