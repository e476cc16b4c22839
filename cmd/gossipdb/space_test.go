package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// httpCall makes one API request to n and returns the status and body. A node
// that does not answer fails the test, with its log.
func (n *node) httpCall(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.url()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		select {
		case <-n.exited:
			t.Fatalf("%s %s: %v; %s died (%v):\n%s", method, path, err, n.name, n.err, n.stderr)
		default:
		}
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestFullDisk runs `gossipdb start` with its data on a tmpfs and writes until
// the disk is full: the API answers 507 Insufficient Storage instead of the node
// crashing, every acknowledged document stays readable, a restart on the full
// disk serves reads and refuses writes, and writes work again as soon as space
// is freed.
func TestFullDisk(t *testing.T) {
	needBinary(t)
	const (
		diskSize   = 448 << 20 // takes a memtable flush (64 MiB) before the reserve is reached
		fillerSize = 192 << 20
		maxWrites  = 10_000 // 600 MiB of documents: more than the disk holds
	)
	mnt := nodetest.Tmpfs(t, diskSize)
	filler := filepath.Join(mnt, "filler")
	nodetest.Fill(t, filler, fillerSize)
	n := newNode(t, "node")
	n.rootdir = filepath.Join(mnt, "root")
	n.start(t)
	ok(t, "client", "collection", "add", userSDL, "--url", n.url())
	const docs = "/api/v0/collections/User/documents"
	name := func(i int) string { return fmt.Sprintf("%08d", i) + strings.Repeat("n", 60<<10-8) }
	var ids []string
	for {
		if len(ids) == maxWrites {
			t.Fatalf("%d writes of 60 KiB on a %d MiB disk and no 507", len(ids), diskSize>>20)
		}
		code, body := n.httpCall(t, "POST", docs, fmt.Sprintf(`{"name": %q}`, name(len(ids))))
		if code == http.StatusInsufficientStorage {
			if !strings.Contains(body, "disk full") {
				t.Fatalf("507 with body %q, want it to say the disk is full", body)
			}
			t.Logf("write %d: 507 %s", len(ids), body)
			break
		}
		if code != http.StatusCreated {
			t.Fatalf("write %d: %d %s", len(ids), code, body)
		}
		var res struct {
			DocID string `json:"_docID"`
		}
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.DocID)
	}
	if len(ids) == 0 {
		t.Fatal("the first write was refused: the test fills too much")
	}
	t.Logf("%d writes of 60 KiB acknowledged on a %d MiB disk with %d MiB of other files", len(ids), diskSize>>20, fillerSize>>20)
	checkAll := func() {
		t.Helper()
		for i, id := range ids {
			code, body := n.httpCall(t, "GET", docs+"/"+id, "")
			if code != http.StatusOK || !strings.Contains(body, name(i)) {
				t.Fatalf("acknowledged document %d: %d %.200s", i, code, body)
			}
		}
	}
	checkAll()

	// A restart on the still full disk serves reads and refuses writes.
	n.stop(t)
	n.start(t)
	checkAll()
	if code, body := n.httpCall(t, "POST", docs, `{"name": "x"}`); code != http.StatusInsufficientStorage {
		t.Fatalf("write after restarting on the full disk: %d %s, want 507", code, body)
	}

	// Free space: writes work again without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, body := n.httpCall(t, "POST", docs, `{"name": "after"}`); code != http.StatusCreated {
		t.Fatalf("write after freeing space: %d %s, want 201", code, body)
	}
	n.stop(t)
}
