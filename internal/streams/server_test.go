package streams_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb/internal/streams"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m) // no goroutine of libp2p or ours may outlive the tests
}

const testProtocol protocol.ID = "/gossipdb/streams-test/1"

// logBuffer collects log lines written concurrently.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// env is a Server on one host and a client host connected to it.
type env struct {
	server, client host.Host
	srv            *streams.Server
	log            *logBuffer
}

// newEnv starts a Server of testProtocol running handler, with opts and a
// logger into env.log. The Server closes when the test ends.
func newEnv(t *testing.T, opts streams.Options, handler streams.Handler) *env {
	t.Helper()
	e := &env{server: streamstest.NewHost(t), client: streamstest.NewHost(t), log: &logBuffer{}}
	opts.Logger = slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.RefusedMessage = "test: refused"
	opts.PanicMessage = "test: panic"
	srv, err := streams.NewServer(e.server, testProtocol, handler, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv = srv
	streamstest.Connect(t, e.client, e.server)
	return e
}

// exchange opens a stream to the server, writes data, closes its write side and
// reads the answer to its end.
func (e *env) exchange(t *testing.T, data []byte) ([]byte, error) {
	t.Helper()
	s := e.open(t)
	defer s.Reset()
	if _, err := s.Write(data); err != nil {
		return nil, err
	}
	_ = s.CloseWrite()
	return io.ReadAll(s)
}

// open opens a stream to the server with a deadline of 10 seconds.
func (e *env) open(t *testing.T) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.client.NewStream(ctx, e.server.ID(), testProtocol)
	if err != nil {
		t.Fatal(err)
	}
	s.SetDeadline(time.Now().Add(10 * time.Second))
	return s
}

// echo is a handler that answers the bytes it reads, reversed, and fails on a
// request of "fail".
func echo(_ context.Context, s network.Stream) error {
	data, err := io.ReadAll(s)
	if err != nil {
		s.Reset()
		return err
	}
	if string(data) == "fail" {
		s.Reset()
		return errors.New("asked to fail")
	}
	for i, j := 0, len(data)-1; i < j; i, j = i+1, j-1 {
		data[i], data[j] = data[j], data[i]
	}
	if _, err := s.Write(data); err != nil {
		s.Reset()
		return err
	}
	return s.Close()
}

// TestServer checks that the handler serves streams and that its failures are
// counted.
func TestServer(t *testing.T) {
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: 10 * time.Second}, echo)
	for range 3 {
		got, err := e.exchange(t, []byte("abc"))
		if err != nil || string(got) != "cba" {
			t.Fatalf("answer %q, %v; want \"cba\"", got, err)
		}
	}
	if _, err := e.exchange(t, []byte("fail")); !errors.Is(err, network.ErrReset) {
		t.Fatalf("failing handler: read %v, want a reset", err)
	}
	streamstest.WaitFor(t, "the failure to count", func() bool { return e.srv.Metrics().Failed == 1 })
	if m := e.srv.Metrics(); m != (streams.Metrics{Streams: 4, Failed: 1}) {
		t.Fatalf("metrics %+v", m)
	}
}

// TestServerFailedFreesSlot checks that a failure is counted only once its
// handler's slot is free: with MaxConcurrent 1, the stream opened after Failed
// moves is served, never refused.
func TestServerFailedFreesSlot(t *testing.T) {
	e := newEnv(t, streams.Options{MaxConcurrent: 1, Timeout: 10 * time.Second}, func(ctx context.Context, s network.Stream) error {
		data, err := io.ReadAll(s)
		if err == nil && string(data) == "fail" {
			s.Reset()
			return errors.New("asked to fail")
		}
		// Only the requests to fail count: a stream that fails because the
		// client reset it first is not this test's failure.
		s.Write(data)
		s.Close()
		return nil
	})
	for i := range uint64(20) {
		// The last stream's handler may still hold the slot after its answer:
		// a refused "fail" is sent again.
		streamstest.WaitFor(t, "a stream to fail", func() bool {
			_, err := e.exchange(t, []byte("fail"))
			if !errors.Is(err, network.ErrReset) {
				t.Fatalf("failing handler: read %v, want a reset", err)
			}
			return !streams.IsRefused(err)
		})
		streamstest.WaitFor(t, "the failure to count", func() bool { return e.srv.Metrics().Failed == i+1 })
		if got, err := e.exchange(t, []byte("ab")); err != nil || string(got) != "ab" {
			t.Fatalf("stream %d after a failure: answer %q, %v; want \"ab\"", i, got, err)
		}
	}
}

