package httpapi_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestCheck: POST /api/v0/check answers Node.Check's result: ok for a sound
// store, and for a damaged one, not ok with the damaged table named, as an
// answer (200) rather than a failed request.
func TestCheck(t *testing.T) {
	dir, table := nodetest.OnDiskWithTable(t)
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	srv := serve(t, n, nil)

	var res client.CheckResult
	call(t, srv, "POST", "/api/v0/check", "").want(t, http.StatusOK).decode(t, &res)
	if !res.OK || res.Error != "" {
		t.Fatalf("check of a sound store: %+v, want ok", res)
	}

	nodetest.FlipByte(t, table, 300_000)
	defer nodetest.FlipByte(t, table, 300_000) // undo before Close
	res = client.CheckResult{}
	call(t, srv, "POST", "/api/v0/check", "").want(t, http.StatusOK).decode(t, &res)
	if res.OK || !strings.Contains(res.Error, filepath.Base(table)) {
		t.Fatalf("check of a damaged table: %+v, want not ok, naming %s", res, filepath.Base(table))
	}

	call(t, srv, "GET", "/api/v0/check", "").wantError(t, http.StatusMethodNotAllowed, "POST")
}
