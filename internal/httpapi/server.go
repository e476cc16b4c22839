package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/jsonerr"
	"github.com/gossipdb/gossipdb/internal/jsonkeys"
)

// MaxBodySize is the largest request body the API reads, in bytes. A larger body
// is refused with 413 Request Entity Too Large.
const MaxBodySize = 4 << 20

// connectTimeout bounds how long POST /api/v0/p2p/peers waits for the dial.
// libp2p gives up on one address sooner: after 5 s for a loopback or private
// address, 15 s for another (its swarm's dial timeouts); either way the error
// is a context.DeadlineExceeded, answered 504 like this one.
const connectTimeout = 30 * time.Second

// Routes of the API. Each is a net/http pattern: method, then path.
const (
	routeHealth          = "GET /api/v0/health"
	routeCheck           = "POST /api/v0/check"
	routeAddCollection   = "POST /api/v0/collections"
	routeListCollections = "GET /api/v0/collections"
	routeGetCollection   = "GET /api/v0/collections/{name}"
	routePatchCollection = "PATCH /api/v0/collections/{name}"
	routeGrant           = "POST /api/v0/collections/{name}/policy/grant"
	routeRevoke          = "POST /api/v0/collections/{name}/policy/revoke"
	routeCreateDocuments = "POST /api/v0/collections/{name}/documents"
	routeGetDocument     = "GET /api/v0/collections/{name}/documents/{id}"
	routeUpdateDocument  = "PATCH /api/v0/collections/{name}/documents/{id}"
	routeDeleteDocument  = "DELETE /api/v0/collections/{name}/documents/{id}"
	routeHistory         = "GET /api/v0/collections/{name}/documents/{id}/history"
	routeDocIDs          = "GET /api/v0/collections/{name}/docIDs"
	routeListIndexes     = "GET /api/v0/collections/{name}/indexes"
	routeCreateIndex     = "POST /api/v0/collections/{name}/indexes"
	routeDropIndex       = "DELETE /api/v0/collections/{name}/indexes/{index}"
	routePeerInfo        = "GET /api/v0/p2p/info"
	routeActivePeers     = "GET /api/v0/p2p/peers"
	routeConnect         = "POST /api/v0/p2p/peers"
	routeKnownPeers      = "GET /api/v0/p2p/known-peers"
	routeSubscriptions   = "GET /api/v0/p2p/collections"
	routeSubscribe       = "POST /api/v0/p2p/collections"
	routeUnsubscribe     = "DELETE /api/v0/p2p/collections"
	routeListDocuments   = "GET /api/v0/collections/{name}/documents"
	routeSyncStatus      = "GET /api/v0/collections/{name}/sync"
	routeSyncAll         = "GET /api/v0/sync"
	routeSync            = "POST /api/v0/collections/{name}/sync"
	routeEvents          = "GET /api/v0/events"
	routeChanges         = "GET /api/v0/collections/{name}/changes"
	routeGraphQL         = "POST /api/v0/graphql"
	routeTx              = "POST /api/v0/tx"
	routeMetrics         = "GET /metrics"
)

// queryParams lists the query parameters each route of the API takes; a
// route under /api/ not listed takes none.
var queryParams = map[string][]string{
	routeGetDocument:   {"at", "conflicts"},
	routeHistory:       {"limit"},
	routeListDocuments: {"limit", "where", "showDeleted", "after"},
	routeSync:          {"wait", "timeout"},
	routeEvents:        {"collection"},
	routeChanges:       {"since", "follow"},
}

// checkParams refuses, with 400, a request to the API route pattern whose
// query does not parse or names a parameter the route does not take: a
// misspelt parameter would otherwise be ignored, and GET /api/v0/events?
// collections=User stream every collection.
func checkParams(pattern, rawQuery string) error {
	if rawQuery == "" {
		return nil
	}
	if _, path, _ := strings.Cut(pattern, " "); !strings.HasPrefix(path, "/api/") {
		return nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return badRequest("malformed query %q: %v", rawQuery, err)
	}
	takes := queryParams[pattern]
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if slices.Contains(takes, name) {
			continue
		}
		if len(takes) == 0 {
			return badRequest("unknown query parameter %q: %s takes none", name, pattern)
		}
		return badRequest("unknown query parameter %q: %s takes %s", name, pattern, strings.Join(takes, ", "))
	}
	return nil
}

