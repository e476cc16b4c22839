package reconcile_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// randomFingerprint is a message with one range, up to +∞, holding a random
// fingerprint of five items: an answer that never settles.
func randomFingerprint() []byte {
	fp := make([]byte, reconcile.FingerprintSize)
	rand.Read(fp)
	return cat([]byte{reconcile.ModeFingerprint}, fp, []byte{5, 0})
}

// TestHostileResponder checks that Reconcile cuts off every kind of bad
// responder with an error that names it, and never hangs.
func TestHostileResponder(t *testing.T) {
	many := docPair(1000, 0, 1).a
	few := docPair(3, 0, 1).a
	for _, tc := range []struct {
		name   string
		items  []reconcile.Item
		opts   *reconcile.Options
		answer func(round int, f []byte) ([]byte, bool)
		want   error
		text   string
	}{
		{
			name:   "never settles",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return streamstest.Frame(cat([]byte{0}, randomFingerprint())), false },
			want:   reconcile.ErrLimit, text: "no agreement after 64 rounds",
		},
		{
			name:   "never settles, few items",
			items:  few,
			opts:   &reconcile.Options{MaxRounds: 5},
			answer: func(int, []byte) ([]byte, bool) { return streamstest.Frame(cat([]byte{0}, randomFingerprint())), false },
			want:   reconcile.ErrLimit, text: "no agreement after 5 rounds",
		},
		{
			name:   "silent",
			items:  many,
			opts:   &reconcile.Options{Timeout: 300 * time.Millisecond},
			answer: func(int, []byte) ([]byte, bool) { return nil, false },
			want:   reconcile.ErrTimeout,
		},
		{
			name:   "silent past its first answer's deadline",
			items:  many,
			opts:   &reconcile.Options{FirstAnswer: 300 * time.Millisecond},
			answer: func(int, []byte) ([]byte, bool) { return nil, false },
			want:   reconcile.ErrTimeout, text: "no answer within 300ms",
		},
		{
			// Only the first answer has FirstAnswer; later ones the session's Timeout.
			name:  "slow after its first answer",
			items: many,
			opts:  &reconcile.Options{FirstAnswer: 200 * time.Millisecond, MaxRounds: 3},
			answer: func(round int, _ []byte) ([]byte, bool) {
				if round > 1 {
					time.Sleep(400 * time.Millisecond)
				}
				return streamstest.Frame(cat([]byte{0}, randomFingerprint())), false
			},
			want: reconcile.ErrLimit, text: "no agreement after 3 rounds",
		},
		{
			name:  "stalls after a round",
			items: many,
			opts:  &reconcile.Options{Timeout: 300 * time.Millisecond},
			answer: func(round int, _ []byte) ([]byte, bool) {
				if round > 1 {
					return nil, false
				}
				return streamstest.Frame(cat([]byte{0}, randomFingerprint())), false
			},
			want: reconcile.ErrTimeout,
		},
		{
			name:   "oversized frame",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return binary.AppendUvarint(nil, reconcile.MaxFrameSize+1), false },
			want:   reconcile.ErrLimit, text: "frame of",
		},
		{
			name:   "huge length prefix",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, false },
			want:   reconcile.ErrLimit,
		},
		{
			name:   "non-minimal length prefix",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return []byte{0x80, 0x00}, false },
			want:   reconcile.ErrProtocol,
		},
		{
			name:   "session bytes",
			items:  many,
			opts:   &reconcile.Options{MaxBytes: 1000},
			answer: func(int, []byte) ([]byte, bool) { return streamstest.Frame(make([]byte, 2000)), false },
			want:   reconcile.ErrLimit, text: "exceed 1000 bytes",
		},
		{
			name:   "garbage",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return streamstest.Frame([]byte{0, 0xff, 0xff, 0xff}), false },
			want:   reconcile.ErrProtocol, text: "unknown mode",
		},
		{
			name:   "unknown status",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return streamstest.Frame([]byte{7}), false },
			want:   reconcile.ErrProtocol, text: "status 7",
		},
		{
			name:   "empty frame",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return streamstest.Frame(nil), false },
			want:   reconcile.ErrProtocol,
		},
		{
			name:  "digests from the responder",
			items: many,
			answer: func(int, []byte) ([]byte, bool) {
				return streamstest.Frame([]byte{0, reconcile.ModeDigests, 0, 0}), false
			},
			want: reconcile.ErrProtocol, text: "responder sent digests",
		},
		{
			name:  "diff of the wrong length",
			items: few,
			answer: func(int, []byte) ([]byte, bool) {
				return streamstest.Frame([]byte{0, reconcile.ModeDiff, 1, 1, 0, 0}), false
			},
			want: reconcile.ErrProtocol, text: "bitmap of 1 bits",
		},
		{
			name:  "truncated frame",
			items: many,
			answer: func(int, []byte) ([]byte, bool) {
				return streamstest.Frame(cat([]byte{0}, randomFingerprint()))[:8], true
			},
			want: reconcile.ErrProtocol, text: "inside a frame",
		},
		{
			name:   "closes without answering",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return []byte{}, true },
			want:   reconcile.ErrProtocol, text: "without an answer",
		},
		{
			name:  "error frame",
			items: many,
			answer: func(int, []byte) ([]byte, bool) {
				return streamstest.Frame(cat([]byte{1, 3}, []byte("too\nmuch"))), true
			},
			want: reconcile.ErrLimit, text: `"too\nmuch"`,
		},
		{
			name:   "malformed error frame",
			items:  many,
			answer: func(int, []byte) ([]byte, bool) { return streamstest.Frame([]byte{1}), true },
			want:   reconcile.ErrProtocol,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, bad := hostileServer(t, tc.answer)
			col := collectionID(t, "hostile")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			r, err := reconcile.Reconcile(ctx, client, bad.ID(), col, tc.items, "", tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err %q does not say %q", err, tc.text)
			}
			checkPeerError(t, err, bad.ID(), col)
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %v", time.Since(start))
			}
			if tc.name == "never settles" && r.Rounds != reconcile.DefaultMaxRounds {
				t.Fatalf("cut off after %d rounds", r.Rounds)
			}
			t.Logf("%v (%d rounds, %d bytes sent, %d received)", err, r.Rounds, r.BytesSent, r.BytesReceived)
		})
	}
}

