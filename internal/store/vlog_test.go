package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// bigGenesis returns a genesis block of user of exactly crdt.MaxBlockSize bytes:
// its document record is larger than Badger's value threshold (1 MiB), so Badger
// keeps it in the value log rather than in a table.
func bigGenesis(t *testing.T, user *crdt.Schema) *crdt.Block {
	t.Helper()
	probe := genesis(t, user, map[string]any{"name": strings.Repeat("a", crdt.MaxBlockSize-1000)})
	overhead := len(probe.Data) - (crdt.MaxBlockSize - 1000)
	g := genesis(t, user, map[string]any{"name": strings.Repeat("a", crdt.MaxBlockSize-overhead)})
	if len(g.Data) != crdt.MaxBlockSize {
		t.Fatalf("genesis of %d bytes, want %d", len(g.Data), crdt.MaxBlockSize)
	}
	return g
}

// damageValueLog changes one byte of the document in the value log of dir.
func damageValueLog(t *testing.T, dir string) {
	t.Helper()
	vlog := filepath.Join(dir, "000001.vlog")
	f, err := os.OpenFile(vlog, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// An open value log is a sparse file of Badger's maximum size: read only its
	// start, where the document is.
	data, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(strings.Repeat("a", 64)))
	if i < 0 {
		t.Fatalf("the document is not in %s (%d bytes)", vlog, len(data))
	}
	if _, err := f.WriteAt([]byte("b"), int64(i+1000)); err != nil {
		t.Fatal(err)
	}
}

// A value Badger keeps in its value log (1 MiB or more) carries a checksum that
// Badger checks only when asked, and a value Badger cannot read comes back empty
// with a log line: reading a damaged one must fail, not return altered or no data.
func TestDamagedValueLogReadFails(t *testing.T) {
	user, _ := testSchemas(t)
	read := func(s *store.Store, g *crdt.Block) error {
		return s.View(func(tx *store.Tx) error {
			st, err := tx.State(user.ID, g.CID)
			if err != nil {
				return err
			}
			if name, _ := st.Fields["name"].Value.(string); strings.Contains(name, "b") {
				return errors.New("the document came back altered")
			}
			return nil
		})
	}
	t.Run("damaged while open", func(t *testing.T) {
		dir := t.TempDir()
		s := openStore(t, dir, nil)
		g := bigGenesis(t, user)
		apply(t, s, g)
		damageValueLog(t, dir)
		if err := read(s, g); !errors.Is(err, store.ErrDamaged) {
			t.Fatalf("reading the damaged document: got %v, want ErrDamaged", err)
		}
	})
	t.Run("damaged while closed", func(t *testing.T) {
		// Badger cuts the value log at the damaged entry when it opens it.
		dir := t.TempDir()
		s := openStore(t, dir, nil)
		g := bigGenesis(t, user)
		apply(t, s, g)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		damageValueLog(t, dir)
		s = openEmpty(t, dir, nil)
		if err := read(s, g); !errors.Is(err, store.ErrDamaged) {
			t.Fatalf("reading the damaged document: got %v, want ErrDamaged", err)
		}
	})
}

// An in-memory store has no value log: a record of 1 MiB or more (the
// document record of a genesis of crdt.MaxBlockSize) is refused with
// ErrTxnTooLarge, and nothing is written. On disk the same block is stored.
func TestInMemoryRefusesValueLogRecords(t *testing.T) {
	user, _ := testSchemas(t)
	g := bigGenesis(t, user)
	mem := openMem(t)
	err := mem.Update(func(tx *store.Tx) error {
		_, _, err := tx.Apply(g)
		return err
	})
	if !errors.Is(err, store.ErrTxnTooLarge) || !strings.Contains(err.Error(), "in-memory") || len(err.Error()) > 200 {
		t.Fatalf("a genesis of %d bytes in memory: %v, want a short ErrTxnTooLarge naming the in-memory store", len(g.Data), err)
	}
	if err := mem.View(func(tx *store.Tx) error {
		if ok, err := tx.Has(g); err != nil || ok {
			return fmt.Errorf("Has = %v, %v after the refused write", ok, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	apply(t, openEmpty(t, t.TempDir(), nil), g)
}
