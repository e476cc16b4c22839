package reconcile

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gossipdb/gossipdb/internal/itemsum"
)

// Tuning of the exchange; the package doc explains the choices.
const (
	// branch is how many sub-ranges a side splits a differing range into.
	branch = 16
	// digestsMax is the most items for which the initiator sends the digests of a
	// differing range rather than splitting it.
	digestsMax = 32
	// itemsMax is the most items for which the responder sends the keys and
	// digests of a differing range rather than splitting it.
	itemsMax = 4
	// diffMax is the most items for which the responder answers the initiator's
	// digests with the difference rather than splitting the range.
	diffMax = 256
	// maxMessageSize is the largest message this package sends: a frame less
	// room for the collection ID or the status byte.
	maxMessageSize = MaxFrameSize - 256
	// messageBudget is where a side stops answering ranges and defers the rest
	// (modeAgain). Whatever one range's answer is, it fits between the budget and
	// maxMessageSize, so every message answers at least one range.
	messageBudget = maxMessageSize - 64<<10
)

// needOverhead is what a key of the peer's costs in need beyond its bytes:
// its string header (see side.maxNeed).
const needOverhead = 16

// params are the message limits of a side, smaller in tests to exercise deferral.
type params struct {
	budget    int // answer no more ranges once a message is this long
	limit     int // never send a longer message
	maxRanges int // never send more ranges
}

var defaultParams = params{budget: messageBudget, limit: maxMessageSize, maxRanges: MaxRanges}

// Result is what a session found out. Keys appear in both Need and Offer when the
// two sides hold them with different hashes.
type Result struct {
	// Need lists, sorted, the keys the peer holds that we lack or hold with
	// another hash: the documents to pull from it.
	Need []string
	// Offer lists, sorted, the keys we hold that the peer lacks or holds with
	// another hash: the documents it would pull from us.
	Offer []string
	// Resume is where a session that ended before the sides agreed on every
	// range (an error: a limit, a timeout, a broken stream) stopped settling the
	// key space: Need and Offer hold every difference of the keys from the
	// session's start up to Resume, and a session from Resume (NewSessionFrom,
	// Reconcile's from) finds the rest. It is the session's start when nothing
	// was settled, and empty when the session ended in agreement.
	Resume string
	// Rounds counts the round trips: messages the initiator sent that the peer
	// answered.
	Rounds int
	// BytesSent and BytesReceived count the bytes of the session's messages, and
	// over a stream (Reconcile) of its frames, prefixes included.
	BytesSent, BytesReceived int
}

// Session is the initiator's side of one reconciliation, free of I/O: Initiate
// gives the first message, and Reply takes in each answer of the peer (computed by
// Respond) and gives the next message, until the two sides agree on every range.
// A Session is not safe for concurrent use.
type Session struct {
	side side
	// sum and load stand for side's set until an answer needs it (see
	// NewSessionSum); load is nil once it is read, or for a session made
	// with its set.
	sum    itemsum.Sum
	load   func() (*Set, error)
	from   string // the lowest key reconciled
	rounds int
	sent   int
	recv   int
	state  int // 0 before Initiate, 1 running, 2 done
	// pending is the last message sent, until the peer's answer is taken in:
	// its ranges are the ones not settled yet (the responder keeps no state).
	pending []byte
	agreed  bool // the session ended with the sides agreeing on every range
}

// NewSession returns a session that reconciles set with a peer's set.
func NewSession(set *Set) *Session { return NewSessionFrom(set, "") }

// NewSessionFrom returns a session that reconciles only the keys from from on
// (as byte strings): the keys below it are taken as agreed, so that a session
// can go on from where an earlier one stopped (Result.Resume). Its first message
// skips them, which a responder of any version reads as agreement.
//
// The keys a session records in Need may cost at most twice DefaultMaxBytes
// (Reconcile: twice Options.MaxBytes), each its length and 16 bytes: an answer
// that would make them cost more is an error wrapping ErrLimit. Front-coded
// keys cost a peer a few bytes each whatever their length, so the bytes
// received do not bound them. Offer holds each item of set at most once,
// however often answers name it: an answer of a few bytes can name every item
// of a range.
func NewSessionFrom(set *Set, from string) *Session {
	return &Session{side: side{set: set, initiator: true, p: defaultParams, maxNeed: 2 * DefaultMaxBytes}, from: from}
}