// rawSession opens a sync stream to the server, writes data, and returns what the
// server answers until it closes or resets the stream.
func rawSession(t *testing.T, e *env, data []byte, closeWrite bool) ([]byte, error) {
	t.Helper()
	return rawExchange(rawStream(t, e), data, closeWrite)
}

// rawStream opens a sync stream to the server, which rawExchange uses and
// resets; it fails the test if it cannot, so it runs on the test's goroutine.
func rawStream(t *testing.T, e *env) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.client.NewStream(ctx, e.server.ID(), reconcile.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeadline(time.Now().Add(10 * time.Second))
	return s
}

// rawExchange writes data on s and returns what the server answers until it
// closes or resets the stream, then resets s.
func rawExchange(s network.Stream, data []byte, closeWrite bool) ([]byte, error) {
	defer s.Reset()
	if _, err := s.Write(data); err != nil {
		return nil, err
	}
	if closeWrite {
		s.CloseWrite()
	}
	var out bytes.Buffer
	_, err := out.ReadFrom(s)
	return out.Bytes(), err
}

// errorCode returns the code of the error frame that answer ends with.
func errorCode(t *testing.T, answer []byte) int {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(answer))
	for {
		f, err := readFrame(r)
		if err != nil {
			t.Fatalf("no error frame in answer %q: %v", answer, err)
		}
		if len(f) > 1 && f[0] == 1 {
			return int(f[1])
		}
	}
}

