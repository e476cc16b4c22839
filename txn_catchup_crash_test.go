package gossipdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// vaultSDL is the bank of TestTxnCatchUpCrash. A transfer of x takes x from
// one vault's balance, adds it to another's balance and received, and adds it
// to the moved of a new journal entry, in one transaction: a receiver that
// merged some transfers whole has the bank's total in its balances and its
// entries' moved in its vaults' received; one that merged a part of a
// transfer without the others misses one or the other. The entries are
// documents of the same collection (named vaultEntry, with no balance),
// since a transaction is atomic on a receiver only within each collection.
const vaultSDL = `type Vault { name: String balance: Int @crdt(type: pncounter) received: Int @crdt(type: pncounter) moved: Int @crdt(type: pncounter) }`

const vaultEntry = "entry"

const (
	// vaults is how many vaults there are, in pairs that transfer between
	// them only: many, so that a receiver can merge some pairs' transfers
	// before it holds every vault's history.
	vaults     = 50
	vaultStart = 1_000_000
	// vaultTransfers is how many transfers the writer makes while the
	// receiver is down, before each round.
	vaultTransfers = 600
	// vaultKillWithin is the time from the start of its catch-up, in
	// milliseconds, within which the receiver is killed.
	vaultKillWithin = 600
)

// vaultBook is what a node holds of the bank of TestTxnCatchUpCrash, read in
// one snapshot.
type vaultBook struct {
	vaults, entries        int
	total, received, moved int64
}

func readVaults(ctx context.Context, n *gossipdb.Node) (vaultBook, error) {
	var b vaultBook
	err := n.View(ctx, func(tx *gossipdb.Txn) error {
		b = vaultBook{}
		for d, err := range tx.Query("Vault", gossipdb.Query{}) {
			if err != nil {
				return err
			}
			if d.Fields["name"] == vaultEntry {
				b.entries++
			} else {
				b.vaults++
			}
			b.total += d.Fields["balance"].(int64)
			b.received += d.Fields["received"].(int64)
			b.moved += d.Fields["moved"].(int64)
		}
		return nil
	})
	return b, err
}

// whole reports what is wrong with b: nothing when it holds the bank whole
// (or nothing of it) and every transfer it holds whole.
func (b vaultBook) whole() error {
	switch {
	case b.vaults == 0 && b.entries == 0:
		return nil
	case b.vaults != vaults:
		return fmt.Errorf("%d vaults, want %d", b.vaults, vaults)
	case b.total != vaults*vaultStart:
		return fmt.Errorf("the vaults hold %d, want %d: a transfer without its debit or its credit", b.total, vaults*vaultStart)
	case b.received != b.moved:
		return fmt.Errorf("the vaults received %d, the %d journal entries moved %d: a transfer without its entry or its credit", b.received, b.entries, b.moved)
	}
	return nil
}

// TestTxnCatchUpCrash kills with SIGKILL, at random moments (nodetest.Seed),
// a receiver on disk while it catches up with a writer on the transfers the
// writer made while the receiver was down (transactions of two changes and
// a create), which it gets only by catch-up: after each restart its
// store is consistent and it holds every transfer whole or not at all, and
// once connected to the writer again it catches up by itself to the
// writer's state.
func TestTxnCatchUpCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 3 child processes: skipped in -short")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 29))
	writer := nodetest.Open(t, t.TempDir(), nil)
	if _, err := writer.AddCollection(ctx, vaultSDL); err != nil {
		t.Fatal(err)
	}
	var ids []gossipdb.DocID
	err := writer.Update(ctx, func(tx *gossipdb.Txn) error {
		for i := range vaults {
			id, err := tx.Create("Vault", map[string]any{"name": fmt.Sprint("v", i), "balance": vaultStart, "received": 0})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for round := range 3 {
		for range vaultTransfers {
			// Between the two vaults of a pair: the histories of a pair's
			// vaults and entries are enough to merge its transfers.
			from := rng.IntN(vaults)
			to := from ^ 1
			x := 1 + rng.IntN(100)
			err := writer.Update(ctx, func(tx *gossipdb.Txn) error {
				if err := tx.Update("Vault", ids[from], map[string]any{"balance": -x}); err != nil {
					return err
				}
				if err := tx.Update("Vault", ids[to], map[string]any{"balance": x, "received": x}); err != nil {
					return err
				}
				_, err := tx.Create("Vault", map[string]any{"name": vaultEntry, "balance": 0, "received": 0, "moved": x})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// The receiver merges the whole answer before it reports any
		// change: a time from the start of its catch-up kills it midway.
		kill := catchUpKill{After: time.Duration(rng.IntN(vaultKillWithin)) * time.Millisecond}
		seen := catchUpUntilKilled(t, round, dir, writer, vaultSDL, kill, nil)

		n := reopenKilled(t, round, dir)
		b, err := readVaults(ctx, n)
		if err == nil {
			err = b.whole()
		}
		if err != nil {
			n.Close()
			t.Fatalf("round %d: after the kill: %v", round, err)
		}
		want, err := readVaults(ctx, writer)
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		t.Logf("round %d: killed %v after its catch-up started, having reported %d changes merged; it held %d of the %d transfers", round, kill.After, seen, b.entries, want.entries)
		if err := n.Connect(ctx, writer.PeerInfo()[0]); err != nil {
			n.Close()
			t.Fatal(err)
		}
		nodetest.Eventually(t, 30*time.Second, func() error {
			got, err := readVaults(ctx, n)
			if err == nil {
				err = got.whole()
			}
			if err != nil {
				n.Close()
				t.Fatalf("round %d: catching up: %v", round, err)
			}
			if got != want {
				return fmt.Errorf("the receiver holds %+v, the writer %+v", got, want)
			}
			return nil
		})
		n.Close()
	}
}
