package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// openChildEnv makes the test binary open the store in the directory it names and
// report what happened (see openChild): a panic inside Badger then fails the test
// instead of killing the test binary.
const openChildEnv = "GOSSIPDB_STORE_OPEN_CHILD"

// openChild is the child process of openInChild: it opens the store, lists the
// User documents and prints one line: "DAMAGED <file>" for an error matching
// ErrDamaged that names a file, "ERR <error>" for another error, else
// "OK <number of documents>".
func openChild(dir string) {
	schemas, err := schema.Parse(testSDL)
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	user := schemas[0]
	s, err := store.Open(dir, nil)
	if err != nil {
		var de *store.DamageError
		if errors.Is(err, store.ErrDamaged) && errors.As(err, &de) {
			fmt.Println("DAMAGED", de.File)
			return
		}
		fmt.Println("ERR", err)
		return
	}
	defer s.Close()
	n := 0
	err = s.View(func(tx *store.Tx) error {
		return tx.Docs(user.ID, "", func(string, *crdt.State) error { n++; return nil })
	})
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	fmt.Println("OK", n)
}

// openInChild opens the store in dir in a child process (openChild) and
// returns the line it printed; a child that crashed fails the test.
func openInChild(t *testing.T, dir string) string {
	t.Helper()
	return inChild(t, openChildEnv, dir)
}

