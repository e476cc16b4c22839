package store

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"
)

// DocData calls fn for each document of the collection with the given schema ID,
// in ID order, with its encoded state (crdt.State encoding), stopping at the first
// error fn returns. data is valid only during the call. A document that has
// merged only its genesis block has no stored state; DocData computes and
// encodes it.
//
// Computing a genesis's state is most of the cost (about 7 µs a document), so
// DocData reads the records in batches and computes their states on a worker
// per CPU, a few batches ahead of fn, which still sees the documents one at a
// time and in order. What it holds at once is bounded: docDataAhead batches
// of at most docDataBatchBytes of records (or one record, if larger) and
// their states.
func (tx *Tx) DocData(schema cid.Cid, fn func(id string, data []byte) error) error {
	if err := tx.flush(); err != nil {
		return err
	}
	prefix := key(prefixDoc, schema.Bytes())
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()

	work := make(chan *docDataBatch)
	var workers sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), docDataAhead) {
		workers.Go(func() {
			for b := range work {
				b.encode()
			}
		})
	}
	defer workers.Wait()
	defer close(work) // before Wait: deferred calls run last first

	var ahead []*docDataBatch // sent to the workers, in order, not yet given to fn
	next := func() error {
		b := ahead[0]
		ahead = ahead[1:]
		return b.emit(fn)
	}
	b := new(docDataBatch)
	send := func() error {
		b.done = make(chan struct{})
		work <- b
		ahead = append(ahead, b)
		b = new(docDataBatch)
		if len(ahead) > docDataAhead {
			return next()
		}
		return nil
	}
	var readErr error
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if readErr = b.add(string(item.Key()[len(prefix):]), item); readErr != nil {
			break
		}
		if b.full() {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(b.ids) > 0 {
		if err := send(); err != nil {
			return err
		}
	}
	for len(ahead) > 0 {
		if err := next(); err != nil {
			return err
		}
	}
	return readErr
}

// The bounds of DocData's reading ahead.
const (
	docDataBatchDocs  = 256       // documents in a batch, at most
	docDataBatchBytes = 256 << 10 // bytes of records in a batch, at most (but one record)
	docDataAhead      = 4         // batches read ahead of fn, at most; and workers
)

// docDataBatch is a run of consecutive documents of DocData whose states a
// worker computes.
type docDataBatch struct {
	ids  []string
	recs []byte // the records, one after the other
	ends []int  // where each record ends in recs
	// Set by encode, before done is closed:
	data [][]byte // the encoded states of the documents before the first failure, if any
	err  error    // the failure of document len(data)
	done chan struct{}
}

// add appends document id, whose record item is, to b.
func (b *docDataBatch) add(id string, item *badger.Item) error {
	err := value(item, func(rec []byte) error {
		b.recs = append(b.recs, rec...)
		return nil
	})
	if err != nil {
		return err
	}
	b.ids = append(b.ids, id)
	b.ends = append(b.ends, len(b.recs))
	return nil
}

func (b *docDataBatch) full() bool {
	return len(b.ids) == docDataBatchDocs || len(b.recs) >= docDataBatchBytes
}

// encode computes the encoded state of each of b's documents, stopping at the
// first that fails.
func (b *docDataBatch) encode() {
	defer close(b.done)
	b.data = make([][]byte, 0, len(b.ids))
	start := 0
	for i, id := range b.ids {
		rec := b.recs[start:b.ends[i]:b.ends[i]]
		start = b.ends[i]
		data, err := docData(id, rec)
		if err != nil {
			b.err = err
			return
		}
		b.data = append(b.data, data)
	}
}

// emit waits for b's states and calls fn for each document, in order.
func (b *docDataBatch) emit(fn func(id string, data []byte) error) error {
	<-b.done
	for i, data := range b.data {
		if err := fn(b.ids[i], data); err != nil {
			return err
		}
	}
	return b.err
}

// docData returns the encoded state of document id, whose record is rec.
func docData(id string, rec []byte) ([]byte, error) {
	doc, err := cid.Decode(id)
	if err != nil {
		return nil, fmt.Errorf("store: document key %q: %w", id, err)
	}
	data, err := encodedState(rec, doc)
	if err != nil {
		return nil, fmt.Errorf("store: state of %s: %w", id, err)
	}
	return data, nil
}
