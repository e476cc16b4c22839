package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"pgregory.net/rapid"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/itemsum"
	"github.com/gossipdb/gossipdb/internal/store"
)

// item is a document's ID with its heads hash, as HeadsHashes gives them.
type item struct {
	id   string
	hash [32]byte
}

// scannedItems returns the items of the collection, in ID order, as a read of
// every record finds them.
func scannedItems(tb testing.TB, s *store.Store, schema cid.Cid) []item {
	tb.Helper()
	var items []item
	err := s.View(func(tx *store.Tx) error {
		return tx.HeadsHashes(schema, "", func(id string, hash [32]byte) error {
			items = append(items, item{id, hash})
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return items
}

// sumOf returns the sum of items.
func sumOf(items []item) itemsum.Sum {
	var sum itemsum.Sum
	for _, it := range items {
		sum.Add(it.id, it.hash)
	}
	return sum
}

// lowersOf returns the Lowers of the directory a whole read of items builds
// with per items a bucket: "", then before every per-th item the shortest
// prefix of its ID that sorts after the ID before it.
func lowersOf(items []item, per int) []string {
	lowers := []string{""}
	for i := per; i < len(items); i += per {
		k := 1
		for items[i].id[:k] <= items[i-1].id {
			k++
		}
		lowers = append(lowers, items[i].id[:k])
	}
	return lowers
}

// overfull reports whether a bucket of the directory with the given Lowers
// would hold more than maxItems of items.
func overfull(items []item, lowers []string, maxItems int64) bool {
	counts := make([]int64, len(lowers))
	for _, it := range items {
		i := sort.Search(len(lowers), func(i int) bool { return lowers[i] > it.id }) - 1
		counts[i]++
		if counts[i] > maxItems {
			return true
		}
	}
	return false
}

// lowers returns the Lowers of buckets.
func lowers(buckets []itemsum.Bucket) []string {
	l := make([]string, len(buckets))
	for i, b := range buckets {
		l[i] = b.Lower
	}
	return l
}

// readSnapshot reads the buckets of sn in the given order (which may repeat
// or leave out buckets) and returns the items of every bucket it read, in
// bucket order, or an error when what it reads disagrees with the directory:
// Lowers that do not start at "" and strictly increase, an item of bucket i
// outside [Lower_i, Lower_i+1) or out of order, the sum of a bucket's items
// other than its Sum, or a bucket that reads differently twice.
func readSnapshot(sn *store.ItemsSnapshot, order []int) ([]item, error) {
	b := sn.Buckets()
	if len(b) == 0 || b[0].Lower != "" {
		return nil, fmt.Errorf("directory %q does not start at \"\"", lowers(b))
	}
	for i := 1; i < len(b); i++ {
		if b[i].Lower <= b[i-1].Lower {
			return nil, fmt.Errorf("Lowers %q do not strictly increase", lowers(b))
		}
	}
	read := make([][]item, len(b))
	for _, i := range order {
		var got []item
		err := sn.Read(i, func(id string, hash [32]byte) error {
			switch {
			case id < b[i].Lower || i+1 < len(b) && id >= b[i+1].Lower:
				return fmt.Errorf("bucket %d [%q, next) read %q", i, b[i].Lower, id)
			case len(got) > 0 && id <= got[len(got)-1].id:
				return fmt.Errorf("bucket %d read %q after %q", i, id, got[len(got)-1].id)
			}
			got = append(got, item{id, hash})
			return nil
		})
		if err != nil {
			return nil, err
		}
		if sum := sumOf(got); sum != b[i].Sum {
			return nil, fmt.Errorf("bucket %d [%q, next): its %d items sum to %+v, its Sum is %+v", i, b[i].Lower, len(got), sum, b[i].Sum)
		}
		if read[i] != nil && !slices.Equal(read[i], got) {
			return nil, fmt.Errorf("bucket %d read differently twice", i)
		}
		read[i] = got
	}
	var all []item
	for _, r := range read {
		all = append(all, r...)
	}
	return all, nil
}

// takenSnapshot is a snapshot a test took, with what it must read.
type takenSnapshot struct {
	sn     *store.ItemsSnapshot
	items  []item      // the collection's items when it was taken
	lowers []string    // the directory's Lowers then
	sum    itemsum.Sum // Summary then
}

// check reads every bucket of ts in an order rapid draws, one of them twice,
// compares with the collection as it was when ts was taken, and closes ts.
func (ts *takenSnapshot) check(t *testing.T, rt *rapid.T) {
	t.Helper()
	b := ts.sn.Buckets()
	if l := lowers(b); !slices.Equal(l, ts.lowers) {
		t.Fatalf("directory %q, want %q", l, ts.lowers)
	}
	all := make([]int, len(b))
	for i := range all {
		all[i] = i
	}
	order := rapid.Permutation(all).Draw(rt, "order")
	order = append(order, rapid.IntRange(0, len(b)-1).Draw(rt, "again"))
	got, err := readSnapshot(ts.sn, order)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ts.items) {
		t.Fatalf("the buckets read %d items, want the %d the collection held when the snapshot was taken", len(got), len(ts.items))
	}
	var total itemsum.Sum
	for _, b := range b {
		total.Merge(b.Sum)
	}
	if total != ts.sum {
		t.Fatalf("the buckets sum to %+v, Summary was %+v", total, ts.sum)
	}
	ts.sn.Close()
}

// TestItemsSnapshotFollowsCommits: after any sequence of new documents,
// changes, concurrent changes, deletions and failed transactions, with whole
// reads at any point (of an empty collection too, and with commits during
// them), SnapshotItems gives a directory, cut as the last whole read that
// built one cut the collection, whose buckets read the collection's items as
// they were when it was taken and sum to what they read, however many commits
// later; and it gives none before the first whole read and while a bucket
// holds more than maxBucketItems items, Summary staying known meanwhile.
func TestItemsSnapshotFollowsCommits(t *testing.T) {
	user, post := testSchemas(t)
	rapid.Check(t, func(rt *rapid.T) {
		s := openMem(t)
		defer s.Close()
		per := rapid.Int64Range(1, 4).Draw(rt, "bucketItems")
		maxItems := rapid.Int64Range(per, 3*per).Draw(rt, "maxBucketItems")
		s.SetBucketSizes(per, maxItems)
		var d summaryDocs
		var (
			read   bool     // a whole read made the summary known
			cut    []string // the Lowers of the directory the last whole read built
			uneven bool     // a bucket of it grew above maxItems
			taken  []*takenSnapshot
		)
		for range rapid.IntRange(1, 40).Draw(rt, "actions") {
			switch rapid.IntRange(0, 9).Draw(rt, "action") {
			case 0: // a whole read, with commits during it
				before := scannedItems(t, s, user.ID)
				builds := !read || uneven
				during, first := rapid.IntRange(0, 3).Draw(rt, "during"), true
				err := s.Items(user.ID, "", func(string, [32]byte) error {
					if first {
						first = false
						for range during {
							d.step(t, rt, s, user)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if builds {
					read, cut, uneven = true, lowersOf(before, int(per)), false
				}
			case 1, 2:
				sn, ok, err := s.SnapshotItems(user.ID)
				if err != nil {
					t.Fatal(err)
				}
				if want := read && !uneven; ok != want {
					t.Fatalf("SnapshotItems ok %v, want %v (read whole: %v, uneven: %v)", ok, want, read, uneven)
				}
				if ok {
					sum, _ := s.Summary(user.ID)
					taken = append(taken, &takenSnapshot{sn: sn, items: scannedItems(t, s, user.ID), lowers: cut, sum: sum})
				}
			case 3:
				if len(taken) > 0 {
					i := rapid.IntRange(0, len(taken)-1).Draw(rt, "snapshot")
					taken[i].check(t, rt)
					taken = slices.Delete(taken, i, i+1)
				}
			default:
				d.step(t, rt, s, user)
			}
			now := scannedItems(t, s, user.ID)
			if read && !uneven && overfull(now, cut, maxItems) {
				uneven = true
			}
			got, ok := s.Summary(user.ID)
			if want := sumOf(now); ok != read || ok && got != want {
				t.Fatalf("Summary %+v (%v), want the records' %+v (%v)", got, ok, want, read)
			}
		}
		for _, ts := range taken {
			ts.check(t, rt)
		}
		if _, ok, err := s.SnapshotItems(post.ID); ok || err != nil {
			t.Fatalf("SnapshotItems of a collection never read whole: %v, %v", ok, err)
		}
	})
}

// TestItemsSnapshotBesideWriters: snapshots taken and read while writers
// commit, and while whole reads rebuild uneven directories beside them, read
// in each bucket the items its Sum counts; once the writers stop, a snapshot
// reads the collection and sums to its Summary.
func TestItemsSnapshotBesideWriters(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	// One item a bucket, uneven at five: the writers' new documents make
	// the directory uneven within a few hundred commits.
	s.SetBucketSizes(1, 4)
	var seeded []*crdt.Block
	for range 100 {
		g := genesis(t, user, map[string]any{"name": "seed"})
		apply(t, s, g)
		seeded = append(seeded, g)
	}
	stopWriters := startWriters(t, s, user, seeded)
	defer stopWriters()
	// Each round builds the directory with a whole read, then reads
	// snapshots until one finds it uneven.
	snapshots := 0
	deadline := time.Now().Add(time.Minute)
	for round := range 10 {
		if err := s.Items(user.ID, "", func(string, [32]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the directory never went uneven", round)
			}
			sn, ok, err := s.SnapshotItems(user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			all := make([]int, len(sn.Buckets()))
			for i := range all {
				all[i] = i
			}
			_, err = readSnapshot(sn, all)
			sn.Close()
			if err != nil {
				t.Fatalf("round %d, snapshot %d: %v", round, snapshots, err)
			}
			snapshots++
		}
		if _, ok := s.Summary(user.ID); !ok {
			t.Fatalf("round %d: Summary unknown while the directory is uneven", round)
		}
	}
	stopWriters()
	sn := wholeReadSnapshot(t, s, user.ID)
	all := make([]int, len(sn.Buckets()))
	for i := range all {
		all[i] = i
	}
	got, err := readSnapshot(sn, all)
	if err != nil {
		t.Fatal(err)
	}
	want := scannedItems(t, s, user.ID)
	if !slices.Equal(got, want) {
		t.Fatalf("the buckets read %d items, the collection holds %d", len(got), len(want))
	}
	if sum, ok := s.Summary(user.ID); !ok || sum != sumOf(want) {
		t.Fatalf("Summary %+v (%v), want the records' %+v", sum, ok, sumOf(want))
	}
	t.Logf("%d consistent snapshots beside the writers; %d documents in %d buckets at the end", snapshots, len(want), len(sn.Buckets()))
}

// createDocs stores n new documents of schema, a few hundred a transaction.
func createDocs(tb testing.TB, s *store.Store, schema *crdt.Schema, n int) {
	tb.Helper()
	for n > 0 {
		batch := min(n, 500)
		gs := make([]*store.Genesis, batch)
		for i := range gs {
			gs[i] = store.NewGenesis(genesis(tb, schema, map[string]any{"name": "doc"}))
		}
		err := s.Update(func(tx *store.Tx) error {
			for _, g := range gs {
				if err := tx.PutGenesis(g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		n -= batch
	}
}

// TestItemsSnapshotUneven: a collection read whole when empty, then filled
// with more documents than a bucket may hold, has no directory, though its
// Summary stays known, until the next whole read cuts it into buckets of 256.
func TestItemsSnapshotUneven(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	if b := wholeReadSnapshot(t, s, user.ID).Buckets(); len(b) != 1 || b[0] != (itemsum.Bucket{}) {
		t.Fatalf("an empty collection's directory %+v, want one empty bucket", b)
	}
	const n = 4097
	createDocs(t, s, user, n)
	if _, ok, err := s.SnapshotItems(user.ID); ok || err != nil {
		t.Fatalf("SnapshotItems with %d items in one bucket: %v, %v; want no directory", n, ok, err)
	}
	want := scannedItems(t, s, user.ID)
	if sum, ok := s.Summary(user.ID); !ok || sum != sumOf(want) {
		t.Fatalf("Summary of an uneven collection %+v (%v), want the records' %+v", sum, ok, sumOf(want))
	}
	sn := wholeReadSnapshot(t, s, user.ID)
	b := sn.Buckets()
	if l := lowers(b); !slices.Equal(l, lowersOf(want, 256)) {
		t.Fatalf("rebuilt directory %q, want %q", l, lowersOf(want, 256))
	}
	for i, b := range b {
		if want := min(256, n-256*i); b.Sum.Count != int64(want) {
			t.Fatalf("bucket %d holds %d items, want %d", i, b.Sum.Count, want)
		}
	}
	got, err := readSnapshot(sn, []int{len(b) - 1, 0, 7})
	if err != nil {
		t.Fatal(err)
	}
	if wantRead := slices.Concat(want[:256], want[7*256:8*256], want[16*256:]); !slices.Equal(got, wantRead) {
		t.Fatal("buckets 0, 7 and 16 read other items than the collection's 0th, 7th and 16th runs of 256")
	}
}

// TestItemsSnapshotClose: a closed snapshot, and a snapshot of a closed
// store, fail to read without panicking; closing one twice, or after the
// store, is allowed; Reset fails while one is open; a closed store takes no
// snapshot.
func TestItemsSnapshotClose(t *testing.T) {
	user, _ := testSchemas(t)
	s := openMem(t)
	createDocs(t, s, user, 3)
	if err := s.Items(user.ID, "", func(string, [32]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	take := func() *store.ItemsSnapshot {
		t.Helper()
		sn, ok, err := s.SnapshotItems(user.ID)
		if !ok || err != nil {
			t.Fatalf("SnapshotItems: %v, %v", ok, err)
		}
		return sn
	}
	count := func(sn *store.ItemsSnapshot, i int) (int, error) {
		n := 0
		err := sn.Read(i, func(string, [32]byte) error { n++; return nil })
		return n, err
	}
	sn := take()
	if n, err := count(sn, 0); n != 3 || err != nil {
		t.Fatalf("Read: %d items, %v; want 3", n, err)
	}
	for _, i := range []int{-1, 1} {
		if _, err := count(sn, i); err == nil {
			t.Fatalf("Read of bucket %d of 1 succeeded", i)
		}
	}
	stop := errors.New("stop")
	if err := sn.Read(0, func(string, [32]byte) error { return stop }); err != stop {
		t.Fatalf("Read returned %v, not fn's error as it is", err)
	}
	if err := s.Reset(); err == nil || !strings.Contains(err.Error(), "1 items snapshots still open") {
		t.Fatalf("Reset with a snapshot open: %v", err)
	}
	sn.Close()
	sn.Close()
	if _, err := count(sn, 0); err == nil {
		t.Fatal("Read of a closed snapshot succeeded")
	}
	if err := s.Reset(); err != nil {
		t.Fatalf("Reset once the snapshot closed: %v", err)
	}
	createDocs(t, s, user, 3)
	if err := s.Items(user.ID, "", func(string, [32]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// More open snapshots than Badger has room to hear of after it closed.
	open := make([]*store.ItemsSnapshot, 200)
	for i := range open {
		open[i] = take()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := count(open[0], 0); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Read after the store closed: %v, want ErrClosed", err)
	}
	for _, sn := range open {
		sn.Close()
	}
	if _, ok, err := s.SnapshotItems(user.ID); ok || !errors.Is(err, store.ErrClosed) {
		t.Fatalf("SnapshotItems of a closed store: %v, %v; want ErrClosed", ok, err)
	}
}

// TestBucketItemsOption: Options.BucketItems sets how many items a whole
// read puts in each bucket.
func TestBucketItemsOption(t *testing.T) {
	user, _ := testSchemas(t)
	s := openStore(t, "", &store.Options{BucketItems: 4})
	createDocs(t, s, user, 21)
	b := wholeReadSnapshot(t, s, user.ID).Buckets()
	if len(b) != 6 || b[5].Sum.Count != 1 {
		t.Fatalf("21 documents in %d buckets (the last of %d), want 5 of 4 and one of 1", len(b), b[len(b)-1].Sum.Count)
	}
}

// wholeReadSnapshot reads the collection with the given schema ID whole,
// which builds its directory, and returns a snapshot of it, closed at the end
// of the test.
func wholeReadSnapshot(t *testing.T, s *store.Store, schema cid.Cid) *store.ItemsSnapshot {
	t.Helper()
	if err := s.Items(schema, "", func(string, [32]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	sn, ok, err := s.SnapshotItems(schema)
	if !ok || err != nil {
		t.Fatalf("SnapshotItems after a whole read: %v, %v", ok, err)
	}
	t.Cleanup(sn.Close)
	return sn
}
