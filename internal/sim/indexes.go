package sim

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/index"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Every node keeps secondary indexes on the collection, maintained by its
// store in the transactions that change the documents (local writes, merges,
// transactions) and built by store.Store.BuildIndex a page at a time, each
// page an event of the node as each is a transaction of the node's build
// goroutine. Some are added before the workload, the others during it; one
// may be dropped, and added again. A crash ends the builds; a restart
// resumes those not ready, as Open does (Node.resumeIndexBuilds). The
// decisions draw from a source of their own, so that the rest of a schedule
// is the one its seed gave before indexes were simulated.

// ixSpec is an index every node may keep.
type ixSpec struct {
	name   string
	fields []ixField
}

type ixField struct {
	field string // the field's name in SDL
	desc  bool
}

// ixSpecs are the indexes of a schedule: one on each field, and a composite
// of the two, which between them take each field and the document ID in
// both directions. The collection has no list or set field.
var ixSpecs = []ixSpec{
	{"Item_name_ASC", []ixField{{"name", false}}},
	{"Item_count_DESC", []ixField{{"count", true}}},
	{"Item_count_ASC_name_DESC", []ixField{{"count", false}, {"name", true}}},
}

const (
	// buildPage is how many documents one transaction of a build reads
	// (store.Options.BuildPage): a schedule's few dozen documents take
	// several.
	buildPage = 4
	// maxBuildPause is the longest pause between two pages of a build.
	maxBuildPause = 2 * time.Second
)

// Index operations, as Report.Indexes counts them.
const (
	IxAdded   = "added"   // indexes added
	IxDropped = "dropped" // indexes dropped
	IxPages   = "pages"   // build transactions run
	IxResumed = "resumed" // builds resumed at a restart
	IxChecked = "checked" // store checks passed (each verifies every index)
	IxProbes  = "probes"  // reads of an index compared with a scan of the states
)

// storeFields returns the store's description of spec's fields.
func (w *world) storeFields(spec ixSpec) []store.IndexField {
	var out []store.IndexField
	for _, f := range spec.fields {
		sf, ok := w.schema.Field(f.field)
		if !ok {
			panic("sim: no field " + f.field) // ixSpecs name the fields of SDL
		}
		out = append(out, store.IndexField{Key: sf.ID(), Kind: sf.Kind, Desc: f.desc, List: sf.List || sf.AddWinsSet})
	}
	return out
}

// newIxRand returns the source of a schedule's index decisions.
func newIxRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x5bd1e9955bd1e995, seed+0x2545f4914f6cdd1d))
}

// planIndexes adds to each node's store, before it starts, the indexes it
// keeps from the start, and schedules the others and the drops.
func (w *world) planIndexes() error {
	r := w.ixRand
	for _, nd := range w.nodes {
		var early []store.NewIndex
		for _, spec := range ixSpecs {
			if r.IntN(2) == 0 {
				early = append(early, store.NewIndex{Schema: w.schema.ID, Name: spec.name, Fields: w.storeFields(spec)})
				continue
			}
			t := time.Duration(r.Int64N(int64(workload)))
			w.at(t, nd.i, label("add index "+spec.name), func() { nd.addIndexes([]ixSpec{spec}) })
		}
		if len(early) > 0 {
			if _, err := nd.st.AddIndexes(early, nil); err != nil {
				return err
			}
			w.report.Indexes[IxAdded] += len(early)
			for _, a := range early {
				nd.indexes[a.Name] = true
			}
		}
		if r.IntN(3) == 0 {
			spec := ixSpecs[r.IntN(len(ixSpecs))]
			t := time.Duration(r.Int64N(int64(workload)))
			again := r.IntN(2) == 0
			w.at(t, nd.i, label("drop index "+spec.name), func() { nd.dropIndex(spec, again) })
		}
	}
	return nil
}

// addIndexes adds the indexes specs, as Collection.CreateIndex does, and
// starts their builds; on a node that is down it tries again later.
func (n *node) addIndexes(specs []ixSpec) {
	if !n.up {
		n.w.at(n.w.now+time.Second, n.i, label("add index again"), func() { n.addIndexes(specs) })
		return
	}
	var add []store.NewIndex
	for _, spec := range specs {
		add = append(add, store.NewIndex{Schema: n.w.schema.ID, Name: spec.name, Fields: n.w.storeFields(spec)})
	}
	ixs, err := n.st.AddIndexes(add, nil)
	if errors.Is(err, store.ErrIndex) {
		return // one of them exists
	}
	if err != nil {
		n.fail(err)
		return
	}
	n.w.report.Indexes[IxAdded] += len(ixs)
	for _, ix := range ixs {
		n.indexes[ix.Name] = true
		n.buildIndex(ix.ID)
	}
}