// TestHostileInitiator sends the server bad sessions and checks that it answers
// with the right error, cuts stalled sessions, and keeps serving.
func TestHostileInitiator(t *testing.T) {
	e := newEnv(t, &reconcile.Options{Timeout: time.Second, MaxRounds: 4, MaxBytes: 64 << 10})
	col := collectionID(t, "served")
	p := docPair(2000, 20, 9)
	e.cols.sets[col] = p.b
	open := func(msg []byte) []byte {
		return streamstest.Frame(cat(binary.AppendUvarint(nil, uint64(len(col.Bytes()))), col.Bytes(), msg))
	}
	first := reconcile.NewSession(mustSet(t, p.a)).Initiate()

	for _, tc := range []struct {
		name string
		data []byte
		code int
	}{
		{"garbage", streamstest.Frame([]byte("definitely not a session")), 2},
		{"bad collection ID", streamstest.Frame([]byte{3, 1, 2, 3}), 2},
		{"collection ID too long", streamstest.Frame(cat([]byte{0xff, 0x01}, make([]byte, 300))), 2},
		{"empty first frame", streamstest.Frame(nil), 2},
		{"oversized frame", binary.AppendUvarint(nil, reconcile.MaxFrameSize+1), 3},
		{"bad message", open([]byte{0, 0, 0}), 2},
		{"items from the initiator", open([]byte{reconcile.ModeItems, 0, 0}), 2},
		{"diff from the initiator", open([]byte{reconcile.ModeDiff, 0, 0, 0}), 2},
		{"too many rounds", cat(open(first), streamstest.Frame(first), streamstest.Frame(first), streamstest.Frame(first), streamstest.Frame(first)), 3},
		{"too many bytes", cat(open(first), streamstest.Frame(make([]byte, 64<<10))), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer, _ := rawSession(t, e, tc.data, false)
			if code := errorCode(t, answer); code != tc.code {
				t.Fatalf("error code %d, want %d", code, tc.code)
			}
		})
	}

	// Sessions that stall, end early or reset are cut without an answer.
	for _, data := range [][]byte{nil, open(first)[:10], open(first)} {
		if _, err := rawSession(t, e, data, true); err != nil && !errors.Is(err, network.ErrReset) {
			t.Logf("stream: %v", err)
		}
	}
	stalled := make(chan error, 1)
	stalledStream := rawStream(t, e)
	go func() { _, err := rawExchange(stalledStream, open(first)[:10], false); stalled <- err }()
	select {
	case err := <-stalled:
		if !errors.Is(err, network.ErrReset) {
			t.Fatalf("stalled session ended with %v, want a reset", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not cut a stalled session")
	}

	// Many hostile sessions at once: beyond MaxConcurrent they are refused.
	var wg sync.WaitGroup
	for range 3 * reconcile.DefaultMaxConcurrent {
		s := rawStream(t, e)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rawExchange(s, open(first)[:10], false)
		}()
	}
	wg.Wait()

	// The server still serves honest peers.
	r, err := e.reconcile(t, col, p.a, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, p)
	streamstest.WaitFor(t, "the server to count the honest session", func() bool { return e.srv.Metrics().Completed == 1 })
	m := e.srv.Metrics()
	t.Logf("server metrics %+v", m)
	if m.Failed < 14 || m.Refused == 0 {
		t.Fatalf("server metrics %+v", m)
	}
}

