package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestSmallMemory: Options.SmallMemory reaches the store, whose transactions
// are then three eighths as large: a CreateMany of about 4.5 MB fails with
// ErrTooLarge and writes nothing, where a node with the default options takes
// it. A small node still receives such transactions from a default one, by
// catch-up and by gossip: it merges received blocks in smaller transactions.
func TestSmallMemory(t *testing.T) {
	ctx := context.Background()
	big := nodetest.Open(t, "", nil)
	small := nodetest.Open(t, "", &gossipdb.Options{SmallMemory: true})
	cs := nodetest.AddUser(t, big, small)
	docs := make([]map[string]any, 5000)
	for i := range docs {
		docs[i] = map[string]any{"name": fmt.Sprintf("%d %s", i, strings.Repeat("x", 900)), "age": i}
	}
	if _, err := cs[1].CreateMany(ctx, docs); !errors.Is(err, gossipdb.ErrTooLarge) {
		t.Fatalf("CreateMany of %d documents of 900 bytes with SmallMemory = %v, want ErrTooLarge", len(docs), err)
	}
	if n, err := cs[1].Count(ctx, nil); err != nil || n != 0 {
		t.Fatalf("after the failed CreateMany the small node holds %d documents (%v), want 0", n, err)
	}

	for i := 0; i < 2; i++ { // one by gossip, one by catch-up
		if _, err := cs[0].CreateMany(ctx, docs); err != nil {
			t.Fatalf("CreateMany of %d documents of 900 bytes with the default options: %v", len(docs), err)
		}
		if i == 0 {
			nodetest.Subscribe(t, "User", small)
			nodetest.Connect(t, small, big)
			nodetest.WaitTopicPeers(t, big, "User", small)
		}
	}
	nodetest.Eventually(t, 60*time.Second, func() error {
		n, err := cs[1].Count(ctx, nil)
		if err == nil && n != 2*int64(len(docs)) {
			err = fmt.Errorf("the small node holds %d of %d documents", n, 2*len(docs))
		}
		return err
	})
}

// TestSmallMemoryMergesTheLargestBlock: a node in small-memory mode merges
// updates of the largest size a block may have, received from a node with the
// default options, whose document's state and change-feed entry each hold
// almost as much again. The worst case is each record just under 1 MiB, where
// Badger keeps it in its write-ahead log and counts it in its transaction (from
// 1 MiB it goes to the value log and counts as a pointer): the records of one
// block still fit in the largest transaction. (With a 16 MiB memtable they did
// not, and catch-up pulled the block again and again.)
func TestSmallMemoryMergesTheLargestBlock(t *testing.T) {
	ctx := context.Background()
	big := nodetest.Open(t, t.TempDir(), nil)
	small := nodetest.Open(t, t.TempDir(), &gossipdb.Options{SmallMemory: true})
	cs := nodetest.AddUser(t, big, small)
	partition(t, big, small, "User") // everything arrives by catch-up
	id, err := cs[0].Create(ctx, map[string]any{"name": "a", "age": 1})
	if err != nil {
		t.Fatal(err)
	}
	// The largest name an update's block holds, to 64 bytes: 64 more is
	// ErrTooLarge.
	largest := 1 << 20
	for ; largest > 0; largest -= 64 {
		err = cs[0].Update(ctx, id, map[string]any{"name": strings.Repeat("y", largest)})
		if err == nil {
			break
		}
		if !errors.Is(err, gossipdb.ErrTooLarge) {
			t.Fatal(err)
		}
	}
	if largest <= 0 {
		t.Fatal("no update of a name was taken")
	}
	t.Logf("an update's block takes a name of up to %d bytes", largest)
	for i, size := range []int{1000 << 10, largest} {
		want := strings.Repeat(fmt.Sprint(i), size)
		if err := cs[0].Update(ctx, id, map[string]any{"name": want}); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := small.Sync(sctx, "User")
		cancel()
		if err != nil {
			t.Fatalf("Sync of the small node after an update of %d bytes: %v", size, err)
		}
		if d, err := cs[1].Get(ctx, id); err != nil || d.Fields["name"] != want {
			t.Fatalf("the small node's document after Sync of an update of %d bytes: %v", size, err)
		}
	}
}
