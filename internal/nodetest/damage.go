package nodetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gossipdb/gossipdb"
)

// DamageDocs is how many documents OnDiskWithTable writes: enough for a
// table file of several hundred KB.
const DamageDocs = 3000

// OnDiskWithTable writes DamageDocs documents of UserSDL with a node in a
// new directory and closes it, so that they are flushed to a table file. It
// returns the directory and the path of that table, ready to be damaged.
func OnDiskWithTable(t testing.TB) (dir, table string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	n, err := gossipdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := n.AddCollection(ctx, UserSDL)
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]map[string]any, DamageDocs)
	for i := range docs {
		docs[i] = map[string]any{"name": fmt.Sprintf("user-%05d", i), "age": i}
	}
	if _, err := cols[0].CreateMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "store", "*.sst"))
	if len(tables) != 1 {
		t.Fatalf("want the documents in one table file, found %v", tables)
	}
	return dir, tables[0]
}

// FlipByte inverts the byte at offset off (from the end when negative) of
// the file at path.
func FlipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		off += st.Size()
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