const (
	headerContentType = "Content-Type"
	contentTypeJSON   = "application/json"
)

// Log attribute keys.
const (
	logKeyMethod   = "method"
	logKeyPath     = "path"
	logKeyStatus   = "status"
	logKeyDuration = "duration"
	logKeyError    = "error"
)

// What a request body must be, for error messages.
const (
	msgEmptyBody          = "empty request body: want JSON"
	msgWantNames          = "want a JSON array of one or more collection names"
	msgWantDocuments      = "want a JSON object or an array of JSON objects"
	msgWantDocumentObject = "want a JSON object of field values"
)

// server serves the API of one node.
type server struct {
	n           *gossipdb.Node
	log         *slog.Logger
	mux         *http.ServeMux
	guard       http.Handler
	budget      *budget
	answers     *budget // of answers being written (Options.AnswerBudget)
	bodyTimeout time.Duration
	streams     *streams
	keepAlive   time.Duration // KeepAliveInterval; tests shorten it
	gql         *graphql.Executor
}

// Handler serves the HTTP API of one node, and its web console at /. It is
// safe for concurrent use.
type Handler struct {
	s *server
}

// NewHandler returns the HTTP API of node n (see docs/API.md): JSON in and out under
// /api/v0/, errors as {"error": "..."} with a status that says whose fault it was,
// and the node's metrics at /metrics in the Prometheus text format (see
// docs/METRICS.md).
// Every request passes a guard first (Host, Origin, Content-Type, token; see
// Options), and request bodies are held within Options.BodyBudget. A nil opts
// means DefaultOptions. The error names the field of opts at fault. The handler
// also serves the console (see console.go) and does not close n.
func NewHandler(n *gossipdb.Node, opts *Options) (*Handler, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gql, err := graphql.New(n, &o.GraphQL)
	if err != nil {
		return nil, fmt.Errorf("httpapi: Options.GraphQL: %w", err)
	}
	s := &server{n: n, log: log, mux: http.NewServeMux(), budget: &budget{max: o.BodyBudget},
		answers: &budget{max: o.AnswerBudget}, bodyTimeout: o.BodyReadTimeout,
		streams: newStreams(o.EventBudget), keepAlive: KeepAliveInterval, gql: gql}
	if s.guard, err = newGuard(o, http.HandlerFunc(s.route)); err != nil {
		return nil, err
	}
	s.mux.HandleFunc(routeHealth, s.health)
	s.mux.HandleFunc(routeCheck, s.check)
	s.mux.HandleFunc(routeAddCollection, s.addCollection)
	s.mux.HandleFunc(routeListCollections, s.listCollections)
	s.mux.HandleFunc(routeGetCollection, s.inCollection(s.getCollection))
	s.mux.HandleFunc(routePatchCollection, s.inCollection(s.patchCollection))
	s.mux.HandleFunc(routeGrant, s.inCollection(s.grant))
	s.mux.HandleFunc(routeRevoke, s.inCollection(s.revoke))
	s.mux.HandleFunc(routeCreateDocuments, s.inCollection(s.createDocuments))
	s.mux.HandleFunc(routeGetDocument, s.inCollection(s.getDocument))
	s.mux.HandleFunc(routeUpdateDocument, s.inCollection(s.updateDocument))
	s.mux.HandleFunc(routeDeleteDocument, s.inCollection(s.deleteDocument))
	s.mux.HandleFunc(routeHistory, s.inCollection(s.history))
	s.mux.HandleFunc(routeDocIDs, s.inCollection(s.docIDs))
	s.mux.HandleFunc(routeListIndexes, s.inCollection(s.listIndexes))
	s.mux.HandleFunc(routeCreateIndex, s.inCollection(s.createIndex))
	s.mux.HandleFunc(routeDropIndex, s.inCollection(s.dropIndex))
	s.mux.HandleFunc(routePeerInfo, s.peerInfo)
	s.mux.HandleFunc(routeActivePeers, s.activePeers)
	s.mux.HandleFunc(routeConnect, s.connect)
	s.mux.HandleFunc(routeKnownPeers, s.knownPeers)
	s.mux.HandleFunc(routeSubscriptions, s.subscriptions)
	s.mux.HandleFunc(routeSubscribe, s.subscribe)
	s.mux.HandleFunc(routeUnsubscribe, s.unsubscribe)
	s.mux.HandleFunc(routeListDocuments, s.inCollection(s.listDocuments))
	s.mux.HandleFunc(routeSyncStatus, s.inCollection(s.syncStatus))
	s.mux.HandleFunc(routeSyncAll, s.syncAll)
	s.mux.HandleFunc(routeSync, s.inCollection(s.sync))
	s.mux.HandleFunc(routeEvents, s.events)
	s.mux.HandleFunc(routeChanges, s.inCollection(s.changes))
	s.mux.HandleFunc(routeGraphQL, s.graphQL)
	s.mux.HandleFunc(routeTx, s.tx)
	s.mux.Handle(routeMetrics, metricsHandler(n, s, log))
	s.mountConsole()
	return &Handler{s: s}, nil
}

