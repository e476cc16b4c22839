package catchup_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/internal/catchup"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newScheduler(t *testing.T, cfg catchup.Config) *catchup.Scheduler {
	t.Helper()
	s, err := catchup.New(cfg, t0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantStart(t *testing.T, s *catchup.Scheduler, want ...catchup.Key) {
	t.Helper()
	if got := s.Ready().Start; !slices.Equal(got, want) {
		t.Fatalf("started %v, want %v", got, want)
	}
}

// startedWithoutRetries returns a scheduler without retries (no RetryMin)
// that has started b, the session of User with peer B.
func startedWithoutRetries(t *testing.T, b catchup.Key) *catchup.Scheduler {
	t.Helper()
	s := newScheduler(t, catchup.Config{Workers: 4, Queue: 8})
	s.Subscribed(t0, "User")
	s.Connected(t0, "B")
	wantStart(t, s, b)
	return s
}

// wantRetryAt checks that s starts nothing just before at, and k alone at at.
func wantRetryAt(t *testing.T, s *catchup.Scheduler, at time.Time, k catchup.Key) {
	t.Helper()
	s.Tick(at.Add(-time.Millisecond))
	wantStart(t, s)
	s.Tick(at)
	wantStart(t, s, k)
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []catchup.Config{
		{Workers: 0, Queue: 1},
		{Workers: 1, Queue: 0},
		{Workers: 1, Queue: 1, Interval: -1},
		{Workers: 1, Queue: 1, Settle: []time.Duration{0}},
		{Workers: 1, Queue: 1, LostDelay: -1},
		{Workers: 1, Queue: 1, RetryMin: time.Second},
		{Workers: 1, Queue: 1, RetryMin: 2 * time.Second, RetryMax: time.Second},
		{Workers: 1, Queue: 1, RetryMin: -time.Second, RetryMax: time.Second},
	} {
		if _, err := catchup.New(cfg, t0); !errors.Is(err, catchup.ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestSubscribeAndConnect(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 4, Queue: 8, Settle: []time.Duration{time.Second, 4 * time.Second}})
	s.Subscribed(t0, "User")
	wantStart(t, s) // no peer yet
	s.Connected(t0, "B")
	wantStart(t, s, catchup.Key{Collection: "User", Peer: "B"})
	if next, ok := s.Next(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("Next = %v %v, want t0+1s", next, ok)
	}
	// Asked for while it runs: once more when it ends, not twice.
	s.Request("User", "B")
	s.Request("", "")
	wantStart(t, s)
	s.Done(catchup.Key{Collection: "User", Peer: "B"})
	wantStart(t, s, catchup.Key{Collection: "User", Peer: "B"})
	s.Done(catchup.Key{Collection: "User", Peer: "B"})
	wantStart(t, s)
	// The settle follow-ups of the subscription (no peer then) and the connection.
	s.Tick(t0.Add(999 * time.Millisecond))
	wantStart(t, s)
	s.Tick(t0.Add(time.Second))
	wantStart(t, s, catchup.Key{Collection: "User", Peer: "B"})
	s.Done(catchup.Key{Collection: "User", Peer: "B"})
	s.Tick(t0.Add(time.Hour)) // a clock step fires what is due once
	wantStart(t, s, catchup.Key{Collection: "User", Peer: "B"})
	if _, ok := s.Next(); ok {
		t.Fatal("a timer is left with no backstop")
	}
}

func TestWorkersAndQueue(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 2, Queue: 2})
	for _, c := range []string{"A", "B", "C", "D", "E"} {
		s.Subscribed(t0, c)
	}
	s.Connected(t0, "p")
	r := s.Ready()
	want := []catchup.Key{{Collection: "A", Peer: "p"}, {Collection: "B", Peer: "p"}}
	if !slices.Equal(r.Start, want) || r.Dropped != 1 {
		t.Fatalf("Ready = %+v, want start %v and 1 dropped", r, want)
	}
	s.Unsubscribed("C")
	s.Done(catchup.Key{Collection: "A", Peer: "p"})
	wantStart(t, s, catchup.Key{Collection: "D", Peer: "p"})
	s.Disconnected("p")
	s.Done(catchup.Key{Collection: "B", Peer: "p"})
	wantStart(t, s)
	s.Done(catchup.Key{Collection: "B", Peer: "p"}) // twice: ignored
	s.Connected(t0, "p")
	// D still runs, so it is asked for again when done; A starts, B and E wait
	// for a worker.
	wantStart(t, s, catchup.Key{Collection: "A", Peer: "p"})
}