// NewSessionSum returns a session of the whole key space for an initiator
// that knows the sum of its items without reading them: it opens with the
// fingerprint sum gives, and calls load for the set only when an answer says
// the sides differ, so that a session with a peer that agrees reads nothing.
// A set read later may hold changes made since sum; the session then goes on
// with them, as one that read its set at the start would with changes made
// during it. For at most 32 items a session opens with their digests, which
// need the set: NewSession suits them better (ReconcileSum uses it).
func NewSessionSum(sum itemsum.Sum, load func() (*Set, error)) *Session {
	return &Session{side: side{initiator: true, p: defaultParams, maxNeed: 2 * DefaultMaxBytes}, sum: sum, load: load}
}

// Initiate returns the first message to send. Call it once, before Reply.
func (s *Session) Initiate() []byte {
	var e encoder
	lower := bound{key: s.from}
	if s.load != nil {
		e.put(lower, &span{mode: modeFingerprint, upper: infinity, fp: s.sum.Fingerprint(), count: uint64(max(s.sum.Count, 0))})
		s.state = 1
		s.sent += len(e.buf)
		s.pending = e.buf
		return e.buf
	}
	s.side.emit(&e, lower, &span{mode: modeAgain, upper: infinity}, s.side.set.search(lower), s.side.set.Len())
	s.state = 1
	s.sent += len(e.buf)
	s.pending = e.buf
	return e.buf
}

// errSessionState reports a Session used out of order.
var errSessionState = errors.New("reconcile: Session.Reply called before Initiate or after the session ended")

// Reply takes the peer's answer to the last message and returns the next message
// to send. done reports that the sides agree on every range and Result is final;
// next is then empty, and sending it tells the peer the session is over. An answer
// that breaks the protocol is an error wrapping ErrProtocol or ErrLimit; the session
// is then unusable, but Result still reports what was learned before it.
func (s *Session) Reply(msg []byte) (next []byte, done bool, err error) {
	if s.state != 1 {
		return nil, false, errSessionState
	}
	s.recv += len(msg)
	s.rounds++
	in, err := decodeMessage(msg)
	if err == nil && s.load != nil && len(in) > 0 {
		// The peer differs from the sum: the set is needed now.
		if s.side.set, err = s.load(); err == nil {
			s.load = nil
		}
	}
	if err == nil {
		next, err = s.side.answer(in)
	}
	if err != nil {
		s.state = 2
		return nil, false, err
	}
	s.sent += len(next)
	s.pending = next
	if len(next) == 0 {
		s.state, s.agreed = 2, true
		return nil, true, nil
	}
	return next, false, nil
}

// Result returns what the session found so far: the complete difference once
// Reply has reported done. The slices are new; the caller owns them.
func (s *Session) Result() Result {
	r := Result{
		Need:          sortedUnique(s.side.need),
		Offer:         sortedUnique(s.side.offer),
		Rounds:        s.rounds,
		BytesSent:     s.sent,
		BytesReceived: s.recv,
	}
	if !s.agreed {
		r.Resume = s.resume()
	}
	return r
}

// resume returns where the ranges of the pending message start: below it,
// every range was settled.
func (s *Session) resume() string { return max(skipped(s.pending), s.from) }

// skipped returns the key below which message msg skips every range: the end of
// its first range when that is a skip, "" otherwise (or when msg does not
// decode). The encoder merges neighbouring skips, so what follows is a range
// that asks for an answer.
func skipped(msg []byte) string {
	spans, err := decodeMessage(msg)
	if err != nil || len(spans) == 0 || spans[0].mode != modeSkip || spans[0].upper.inf {
		return ""
	}
	return spans[0].upper.key
}

func sortedUnique(keys []string) []string {
	out := slices.Clone(keys)
	slices.Sort(out)
	return slices.Compact(out)
}

