package gossipdb_test

// Benchmarks of collection versions (issue 11): a patch of a large collection
// and reads through a later version. Figures: docs/BENCHMARKS.md.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
)

// BenchmarkPatchLargeCollection patches, on disk, a collection that holds
// 1,000,000 documents (10,000 with -short), back and forth between two
// versions. A patch stores the new definition and the active version, two small
// records, whatever the collection holds: the benchmark checks that every
// document record is as it was (the collection's fingerprint hashes them all).
func BenchmarkPatchLargeCollection(b *testing.B) {
	total := 1_000_000
	if testing.Short() {
		total = 10_000
	}
	ctx := context.Background()
	c := benchCollection(b)
	batch := make([]map[string]any, gossipdb.MaxCreateMany)
	for done := 0; done < total; done += len(batch) {
		batch = batch[:min(len(batch), total-done)]
		for i := range batch {
			batch[i] = benchUser(done + i)
		}
		if _, err := c.CreateMany(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	before, err := c.Fingerprint(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sdls := [2]string{
		`type User { name: String age: Int verified: Boolean points: Float email: String @default(string: "none") }`,
		`type User { fullName: String @rename(from: "name") age: Int verified: Boolean points: Float }`,
	}
	n := 0
	for b.Loop() {
		if _, err := c.Patch(ctx, sdls[n%2]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	if after, err := c.Fingerprint(ctx); err != nil || after != before {
		b.Fatalf("patches changed the documents (%v)", err)
	}
	b.ReportMetric(float64(total), "docs")
}

// BenchmarkReadThroughVersions reads, through version 3 of a collection, a
// document written under version 1 (old keys, a field v3 dropped, none of the
// field v2 added, which reads as its default) and one written under version 3,
// and reports the ratio of their times (v1/v3).
func BenchmarkReadThroughVersions(b *testing.B) {
	ctx := context.Background()
	n, err := gossipdb.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	cs, err := n.AddCollection(ctx, itemV1)
	if err != nil {
		b.Fatal(err)
	}
	c := cs[0]
	const docs = 1000
	create := func(fields func(i int) map[string]any) []gossipdb.DocID {
		batch := make([]map[string]any, docs)
		for i := range batch {
			batch[i] = fields(i)
		}
		ids, err := c.CreateMany(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		return ids
	}
	v1 := create(func(i int) map[string]any {
		return map[string]any{"name": fmt.Sprint("item-", i), "title": "a title", "count": 3, "note": "a note"}
	})
	for _, sdl := range []string{itemV2, itemV3} {
		if _, err := c.Patch(ctx, sdl); err != nil {
			b.Fatal(err)
		}
	}
	v3 := create(func(i int) map[string]any {
		return map[string]any{"name": fmt.Sprint("item-", i), "heading": "a title", "count": 3, "color": "blue"}
	})
	// The two reads alternate, each timed, so that the machine's load and the
	// caches weigh on both alike.
	read := func(id gossipdb.DocID) time.Duration {
		start := time.Now()
		d, err := c.Get(ctx, id)
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if d.Fields["heading"] != "a title" || d.Fields["color"] == nil {
			b.Fatalf("document reads %v", d.Fields)
		}
		return took
	}
	b.ReportAllocs()
	var old, cur time.Duration
	i := 0
	for b.Loop() {
		old += read(v1[i%docs])
		cur += read(v3[i%docs])
		i++
	}
	b.ReportMetric(float64(old.Nanoseconds())/float64(i), "ns/v1-read")
	b.ReportMetric(float64(cur.Nanoseconds())/float64(i), "ns/v3-read")
	b.ReportMetric(float64(old)/float64(cur), "v1/v3")
}