func TestBackstop(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 1, Queue: 4, Interval: time.Minute})
	s.Subscribed(t0, "User")
	s.Connected(t0, "p")
	k := catchup.Key{Collection: "User", Peer: "p"}
	wantStart(t, s, k)
	s.Done(k)
	if next, _ := s.Next(); !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Next = %v, want t0+1m", next)
	}
	s.Tick(t0.Add(59 * time.Second))
	wantStart(t, s)
	s.Tick(t0.Add(time.Minute))
	wantStart(t, s, k)
	if next, _ := s.Next(); !next.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("Next = %v, want t0+2m", next)
	}
	// A request for an unconnected peer or an unknown collection starts nothing.
	s.Done(k)
	s.Request("Post", "p")
	s.Request("User", "q")
	wantStart(t, s)
}

// TestLost: losses request their session LostDelay after the first of them,
// once for a burst; a loss after that timer fired sets a new one; losses of
// unsubscribed collections and unconnected peers are ignored.
func TestLost(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 1, Queue: 4, LostDelay: time.Second})
	s.Subscribed(t0, "User")
	s.Connected(t0, "p")
	k := catchup.Key{Collection: "User", Peer: "p"}
	wantStart(t, s, k)
	s.Done(k)
	for i := range 100 {
		s.Lost(t0.Add(time.Duration(i)*time.Millisecond), "User", "p")
	}
	s.Lost(t0.Add(100*time.Millisecond), "Post", "p")
	s.Lost(t0.Add(100*time.Millisecond), "User", "q")
	if next, ok := s.Next(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("Next = %v %v, want t0+1s", next, ok)
	}
	s.Tick(t0.Add(999 * time.Millisecond))
	wantStart(t, s)
	s.Tick(t0.Add(time.Second))
	wantStart(t, s, k)
	if _, ok := s.Next(); ok {
		t.Fatal("a burst of losses left a second timer")
	}
	s.Done(k)
	s.Lost(t0.Add(2*time.Second), "User", "p")
	s.Tick(t0.Add(3 * time.Second))
	wantStart(t, s, k)
}

// Done of a session whose peer left while it ran does not queue it again.
func TestAgainAfterDisconnect(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 1, Queue: 4})
	s.Subscribed(t0, "User")
	if s.IsConnected("p") {
		t.Fatal("IsConnected before Connected")
	}
	s.Connected(t0, "p")
	if !s.IsConnected("p") {
		t.Fatal("not IsConnected after Connected")
	}
	k := catchup.Key{Collection: "User", Peer: "p"}
	wantStart(t, s, k)
	s.Request("User", "p")
	s.Disconnected("p")
	if s.IsConnected("p") {
		t.Fatal("IsConnected after Disconnected")
	}
	s.Done(k)
	wantStart(t, s)
}

// A clock stepped back does not delay the timers by the step.
func TestClockStepBack(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 1, Queue: 4, Interval: time.Minute, Settle: []time.Duration{time.Second}})
	s.Subscribed(t0, "User")
	s.Connected(t0.Add(10*time.Second), "p")
	k := catchup.Key{Collection: "User", Peer: "p"}
	wantStart(t, s, k)
	s.Done(k)
	s.Tick(t0.Add(10 * time.Second)) // the subscription's follow-up, due since t0+1s
	wantStart(t, s, k)
	s.Done(k)
	back := t0.Add(-time.Hour) // the clock steps back an hour, 10s after t0
	s.Tick(back)
	wantStart(t, s)
	s.Tick(back.Add(time.Second)) // the connection's follow-up, 1s after it
	wantStart(t, s, k)
	s.Done(k)
	if next, _ := s.Next(); !next.Equal(back.Add(50 * time.Second)) {
		t.Fatalf("Next = %v, want the backstop 50s after the step (%v)", next, back.Add(50*time.Second))
	}
}