// ServeHTTP guards, routes and logs the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.s.ServeHTTP(w, r) }

// EndStreams ends every open event stream (GET /api/v0/events, a change feed
// followed with follow=true, a GraphQL subscription) and refuses new ones with
// 503. http.Server.Shutdown waits for running handlers, and a stream
// runs until its client leaves, so a server that serves the handler registers
// EndStreams with http.Server.RegisterOnShutdown. Safe to call more than once.
func (h *Handler) EndStreams() { h.s.streams.end() }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.guard.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	s.guard.ServeHTTP(sw, r)
	s.log.Debug("HTTP request", logKeyMethod, r.Method, logKeyPath, r.URL.Path,
		logKeyStatus, sw.status(), logKeyDuration, time.Since(start))
}

// route takes the request's body, if any, into the budget and routes the
// request; the body's reservation is given back when the answer begins, and
// each write of the answer must be taken within the body's timeout (see
// answerWriter). Requests no route matches get a JSON 404 or 405 instead of
// net/http's plain-text ones.
func (s *server) route(w http.ResponseWriter, r *http.Request) {
	aw := &answerWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.bodyTimeout, answers: s.answers}
	defer aw.done()
	w = aw
	if r.ContentLength != 0 {
		release, ok := s.takeBody(w, r)
		if !ok {
			return
		}
		aw.body = release
	}
	if h, pattern := s.mux.Handler(r); pattern == "" {
		s.unrouted(w, r, h)
	} else if err := checkParams(pattern, r.URL.RawQuery); err != nil {
		s.fail(w, r, err)
	} else {
		s.mux.ServeHTTP(w, r)
	}
}

// unrouted answers a request that matched no route. h is what net/http would have
// done: run it aside to learn the status (404 or 405) and the Allow header.
func (s *server) unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	code := rec.code
	if code == 0 {
		code = http.StatusNotFound
	}
	switch code {
	case http.StatusMethodNotAllowed:
		allow := rec.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeError(w, code, fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
	case http.StatusNotFound:
		writeError(w, code, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
	}
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, client.Health{Status: "ok", PeerID: s.n.ID()})
}

// check runs Node.Check under the request's context: a client that leaves
// stops it. A store that fails the check is an answer, not a failed request.
func (s *server) check(w http.ResponseWriter, r *http.Request) {
	err := s.n.Check(r.Context())
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, client.CheckResult{OK: true})
	case errors.Is(err, gossipdb.ErrClosed) || r.Context().Err() != nil:
		s.fail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, client.CheckResult{Error: err.Error()})
	}
}

