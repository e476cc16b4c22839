package gossipdb_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// What a cut-off reports (rule 4 of internal/policy): Watch, WatchBatches
// and GET /api/v0/events say of every block what the change feed says, and
// the feed names where the revocation behind a rebuild came from.

// revokedWrites is two nodes of Doc (pairSDL) that were apart while the
// writer wrote on node 2 and the admin, on node 1, revoked it, and have met
// since: every block of the writer is cut off on both, as it merged on node 1
// (unseen and del) and by the revocation's rebuild on node 2.
type revokedWrites struct {
	n1, n2 *gossipdb.Node
	docs   []*gossipdb.Collection
	// unseen and second are the writer's documents; node 1 was given
	// second's genesis alone, whose chain (its AuthorPrev, unseen's genesis)
	// it lacks, so that its own revocation cut it off.
	unseen, second gossipdb.DocID
	// shared is the admin's document, which the writer deleted with del.
	shared gossipdb.DocID
	del    string
	// revocation is the CID of the admin's revocation of the writer.
	revocation string
	// watch1 and watch2 follow Doc on each node from before the revocation;
	// batches1 and events1 follow it on node 1 with WatchBatches and
	// GET /api/v0/events.
	watch1, watch2 <-chan gossipdb.Event
	batches1       <-chan gossipdb.Batch
	events1        <-chan httpapi.Change
}

// revokeWrites runs the story of revokedWrites and waits until both nodes
// hold what it says.
func revokeWrites(t *testing.T) *revokedWrites {
	t.Helper()
	ctx := t.Context()
	r := &revokedWrites{n1: nodetest.Open(t, "", nil), n2: nodetest.Open(t, "", nil)}
	r.docs = nodetest.AddCollection(t, pairSDL(r.n1, r.n2), r.n1, r.n2)
	nodetest.Subscribe(t, "Doc", r.n1, r.n2)
	var err error
	if r.shared, err = r.docs[0].Create(ctx, map[string]any{"title": "shared"}); err != nil {
		t.Fatal(err)
	}
	if err := gossipdb.StoreGeneses(r.n2, storedBlock(t, r.docs[0], string(r.shared))); err != nil {
		t.Fatal(err)
	}
	writer, err := r.docs[1].As(writerKey)
	if err != nil {
		t.Fatal(err)
	}
	if r.unseen, err = writer.Create(ctx, map[string]any{"title": "unseen"}); err != nil {
		t.Fatal(err)
	}
	if r.second, err = writer.Create(ctx, map[string]any{"title": "second"}); err != nil {
		t.Fatal(err)
	}
	if err := writer.Delete(ctx, r.shared); err != nil {
		t.Fatal(err)
	}
	heads, err := r.docs[1].Heads(ctx, r.shared)
	if err != nil || len(heads) != 1 {
		t.Fatalf("heads of the deleted document: %v, %v", heads, err)
	}
	r.del = heads[0]
	if err := gossipdb.StoreGeneses(r.n1, storedBlock(t, r.docs[1], string(r.second))); err != nil {
		t.Fatal(err)
	}
	if r.watch1, err = r.docs[0].Watch(ctx); err != nil {
		t.Fatal(err)
	}
	if r.watch2, err = r.docs[1].Watch(ctx); err != nil {
		t.Fatal(err)
	}
	if r.batches1, err = r.docs[0].WatchBatches(ctx, gossipdb.MaxBatchEvents); err != nil {
		t.Fatal(err)
	}
	r.events1 = followEvents(t, r.n1)

	if err := r.docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatal(err)
	}
	changes := r.docs[0].Policy().Changes
	if len(changes) != 1 || len(changes[0].Keep) != 0 {
		t.Fatalf("policy changes %+v, want one revocation that keeps nothing", changes)
	}
	r.revocation = changes[0].CID
	nodetest.Connect(t, r.n1, r.n2)
	for _, c := range r.docs {
		nodetest.Eventually(t, 20*time.Second, func() error {
			for _, id := range []gossipdb.DocID{r.unseen, r.second} {
				if _, err := c.Get(ctx, id); !errors.Is(err, gossipdb.ErrDeleted) {
					return fmt.Errorf("the writer's document %s reads %v, want it cut off", id, err)
				}
			}
			if _, err := c.Block(ctx, r.del); err != nil {
				return fmt.Errorf("the writer's delete %s: %w", r.del, err)
			}
			if d, err := c.Get(ctx, r.shared); err != nil || d.Fields["title"] != "shared" {
				return fmt.Errorf("the shared document reads %+v, %v; want it live, its delete cut off", d, err)
			}
			if gossipdb.Uncut(c) {
				return errors.New("the revocation is not cut off yet")
			}
			return nil
		})
	}
	return r
}

