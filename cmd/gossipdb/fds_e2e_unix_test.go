//go:build unix

package main_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// A node started with a low limit on open files keeps running, and keeps
// taking writes, while clients hold more connections to its API than it has
// files to spare: the connections beyond the API's share wait to be accepted
// instead of taking the files its store opens as it writes (a store that
// cannot open a new memtable file ends the process).
func TestLowOpenFilesLimit(t *testing.T) {
	needBinary(t)
	const (
		limit   = 64
		held    = 100
		docs    = 40        // 36 MiB: more than a small-memory memtable holds
		docSize = 900 << 10 // under the block limit
	)
	n := newNode(t, "node")
	n.wrap = []string{"sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, limit)}
	n.start(t, "--small-memory")
	// The writer's connection, kept alive by http.DefaultClient, is opened
	// before the held ones.
	if code, body := n.httpCall(t, "POST", "/api/v0/collections", `{"sdl": "type Blob { data: String }"}`); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("add the collection: %d %s", code, body)
	}
	for range held {
		conn, err := net.Dial("tcp", n.url())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
	for i := range docs {
		body := fmt.Sprintf(`{"data": "%d%s"}`, i, strings.Repeat("d", docSize))
		if code, answer := n.httpCall(t, "POST", "/api/v0/collections/Blob/documents", body); code != http.StatusCreated {
			t.Fatalf("write %d with %d connections held: %d %s\n%s", i, held, code, answer, n.stderr)
		}
	}
	n.stop(t)
}
