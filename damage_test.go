package gossipdb_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// wantDamaged fails the test unless err matches ErrDamaged and names file.
func wantDamaged(t *testing.T, what string, err error, file string) {
	t.Helper()
	var de *gossipdb.DamageError
	if !errors.Is(err, gossipdb.ErrDamaged) || !errors.As(err, &de) || de.File != file {
		t.Fatalf("%s: got %v, want ErrDamaged naming %s", what, err, file)
	}
}

// openRefused opens dir with opts and fails the test unless Open is refused with
// ErrDamaged naming file.
func openRefused(t *testing.T, dir string, opts *gossipdb.Options, file string) {
	t.Helper()
	n, err := gossipdb.Open(dir, opts)
	if err == nil {
		n.Close()
	}
	wantDamaged(t, "Open", err, file)
}

// A flipped byte in a table used to leave the node healthy while listing
// returned none of the documents.
func TestOpenRefusesDamagedStore(t *testing.T) {
	t.Run("byte flipped in a table", func(t *testing.T) {
		dir, table := nodetest.OnDiskWithTable(t)
		nodetest.FlipByte(t, table, 300_000)
		openRefused(t, dir, nil, table)
	})
	t.Run("MANIFEST deleted", func(t *testing.T) {
		dir, _ := nodetest.OnDiskWithTable(t)
		manifest := filepath.Join(dir, "store", "MANIFEST")
		if err := os.Remove(manifest); err != nil {
			t.Fatal(err)
		}
		openRefused(t, dir, nil, manifest)
	})
}

func TestCheckNamesDamagedTable(t *testing.T) {
	ctx := context.Background()
	dir, table := nodetest.OnDiskWithTable(t)
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Check(ctx); err != nil {
		t.Fatalf("Check of an undamaged node: %v", err)
	}
	nodetest.FlipByte(t, table, 300_000)
	defer nodetest.FlipByte(t, table, 300_000) // undo before Close
	wantDamaged(t, "Check", n.Check(ctx), table)
}

// An Ed25519 key file is a protobuf: 2 bytes of key type, 2 of length, then the
// private half (32 bytes) and the public half (32 bytes), from which the peer ID
// comes.
const (
	keyPrivateHalf = 4
	keyPublicHalf  = 4 + 32
)

// openedDir returns the data directory of a new node, opened and closed: a
// store and an identity key, ready to be damaged.
func openedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestIdentityKeyDamageRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  int64
	}{
		{"byte flipped in the public half", keyPublicHalf + 7},
		{"byte flipped in the private half", keyPrivateHalf + 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := openedDir(t)
			key := filepath.Join(dir, "identity.key")
			nodetest.FlipByte(t, key, tc.off)
			openRefused(t, dir, nil, key)
			openRefused(t, dir, &gossipdb.Options{NewIdentity: true}, key)
		})
	}
}

// TestIdentityKeyNotAKey: an identity key file that does not hold a key, empty
// or garbage, is damage naming the file; its message used to be libp2p's
// about protobuf fields ("proto: cannot parse invalid wire-format data").
func TestIdentityKeyNotAKey(t *testing.T) {
	for name, tc := range map[string]struct{ data, want string }{
		"empty":   {"", "empty, not a key"},
		"garbage": {"not a key at all\n", "not a private key"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := openedDir(t)
			key := filepath.Join(dir, "identity.key")
			if err := os.WriteFile(key, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := gossipdb.Open(dir, nil)
			if err == nil {
				n.Close()
			}
			wantDamaged(t, "Open", err, key)
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "proto") {
				t.Fatalf("Open: %q, want it to say %q, not libp2p's words", msg, tc.want)
			}
		})
	}
}

// A lost key used to be replaced silently, giving the node a new peer ID.
func TestIdentityKeyMissing(t *testing.T) {
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	oldID := n.ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "identity.key")
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	openRefused(t, dir, nil, key)

	n, err = gossipdb.Open(dir, &gossipdb.Options{NewIdentity: true})
	if err != nil {
		t.Fatalf("Open with NewIdentity: %v", err)
	}
	newID := n.ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatalf("NewIdentity kept the old peer ID %s", oldID)
	}
	n, err = gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopen with the new key: %v", err)
	}
	defer n.Close()
	if n.ID() != newID {
		t.Fatalf("peer ID after reopening: %s, want the new one %s", n.ID(), newID)
	}
}

// damageValueLog changes one byte of the big document (a run of "a") in the value
// log of the node in dir.
func damageValueLog(t *testing.T, dir string) {
	t.Helper()
	vlog := filepath.Join(dir, "store", "000001.vlog")
	f, err := os.OpenFile(vlog, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// An open value log is a sparse file of Badger's maximum size: read only its
	// start, where the document is.
	data, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(strings.Repeat("a", 64)))
	if i < 0 {
		t.Fatalf("the document is not in %s", vlog)
	}
	if _, err := f.WriteAt([]byte("b"), int64(i+1000)); err != nil {
		t.Fatal(err)
	}
}

// A document of 1 MiB or more lives in Badger's value log, whose reads Badger
// does not fail: it logs the error and returns an empty value. Reads of a
// damaged one fail with ErrDamaged; listing does not skip it.
func TestReadsOfDamagedDataFail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	cols, err := n.AddCollection(ctx, nodetest.UserSDL)
	if err != nil {
		t.Fatal(err)
	}
	users := cols[0]
	// A name that makes the genesis block exactly crdt.MaxBlockSize, so that its
	// document record is over Badger's 1 MiB value threshold.
	const probeLen = 100_000 // encoded with the same length prefix as the big one
	probe, err := users.Create(ctx, map[string]any{"name": strings.Repeat("a", probeLen)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := users.Block(ctx, string(probe))
	if err != nil {
		t.Fatal(err)
	}
	big, err := users.Create(ctx, map[string]any{"name": strings.Repeat("a", crdt.MaxBlockSize-(len(g)-probeLen))})
	if err != nil {
		t.Fatal(err)
	}
	damageValueLog(t, dir)

	if _, err := users.Get(ctx, big); !errors.Is(err, gossipdb.ErrDamaged) {
		t.Errorf("Get of the damaged document: got %v, want ErrDamaged", err)
	}
	listed := 0
	var listErr error
	for _, err := range users.Find(ctx, nil) {
		if err != nil {
			listErr = err
			break
		}
		listed++
	}
	if !errors.Is(listErr, gossipdb.ErrDamaged) {
		t.Errorf("Find listed %d of 2 documents and ended with %v, want ErrDamaged", listed, listErr)
	}
}
