package gossipdb_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// feedLog is what an application reading the change feed processed: the
// changes in the order it got them.
type feedLog struct{ changes []gossipdb.Change }

// read processes the changes of c after since up to the node's current
// position, stopping after stop changes when stop >= 0, and returns the
// position to resume from.
func (l *feedLog) read(t *testing.T, c *gossipdb.Collection, n *gossipdb.Node, since uint64, stop int) uint64 {
	t.Helper()
	to, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	for ch, err := range c.ChangesTo(context.Background(), since, to) {
		if err != nil {
			t.Fatalf("changes after %d: %v", since, err)
		}
		if stop == 0 {
			break
		}
		stop--
		l.changes = append(l.changes, ch)
		since = ch.Position
	}
	return since
}

// randomWrites makes count random writes on c: creates, updates of fields and
// deletes of the documents in ids (shared between writers), and returns ids.
func randomWrites(t *testing.T, rng *rand.Rand, c *gossipdb.Collection, ids []gossipdb.DocID, count int) []gossipdb.DocID {
	t.Helper()
	ctx := context.Background()
	for range count {
		switch r := rng.IntN(10); {
		case r < 3 || len(ids) == 0:
			id, err := c.Create(ctx, map[string]any{"name": fmt.Sprint("u", rng.IntN(1000)), "age": rng.IntN(100)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		case r < 9:
			err := c.Update(ctx, ids[rng.IntN(len(ids))], map[string]any{"age": rng.IntN(100)})
			if err != nil && !errors.Is(err, gossipdb.ErrDeleted) && !errors.Is(err, gossipdb.ErrNotFound) {
				t.Fatal(err)
			}
		default:
			err := c.Delete(ctx, ids[rng.IntN(len(ids))])
			if err != nil && !errors.Is(err, gossipdb.ErrDeleted) && !errors.Is(err, gossipdb.ErrNotFound) {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// checkFeed checks that changes, as an application got them from c's feed,
// report every block of blocks exactly once, at increasing positions, each
// after its parents. A change concurrent with a delete is reported twice when
// the node merged it before the delete (updated, then overridden), once when
// after (overridden only).
func checkFeed(t *testing.T, c *gossipdb.Collection, changes []gossipdb.Change, blocks map[string]bool) {
	t.Helper()
	ctx := context.Background()
	at := map[string]uint64{}
	overridden := map[string]bool{}
	var last uint64
	for _, ch := range changes {
		if ch.Position <= last {
			t.Fatalf("position %d after %d", ch.Position, last)
		}
		last = ch.Position
		if ch.Type == gossipdb.EventOverridden {
			if overridden[ch.Block] {
				t.Errorf("block %s reported overridden twice", ch.Block)
			}
			overridden[ch.Block] = true
			if _, ok := at[ch.Block]; ok {
				continue
			}
		} else if _, ok := at[ch.Block]; ok {
			t.Errorf("block %s reported twice (again at %d)", ch.Block, ch.Position)
		}
		at[ch.Block] = ch.Position
		data, err := c.Block(ctx, ch.Block)
		if err != nil {
			t.Fatal(err)
		}
		b, err := crdt.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range b.Prev {
			if pos, ok := at[p.String()]; !ok || pos >= ch.Position {
				t.Errorf("block %s at %d comes before its parent %s (at %d, reported %v)", ch.Block, ch.Position, p, pos, ok)
			}
		}
		if ch.Type != gossipdb.EventOverridden && ((ch.Type == gossipdb.EventCreated) != b.IsGenesis() || (ch.Type == gossipdb.EventDeleted) != b.Delete) {
			t.Errorf("block %s reported as %v", ch.Block, ch.Type)
		}
	}
	for b := range blocks {
		if _, ok := at[b]; !ok {
			t.Errorf("block %s never reported", b)
		}
	}
	if len(at) != len(blocks) {
		t.Errorf("%d blocks reported, want %d", len(at), len(blocks))
	}
}

// syncWithin syncs n's User collection with its peers, failing after d.
func syncWithin(n *gossipdb.Node, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if _, err := n.Sync(ctx, "User"); err != nil {
		return fmt.Errorf("sync %s: %w", n.ID(), err)
	}
	return nil
}

// allBlocks returns the blocks c's feed reports on a node that has every
// block.
func allBlocks(t *testing.T, c *gossipdb.Collection, n *gossipdb.Node) map[string]bool {
	var l feedLog
	l.read(t, c, n, 0, -1)
	out := map[string]bool{}
	for _, ch := range l.changes {
		out[ch.Block] = true
	}
	return out
}

// TestChangesResume is the change-feed test: an application reading
// node A's feed stops at a random position, nodes B and C write while it is
// down, A itself restarts in between (some writes reach it only by catch-up),
// and the application resumes from the saved position: it gets every change
// exactly once, each block after its parents.
func TestChangesResume(t *testing.T) {
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 0))
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*gossipdb.Node, *gossipdb.Collection) {
		n := nodetest.Open(t, dir, nil)
		cols, err := n.AddCollection(ctx, nodetest.UserSDL)
		if err != nil {
			t.Fatal(err)
		}
		return n, cols[0]
	}
	a, ca := open()
	b := nodetest.Open(t, "", nil)
	c := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, b, c)
	nodetest.Subscribe(t, "User", a, b, c)
	nodetest.Connect(t, a, b)
	nodetest.Connect(t, a, c)
	nodetest.Connect(t, b, c)
	syncAll := func(nodes ...*gossipdb.Node) {
		t.Helper()
		for _, n := range nodes {
			if err := syncWithin(n, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Before the application stops: writes on B and C, merged by A.
	var ids []gossipdb.DocID
	ids = randomWrites(t, rng, users[0], ids, 20)
	ids = randomWrites(t, rng, users[1], ids, 20)
	syncAll(a, b, c)
	var app feedLog
	stop := rng.IntN(len(allBlocks(t, ca, a)))
	saved := app.read(t, ca, a, 0, stop)
	t.Logf("the application stops after %d changes, at position %d", stop, saved)

	// While it is down: more writes, some concurrent, reaching A by gossip.
	ids = randomWrites(t, rng, users[0], ids, 15)
	ids = randomWrites(t, rng, users[1], ids, 15)
	syncAll(a, b, c)
	// A restarts; the writes made meanwhile reach it by catch-up.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	ids = randomWrites(t, rng, users[0], ids, 15)
	randomWrites(t, rng, users[1], ids, 15)
	syncAll(b, c)
	a, ca = open()
	nodetest.Connect(t, a, b)
	nodetest.Connect(t, a, c)
	syncAll(a)
	for _, col := range []*gossipdb.Collection{ca, users[1]} {
		nodetest.Eventually(t, 10*time.Second, func() error {
			want, err := users[0].Fingerprint(ctx)
			if err != nil {
				return err
			}
			if got, err := col.Fingerprint(ctx); err != nil || got != want {
				return fmt.Errorf("not converged (%v)", err)
			}
			return nil
		})
	}

	app.read(t, ca, a, saved, -1)
	checkFeed(t, ca, app.changes, allBlocks(t, users[0], b))
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestChangesFollow: a reader following the feed while writers commit
// concurrently gets every change once, in position order, with the values
// written; Create's and CreateMany's documents alike.
func TestChangesFollow(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddUser(t, n)[0]
	const writers, each = 4, 50
	var readMu sync.Mutex
	var changes []gossipdb.Change
	done := make(chan error, 1)
	go func() {
		for ch, err := range c.Changes(ctx, 0) {
			if err != nil {
				done <- err
				return
			}
			readMu.Lock()
			changes = append(changes, ch)
			readMu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := map[gossipdb.DocID]int64{}
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				age := int64(w*1000 + i)
				var ids []gossipdb.DocID
				var err error
				if i%10 == 0 {
					ids, err = c.CreateMany(ctx, []map[string]any{{"age": age}, {"age": age}})
				} else {
					var id gossipdb.DocID
					id, err = c.Create(ctx, map[string]any{"age": age})
					ids = []gossipdb.DocID{id}
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, id := range ids {
					want[id] = age
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := len(want)
	nodetest.Eventually(t, 10*time.Second, func() error {
		readMu.Lock()
		defer readMu.Unlock()
		if len(changes) < total {
			return fmt.Errorf("the reader got %d changes of %d", len(changes), total)
		}
		return nil
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the reader ended with %v, want context.Canceled", err)
	}
	if len(changes) != total {
		t.Fatalf("the reader got %d changes, want %d", len(changes), total)
	}
	var last uint64
	for _, ch := range changes {
		if ch.Position <= last || ch.Type != gossipdb.EventCreated || !ch.Local || ch.Peer != n.ID() {
			t.Fatalf("change %+v after position %d", ch, last)
		}
		last = ch.Position
		age, ok := want[ch.DocID]
		if !ok || ch.Fields["age"] != age {
			t.Fatalf("change %+v: want age %d (known %v)", ch, age, ok)
		}
		delete(want, ch.DocID)
	}
}

// TestChangesCompacted: past Options.ChangeRetention, old positions are
// compacted and reading from one fails with ErrCompacted; the rescan rule
// (ChangesPosition, then Changes from it) works; a position beyond the feed is
// refused.
func TestChangesCompacted(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", &gossipdb.Options{ChangeRetention: 8})
	c := nodetest.AddUser(t, n)[0]
	var ids []gossipdb.DocID
	for i := range 40 {
		id, err := c.Create(ctx, map[string]any{"age": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		for _, err := range c.Changes(ctx, 0) {
			if errors.Is(err, gossipdb.ErrCompacted) {
				// It says so once, with the position.
				if msg := err.Error(); strings.Count(msg, "compacted") != 2 || !strings.Contains(msg, "position 0, compacted up to ") {
					t.Fatalf("the error says %q", msg)
				}
				return nil
			}
			return fmt.Errorf("reading from 0: %v", err)
		}
		return nil
	})
	pos, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	var got []gossipdb.DocID
	for ch, err := range c.ChangesTo(ctx, pos-8, pos) {
		if err != nil {
			t.Fatalf("reading the last 8 positions: %v", err)
		}
		got = append(got, ch.DocID)
	}
	if !slices.Equal(got, ids[len(ids)-8:]) {
		t.Errorf("the last 8 positions hold %v, want %v", got, ids[len(ids)-8:])
	}
	if err := c.Update(ctx, ids[0], map[string]any{"age": 99}); err != nil {
		t.Fatal(err)
	}
	for ch, err := range c.Changes(ctx, pos) {
		if err != nil || ch.DocID != ids[0] || ch.Type != gossipdb.EventUpdated || ch.Fields["age"] != int64(99) {
			t.Fatalf("after the rescan position: %+v, %v", ch, err)
		}
		break
	}
	for _, err := range c.Changes(ctx, pos+100) {
		if !errors.Is(err, gossipdb.ErrInvalid) {
			t.Fatalf("since beyond the feed: %v, want ErrInvalid", err)
		}
		break
	}
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestChangesOverriddenByDelete: one node updates a document while another
// deletes it, neither hearing the other. Both feeds then report the update
// overridden by the delete, with the same values (those it wrote), and the
// delete with the last values the node had; the node that made the update
// reported it first.
func TestChangesOverriddenByDelete(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	id, err := users[0].Create(ctx, map[string]any{"name": "Ada", "age": 36})
	if err != nil {
		t.Fatal(err)
	}
	if err := syncWithin(n2, time.Minute); err != nil {
		t.Fatal(err)
	}
	start, err := n1.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	start2, err := n2.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	// Neither node hears the other, by gossip or catch-up.
	nodetest.Disconnect(t, n1, n2)
	if err := users[0].Update(ctx, id, map[string]any{"name": "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	heads, err := users[0].Heads(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	update := heads[0]
	if err := users[1].Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n1, n2)
	for _, n := range []*gossipdb.Node{n1, n2} {
		if err := syncWithin(n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]any{"name": "Ada Lovelace", "age": int64(36), "verified": nil, "points": nil}
	for i, c := range users {
		n := []*gossipdb.Node{n1, n2}[i]
		since := []uint64{start, start2}[i]
		var types []gossipdb.EventType
		var overridden, deleted *gossipdb.Change
		var l feedLog
		l.read(t, c, n, since, -1)
		for _, ch := range l.changes {
			types = append(types, ch.Type)
			switch ch.Type {
			case gossipdb.EventOverridden:
				overridden = &ch
			case gossipdb.EventDeleted:
				deleted = &ch
			}
		}
		wantTypes := []gossipdb.EventType{gossipdb.EventUpdated, gossipdb.EventDeleted, gossipdb.EventOverridden}
		if i == 1 {
			wantTypes = []gossipdb.EventType{gossipdb.EventDeleted, gossipdb.EventOverridden}
		}
		if !slices.Equal(types, wantTypes) {
			t.Fatalf("node %d reports %v, want %v", i+1, types, wantTypes)
		}
		if overridden.Block != update || overridden.DocID != id || !maps.Equal(overridden.Fields, want) {
			t.Errorf("node %d: overridden %+v, want block %s with %v", i+1, overridden, update, want)
		}
		// The override is found by the merge of the second block, from the other node.
		if overridden.Local || overridden.Peer != []*gossipdb.Node{n2, n1}[i].ID() {
			t.Errorf("node %d: overridden %+v: want it found merging a block of the other node", i+1, overridden)
		}
		// The delete's last values are those the node had: node 2 deleted
		// before it heard of the update.
		last := want
		if i == 1 {
			last = maps.Clone(want)
			last["name"] = "Ada"
		}
		if deleted.Local != (i == 1) || deleted.Peer != n2.ID() || !maps.Equal(deleted.Fields, last) {
			t.Errorf("node %d: deleted %+v, want from %s with %v", i+1, deleted, n2.ID(), last)
		}
		// Authors are the signers, the same on both nodes whoever found the override.
		if overridden.Author != n1.ID() || deleted.Author != n2.ID() {
			t.Errorf("node %d: overridden by %q and deleted by %q, want %s and %s", i+1, overridden.Author, deleted.Author, n1.ID(), n2.ID())
		}
	}
}

// TestChangesCreateMany: the largest CreateMany is reported whole, at
// consecutive positions, in input order, with each document's values.
func TestChangesCreateMany(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddUser(t, n)[0]
	docs := make([]map[string]any, gossipdb.MaxCreateMany)
	for i := range docs {
		docs[i] = map[string]any{"name": fmt.Sprintf("%0200d", i), "age": i}
	}
	ids, err := c.CreateMany(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	end, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for ch, err := range c.ChangesTo(ctx, 0, end) {
		if err != nil {
			t.Fatal(err)
		}
		if ch.DocID != ids[i] || ch.Position != uint64(i+1) || ch.Fields["age"] != int64(i) || ch.Fields["name"] != docs[i]["name"] {
			t.Fatalf("change %d: %+v", i, ch)
		}
		i++
	}
	if i != len(ids) {
		t.Fatalf("%d changes, want %d", i, len(ids))
	}
}

// TestChangesGenesisAndAuthors: a created document's entry reads its values
// from the genesis both while the document record holds it and after an
// update moved it to a block record of its own, and each entry names its own
// signer and block when authors alternate.
func TestChangesGenesisAndAuthors(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddUser(t, n)[0]
	alice, err := c.As(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	aliceID := gossipdb.AuthorID(otherKey.Public().(ed25519.PublicKey))
	type want struct {
		typ    gossipdb.EventType
		id     gossipdb.DocID
		age    any
		author string
	}
	var wants []want
	for i, w := range []*gossipdb.Collection{c, alice, alice, c} {
		id, err := w.Create(ctx, map[string]any{"name": fmt.Sprint("u", i), "age": i})
		if err != nil {
			t.Fatal(err)
		}
		author := map[bool]string{true: aliceID, false: n.ID()}[w == alice]
		wants = append(wants, want{gossipdb.EventCreated, id, int64(i), author})
		if i%2 == 0 { // updated: its genesis moves to a block record
			if err := c.Update(ctx, id, map[string]any{"age": 100 + i}); err != nil {
				t.Fatal(err)
			}
			wants = append(wants, want{gossipdb.EventUpdated, id, int64(100 + i), n.ID()})
		}
	}
	var l feedLog
	l.read(t, c, n, 0, -1)
	if len(l.changes) != len(wants) {
		t.Fatalf("%d changes, want %d", len(l.changes), len(wants))
	}
	for i, ch := range l.changes {
		w := wants[i]
		if ch.Type != w.typ || ch.DocID != w.id || ch.Fields["age"] != w.age || ch.Author != w.author {
			t.Errorf("change %d: %v of %s, age %v by %s; want %v of %s, age %v by %s", i, ch.Type, ch.DocID, ch.Fields["age"], ch.Author, w.typ, w.id, w.age, w.author)
		}
		if created := ch.Type == gossipdb.EventCreated; created != (ch.Block == string(ch.DocID)) {
			t.Errorf("change %d (%v): block %s of document %s", i, ch.Type, ch.Block, ch.DocID)
		}
	}
}

// TestChangesPositionSurvivesRestart: a transaction that conflicts and is
// then given up leaves its feed positions abandoned at the end of the feed.
// The position ChangesPosition reported then, saved by an application, must
// still mean the same after a restart: the next change comes after it.
func TestChangesPositionSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n := nodetest.Open(t, dir, nil)
	users := nodetest.AddUser(t, n)[0]
	id, err := users.Create(ctx, map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		attempts++
		if err := tx.Update("User", id, map[string]any{"age": 36}); err != nil {
			return err
		}
		if attempts == 1 { // a concurrent delete: this attempt conflicts
			return users.Delete(ctx, id)
		}
		return nil
	})
	if !errors.Is(err, gossipdb.ErrDeleted) || attempts != 2 {
		t.Fatalf("Update: %v after %d attempts, want ErrDeleted after 2", err, attempts)
	}
	saved, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = nodetest.Open(t, dir, nil)
	users, err = n.Collection("User")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := users.Create(ctx, map[string]any{"name": "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	to, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	var got []gossipdb.DocID
	for ch, err := range users.ChangesTo(ctx, saved, to) {
		if err != nil {
			t.Fatalf("changes after the saved position %d (now %d): %v", saved, to, err)
		}
		got = append(got, ch.DocID)
	}
	if !slices.Equal(got, []gossipdb.DocID{id2}) {
		t.Fatalf("after the saved position %d (now %d): %v, want the create of %s", saved, to, got, id2)
	}
}

// TestChangesEveryUpdateOverriddenByDelete: one node updates a document twice
// while another deletes it, neither hearing the other: both updates are
// concurrent with the delete, and both feeds report both overridden.
func TestChangesEveryUpdateOverriddenByDelete(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	id, err := users[0].Create(ctx, map[string]any{"name": "Ada", "age": 36})
	if err != nil {
		t.Fatal(err)
	}
	if err := syncWithin(n2, time.Minute); err != nil {
		t.Fatal(err)
	}
	starts := make([]uint64, 2)
	for i, n := range []*gossipdb.Node{n1, n2} {
		if starts[i], err = n.ChangesPosition(); err != nil {
			t.Fatal(err)
		}
		gossipdb.SetGossipLoss(n, 1)
	}
	var updates []string
	for _, age := range []int{37, 38} {
		if err := users[0].Update(ctx, id, map[string]any{"age": age}); err != nil {
			t.Fatal(err)
		}
		heads, err := users[0].Heads(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		updates = append(updates, heads[0])
	}
	if err := users[1].Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*gossipdb.Node{n1, n2} {
		gossipdb.SetGossipLoss(n, 0)
	}
	for _, n := range []*gossipdb.Node{n1, n2} {
		if err := syncWithin(n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range users {
		var l feedLog
		l.read(t, c, []*gossipdb.Node{n1, n2}[i], starts[i], -1)
		var overridden []string
		for _, ch := range l.changes {
			if ch.Type != gossipdb.EventOverridden {
				continue
			}
			overridden = append(overridden, ch.Block)
			if ch.Block == updates[0] && ch.Fields["age"] != int64(37) {
				t.Errorf("node %d reports the first update overridden with %v, want age 37", i+1, ch.Fields)
			}
		}
		slices.Sort(overridden)
		want := slices.Sorted(slices.Values(updates))
		if !slices.Equal(overridden, want) {
			t.Errorf("node %d reports %v overridden, want both updates %v", i+1, overridden, want)
		}
	}
}

// TestAsKeepsItsKey: a view made by As signs with a copy of the key it was
// given, so the caller may wipe its own slice at once.
func TestAsKeepsItsKey(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddUser(t, n)[0]
	key := slices.Clone(otherKey)
	alice, err := c.As(key)
	if err != nil {
		t.Fatal(err)
	}
	clear(key)
	id, err := alice.Create(ctx, map[string]any{"name": "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	want := gossipdb.AuthorID(otherKey.Public().(ed25519.PublicKey))
	for b, err := range c.History(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		if b.Author != want {
			t.Errorf("block %s signed by %s, want %s", b.CID, b.Author, want)
		}
	}
}

// replayFeed is what an application that keeps a copy of c's live documents
// from the change feed holds after reading all of it: each created or updated
// document with its values, none deleted or overridden (its document is
// deleted).
func replayFeed(t *testing.T, c *gossipdb.Collection, n *gossipdb.Node) map[gossipdb.DocID]map[string]any {
	t.Helper()
	var l feedLog
	l.read(t, c, n, 0, -1)
	copy := map[gossipdb.DocID]map[string]any{}
	for _, ch := range l.changes {
		switch ch.Type {
		case gossipdb.EventCreated, gossipdb.EventUpdated:
			copy[ch.DocID] = ch.Fields
		case gossipdb.EventDeleted:
			delete(copy, ch.DocID)
		}
	}
	return copy
}

// checkReplay checks that replayFeed of c on n holds exactly n's live
// documents, with their values.
func checkReplay(t *testing.T, c *gossipdb.Collection, n *gossipdb.Node) {
	t.Helper()
	copy, want := replayFeed(t, c, n), nodetest.Snapshot(t, c)
	for id, fields := range copy {
		if w, ok := want[id]; !ok {
			t.Errorf("a copy kept from the feed holds %s with %v: the document is deleted", id, fields)
		} else if !maps.EqualFunc(fields, w, func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
			t.Errorf("a copy kept from the feed holds %s with %v, want %v", id, fields, w)
		}
	}
	for id := range want {
		if _, ok := copy[id]; !ok {
			t.Errorf("a copy kept from the feed lacks %s", id)
		}
	}
}

// TestChangesSealAfterConcurrentDelete: node 2 deletes a document while node
// 1, apart, updates it in a transaction that then queries, whose seal is
// thus an empty change to it. Node 2 merges the transaction after its delete: the
// update is overridden, and the seal, which writes nothing, must not make a
// copy kept from node 2's feed hold the document again.
func TestChangesSealAfterConcurrentDelete(t *testing.T) {
	ctx := context.Background()
	n1, n2 := nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true}), nodetest.Open(t, "", &gossipdb.Options{NoDiscovery: true})
	items := nodetest.AddCollection(t, itemSDL, n1, n2)
	nodetest.Subscribe(t, "Item", n1, n2)
	nodetest.Connect(t, n1, n2)
	x, err := items[0].Create(ctx, map[string]any{"name": "x"})
	if err != nil {
		t.Fatal(err)
	}
	y, err := items[0].Create(ctx, map[string]any{"name": "y"})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if err := syncItems(n2); err != nil {
			return err
		}
		if len(nodetest.Snapshot(t, items[1])) != 2 {
			return errors.New("node 2 lacks the documents")
		}
		return nil
	})
	// Neither node hears the other, by gossip or catch-up.
	nodetest.Disconnect(t, n1, n2)
	if err := items[1].Delete(ctx, x); err != nil {
		t.Fatal(err)
	}
	err = n1.Update(ctx, func(tx *gossipdb.Txn) error {
		if err := tx.Update("Item", y, map[string]any{"stock": 1}); err != nil {
			return err
		}
		if err := tx.Update("Item", x, map[string]any{"stock": 2}); err != nil {
			return err
		}
		// A query writes the changes held so far: the seal is a block more.
		for _, err := range tx.Query("Item", gossipdb.Query{}) {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n1, n2)
	nodetest.Eventually(t, 20*time.Second, func() error {
		if err := syncItems(n2); err != nil {
			return err
		}
		d, err := items[1].Get(ctx, y)
		if err != nil {
			return err
		}
		if d.Fields["stock"] != int64(1) {
			return errors.New("node 2 lacks the transaction")
		}
		return nil
	})
	if _, err := items[1].Get(ctx, x); !errors.Is(err, gossipdb.ErrDeleted) {
		t.Fatalf("node 2: Get of the deleted document: %v, want ErrDeleted", err)
	}
	checkReplay(t, items[1], n2)
}

// syncItems syncs n's Item collection with its peers.
func syncItems(n *gossipdb.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.Sync(ctx, "Item")
	return err
}

// TestChangesListFields: the feed reads the values of a document with a list
// field, created and updated. It failed at such an entry ("malformed dag-cbor
// in scan"), and no reader got past it.
func TestChangesListFields(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	players := nodetest.AddCollection(t, `type Player { name: String scores: [Int] }`, n)[0]
	id, err := players.Create(ctx, map[string]any{"name": "Ada", "scores": []any{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := players.Update(ctx, id, map[string]any{"scores": []any{3}}); err != nil {
		t.Fatal(err)
	}
	var l feedLog
	l.read(t, players, n, 0, -1)
	want := [][]any{{int64(1), int64(2)}, {int64(3)}}
	if len(l.changes) != len(want) {
		t.Fatalf("%d changes, want %d", len(l.changes), len(want))
	}
	for i, ch := range l.changes {
		if got := ch.Fields["scores"]; fmt.Sprint(got) != fmt.Sprint(want[i]) || ch.Fields["name"] != "Ada" {
			t.Errorf("change %d (%v): %v, want scores %v", i, ch.Type, ch.Fields, want[i])
		}
	}
}

// TestChangesOfAQuietCollectionResume: compaction counts positions node-wide,
// and a reader of a quiet collection sees only its own: the position it saved,
// its collection's last, falls below what the feed keeps of a busy one. It
// resumes there (nothing of its collection after it was deleted), and only a
// position before its own deleted entry gets ErrCompacted.
func TestChangesOfAQuietCollectionResume(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", &gossipdb.Options{ChangeRetention: 8})
	cols, err := n.AddCollection(ctx, `type Quiet { name: String } type Busy { n: Int }`)
	if err != nil {
		t.Fatal(err)
	}
	quiet, busy := cols[0], cols[1]
	if _, err := quiet.Create(ctx, map[string]any{"name": "once"}); err != nil {
		t.Fatal(err)
	}
	var saved uint64
	for ch, err := range quiet.ChangesTo(ctx, 0, 1) {
		if err != nil {
			t.Fatal(err)
		}
		saved = ch.Position
	}
	for i := range 40 {
		if _, err := busy.Create(ctx, map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		for _, err := range busy.Changes(ctx, saved) {
			if errors.Is(err, gossipdb.ErrCompacted) {
				return nil
			}
			return fmt.Errorf("the busy collection from %d: %v, want ErrCompacted", saved, err)
		}
		return nil
	})
	pos, err := n.ChangesPosition()
	if err != nil {
		t.Fatal(err)
	}
	for ch, err := range quiet.ChangesTo(ctx, saved, pos) {
		t.Fatalf("the quiet collection from its saved position %d: %+v, %v; want nothing", saved, ch, err)
	}
	for _, err := range quiet.Changes(ctx, saved-1) {
		if !errors.Is(err, gossipdb.ErrCompacted) {
			t.Fatalf("the quiet collection from before its deleted entry: %v, want ErrCompacted", err)
		}
		break
	}
}
