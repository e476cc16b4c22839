package nodetest

import (
	"os"
	"testing"
	"time"
)

// WithoutBlocking returns what read, which reads the file at path, returns,
// failing the test if it is still reading after 30 s: a read that opened a
// FIFO blocks until a writer opens it, which WithoutBlocking then does so
// that the reader's goroutine ends.
func WithoutBlocking(t testing.TB, path string, read func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatalf("reading %s blocked", path)
		return nil
	}
}
