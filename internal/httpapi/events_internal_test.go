package httpapi

import (
	"testing"

	"github.com/gossipdb/gossipdb"
)

// TestOverrunEndsTheStreamFurthestBehind checks which stream a full budget
// ends: the one whose reader stopped, not one that reads but follows more
// collections and so holds more bytes at a time. (TestEventBudget saw the
// reading stream ended under load, when it held more than each stalled one.)
func TestOverrunEndsTheStreamFurthestBehind(t *testing.T) {
	batch := func(n int) gossipdb.Batch {
		b := gossipdb.Batch{Collection: "C", Count: n}
		for range n {
			b.Events = append(b.Events, gossipdb.Event{Collection: "C", DocID: "bae-0"})
		}
		return b
	}
	one := batchBytes(batch(1))
	st := newStreams(10 * one)
	stalled, reading := st.newQueue(), st.newQueue()
	stalled.push(batch(1)) // never taken
	for range 8 {
		reading.push(batch(1))
	}
	if reading.bytes <= stalled.bytes {
		t.Fatalf("the reading stream holds %d bytes, the stalled one %d: the case needs it to hold more", reading.bytes, stalled.bytes)
	}
	// The reader takes one; two more come, and the second does not fit.
	if _, ok, _ := reading.pop(); !ok {
		t.Fatal("nothing to pop")
	}
	reading.push(batch(1))
	reading.push(batch(1))
	reading.push(batch(1))
	if reading.overrun || !stalled.overrun {
		t.Fatalf("overrun: the reading stream %v, the stalled one %v; want only the stalled one", reading.overrun, stalled.overrun)
	}
	if st.held != reading.bytes || st.held > st.budget {
		t.Fatalf("held %d bytes of a budget of %d, the reading stream %d", st.held, st.budget, reading.bytes)
	}
}