// TestFailedBacksOff: merges of a collection that keep failing request its
// sessions after a delay that doubles with each failure, up to RetryMax, once
// however many failures come meanwhile; a session that found nothing to pull
// (Recovered) brings the delay back to RetryMin.
func TestFailedBacksOff(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 4, Queue: 8, RetryMin: time.Second, RetryMax: 4 * time.Second})
	user := catchup.Key{Collection: "User", Peer: "B"}
	s.Failed(t0, "User") // not subscribed: ignored
	if _, ok := s.Next(); ok {
		t.Fatal("a failure of an unsubscribed collection set a timer")
	}
	s.Subscribed(t0, "User")
	s.Connected(t0, "B")
	wantStart(t, s, user)
	s.Done(user)
	now := t0
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		s.Failed(now, "User")
		s.Failed(now.Add(time.Millisecond), "User") // meanwhile: no second timer
		next, ok := s.Next()
		if !ok || next.Sub(now) != want || s.RetryDelay("User") != want {
			t.Fatalf("failure %d: next request at %v after it (set %v), retry delay %v; want %v", i, next.Sub(now), ok, s.RetryDelay("User"), want)
		}
		now = next
		wantRetryAt(t, s, now, user)
		s.Done(user)
		if _, ok := s.Next(); ok {
			t.Fatalf("failure %d: a timer is left after the retry", i)
		}
	}
	s.Recovered("User")
	if d := s.RetryDelay("User"); d != 0 {
		t.Fatalf("retry delay after Recovered %v, want 0", d)
	}
	s.Failed(now, "User")
	if next, _ := s.Next(); next.Sub(now) != time.Second {
		t.Fatalf("after Recovered the retry waits %v, want RetryMin", next.Sub(now))
	}
	// Retries off: a failure requests nothing.
	off := newScheduler(t, catchup.Config{Workers: 4, Queue: 8})
	off.Subscribed(t0, "User")
	off.Failed(t0, "User")
	if _, ok := off.Next(); ok {
		t.Fatal("with retries off a failure set a timer")
	}
}

// sessionsWithBAndC returns a scheduler made with cfg, subscribed to User and
// connected to peers B and C, whose sessions of User with B and with C (the
// keys it returns) have started.
func sessionsWithBAndC(t *testing.T, cfg catchup.Config) (s *catchup.Scheduler, b, c catchup.Key) {
	t.Helper()
	s = newScheduler(t, cfg)
	b = catchup.Key{Collection: "User", Peer: "B"}
	c = catchup.Key{Collection: "User", Peer: "C"}
	s.Subscribed(t0, "User")
	s.Connected(t0, "B")
	s.Connected(t0, "C")
	wantStart(t, s, b, c)
	return s, b, c
}