// storedBlock returns block id of c, decoded.
func storedBlock(t *testing.T, c *gossipdb.Collection, id string) *crdt.Block {
	t.Helper()
	data, err := c.Block(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := crdt.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// followEvents serves n's HTTP API until the test ends and follows its GET
// /api/v0/events: it returns once the stream is ready, then delivers its
// change events.
func followEvents(t *testing.T, n *gossipdb.Node) <-chan httpapi.Change {
	t.Helper()
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v0/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "event: ready" {
	}
	out := make(chan httpapi.Change, 1024)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done; srv.Close() })
	go func() {
		defer close(done)
		change := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				change = line == "event: change"
			case change && strings.HasPrefix(line, "data: "):
				var c httpapi.Change
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c) == nil {
					out <- c
				}
			}
		}
	}()
	return out
}

// feedOf returns the changes of c's feed on n so far that report block.
func feedOf(t *testing.T, c *gossipdb.Collection, n *gossipdb.Node, block string) []gossipdb.Change {
	t.Helper()
	var l feedLog
	l.read(t, c, n, 0, -1)
	var out []gossipdb.Change
	for _, ch := range l.changes {
		if ch.Block == block {
			out = append(out, ch)
		}
	}
	return out
}

// eventsOf takes from events, until want of them report one of blocks or
// the deadline passes, the events that do, by document.
func eventsOf[E any](t *testing.T, events <-chan E, report func(E) []gossipdb.Event, want int, blocks ...string) map[gossipdb.DocID]gossipdb.Event {
	t.Helper()
	out := map[gossipdb.DocID]gossipdb.Event{}
	deadline := time.After(20 * time.Second)
	for len(out) < want {
		select {
		case e := <-events:
			for _, ev := range report(e) {
				for _, b := range blocks {
					if ev.Block == b {
						out[ev.DocID] = ev
					}
				}
			}
		case <-deadline:
			t.Fatalf("%d events of blocks %v, want %d: %+v", len(out), blocks, want, out)
		}
	}
	return out
}

func single(e gossipdb.Event) []gossipdb.Event { return []gossipdb.Event{e} }

func batched(b gossipdb.Batch) []gossipdb.Event { return b.Events }

// streamed reads a change event of GET /api/v0/events back as an Event.
func streamed(c httpapi.Change) []gossipdb.Event {
	t := map[string]gossipdb.EventType{"created": gossipdb.EventCreated, "updated": gossipdb.EventUpdated, "deleted": gossipdb.EventDeleted}[c.Type]
	return []gossipdb.Event{{Type: t, Collection: c.Collection, DocID: gossipdb.DocID(c.DocID), Block: c.Block, Peer: c.Peer, Author: c.Author}}
}

// sameAsFeed reports how event e, of a change the feed reports as ch, differs
// from it: its type, block, peer (empty for a local change) or author.
func sameAsFeed(e gossipdb.Event, ch gossipdb.Change) error {
	peer := ch.Peer
	if ch.Local {
		peer = ""
	}
	if e.Type != ch.Type || e.DocID != ch.DocID || e.Block != ch.Block || e.Peer != peer || e.Author != ch.Author {
		return fmt.Errorf("event %v of %s, block %s, peer %q, author %s; the feed says %v, block %s, peer %q, author %s",
			e.Type, e.DocID, e.Block, e.Peer, e.Author, ch.Type, ch.Block, peer, ch.Author)
	}
	return nil
}

// TestCutOffEventsAgreeWithTheFeed: blocks cut off as they merge (a writer's
// genesis and its delete of another's document, which the admin's node gets
// after it revoked the writer) are reported by Watch, WatchBatches and GET
// /api/v0/events as the change feed reports them: the genesis as a delete
// (the document has no state), the delete as an update (the document stays
// live), each with the block, peer and author the feed names.
func TestCutOffEventsAgreeWithTheFeed(t *testing.T) {
	r := revokeWrites(t)
	want := map[gossipdb.DocID]gossipdb.Change{}
	for doc, block := range map[gossipdb.DocID]string{r.unseen: string(r.unseen), r.shared: r.del} {
		changes := feedOf(t, r.docs[0], r.n1, block)
		if len(changes) != 1 {
			t.Fatalf("the feed of node 1 reports block %s %d times: %+v; want once", block, len(changes), changes)
		}
		want[doc] = changes[0]
	}
	if want[r.unseen].Type != gossipdb.EventDeleted || want[r.shared].Type != gossipdb.EventUpdated {
		t.Fatalf("the feed reports the cut-off genesis as %v, the cut-off delete as %v; want deleted and updated",
			want[r.unseen].Type, want[r.shared].Type)
	}
	blocks := []string{string(r.unseen), r.del}
	for name, got := range map[string]map[gossipdb.DocID]gossipdb.Event{
		"Watch":              eventsOf(t, r.watch1, single, 2, blocks...),
		"WatchBatches":       eventsOf(t, r.batches1, batched, 2, blocks...),
		"GET /api/v0/events": eventsOf(t, r.events1, streamed, 2, blocks...),
	} {
		for doc, ch := range want {
			if err := sameAsFeed(got[doc], ch); err != nil {
				t.Errorf("%s on node 1: %v", name, err)
			}
		}
	}
}

