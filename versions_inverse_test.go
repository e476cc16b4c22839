package gossipdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// wantInverseRefused checks that err refuses a change for what it does to
// the inverse side Au.books, with msg.
func wantInverseRefused(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var se *gossipdb.SchemaError
	if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &se) || se.Type != "Au" || se.Field != "books" || !strings.Contains(err.Error(), msg) {
		t.Fatalf("%s: %v; want ErrInvalid naming Au.books with %q", what, err, msg)
	}
}

// TestPatchKeepsInverseSides: a patch of Bk that would leave Au's inverse
// side books: [Bk] with two relations to derive from, or none, is refused
// naming Au.books, as AddCollection refuses both types given together; Bk
// keeps its version. A rename of the relation keeps the inverse side, and
// once Au drops books, Bk may take the patch.
func TestPatchKeepsInverseSides(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	if _, err := n.AddCollection(ctx, `type Au { name: String books: [Bk] } type Bk { a: Au w: Au }`); !errors.Is(err, gossipdb.ErrInvalid) ||
		!strings.Contains(err.Error(), "which one is ambiguous") {
		t.Fatalf("adding the ambiguous shape: %v", err)
	}
	cols, err := n.AddCollection(ctx, `type Au { name: String books: [Bk] } type Bk { a: Au }`)
	if err != nil {
		t.Fatal(err)
	}
	au, bk := cols[0], cols[1]
	before := bk.Versions()

	_, err = bk.Patch(ctx, `type Bk { a: Au w: Au }`)
	wantInverseRefused(t, "a second relation to Au", err,
		"but this version of Bk has 2 fields of type Au (a, w): which one is ambiguous; patch Au to drop books first")
	_, err = bk.Patch(ctx, `type Bk { title: String }`)
	wantInverseRefused(t, "dropping the relation", err, "but this version of Bk has no field of type Au; patch Au to drop books first")
	if got := bk.Versions(); len(got) != len(before) {
		t.Fatalf("refused patches added versions: %v", got)
	}
	// Au, unchanged, still takes its own SDL.
	if res := patch(t, au, `type Au { name: String books: [Bk] }`); len(res.Diff) != 0 {
		t.Fatalf("Au's own SDL changed %v", res.Diff)
	}

	// A rename keeps the one relation the inverse side derives from.
	patch(t, bk, `type Bk { writer: Au @rename(from: "a") }`)
	// Without the inverse side, Bk may have two relations to Au.
	patch(t, au, `type Au { name: String }`)
	patch(t, bk, `type Bk { writer: Au w: Au }`)
	_, err = au.Patch(ctx, `type Au { name: String books: [Bk] }`)
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "Bk has 2 fields of type Au (w, writer): which one is ambiguous") {
		t.Fatalf("the inverse side of two relations: %v", err)
	}
}

// TestUseVersionKeepsInverseSides: a version learned from a peer is known
// (its blocks are accepted) whatever this node's other collections look
// like, but UseVersion refuses to make it active where it would leave an
// inverse side with two relations to derive from, in either direction:
// Bk's version with a second relation to Au while Au has books: [Bk], and
// Au's version with books while Bk has two. The active version stays; once
// the other collection is patched, UseVersion takes it.
func TestUseVersionKeepsInverseSides(t *testing.T) {
	ctx := context.Background()
	const roots = `type Au { name: String } type Bk { a: Au }`
	here, peer := nodetest.Open(t, "", nil), nodetest.Open(t, "", nil)
	cols, err := here.AddCollection(ctx, roots)
	if err != nil {
		t.Fatal(err)
	}
	au, bk := cols[0], cols[1]
	pcols, err := peer.AddCollection(ctx, roots)
	if err != nil {
		t.Fatal(err)
	}
	withBooks := patch(t, au, `type Au { name: String books: [Bk] }`)
	twoRelations := patch(t, pcols[1], `type Bk { a: Au w: Au }`)
	if err := gossipdb.CopyVersion(pcols[1], bk, twoRelations.Version); err != nil {
		t.Fatalf("accepting the peer's version: %v", err)
	}

	_, err = bk.UseVersion(ctx, twoRelations.Version)
	wantInverseRefused(t, "Bk's version with a second relation", err,
		"but this version of Bk has 2 fields of type Au (a, w): which one is ambiguous; patch Au to drop books first")
	if d, err := bk.Patch(ctx, `type Bk { a: Au }`); err != nil || len(d.Diff) != 0 {
		t.Fatalf("the refused version became active: %+v, %v", d, err)
	}

	patch(t, au, `type Au { name: String }`)
	if _, err := bk.UseVersion(ctx, twoRelations.Version); err != nil {
		t.Fatalf("without the inverse side: %v", err)
	}
	_, err = au.UseVersion(ctx, withBooks.Version)
	wantInverseRefused(t, "Au's version with books", err, "but Bk has 2 fields of type Au (a, w): which one is ambiguous")
	if d, err := au.Patch(ctx, `type Au { name: String }`); err != nil || len(d.Diff) != 0 {
		t.Fatalf("the refused version became active: %+v, %v", d, err)
	}
}
