package gossipdb_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
)

// TestOptionsBudgetsValidated: budgets that cannot work are refused at Open
// with ErrInvalid naming the field.
func TestOptionsBudgetsValidated(t *testing.T) {
	for field, opts := range map[string]*gossipdb.Options{
		"OrphanPeerBytes": {OrphanPeerBytes: 1 << 20}, // less than one block of the largest size
		"OrphanBytes":     {OrphanBytes: 8 << 20, OrphanPeerBytes: 16 << 20},
		"InboxBytes":      {InboxBytes: -1},
		"FetchWorkers":    {FetchWorkers: -1},
		"ChangeRetention": {ChangeRetention: -1},
	} {
		n, err := gossipdb.Open("", opts)
		if err == nil {
			n.Close()
			t.Errorf("%s: Open accepted %+v", field, opts)
			continue
		}
		if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "Options."+field) {
			t.Errorf("%s: %v, want ErrInvalid naming Options.%s", field, err, field)
		}
	}
	// A pool of workers is kept whatever the traffic: 1<<30 of them ran the
	// process out of memory inside Open.
	for _, w := range []int{gossipdb.MaxFetchWorkers + 1, 1 << 30} {
		if n, err := gossipdb.Open("", &gossipdb.Options{FetchWorkers: w}); !errors.Is(err, gossipdb.ErrInvalid) ||
			!strings.Contains(err.Error(), "Options.FetchWorkers") {
			if err == nil {
				n.Close()
			}
			t.Errorf("FetchWorkers %d: %v, want ErrInvalid naming Options.FetchWorkers", w, err)
		}
	}
	// A small orphan budget alone takes a share to match.
	n, err := gossipdb.Open("", &gossipdb.Options{OrphanBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
}

// TestOptionsListenAddrsValidated: a listen address that no transport of the
// node listens on is refused at Open with ErrInvalid naming it, whether alone
// (libp2p would fail, after Open had written the directory) or beside one
// that works (libp2p would leave it out without a word).
func TestOptionsListenAddrsValidated(t *testing.T) {
	for _, bad := range []string{
		"/ip4/127.0.0.1/udp/0", // QUIC's address without /quic-v1
		"/ip4/127.0.0.1/tcp/0/ws",
		"/ip4/127.0.0.1",
		"/unix/tmp/x.sock",
	} {
		for _, addrs := range [][]string{{bad}, {"/ip4/127.0.0.1/tcp/0", bad}} {
			dir := filepath.Join(t.TempDir(), "data")
			n, err := gossipdb.Open(dir, &gossipdb.Options{ListenAddrs: addrs})
			if err == nil {
				n.Close()
				t.Errorf("Open accepted ListenAddrs %q", addrs)
				continue
			}
			if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "Options.ListenAddrs") || !strings.Contains(err.Error(), bad) {
				t.Errorf("ListenAddrs %q: %v, want ErrInvalid naming Options.ListenAddrs and %s", addrs, err, bad)
			}
			if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ListenAddrs %q: Open made %s", addrs, dir)
			}
		}
	}
	for _, good := range []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1", "/ip6/::1/tcp/0", "/dns4/localhost/tcp/0"} {
		n, err := gossipdb.Open("", &gossipdb.Options{ListenAddrs: []string{good}})
		if err != nil {
			t.Errorf("ListenAddrs %s: %v", good, err)
			continue
		}
		n.Close()
	}
}
