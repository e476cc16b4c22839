package graphql

import (
	"context"

	"github.com/gossipdb/gossipdb/client"
)

// WithoutFastPath returns an executor of the same node and limits as e that
// has graphql-go execute every request.
func WithoutFastPath(e *Executor) *Executor {
	return &Executor{n: e.n, lim: e.lim, noFast: true}
}

// WithSortLimit returns an executor of the same node and limits as e whose
// sorts on related documents' fields hold at most n documents, rather than
// gossipdb.MaxSortedResults.
func WithSortLimit(e *Executor, n int) *Executor {
	return &Executor{n: e.n, lim: e.lim, maxSorted: n}
}

// RunFast runs req on the fast path only: planned is false if the request has
// no plan (it does not validate, or the fast path does not take it); err is why
// the fast path left it to graphql-go.
func RunFast(e *Executor, req client.GraphQLRequest) (data []byte, planned bool, err error) {
	g, err := e.schema()
	if err != nil {
		return nil, false, err
	}
	doc, errs := e.prepare(g, req.Query)
	if errs != nil {
		return nil, false, nil
	}
	p := planFast(g, doc)
	if p == nil {
		return nil, false, nil
	}
	data, err = e.fast(context.Background(), p, req)
	return data, true, err
}

// ErrNotFast is errNotFast, for tests.
var ErrNotFast = errNotFast

// IntrospectionSize returns what the request's introspection answer is
// measured to be.
func IntrospectionSize(e *Executor, query string) (int, error) {
	g, err := e.schema()
	if err != nil {
		return 0, err
	}
	doc, errs := e.prepare(g, query)
	if errs != nil {
		return 0, errs[0]
	}
	w := &introspection{s: &g.schema, budget: 1 << 62}
	w.walk(doc)
	return w.size, nil
}
