package store_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"testing"

	"github.com/ipfs/go-cid"
	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// testKey signs the blocks the tests make outside a node: a fixed key, so that
// their bytes are the same on every run.
var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// Badger starts goroutines at Open; every one must be gone after Close.
func TestMain(m *testing.M) {
	if dir := os.Getenv(openChildEnv); dir != "" {
		openChild(dir)
		return
	}
	if dir := os.Getenv(writeChildEnv); dir != "" {
		writeChild(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

// testSDL defines the collections the tests use: User has a field of each scalar
// kind the tests need and a counter; Post is a second collection.
const testSDL = `
type User {
	name: String
	age: Int
	verified: Boolean
	points: Float
	hits: Int @crdt(type: pncounter)
}
type Post { title: String! }
`

// testSchemas returns the User and Post schemas, with IDs from internal/schema.
func testSchemas(tb testing.TB) (user, post *crdt.Schema) {
	tb.Helper()
	ss, err := schema.Parse(testSDL)
	if err != nil {
		tb.Fatalf("schema.Parse: %v", err)
	}
	if len(ss) != 2 {
		tb.Fatalf("schema.Parse gave %d schemas, want 2", len(ss))
	}
	return ss[0], ss[1]
}

// openMem opens an in-memory store that is closed at the end of the test.
func openMem(tb testing.TB) *store.Store {
	tb.Helper()
	return openStore(tb, "", nil)
}

// openEmpty opens the store in dir as it is and closes it at the end of the test.
func openEmpty(tb testing.TB, dir string, opts *store.Options) *store.Store {
	tb.Helper()
	s, err := store.Open(dir, opts)
	if err != nil {
		tb.Fatalf("store.Open(%q): %v", dir, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// openStore opens the store in dir, with the collections of testSDL stored as a
// node stores them before any of their documents, and closes it at the end of the
// test (closing twice is allowed, so a test may close it earlier).
func openStore(tb testing.TB, dir string, opts *store.Options) *store.Store {
	tb.Helper()
	s := openEmpty(tb, dir, opts)
	user, post := testSchemas(tb)
	err := s.Update(func(tx *store.Tx) error {
		for _, sc := range []*crdt.Schema{user, post} {
			def, err := schema.Encode(sc)
			if err != nil {
				return err
			}
			if err := tx.PutCollection(sc.Name, def); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("storing the test collections: %v", err)
	}
	return s
}

// genesis builds the first block of a new document of s with the given fields and
// a random nonce.
func genesis(tb testing.TB, s *crdt.Schema, set map[string]any) *crdt.Block {
	tb.Helper()
	b, err := crdt.NewGenesis(s, set, nil, newNonce(), testKey)
	if err != nil {
		tb.Fatalf("NewGenesis: %v", err)
	}
	return b
}

// newNonce returns a random nonce, as a node draws for a genesis block or a change
// with increments.
func newNonce() []byte {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	return nonce
}

// change builds a change on state st, with a random nonce if it has increments.
func change(tb testing.TB, s *crdt.Schema, st *crdt.State, set, add map[string]any) *crdt.Block {
	tb.Helper()
	var nonce []byte
	if len(add) > 0 {
		nonce = newNonce()
	}
	b, err := crdt.NewChange(s, st, set, add, false, nonce, testKey)
	if err != nil {
		tb.Fatalf("NewChange: %v", err)
	}
	return b
}

// localState returns the state of genesis g merged with blocks, computed without a
// store, to build changes on blocks that are not stored.
func localState(tb testing.TB, g *crdt.Block, blocks ...*crdt.Block) *crdt.State {
	tb.Helper()
	st, err := crdt.NewState(g)
	if err != nil {
		tb.Fatalf("NewState: %v", err)
	}
	for _, b := range blocks {
		if err := st.Merge(b); err != nil {
			tb.Fatalf("Merge: %v", err)
		}
	}
	return st
}

// apply applies blocks in order, each in its own transaction, and returns the
// state after the last one.
func apply(tb testing.TB, s *store.Store, blocks ...*crdt.Block) *crdt.State {
	tb.Helper()
	var st *crdt.State
	for _, b := range blocks {
		err := s.Update(func(tx *store.Tx) error {
			var applied bool
			var err error
			st, applied, err = tx.Apply(b)
			if err == nil && !applied {
				err = errors.New("block already stored")
			}
			return err
		})
		if err != nil {
			tb.Fatalf("Apply %s: %v", b.CID, err)
		}
	}
	return st
}

// storedState returns the stored state of doc, failing the test if there is none.
func storedState(tb testing.TB, s *store.Store, schemaID, doc cid.Cid) *crdt.State {
	tb.Helper()
	var st *crdt.State
	err := s.View(func(tx *store.Tx) error {
		var err error
		st, err = tx.State(schemaID, doc)
		return err
	})
	if err != nil {
		tb.Fatalf("State %s: %v", doc, err)
	}
	return st
}

// encodeState returns st's canonical bytes.
func encodeState(tb testing.TB, st *crdt.State) []byte {
	tb.Helper()
	data, err := st.Encode()
	if err != nil {
		tb.Fatalf("State.Encode: %v", err)
	}
	return data
}

type logEntry struct {
	CID    cid.Cid
	Height uint64
	Size   int
}

// docLog returns the stored blocks of document doc from minHeight, as the blocks
// server lists them: its genesis (GenesisData, in the collection with the given
// schema ID), then its block log (DocLog).
func docLog(tb testing.TB, s *store.Store, schema, doc cid.Cid, minHeight uint64) []logEntry {
	tb.Helper()
	var log []logEntry
	err := s.View(func(tx *store.Tx) error {
		g, err := tx.GenesisData(schema, doc)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if minHeight <= 1 {
			log = append(log, logEntry{doc, 1, len(g)})
		}
		return tx.DocLog(doc, minHeight, func(e store.LogEntry) error {
			log = append(log, logEntry{e.CID, e.Height, e.Size})
			return nil
		})
	})
	if err != nil {
		tb.Fatalf("blocks of %s: %v", doc, err)
	}
	return log
}

// docIDs returns the IDs Docs lists for schemaID from `from`, and whether each is deleted.
func docIDs(tb testing.TB, s *store.Store, schemaID cid.Cid, from string) ([]string, map[string]bool) {
	tb.Helper()
	var ids []string
	deleted := map[string]bool{}
	err := s.View(func(tx *store.Tx) error {
		return tx.Docs(schemaID, from, func(id string, st *crdt.State) error {
			if st.Doc.String() != id {
				return errors.New("Docs gave state of " + st.Doc.String() + " under ID " + id)
			}
			ids = append(ids, id)
			deleted[id] = st.Deleted
			return nil
		})
	})
	if err != nil {
		tb.Fatalf("Docs: %v", err)
	}
	return ids, deleted
}

// assertNothingStored fails the test if any trace of blocks is in s: the block,
// its document's state (for a genesis) or a log entry.
func assertNothingStored(tb testing.TB, s *store.Store, blocks ...*crdt.Block) {
	tb.Helper()
	err := s.View(func(tx *store.Tx) error {
		for _, b := range blocks {
			if ok, err := tx.Has(b); err != nil || ok {
				tb.Errorf("block %s (height %d) stored (err %v)", b.CID, b.Height, err)
			}
			if _, err := tx.BlockData(b.Schema, b.CID); !errors.Is(err, store.ErrNotFound) {
				tb.Errorf("BlockData(%s): got %v, want ErrNotFound", b.CID, err)
			}
			if b.IsGenesis() {
				if _, err := tx.State(b.Schema, b.CID); !errors.Is(err, store.ErrNotFound) {
					tb.Errorf("State of %s: got %v, want ErrNotFound", b.CID, err)
				}
			}
			err := tx.DocLog(b.DocID(), 0, func(e store.LogEntry) error {
				if e.CID.Equals(b.CID) {
					tb.Errorf("block log of %s lists %s", b.DocID(), b.CID)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("View: %v", err)
	}
}

// check runs Store.Check in a read transaction.
func check(s *store.Store) error {
	return s.View(func(tx *store.Tx) error { return tx.Check(context.Background()) })
}
