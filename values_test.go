package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestTooLargeIsInvalidInput checks that a document whose block would exceed
// crdt.MaxBlockSize is refused as the caller's fault, and nothing is stored.
func TestTooLargeIsInvalidInput(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	huge := strings.Repeat("x", crdt.MaxBlockSize)
	wantTooLarge := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, gossipdb.ErrInvalid) || !errors.Is(err, gossipdb.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrInvalid and ErrTooLarge", err)
		}
		// The caller wrote values: the error speaks of what they make, once.
		if msg := err.Error(); !strings.Contains(msg, "too large: the change is a block of ") ||
			!strings.HasSuffix(msg, fmt.Sprintf("bytes, more than the limit of %d", crdt.MaxBlockSize)) ||
			strings.Count(msg, "too large") != 1 {
			t.Errorf("err = %v, want one \"too large\" and the block's size and limit", err)
		}
	}
	_, err := c.Create(ctx, map[string]any{"title": huge})
	wantTooLarge(t, err)
	_, err = c.CreateMany(ctx, []map[string]any{{"title": "ok"}, {"title": huge}})
	wantTooLarge(t, err)
	if !strings.Contains(err.Error(), "document 1") {
		t.Errorf("err = %v, want it to name document 1", err)
	}
	if k := count(t, c, nil); k != 0 {
		t.Fatalf("%d documents stored after refused creates", k)
	}

	id, err := c.Create(ctx, map[string]any{"title": "a"})
	if err != nil {
		t.Fatal(err)
	}
	wantTooLarge(t, c.Update(ctx, id, map[string]any{"title": huge}))
	doc, err := c.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Fields["title"] != "a" {
		t.Errorf("title = %.20q after a refused update", doc.Fields["title"])
	}
}

// TestCounterOverflowRefused checks that an Update may not take an Int counter
// beyond int64: it fails with ErrInvalid naming the field, and the counter keeps
// its value.
func TestCounterOverflowRefused(t *testing.T) {
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	c := things(t, n)
	id, err := c.Create(ctx, map[string]any{"title": "a", "views": int64(math.MaxInt64)})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Update(ctx, id, map[string]any{"views": 1})
	var fe *gossipdb.FieldError
	if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &fe) || fe.Field != "views" {
		t.Fatalf("adding 1 to MaxInt64: err = %v, want ErrInvalid with a FieldError for views", err)
	}
	if err := c.Update(ctx, id, map[string]any{"views": math.MinInt64}); err != nil {
		t.Fatal(err)
	}
	doc, err := c.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Fields["views"]; got != int64(-1) {
		t.Errorf("views = %v, want MaxInt64 + MinInt64 = -1", got)
	}

	// A Float counter: its sum would not be finite.
	if err := c.Update(ctx, id, map[string]any{"score": math.MaxFloat64}); err != nil {
		t.Fatal(err)
	}
	err = c.Update(ctx, id, map[string]any{"score": math.MaxFloat64})
	if !errors.Is(err, gossipdb.ErrInvalid) || !errors.As(err, &fe) || fe.Field != "score" || !strings.Contains(err.Error(), "beyond the Float range") {
		t.Fatalf("adding MaxFloat64 to MaxFloat64: err = %v, want ErrInvalid with a FieldError for score", err)
	}
	if doc, err = c.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got := doc.Fields["score"]; got != math.MaxFloat64 {
		t.Errorf("score = %v, want MaxFloat64 unchanged", got)
	}
}
