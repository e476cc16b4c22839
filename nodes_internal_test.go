package gossipdb

import (
	"context"
	"testing"
	"time"
)

// The internal tests (package gossipdb) cannot import internal/nodetest,
// which imports gossipdb; these are the few of its helpers they need.

// openNode opens a node in memory, closed when the test ends, holding the
// collections sdl defines (none when it is empty), which it returns.
func openNode(t *testing.T, sdl string) (*Node, []*Collection) {
	t.Helper()
	n, err := Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if sdl == "" {
		return n, nil
	}
	cols, err := n.AddCollection(context.Background(), sdl)
	if err != nil {
		t.Fatal(err)
	}
	return n, cols
}

// eventually calls cond every few milliseconds until it returns nil,
// failing the test with cond's last error when timeout passes first.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
