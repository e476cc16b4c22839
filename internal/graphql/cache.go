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

// docCache holds the parsed form of requests that passed validation, by their
// text. It is safe for concurrent use. A parsed request is only read once
// made, so one may serve several requests at once.
type docCache struct {
	mu    sync.Mutex
	m     map[string]*ast.Document
	bytes int
}

func (c *docCache) get(query string) (*ast.Document, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[query]
	return d, ok
}

// put keeps doc, the parsed form of query, making room by dropping other
// entries; a long query is not kept.
func (c *docCache) put(query string, doc *ast.Document) {
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
		c.m[query] = doc
		c.bytes += len(query)
	}
}
