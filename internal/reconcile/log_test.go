package reconcile_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/reconcile"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

// TestLogAttributes: the server logs a session for an unknown collection with
// the peer and the collection's schema ID as strings under the library's keys
// (peer, Topic), not as JSON structures.
func TestLogAttributes(t *testing.T) {
	var out nodetest.LogBuffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, &reconcile.Options{Logger: log})
	col := collectionID(t, "nobody has it")
	if _, err := e.reconcile(t, col, docPair(10, 0, 1).a, nil); err == nil {
		t.Fatal("a session for an unknown collection succeeded")
	}
	var line string
	streamstest.WaitFor(t, "the server to log the session", func() bool {
		for l := range strings.Lines(out.String()) {
			if strings.Contains(l, "reconcile: unknown collection") {
				line = l
				return true
			}
		}
		return false
	})
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	if rec["Topic"] != col.String() || rec["peer"] != e.client.ID().String() {
		t.Errorf("log record %v: want Topic %q and peer %q", rec, col, e.client.ID())
	}
}
