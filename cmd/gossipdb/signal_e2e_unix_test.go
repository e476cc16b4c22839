//go:build unix

package main_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// opening is a `gossipdb start` process held in the middle of starting, just
// before it opens the node, as the Open of a large store holds it.
type opening struct {
	cmd    *exec.Cmd
	stderr *nodetest.LogBuffer
	exited chan struct{}
	err    error    // the process's exit error, once exited
	gate   *os.File // the FIFO's write end: closing it lets the node open
}

// startOpening starts the node of n and waits until it is held before Open:
// the command reads a FIFO there (openGateEnv), which the test keeps open.
func startOpening(t *testing.T, n *node) *opening {
	t.Helper()
	path := filepath.Join(t.TempDir(), "open-gate")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	o := &opening{stderr: &nodetest.LogBuffer{}, exited: make(chan struct{})}
	o.cmd = exec.Command(bin, "start", "--rootdir", n.rootdir, "--p2paddr", n.p2pAddr(), "--url", n.url())
	o.cmd.Env = cleanEnv(openGateEnv + "=" + path)
	o.cmd.Stdout, o.cmd.Stderr = o.stderr, o.stderr
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { o.err = o.cmd.Wait(); close(o.exited) }()
	t.Cleanup(func() {
		select {
		case <-o.exited:
		default:
			o.cmd.Process.Kill()
			<-o.exited
		}
		o.open()
		if t.Failed() {
			t.Logf("log of %s:\n%s", n.name, o.stderr)
		}
	})
	// A FIFO opens for writing, without waiting, only once a reader has it
	// open: then the command is there.
	nodetest.Eventually(t, startTimeout, func() error {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			o.gate = f
			return nil
		}
		if !errors.Is(err, syscall.ENXIO) {
			t.Fatal(err)
		}
		select {
		case <-o.exited:
			t.Fatalf("%s exited before opening the node (%v):\n%s", n.name, o.err, o.stderr)
		default:
		}
		return fmt.Errorf("%s did not reach the opening of the node:\n%s", n.name, o.stderr)
	})
	return o
}

// open lets the node open, if it was held.
func (o *opening) open() {
	if o.gate != nil {
		o.gate.Close()
		o.gate = nil
	}
}

// interrupt sends SIGINT and waits until the command logs that it stops.
func (o *opening) interrupt(t *testing.T) {
	t.Helper()
	if err := o.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, stopTimeout, func() error {
		if !strings.Contains(o.stderr.String(), "Stopping; a second signal exits at once") {
			return fmt.Errorf("no log of the stop after SIGINT:\n%s", o.stderr)
		}
		return nil
	})
}

// wait waits for the process to exit and returns its status.
func (o *opening) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-o.exited:
	case <-time.After(within):
		t.Fatalf("still running after %v:\n%s", within, o.stderr)
	}
	var exit *exec.ExitError
	if errors.As(o.err, &exit) {
		return exit.ExitCode()
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	return 0
}

// TestSecondSignalExitsAtOnce presses Ctrl-C twice while the node opens,
// which the test makes last as long as it likes: the first asks for an
// orderly stop, which would wait for the node to open; the second ends the
// process at once, saying so, with status 130 (128 + SIGINT).
func TestSecondSignalExitsAtOnce(t *testing.T) {
	needBinary(t)
	n := newNode(t, "A")
	o := startOpening(t, n)
	o.interrupt(t)
	if err := o.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := o.wait(t, stopTimeout); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGINT))
	}
	if log := o.stderr.String(); !strings.Contains(log, "Error: a second signal (interrupt): exiting at once") {
		t.Errorf("no word of the exit:\n%s", log)
	}

	// The store is left as after a crash: the next start opens it.
	n.start(t)
	n.stop(t)
}

