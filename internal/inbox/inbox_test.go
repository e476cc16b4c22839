package inbox_test

import (
	"testing"

	"github.com/gossipdb/gossipdb/internal/inbox"
)

func TestBudget(t *testing.T) {
	b := inbox.New(100)
	if !b.Offer("a", 500) {
		t.Fatal("an empty inbox refused an arrival over its limit")
	}
	if b.Offer("b", 1) || b.Fits(1) {
		t.Fatal("a full inbox admitted more")
	}
	b.Release("a", 500, true)
	if !b.Offer("a", 50) || b.Offer("a", 1) {
		t.Fatal("a peer's share is half the limit: want 50 admitted, then 1 refused")
	}
	if !b.Offer("b", 50) || b.Offer("c", 1) {
		t.Fatal("want another peer's 50 admitted, then the limit reached")
	}
	if b.Fits(1) {
		t.Fatal("Fits over the limit")
	}
	b.Release("b", 50, true)
	if !b.Fits(50) || b.Fits(51) {
		t.Fatal("Fits: want 50 bytes of room")
	}
	b.Add(50)
	b.Release("a", 50, true)
	b.Release("", 50, false)
	if b.Bytes() != 0 || !b.Offer("a", 50) {
		t.Fatalf("after releasing all: %d bytes held, and a's share not back", b.Bytes())
	}
}
