package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// cutOffCrashChildEnv makes the test binary act as the node that
// TestCutOffCrash kills: its value is the node's data directory, the
// admin's multiaddr, how many documents the revocation's cut-off rebuilds
// before it dies, and the SDL of the collection, on four lines and the rest.
const cutOffCrashChildEnv = "GOSSIPDB_CUTOFF_CRASH_CHILD"

// cutOffCrashDocs is how many documents the revoked writer writes on the
// child's node: the cut-off rebuilds them in transactions of 1,024.
const cutOffCrashDocs = 2500

// cutOffCrashChild is the child process of TestCutOffCrash (TestMain runs it
// when cutOffCrashChildEnv is set): a node that writes cutOffCrashDocs
// documents as the writer (writerKey) of the restricted collection, printing
// their IDs ("WROTE docID") once acknowledged, then connects to the admin,
// who has revoked the writer meanwhile, and kills itself with SIGKILL once
// the revocation's cut-off has deleted as many of them as it was told ("CUT
// docID" for each), while the cut-off goes on.
func cutOffCrashChild(cfg string) {
	ctx := context.Background()
	f := strings.SplitN(cfg, "\n", 4)
	if len(f) != 4 {
		childFail(fmt.Errorf("%s: %q", cutOffCrashChildEnv, cfg))
	}
	killAfter, err := strconv.Atoi(f[2])
	if err != nil {
		childFail(err)
	}
	n, cols := openChild(f[0], nil, f[3])
	w, err := cols[0].As(writerKey)
	if err != nil {
		childFail(err)
	}
	docs := make([]map[string]any, cutOffCrashDocs)
	for i := range docs {
		docs[i] = map[string]any{"title": fmt.Sprint("t", i)}
	}
	ids, err := w.CreateMany(ctx, docs)
	if err != nil {
		childFail(err)
	}
	for _, id := range ids {
		fmt.Println("WROTE", id)
	}
	events, err := cols[0].Watch(ctx)
	if err != nil {
		childFail(err)
	}
	if err := n.Subscribe(ctx, "Doc"); err != nil {
		childFail(err)
	}
	if err := n.Connect(ctx, f[1]); err != nil {
		childFail(err)
	}
	seen := 0
	for e := range events {
		if e.Type != gossipdb.EventDeleted {
			continue
		}
		fmt.Println("CUT", e.DocID)
		if seen++; seen == killAfter {
			killSelf()
		}
	}
	childFail(fmt.Errorf("watch ended"))
}

// TestCutOffCrash kills a node with SIGKILL while it cuts off the documents
// of a writer that an admin revoked while they were apart (the revocation
// keeps none of the writer's blocks), after a number of them drawn from
// nodetest.Seed: after the restart the store is consistent, every one of the
// writer's documents reads as deleted, and the change feed reports the
// cut-off of each exactly once, naming the revocation.
func TestCutOffCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 2 child processes: skipped in -short")
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 31))
	for round := range 2 {
		dir := t.TempDir()
		n2 := nodetest.Open(t, dir, nil) // to learn its peer ID, a reader of the collection
		id2 := n2.ID()
		if err := n2.Close(); err != nil {
			t.Fatal(err)
		}
		admin := nodetest.Open(t, "", nil)
		sdl := docSDL(admin.ID(), []string{keyID(writerKey)}, id2)
		docs := nodetest.AddCollection(t, sdl, admin)[0]
		nodetest.Subscribe(t, "Doc", admin)
		if err := docs.Revoke(ctx, keyID(writerKey)); err != nil {
			t.Fatal(err)
		}
		changes := docs.Policy().Changes
		if len(changes) != 1 || len(changes[0].Keep) != 0 {
			t.Fatalf("policy changes %+v, want one revocation that keeps nothing", changes)
		}
		revocation := changes[0].CID

		killAfter := 1 + rng.IntN(2*1024) // documents cut off
		var wrote []gossipdb.DocID
		cut := 0
		take := func(f []string) bool {
			switch {
			case len(f) == 2 && f[0] == "WROTE":
				wrote = append(wrote, gossipdb.DocID(f[1]))
			case len(f) == 2 && f[0] == "CUT":
				cut++
			}
			return false
		}
		child := startChild(t, round, take, fmt.Sprintf("%s=%s\n%s\n%d\n%s", cutOffCrashChildEnv, dir, admin.PeerInfo()[0], killAfter, sdl))
		if st := child.wait(); len(wrote) != cutOffCrashDocs || cut != killAfter || st.ExitCode() != -1 {
			t.Fatalf("round %d: child ended (%v) after writing %d documents and cutting off %d, to be killed after %d", round, st, len(wrote), cut, killAfter)
		}

		n := reopenKilled(t, round, dir)
		c, err := n.Collection("Doc")
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		if gossipdb.Uncut(c) {
			n.Close()
			t.Fatalf("round %d: the restart did not finish the cut-off", round)
		}
		reported := map[gossipdb.DocID]int{}
		to, err := n.ChangesPosition()
		if err != nil {
			n.Close()
			t.Fatal(err)
		}
		for ch, err := range c.ChangesTo(ctx, 0, to) {
			if err != nil {
				n.Close()
				t.Fatal(err)
			}
			if ch.Block == revocation {
				reported[ch.DocID]++
				if ch.Type != gossipdb.EventDeleted {
					n.Close()
					t.Fatalf("round %d: the cut-off of %s is reported as %s", round, ch.DocID, ch.Type)
				}
			}
		}
		var live, misreported []string
		for _, id := range wrote {
			if _, err := c.Get(ctx, id); !errors.Is(err, gossipdb.ErrDeleted) {
				live = append(live, fmt.Sprintf("%s (%v)", id, err))
			}
			if reported[id] != 1 {
				misreported = append(misreported, fmt.Sprintf("%s %d times", id, reported[id]))
			}
		}
		if len(live) > 0 {
			t.Errorf("round %d: %d of the revoked writer's documents are not cut off, the first %s", round, len(live), live[0])
		}
		if len(misreported) > 0 {
			t.Errorf("round %d: the feed reports the cut-off of %d documents not once, the first %s", round, len(misreported), misreported[0])
		}
		t.Logf("round %d: killed after cutting off %d of %d documents", round, cut, len(wrote))
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
