package gossipdb_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/httpapi"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// httpCrashChildEnv makes the test binary act as the node that
// TestHTTPCreateManyCrash kills: its value is the data directory.
const httpCrashChildEnv = "GOSSIPDB_HTTP_CRASH_CHILD_DIR"

// httpCrashBatch is how many documents each CreateMany request of
// TestHTTPCreateManyCrash creates.
const httpCrashBatch = 200

// httpCrashChild is the child process of TestHTTPCreateManyCrash (TestMain
// runs it when httpCrashChildEnv is set): a node on disk with the collection
// User, serving its HTTP API on an ephemeral loopback port, which it prints
// ("ADDR host:port"), until it is killed.
func httpCrashChild(dir string) {
	fail := func(err error) {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		fail(err)
	}
	if _, err := n.AddCollection(context.Background(), nodetest.UserSDL); err != nil {
		fail(err)
	}
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	fmt.Println("ADDR", ln.Addr())
	fail(http.Serve(ln, h))
}

// TestHTTPCreateManyCrash kills with SIGKILL a node while it answers a
// CreateMany request of its HTTP API (POST of an array of documents), at a
// random moment after the request is sent (nodetest.Seed), after a random
// number of such requests answered: after the restart the store is
// consistent, every answered request's documents are there, and of the
// request cut short all or none.
func TestHTTPCreateManyCrash(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(nodetest.Seed(t), 47))
	dir := t.TempDir()
	acked := map[string]bool{} // the batches answered
	cut := map[string]bool{}   // the batches whose request the kill cut short
	batch := 0
	for round := range 4 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), httpCrashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		var addr string
		for addr == "" && lines.Scan() {
			switch f := strings.Fields(lines.Text()); {
			case len(f) > 0 && f[0] == "ERR":
				t.Fatalf("round %d: child: %s", round, lines.Text())
			case len(f) == 2 && f[0] == "ADDR":
				addr = f[1]
			}
		}
		cl, err := client.New(addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		send := func() (string, error) {
			name := fmt.Sprint("batch ", batch)
			batch++
			docs := make([]map[string]any, httpCrashBatch)
			for i := range docs {
				docs[i] = map[string]any{"name": name, "age": i}
			}
			_, err := cl.CreateMany(ctx, "User", docs)
			return name, err
		}
		for range rng.IntN(20) {
			name, err := send()
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			acked[name] = true
		}
		type answer struct {
			name string
			err  error
		}
		answered := make(chan answer, 1)
		go func() {
			name, err := send()
			answered <- answer{name, err}
		}()
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond) // a moment of the request
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		a := <-answered
		if a.err == nil {
			acked[a.name] = true
		} else {
			cut[a.name] = true
		}

		n, users := reopenAfterKill(t, dir)
		count := map[string]int{}
		for d, err := range users.Find(ctx, nil) {
			if err != nil {
				n.Close()
				t.Fatal(err)
			}
			count[d.Fields["name"].(string)]++
		}
		n.Close()
		for name, k := range count {
			if !acked[name] && !cut[name] {
				t.Fatalf("round %d: %d documents of %s, never sent", round, k, name)
			}
			if k != httpCrashBatch {
				t.Fatalf("round %d: %d documents of %s, want all %d or none", round, k, name, httpCrashBatch)
			}
		}
		for name := range acked {
			if count[name] != httpCrashBatch {
				t.Fatalf("round %d: %d documents of %s, answered", round, count[name], name)
			}
		}
		t.Logf("round %d: the request under way at the kill (answered: %v) created %d documents", round, a.err, count[a.name])
	}
}
