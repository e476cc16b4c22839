package gossipdb_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// txnCrashChildEnv makes the test binary act as the writer that
// TestTxnCrashMidway kills.
const txnCrashChildEnv = "GOSSIPDB_TXN_CRASH_CHILD_DIR"

// ledgerSDL counts the committed transfers of txnCrashChild.
const ledgerSDL = `type Ledger { transfers: Int @crdt(type: pncounter) }`

// txnCrashChild is the child process of TestTxnCrashMidway (TestMain runs it
// when txnCrashChildEnv is set): it runs transfers between the bank's
// accounts, each also counting itself in the ledger, printing "MID" between a
// transfer's writes (then waiting for a line on stdin, so that the parent
// decides: go on, or kill it there) and "OK" once the transfer committed.
func txnCrashChild(dir string) {
	ctx := context.Background()
	n, _ := openChild(dir, nil, accountSDL+"\n"+ledgerSDL)
	var ids []gossipdb.DocID
	var ledger gossipdb.DocID
	err := n.Update(ctx, func(tx *gossipdb.Txn) error {
		ids = ids[:0]
		for d, err := range tx.Query("Account", gossipdb.Query{}) {
			if err != nil {
				return err
			}
			ids = append(ids, d.ID)
		}
		for d, err := range tx.Query("Ledger", gossipdb.Query{}) {
			if err != nil {
				return err
			}
			ledger = d.ID
		}
		if len(ids) > 0 {
			return nil
		}
		for i := range bankAccounts {
			id, err := tx.Create("Account", map[string]any{"name": fmt.Sprint("a", i), "balance": bankStart})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		var err error
		ledger, err = tx.Create("Ledger", map[string]any{"transfers": 0})
		return err
	})
	if err != nil {
		childFail(err)
	}
	fmt.Println("READY")
	proceed := bufio.NewScanner(os.Stdin)
	for i := 0; ; i++ {
		from, to := ids[i%bankAccounts], ids[(i*7+3)%bankAccounts]
		err := n.Update(ctx, func(tx *gossipdb.Txn) error {
			if err := tx.Update("Account", from, map[string]any{"balance": -10}); err != nil {
				return err
			}
			fmt.Println("MID")
			if !proceed.Scan() {
				return errors.New("stdin closed")
			}
			if err := tx.Update("Account", to, map[string]any{"balance": 10}); err != nil {
				return err
			}
			return tx.Update("Ledger", ledger, map[string]any{"transfers": 1})
		})
		if err != nil {
			childFail(err)
		}
		fmt.Println("OK")
	}
}

// TestTxnCrashMidway kills a process with SIGKILL in the middle of a
// transaction, between its writes, at random moments: after a restart the
// store is consistent, the bank's total unchanged, and exactly the
// acknowledged transactions are there. The moments come from nodetest.Seed.
func TestTxnCrashMidway(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 13))
	dir := t.TempDir()
	acked := int64(0)
	for round := range 6 {
		killAt := 1 + rng.IntN(40) // the transaction to kill midway
		mids := 0
		var c *childProcess
		take := func(f []string) (mid bool) {
			switch {
			case len(f) == 1 && f[0] == "OK":
				if mids >= killAt {
					t.Fatalf("round %d: a transaction committed after its kill", round)
				}
				acked++
			case len(f) == 1 && f[0] == "MID":
				if mids++; mids < killAt {
					fmt.Fprintln(c.in, "go on")
				}
				return true
			}
			return false
		}
		c = startChild(t, round, take, txnCrashChildEnv+"="+dir)
		c.killAfter(killAt)

		n := reopenKilled(t, round, dir)
		total, k, err := bankTotal(ctx, n)
		if err != nil || k != bankAccounts || total != bankAccounts*bankStart {
			t.Errorf("round %d: %d accounts holding %d (%v), want %d holding %d", round, k, total, err, bankAccounts, bankAccounts*bankStart)
		}
		var transfers int64
		err = n.View(ctx, func(tx *gossipdb.Txn) error {
			for d, err := range tx.Query("Ledger", gossipdb.Query{}) {
				if err != nil {
					return err
				}
				transfers = d.Fields["transfers"].(int64)
			}
			return nil
		})
		if err != nil || transfers != acked {
			t.Errorf("round %d: ledger counts %d transfers (%v), %d were acknowledged", round, transfers, err, acked)
		}
		n.Close()
	}
}
