package gossipdb_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
)

// A crash test runs the test binary again as its child process, with an
// environment variable set that makes TestMain run the child instead of the
// tests (children, in main_test.go). The child reports to the test in lines on its stdout: "ERR err"
// when it fails (childFail), and the lines of its test's own protocol
// otherwise, such as a step it took once acknowledged. The test reads them
// through a childProcess, and kills the child with SIGKILL after a number
// of such steps, or lets it kill itself (killSelf) at a point of its own.

// childDeadline bounds how long a child that kills itself may take to die.
const childDeadline = time.Minute

// childFail reports err to the test as a line "ERR err" and exits the
// child with status 2.
func childFail(err error) {
	fmt.Println("ERR", err)
	os.Exit(2)
}

// childOut keeps the lines of a child's goroutines whole.
var childOut sync.Mutex

// childPrintf prints a line of the child's, formatted as by fmt.Printf,
// whole even when other goroutines print.
func childPrintf(format string, args ...any) {
	childOut.Lock()
	defer childOut.Unlock()
	fmt.Printf(format+"\n", args...)
}

// childSeed parses s, the seed a child draws its choices from, or fails.
func childSeed(s string) uint64 {
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		childFail(fmt.Errorf("seed: %w", err))
	}
	return seed
}

// openChild opens the child's node in dir with opts and adds the
// collections sdl defines, which it returns, or fails.
func openChild(dir string, opts *gossipdb.Options, sdl string) (*gossipdb.Node, []*gossipdb.Collection) {
	n, err := gossipdb.Open(dir, opts)
	if err != nil {
		childFail(err)
	}
	cols, err := n.AddCollection(context.Background(), sdl)
	if err != nil {
		childFail(err)
	}
	return n, cols
}

// killSelf kills the process with SIGKILL.
func killSelf() {
	if err := syscall.Kill(os.Getpid(), syscall.SIGKILL); err != nil {
		childFail(err)
	}
	select {} // the signal is on its way
}

// childProcess is a child of a crash test, started by startChild, whose
// lines the test reads through its methods, which it calls from the test's
// goroutine only.
type childProcess struct {
	t     testing.TB
	round int
	cmd   *exec.Cmd
	in    io.WriteCloser // the child's stdin, for a child that reads it
	lines *bufio.Scanner
	take  func(f []string) bool
	seen  int // the lines take counted
}

// startChild starts the child of round that env (NAME=value, added to the
// test's environment) selects. Each line it prints goes, split into fields,
// to take, which reports whether the line is one of the steps the test
// counts (nil counts every line), unless it is "ERR err": that fails the
// test, naming the round. The child's stderr is the test's. The child is
// killed, unless it ended, when the test ends.
func startChild(t testing.TB, round int, take func(f []string) bool, env ...string) *childProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // the test failed before it ended
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
	})
	return &childProcess{t: t, round: round, cmd: cmd, in: in, lines: bufio.NewScanner(out), take: take}
}

// next returns the fields of the child's next line, and false when its
// output ended. A line "ERR err" fails the test.
func (c *childProcess) next() ([]string, bool) {
	c.t.Helper()
	if !c.lines.Scan() {
		return nil, false
	}
	f := strings.Fields(c.lines.Text())
	if len(f) > 0 && f[0] == "ERR" {
		c.t.Fatalf("round %d: child: %s", c.round, c.lines.Text())
	}
	return f, true
}

// scan reads the child's next line and gives it to take; it reports
// whether there was one.
func (c *childProcess) scan() bool {
	c.t.Helper()
	f, ok := c.next()
	if ok {
		c.give(f)
	}
	return ok
}

// give gives the fields f of a line to take, and counts the line if take
// does.
func (c *childProcess) give(f []string) {
	if c.take == nil || c.take(f) {
		c.seen++
	}
}

// await reads the child's lines, giving those before to take, until one
// whose first field is word, and returns its fields (not given to take). It
// fails the test if the child's output ends first.
func (c *childProcess) await(word string) []string {
	c.t.Helper()
	for {
		f, ok := c.next()
		if !ok {
			c.t.Fatalf("round %d: the child ended before it printed %s", c.round, word)
		}
		if len(f) > 0 && f[0] == word {
			return f
		}
		c.give(f)
	}
}

// killAfter reads the child's lines until take has counted n of them
// (those before included), kills the child (kill) and returns how many it
// had counted before the kill. It fails the test if the child's output
// ends first.
func (c *childProcess) killAfter(n int) int {
	c.t.Helper()
	for c.seen < n && c.scan() {
	}
	seen := c.seen
	c.kill()
	if seen < n {
		c.t.Fatalf("round %d: the child stopped after %d of the %d steps it was to take", c.round, seen, n)
	}
	return seen
}

// kill kills the child with SIGKILL, reads the lines it printed before the
// kill landed and waits for it to end.
func (c *childProcess) kill() {
	c.t.Helper()
	c.cmd.Process.Signal(syscall.SIGKILL)
	for c.scan() {
	}
	c.cmd.Wait()
}

// wait reads the child's lines until its output ends, waits for it to end,
// as a child that exits or kills itself does, and returns its state. It
// kills a child that has not ended within childDeadline, and fails the test.
func (c *childProcess) wait() *os.ProcessState {
	c.t.Helper()
	stuck := time.AfterFunc(childDeadline, func() { c.cmd.Process.Signal(syscall.SIGKILL) })
	defer stuck.Stop()
	for c.scan() {
	}
	c.cmd.Wait()
	if !stuck.Stop() {
		c.t.Fatalf("round %d: the child did not die within %v", c.round, childDeadline)
	}
	return c.cmd.ProcessState
}