// Respond computes the responder's answer to the initiator's message msg, against
// set. It keeps no state: a responder answers every message of a session with
// Respond and the same set. An empty answer means that the sides agree on every
// range the message asked about (the initiator then ends the session). A message
// that breaks the protocol is an error wrapping ErrProtocol or ErrLimit. Respond
// never panics, whatever msg holds, and is safe for concurrent use.
func Respond(set *Set, msg []byte) ([]byte, error) {
	in, err := decodeMessage(msg)
	if err != nil {
		return nil, err
	}
	sd := side{set: set, p: defaultParams}
	return sd.answer(in)
}

// agreesWhole reports whether msg is an initiator's opening fingerprint of
// the whole key space equal to that of the items sum adds up: a responder
// holding them answers it with agreement, an empty message (what Respond
// answers when every range agrees), and needs none of them.
func agreesWhole(msg []byte, sum itemsum.Sum) bool {
	in, err := decodeMessage(msg)
	if err != nil || len(in) != 1 || sum.Count < 0 {
		return false
	}
	r := &in[0]
	return r.mode == modeFingerprint && r.upper.inf && r.count == uint64(sum.Count) && r.fp == sum.Fingerprint()
}

// side answers messages for the initiator or the responder.
type side struct {
	set       *Set
	initiator bool
	p         params
	need      []string // initiator: keys the peer has that we lack or hold differently
	offer     []string // initiator: keys we have that the peer lacks or holds differently
	// needBytes is what need costs (its keys' bytes and needOverhead each),
	// at most maxNeed.
	needBytes, maxNeed int
	offered            []uint64 // initiator: bit i is set once items[i] is in offer
}

// answer returns the answer to the ranges of in: for each range, in order, what
// the side's role says to send (see the package doc), with consecutive agreed
// ranges merged and the trailing ones left out. Once the answer reaches the
// message budget, the ranges left that need more than agreement are deferred
// (modeAgain), each on its own if the answer has room for that, or all in one
// range up to +∞.
func (sd *side) answer(in []span) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 256)}
	lower := bound{}
	var (
		cut      bool         // the budget is spent: defer what needs an answer
		cutState encoderState // the answer before the first deferred range
		cutLower bound        // where the first deferred range starts
		overflow bool         // not even the deferrals fit: defer [cutLower, +∞)
	)
	for i := range in {
		r := &in[i]
		lo, hi := sd.set.search(lower), sd.set.search(r.upper)
		if err := sd.check(r, lo, hi); err != nil {
			return nil, fmt.Errorf("range %d [%v, %v): %w", i, lower, r.upper, err)
		}
		switch {
		case r.mode == modeSkip:
		case r.mode == modeFingerprint && r.count == uint64(hi-lo) && r.fp == sd.set.fingerprint(lo, hi):
			// Agreed.
		case r.mode == modeItems:
			if err := sd.resolveItems(r, lo, hi); err != nil {
				return nil, fmt.Errorf("range %d [%v, %v): %w", i, lower, r.upper, err)
			}
		case r.mode == modeDiff:
			if err := sd.resolveDiff(r, lo, hi); err != nil {
				return nil, fmt.Errorf("range %d [%v, %v): %w", i, lower, r.upper, err)
			}
		case cut:
			if !overflow {
				e.put(lower, &span{mode: modeAgain, upper: r.upper})
				overflow = len(e.buf) > sd.p.limit-512 || e.ranges > sd.p.maxRanges-2
			}
		default:
			mark := e.save()
			sd.emit(&e, lower, r, lo, hi)
			if mark.ranges > 0 && (len(e.buf) > sd.p.budget || e.ranges > sd.p.maxRanges-2) {
				e.restore(mark)
				cut, cutState, cutLower = true, mark, lower
				e.put(lower, &span{mode: modeAgain, upper: r.upper})
			}
		}
		lower = r.upper
	}
	if overflow {
		e.restore(cutState)
		e.put(cutLower, &span{mode: modeAgain, upper: infinity})
	}
	if err := sd.set.Err(); err != nil {
		return nil, err // what the answer says of the failed reads is wrong
	}
	return e.buf, nil
}

