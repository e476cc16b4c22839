package store

import (
	"errors"
	"testing"
	"time"
)

// TestSpaceCacheTake: the free space is read once per freeRecheck while writes
// fit, less the bytes accepted since; a write that does not fit on the last
// figure is decided on a new one; a failed read fails the write.
func TestSpaceCacheTake(t *testing.T) {
	var c spaceCache
	reads := 0
	disk := int64(1000)
	read := func() (int64, error) { reads++; return disk, nil }
	start := time.Unix(1_000_000, 0)
	take := func(at time.Duration, size, need int64) int64 {
		t.Helper()
		free, err := c.take(start.Add(at), size, need, read)
		if err != nil {
			t.Fatal(err)
		}
		return free
	}

	if free := take(0, 100, 500); free != 1000 || reads != 1 {
		t.Fatalf("first write: free %d after %d reads, want 1000 after 1", free, reads)
	}
	// Within freeRecheck: no read, and what was accepted is counted.
	disk = 5000 // another program freed space: not seen yet
	if free := take(freeRecheck/2, 100, 500); free != 900 || reads != 1 {
		t.Fatalf("second write: free %d after %d reads, want 900 after 1", free, reads)
	}
	// A write that does not fit the stale figure reads again and fits.
	if free := take(freeRecheck/2, 100, 900); free != 5000 || reads != 2 {
		t.Fatalf("write beyond the stale figure: free %d after %d reads, want 5000 after 2", free, reads)
	}
	// Past freeRecheck the figure is read again, and a refusal is on it.
	disk = 300
	if free := take(2*freeRecheck, 100, 500); free != 300 || reads != 3 {
		t.Fatalf("write on a full disk: free %d after %d reads, want 300 after 3", free, reads)
	}
	// A refused write took nothing, and each later write reads again.
	if free := take(2*freeRecheck, 100, 500); free != 300 || reads != 4 {
		t.Fatalf("write after a refusal: free %d after %d reads, want 300 after 4", free, reads)
	}
	disk = 2000
	if free := take(2*freeRecheck, 100, 500); free != 2000 || reads != 5 {
		t.Fatalf("write after space was freed: free %d after %d reads, want 2000 after 5", free, reads)
	}

	errRead := errors.New("statfs")
	if _, err := c.take(start.Add(4*freeRecheck), 100, 500, func() (int64, error) { return 0, errRead }); !errors.Is(err, errRead) {
		t.Fatalf("failed read: %v, want it", err)
	}
}