// inChild runs the test binary in a child process with the environment
// variable env set to dir (see TestMain) and returns the line it printed; a
// child that crashed fails the test.
func inChild(t *testing.T, env, dir string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the child process crashed: %v\n%.2000s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// writeChildEnv makes the test binary write one User document to the store in
// the directory it names and exit without closing it, as a crash would (see
// writeChild).
const writeChildEnv = "GOSSIPDB_STORE_WRITE_CHILD"

// writeChild is the child process that writeChildEnv starts: it opens the store, writes
// one User document and exits without closing the store, printing "OK" once
// the write is committed, or "ERR <error>".
func writeChild(dir string) {
	schemas, err := schema.Parse(testSDL)
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	s, err := store.Open(dir, nil)
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	b, err := crdt.NewGenesis(schemas[0], map[string]any{"name": "in the write-ahead log"}, nil, newNonce(), testKey)
	if err == nil {
		err = s.Update(func(tx *store.Tx) error {
			_, _, err := tx.Apply(b)
			return err
		})
	}
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	fmt.Println("OK")
	os.Exit(0) // the store stays open: its memtable is only in its write-ahead log
}

// docsOnDisk is how many documents storeOnDisk writes.
const docsOnDisk = 3000

// storeOnDisk writes docsOnDisk User documents to a store in a new directory,
// closes it so that they are flushed to a table file, and returns the directory
// and the path of that table.
func storeOnDisk(t *testing.T) (dir, tablePath string) {
	t.Helper()
	user, _ := testSchemas(t)
	dir = t.TempDir()
	s := openStore(t, dir, nil)
	for k := 0; k < docsOnDisk; k += 500 {
		err := s.Update(func(tx *store.Tx) error {
			for i := k; i < k+500; i++ {
				g := genesis(t, user, map[string]any{"name": fmt.Sprintf("user-%06d", i), "age": int64(i)})
				if _, _, err := tx.Apply(g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) != 1 {
		t.Fatalf("want the documents in one table file, found %v", tables)
	}
	return dir, tables[0]
}

func TestUndamagedStoreOpens(t *testing.T) {
	dir, _ := storeOnDisk(t)
	if got, want := openInChild(t, dir), fmt.Sprint("OK ", docsOnDisk); got != want {
		t.Fatalf("child printed %q, want %q", got, want)
	}
}

// Without its MANIFEST Badger would start an empty store and delete the tables.
func TestOpenRefusesMissingManifest(t *testing.T) {
	dir, table := storeOnDisk(t)
	manifest := filepath.Join(dir, "MANIFEST")
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(dir, nil)
	var de *store.DamageError
	if !errors.Is(err, store.ErrDamaged) || !errors.As(err, &de) || de.File != manifest {
		t.Fatalf("Open: got %v, want ErrDamaged naming %s", err, manifest)
	}
	if _, err := os.Stat(table); err != nil {
		t.Fatalf("the table is gone after a refused Open: %v", err)
	}
}

func TestOpenRefusesMissingTable(t *testing.T) {
	dir, table := storeOnDisk(t)
	if err := os.Remove(table); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(dir, nil)
	var de *store.DamageError
	if !errors.Is(err, store.ErrDamaged) || !errors.As(err, &de) || de.File != table {
		t.Fatalf("Open: got %v, want ErrDamaged naming %s", err, table)
	}
}

// A truncated table made Badger panic; a flipped byte made it skip documents
// silently. Each is refused, naming the table.
func TestOpenRefusesDamagedTable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, table string)
	}{
		{"cut in half", func(t *testing.T, table string) {
			st, err := os.Stat(table)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(table, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"empty", func(t *testing.T, table string) {
			if err := os.Truncate(table, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"byte flipped in the first block", func(t *testing.T, table string) { nodetest.FlipByte(t, table, 2) }},
		{"byte flipped in a middle block", func(t *testing.T, table string) { nodetest.FlipByte(t, table, 300_000) }},
		{"byte flipped in the index", func(t *testing.T, table string) { nodetest.FlipByte(t, table, -100) }},
		{"byte flipped in the footer", func(t *testing.T, table string) { nodetest.FlipByte(t, table, -2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, table := storeOnDisk(t)
			tc.damage(t, table)
			if got, want := openInChild(t, dir), "DAMAGED "+table; got != want {
				t.Fatalf("child printed %q, want %q", got, want)
			}
		})
	}
}

// A table the MANIFEST does not list is what a flush or compaction that did not
// finish leaves behind: its data is elsewhere. Badger deletes it; the store says so.
func TestOpenLogsUnlistedTable(t *testing.T) {
	dir, table := storeOnDisk(t)
	data, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	unlisted := filepath.Join(dir, "000099.sst")
	if err := os.WriteFile(unlisted, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	user, _ := testSchemas(t)
	s := openEmpty(t, dir, &store.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "file="+unlisted) {
		t.Errorf("no log line names %s:\n%s", unlisted, logs.String())
	}
	if ids, _ := docIDs(t, s, user.ID, ""); len(ids) != docsOnDisk {
		t.Errorf("%d documents, want %d", len(ids), docsOnDisk)
	}
	if _, err := os.Stat(unlisted); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unlisted table is still there (%v)", err)
	}
}

// A MANIFEST cut short loses the entries that list tables. Badger takes a cut
// inside an entry for a write a crash interrupted, and one at an entry's end
// for no damage at all, and deletes the tables no longer listed: the store
// opened empty. The tables hold writes no write-ahead log holds, so the store
// is refused instead, naming the MANIFEST, and the table is kept.
func TestOpenRefusesManifestThatLostEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		size func(size int64) int64
	}{
		{"one byte short", func(size int64) int64 { return size - 1 }},
		{"cut to its header", func(int64) int64 { return 8 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, table := storeOnDisk(t)
			manifest := filepath.Join(dir, "MANIFEST")
			st, err := os.Stat(manifest)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(manifest, tc.size(st.Size())); err != nil {
				t.Fatal(err)
			}
			if got, want := openInChild(t, dir), "DAMAGED "+manifest; got != want {
				t.Fatalf("child printed %q, want %q", got, want)
			}
			if _, err := os.Stat(table); err != nil {
				t.Fatalf("the table is gone after a refused Open: %v", err)
			}
		})
	}
}

// Badger reported a damaged key registry as a wrong encryption key or as
// "Error while reading sanity text", and a damaged log header as "Invalid
// datakey id"; the store is not encrypted, so each is damage, named.
func TestOpenRefusesDamagedKeyRegistryOrLogHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string // a glob in the store's directory
		damage func(t *testing.T, path string)
	}{
		{"key registry garbage", "KEYREGISTRY", func(t *testing.T, path string) {
			if err := os.WriteFile(path, bytes.Repeat([]byte("garbage "), 8), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"key registry cut short", "KEYREGISTRY", func(t *testing.T, path string) {
			if err := os.Truncate(path, 20); err != nil {
				t.Fatal(err)
			}
		}},
		{"value log header", "*.vlog", func(t *testing.T, path string) { nodetest.FlipByte(t, path, 3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := storeOnDisk(t)
			files, _ := filepath.Glob(filepath.Join(dir, tc.file))
			if len(files) != 1 {
				t.Fatalf("want one %s, found %v", tc.file, files)
			}
			tc.damage(t, files[0])
			if got, want := openInChild(t, dir), "DAMAGED "+files[0]; got != want {
				t.Fatalf("child printed %q, want %q", got, want)
			}
		})
	}
	// A write-ahead log is left by a store that was not closed.
	dir, _ := storeOnDisk(t)
	if got := inChild(t, writeChildEnv, dir); got != "OK" {
		t.Fatalf("child printed %q, want OK", got)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if len(logs) == 0 {
		t.Fatal("the child left no write-ahead log")
	}
	nodetest.FlipByte(t, logs[0], 7)
	if got, want := openInChild(t, dir), "DAMAGED "+logs[0]; got != want {
		t.Fatalf("write-ahead log header: child printed %q, want %q", got, want)
	}
}

// A flush that a crash interrupted leaves a table the MANIFEST does not list,
// with writes newer than every listed table's, and the write-ahead log that
// holds the memtable's writes: that is no damage, and the store opens. Without
// the log it would be, the rule TestOpenRefusesManifestThatLostEntries relies on.
func TestOpenAcceptsUnlistedTableOfUnfinishedFlush(t *testing.T) {
	// Another store's table with newer writes stands for the flush's table.
	other, _ := storeOnDisk(t)
	user, _ := testSchemas(t)
	s := openEmpty(t, other, nil)
	if err := s.Update(func(tx *store.Tx) error {
		_, _, err := tx.Apply(genesis(t, user, map[string]any{"name": "newer"}))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(other, "*.sst"))
	if len(tables) != 2 {
		t.Fatalf("want the store in two table files, found %v", tables)
	}
	flushed, err := os.ReadFile(tables[1]) // the names sort by ID: the newer one
	if err != nil {
		t.Fatal(err)
	}

	dir, _ := storeOnDisk(t)
	if got := inChild(t, writeChildEnv, dir); got != "OK" {
		t.Fatalf("child printed %q, want OK", got)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if len(logs) == 0 {
		t.Fatal("the child left no write-ahead log")
	}
	saved := t.TempDir()
	for _, l := range logs {
		if err := os.Link(l, filepath.Join(saved, filepath.Base(l))); err != nil {
			t.Fatal(err)
		}
	}
	unlisted := filepath.Join(dir, "000099.sst")
	if err := os.WriteFile(unlisted, flushed, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		os.Remove(l)
	}
	if got, want := openInChild(t, dir), "DAMAGED "+filepath.Join(dir, "MANIFEST"); got != want {
		t.Fatalf("without the write-ahead log: child printed %q, want %q", got, want)
	}
	for _, l := range logs {
		if err := os.Link(filepath.Join(saved, filepath.Base(l)), l); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := openInChild(t, dir), fmt.Sprint("OK ", docsOnDisk+1); got != want {
		t.Fatalf("with the write-ahead log: child printed %q, want %q", got, want)
	}
	if _, err := os.Stat(unlisted); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unlisted table is still there (%v)", err)
	}
}

// Damage done while the store is open is found by CheckFiles, which names the file.
func TestCheckFilesNamesDamagedTable(t *testing.T) {
	dir, table := storeOnDisk(t)
	s := openEmpty(t, dir, nil)
	if err := s.CheckFiles(context.Background()); err != nil {
		t.Fatalf("CheckFiles of an undamaged store: %v", err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CheckFiles(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("CheckFiles with its context ended: %v, want context.Canceled", err)
	}
	nodetest.FlipByte(t, table, 300_000)
	err := s.CheckFiles(context.Background())
	var de *store.DamageError
	if !errors.Is(err, store.ErrDamaged) || !errors.As(err, &de) || de.File != table {
		t.Fatalf("CheckFiles: got %v, want ErrDamaged naming %s", err, table)
	}
	nodetest.FlipByte(t, table, 300_000) // undo, so that Close's compaction reads good data
}

func TestCheckFilesInMemory(t *testing.T) {
	if err := openMem(t).CheckFiles(context.Background()); err != nil {
		t.Fatalf("CheckFiles of an in-memory store: %v", err)
	}
}

// A store another store has open is refused as in use, before its files are read:
// a table that a compaction is deleting must not be taken for damage.
func TestOpenRefusesStoreInUse(t *testing.T) {
	dir, _ := storeOnDisk(t)
	openEmpty(t, dir, nil)
	s, err := store.Open(dir, nil)
	if err == nil {
		s.Close()
		t.Fatal("a second Open of an open store succeeded")
	}
	if errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: got %v, want an error saying the store is in use", err)
	}
}