func (s *server) addCollection(w http.ResponseWriter, r *http.Request) {
	var req client.AddCollectionRequest
	if err := decodeStrict(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	cols, err := s.n.AddCollection(r.Context(), req.SDL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, describeAll(cols))
}

func (s *server) listCollections(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, describeAll(s.n.Collections()))
}

func (s *server) getCollection(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	writeJSON(w, http.StatusOK, describe(c))
}

func (s *server) patchCollection(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	var req client.PatchCollectionRequest
	if err := decodeStrict(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var res *gossipdb.PatchResult
	var err error
	switch {
	case (req.SDL == "") == (req.Version == ""):
		err = badRequest(`want {"sdl": "<the new SDL of the type>"} or {"version": "<a known version ID>"}`)
	case req.SDL != "":
		res, err = c.Patch(r.Context(), req.SDL)
	default:
		res, err = c.UseVersion(r.Context(), req.Version)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, client.PatchResult{Name: res.Collection, Version: res.Version, Parent: res.Parent, Diff: nonNil(res.Diff)})
}

// grant serves Collection.Grant, signed by the node's key; it answers the
// policy after the change.
func (s *server) grant(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	var req client.GrantRequest
	if err := decodeStrict(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := c.Grant(r.Context(), req.Author, req.Role); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, describePolicy(c))
}

// revoke serves Collection.Revoke, as grant does.
func (s *server) revoke(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	var req client.RevokeRequest
	if err := decodeStrict(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := c.Revoke(r.Context(), req.Author); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, describePolicy(c))
}

func (s *server) createDocuments(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	body, err := decodeDocuments(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch v := body.(type) {
	case map[string]any:
		id, err := c.Create(r.Context(), v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, client.DocIDResult{DocID: string(id)})
	case []any:
		docs := make([]map[string]any, len(v))
		for i, d := range v {
			m, ok := d.(map[string]any)
			if !ok {
				s.fail(w, r, badRequest("document %d: %s", i, msgWantDocumentObject))
				return
			}
			docs[i] = m
		}
		ids, err := c.CreateMany(r.Context(), docs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out := make([]client.DocIDResult, len(ids))
		for i, id := range ids {
			out[i] = client.DocIDResult{DocID: string(id)}
		}
		writeJSON(w, http.StatusCreated, out)
	default:
		s.fail(w, r, badRequest("%s", msgWantDocuments))
	}
}

// inCollection adapts a handler of the collection named in the path: an unknown
// name is answered with 404 before h runs.
func (s *server) inCollection(h func(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.n.Collection(r.PathValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, c)
	}
}

// getDocument answers a document; with ?conflicts=true its "_conflicts" member
// lists the values its fields lost to concurrent writes (see
// gossipdb.Collection.Conflicts), and with ?at=CID it answers the document as
// it was at one of its blocks (gossipdb.Collection.GetAt).
func (s *server) getDocument(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	id := gossipdb.DocID(r.PathValue("id"))
	q := r.URL.Query()
	var doc *gossipdb.Document
	var err error
	if q.Has("at") {
		if q.Has("conflicts") {
			s.fail(w, r, badRequest("at and conflicts do not go together: conflicts are the document's now"))
			return
		}
		doc, err = c.GetAt(r.Context(), id, q.Get("at"))
	} else {
		doc, err = c.Get(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := client.Document{ID: string(doc.ID), Fields: doc.Fields}
	withConflicts, err := boolParam(q, "conflicts")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if withConflicts {
		conflicts, err := c.Conflicts(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		list := make([]client.Conflict, len(conflicts))
		for i, cf := range conflicts {
			list[i] = client.Conflict{Field: cf.Field, Value: cf.Value, Block: cf.Block, Winner: cf.Winner, Author: cf.Author, WinnerAuthor: cf.WinnerAuthor}
		}
		out.Fields[client.ConflictsKey] = list
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) updateDocument(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	body, err := decodeDocuments(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fields, ok := body.(map[string]any)
	if !ok {
		s.fail(w, r, badRequest("%s", msgWantDocumentObject))
		return
	}
	if err := c.Update(r.Context(), gossipdb.DocID(r.PathValue("id")), fields); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) deleteDocument(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	if err := c.Delete(r.Context(), gossipdb.DocID(r.PathValue("id"))); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// history streams the document's blocks (gossipdb.Collection.History) as one
// JSON array, newest first, so that a long history is never held in memory;
// with "limit", only that many of the newest.
func (s *server) history(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	blocks := c.History(r.Context(), gossipdb.DocID(r.PathValue("id")))
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, badRequest("limit %q: want a number from 1 on", v))
			return
		}
		blocks = first(blocks, n)
	}
	streamArray(s, w, r, blocks, "a document's history", func(bw *bufio.Writer, b gossipdb.BlockInfo) error {
		line, err := marshalLine(describeBlock(b))
		bw.Write(bytes.TrimSuffix(line, []byte("\n")))
		return err
	})
}

// first yields the first n values of seq, and its errors until then.
func first[T any](seq iter.Seq2[T, error], n int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for v, err := range seq {
			if !yield(v, err) || err != nil {
				return
			}
			if n--; n == 0 {
				return
			}
		}
	}
}

// describeBlock is b as the API shows it.
func describeBlock(b gossipdb.BlockInfo) client.BlockInfo {
	return client.BlockInfo{
		CID: b.CID, DocID: string(b.Doc), Height: b.Height, Prev: nonNil(b.Prev), Version: b.Version, Author: b.Author,
		Set: b.Set, Add: b.Add, SetAdd: b.SetAdd, SetRemove: b.SetRemove,
		Delete: b.Delete, Txn: b.Txn, Disowned: b.Disowned, Size: b.Size,
	}
}

// listIndexes answers the collection's indexes, in the order they were
// created ([] for none).
func (s *server) listIndexes(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	out := []client.IndexInfo{}
	for _, ix := range c.Indexes() {
		out = append(out, describeIndex(ix))
	}
	writeJSON(w, http.StatusOK, out)
}

// createIndex serves Collection.CreateIndex: the index answered is built in
// the background when the collection holds documents (Ready false until then).
func (s *server) createIndex(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	var req client.CreateIndexRequest
	if err := decodeStrict(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	fields := make([]gossipdb.Order, len(req.Fields))
	for i, f := range req.Fields {
		fields[i] = gossipdb.Order{Field: f.Name, Desc: f.Descending}
	}
	ix, err := c.CreateIndex(r.Context(), req.Name, fields...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, describeIndex(ix))
}

// dropIndex serves Collection.DropIndex.
func (s *server) dropIndex(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	if err := c.DropIndex(r.Context(), r.PathValue("index")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// describeIndex is ix as the API shows it.
func describeIndex(ix gossipdb.Index) client.IndexInfo {
	out := client.IndexInfo{Name: ix.Name, Fields: make([]client.IndexFieldInfo, len(ix.Fields)), Ready: ix.Ready, Read: ix.Read, Dropped: ix.Dropped}
	for i, f := range ix.Fields {
		out.Fields[i] = client.IndexFieldInfo{Name: f.Field, Descending: f.Desc}
	}
	return out
}

// docIDs streams the IDs of the collection's live documents as one JSON array, so
// a large collection is never held in memory.
func (s *server) docIDs(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	streamArray(s, w, r, c.DocIDs(r.Context()), "document IDs", func(bw *bufio.Writer, id gossipdb.DocID) error {
		// A document ID is base32: a JSON string without escapes.
		bw.WriteByte('"')
		bw.WriteString(string(id))
		bw.WriteByte('"')
		return nil
	})
}

// streamArray answers the values seq yields as one JSON array, each written by
// write, as they come: an error before the first value is answered as any
// other, and one after it aborts the response, logged as listing what, so
// that the client sees a truncated body, not a wrong answer.
func streamArray[T any](s *server, w http.ResponseWriter, r *http.Request, seq iter.Seq2[T, error], what string, write func(*bufio.Writer, T) error) {
	var bw *bufio.Writer
	for v, err := range seq {
		if err == nil {
			if bw == nil {
				bw = startArray(w)
			} else {
				bw.WriteByte(',')
			}
			err = write(bw, v)
		}
		if err != nil {
			if bw == nil {
				s.fail(w, r, err)
				return
			}
			s.log.Error("Cannot list "+what, logKeyPath, r.URL.Path, logKeyError, err)
			panic(http.ErrAbortHandler)
		}
	}
	if bw == nil {
		bw = startArray(w)
	}
	bw.WriteString("]\n")
	bw.Flush()
}

// idsBuffer is what docIDs writes at once: 64 KiB, about 1,000 IDs, where
// net/http's own 4 KiB made a write, and a chunk, of every 66.
const idsBuffer = 64 << 10

// startArray answers 200 with a JSON array to come, written through a buffer
// of idsBuffer bytes, which it returns with the array opened.
func startArray(w http.ResponseWriter) *bufio.Writer {
	w.Header().Set(headerContentType, contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, idsBuffer)
	bw.WriteByte('[')
	return bw
}

func (s *server) peerInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(s.n.PeerInfo()))
}

func (s *server) activePeers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(s.n.ActivePeers()))
}

func (s *server) knownPeers(w http.ResponseWriter, r *http.Request) {
	out := []client.KnownPeer{}
	for _, p := range s.n.KnownPeers() {
		k := client.KnownPeer{Peer: p.ID, Addr: p.Addr, Connected: p.Connected}
		if !p.Connected {
			k.LastSeen = &p.LastSeen
		}
		out = append(out, k)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) connect(w http.ResponseWriter, r *http.Request) {
	var req client.ConnectRequest
	if err := decodeStrict(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), connectTimeout)
	defer cancel()
	if err := s.n.Connect(ctx, req.Addr); err != nil {
		if statusOf(err) == http.StatusInternalServerError {
			// The peer could not be reached: not a fault of this node.
			writeError(w, http.StatusBadGateway, err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) subscriptions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(s.n.Subscriptions()))
}

func (s *server) subscribe(w http.ResponseWriter, r *http.Request) {
	names, err := decodeNames(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.n.Subscribe(r.Context(), names...); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	names, err := decodeNames(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.n.Unsubscribe(r.Context(), names...); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func decodeNames(r *http.Request) ([]string, error) {
	var body any
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	list, ok := body.([]any)
	if !ok || len(list) == 0 {
		return nil, badRequest("%s", msgWantNames)
	}
	names := make([]string, len(list))
	for i, v := range list {
		if names[i], ok = v.(string); !ok {
			return nil, badRequest("%s", msgWantNames)
		}
	}
	return names, nil
}

// fail answers with err's message and the status its kind calls for. Only
// unexpected failures (500) are logged.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	if code == http.StatusInternalServerError {
		s.log.Error("HTTP request failed", logKeyMethod, r.Method, logKeyPath, r.URL.Path, logKeyError, err)
	}
	if be := (*budgetError)(nil); errors.As(err, &be) && code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	msg := err.Error()
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		msg = fmt.Sprintf("request body is larger than the limit of %d bytes", mbe.Limit)
	}
	writeError(w, code, msg)
}

// statusOf maps an error to the HTTP status that says whose fault it was.
func statusOf(err error) int {
	var reqErr *requestError
	var mbe *http.MaxBytesError
	var be *budgetError
	switch {
	case errors.As(err, &mbe), errors.Is(err, gossipdb.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &be):
		return be.status()
	case errors.As(err, &reqErr):
		return reqErr.code
	case errors.Is(err, gossipdb.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, gossipdb.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, gossipdb.ErrDeleted):
		return http.StatusGone
	case errors.Is(err, gossipdb.ErrCompacted):
		return http.StatusRequestedRangeNotSatisfiable
	case errors.Is(err, gossipdb.ErrSchemaConflict), errors.Is(err, gossipdb.ErrIndexDropped):
		return http.StatusConflict
	case errors.Is(err, gossipdb.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, gossipdb.ErrNoSpace):
		return http.StatusInsufficientStorage
	case errors.Is(err, gossipdb.ErrClosed), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// requestError is a fault of the request: 400 Bad Request unless code says
// otherwise.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// boolParam reads the boolean query parameter name: absent, empty or "false"
// is false, "true" is true, anything else a 400 naming the parameter.
func boolParam(q url.Values, name string) (bool, error) {
	switch v := q.Get(name); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, badRequest("%s=%q: want true or false", name, v)
	}
}

// decodeBody decodes the request's JSON body into v, keeping numbers exact
// (json.Number). The body must hold exactly one JSON value.
func decodeBody(r *http.Request, v any) error {
	return decode(r, v, false)
}

// decodeStrict is decodeBody for request structs: unknown keys are refused.
func decodeStrict(r *http.Request, v any) error {
	return decode(r, v, true)
}

func decode(r *http.Request, v any, strict bool) error {
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeFrom(raw, v, strict)
}

// decodeFrom decodes the one JSON value of raw into v, numbers as
// json.Number. An object that holds a key twice is refused (see decodeValue).
func decodeFrom(raw []byte, v any, strict bool) error {
	typeErr, err := decodeValue(raw, v, strict)
	if err != nil {
		return err
	}
	return typeErr
}

// decodeValue is decodeFrom, but returns apart the error of members of the
// wrong type (encoding/json reads the whole value still), so that a caller
// may check more of the body before it: the other errors (the JSON's syntax,
// a second value, a key held twice by an object) come first. encoding/json
// would keep the last value of a key held twice and drop the others: such a
// body is refused, naming the key and where its object is; so is one with two
// keys that encoding/json takes for one field of a struct ("name", "Name").
func decodeValue(raw []byte, v any, strict bool) (typeErr, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if !errors.As(err, &ute) {
			return nil, bodyError(err)
		}
		typeErr = bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, badRequest("invalid JSON body: more than one JSON value")
		}
		return nil, bodyError(err)
	}
	if err := jsonkeys.CheckFor(raw, reflect.TypeOf(v)); err != nil {
		return nil, badRequest("invalid JSON body: %s", err)
	}
	return typeErr, nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var be *budgetError
	switch {
	case errors.As(err, &mbe), errors.As(err, &be):
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &requestError{code: http.StatusRequestTimeout, msg: "request body not received in time"}
	case errors.Is(err, io.EOF):
		return badRequest("%s", msgEmptyBody)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("invalid JSON body: unexpected end of input")
	}
	if msg, ok := jsonerr.TypeMismatch(err); ok {
		return badRequest("invalid JSON body: %s", msg)
	}
	return badRequest("invalid JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// writeJSON writes v as the JSON answer with status code, within the
// answer budget (see holdAnswer).
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := marshalLine(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot encode the answer: "+err.Error())
		return
	}
	release, ok := holdAnswer(w, len(body))
	if !ok {
		return
	}
	defer release()
	w.Header().Set(headerContentType, contentTypeJSON)
	w.WriteHeader(code)
	w.Write(body)
}

// MinHeldAnswer is the size from which an answer reserves its bytes in the
// answer budget (Options.AnswerBudget): smaller ones, at most one per
// connection, hold little.
const MinHeldAnswer = 64 << 10

// holdAnswer reserves size bytes, an answer about to be written to w whole, in
// the answer budget of the answerWriter w is (Options.AnswerBudget), and
// returns the function that gives them back once it is written. When they do
// not fit it answers 503 with Retry-After itself, and returns ok false: the
// caller writes nothing. An answer under MinHeldAnswer, or to a writer that
// is not an answerWriter, reserves nothing.
func holdAnswer(w http.ResponseWriter, size int) (release func(), ok bool) {
	aw, isAnswer := w.(*answerWriter)
	if !isAnswer || aw.answers == nil || size < MinHeldAnswer {
		return func() {}, true
	}
	if !aw.answers.takeAlone(int64(size)) {
		aw.answers.refuse(false)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf(
			"too many large answers in flight (budget %d bytes): retry later", aw.answers.max))
		return nil, false
	}
	return func() { aw.answers.give(int64(size)) }, true
}

func writeError(w http.ResponseWriter, code int, msg string) {
	body, _ := marshalLine(client.ErrorBody{Error: msg})
	w.Header().Set(headerContentType, contentTypeJSON)
	w.WriteHeader(code)
	w.Write(body)
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// statusWriter remembers the status written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answerWriter writes an answer that the client must take in time, and gives
// back the reservation of the request's body when the answer begins.
//
// A request's body is read, and its work done, before its answer begins: once
// the first byte of the answer (its status) is written, nothing uses the
// body's bytes or decoded values any more, so the body's reservation in the
// budget is given back then (or when the handler returns, if it wrote
// nothing), exactly once, whether the request succeeded, failed, timed out or
// panicked. A handler whose answer goes on using what the body decoded to (a
// GraphQL subscription) keeps the reservation instead (see keepBody).
//
// The answer is written in pieces of at most answerPiece bytes, each of which
// the client must take within timeout, else the write fails and the
// connection is closed: a client that stops reading cannot hold the answer
// for ever, and one that keeps reading, if slowly, is not cut off however
// long a large answer takes to send. Event streams set their own deadlines.
type answerWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController // of ResponseWriter
	timeout time.Duration
	started bool    // a write deadline was set
	body    func()  // gives back the body's reservation; nil once given back, or without one
	answers *budget // the handler's answer budget (see holdAnswer)
}

// answerPiece is the most answerWriter writes under one deadline. A write
// also waits for room in the connection's send buffer, which the kernel makes
// once the client has taken a share of what it holds (on Linux, a third of a
// buffer of up to 4 MiB by default), so a client must take that much, at
// most, within Options.BodyReadTimeout: at worst some 50 KB/s with the
// default.
const answerPiece = 64 << 10

// start begins a write: it gives back the body's reservation, if still held,
// and sets the deadline of the write.
func (w *answerWriter) start() {
	w.giveBody()
	w.started = true
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
}

// giveBody gives back the body's reservation, if still held.
func (w *answerWriter) giveBody() {
	if w.body != nil {
		w.body()
		w.body = nil
	}
}

func (w *answerWriter) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

// Write writes b in pieces of at most answerPiece bytes, each to be taken
// within the timeout.
func (w *answerWriter) Write(b []byte) (int, error) {
	written := 0
	for {
		w.start()
		n, err := w.ResponseWriter.Write(b[:min(len(b), answerPiece)])
		written += n
		b = b[n:]
		if err != nil || len(b) == 0 {
			return written, err
		}
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// done gives back the body's reservation if no answer began, and clears the
// deadline, which would otherwise bound the connection's next request too.
func (w *answerWriter) done() {
	w.giveBody()
	if w.started {
		w.rc.SetWriteDeadline(time.Time{})
	}
}

// keepBody takes over the reservation of the request's body from the
// answerWriter w is, for a handler whose answer goes on using what the body
// decoded to: the answer's first write then does not give it back, and the
// caller calls release once done with those values. Without a reservation,
// or with a writer that is not an answerWriter, release does nothing.
func keepBody(w http.ResponseWriter) (release func()) {
	aw, ok := w.(*answerWriter)
	if !ok || aw.body == nil {
		return func() {}
	}
	release, aw.body = aw.body, nil
	return release
}

// headerRecorder captures what net/http's fallback handlers would answer.
type headerRecorder struct {
	header http.Header
	code   int
}

func (r *headerRecorder) Header() http.Header { return r.header }

func (r *headerRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *headerRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return len(b), nil
}
