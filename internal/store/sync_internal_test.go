package store

import (
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestGroupSyncShares: a commit waits for a round that began after it; those
// that arrive while a round runs share the next one.
func TestGroupSyncShares(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var rounds atomic.Int32
		g := newGroupSync(func() error {
			rounds.Add(1)
			<-release
			return nil
		})
		returned := make(chan error, 8)
		go func() { returned <- g.wait() }()
		synctest.Wait() // the first waiter runs round 1 and waits for the disk
		for range 7 {
			go func() { returned <- g.wait() }()
		}
		synctest.Wait()
		if len(returned) != 0 || rounds.Load() != 1 {
			t.Fatalf("during round 1: %d waits returned, %d rounds", len(returned), rounds.Load())
		}
		release <- struct{}{} // round 1 ends: it began before the seven waited
		synctest.Wait()
		if len(returned) != 1 || rounds.Load() != 2 {
			t.Fatalf("after round 1: %d waits returned, %d rounds, want 1 and 2", len(returned), rounds.Load())
		}
		close(release)
		for range 8 {
			if err := <-returned; err != nil {
				t.Fatal(err)
			}
		}
		if rounds.Load() != 2 {
			t.Fatalf("%d rounds for 8 waits, want 2", rounds.Load())
		}
	})
}

// TestGroupSyncFailureIsFinal: after a failed round every wait fails without
// syncing again, since a later sync that succeeds does not bring back what the
// failed one lost.
func TestGroupSyncFailureIsFinal(t *testing.T) {
	errDisk := errors.New("disk")
	var rounds atomic.Int32
	g := newGroupSync(func() error {
		if rounds.Add(1) == 2 {
			return errDisk
		}
		return nil
	})
	if err := g.wait(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := g.wait(); !errors.Is(err, errDisk) {
			t.Fatalf("wait: %v, want %v", err, errDisk)
		}
	}
	if rounds.Load() != 2 {
		t.Fatalf("%d rounds, want 2", rounds.Load())
	}
	if err := g.broken(); !errors.Is(err, errDisk) {
		t.Fatalf("broken: %v", err)
	}
}

// countingGroupSync returns a groupSync whose rounds succeed at once, and the
// count of the rounds it ran.
func countingGroupSync() (*groupSync, *atomic.Int32) {
	rounds := new(atomic.Int32)
	return newGroupSync(func() error {
		rounds.Add(1)
		return nil
	}), rounds
}

// TestGroupSyncGathers: a round that finds a transaction under way waits for
// it to commit before it syncs, and the writers that wait meanwhile share that
// round.
func TestGroupSyncGathers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, rounds := countingGroupSync()
		g.begin() // a transaction under way
		returned := make(chan error, 2)
		for range 2 {
			go func() { returned <- g.wait() }()
		}
		synctest.Wait() // one waiter gathers, the other waits for its round
		if rounds.Load() != 0 || len(returned) != 0 {
			t.Fatalf("while gathering: %d rounds, %d waits returned", rounds.Load(), len(returned))
		}
		g.end() // it commits
		for range 2 {
			if err := <-returned; err != nil {
				t.Fatal(err)
			}
		}
		if rounds.Load() != 1 {
			t.Fatalf("%d rounds for two waits gathered, want 1", rounds.Load())
		}
	})
}

// TestGroupSyncGatherIsBounded: a round waits at most gatherWait for a
// transaction under way that does not commit.
func TestGroupSyncGatherIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, rounds := countingGroupSync()
		g.begin()
		start := time.Now()
		if err := g.wait(); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != gatherWait || rounds.Load() != 1 {
			t.Fatalf("waited %v and ran %d rounds, want %v and 1", waited, rounds.Load(), gatherWait)
		}
		g.end() // ends after the round: nothing waits for it
		if err := g.wait(); err != nil || rounds.Load() != 2 {
			t.Fatalf("next wait: %v, %d rounds, want 2", err, rounds.Load())
		}
	})
}
