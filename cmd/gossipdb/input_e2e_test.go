package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocumentFromFileOrStdin creates and updates documents near the 1 MiB
// limit of a block, past the system's limit on the length of an argument,
// through `client collection create` and `update` reading their JSON from a
// file and from stdin, as `client tx` does.
func TestDocumentFromFileOrStdin(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)
	const size = 1000 * 1000 // of the name: the block holds a little more
	big := func(c byte) string { return strings.Repeat(string(c), size) }
	file := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(file, fmt.Appendf(nil, `{"name": %q, "age": 1}`, big('a')), 0o600); err != nil {
		t.Fatal(err)
	}
	var created struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", file, "--url", url), &created)
	wantName := func(want string) {
		t.Helper()
		var doc struct {
			Name string `json:"name"`
		}
		decodeJSON(t, ok(t, "client", "collection", "get", "--name", "User", created.DocID, "--url", url), &doc)
		if doc.Name != want {
			t.Fatalf("name of %d bytes %.10q…, want %d bytes %.10q…", len(doc.Name), doc.Name, len(want), want)
		}
	}
	wantName(big('a'))

	stdin := fmt.Sprintf(`[{"name": %q}]`, big('b'))
	var many []struct {
		DocID string `json:"_docID"`
	}
	decodeJSON(t, withStdin(t, stdin, "client", "collection", "create", "--name", "User", "-", "--url", url), &many)
	if len(many) != 1 || !strings.HasPrefix(many[0].DocID, "bafyrei") {
		t.Fatalf("create from stdin printed %+v", many)
	}

	if err := os.WriteFile(file, fmt.Appendf(nil, `{"name": %q}`, big('c')), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, "client", "collection", "update", "--name", "User", "--docID", created.DocID, file, "--url", url)
	wantName(big('c'))
	withStdin(t, fmt.Sprintf(`{"name": %q}`, big('d')), "client", "collection", "update", "--name", "User", "--docID", created.DocID, "-", "--url", url)
	wantName(big('d'))

	// JSON given as the argument still is, and a missing file says what the
	// argument may be.
	fails(t, []string{"client", "collection", "create", "--name", "User", `"x"`, "--url", url}, "JSON object")
	fails(t, []string{"client", "collection", "create", "--name", "User", "name=Ada", "--url", url},
		"name=Ada", "no such file", "the JSON document, a file to read it from, or - for stdin")
	if err := os.WriteFile(file, []byte(`{"name": "x", "name": "y"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"client", "collection", "create", "--name", "User", file, "--url", url}, `duplicate key "name"`)
}

// withStdin runs the command with stdin and fails the test unless it
// succeeds; it returns stdout.
func withStdin(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gossipdb %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}
