package catchup_test

import (
	"slices"
	"testing"

	"github.com/gossipdb/gossipdb/internal/catchup"
)

func TestPulls(t *testing.T) {
	p := catchup.NewPulls([]string{"a", "b", "c", "d", "e"}, 2, 2)
	b1, ok1 := p.Next()
	b2, ok2 := p.Next()
	if !ok1 || !ok2 || !slices.Equal(b1, []string{"a", "b"}) || !slices.Equal(b2, []string{"c", "d"}) {
		t.Fatalf("first batches %v %v, want [a b] [c d]", b1, b2)
	}
	if _, ok := p.Next(); ok {
		t.Fatal("a third request started with two in flight")
	}
	p.Done(true)
	if b, ok := p.Next(); !ok || !slices.Equal(b, []string{"e"}) {
		t.Fatalf("next batch %v, want [e]", b)
	}
	p.Done(true)
	if p.Finished() {
		t.Fatal("finished with a request in flight")
	}
	p.Done(true)
	if !p.Finished() {
		t.Fatal("not finished after every batch")
	}

	// A failure stops the batches not started; those in flight still end.
	p = catchup.NewPulls([]string{"a", "b", "c"}, 1, 2)
	p.Next()
	p.Next()
	p.Done(false)
	if _, ok := p.Next(); ok || p.Finished() {
		t.Fatal("after a failure: a batch started, or finished with one in flight")
	}
	p.Done(true)
	if !p.Finished() {
		t.Fatal("not finished after the failure and the last request")
	}

	if !catchup.NewPulls(nil, 2, 2).Finished() {
		t.Fatal("nothing to pull is not finished")
	}
}
