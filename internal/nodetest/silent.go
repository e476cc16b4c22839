package nodetest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// SilentListener listens on an ephemeral port of 127.0.0.1, takes every
// connection and never writes to it nor closes it until the test ends, as a
// hung node or another service on the port does. It returns its address,
// 127.0.0.1:PORT.
func SilentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// fullProbeWait is how long FullListener's probe waits for a connect that
// must not complete: one to 127.0.0.1 is made or refused in microseconds.
const fullProbeWait = 100 * time.Millisecond

// FullListener returns the address, 127.0.0.1:PORT, of a listening socket
// to which no connection can be made: a connect to it neither completes nor
// is refused, but hangs until the dialer gives up, as one to a host that
// drops packets does. Linux makes it so without root: the socket listens with
// a backlog of 0 and is never accepted from, so the kernel completes one
// connection and queues it (FullListener makes it and keeps it open), then
// finds the accept queue full and drops the SYN of every other connect; the
// connecting side sends its SYN again (after 1s, 3s, 7s, …) until its dialer
// gives up or its SYN retries run out. FullListener fails the test unless the
// kernel reports that one connection queued and a second connect then hangs
// for 100ms. At the end of the test the socket and its connection are closed;
// a connect still waiting is then refused when it next sends its SYN.
func FullListener(t testing.TB) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	first, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("FullListener: the first connect to a listener with a backlog of 0: %v; want it made and queued", err)
	}
	t.Cleanup(func() { first.Close() })
	// The connect returns once the SYN-ACK came; the connection is queued
	// once the kernel has handled the ACK that answers it.
	Eventually(t, 10*time.Second, func() error {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return err
		}
		// For a listening socket, the kernel reports the length of its
		// accept queue in tcpi_unacked.
		if info.Unacked != 1 {
			return fmt.Errorf("FullListener: %d connections queued, want 1", info.Unacked)
		}
		return nil
	})
	probe, err := net.DialTimeout("tcp", addr, fullProbeWait)
	if err == nil {
		probe.Close()
		t.Fatal("FullListener: a connect to a listener whose accept queue is full completed; " +
			"want it to hang (the kernel to drop its SYN)")
	}
	if ne := net.Error(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("FullListener: a connect to a listener whose accept queue is full: %v; "+
			"want it to hang (the kernel to drop its SYN)", err)
	}
	return addr
}
