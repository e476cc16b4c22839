package client_test

import (
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/httpapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const userSDL = `type User { name: String age: Int verified: Boolean points: Float }`

// newServer serves the API of a fresh in-memory node, both closed at the end
// of the test.
func newServer(t testing.TB) (*gossipdb.Node, *httptest.Server) {
	t.Helper()
	n, err := gossipdb.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	h, err := httpapi.NewHandler(n, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return n, srv
}
