package main_test

import (
	"os"
	"path/filepath"
	"testing"
)

// A --rootdir whose store or identity key is damaged or missing is refused, with
// an error naming the file; --new-identity replaces a lost key.
func TestDamagedRootdirRefused(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	oldID := n.peerID(t)
	ok(t, "client", "collection", "add", "--url", n.url(), `type User { name: String }`)
	n.stop(t)
	startArgs := []string{"start", "--rootdir", n.rootdir, "--p2paddr", n.p2pAddr(), "--url", n.url()}
	data := filepath.Join(n.rootdir, "data")

	key := filepath.Join(data, "identity.key")
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	fails(t, startArgs, "damaged", key, "--new-identity")
	n.start(t, "--new-identity")
	if id := n.peerID(t); id == oldID {
		t.Errorf("--new-identity kept the peer ID %s", id)
	}
	n.stop(t)

	manifest := filepath.Join(data, "store", "MANIFEST")
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	fails(t, startArgs, "damaged", manifest)
}
