package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Totals sums the Reports of many schedules, for a table in the manner of
// Jepsen's reports. The zero value is ready to use.
type Totals struct {
	Schedules, Failed                             int
	Ops, Faults, Indexes                          map[string]int
	Acked, Events, Messages                       int
	WholeReads, BucketReads                       int
	Lost, Unexpected, Divergent                   int
	Budget                                        int
	WorstConverge                                 time.Duration // the longest time to converge after the last heal
	NotConverged                                  int
	PeakOrphanBytes, PeakInboxBytes, PeakTxnBytes int64
}

// Add counts r.
func (t *Totals) Add(r *Report) {
	if t.Ops == nil {
		t.Ops, t.Faults, t.Indexes = map[string]int{}, map[string]int{}, map[string]int{}
	}
	t.Schedules++
	if r.Failed() {
		t.Failed++
	}
	for k, v := range r.Ops {
		t.Ops[k] += v
	}
	for k, v := range r.Faults {
		t.Faults[k] += v
	}
	for k, v := range r.Indexes {
		t.Indexes[k] += v
	}
	t.Acked += r.Acked
	t.Events += r.Events
	t.Messages += r.Messages
	t.WholeReads += r.WholeReads
	t.BucketReads += r.BucketReads
	t.Lost += r.Lost
	t.Unexpected += r.Unexpected
	t.Divergent += r.Divergent
	t.Budget += r.Budget
	if r.Converged < 0 {
		t.NotConverged++
	}
	t.WorstConverge = max(t.WorstConverge, r.Converged)
	t.PeakOrphanBytes = max(t.PeakOrphanBytes, r.PeakOrphanBytes)
	t.PeakInboxBytes = max(t.PeakInboxBytes, r.PeakInboxBytes)
	t.PeakTxnBytes = max(t.PeakTxnBytes, r.PeakTxnBytes)
}

// String formats t as a Markdown table.
func (t Totals) String() string {
	var b strings.Builder
	row := func(k string, v any) { fmt.Fprintf(&b, "| %s | %v |\n", k, v) }
	b.WriteString("| measure | value |\n| --- | --- |\n")
	row("schedules run (failed)", fmt.Sprintf("%d (%d)", t.Schedules, t.Failed))
	ops := 0
	for _, v := range t.Ops {
		ops += v
	}
	row("operations acknowledged", fmt.Sprintf("%d: %s", ops, counts(t.Ops)))
	faults := 0
	for _, v := range t.Faults {
		faults += v
	}
	row("faults injected", fmt.Sprintf("%d: %s", faults, counts(t.Faults)))
	row("index operations and checks", counts(t.Indexes))
	row("blocks acknowledged", t.Acked)
	row("events, messages", fmt.Sprintf("%d, %d", t.Events, t.Messages))
	row("reconciliations' reads of items: whole, buckets", fmt.Sprintf("%d, %d", t.WholeReads, t.BucketReads))
	row("acknowledged writes lost", t.Lost)
	row("unexpected values", t.Unexpected)
	row("divergent replicas", t.Divergent)
	row("not converged within the bound", t.NotConverged)
	row("worst time to converge after the last heal (simulated)", t.WorstConverge)
	row("peak orphans, per node (budget)", fmt.Sprintf("%d B (%d B)", t.PeakOrphanBytes, orphanLimits.Bytes))
	row("peak inbox, per node (budget)", fmt.Sprintf("%d B (%d B, or one arrival)", t.PeakInboxBytes, int64(inboxBytes)))
	row("peak held transactions, per node (budget)", fmt.Sprintf("%d B (%d B)", t.PeakTxnBytes, txnLimits.Bytes))
	row("budget violations", t.Budget)
	return b.String()
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
