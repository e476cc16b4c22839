package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// retryAfter is the Retry-After, in seconds, of a body turned away because the
// budget is full.
const retryAfter = 1

// budget counts the bytes of request bodies reserved at once, up to max. It is
// safe for concurrent use.
type budget struct {
	mu   sync.Mutex
	max  int64
	used int64
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
// once the request is answered.
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
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf(
			"too many request bodies in flight (budget %d bytes): retry later", s.budget.max))
		return nil, false
	}
	// The deadline bounds the body only: net/http clears it once the body has
	// been read to its end. Without deadline support (a ResponseWriter other than
	// net/http's) the body is still bounded in size, only not in time.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
	return func() { s.budget.give(size) }, true
}