// TestServerRefuses checks that a stream beyond MaxConcurrent is reset at once
// with StreamResourceLimitExceeded, which IsRefused recognizes, and logged.
func TestServerRefuses(t *testing.T) {
	entered := make(chan struct{})
	e := newEnv(t, streams.Options{MaxConcurrent: 1, Timeout: 10 * time.Second}, func(ctx context.Context, s network.Stream) error {
		close(entered)
		<-ctx.Done() // hold the only slot until the server closes
		s.Reset()
		return ctx.Err()
	})
	held := e.open(t)
	defer held.Reset()
	if _, err := held.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	<-entered

	_, err := e.exchange(t, []byte("x"))
	if !streams.IsRefused(err) {
		t.Fatalf("second stream: read %v, want a refusal", err)
	}
	if m := e.srv.Metrics(); m.Refused != 1 || m.Streams != 2 {
		t.Fatalf("metrics %+v, want 2 streams, 1 refused", m)
	}
	if log := e.log.String(); !strings.Contains(log, "level=WARN msg=\"test: refused\" peer="+e.client.ID().String()) {
		t.Fatalf("log %q does not report the refusal", log)
	}
}

// TestServerRefusesBeyondMaxPerPeer checks that a peer running MaxPerPeer
// handlers has its next stream refused, counted and logged as the peer's
// limit, while another peer is still served, and that the peer is served
// again once its handler has returned.
func TestServerRefusesBeyondMaxPerPeer(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	e := newEnv(t, streams.Options{MaxConcurrent: 3, MaxPerPeer: 1, Timeout: 10 * time.Second}, func(ctx context.Context, s network.Stream) error {
		data, err := io.ReadAll(s)
		if err != nil {
			s.Reset()
			return err
		}
		if string(data) == "hold" {
			entered <- struct{}{}
			select { // hold the peer's only slot
			case <-release:
			case <-ctx.Done():
			}
		}
		s.Write(data)
		return s.Close()
	})
	held := e.open(t)
	defer held.Reset()
	if _, err := held.Write([]byte("hold")); err != nil {
		t.Fatal(err)
	}
	held.CloseWrite()
	<-entered

	if _, err := e.exchange(t, []byte("x")); !streams.IsRefused(err) {
		t.Fatalf("the holding peer's second stream: read %v, want a refusal", err)
	}
	if m := e.srv.Metrics(); m.Refused != 1 || m.RefusedPeer != 1 {
		t.Fatalf("metrics %+v, want 1 stream refused for its peer", m)
	}
	if log := e.log.String(); !strings.Contains(log, "level=WARN msg=\"test: refused\" peer="+e.client.ID().String()+" limit=peer") {
		t.Fatalf("log %q does not report the peer's limit", log)
	}

	other := &env{server: e.server, client: streamstest.NewHost(t), srv: e.srv, log: e.log}
	streamstest.Connect(t, other.client, other.server)
	if got, err := other.exchange(t, []byte("ab")); err != nil || string(got) != "ab" {
		t.Fatalf("another peer's stream: answer %q, %v; want \"ab\"", got, err)
	}

	close(release)
	if got, err := io.ReadAll(held); err != nil || string(got) != "hold" {
		t.Fatalf("held stream: answer %q, %v", got, err)
	}
	// The slot is free once the handler has returned, just after its answer.
	streamstest.WaitFor(t, "the peer to be served again", func() bool {
		got, err := e.exchange(t, []byte("cd"))
		if err != nil && !streams.IsRefused(err) {
			t.Fatalf("the peer's stream after its handler returned: %v", err)
		}
		return err == nil && string(got) == "cd"
	})
}