// keyFlood is an answer of the responder that lists as differing as many long
// keys as fit in a frame, front-coded so that each costs about 4 bytes: the
// keys of diff ranges where the initiator holds nothing, 1024 a range, each
// key MaxKeySize bytes long and starting with tag. A fingerprint up to +∞
// that never settles keeps the session going.
func keyFlood(tag byte) []byte {
	key := func(i int) string {
		k := make([]byte, reconcile.MaxKeySize)
		for j := range k {
			k[j] = 'a'
		}
		k[0] = tag
		k[len(k)-3], k[len(k)-2], k[len(k)-1] = byte(i>>16), byte(i>>8), byte(i)
		return string(k)
	}
	// str appends string s front-coded against prev: shared+offset,
	// suffix length, suffix.
	prev := ""
	str := func(b []byte, s string, offset uint64) []byte {
		n := 0
		for n < len(prev) && n < len(s) && prev[n] == s[n] {
			n++
		}
		b = binary.AppendUvarint(b, uint64(n)+offset)
		b = binary.AppendUvarint(b, uint64(len(s)-n))
		prev = s
		return append(b, s[n:]...)
	}
	msg := []byte{0}
	for r := 0; len(msg) < reconcile.MaxMessageSizeForTest-16<<10; r++ {
		msg = append(msg, reconcile.ModeDiff, 0)
		msg = binary.AppendUvarint(msg, 1024)
		for i := range 1024 {
			msg = str(msg, key(r*1024+i), 0)
		}
		msg = str(msg, key((r+1)*1024), 1) // the bound: the next range's first key
	}
	return append(msg, randomFingerprint()...)
}