// TestSignalWhileOpening presses Ctrl-C once while the node opens: once it
// has opened, the node stops cleanly, with status 0.
func TestSignalWhileOpening(t *testing.T) {
	needBinary(t)
	n := newNode(t, "A")
	o := startOpening(t, n)
	o.interrupt(t)
	o.open()
	if code := o.wait(t, startTimeout+stopTimeout); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if log := o.stderr.String(); !strings.Contains(log, "Stopped") {
		t.Errorf("no clean stop:\n%s", log)
	}
}

// TestStartAfterKill checks that a start after kill -9 says, once, that the
// store was not closed, and that a start after an orderly stop (SIGTERM) does
// not: Badger recovers both without a word.
func TestStartAfterKill(t *testing.T) {
	needBinary(t)
	const notClosed = "The store was not closed at its last use"
	n := newNode(t, "A")
	n.start(t)
	n.stop(t)
	n.start(t)
	if log := n.stderr.String(); strings.Contains(log, notClosed) {
		t.Errorf("a start after SIGTERM says the store was not closed:\n%s", log)
	}
	pid := n.cmd.Process.Pid
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-n.exited
	n.start(t)
	line := n.waitLog(t, "WRN", notClosed, fmt.Sprintf("pid=%d", pid))
	// The API answers a moment before the node logs that it started.
	n.waitLog(t, "INF", "Started node")
	if log := n.stderr.String(); strings.Count(log, notClosed) != 1 {
		t.Errorf("want one line of the unclean stop (%s):\n%s", line, log)
	}
	n.stop(t)
	n.start(t)
	if log := n.stderr.String(); strings.Contains(log, notClosed) {
		t.Errorf("a start after SIGTERM, after a recovery, says the store was not closed:\n%s", log)
	}
	n.stop(t)
}

// TestHangUpStopsCleanly sends SIGHUP, as a closing terminal does: the node
// stops in order, logging it, with status 0, and the next start finds the
// store closed.
func TestHangUpStopsCleanly(t *testing.T) {
	needBinary(t)
	n := newNode(t, "A")
	n.start(t)
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("still running %v after SIGHUP:\n%s", stopTimeout, n.stderr)
	}
	if n.err != nil {
		t.Fatalf("exited with %v after SIGHUP, want status 0:\n%s", n.err, n.stderr)
	}
	for _, want := range []string{"Stopping; a second signal exits at once signal=hangup", "Stopped"} {
		if log := n.stderr.String(); !strings.Contains(log, want) {
			t.Errorf("no %q in the log:\n%s", want, log)
		}
	}
	n.start(t)
	if log := n.stderr.String(); strings.Contains(log, "The store was not closed") {
		t.Errorf("the start after SIGHUP found the store not closed:\n%s", log)
	}
	n.stop(t)
}

// TestLogReaderGoneStopsCleanly runs the node with its log in a pipe whose
// reader then exits, as when `gossipdb start 2>&1 | tee node.log` is ended
// with Ctrl-C, which stops tee at once: the node must still stop in order on
// SIGINT, with status 0, its log lines lost, and the next start must find the
// store closed. (The first line logged after the reader left, the one that
// says the node stops, ended the process with SIGPIPE, as Go does for a write
// to standard error, leaving the store unclosed.)
func TestLogReaderGoneStopsCleanly(t *testing.T) {
	needBinary(t)
	n := newNode(t, "A")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "start", "--rootdir", n.rootdir, "--p2paddr", n.p2pAddr(), "--url", n.url())
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})
	nodetest.Eventually(t, startTimeout, func() error {
		_, err := n.health()
		return err
	})
	r.Close() // the log's reader exits
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exited with %v after SIGINT, its log's reader gone; want status 0", waitErr)
		}
	case <-time.After(stopTimeout):
		t.Fatalf("still running %v after SIGINT", stopTimeout)
	}
	n.start(t)
	if log := n.stderr.String(); strings.Contains(log, "The store was not closed") {
		t.Errorf("the start after SIGINT found the store not closed:\n%s", log)
	}
	n.stop(t)
}
