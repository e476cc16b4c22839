package store_test

import (
	"errors"
	"testing"

	"github.com/gossipdb/gossipdb/internal/store"
)

// TestCounts follows a collection's document and block counts through new
// documents, changes, a block applied twice, a transaction that fails, PutGenesis
// and a reopening, which counts the records again.
func TestCounts(t *testing.T) {
	user, post := testSchemas(t)
	dir := t.TempDir()
	s := openStore(t, dir, nil)
	want := func(s *store.Store, when string, users, userBlocks, posts int64) {
		t.Helper()
		if got := s.Counts(user.ID); got != (store.Counts{Docs: users, Blocks: userBlocks}) {
			t.Errorf("%s: User counts %+v, want %d documents, %d blocks", when, got, users, userBlocks)
		}
		if got := s.Counts(post.ID); got != (store.Counts{Docs: posts, Blocks: posts}) {
			t.Errorf("%s: Post counts %+v, want %d documents and blocks", when, got, posts)
		}
	}
	want(s, "empty", 0, 0, 0)

	g := genesis(t, user, map[string]any{"name": "Ada"})
	st := apply(t, s, g)
	c1 := change(t, user, st, map[string]any{"age": int64(36)}, nil)
	st = apply(t, s, c1)
	apply(t, s, change(t, user, st, nil, map[string]any{"hits": int64(1)}))
	apply(t, s, genesis(t, user, map[string]any{"name": "Grace"}))
	want(s, "after 2 documents and 2 changes", 2, 4, 0)

	err := s.Update(func(tx *store.Tx) error {
		if _, fresh, err := tx.Apply(c1); err != nil || fresh {
			return errors.New("applying a stored block again changed something")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		if err := tx.PutGenesis(store.NewGenesis(genesis(t, post, map[string]any{"title": "lost"}))); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the failing transaction committed")
	}
	want(s, "after a repeated block and a rolled-back transaction", 2, 4, 0)

	err = s.Update(func(tx *store.Tx) error {
		for range 3 {
			if err := tx.PutGenesis(store.NewGenesis(genesis(t, post, map[string]any{"title": "hi"}))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want(s, "after 3 posts", 2, 4, 3)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want(openStore(t, dir, nil), "after reopening", 2, 4, 3)
}

// TestDiskSize checks that an on-disk store reports the space its files take and
// an in-memory one none.
func TestDiskSize(t *testing.T) {
	if n, err := openMem(t).DiskSize(); n != 0 || err != nil {
		t.Errorf("in-memory store: DiskSize = %d, %v; want 0, nil", n, err)
	}
	s := openStore(t, t.TempDir(), nil)
	if n, err := s.DiskSize(); n <= 0 || err != nil {
		t.Errorf("on-disk store: DiskSize = %d, %v; want > 0, nil", n, err)
	}
}