// TestBusyBacksOff: a session its peer refused as busy is requested again,
// with that peer only, after a delay that doubles with each refusal, up to
// RetryMax; a session that ended otherwise brings the delay back to RetryMin,
// and a disconnection forgets it.
func TestBusyBacksOff(t *testing.T) {
	s, b, c := sessionsWithBAndC(t, catchup.Config{Workers: 4, Queue: 8, RetryMin: time.Second, RetryMax: 4 * time.Second})
	s.Done(c)
	s.Busy(t0, c, true) // after its Done: ignored
	if _, ok := s.Next(); ok {
		t.Fatal("a Busy after Done set a timer")
	}
	now := t0
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		s.Busy(now, b, true)
		s.Done(b)
		next, ok := s.Next()
		if !ok || next.Sub(now) != want || s.BusyDelay(b) != want {
			t.Fatalf("refusal %d: next request at %v after it (set %v), busy delay %v; want %v", i, next.Sub(now), ok, s.BusyDelay(b), want)
		}
		now = next
		wantRetryAt(t, s, now, b) // with B only
		if _, ok := s.Next(); ok {
			t.Fatalf("refusal %d: a timer is left after the retry", i)
		}
	}
	s.Busy(now, b, false)
	s.Done(b)
	if d := s.BusyDelay(b); d != 0 {
		t.Fatalf("busy delay after a session served %v, want 0", d)
	}
	s.Request("User", "B")
	wantStart(t, s, b)
	s.Busy(now, b, true)
	s.Done(b)
	if next, _ := s.Next(); next.Sub(now) != time.Second {
		t.Fatalf("after a session served the retry waits %v, want RetryMin", next.Sub(now))
	}
	s.Disconnected("B")
	if d := s.BusyDelay(b); d != 0 {
		t.Fatalf("busy delay after B disconnected %v, want 0", d)
	}
	s.Tick(now.Add(time.Second))
	wantStart(t, s) // B is gone
	// Retries off: a refusal requests nothing.
	off := startedWithoutRetries(t, b)
	off.Busy(t0, b, true)
	off.Done(b)
	if _, ok := off.Next(); ok {
		t.Fatal("with retries off a refusal set a timer")
	}
}

// TestUnfetchedBacksOff: a session that failed for want of a version others
// kept from being fetched is requested again, for that session alone, after
// RetryMin, then twice as long each time, at most the limit given; a session
// that ends otherwise, or its peer leaving, ends the retries.
func TestUnfetchedBacksOff(t *testing.T) {
	const limit = 5 * time.Second
	s, b, c := sessionsWithBAndC(t, catchup.Config{Workers: 4, Queue: 8, RetryMin: time.Second, RetryMax: time.Minute})
	s.Done(c)
	s.Unfetched(t0, c, true, limit) // after its Done: ignored
	if _, ok := s.Next(); ok {
		t.Fatal("an Unfetched after Done set a timer")
	}
	now := t0
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, limit, limit} {
		s.Busy(now, b, false) // the same session was not refused: no matter
		s.Unfetched(now, b, true, limit)
		s.Unfetched(now, b, true, limit) // once per session
		s.Done(b)
		next, ok := s.Next()
		if !ok || next.Sub(now) != want || s.UnfetchedDelay(b) != want {
			t.Fatalf("failure %d: next request at %v after it (set %v), delay %v; want %v", i, next.Sub(now), ok, s.UnfetchedDelay(b), want)
		}
		if !s.Pending(b) {
			t.Fatalf("failure %d: the session to ask again is not pending", i)
		}
		now = next
		wantRetryAt(t, s, now, b) // with B only
		if _, ok := s.Next(); ok {
			t.Fatalf("failure %d: a timer is left after the retry", i)
		}
	}
	s.Unfetched(now, b, false, limit)
	s.Done(b)
	if d := s.UnfetchedDelay(b); d != 0 {
		t.Fatalf("delay after a session that ended otherwise %v, want 0", d)
	}
	if _, ok := s.Next(); ok {
		t.Fatal("a session that ended otherwise set a timer")
	}
	// A limit under RetryMin waits RetryMin.
	s.Request("User", "B")
	wantStart(t, s, b)
	s.Unfetched(now, b, true, time.Millisecond)
	s.Done(b)
	if next, _ := s.Next(); next.Sub(now) != time.Second {
		t.Fatalf("with a limit under RetryMin the retry waits %v, want RetryMin", next.Sub(now))
	}
	s.Disconnected("B")
	if d := s.UnfetchedDelay(b); d != 0 || s.Pending(b) {
		t.Fatalf("after B disconnected: delay %v, pending %v; want 0, false", d, s.Pending(b))
	}
	s.Tick(now.Add(time.Second))
	wantStart(t, s) // B is gone
	// Retries off: a failure requests nothing.
	off := startedWithoutRetries(t, b)
	off.Unfetched(t0, b, true, limit)
	off.Done(b)
	if _, ok := off.Next(); ok {
		t.Fatal("with retries off a failure set a timer")
	}
}

