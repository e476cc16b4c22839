package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// indexSummary describes c's indexes as "name(field,field…)", in creation order.
func indexSummary(c *gossipdb.Collection) string {
	var out []string
	for _, ix := range c.Indexes() {
		var fields []string
		for _, f := range ix.Fields {
			fields = append(fields, f.Field)
		}
		out = append(out, fmt.Sprintf("%s(%s)", ix.Name, strings.Join(fields, ",")))
	}
	return strings.Join(out, " ")
}

// TestPatchCreatesDeclaredIndexes: the @index declarations of a patch's SDL
// that the collection lacks are created and built, on a field the patch
// adds, renames or keeps, with the fields or without a change to them; a
// declaration that cannot be created fails the patch before it changes
// anything; an @index left out drops nothing.
func TestPatchCreatesDeclaredIndexes(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type Ix { a: Int }`, n)[0]
	for i := range 3 {
		if _, err := c.Create(ctx, map[string]any{"a": i}); err != nil {
			t.Fatal(err)
		}
	}

	patch(t, c, `type Ix { a: Int @index b: String @index }`)
	waitIndexReady(t, c, "Ix_a_ASC")
	waitIndexReady(t, c, "Ix_b_ASC")
	// The same fields, a new index; one declared already changes nothing.
	if res := patch(t, c, `type Ix @index(name: "ab", includes: [{field: "a"}, {field: "b", direction: DESC}]) { a: Int @index b: String }`); len(res.Diff) != 0 {
		t.Fatalf("diff %v, want none", res.Diff)
	}
	waitIndexReady(t, c, "ab")
	if got, want := indexSummary(c), "Ix_a_ASC(a) Ix_b_ASC(b) ab(a,b)"; got != want {
		t.Fatalf("indexes %s, want %s", got, want)
	}
	// Under a field's new name; the @index declarations left out drop nothing.
	patch(t, c, `type Ix { n: Int @rename(from: "a") b: String c: Boolean @index(direction: DESC) }`)
	waitIndexReady(t, c, "Ix_c_DESC")
	if got, want := indexSummary(c), "Ix_a_ASC(n) Ix_b_ASC(b) ab(n,b) Ix_c_DESC(c)"; got != want {
		t.Fatalf("indexes %s, want %s", got, want)
	}
	k := 0
	for _, err := range c.Query(ctx, gossipdb.Query{Filter: gossipdb.Filter{"n": 1}}) {
		if err != nil {
			t.Fatal(err)
		}
		k++
	}
	if k != 1 {
		t.Fatalf("query by the renamed indexed field found %d documents, want 1", k)
	}

	// Refused, changing nothing: an index of another field under a name
	// taken (the error names the index's fields as the active version does,
	// and says what to do), and a name declared twice.
	before := c.Versions()
	for sdl, msg := range map[string]string{
		`type Ix { n: Int b: String @index(name: "Ix_c_DESC") c: Boolean d: Int }`:              `index "Ix_c_DESC" of Ix exists with other fields (c); give this one another name`,
		`type Ix { n: Int b: String c: Boolean a: Int @index }`:                                 `index "Ix_a_ASC" of Ix exists with other fields (n); give this one another name`,
		`type Ix { n: Int b: String d: Int @index(name: "Ix_c_DESC") }`:                         `index "Ix_c_DESC" of Ix exists with other fields (a field this version drops, added as c); give this one another name`,
		`type Ix { n: Int b: String c: Boolean @index(name: "x") d: String @index(name: "x") }`: `index "x" declared twice`,
	} {
		if _, err := c.Patch(ctx, sdl); !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want ErrInvalid with %q", sdl, err, msg)
		}
	}
	if got := c.Versions(); len(got) != len(before) {
		t.Fatalf("refused patches added versions: %v", got)
	}
	if got, want := indexSummary(c), "Ix_a_ASC(n) Ix_b_ASC(b) ab(n,b) Ix_c_DESC(c)"; got != want {
		t.Fatalf("indexes %s after refused patches, want %s", got, want)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIndexOnDroppedField: an index on a field a patch drops names it as it
// was last named, and lists it in Dropped; once the field is back, it is
// an index like any other again.
func TestIndexOnDroppedField(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type Bo { title: String }`, n)[0]
	patch(t, c, `type Bo { title: String sibling: String @index }`) // an added field: its key is not its name
	patch(t, c, `type Bo { title: String twin: String @rename(from: "sibling") }`)
	patch(t, c, `type Bo { title: String }`)
	ixs := c.Indexes()
	if len(ixs) != 1 || ixs[0].Fields[0].Field != "twin" || len(ixs[0].Dropped) != 1 || ixs[0].Dropped[0] != "twin" {
		t.Fatalf("indexes %+v, want one on twin, dropped", ixs)
	}
	patch(t, c, `type Bo { title: String twin: String }`)
	if ixs := c.Indexes(); len(ixs) != 1 || ixs[0].Fields[0].Field != "twin" || ixs[0].Dropped != nil {
		t.Fatalf("indexes %+v once twin is back, want one on twin", ixs)
	}
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRenamedIndexedFieldKeepsItsIndex: an @index without a name on a field
// that an index holds already, under the name the field had when it was
// created, is that index, in a patch that renames the field and in
// AddCollection of the SDL after it: no second index of the same field. A
// declaration with a name of its own is another index.
func TestRenamedIndexedFieldKeepsItsIndex(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, `type Rn { a: Int @index b: String }`, n)[0]
	if _, err := c.Create(ctx, map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	const renamed = `type Rn { n: Int @rename(from: "a") @index b: String }`
	patch(t, c, renamed)
	patch(t, c, renamed)
	if _, err := n.AddCollection(ctx, `type Rn { n: Int @index b: String }`); err != nil {
		t.Fatal(err)
	}
	if got, want := indexSummary(c), "Rn_a_ASC(n)"; got != want {
		t.Fatalf("indexes %s, want %s", got, want)
	}
	patch(t, c, `type Rn { n: Int @index(name: "byN") b: String }`)
	if got, want := indexSummary(c), "Rn_a_ASC(n) byN(n)"; got != want {
		t.Fatalf("indexes %s, want %s", got, want)
	}
	waitIndexes(t, c)
	if err := n.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
