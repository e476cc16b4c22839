package streams_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/gossipdb/gossipdb/internal/streams"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

var errTestTimeout = errors.New("test: timeout")

// expired is the expired function of the test calls.
func expired(err error) error { return fmt.Errorf("%w: not done in time: %w", errTestTimeout, err) }

// silent is a handler that reads until its context ends.
func silent(_ context.Context, s network.Stream) error {
	_, err := io.ReadAll(s)
	return err
}

// TestDial checks a successful exchange: the stream is the caller's to use, and
// Close closes it.
func TestDial(t *testing.T) {
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: 10 * time.Second}, echo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call, err := streams.Dial(ctx, e.client, e.server.ID(), testProtocol, time.Now().Add(10*time.Second), expired)
	if err != nil {
		t.Fatal(err)
	}
	defer call.End()
	if _, err := call.Stream.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	call.Stream.CloseWrite()
	got, err := io.ReadAll(call.Stream)
	if err != nil || string(got) != "cba" {
		t.Fatalf("answer %q, %v; want \"cba\"", got, err)
	}
	if err := call.Close(); err != nil {
		t.Fatal(err)
	}
	call.End()
	if m := e.srv.Metrics(); m.Failed != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

// TestDialDeadline checks that the deadline resets the stream and that Explain
// then reports the expired error.
func TestDialDeadline(t *testing.T) {
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: 10 * time.Second}, silent)
	start := time.Now()
	call, err := streams.Dial(context.Background(), e.client, e.server.ID(), testProtocol, start.Add(200*time.Millisecond), expired)
	if err != nil {
		t.Fatal(err)
	}
	defer call.End()
	_, err = io.ReadAll(call.Stream)
	if err == nil {
		t.Fatal("read succeeded past the deadline")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("read returned after %v with a deadline of 200ms", d)
	}
	err = call.Explain(fmt.Errorf("reading: %w", err))
	if !errors.Is(err, errTestTimeout) || !strings.Contains(err.Error(), "not done in time: reading: ") {
		t.Fatalf("err %v, want the expired error", err)
	}
}

// TestDialCanceled checks that canceling the caller's context resets the stream
// and that Explain then reports the context's error, not a timeout.
func TestDialCanceled(t *testing.T) {
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: 10 * time.Second}, silent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	call, err := streams.Dial(ctx, e.client, e.server.ID(), testProtocol, time.Now().Add(10*time.Second), expired)
	if err != nil {
		t.Fatal(err)
	}
	defer call.End()
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = io.ReadAll(call.Stream)
	err = call.Explain(err)
	if !errors.Is(err, context.Canceled) || errors.Is(err, errTestTimeout) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if errors.Is(call.Explain(io.ErrClosedPipe), errTestTimeout) {
		t.Fatal("Explain calls a cancellation a timeout")
	}
}

// TestDialEnd checks that End without Close resets the stream.
func TestDialEnd(t *testing.T) {
	entered := make(chan struct{})
	errs := make(chan error, 1)
	e := newEnv(t, streams.Options{MaxConcurrent: 4, Timeout: 10 * time.Second}, func(ctx context.Context, s network.Stream) error {
		if _, err := s.Read(make([]byte, 1)); err != nil {
			errs <- err
			return err
		}
		close(entered)
		_, err := io.ReadAll(s)
		errs <- err
		s.Reset()
		return err
	})
	call, err := streams.Dial(context.Background(), e.client, e.server.ID(), testProtocol, time.Now().Add(10*time.Second), expired)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Stream.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	<-entered // otherwise the reset may reach the server before the stream does
	call.End()
	if err := <-errs; !errors.Is(err, network.ErrReset) {
		t.Fatalf("server read %v, want a reset", err)
	}
}

// TestDialFails checks Dial's error when the peer does not serve the protocol
// or cannot be reached in time.
func TestDialFails(t *testing.T) {
	client, server := streamstest.NewHost(t), streamstest.NewHost(t)
	streamstest.Connect(t, client, server)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call, err := streams.Dial(ctx, client, server.ID(), testProtocol, time.Now().Add(10*time.Second), expired)
	if err == nil {
		// The protocol may be negotiated lazily: the first read then fails.
		defer call.End()
		_, err = call.Stream.Read(make([]byte, 1))
		if err == nil {
			t.Fatal("read from a peer without the protocol succeeded")
		}
	} else if !strings.HasPrefix(err.Error(), "opening stream: ") {
		t.Fatalf("err %v, want one about opening the stream", err)
	}

	other := streamstest.NewHost(t) // not connected, and no address known
	_, err = streams.Dial(context.Background(), client, other.ID(), testProtocol, time.Now().Add(100*time.Millisecond), expired)
	if err == nil || !strings.HasPrefix(err.Error(), "opening stream: ") {
		t.Fatalf("err %v, want one about opening the stream", err)
	}
}

// TestDialDoesNotConnect checks that Dial uses the connections the host has:
// a peer that was disconnected is not reconnected, though its address is known.
func TestDialDoesNotConnect(t *testing.T) {
	client, server := streamstest.NewHost(t), streamstest.NewHost(t)
	streamstest.Connect(t, client, server)
	if err := client.Network().ClosePeer(server.ID()); err != nil {
		t.Fatal(err)
	}
	streamstest.WaitFor(t, "the disconnection", func() bool {
		return client.Network().Connectedness(server.ID()) != network.Connected
	})
	if len(client.Peerstore().Addrs(server.ID())) == 0 {
		t.Fatal("the client forgot the server's address: the test would not show that Dial does not use it")
	}
	_, err := streams.Dial(context.Background(), client, server.ID(), testProtocol, time.Now().Add(10*time.Second), expired)
	if err == nil || !strings.HasPrefix(err.Error(), "opening stream: ") {
		t.Fatalf("err %v, want one about opening the stream", err)
	}
	if c := client.Network().Connectedness(server.ID()); c == network.Connected {
		t.Fatal("Dial reconnected the peer")
	}
}

// timeoutError is a net.Error that says it is a timeout.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestIsTimeout(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{os.ErrDeadlineExceeded, true},
		{fmt.Errorf("reading: %w", context.DeadlineExceeded), true},
		{timeoutError{}, true},
		{context.Canceled, false},
		{network.ErrReset, false},
		{nil, false},
	} {
		if got := streams.IsTimeout(tc.err); got != tc.want {
			t.Errorf("IsTimeout(%v) = %v", tc.err, got)
		}
	}
}

func TestIsRefused(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&network.StreamError{ErrorCode: network.StreamResourceLimitExceeded, Remote: true}, true},
		{fmt.Errorf("reading: %w", &network.StreamError{ErrorCode: network.StreamResourceLimitExceeded, Remote: true}), true},
		{&network.StreamError{ErrorCode: network.StreamResourceLimitExceeded}, false}, // our own reset
		{&network.StreamError{ErrorCode: network.StreamProtocolViolation, Remote: true}, false},
		{network.ErrReset, false},
		{nil, false},
	} {
		if got := streams.IsRefused(tc.err); got != tc.want {
			t.Errorf("IsRefused(%v) = %v", tc.err, got)
		}
	}
}
