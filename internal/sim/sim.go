package sim

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// SDL is the collection every schedule writes to: an LWW field and a counter.
const SDL = `type Item { name: String count: Int @crdt(type: pncounter) }`

// Config describes one schedule. Everything else is drawn from Seed.
type Config struct {
	Seed   uint64
	Ops    int // local operations of the workload
	Faults int // faults injected
	// Docs, when positive, caps the documents created, so that their
	// histories grow deep; 0 lets a quarter of the operations create one.
	Docs int
	// AnswerBlocks is the most blocks one history answer holds; 0 means 64.
	AnswerBlocks int
	// NoTransfers leaves transactions out of the workload. Few documents
	// with deep histories, answers cut at a few blocks and transactions
	// chaining the documents together do not converge: a receiver's held
	// blocks of incomplete transactions do not move the heads it sends with
	// its next request, so a cut answer brings the same blocks again while
	// the rest of a transaction lies beyond the cut of another document.
	NoTransfers bool
	// Bound is how long after the last heal the subscribers may take to
	// converge; 0 means 2 minutes.
	Bound time.Duration
	// Trace, when not nil, receives one line per event.
	Trace io.Writer
}

// Timing of a schedule, in simulated time.
const (
	// workload is the span over which operations and faults start.
	workload = 60 * time.Second
	// maxFault is the longest a fault lasts.
	maxFault = 20 * time.Second
	// probeEvery is how often convergence is checked after the last heal.
	probeEvery = 250 * time.Millisecond
)

// Fault kinds, as Report.Faults counts them.
const (
	FaultPartition  = "partition"  // two sides disconnected
	FaultAsymmetric = "asymmetric" // one direction of a link drops everything
	FaultCrash      = "crash"      // a node loses all but its store, then restarts
	FaultSlow       = "slow"       // a node merges late
	FaultClock      = "clock"      // a node's clock steps forward or back
	FaultLoss       = "loss"       // the network loses a share of messages
	FaultDuplicate  = "duplicate"  // the network duplicates a share of gossip
	FaultDelay      = "delay"      // messages take up to seconds
)

var faultKinds = []string{FaultPartition, FaultAsymmetric, FaultCrash, FaultSlow, FaultClock, FaultLoss, FaultDuplicate, FaultDelay}

// Report is what one schedule did and what Check found.
type Report struct {
	Seed     uint64
	Ops      map[string]int // operations acknowledged, by kind
	Faults   map[string]int // faults injected, by kind
	Indexes  map[string]int // index operations and checks, by kind (IxAdded…)
	Acked    int            // blocks acknowledged
	Events   int            // events run
	Messages int            // messages sent
	// WholeReads and BucketReads count what reconciliations read of their
	// side's items: whole collections, and buckets of them (see
	// store.Store.SnapshotItems).
	WholeReads, BucketReads int
	Lost                    int // acknowledged blocks missing on a subscriber
	Unexpected              int // documents, values or counter totals nobody wrote
	Divergent               int // subscribers whose state differs from the first one
	Budget                  int // budget violations seen while running
	// Converged is how long after the last heal the subscribers agreed; -1 if
	// they did not within the bound.
	Converged time.Duration
	// PeakOrphanBytes, PeakInboxBytes and PeakTxnBytes are the most any
	// node's orphans, inbox and held transactions held, as their budgets
	// count.
	PeakOrphanBytes, PeakInboxBytes, PeakTxnBytes int64
	// Problems describes each failed check.
	Problems []string
}

// Failed reports whether a check failed.
func (r *Report) Failed() bool { return len(r.Problems) > 0 }

// ErrFailed is wrapped by the error of a schedule whose checks failed.
var ErrFailed = errors.New("sim: schedule failed")

