package store_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

// TestChangeDisownedWaitsForJudgedBlocks checks the rule a revocation's
// cut-off relies on: a block a transaction judged kept before ChangeDisowned
// changed the answers is committed, and found by a read that begins after
// ChangeDisowned returns; and a transaction that judged and failed does not
// keep ChangeDisowned waiting.
func TestChangeDisownedWaitsForJudgedBlocks(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	var revoked atomic.Bool
	s.TrackChains(user.ID, func(*store.Tx, *crdt.Block) bool { return revoked.Load() }, nil)

	errFailed := errors.New("failed on purpose")
	err := s.Update(func(tx *store.Tx) error {
		if _, _, err := tx.Apply(genesis(t, user, map[string]any{"name": "Failed"})); err != nil {
			return err
		}
		return errFailed
	})
	if !errors.Is(err, errFailed) {
		t.Fatalf("Update: %v, want the error it returned", err)
	}

	g := genesis(t, user, map[string]any{"name": "Ada"})
	judged, release := make(chan struct{}), make(chan struct{})
	merged := make(chan error, 1)
	go func() {
		first := true
		merged <- s.Update(func(tx *store.Tx) error {
			if _, _, err := tx.Apply(g); err != nil {
				return err
			}
			if first {
				first = false
				close(judged)
				<-release
			}
			return nil
		})
	}()
	<-judged

	found := make(chan bool, 1) // whether a read after ChangeDisowned found g
	go func() {
		s.ChangeDisowned(func() { revoked.Store(true) })
		err := s.View(func(tx *store.Tx) error {
			_, err := tx.Block(user.ID, g.CID)
			return err
		})
		found <- err == nil
	}()
	streamstest.WaitFor(t, "ChangeDisowned to wait for the transaction", func() bool {
		select {
		case ok := <-found:
			t.Fatalf("ChangeDisowned returned while a transaction that judged a block under the old answers was under way (the read after it found the block: %v)", ok)
		default:
		}
		return s.ChangeDisownedWaits()
	})
	if revoked.Load() {
		t.Error("the change ran while a transaction that judged a block under the old answers was under way")
	}
	close(release)
	if err := <-merged; err != nil {
		t.Fatalf("the merge: %v", err)
	}
	select {
	case ok := <-found:
		if !ok {
			t.Error("a read that began after ChangeDisowned returned did not find the block judged before it")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ChangeDisowned still waits after every transaction ended: a failed or committed one kept holding the store")
	}
	if err := check(s); err != nil {
		t.Errorf("Check: %v", err)
	}
}