// dropIndex drops the index of spec if the node keeps it and, with again,
// adds it back a while later; on a node that is down it tries again later.
func (n *node) dropIndex(spec ixSpec, again bool) {
	if !n.up {
		n.w.at(n.w.now+time.Second, n.i, label("drop index again"), func() { n.dropIndex(spec, again) })
		return
	}
	err := n.st.DropIndex(n.w.schema.ID, spec.name)
	if errors.Is(err, store.ErrIndex) {
		return // not added yet
	}
	if err != nil {
		n.fail(err)
		return
	}
	n.w.report.Indexes[IxDropped]++
	delete(n.indexes, spec.name)
	if again {
		d := time.Duration(n.w.ixRand.Int64N(int64(maxFault)))
		n.w.at(n.w.now+d, n.i, label("add index "+spec.name), func() { n.addIndexes([]ixSpec{spec}) })
	}
}

// buildIndex runs the build of index id a page per event, until it is
// ready, dropped, or the node crashes, as the node's build goroutine does.
func (n *node) buildIndex(id uint32) {
	d := time.Duration(n.w.ixRand.Int64N(int64(maxBuildPause))) + time.Millisecond
	n.after(d, fmt.Sprintf("build index %d", id), func() {
		ready, err := n.st.BuildIndex(n.w.schema.ID, id)
		switch {
		case errors.Is(err, store.ErrIndex):
			return // dropped
		case err != nil:
			n.fail(err)
			return
		}
		n.w.report.Indexes[IxPages]++
		if !ready {
			n.buildIndex(id)
		}
	})
}

// resumeIndexBuilds resumes the builds of the indexes that are not ready, as
// Open does. After a crash that cut a build short it first checks the store,
// as an operator may: the index is then half built.
func (n *node) resumeIndexBuilds() {
	checked := n.epoch == 0
	for _, ix := range n.st.Indexes(n.w.schema.ID) {
		if ix.State != store.IndexBuilding {
			continue
		}
		if !checked {
			checked = true
			n.w.checkStore(n, false)
		}
		if n.epoch > 0 {
			n.w.report.Indexes[IxResumed]++
		}
		n.buildIndex(ix.ID)
	}
}

// checkIndexes finishes the builds still running on node nd, as the node
// would, and checks its store and indexes (checkStore).
func (w *world) checkIndexes(nd *node) {
	for _, ix := range nd.st.Indexes(w.schema.ID) {
		for ready := ix.State == store.IndexReady; !ready; {
			var err error
			if ready, err = nd.st.BuildIndex(w.schema.ID, ix.ID); err != nil {
				nd.fail(err)
				return
			}
			w.report.Indexes[IxPages]++
		}
	}
	w.checkStore(nd, true)
}

// checkStore runs the store's Check on node nd, compares its indexes with
// those the node added and did not drop and, with probe, reads each ready
// index.
func (w *world) checkStore(nd *node, probe bool) {
	problem := func(s string) {
		w.report.Problems = append(w.report.Problems, fmt.Sprintf("n%d: %s", nd.i, s))
	}
	nd.view(func(tx *store.Tx) error {
		if err := tx.Check(context.Background()); err != nil {
			problem(err.Error())
			return nil
		}
		w.report.Indexes[IxChecked]++
		var names []string
		for _, ix := range tx.Indexes(w.schema.ID) {
			names = append(names, ix.Name)
		}
		slices.Sort(names)
		if want := slices.Sorted(maps.Keys(nd.indexes)); !slices.Equal(names, want) {
			problem(fmt.Sprintf("keeps indexes %q, want those added and not dropped, %q", names, want))
		}
		if !probe {
			return nil
		}
		docs, err := w.liveDocs(tx)
		if err != nil {
			return err
		}
		for _, ix := range tx.Indexes(w.schema.ID) {
			if ix.State != store.IndexReady {
				continue
			}
			ps, err := w.probeIndex(tx, ix, docs)
			if err != nil {
				return err
			}
			for _, p := range ps {
				problem(p)
			}
		}
		return nil
	})
}

// liveDocs returns the documents of the collection that are not deleted, as
// the probes compare them.
func (w *world) liveDocs(tx *store.Tx) ([]ixDoc, error) {
	var docs []ixDoc
	err := tx.Docs(w.schema.ID, "", func(id string, st *crdt.State) error {
		if !st.Deleted {
			docs = append(docs, w.ixDocOf(id, st))
		}
		return nil
	})
	return docs, err
}