// TestRebuildNamesTheRevocationsOrigin: the change-feed entries and events of
// a revocation's rebuild name where the revocation came from, as those of a
// received block name its peer: on the node that received it, the admin's
// node, not Local; on the admin's node, which made it, Local.
func TestRebuildNamesTheRevocationsOrigin(t *testing.T) {
	r := revokeWrites(t)
	admin := r.n1.ID()
	for _, tc := range []struct {
		n     *gossipdb.Node
		c     *gossipdb.Collection
		watch <-chan gossipdb.Event
		docs  []gossipdb.DocID // the documents the revocation rebuilt there
		local bool
	}{
		{r.n1, r.docs[0], r.watch1, []gossipdb.DocID{r.second}, true},
		{r.n2, r.docs[1], r.watch2, []gossipdb.DocID{r.unseen, r.second, r.shared}, false},
	} {
		changes := feedOf(t, tc.c, tc.n, r.revocation)
		var docs []gossipdb.DocID
		for _, ch := range changes {
			docs = append(docs, ch.DocID)
		}
		if !sameDocs(docs, tc.docs) {
			t.Fatalf("node %s: the feed has entries of the revocation for %v, want one for each of %v", tc.n.ID(), docs, tc.docs)
		}
		events := eventsOf(t, tc.watch, single, len(tc.docs), r.revocation)
		for _, ch := range changes {
			// The feed names this node as the peer of a local change.
			if ch.Local != tc.local || ch.Peer != admin || ch.Author != admin {
				t.Errorf("node %s: the rebuild of %s is reported with Local %v, peer %s, author %s; want Local %v, peer and author %s (the admin)",
					tc.n.ID(), ch.DocID, ch.Local, ch.Peer, ch.Author, tc.local, admin)
			}
			if err := sameAsFeed(events[ch.DocID], ch); err != nil {
				t.Errorf("node %s: Watch: %v", tc.n.ID(), err)
			}
		}
	}
}

// sameDocs reports whether a and b hold the same documents, in any order.
func sameDocs(a, b []gossipdb.DocID) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(d gossipdb.DocID) bool { return !slices.Contains(b, d) })
}

// TestCutOffBlocksDoNotRebuildTheDocument: a revoked writer keeps sending
// back-dated changes of a document with a long history (rule 1 lets them in,
// rule 4 cuts them off). Once the revocation is cut off, each such block
// leaves the document's values as they are without reading its history:
// when each was merged by rebuilding the document from all its blocks, 200 of
// them, under 100 KiB, made the node read and decode the document's 2 MiB
// of history 200 times. The document keeps its values, its heads name every
// block, and Check finds nothing amiss.
func TestCutOffBlocksDoNotRebuildTheDocument(t *testing.T) {
	const history, cut = 128, 200
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	sdl := docSDL(n.ID(), []string{keyID(writerKey)})
	docs := nodetest.AddCollection(t, sdl, n)
	nodetest.Subscribe(t, "Doc", n)
	s := docSchema(t, sdl)
	title := func(i int) string { return fmt.Sprint(i, strings.Repeat(" long", 16<<10/5)) }
	id, err := docs[0].Create(ctx, map[string]any{"title": title(0)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < history; i++ {
		if err := docs[0].Update(ctx, id, map[string]any{"title": title(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := docs[0].Revoke(ctx, keyID(writerKey)); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 20*time.Second, func() error {
		if gossipdb.Uncut(docs[0]) {
			return fmt.Errorf("the revocation is not cut off yet")
		}
		return nil
	})
	heads, err := docs[0].Heads(ctx, id)
	if err != nil || len(heads) != 1 {
		t.Fatalf("heads %v, %v", heads, err)
	}
	st := &crdt.State{Schema: s.ID, Doc: cid.MustParse(string(id)), Heads: []cid.Cid{cid.MustParse(heads[0])}, Height: history,
		Fields: map[string]crdt.FieldState{"title": {Value: title(history - 1), Height: history}}}
	var data [][]byte
	for i := range cut {
		data = append(data, backDated(t, s, st, fmt.Sprint("back-dated ", i)).Data)
	}
	a := newAttacker(t, s.ID.String())
	a.join(t, n)
	before := n.Metrics()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for len(data) > 0 {
		k := min(50, len(data))
		if err := a.topic.Publish(ctx, frames(data[:k]...)); err != nil {
			t.Fatal(err)
		}
		data = data[k:]
	}
	nodetest.Eventually(t, 60*time.Second, func() error {
		if got := n.Metrics().MergedBlocks - before.MergedBlocks; got < cut {
			return fmt.Errorf("%d of %d back-dated blocks merged", got, cut)
		}
		return nil
	})
	runtime.ReadMemStats(&m1)
	allocated := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("merging %d cut-off changes of a document of %d blocks of 16 KiB allocated %d MiB", cut, history, allocated>>20)
	if limit := uint64(64 << 20); allocated > limit {
		t.Errorf("merging %d cut-off changes allocated %d MiB, more than %d MiB: the document's history was read for each", cut, allocated>>20, limit>>20)
	}
	waitDoc(t, docs[0], id, map[string]any{"title": title(history - 1)})
	if heads, err := docs[0].Heads(ctx, id); err != nil || len(heads) != cut {
		t.Errorf("the document has %d heads (%v), want the %d back-dated blocks", len(heads), err, cut)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}
