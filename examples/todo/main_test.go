package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncTimeout bounds the wait for a change to show on another terminal.
const syncTimeout = 15 * time.Second

// terminal is one running todo program: what is typed into it and what it
// printed so far.
type terminal struct {
	name string
	in   *io.PipeWriter
	out  *syncBuffer
	done chan error // run's result
}

// start runs the program with args, as if in a terminal of its own.
func start(t *testing.T, name string, args ...string) *terminal {
	t.Helper()
	r, w := io.Pipe()
	term := &terminal{name: name, in: w, out: &syncBuffer{}, done: make(chan error, 1)}
	go func() { term.done <- run(context.Background(), args, r, term.out) }()
	t.Cleanup(func() {
		w.Close()
		if err := <-term.done; err != nil {
			t.Errorf("%s: run: %v", name, err)
		}
		if t.Failed() {
			t.Logf("terminal %s:\n%s", name, term.out)
		}
	})
	return term
}

// typeLine types one command.
func (term *terminal) typeLine(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(term.in, line+"\n"); err != nil {
		t.Fatalf("%s: typing %q: %v", term.name, line, err)
	}
}

// waitFor polls until the terminal printed text matching re, and returns the match.
func (term *terminal) waitFor(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(syncTimeout)
	for {
		if m := rx.FindStringSubmatch(term.out.String()); m != nil {
			return m
		}
		select {
		case err := <-term.done:
			t.Fatalf("%s ended (%v) before printing %q:\n%s", term.name, err, re, term.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %v:\n%s", term.name, re, syncTimeout, term.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitList polls until the list the terminal printed last is want, one item
// a line as list prints it.
func (term *terminal) waitList(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(syncTimeout)
	for {
		if got := lastList(term.out.String()); slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: last list %q, want %q within %v:\n%s", term.name, lastList(term.out.String()), want, syncTimeout, term.out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lastList returns the items of the last list in out: its trailing lines
// indented by two spaces.
func lastList(out string) []string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	i := len(lines)
	for i > 0 && strings.HasPrefix(lines[i-1], "  ") {
		i--
	}
	var items []string
	for _, l := range lines[i:] {
		items = append(items, strings.TrimPrefix(l, "  "))
	}
	return items
}

// TestThreeTerminals runs three todo programs joined to the first one and
// checks that an item added in one shows in the others, that ticking it off in
// a second reaches the first, and that removing it in the third reaches all.
func TestThreeTerminals(t *testing.T) {
	a := start(t, "A")
	addr := a.waitFor(t, `join with: --peer (\S+)`)[1]
	b := start(t, "B", "--peer", addr)
	c := start(t, "C", "--peer", addr, "--p2paddr", "/ip4/127.0.0.1/tcp/0")
	b.waitFor(t, `join with`)
	c.waitFor(t, `join with`)

	a.typeLine(t, "add buy milk")
	a.waitFor(t, `added "buy milk"`)
	for _, term := range []*terminal{b, c} {
		term.waitFor(t, `~ from peer …\S+: added "buy milk"`)
		term.waitList(t, "1. [ ] buy milk")
	}

	b.typeLine(t, "done 1")
	b.waitFor(t, `ticked off "buy milk"`)
	a.waitFor(t, `~ from peer …\S+: ticked off "buy milk"`)
	for _, term := range []*terminal{a, c} {
		term.waitList(t, "1. [x] buy milk")
	}

	c.typeLine(t, "add call Ada")
	c.typeLine(t, "rm 1")
	c.waitFor(t, `removed "buy milk"`)
	for _, term := range []*terminal{a, b} {
		term.waitFor(t, `~ from peer …\S+: added "call Ada"`)
		term.waitFor(t, `~ from peer …\S+: removed "buy milk"`)
		term.waitList(t, "1. [ ] call Ada")
	}

	// Commands that make no sense are answered, not fatal.
	a.typeLine(t, "done 7")
	a.waitFor(t, `error: no item "7": the list has 1 items`)
	listed := strings.Count(a.out.String(), "1. [ ] call Ada")
	a.typeLine(t, "list")
	a.waitFor(t, `(?s)(.*1\. \[ \] call Ada\n){`+strconv.Itoa(listed+1)+`}`)
	a.typeLine(t, "quit")
	if err := <-a.done; err != nil {
		t.Fatalf("A: run after quit: %v", err)
	}
	a.done <- nil // for the cleanup
	t.Logf("terminal A printed:\n%s", a.out)
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