// TestStalledSessionsLeaveAWorker: sessions whose peers timed out start
// behind the others, and never hold every worker.
func TestStalledSessionsLeaveAWorker(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 2, Queue: 16})
	s.Subscribed(t0, "User")
	key := func(p string) catchup.Key { return catchup.Key{Collection: "User", Peer: peer.ID(p)} }
	for _, p := range []string{"A", "B", "C"} {
		s.Connected(t0, peer.ID(p))
	}
	wantStart(t, s, key("A"), key("B"))
	for _, p := range []string{"A", "B"} {
		s.Request("User", peer.ID(p)) // asked for again while running
		s.Stalled(key(p), true)
		s.Done(key(p))
	}
	// C was queued before A and B came back; of those, one at most runs.
	wantStart(t, s, key("C"), key("A"))
	if !s.IsStalled(key("A")) || s.IsStalled(key("C")) {
		t.Fatalf("stalled: A %v, C %v; want A only", s.IsStalled(key("A")), s.IsStalled(key("C")))
	}
	s.Connected(t0, "D") // a new peer goes ahead of the stalled B
	s.Stalled(key("C"), false)
	s.Done(key("C"))
	wantStart(t, s, key("D"))
	s.Stalled(key("D"), false)
	s.Done(key("D"))
	// B waits for A: one worker stays free of stalled sessions.
	wantStart(t, s)
	s.Stalled(key("A"), false) // A answered this time
	s.Done(key("A"))
	wantStart(t, s, key("B"))
	if s.IsStalled(key("A")) {
		t.Fatal("A is still stalled after a session that did not time out")
	}
	s.Disconnected("B")
	if s.IsStalled(key("B")) {
		t.Fatal("B is still stalled after it disconnected")
	}
}

// Pending follows a session from its request to its end, and a request the
// full queue refused leaves none pending.
func TestPending(t *testing.T) {
	s := newScheduler(t, catchup.Config{Workers: 1, Queue: 1, RetryMin: time.Second, RetryMax: time.Minute})
	s.Subscribed(t0, "User")
	a, b, c := catchup.Key{Collection: "User", Peer: "a"}, catchup.Key{Collection: "User", Peer: "b"}, catchup.Key{Collection: "User", Peer: "c"}
	s.Connected(t0, "a")
	s.Connected(t0, "b")
	s.Connected(t0, "c")
	if r := s.Ready(); !slices.Equal(r.Start, []catchup.Key{a}) || r.Dropped != 1 {
		t.Fatalf("started %v and refused %d, want a and 1", r.Start, r.Dropped)
	}
	if !s.Pending(a) || !s.Pending(b) {
		t.Fatal("a running or b queued not pending")
	}
	if s.Pending(c) {
		t.Fatal("c, whose request the full queue refused, pending")
	}
	// a asked for again while it runs, and the queue full when it ends.
	s.Request("User", "a")
	s.Done(a)
	wantStart(t, s, b)
	s.Request("User", "c")
	if !s.Pending(c) || s.Pending(a) {
		t.Fatalf("c queued pending %v, a refused pending %v", s.Pending(c), s.Pending(a))
	}
	// b refused as busy is pending until its request, a second later.
	s.Busy(t0, b, true)
	s.Done(b)
	wantStart(t, s, c)
	if !s.Pending(b) {
		t.Fatal("b refused as busy not pending")
	}
	s.Done(c)
	s.Tick(t0.Add(time.Second))
	wantStart(t, s, b)
	s.Done(b)
	if s.Pending(a) || s.Pending(b) || s.Pending(c) {
		t.Fatal("a session pending after all ended")
	}
}
