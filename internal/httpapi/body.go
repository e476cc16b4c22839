package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// retryAfter is the Retry-After, in seconds, of a body or an answer turned
// away because its budget is full.
const retryAfter = 1

// budget counts the bytes of request bodies, or of answers being written,
// reserved at once, up to max. It is safe for concurrent use.
type budget struct {
	mu   sync.Mutex
	max  int64
	used int64
	// refusedFull and refusedTooLarge count the bodies or answers turned away
	// because the budget was full (503), or because what a body decodes to is
	// over it (413).
	refusedFull, refusedTooLarge uint64
}

// refuse counts a body turned away and returns its error: never for one that
// no budget this size could hold.
func (b *budget) refuse(never bool) *budgetError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if never {
		b.refusedTooLarge++
	} else {
		b.refusedFull++
	}
	return &budgetError{max: b.max, never: never}
}

// state returns the bytes held and the bodies turned away so far.
func (b *budget) state() (used int64, refusedFull, refusedTooLarge uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.refusedFull, b.refusedTooLarge
}

// take reserves n bytes if they fit and reports whether they did.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

// takeAlone is take, but n bytes always fit while nothing else is taken.
func (b *budget) takeAlone(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used > 0 && b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

// give returns n bytes taken before.
func (b *budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// takeBody reserves r's body in the budget (its Content-Length, or MaxBodySize
// when the length is not sent), limits it to MaxBodySize and gives it
// bodyTimeout to arrive. When the body cannot be taken it answers the request
// itself, unread: 413 for a Content-Length over MaxBodySize, 503 with
// Retry-After when the budget is full. Otherwise the caller must call release
// once, when the answer begins (see answerWriter) or the request ends without
// one, and nothing may read the body after that. As the body is read, the
// reservation grows by what its JSON will take once decoded (see heldBody).
func (s *server) takeBody(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	size := r.ContentLength
	if size > MaxBodySize {
		s.fail(w, r, &http.MaxBytesError{Limit: MaxBodySize})
		return nil, false
	}
	if size < 0 {
		size = MaxBodySize
	}
	if !s.budget.take(size) {
		s.fail(w, r, s.budget.refuse(false))
		return nil, false
	}
	// The deadline bounds the body only: net/http clears it once the body has
	// been read to its end. Without deadline support (a ResponseWriter other than
	// net/http's) the body is still bounded in size, only not in time.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyTimeout))
	body := &heldBody{ReadCloser: http.MaxBytesReader(w, r.Body, MaxBodySize), budget: s.budget, held: size, unread: size, free: size / freeShare}
	r.Body = body
	return func() { s.budget.give(body.held) }, true
}

// budgetError is a body the budget cannot hold: for now (503), or never (413)
// when what its JSON takes once decoded is over the whole budget.
type budgetError struct {
	max   int64
	never bool
}

func (e *budgetError) Error() string {
	if e.never {
		return fmt.Sprintf("request body holds too many JSON values: decoded, it would take more than"+
			" the budget of %d bytes for request bodies; send fewer values per request", e.max)
	}
	return fmt.Sprintf("too many request bodies in flight (budget %d bytes): retry later", e.max)
}

// status is the HTTP status of e.
func (e *budgetError) status() int {
	if e.never {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusServiceUnavailable
}

// freeShare: the memory a body's JSON takes once decoded, beyond a copy of its
// bytes, is not charged up to 1/freeShare of the body's reservation. A body of
// long strings decodes to little more than its bytes; with this share, one of
// MaxBodySize still fits a budget of MaxBodySize, and the shares of all bodies
// add at most 1/freeShare of the budget to what it bounds.
const freeShare = 8

// heldBody is a request body that holds its reservation in the budget. The
// reservation first covers the body's bytes; as they are read, it grows by the
// memory their JSON takes once decoded beyond a copy of those bytes (see
// jsonCost), less the body's free share, before the decoder sees them. When the
// budget cannot grow the read fails with a *budgetError, and nothing more of
// the body is decoded.
type heldBody struct {
	io.ReadCloser
	budget *budget
	held   int64 // bytes reserved, given back when the answer begins
	unread int64 // bytes of the first reservation not read yet
	free   int64 // what is left of the body's free share
	scan   jsonCost
}

// trim gives back the part of the body's first reservation that it did not
// take: all of it but the body's length once the body is read whole, which
// for a body sent without its length is less than the MaxBodySize it
// reserved. It returns the bytes still held.
func (b *heldBody) trim() int64 {
	b.budget.give(b.unread)
	b.held -= b.unread
	b.unread = 0
	return b.held
}

// Read reads from the body and reserves what the bytes read will decode to.
func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.unread = max(b.unread-int64(n), 0)
	cost := b.scan.add(p[:n])
	spent := min(cost, b.free)
	b.free -= spent
	cost -= spent
	if cost == 0 {
		return n, err
	}
	if b.held+cost > b.budget.max {
		return 0, b.budget.refuse(true)
	}
	if !b.budget.take(cost) {
		return 0, b.budget.refuse(false)
	}
	b.held += cost
	return n, err
}

// What encoding/json takes on the heap, beyond a copy of the body's own bytes,
// to decode each part of a JSON text into any (maps, []any, json.Number):
// measured with Go 1.26 and rounded up, so that a body's estimate is above
// what it takes. Decoding into structs takes less.
const (
	costSlot   = 32  // a value in an array or at the top: its interface in the []any, grown by doubling
	costScalar = 16  // a string or number value: its boxed header
	costMember = 96  // an object's member: its key and value in the map's slots, at the map's lowest load
	costObject = 336 // an object: its map and first group of slots
	costArray  = 32  // an array: its boxed slice header
)

// maxDepth is how deeply encoding/json lets values nest; it refuses deeper
// ones, so jsonCost need not know what the containers below are.
const maxDepth = 10000

// jsonCost estimates, as a JSON text goes by in pieces, the memory it takes
// once decoded beyond a copy of its bytes. It does not check the syntax (the
// decoder does); on valid JSON it counts each value once. The zero value is
// ready to use.
type jsonCost struct {
	inString bool   // within a string
	escaped  bool   // within a string, after a backslash
	inScalar bool   // within a number, true, false or null
	key      bool   // the next string is an object member's key
	depth    int    // how many arrays and objects are open
	objects  []bool // whether each open container is an object, up to maxDepth
}

// add returns the cost of p, the next bytes of the text.
func (c *jsonCost) add(p []byte) (cost int64) {
	for _, ch := range p {
		if c.inString {
			switch {
			case c.escaped:
				c.escaped = false
			case ch == '\\':
				c.escaped = true
			case ch == '"':
				c.inString = false
			}
			continue
		}
		if isDelim(ch) {
			c.inScalar = false
		}
		switch {
		case ch == ',':
			c.key = c.inObject()
		case ch == '}' || ch == ']':
			c.pop()
		case ch == '"' && c.key:
			c.inString, c.key = true, false
			cost += costMember
		case ch == '"':
			c.inString = true
			cost += c.slot() + costScalar
		case ch == '{':
			cost += c.slot() + costObject
			c.push(true)
			c.key = true
		case ch == '[':
			cost += c.slot() + costArray
			c.push(false)
		case !isDelim(ch) && !c.inScalar:
			c.inScalar = true
			cost += c.slot() + costScalar
		}
	}
	return cost
}

// isDelim reports whether ch ends a number, true, false or null.
func isDelim(ch byte) bool {
	switch ch {
	case ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}

// slot is the cost of a value's place in its container: counted with the
// member in an object, its interface in an array.
func (c *jsonCost) slot() int64 {
	if c.inObject() {
		return 0
	}
	return costSlot
}

func (c *jsonCost) inObject() bool {
	return c.depth > 0 && c.depth <= len(c.objects) && c.objects[c.depth-1]
}

func (c *jsonCost) push(object bool) {
	if c.depth < maxDepth {
		c.objects = append(c.objects, object)
	}
	c.depth++
}

func (c *jsonCost) pop() {
	if c.depth == 0 {
		return
	}
	if c.depth <= len(c.objects) {
		c.objects = c.objects[:c.depth-1]
	}
	c.depth--
}