// probeIndex reads ready index ix as the probes say and compares what it
// reads with what docs, the live documents, say it holds: it returns a
// problem for each read that differs.
func (w *world) probeIndex(tx *store.Tx, ix store.Index, docs []ixDoc) (problems []string, err error) {
	for _, p := range w.probes(ix, docs) {
		w.report.Indexes[IxProbes]++
		got, err := readIndex(tx, ix, p)
		if err != nil {
			return nil, err
		}
		if want := p.want(docs); !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("index %q, %s: reads %d documents %.200s, a scan of the states gives %d %.200s",
				ix.Name, p.what, len(got), strings.Join(got, " "), len(want), strings.Join(want, " ")))
		}
	}
	return problems, nil
}

// ixDoc is a live document as the probes compare it.
type ixDoc struct {
	id     string
	values map[string]any // by field key
}

func (w *world) ixDocOf(id string, st *crdt.State) ixDoc {
	d := ixDoc{id: id, values: map[string]any{}}
	for _, f := range w.schema.Fields {
		v, _ := st.Value(f.ID())
		d.values[f.ID()] = v
	}
	return d
}

// probe is a read of an index, [lo, hi) of its keys without prefix, and
// the documents a scan of the states says it gives, in order.
type probe struct {
	what    string
	lo, hi  []byte
	reverse bool
	want    func(docs []ixDoc) []string
}

// probes returns the reads of index ix that checkStore compares: the whole
// index both ways, the documents whose first field equals that of a
// document, and those whose first field lies between two documents'.
func (w *world) probes(ix store.Index, docs []ixDoc) []probe {
	order := func(docs []ixDoc, keep func(ixDoc) bool) []string {
		var sel []ixDoc
		for _, d := range docs {
			if keep(d) {
				sel = append(sel, d)
			}
		}
		slices.SortFunc(sel, func(a, b ixDoc) int { return compareIx(ix, a, b) })
		out := make([]string, len(sel))
		for i, d := range sel {
			out[i] = d.id
		}
		return out
	}
	all := func(ixDoc) bool { return true }
	ps := []probe{
		{what: "all", want: func(docs []ixDoc) []string { return order(docs, all) }},
		{what: "all, reverse", reverse: true, want: func(docs []ixDoc) []string {
			out := order(docs, all)
			slices.Reverse(out)
			return out
		}},
	}
	if len(docs) == 0 {
		return ps
	}
	f := ix.Fields[0]
	enc := func(v any) []byte { return index.AppendValue(nil, f.Kind, v, f.Desc) }
	v := docs[w.ixRand.IntN(len(docs))].values[f.Key]
	lo := enc(v)
	ps = append(ps, probe{what: fmt.Sprintf("%s = %v", f.Key, v), lo: lo, hi: index.PrefixEnd(lo), want: func(docs []ixDoc) []string {
		return order(docs, func(d ixDoc) bool { return compareValues(d.values[f.Key], v) == 0 })
	}})
	a, b := docs[w.ixRand.IntN(len(docs))].values[f.Key], docs[w.ixRand.IntN(len(docs))].values[f.Key]
	if compareValues(a, b) > 0 {
		a, b = b, a
	}
	// Ascending, [a, b); descending, the keys of b to those of a, which hold
	// the values in (a, b].
	in := func(d ixDoc) bool {
		x := d.values[f.Key]
		return compareValues(a, x) <= 0 && compareValues(x, b) < 0
	}
	p := probe{what: fmt.Sprintf("%v <= %s < %v", a, f.Key, b), lo: enc(a), hi: enc(b)}
	if f.Desc {
		in = func(d ixDoc) bool {
			x := d.values[f.Key]
			return compareValues(a, x) < 0 && compareValues(x, b) <= 0
		}
		p = probe{what: fmt.Sprintf("%v < %s <= %v", a, f.Key, b), lo: enc(b), hi: enc(a)}
	}
	p.want = func(docs []ixDoc) []string { return order(docs, in) }
	return append(ps, p)
}

// readIndex returns the documents of the entries of ix that p reads, in order.
func readIndex(tx *store.Tx, ix store.Index, p probe) ([]string, error) {
	var out []string
	err := tx.IndexEntries(ix, p.lo, p.hi, p.reverse, func(_ []byte, doc func() (string, error)) error {
		id, err := doc()
		out = append(out, id)
		return err
	})
	return out, err
}

// compareIx orders documents as index ix does: by its fields, each in its
// direction, then by document ID in the direction of the last field.
func compareIx(ix store.Index, a, b ixDoc) int {
	for _, f := range ix.Fields {
		c := compareValues(a.values[f.Key], b.values[f.Key])
		if f.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	c := strings.Compare(a.id, b.id)
	if ix.Fields[len(ix.Fields)-1].Desc {
		c = -c
	}
	return c
}

// compareValues orders two values of a field of the collection, nulls first.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		return cmp.Compare(x, b.(int64))
	}
	return bytes.Compare(fmt.Append(nil, a), fmt.Append(nil, b))
}
