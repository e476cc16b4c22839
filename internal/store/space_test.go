package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/store"
)

// metaValue is the value written under metadata key i: 64 KiB.
func metaValue(i int) []byte {
	return append([]byte(fmt.Sprintf("%08d", i)), bytes.Repeat([]byte{'v'}, 64<<10-8)...)
}

// checkMeta checks that the first n metadata values are stored.
func checkMeta(tb testing.TB, s *store.Store, n int) {
	tb.Helper()
	err := s.View(func(tx *store.Tx) error {
		for i := range n {
			v, err := tx.Meta(fmt.Sprint(i))
			if err != nil {
				return fmt.Errorf("acknowledged write %d: %w", i, err)
			}
			if !bytes.Equal(v, metaValue(i)) {
				return fmt.Errorf("acknowledged write %d: wrong value", i)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// A store on a filesystem that fills up refuses writes with ErrNoSpace instead
// of crashing (Badger writes through memory-mapped files, which fault on a full
// filesystem), keeps every acknowledged write and serves reads, opens again on
// the full filesystem, and takes writes again once space is freed. The store
// runs in a child process, so that a crash fails the test.
func TestFullDisk(t *testing.T) {
	const (
		diskSize   = 448 << 20 // takes a memtable flush (64 MiB) before the reserve is reached
		fillerSize = 192 << 20
		maxWrites  = 10_000 // 625 MiB of values: more than the disk holds
	)
	dir, child := nodetest.Isolated(t, func() string { return nodetest.Tmpfs(t, diskSize) })
	if !child {
		return
	}
	filler := filepath.Join(dir, "filler")
	nodetest.Fill(t, filler, fillerSize)
	storeDir := filepath.Join(dir, "store")
	s, err := store.Open(storeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(i int) error {
		return s.Update(func(tx *store.Tx) error { return tx.PutMeta(fmt.Sprint(i), metaValue(i)) })
	}
	acked := 0
	for ; ; acked++ {
		if acked == maxWrites {
			t.Fatalf("%d writes of 64 KiB on a %d MiB disk and no ErrNoSpace", acked, diskSize>>20)
		}
		err := put(acked)
		if errors.Is(err, store.ErrNoSpace) {
			t.Logf("write %d: %v", acked, err)
			break
		}
		if err != nil {
			t.Fatalf("write %d: %v", acked, err)
		}
	}
	if acked == 0 {
		t.Fatal("the first write was refused: the test fills too much")
	}
	t.Logf("%d writes of 64 KiB acknowledged on a %d MiB disk with %d MiB of other files", acked, diskSize>>20, fillerSize>>20)
	checkMeta(t, s, acked)
	if err := put(acked); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("write on the full disk: got %v, want ErrNoSpace", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Open again on the still full disk: reads are served, writes refused.
	s, err = store.Open(storeDir, nil)
	if err != nil {
		t.Fatalf("open on the full disk: %v", err)
	}
	defer s.Close()
	checkMeta(t, s, acked)
	if err := put(acked); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("write after reopening on the full disk: got %v, want ErrNoSpace", err)
	}

	// Free space: the same store takes writes again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := acked; i < acked+16; i++ {
		if err := put(i); err != nil {
			t.Fatalf("write %d after freeing space: %v", i, err)
		}
	}
	checkMeta(t, s, acked+16)
}

// Options.Reserve below MinReserve is refused: a memtable flush would not fit.
func TestReserveBelowMinimum(t *testing.T) {
	s, err := store.Open(t.TempDir(), &store.Options{Reserve: store.MinReserve - 1})
	if err == nil {
		s.Close()
		t.Fatal("Open took a reserve below MinReserve")
	}
	if !strings.Contains(err.Error(), "Options.Reserve") {
		t.Fatalf("error %q does not name Options.Reserve", err)
	}
}

// fillDisk writes a file at path until the filesystem is full.
func fillDisk(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte{0xff}, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			tb.Fatal(err)
		}
	}
}

// Open on a filesystem another program filled up fails with ErrNoSpace instead
// of crashing in Badger, and works again once space is freed. The store runs
// in a child process, so that a crash fails the test.
func TestOpenFullDisk(t *testing.T) {
	dir, child := nodetest.Isolated(t, func() string { return nodetest.Tmpfs(t, 160<<20) })
	if !child {
		return
	}
	storeDir := filepath.Join(dir, "store")
	s, err := store.Open(storeDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *store.Tx) error { return tx.PutMeta("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	for _, d := range []string{storeDir, filepath.Join(dir, "new")} {
		if s, err := store.Open(d, nil); !errors.Is(err, store.ErrNoSpace) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("open %s on a full disk: got %v, want ErrNoSpace", d, err)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s, err = store.Open(storeDir, nil)
	if err != nil {
		t.Fatalf("open after freeing space: %v", err)
	}
	defer s.Close()
	err = s.View(func(tx *store.Tx) error {
		v, err := tx.Meta("k")
		if err == nil && string(v) != "v" {
			err = fmt.Errorf("got %q, want %q", v, "v")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
