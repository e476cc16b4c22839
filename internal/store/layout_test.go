package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// writeRaw puts records straight into a Badger database in dir, as another
// version of the store would have.
func writeRaw(t *testing.T, dir string, kv map[string]string) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		for k, v := range kv {
			if err := txn.Set([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
}

func TestLayoutRecordedAndChecked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		v, err := tx.Meta(layoutKey)
		if err == nil && string(v) != layoutVersion {
			t.Errorf("new store records layout %q, want %q", v, layoutVersion)
		}
		return err
	})
	if err != nil {
		t.Fatalf("layout of a new store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, nil) // its own layout: accepted
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLayout6Upgraded: layout 7 is layout 6 plus indexes on lists, so Open
// reads a layout-6 store and records layout 7 in it, keeping its records.
func TestLayout6Upgraded(t *testing.T) {
	dir := t.TempDir()
	writeRaw(t, dir, map[string]string{string(prefixMeta) + layoutKey: "6", string(prefixMeta) + "other": "kept"})
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("Open of layout 6: %v", err)
	}
	err = s.View(func(tx *Tx) error {
		if v, err := tx.Meta(layoutKey); err != nil || string(v) != layoutVersion {
			t.Errorf("layout after Open: %q, %v; want %q", v, err, layoutVersion)
		}
		if v, err := tx.Meta("other"); err != nil || string(v) != "kept" {
			t.Errorf("a record of the layout-6 store: %q, %v; want it kept", v, err)
		}
		return nil
	})
	if err := errors.Join(err, s.Close()); err != nil {
		t.Fatal(err)
	}
}

func TestOtherLayoutsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		kv   map[string]string
		want string // besides the layout this version reads
	}{
		"records without a layout (layout 1)":  {map[string]string{"c" + "User": "definition"}, ""},
		"layout 3, a block record per genesis": {map[string]string{string(prefixMeta) + layoutKey: "3", "b" + "genesis": "schema"}, ""},
		"layout 2, unsigned blocks":            {map[string]string{string(prefixMeta) + layoutKey: "2"}, "its blocks are unsigned"},
		"layout 4, unsigned blocks":            {map[string]string{string(prefixMeta) + layoutKey: "4", string(prefixMeta) + "other": "kept"}, "start this version in a new directory"},
		"layout 5, no author chains":           {map[string]string{string(prefixMeta) + layoutKey: "5"}, "keeps neither policy changes nor the chains"},
		"a later layout":                       {map[string]string{string(prefixMeta) + layoutKey: "8"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeRaw(t, dir, tc.kv)
			s, err := Open(dir, nil)
			if !errors.Is(err, ErrLayout) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open: got %v, want ErrLayout", err)
			}
			if want := "this version reads layout " + layoutVersion; !strings.Contains(err.Error(), want) {
				t.Errorf("Open: %q does not say %q", err, want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %q does not say %q", err, tc.want)
			}
			// The database was closed and left as it was: it opens again,
			// still refused.
			if _, err := Open(dir, nil); !errors.Is(err, ErrLayout) {
				t.Fatalf("second Open: got %v, want ErrLayout", err)
			}
		})
	}
}
