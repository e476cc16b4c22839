package gossipdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
)

const metaSDL = `type Meta { meta: JSON }`

// nestedJSON returns the compact JSON text of depth arrays and objects nested
// in turn around the number 1.
func nestedJSON(depth int) string {
	var open, closing strings.Builder
	for i := range depth {
		if i%2 == 0 {
			open.WriteString("[")
		} else {
			open.WriteString(`{"k":`)
		}
	}
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			closing.WriteString("]")
		} else {
			closing.WriteString("}")
		}
	}
	return open.String() + "1" + closing.String()
}

// metaText returns the compact JSON text of the meta field of doc id in c.
func metaText(t testing.TB, c *gossipdb.Collection, id gossipdb.DocID) string {
	t.Helper()
	d, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(d.Fields["meta"])
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// wantDepthRefused fails t unless err is ErrInvalid with a *FieldError for
// meta that names the limit.
func wantDepthRefused(t testing.TB, what string, err error) {
	t.Helper()
	var fe *gossipdb.FieldError
	if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &fe) || fe.Field != "meta" ||
		!strings.Contains(err.Error(), fmt.Sprintf("deeper than the limit of %d", crdt.MaxJSONDepth)) {
		t.Errorf("%s of a JSON value of depth %d: %v, want ErrInvalid naming meta and the limit", what, crdt.MaxJSONDepth+1, err)
	}
}

// TestJSONDepthLocalWrites checks that every local write refuses a JSON value
// nesting deeper than crdt.MaxJSONDepth, and stores one at the limit intact.
func TestJSONDepthLocalWrites(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, metaSDL, n)[0]
	atLimit := json.RawMessage(nestedJSON(crdt.MaxJSONDepth))
	over := json.RawMessage(nestedJSON(crdt.MaxJSONDepth + 1))

	id, err := c.Create(ctx, map[string]any{"meta": atLimit})
	if err != nil {
		t.Fatalf("Create at the limit: %v", err)
	}
	if got := metaText(t, c, id); got != string(atLimit) {
		t.Errorf("Create at the limit read back as %.200s", got)
	}
	_, err = c.Create(ctx, map[string]any{"meta": over})
	wantDepthRefused(t, "Create", err)
	_, err = c.CreateMany(ctx, []map[string]any{{"meta": atLimit}, {"meta": over}})
	wantDepthRefused(t, "CreateMany", err)
	wantDepthRefused(t, "Update", c.Update(ctx, id, map[string]any{"meta": over}))
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		_, err := tx.Create("Meta", map[string]any{"meta": over})
		return err
	})
	wantDepthRefused(t, "Txn.Create", err)
	err = n.Update(ctx, func(tx *gossipdb.Txn) error {
		return tx.Update("Meta", id, map[string]any{"meta": over})
	})
	wantDepthRefused(t, "Txn.Update", err)
	if got, err := c.Count(ctx, nil); got != 1 || err != nil {
		t.Errorf("%d documents (%v), want the one at the limit", got, err)
	}
	if got := metaText(t, c, id); got != string(atLimit) {
		t.Errorf("after refused writes, meta reads %.200s", got)
	}

	// A default is a value too, in a new collection and in a patch.
	deep := strings.Repeat("[", crdt.MaxJSONDepth+1) + strings.Repeat("]", crdt.MaxJSONDepth+1)
	_, err = n.AddCollection(ctx, `type D { f: JSON @default(json: "`+deep+`") }`)
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "deeper than the limit") {
		t.Errorf("a default of depth %d: %v, want ErrInvalid naming the limit", crdt.MaxJSONDepth+1, err)
	}
	_, err = c.Patch(ctx, `type Meta { meta: JSON more: JSON @default(json: "`+deep+`") }`)
	if !errors.Is(err, gossipdb.ErrInvalid) || !strings.Contains(err.Error(), "deeper than the limit") {
		t.Errorf("a patch adding a default of depth %d: %v, want ErrInvalid naming the limit", crdt.MaxJSONDepth+1, err)
	}
	atLimitText := strings.Repeat("[", crdt.MaxJSONDepth) + strings.Repeat("]", crdt.MaxJSONDepth)
	if _, err := c.Patch(ctx, `type Meta { meta: JSON more: JSON @default(json: "`+atLimitText+`") }`); err != nil {
		t.Errorf("a patch adding a default of depth %d: %v", crdt.MaxJSONDepth, err)
	}
}

// TestJSONDepthBlockRefused checks that a peer's block setting a JSON value
// deeper than crdt.MaxJSONDepth is refused as any ill-typed block is, and
// that the same peer's next block, with a value at the limit, is accepted.
func TestJSONDepthBlockRefused(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := nodetest.AddCollection(t, metaSDL, n)[0]
	nodetest.Subscribe(t, "Meta", n)
	defs, err := schema.Parse(metaSDL)
	if err != nil {
		t.Fatal(err)
	}
	s := defs[0]
	a := newAttacker(t, s.ID.String())
	a.join(t, n)

	block := func(depth int, nonce byte) *crdt.Block {
		nb := make([]byte, 16)
		nb[0] = nonce
		return encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: nb, Set: map[string]any{"meta": nestedJSON(depth)}})
	}
	deep := block(crdt.MaxJSONDepth+1, 1)
	if err := a.topic.Publish(ctx, frames(deep.Data)); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 15*time.Second, func() error {
		if m := n.Metrics(); m.SchemaRejects < 1 || m.RejectedMessages < 1 {
			return fmt.Errorf("schema rejects %d, rejected messages %d", m.SchemaRejects, m.RejectedMessages)
		}
		return nil
	})
	honest := block(crdt.MaxJSONDepth, 2)
	if err := a.topic.Publish(ctx, frames(honest.Data)); err != nil {
		t.Fatal(err)
	}
	id := gossipdb.DocID(honest.CID.String())
	waitDoc(t, c, id, nil)
	if got, want := metaText(t, c, id), nestedJSON(crdt.MaxJSONDepth); got != want {
		t.Errorf("the value at the limit read back as %.200s", got)
	}
	if _, err := c.Get(ctx, gossipdb.DocID(deep.CID.String())); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("the deep block's document: %v, want ErrNotFound", err)
	}
	if got := n.Metrics().SchemaRejects; got != 1 {
		t.Errorf("%d blocks refused for their schema, want the deep one", got)
	}
}
