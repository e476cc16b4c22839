package catchup

import "slices"

// Pulls decides the pull requests of one session: the documents that reconcile
// found to differ, in batches of at most a given number of documents, a bounded
// number of requests at once, and none after a request failed. Like the
// Scheduler it does no I/O: the node and the simulator start each batch Next
// gives and report its end with Done. It is not safe for concurrent use.
type Pulls struct {
	batches  [][]string
	inFlight int
	max      int
	failed   bool
}

// NewPulls plans the pulls of need in batches of docs documents, at most
// inFlight requests at once (both at least 1).
func NewPulls(need []string, docs, inFlight int) *Pulls {
	p := &Pulls{max: max(inFlight, 1)}
	for b := range slices.Chunk(need, max(docs, 1)) {
		p.batches = append(p.batches, b)
	}
	return p
}

// Next returns the next batch to request now, or false when none may start:
// the requests in flight are at their bound, every batch started, or one
// failed. The batch is a sub-slice of need.
func (p *Pulls) Next() ([]string, bool) {
	if p.failed || p.inFlight >= p.max || len(p.batches) == 0 {
		return nil, false
	}
	b := p.batches[0]
	p.batches = p.batches[1:]
	p.inFlight++
	return b, true
}

// Done ends a request that Next started; ok false means it failed, and no
// further batch starts.
func (p *Pulls) Done(ok bool) {
	p.inFlight--
	p.failed = p.failed || !ok
}

// Finished reports whether the session's pulls are over: no request in flight,
// and none left to start (all done, or one failed).
func (p *Pulls) Finished() bool {
	return p.inFlight == 0 && (p.failed || len(p.batches) == 0)
}