// TestHostileResponderKeysAreBounded: a responder that lists, round after
// round, keys of the largest size front-coded to a few bytes each cannot
// make the initiator hold more than twice the session's MaxBytes of them.
func TestHostileResponderKeysAreBounded(t *testing.T) {
	const maxBytes = 1 << 20
	client, bad := hostileServer(t, func(round int, _ []byte) ([]byte, bool) {
		return streamstest.Frame(keyFlood(byte(round))), false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := reconcile.Reconcile(ctx, client, bad.ID(), collectionID(t, "hostile"), nil, "", &reconcile.Options{MaxBytes: maxBytes})
	if !errors.Is(err, reconcile.ErrLimit) {
		t.Fatalf("err %v, want %v", err, reconcile.ErrLimit)
	}
	held := 0
	for _, k := range r.Need {
		held += len(k) + 16 // a string's header in the slice
	}
	t.Logf("%v: %d keys, %d bytes, after %d rounds and %d bytes received", err, len(r.Need), held, r.Rounds, r.BytesReceived)
	if held > 2*maxBytes {
		t.Fatalf("the initiator holds %d bytes of the peer's keys, want at most %d", held, 2*maxBytes)
	}
}

// TestHostileResponderOffersAreBounded: a responder that answers, round after
// round, that it holds none of the initiator's items (a range of items with
// no key over all of them) cannot make the initiator record them again and
// again: a few bytes a round would cost it 16 bytes an item each time.
func TestHostileResponderOffersAreBounded(t *testing.T) {
	const n = 10_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = docKey(uint64(i))
	}
	p := makePair(keys, func(int) kind { return onlyA })
	s := reconcile.NewSession(mustSet(t, p.a))
	s.Initiate()
	// A range of items with no key up to "c", beyond every "bafyrei…" key,
	// then a fingerprint that never settles.
	answer := cat([]byte{reconcile.ModeItems, 0, 1, 1, 'c'}, randomFingerprint())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for round := 1; round <= reconcile.DefaultMaxRounds; round++ {
		if _, _, err := s.Reply(answer); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d rounds of %d bytes: %d bytes allocated", reconcile.DefaultMaxRounds, len(answer), allocated)
	if allocated > 2*16*n+1<<20 {
		t.Fatalf("%d rounds of %d bytes made the initiator allocate %d bytes for its %d items", reconcile.DefaultMaxRounds, len(answer), allocated, n)
	}
	if r := s.Result(); len(r.Offer) != n {
		t.Fatalf("offer of %d items, want %d", len(r.Offer), n)
	}
}

// TestLargeOfferAgainstEmptyPeer: an initiator whose items would cost more
// than twice the session's MaxBytes, at 16 bytes an item, learns from an
// empty peer that the peer lacks them all: offering its own items costs it
// no more than its set, whatever the budget for the peer's keys.
func TestLargeOfferAgainstEmptyPeer(t *testing.T) {
	const n, maxBytes = 200_000, 1 << 20
	keys := make([]string, n)
	for i := range keys {
		keys[i] = docKey(uint64(i))
	}
	p := makePair(keys, func(int) kind { return onlyA })
	e := newEnv(t, nil)
	col := collectionID(t, "empty")
	e.cols.sets[col] = nil
	r, err := e.reconcile(t, col, p.a, &reconcile.Options{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Offer) != n || len(r.Need) != 0 {
		t.Fatalf("offer %d, need %d; want %d and 0", len(r.Offer), len(r.Need), n)
	}
}

// TestSnapshotsWithinBudget: each session holds a snapshot of its collection,
// read for a first frame of a few bytes, so a peer that opens sessions and
// leaves them silent could make the server hold one per session. Their bytes
// are counted against Options.MaxSnapshotBytes: a session whose snapshot does
// not fit beside a held one is refused as busy, a session alone is served
// whatever its size, and the count goes back when sessions end.
func TestSnapshotsWithinBudget(t *testing.T) {
	col := collectionID(t, "large")
	p := docPair(2000, 20, 11)
	var e *env
	e = newEnv(t, &reconcile.Options{
		MaxSnapshotBytes: 1500 * reconcile.SnapshotItemBytes, // less than one snapshot
		SnapshotItems: func(c cid.Cid) int {
			e.cols.mu.Lock()
			defer e.cols.mu.Unlock()
			return len(e.cols.sets[c])
		},
	})
	e.cols.mu.Lock()
	e.cols.sets[col] = p.b
	e.cols.mu.Unlock()

	// Alone, a session is served, though its snapshot is over the budget.
	r, err := e.reconcile(t, col, p.a, nil)
	if err != nil {
		t.Fatalf("a session alone: %v", err)
	}
	checkResult(t, r, p)
	// Its snapshot counts until the server has ended it, a little after the
	// initiator has.
	streamstest.WaitFor(t, "the server to end the first session", func() bool { return e.srv.Metrics().Completed == 1 })

	// A silent session holds its snapshot: read once it has answered.
	silent := openSilentSession(t, e, col, p.a)
	if _, err := e.reconcile(t, col, p.a, nil); !errors.Is(err, reconcile.ErrBusy) {
		t.Fatalf("a session beside a held snapshot: %v, want ErrBusy", err)
	}
	if m := e.srv.Metrics(); m.Busy != 1 {
		t.Fatalf("metrics %+v, want 1 busy", m)
	}

	// Once the silent session ends, its snapshot no longer counts.
	endSilentSession(t, e, col, p, silent)
}

// openSilentSession opens a session of col with e's server over a raw
// stream, with the first message of a session of items, reads the server's
// first answer, and leaves the session silent (see endSilentSession).
func openSilentSession(t *testing.T, e *env, col cid.Cid, items []reconcile.Item) network.Stream {
	t.Helper()
	open := streamstest.Frame(cat(binary.AppendUvarint(nil, uint64(len(col.Bytes()))), col.Bytes(),
		reconcile.NewSession(mustSet(t, items)).Initiate()))
	silent := rawStream(t, e)
	if _, err := silent.Write(open); err != nil {
		t.Fatal(err)
	}
	if f, err := readFrame(bufio.NewReader(silent)); err != nil || len(f) == 0 || f[0] != 0 {
		t.Fatalf("the silent session's first answer: %q, %v; want a message", f, err)
	}
	return silent
}

// endSilentSession resets silent and waits until the server, no longer busy,
// serves a session of col between p's sets again.
func endSilentSession(t *testing.T, e *env, col cid.Cid, p *pair, silent network.Stream) {
	t.Helper()
	silent.Reset()
	streamstest.WaitFor(t, "a session served after the silent one ended", func() bool {
		r, err := e.reconcile(t, col, p.a, nil)
		if err != nil && !errors.Is(err, reconcile.ErrBusy) {
			t.Fatalf("a session after the silent one ended: %v", err)
		}
		if err == nil {
			checkResult(t, r, p)
		}
		return err == nil
	})
}
