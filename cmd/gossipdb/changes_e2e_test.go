package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb/client"
)

// TestChangesCommand: `client collection changes` prints the feed after
// --since as one JSON object per line and ends with {"next": N}, which resumes
// after everything printed; with --follow it prints new changes as they come.
func TestChangesCommand(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	url := n.url()
	ok(t, "client", "collection", "add", userSDL, "--url", url)
	create := func(name string) string {
		var created struct {
			DocID string `json:"_docID"`
		}
		decodeJSON(t, ok(t, "client", "collection", "create", "--name", "User", `{"name": "`+name+`"}`, "--url", url), &created)
		return created.DocID
	}
	// changes runs the command without --follow and returns what it printed.
	changes := func(since uint64) ([]client.Change, uint64) {
		t.Helper()
		lines := strings.Split(strings.TrimSuffix(ok(t, "client", "collection", "changes", "--name", "User",
			"--since", strconv.FormatUint(since, 10), "--url", url), "\n"), "\n")
		var out []client.Change
		for _, l := range lines[:len(lines)-1] {
			var ch client.Change
			decodeJSON(t, l, &ch)
			out = append(out, ch)
		}
		var end struct{ Next uint64 }
		decodeJSON(t, lines[len(lines)-1], &end)
		return out, end.Next
	}
	ada, grace := create("Ada"), create("Grace")
	got, next := changes(0)
	if len(got) != 2 || got[0].Document.ID != ada || got[1].Document.ID != grace || got[1].Position != next ||
		got[0].Type != "created" || got[0].Document.Fields["name"] != "Ada" || !got[0].Local {
		t.Fatalf("changes from 0: %+v, next %d", got, next)
	}
	ok(t, "client", "collection", "update", "--name", "User", "--docID", ada, `{"age": 36}`, "--url", url)
	got, mark := changes(next)
	if len(got) != 1 || got[0].Type != "updated" || got[0].Document.Fields["age"] != json.Number("36") || mark <= next {
		t.Fatalf("changes after %d: %+v, next %d", next, got, mark)
	}
	fails(t, []string{"client", "collection", "changes", "--name", "User", "--since", "1000", "--url", url}, "beyond")
	// --since now prints only the node's position, the --since to follow
	// from after a rescan.
	if out, want := ok(t, "client", "collection", "changes", "--name", "User", "--since", "now", "--url", url), fmt.Sprintf("{\"next\":%d}\n", mark); out != want {
		t.Fatalf("--since now printed %q, want %q", out, want)
	}

	// --follow prints what is there, then new changes.
	cmd := exec.Command(bin, "client", "collection", "changes", "--name", "User", "--since", strconv.FormatUint(next, 10), "--follow", "--url", url)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	line := func() client.Change {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("changes --follow ended")
			}
			var ch client.Change
			decodeJSON(t, l, &ch)
			return ch
		case <-time.After(commandTimeout):
			t.Fatalf("no change printed within %v", commandTimeout)
		}
		return client.Change{}
	}
	if ch := line(); ch.Type != "updated" || ch.Document.ID != ada {
		t.Fatalf("first followed change %+v", ch)
	}
	edsger := create("Edsger")
	last := line()
	if last.Type != "created" || last.Document.ID != edsger {
		t.Fatalf("new followed change %+v", last)
	}
	// When the node stops, the follower fails, naming the --since that
	// resumes after the last change it printed.
	n.stop(t)
	for l := range lines {
		t.Fatalf("printed %s after the node stopped", l)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if want := fmt.Sprintf("resume with --since %d", last.Position); err == nil || !strings.Contains(stderr.String(), want) {
			t.Fatalf("changes --follow exited with %v, stderr %q; want it to say %q", err, stderr.String(), want)
		}
	case <-time.After(commandTimeout):
		t.Fatalf("changes --follow still runs %v after the node stopped", commandTimeout)
	}
}