// check refuses a range in a mode that the peer's role may not send, or whose
// claims contradict what can be checked locally.
func (sd *side) check(r *span, lo, hi int) error {
	switch r.mode {
	case modeDigests:
		if sd.initiator {
			return fmt.Errorf("%w: the responder sent digests", ErrProtocol)
		}
	case modeItems, modeDiff:
		if !sd.initiator {
			return fmt.Errorf("%w: the initiator sent a range in mode %v", ErrProtocol, r.mode)
		}
		if r.mode == modeDiff && r.nbits != hi-lo {
			return fmt.Errorf("%w: difference bitmap of %d bits for a range where we sent %d digests", ErrProtocol, r.nbits, hi-lo)
		}
	}
	return nil
}

// emit appends the side's answer to the peer's range r, which starts at lower and
// holds items[lo:hi] on this side, when it needs more than agreement. A range in
// modeAgain asks the side to state its view of the range afresh.
func (sd *side) emit(e *encoder, lower bound, r *span, lo, hi int) {
	n := hi - lo
	switch {
	case sd.initiator && n <= digestsMax:
		e.put(lower, sd.digestsSpan(r.upper, lo, hi))
	case sd.initiator && r.mode == modeAgain:
		e.put(lower, sd.fingerprintSpan(r.upper, lo, hi))
	case sd.initiator:
		sd.split(e, lower, r.upper, lo, hi)
	case r.mode == modeDigests && n <= diffMax:
		if s := sd.diffSpan(r, lo, hi); s != nil {
			e.put(lower, s)
		} // else every digest matched: agreed
	case n <= itemsMax:
		e.put(lower, sd.itemsSpan(r.upper, lo, hi))
	case r.mode == modeAgain:
		e.put(lower, sd.fingerprintSpan(r.upper, lo, hi))
	default:
		sd.split(e, lower, r.upper, lo, hi)
	}
}

// split cuts items[lo:hi], which lie in [lower, upper), into up to branch
// sub-ranges of nearly equal counts, with the shortest bounds that separate them,
// and appends the fingerprint of each; the initiator sends the digest of a
// sub-range of one item instead, which costs the same and settles it sooner.
// A Set made of buckets cuts where a bucket starts instead, when one starts
// within an eighth of a part of the cut: the bound and the fingerprints on
// either side then need no read of the items around it.
func (sd *side) split(e *encoder, lower, upper bound, lo, hi int) {
	n := hi - lo
	parts := min(branch, n)
	start, lb := lo, lower
	for k := 1; k <= parts; k++ {
		end := lo + k*n/parts
		ub := upper
		if at, key, ok := sd.set.boundary(start, end, hi, n/parts/8); k < parts && ok {
			end, ub = at, bound{key: key}
		} else if k < parts {
			a, b := sd.set.key(end-1), sd.set.key(end)
			if a >= b {
				return // a read failed (Set.Err): answer will fail
			}
			ub = bound{key: separator(a, b)}
		}
		if sd.initiator && end-start == 1 {
			e.put(lb, sd.digestsSpan(ub, start, end))
		} else {
			e.put(lb, sd.fingerprintSpan(ub, start, end))
		}
		start, lb = end, ub
	}
}

// separator returns the shortest key k with a < k <= b, for a < b.
func separator(a, b string) string { return b[:commonPrefix(a, b)+1] }

func (sd *side) fingerprintSpan(upper bound, lo, hi int) *span {
	return &span{mode: modeFingerprint, upper: upper, fp: sd.set.fingerprint(lo, hi), count: uint64(hi - lo)}
}

func (sd *side) digestsSpan(upper bound, lo, hi int) *span {
	s := &span{mode: modeDigests, upper: upper, digests: make([][FingerprintSize]byte, 0, hi-lo)}
	for i := lo; i < hi; i++ {
		s.digests = append(s.digests, sd.set.digest(i))
	}
	return s
}

func (sd *side) itemsSpan(upper bound, lo, hi int) *span {
	s := &span{mode: modeItems, upper: upper, keys: make([]string, 0, hi-lo), digests: make([][FingerprintSize]byte, 0, hi-lo)}
	for i := lo; i < hi; i++ {
		it, h := sd.set.itemHash(i)
		s.keys = append(s.keys, it.Key)
		s.digests = append(s.digests, digestOf(h))
	}
	return s
}

