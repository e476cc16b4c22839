package graphql

import (
	"sync"

	"github.com/graphql-go/graphql/language/ast"
)

// Bounds of the cache of validated requests: validating is most of the cost of
// a small request, and applications send the same few requests again and again
// with other variables.
const (
	// maxCachedQuery is the longest request text the cache keeps.
	maxCachedQuery = 4 << 10
	// maxCacheBytes bounds the request text the cache holds, in bytes; the
	// parsed forms take about 33 times as much (8 MiB in all), measured on a
	// request of 4 KiB.
	maxCacheBytes = 256 << 10
)

// validated is a request that passed validation: its parsed form, and its plan
// on the fast path (fast.go) if it has one. Both are only read once made, so
// one may serve several requests at once.
type validated struct {
	doc  *ast.Document
	fast *fastPlan // nil: graphql-go executes the request
}

// docCache holds the requests that passed validation, by their text. It is
// safe for concurrent use.
type docCache struct {
	mu    sync.Mutex
	m     map[string]*validated
	bytes int
}

func (c *docCache) get(query string) (*validated, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[query]
	return d, ok
}

// put keeps v, the validated form of query, making room by dropping other
// entries; a long query is not kept.
func (c *docCache) put(query string, v *validated) {
	if len(query) > maxCachedQuery {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if c.bytes+len(query) <= maxCacheBytes {
			break
		}
		delete(c.m, k)
		c.bytes -= len(k)
	}
	if _, ok := c.m[query]; !ok {
		c.m[query] = v
		c.bytes += len(query)
	}
}