// event is one step of the schedule.
type event struct {
	at    time.Duration
	seq   uint64
	node  int // -1 for the world
	what  func() string
	run   func()
	probe bool // a convergence probe, run by loop itself
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// world is one schedule: the nodes, the network and the clock.
type world struct {
	cfg    Config
	rng    *rand.Rand
	ixRand *rand.Rand // draws the index decisions (see indexes.go)
	now    time.Duration
	seq    uint64
	events eventHeap
	nodes  []*node
	schema *crdt.Schema
	report *Report
	model  *model
	// signed holds the CIDs of the blocks whose signature verified: whether
	// one does is a function of its bytes, so each is verified once per run
	// however many nodes receive it, however often.
	signed map[string]bool

	// the network
	conn     [][]bool // connected pairs, symmetric
	cut      [][]int  // symmetric partitions covering the pair
	oneWay   [][]int  // asymmetric partitions dropping from→to
	loss     float64  // share of messages lost
	dup      float64  // share of gossip delivered twice
	maxDelay time.Duration
	faults   int // faults not yet healed
}

// epoch0 is the simulated wall clock at the start of every schedule.
var epoch0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Run runs one schedule over stores, one per node, which it resets first (so a
// caller reuses them from one schedule to the next), and checks it. The error
// wraps ErrFailed when a check failed, and names the seed and the first five
// problems (Report.Problems has them all); it is another error when a store
// fails.
func Run(cfg Config, stores []*store.Store) (*Report, error) {
	w, err := newWorld(cfg, stores)
	if err != nil {
		return nil, err
	}
	defer w.releaseSets()
	if err := w.run(); err != nil {
		return w.report, err
	}
	if w.report.Failed() {
		p := w.report.Problems
		more := ""
		if len(p) > 5 {
			p, more = p[:5], fmt.Sprintf("; and %d more", len(p)-5)
		}
		return w.report, fmt.Errorf("%w: seed %d: %s%s", ErrFailed, cfg.Seed, strings.Join(p, "; "), more)
	}
	return w.report, nil
}

// newWorld resets stores and sets up the nodes of a schedule.
func newWorld(cfg Config, stores []*store.Store) (*world, error) {
	ss, err := schema.Parse(SDL)
	if err != nil {
		return nil, err
	}
	def, err := schema.Encode(ss[0])
	if err != nil {
		return nil, err
	}
	cfg.AnswerBlocks = cmp.Or(cfg.AnswerBlocks, 64)
	cfg.Bound = cmp.Or(cfg.Bound, 2*time.Minute)
	w := &world{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		ixRand:   newIxRand(cfg.Seed),
		schema:   ss[0],
		report:   &Report{Seed: cfg.Seed, Ops: map[string]int{}, Faults: map[string]int{}, Indexes: map[string]int{}, Converged: -1},
		model:    newModel(),
		signed:   map[string]bool{},
		maxDelay: 20 * time.Millisecond,
	}
	n := len(stores)
	for range n {
		w.conn = append(w.conn, make([]bool, n))
		w.cut = append(w.cut, make([]int, n))
		w.oneWay = append(w.oneWay, make([]int, n))
	}
	for _, st := range stores {
		if err := st.Reset(); err != nil {
			return nil, err
		}
		err := st.Update(func(tx *store.Tx) error {
			if err := tx.PutCollection(w.schema.Name, def); err != nil {
				return err
			}
			if w.rng.IntN(5) > 0 {
				return tx.PutSubscription(w.schema.Name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		w.nodes = append(w.nodes, newNode(w, len(w.nodes), st))
	}
	return w, nil
}

// releaseSets ends the snapshots the sessions still open hold when the
// schedule ends, which the next schedule's Reset needs.
func (w *world) releaseSets() {
	for _, nd := range w.nodes {
		nd.releaseSets()
	}
}

// run runs the schedule and its checks.
func (w *world) run() error {
	if err := w.planIndexes(); err != nil {
		return err
	}
	for _, nd := range w.nodes {
		nd.start()
	}
	w.refreshConn()
	w.plan()
	if err := w.loop(); err != nil {
		return err
	}
	return w.check()
}

// at schedules fn at simulated time t for node (-1 for the world).
func (w *world) at(t time.Duration, node int, what func() string, fn func()) {
	w.seq++
	heap.Push(&w.events, &event{at: max(t, w.now), seq: w.seq, node: node, what: what, run: fn})
}

// probe schedules a convergence check at t.
func (w *world) probe(t time.Duration) {
	w.seq++
	heap.Push(&w.events, &event{at: t, seq: w.seq, node: -1, what: label("probe"), run: func() {}, probe: true})
}

func label(s string) func() string { return func() string { return s } }

// plan schedules the workload, the faults and the final heal.
func (w *world) plan() {
	for range w.cfg.Ops {
		t := time.Duration(w.rng.Int64N(int64(workload)))
		i := w.rng.IntN(len(w.nodes))
		w.at(t, i, label("op"), func() { w.nodes[i].op() })
	}
	for range w.cfg.Faults {
		t := time.Duration(w.rng.Int64N(int64(workload)))
		kind := faultKinds[w.rng.IntN(len(faultKinds))]
		w.at(t, -1, label("fault "+kind), func() { w.fault(kind) })
	}
}

// loop runs events until the subscribers converge after the last heal, or the
// bound passes.
func (w *world) loop() error {
	healed := time.Duration(-1)
	probing := false
	for w.events.Len() > 0 {
		e := heap.Pop(&w.events).(*event)
		w.now = e.at
		w.report.Events++
		if w.cfg.Trace != nil {
			who := "world"
			if e.node >= 0 {
				who = fmt.Sprintf("n%d", e.node)
			}
			fmt.Fprintf(w.cfg.Trace, "%12v #%d %s %s\n", w.now, e.seq, who, e.what())
		}
		e.run()
		if w.now >= workload && w.faults == 0 && !probing {
			probing = true
			healed = w.now
			w.healAll()
			w.probe(w.now)
		}
		if e.probe {
			if w.converged() {
				w.report.Converged = w.now - healed
				return nil
			}
			if w.now-healed > w.cfg.Bound {
				return nil
			}
			w.probe(w.now + probeEvery)
		}
		if err := w.failure(); err != nil {
			return err
		}
	}
	return nil
}

// failure returns the first store error a node met.
func (w *world) failure() error {
	for _, nd := range w.nodes {
		if nd.err != nil {
			return fmt.Errorf("sim: seed %d: node %d: %w", w.cfg.Seed, nd.i, nd.err)
		}
	}
	return nil
}

// fault injects one fault of kind, healed after a random duration.
func (w *world) fault(kind string) {
	w.report.Faults[kind]++
	w.faults++
	d := time.Duration(w.rng.Int64N(int64(maxFault))) + time.Second
	heal := func(fn func()) {
		w.at(w.now+d, -1, label("heal "+kind), func() { fn(); w.faults-- })
	}
	n := len(w.nodes)
	switch kind {
	case FaultPartition:
		side := make([]bool, n)
		for i := range side {
			side[i] = w.rng.IntN(2) == 0
		}
		w.eachCross(side, 1)
		heal(func() { w.eachCross(side, -1) })
	case FaultAsymmetric:
		i, j := w.pair()
		w.oneWay[i][j]++
		heal(func() { w.oneWay[i][j]-- })
	case FaultCrash:
		nd := w.nodes[w.rng.IntN(n)]
		if !nd.up {
			heal(func() {})
			return
		}
		nd.crash()
		heal(nd.restart)
	case FaultSlow:
		nd := w.nodes[w.rng.IntN(n)]
		nd.slow++
		heal(func() { nd.slow-- })
	case FaultClock:
		nd := w.nodes[w.rng.IntN(n)]
		step := time.Duration(w.rng.Int64N(int64(4*time.Minute))) - 2*time.Minute
		nd.clock += step
		nd.tick()
		heal(func() {})
	case FaultLoss:
		old := w.loss
		w.loss = max(w.loss, 0.1+0.8*w.rng.Float64())
		heal(func() { w.loss = old })
	case FaultDuplicate:
		old := w.dup
		w.dup = max(w.dup, w.rng.Float64())
		heal(func() { w.dup = old })
	case FaultDelay:
		old := w.maxDelay
		w.maxDelay = max(w.maxDelay, time.Duration(w.rng.Int64N(int64(3*time.Second))))
		heal(func() { w.maxDelay = old })
	}
}

func (w *world) pair() (int, int) {
	i := w.rng.IntN(len(w.nodes))
	j := (i + 1 + w.rng.IntN(len(w.nodes)-1)) % len(w.nodes)
	return i, j
}

func (w *world) eachCross(side []bool, delta int) {
	for i := range side {
		for j := range side {
			if side[i] != side[j] {
				w.cut[i][j] += delta
			}
		}
	}
	w.refreshConn()
}

// healAll ends what faults leave behind: every node up, every node subscribed
// (subscriptions come back), and a network that loses nothing.
func (w *world) healAll() {
	w.loss, w.dup, w.maxDelay = 0, 0, 20*time.Millisecond
	for _, nd := range w.nodes {
		if !nd.up {
			nd.restart()
		}
		if !nd.sub {
			nd.subscribe()
		}
	}
}

// refreshConn connects the pairs of up nodes that no partition separates and
// disconnects the others, telling both sides.
func (w *world) refreshConn() {
	for i, a := range w.nodes {
		for j, b := range w.nodes {
			if i >= j {
				continue
			}
			want := a.up && b.up && w.cut[i][j] == 0
			if want == w.conn[i][j] {
				continue
			}
			w.conn[i][j], w.conn[j][i] = want, want
			if want {
				a.connected(j)
				b.connected(i)
			} else {
				a.disconnected(j)
				b.disconnected(i)
			}
		}
	}
}

// message is what one node sends another.
type message struct {
	from, to   int
	fromEpoch  int
	toEpoch    int
	kind       string
	req        uint64 // request ID, for requests and their replies
	reply      bool
	payload    any
	blockBytes [][]byte
}

// send delivers m after a random delay, unless the network drops it; gossip may
// be delivered twice.
func (w *world) send(m *message) {
	w.report.Messages++
	src, dst := w.nodes[m.from], w.nodes[m.to]
	m.fromEpoch, m.toEpoch = src.epoch, dst.epoch
	if !w.conn[m.from][m.to] || w.oneWay[m.from][m.to] > 0 || w.rng.Float64() < w.loss {
		return
	}
	copies := 1
	if m.kind == kindGossip && w.rng.Float64() < w.dup {
		copies = 2
	}
	for range copies {
		d := time.Millisecond + time.Duration(w.rng.Int64N(int64(w.maxDelay)+1))
		w.at(w.now+d, m.to, func() string { return fmt.Sprintf("receive %s from n%d req %d", m.kind, m.from, m.req) }, func() {
			// A crash of either end loses what was in flight between them.
			if !src.up || src.epoch != m.fromEpoch || !dst.up || dst.epoch != m.toEpoch {
				return
			}
			dst.receive(m)
		})
	}
}

// subscribers returns the nodes subscribed at the end.
func (w *world) subscribers() []*node {
	return slices.DeleteFunc(slices.Clone(w.nodes), func(nd *node) bool { return !nd.sub })
}
