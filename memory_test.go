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
// are then a quarter as large: a CreateMany of about 3.6 MB fails with
// ErrTooLarge and writes nothing, where a node with the default options takes
// it. A small node still receives such transactions from a default one, by
// catch-up and by gossip: it merges received blocks in smaller transactions.
func TestSmallMemory(t *testing.T) {
	ctx := context.Background()
	big := nodetest.Open(t, "", nil)
	small := nodetest.Open(t, "", &gossipdb.Options{SmallMemory: true})
	cs := nodetest.AddUser(t, big, small)
	docs := make([]map[string]any, 4000)
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
			if err := small.Subscribe(ctx, "User"); err != nil {
				t.Fatal(err)
			}
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
