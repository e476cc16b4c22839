package reconcile_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m) // no goroutine of libp2p or ours may outlive the tests
}

// collectionID returns the ID of a test collection.
func collectionID(t testing.TB, name string) cid.Cid {
	t.Helper()
	c, err := cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.SHA2_256}.Sum([]byte(name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collections is a Source over fixed snapshots, which gives the items from the
// key asked on, and records the keys it was asked.
type collections struct {
	mu    sync.Mutex
	sets  map[cid.Cid][]reconcile.Item
	froms []string
}

func (c *collections) source(_ context.Context, id cid.Cid, from string) ([]reconcile.Item, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.froms = append(c.froms, from)
	items, ok := c.sets[id]
	if !ok {
		return nil, fmt.Errorf("collection %s: %w", id, reconcile.ErrUnknownCollection)
	}
	i, _ := slices.BinarySearchFunc(items, from, func(it reconcile.Item, k string) int { return strings.Compare(it.Key, k) })
	return items[i:], nil
}

// env is a server host answering from cols and a client host, connected.
type env struct {
	server, client host.Host
	srv            *reconcile.Server
	cols           *collections
}

func newEnv(t testing.TB, opts *reconcile.Options) *env {
	t.Helper()
	e := &env{server: streamstest.NewHost(t), client: streamstest.NewHost(t), cols: &collections{sets: map[cid.Cid][]reconcile.Item{}}}
	srv, err := reconcile.NewServer(e.server, e.cols.source, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv = srv
	streamstest.Connect(t, e.client, e.server)
	return e
}

func (e *env) reconcile(t testing.TB, col cid.Cid, items []reconcile.Item, opts *reconcile.Options) (reconcile.Result, error) {
	t.Helper()
	return e.reconcileFrom(t, col, items, "", opts)
}

func (e *env) reconcileFrom(t testing.TB, col cid.Cid, items []reconcile.Item, from string, opts *reconcile.Options) (reconcile.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return reconcile.Reconcile(ctx, e.client, e.server.ID(), col, items, from, opts)
}

// TestReconcileHonest runs sessions between honest hosts over libp2p and checks
// that each finds exactly the difference, with the bytes of its frames counted.
func TestReconcileHonest(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name string
		p    *pair
	}{
		{"in sync", docPair(5000, 0, 1)},
		{"one", docPair(5000, 1, 2)},
		{"some", docPair(5000, 50, 3)},
		{"all", docPair(3000, 3000, 4)},
		{"empty initiator", makePair([]string{docKey(1), docKey(2), docKey(3)}, func(int) kind { return onlyB })},
		{"empty responder", makePair([]string{docKey(1), docKey(2), docKey(3)}, func(int) kind { return onlyA })},
		{"both empty", makePair(nil, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := collectionID(t, tc.name)
			e.cols.mu.Lock()
			e.cols.sets[col] = tc.p.b
			e.cols.mu.Unlock()
			r, err := e.reconcile(t, col, tc.p.a, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, tc.p)
			if r.Rounds < 1 || r.BytesSent < 40 || r.BytesReceived < 2 {
				t.Fatalf("result counts %d rounds, %d bytes sent, %d received", r.Rounds, r.BytesSent, r.BytesReceived)
			}
			t.Logf("%d items, %d differing: %d rounds, %d bytes sent, %d received", tc.p.size, tc.p.differing, r.Rounds, r.BytesSent, r.BytesReceived)
		})
	}
	streamstest.WaitFor(t, "the server to count the sessions", func() bool { return e.srv.Metrics().Completed == 7 })
	if m := e.srv.Metrics(); m.Failed != 0 || m.Refused != 0 || m.Streams != 7 {
		t.Fatalf("server metrics %+v", m)
	}
}

// TestReconcileFrom: a session from a key finds the difference from that key
// on, with the responder's Source asked for the items from there only.
func TestReconcileFrom(t *testing.T) {
	e := newEnv(t, nil)
	p := docPair(5000, 300, 5)
	col := collectionID(t, "from")
	e.cols.mu.Lock()
	e.cols.sets[col] = p.b
	e.cols.mu.Unlock()
	from := p.a[len(p.a)/2].Key
	r, err := e.reconcileFrom(t, col, p.a, from, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &pair{need: keysFrom(p.need, from), offer: keysFrom(p.offer, from)}
	checkResult(t, r, want)
	e.cols.mu.Lock()
	froms := slices.Clone(e.cols.froms)
	e.cols.mu.Unlock()
	if !slices.Equal(froms, []string{from}) {
		t.Errorf("the Source was asked for the items from %q, want from %q", froms, from)
	}
	t.Logf("%d of %d differences from the middle on: %d rounds, %d bytes sent, %d received", len(want.need)+len(want.offer), len(p.need)+len(p.offer), r.Rounds, r.BytesSent, r.BytesReceived)
}

// keysFrom returns the keys of sorted list keys from from on.
func keysFrom(keys []string, from string) []string {
	i, _ := slices.BinarySearch(keys, from)
	return keys[i:]
}

// TestReconcileInSync100k checks over libp2p that two nodes that agree on 100,000
// items establish it in one round trip and at most 1 KiB, framing included, and
// that ten differences among them cost less than a tenth of the full list.
func TestReconcileInSync100k(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sets of 100,000 items")
	}
	e := newEnv(t, nil)
	col := collectionID(t, "in sync 100k")
	for _, d := range []int{0, 10} {
		p := docPair(100_000, d, 5)
		e.cols.mu.Lock()
		e.cols.sets[col] = p.b
		e.cols.mu.Unlock()
		r, err := e.reconcile(t, col, p.a, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, p)
		total := r.BytesSent + r.BytesReceived
		t.Logf("d=%d: %d rounds, %d bytes sent, %d received", d, r.Rounds, r.BytesSent, r.BytesReceived)
		if d == 0 && (total > 1024 || r.Rounds != 1) {
			t.Fatalf("agreement cost %d bytes in %d rounds, want at most 1024 in 1", total, r.Rounds)
		}
		if full := 100_000 * (59 + 32); d == 10 && total >= full/10 {
			t.Fatalf("10 differences cost %d bytes, not under a tenth of %d", total, full)
		}
	}
}

// TestUnknownCollection checks that a peer without the collection says so.
func TestUnknownCollection(t *testing.T) {
	e := newEnv(t, nil)
	col := collectionID(t, "nobody has it")
	_, err := e.reconcile(t, col, docPair(10, 0, 1).a, nil)
	if !errors.Is(err, reconcile.ErrUnknownCollection) {
		t.Fatalf("err %v, want ErrUnknownCollection", err)
	}
	checkPeerError(t, err, e.server.ID(), col)
	streamstest.WaitFor(t, "the server to count it", func() bool { return e.srv.Metrics().Unknown == 1 })
}

// TestSourceFailure checks that a failing Source reaches the initiator as
// ErrRemote, without its details.
func TestSourceFailure(t *testing.T) {
	server, client := streamstest.NewHost(t), streamstest.NewHost(t)
	srv, err := reconcile.NewServer(server, func(context.Context, cid.Cid, string) ([]reconcile.Item, error) {
		return nil, errors.New("disk on fire")
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	streamstest.Connect(t, client, server)
	_, err = reconcile.Reconcile(context.Background(), client, server.ID(), collectionID(t, "x"), nil, "", nil)
	if !errors.Is(err, reconcile.ErrRemote) || strings.Contains(err.Error(), "fire") {
		t.Fatalf("err %v, want ErrRemote without the server's details", err)
	}
}

// TestInvalidArguments checks the errors for bad calls.
func TestInvalidArguments(t *testing.T) {
	h := streamstest.NewHost(t)
	col := collectionID(t, "x")
	unsorted := []reconcile.Item{{Key: "b"}, {Key: "a"}}
	if _, err := reconcile.Reconcile(context.Background(), h, h.ID(), col, unsorted, "", nil); !errors.Is(err, reconcile.ErrInvalidSet) {
		t.Errorf("unsorted items: err %v", err)
	}
	if _, err := reconcile.NewSet([]reconcile.Item{{Key: strings.Repeat("k", reconcile.MaxKeySize+1)}}); !errors.Is(err, reconcile.ErrInvalidSet) {
		t.Errorf("long key: err %v", err)
	}
	if _, err := reconcile.Reconcile(context.Background(), h, h.ID(), cid.Undef, nil, "", nil); err == nil {
		t.Errorf("undefined collection: no error")
	}
	for _, o := range []reconcile.Options{{MaxConcurrent: -1}, {MaxPerPeer: -1}, {MaxConcurrent: 2, MaxPerPeer: 3}, {Timeout: -1}, {FirstAnswer: -1}, {MaxRounds: -1}, {MaxBytes: -1}} {
		if _, err := reconcile.NewServer(h, func(context.Context, cid.Cid, string) ([]reconcile.Item, error) { return nil, nil }, &o); err == nil || !strings.Contains(err.Error(), "Options.") {
			t.Errorf("options %+v: err %v, want one naming the field", o, err)
		}
	}
	if _, err := reconcile.NewServer(h, nil, nil); err == nil {
		t.Errorf("nil Source: no error")
	}
}

// TestBusy checks that sessions beyond MaxConcurrent are refused at once, and
// that Close cuts running sessions and waits for them.
func TestBusy(t *testing.T) {
	server, client := streamstest.NewHost(t), streamstest.NewHost(t)
	entered := make(chan struct{}, 1)
	srv, err := reconcile.NewServer(server, func(ctx context.Context, _ cid.Cid, _ string) ([]reconcile.Item, error) {
		entered <- struct{}{}
		<-ctx.Done() // hold the only slot until the server closes
		return nil, ctx.Err()
	}, &reconcile.Options{MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	streamstest.Connect(t, client, server)
	col := collectionID(t, "x")
	first := make(chan error, 1)
	go func() {
		_, err := reconcile.Reconcile(context.Background(), client, server.ID(), col, nil, "", nil)
		first <- err
	}()
	<-entered
	_, err = reconcile.Reconcile(context.Background(), client, server.ID(), col, nil, "", nil)
	if !errors.Is(err, reconcile.ErrBusy) {
		t.Fatalf("second session: err %v, want ErrBusy", err)
	}
	checkPeerError(t, err, server.ID(), col)
	srv.Close()
	if err := <-first; err == nil {
		t.Fatal("the session cut by Close succeeded")
	}
	if m := srv.Metrics(); m.Refused != 1 || m.Failed != 1 {
		t.Fatalf("metrics %+v, want 1 refused and 1 failed", m)
	}
	// After Close, the protocol is no longer served.
	if _, err := reconcile.Reconcile(context.Background(), client, server.ID(), col, nil, "", nil); err == nil {
		t.Fatal("a session succeeded after Close")
	}
	srv.Close() // twice is fine
}

// TestReconcileContext checks that a canceled context ends a session.
func TestReconcileContext(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := reconcile.Reconcile(ctx, e.client, e.server.ID(), collectionID(t, "x"), nil, "", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func checkPeerError(t testing.TB, err error, p peer.ID, col cid.Cid) {
	t.Helper()
	var pe *reconcile.PeerError
	if !errors.As(err, &pe) || pe.Peer != p || !pe.Collection.Equals(col) || !strings.Contains(err.Error(), p.String()) {
		t.Fatalf("err %v does not name the peer %s and collection %s", err, p, col)
	}
}

// readFrame reads one frame, or fails.
func readFrame(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > reconcile.MaxFrameSize {
		return nil, errors.New("frame too large")
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

// hostileServer returns a client host connected to a host whose sync handler
// calls answer with each frame the client sends and writes back what it returns;
// a nil answer makes the handler stall until the test ends, and a handler that
// returns close=true closes the stream after writing.
func hostileServer(t *testing.T, answer func(round int, frame []byte) (out []byte, close bool)) (client, bad host.Host) {
	client, bad = streamstest.NewHost(t), streamstest.NewHost(t)
	quit := make(chan struct{})
	var (
		mu      sync.Mutex
		stopped bool
		wg      sync.WaitGroup
	)
	t.Cleanup(func() { // runs before the hosts close
		mu.Lock()
		stopped = true
		mu.Unlock()
		close(quit)
		wg.Wait()
	})
	bad.SetStreamHandler(reconcile.ProtocolID, func(s network.Stream) {
		mu.Lock()
		if stopped {
			mu.Unlock()
			s.Reset()
			return
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		defer s.Reset()
		r := bufio.NewReader(s)
		for round := 1; ; round++ {
			f, err := readFrame(r)
			if err != nil {
				return
			}
			out, closeAfter := answer(round, f)
			if out == nil {
				<-quit
				return
			}
			if _, err := s.Write(out); err != nil {
				return
			}
			if closeAfter {
				s.Close()
				return
			}
		}
	})
	streamstest.Connect(t, client, bad)
	return client, bad
}

// TestSummaryAgreesWithoutSnapshot: a server that knows the sum of a
// collection's items answers an initiator that agrees with it without
// reading a snapshot, in the same bytes and round trip; one that differs, or
// that goes on after the agreement, is answered from a snapshot as before.
func TestSummaryAgreesWithoutSnapshot(t *testing.T) {
	sumOf := func(items []reconcile.Item) itemsum.Sum {
		var s itemsum.Sum
		for _, it := range items {
			s.Add(it.Key, it.Hash)
		}
		return s
	}
	var plain *env
	var e *env
	e = newEnv(t, &reconcile.Options{Summary: func(c cid.Cid) (itemsum.Sum, bool) {
		e.cols.mu.Lock()
		defer e.cols.mu.Unlock()
		items, ok := e.cols.sets[c]
		return sumOf(items), ok
	}})
	plain = newEnv(t, nil)
	reads := func(e *env) int {
		e.cols.mu.Lock()
		defer e.cols.mu.Unlock()
		return len(e.cols.froms)
	}
	for _, tc := range []struct {
		name   string
		p      *pair
		agreed bool
	}{
		{"in sync", docPair(5000, 0, 21), true},
		{"one differs", docPair(5000, 1, 22), false},
		{"few items", docPair(20, 0, 23), false}, // the initiator sends digests, not a fingerprint
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := collectionID(t, tc.name)
			for _, e := range []*env{e, plain} {
				e.cols.mu.Lock()
				e.cols.sets[col] = tc.p.b
				e.cols.mu.Unlock()
			}
			readsBefore, agreedBefore := reads(e), e.srv.Metrics().Agreed
			r, err := e.reconcile(t, col, tc.p.a, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, tc.p)
			want, err := plain.reconcile(t, col, tc.p.a, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rounds != want.Rounds || r.BytesSent != want.BytesSent || r.BytesReceived != want.BytesReceived {
				t.Fatalf("with a summary %d rounds, %d bytes sent, %d received; without %d, %d, %d",
					r.Rounds, r.BytesSent, r.BytesReceived, want.Rounds, want.BytesSent, want.BytesReceived)
			}
			if read := reads(e) > readsBefore; read == tc.agreed {
				t.Fatalf("snapshot read %v, want %v", read, !tc.agreed)
			}
			if agreed := e.srv.Metrics().Agreed > agreedBefore; agreed != tc.agreed {
				t.Fatalf("answered from the summary %v, want %v", agreed, tc.agreed)
			}
		})
	}

	// An initiator that goes on after the agreement is answered from a
	// snapshot, as a session that opened with its second message would be.
	col := collectionID(t, "goes on")
	p := docPair(5000, 40, 24)
	e.cols.mu.Lock()
	e.cols.sets[col] = p.b
	e.cols.mu.Unlock()
	agreeing := streamstest.Frame(cat(binary.AppendUvarint(nil, uint64(len(col.Bytes()))), col.Bytes(),
		reconcile.NewSession(mustSet(t, p.b)).Initiate()))
	second := reconcile.NewSession(mustSet(t, p.a)).Initiate()
	answer, _ := rawSession(t, e, cat(agreeing, streamstest.Frame(second)), true)
	frames := bufio.NewReader(bytes.NewReader(answer))
	first, err := readFrame(frames)
	if err != nil || !bytes.Equal(first, []byte{0}) {
		t.Fatalf("answer to the agreeing fingerprint %q, %v; want an empty message", first, err)
	}
	next, err := readFrame(frames)
	if err != nil || len(next) < 2 || next[0] != 0 {
		t.Fatalf("answer to the message after it %q, %v; want a message", next, err)
	}
	if want, err := reconcile.Respond(mustSet(t, p.b), second); err != nil || !bytes.Equal(next[1:], want) {
		t.Fatalf("answer to the message after the agreement differs from Respond's (%v)", err)
	}
}

// TestReconcileSum: an initiator that knows the sum of its items reads them
// only when the peer differs, and otherwise finds what Reconcile finds, in
// the same bytes and round trips; an error reading them ends the session.
func TestReconcileSum(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name  string
		p     *pair
		reads int
	}{
		{"in sync", docPair(5000, 0, 31), 0},
		{"some differ", docPair(5000, 60, 32), 1},
		{"few items", docPair(20, 0, 33), 1}, // opened with digests, which need them
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := collectionID(t, tc.name)
			e.cols.mu.Lock()
			e.cols.sets[col] = tc.p.b
			e.cols.mu.Unlock()
			var sum itemsum.Sum
			for _, it := range tc.p.a {
				sum.Add(it.Key, it.Hash)
			}
			reads := 0
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r, err := reconcile.ReconcileSum(ctx, e.client, e.server.ID(), col, sum, func() (*reconcile.Set, error) {
				reads++
				return reconcile.NewSet(tc.p.a)
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, tc.p)
			if reads != tc.reads {
				t.Fatalf("items read %d times, want %d", reads, tc.reads)
			}
			want, err := e.reconcile(t, col, tc.p.a, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rounds != want.Rounds || r.BytesSent != want.BytesSent || r.BytesReceived != want.BytesReceived {
				t.Fatalf("from the sum %d rounds, %d bytes sent, %d received; from the items %d, %d, %d",
					r.Rounds, r.BytesSent, r.BytesReceived, want.Rounds, want.BytesSent, want.BytesReceived)
			}
		})
	}

	col := collectionID(t, "unreadable")
	p := docPair(5000, 60, 34)
	e.cols.mu.Lock()
	e.cols.sets[col] = p.b
	e.cols.mu.Unlock()
	var sum itemsum.Sum
	for _, it := range p.a {
		sum.Add(it.Key, it.Hash)
	}
	failed := errors.New("the store failed")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := reconcile.ReconcileSum(ctx, e.client, e.server.ID(), col, sum, func() (*reconcile.Set, error) {
		return nil, failed
	}, nil); !errors.Is(err, failed) {
		t.Fatalf("ReconcileSum whose items fail: %v, want their error", err)
	}
}