// diffSpan answers the initiator's digests r.digests of a range where the
// responder holds items[lo:hi]: a bitmap of the digests it does not hold, and the
// keys of its items whose digests the initiator did not send. It returns nil when
// both are empty.
func (sd *side) diffSpan(r *span, lo, hi int) *span {
	mine := make([][FingerprintSize]byte, hi-lo)
	have := make(map[[FingerprintSize]byte]bool, hi-lo)
	for i := range mine {
		mine[i] = sd.set.digest(lo + i)
		have[mine[i]] = true
	}
	theirs := make(map[[FingerprintSize]byte]bool, len(r.digests))
	s := &span{mode: modeDiff, upper: r.upper, nbits: len(r.digests), bits: make([]byte, (len(r.digests)+7)/8)}
	differs := false
	for i, d := range r.digests {
		theirs[d] = true
		if !have[d] {
			s.bits[i/8] |= 1 << (i % 8)
			differs = true
		}
	}
	for i, d := range mine {
		if !theirs[d] {
			s.keys = append(s.keys, sd.set.key(lo+i))
		}
	}
	if !differs && len(s.keys) == 0 {
		return nil
	}
	return s
}

// put appends s, which starts at lower, after a skipped range if the last span
// ended before lower.
func (e *encoder) put(lower bound, s *span) {
	if e.lower.less(lower) {
		e.span(&span{mode: modeSkip, upper: lower})
	}
	e.span(s)
}

// addNeed records the peer's key k in need, unless that would take need
// beyond maxNeed.
func (sd *side) addNeed(k string) error {
	cost := len(k) + needOverhead
	if sd.needBytes+cost > sd.maxNeed {
		return fmt.Errorf("%w: the keys the peer holds would take more than %d bytes", ErrLimit, sd.maxNeed)
	}
	sd.need = append(sd.need, k)
	sd.needBytes += cost
	return nil
}

// addOffer records our item i in offer, unless it is there already: a range
// settled once may be named again after the peer deferred the ranges beyond a
// point, and a lying peer may name every item of a range in each answer.
func (sd *side) addOffer(i int) {
	if sd.offered == nil {
		sd.offered = make([]uint64, (sd.set.Len()+63)/64)
	}
	if sd.offered[i/64]&(1<<(i%64)) != 0 {
		return
	}
	sd.offered[i/64] |= 1 << (i % 64)
	sd.offer = append(sd.offer, sd.set.key(i))
}

// resolveItems records the difference between the responder's items r.keys, with
// their digests, and ours, items[lo:hi]. It fails when addNeed does.
func (sd *side) resolveItems(r *span, lo, hi int) error {
	i, j := lo, 0
	for i < hi || j < len(r.keys) {
		switch {
		case j == len(r.keys) || (i < hi && sd.set.key(i) < r.keys[j]):
			sd.addOffer(i)
			i++
		case i == hi || r.keys[j] < sd.set.key(i):
			if err := sd.addNeed(r.keys[j]); err != nil {
				return err
			}
			j++
		default:
			if sd.set.digest(i) != r.digests[j] {
				sd.addOffer(i)
				if err := sd.addNeed(r.keys[j]); err != nil {
					return err
				}
			}
			i++
			j++
		}
	}
	return nil
}

// resolveDiff records the responder's answer to our digests of items[lo:hi]: the
// items whose bits are set are ones it lacks or holds differently, and r.keys are
// the keys it holds that we lack or hold differently. A key of ours that it lists
// must have its bit set, since its digest did not match. It fails when addNeed
// does.
func (sd *side) resolveDiff(r *span, lo, hi int) error {
	for i := lo; i < hi; i++ {
		if r.bit(i - lo) {
			sd.addOffer(i)
		}
	}
	i := lo
	for _, k := range r.keys {
		for i < hi && sd.set.key(i) < k {
			i++
		}
		if i < hi && sd.set.key(i) == k && !r.bit(i-lo) {
			return fmt.Errorf("%w: the peer lists key %q as differing, yet holds our digest of it", ErrProtocol, k)
		}
		if err := sd.addNeed(k); err != nil {
			return err
		}
	}
	return nil
}