// TestServerPanic checks that a handler's panic resets its stream, is counted
// and logged with its stack, and leaves the server serving.
func TestServerPanic(t *testing.T) {
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: 10 * time.Second}, func(ctx context.Context, s network.Stream) error {
		data, _ := io.ReadAll(s)
		if string(data) == "panic" {
			panic("handler bug")
		}
		return echo(ctx, s)
	})
	if _, err := e.exchange(t, []byte("panic")); !errors.Is(err, network.ErrReset) {
		t.Fatalf("panicking handler: read %v, want a reset", err)
	}
	streamstest.WaitFor(t, "the panic to count", func() bool { return e.srv.Metrics().Failed == 1 })
	log := e.log.String()
	if !strings.Contains(log, `level=ERROR msg="test: panic"`) || !strings.Contains(log, `panic="handler bug"`) || !strings.Contains(log, "server_test.go") {
		t.Fatalf("log %q does not report the panic with its stack", log)
	}
	if _, err := e.exchange(t, nil); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
}

// TestServerTimeout checks that a handler's context ends after Timeout, with
// cause context.DeadlineExceeded, and that its stream is reset.
func TestServerTimeout(t *testing.T) {
	causes := make(chan error, 1)
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: 200 * time.Millisecond}, func(ctx context.Context, s network.Stream) error {
		// Reads would fail at the stream's deadline, maybe just before ctx ends:
		// wait for ctx, so that the Server's reset is what the client sees.
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	})
	s := e.open(t)
	defer s.Reset()
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := io.ReadAll(s); !errors.Is(err, network.ErrReset) {
		t.Fatalf("read %v, want a reset", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stream reset after %v, with a Timeout of 200ms", d)
	}
	if cause := <-causes; !errors.Is(cause, context.DeadlineExceeded) {
		t.Fatalf("cause %v, want context.DeadlineExceeded", cause)
	}
	streamstest.WaitFor(t, "the timeout to count", func() bool { return e.srv.Metrics().Failed == 1 })
}

// TestServerClose checks that Close resets the streams being handled, ends their
// contexts with ErrServerClosed, waits for their handlers, unregisters the
// protocol and can be repeated.
func TestServerClose(t *testing.T) {
	entered := make(chan struct{}, 1)
	var cause atomic.Value
	var returned atomic.Bool
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: time.Minute}, func(ctx context.Context, s network.Stream) error {
		entered <- struct{}{}
		<-ctx.Done()
		cause.Store(context.Cause(ctx))
		time.Sleep(50 * time.Millisecond) // Close must wait for this
		returned.Store(true)
		return ctx.Err()
	})
	s := e.open(t)
	defer s.Reset()
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if !returned.Load() {
		t.Fatal("Close returned before the handler")
	}
	if c, _ := cause.Load().(error); !errors.Is(c, streams.ErrServerClosed) {
		t.Fatalf("cause %v, want ErrServerClosed", c)
	}
	if _, err := io.ReadAll(s); !errors.Is(err, network.ErrReset) {
		t.Fatalf("stream in progress: read %v, want a reset", err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s, err := e.client.NewStream(ctx, e.server.ID(), testProtocol); err == nil {
		if _, err := s.Read(make([]byte, 1)); err == nil {
			t.Fatal("the protocol is still served after Close")
		}
		s.Reset()
	}
	if m := e.srv.Metrics(); m.Streams != 1 || m.Failed != 1 {
		t.Fatalf("metrics %+v, want 1 stream, 1 failed", m)
	}
}

// TestNewServerInvalid checks that NewServer refuses what it cannot run.
func TestNewServerInvalid(t *testing.T) {
	h := streamstest.NewHost(t)
	ok := streams.Options{MaxConcurrent: 1, Timeout: time.Second}
	for name, tc := range map[string]struct {
		handler streams.Handler
		opts    streams.Options
		want    string
	}{
		"nil handler":       {nil, ok, "nil handler"},
		"no concurrency":    {echo, streams.Options{Timeout: time.Second}, "Options.MaxConcurrent"},
		"negative timeout":  {echo, streams.Options{MaxConcurrent: 1, Timeout: -1}, "Options.Timeout"},
		"negative per peer": {echo, streams.Options{MaxConcurrent: 1, MaxPerPeer: -1, Timeout: time.Second}, "Options.MaxPerPeer"},
		"per peer above":    {echo, streams.Options{MaxConcurrent: 1, MaxPerPeer: 2, Timeout: time.Second}, "Options.MaxPerPeer"},
	} {
		if _, err := streams.NewServer(h, testProtocol, tc.handler, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one saying %q", name, err, tc.want)
		}
	}
	if slices.Contains(h.Mux().Protocols(), testProtocol) {
		t.Fatal("a refused Server registered its handler")
	}
}
