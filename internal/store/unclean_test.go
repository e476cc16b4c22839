package store_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/store"
)

// notClosed is the start of the line Open logs after an unclean stop.
const notClosed = "The store was not closed at its last use"

// openLogged opens the store in dir with a text logger, closes it and returns
// what it logged.
func openLogged(t *testing.T, dir string) string {
	t.Helper()
	var logs bytes.Buffer
	s, err := store.Open(dir, &store.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return logs.String()
}

// TestOpenAfterUncleanStop checks that an Open after a process ended without
// closing the store says so, once, at warn level, naming that process, and
// that an Open after a Close says nothing of the kind, though Badger recovers
// both without a word.
func TestOpenAfterUncleanStop(t *testing.T) {
	dir := t.TempDir()
	if logs := openLogged(t, dir); strings.Contains(logs, notClosed) {
		t.Errorf("a new store:\n%s", logs)
	}
	if logs := openLogged(t, dir); strings.Contains(logs, notClosed) {
		t.Errorf("after a Close:\n%s", logs)
	}

	// A process that writes and ends without closing the store.
	if out := inChild(t, writeChildEnv, dir); out != "OK" {
		t.Fatalf("child: %s", out)
	}
	logs := openLogged(t, dir)
	if n := strings.Count(logs, notClosed); n != 1 {
		t.Fatalf("after a process ended without closing the store, %d lines say so, want 1:\n%s", n, logs)
	}
	line := logs[strings.Index(logs, "level="):]
	line = line[:strings.IndexByte(line, '\n')]
	for _, want := range []string{"level=WARN", "component=store", "pid=", "since="} {
		if !strings.Contains(line, want) {
			t.Errorf("the line lacks %q: %s", want, line)
		}
	}
	if strings.Contains(line, "pid=0") {
		t.Errorf("the line names no process: %s", line)
	}

	// That Open closed the store: the next one says nothing.
	if logs := openLogged(t, dir); strings.Contains(logs, notClosed) {
		t.Errorf("after the recovered store was closed:\n%s", logs)
	}
}
