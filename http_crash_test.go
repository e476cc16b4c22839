package gossipdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
	"time"

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
	n, _ := openChild(dir, nil, nodetest.UserSDL)
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		childFail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		childFail(err)
	}
	fmt.Println("ADDR", ln.Addr())
	childFail(http.Serve(ln, h))
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
		c := startChild(t, round, nil, httpCrashChildEnv+"="+dir)
		addr := c.await("ADDR")[1]
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
		c.kill()
		a := <-answered
		if a.err == nil {
			acked[a.name] = true
		} else {
			cut[a.name] = true
		}

		n, users := reopenAfterKill(t, round, dir)
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
