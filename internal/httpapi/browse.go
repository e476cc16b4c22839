package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
	"github.com/gossipdb/gossipdb/internal/jsonkeys"
	"github.com/gossipdb/gossipdb/internal/jsonsize"
)

// Page sizes of GET /api/v0/collections/{name}/documents.
const (
	// DefaultPageSize is the page size when the request gives no limit.
	DefaultPageSize = 50
	// MaxPageSize is the largest limit a request may give.
	MaxPageSize = 1000
	// MaxPageBytes bounds the documents of a page: it ends, with Next, after
	// the document that brings their IDs and values to this many bytes (as
	// jsonsize.Value counts them), so that a page of large documents is not
	// held whole in memory: 1,000 documents of 1 MiB would be 1 GiB.
	MaxPageBytes = 4 << 20
)

// DocumentPage is the answer of GET /api/v0/collections/{name}/documents: live
// documents in ID order.
type DocumentPage struct {
	Documents []client.Document `json:"documents"`
	// Next, when not empty, is the "after" parameter that gives the next page;
	// empty on the last page.
	Next string `json:"next,omitempty"`
}

// listDocuments answers one page of the collection's live documents (and, with
// "showDeleted=true", its deleted ones, which have "_deleted": true) after the
// ID in "after" (from the first if empty), at most "limit" of them and about
// MaxPageBytes, that match "where" (a JSON object of field values; every field
// must be equal). Pages are read in ID order, each from where the last ended.
func (s *server) listDocuments(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	q := r.URL.Query()
	limit := DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			s.fail(w, r, badRequest("limit %q: want a number from 1 to %d", v, MaxPageSize))
			return
		}
		limit = n
	}
	where, err := parseWhere(q.Get("where"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := whereOnList(c, where); err != nil {
		s.fail(w, r, err)
		return
	}
	query := gossipdb.Query{Filter: where.Filter()}
	if query.ShowDeleted, err = boolParam(q, "showDeleted"); err != nil {
		s.fail(w, r, err)
		return
	}
	if after := q.Get("after"); after != "" {
		if query.After, err = c.Cursor(query, &gossipdb.Document{ID: gossipdb.DocID(after)}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	page := DocumentPage{Documents: []client.Document{}}
	size := 0 // of page.Documents, as jsonsize.Value counts
	for doc, err := range c.Query(r.Context(), query) {
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(page.Documents) == limit || size >= MaxPageBytes {
			page.Next = page.Documents[len(page.Documents)-1].ID
			break
		}
		if doc.Deleted {
			doc.Fields[client.DeletedKey] = true
		}
		page.Documents = append(page.Documents, client.Document{ID: string(doc.ID), Fields: doc.Fields})
		size += len(doc.ID) + jsonsize.Value(doc.Fields)
	}
	writeJSON(w, http.StatusOK, page)
}

// whereOnList refuses a where that names a list or set field of c: where
// compares whole values, and a list is matched by its items, which only a
// filter can do (_any, _all, _none). The filter's own error would point to those
// operators, which where cannot take, so this one points to GraphQL.
func whereOnList(c *gossipdb.Collection, where gossipdb.Where) error {
	for _, f := range c.Fields() {
		if _, ok := where[f.Name]; ok && f.List && !f.Derived() {
			return badRequest("where: field %q is a list, which where does not compare whole; match its items with a GraphQL filter, "+
				"such as %s(filter: {%s: {_any: {_eq: …}}}) in POST /api/v0/graphql", f.Name, c.Name(), f.Name)
		}
	}
	return nil
}

// parseWhere decodes the "where" parameter: empty, or a JSON object of field
// values with exact numbers.
func parseWhere(s string) (gossipdb.Where, error) {
	if s == "" {
		return nil, nil
	}
	const want = `where: want a JSON object of field values, e.g. {"name":"Ada"}`
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var where gossipdb.Where
	if err := dec.Decode(&where); err != nil || where == nil {
		return nil, badRequest("%s", want)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("%s", want)
	}
	if err := jsonkeys.Check([]byte(s)); err != nil {
		return nil, badRequest("where: %s", err)
	}
	return where, nil
}

func (s *server) syncStatus(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	info, err := s.syncInfo(c, s.n.Subscriptions())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// syncAll answers the catch-up state of every collection, in name order, as
// GET …/{name}/sync gives each: one request for what a page showing them all
// (the console's overview) would otherwise ask once per collection.
func (s *server) syncAll(w http.ResponseWriter, r *http.Request) {
	infos := []client.SyncInfo{}
	subs := s.n.Subscriptions()
	for _, c := range s.n.Collections() {
		info, err := s.syncInfo(c, subs)
		if errors.Is(err, gossipdb.ErrNotFound) {
			continue // gone since listed
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		infos = append(infos, info)
	}
	writeJSON(w, http.StatusOK, infos)
}

// syncInfo returns the catch-up state of c; subs are the node's subscriptions,
// sorted.
func (s *server) syncInfo(c *gossipdb.Collection, subs []string) (client.SyncInfo, error) {
	st, err := s.n.SyncStatus(c.Name())
	if err != nil {
		return client.SyncInfo{}, err
	}
	topicPeers, err := s.n.TopicPeers(c.Name())
	if err != nil {
		return client.SyncInfo{}, err
	}
	info := client.SyncInfo{Collection: st.Collection, Subscribed: containsSorted(subs, c.Name()),
		Running: st.Running, Pending: st.Pending, Peers: []client.PeerSyncInfo{}, TopicPeers: nonNil(topicPeers)}
	for _, p := range st.Peers {
		info.Peers = append(info.Peers, peerSyncInfo(p))
	}
	for _, v := range st.Versions {
		info.Versions = append(info.Versions, client.VersionSyncInfo{Version: v.Version, Peer: v.Peer, When: v.When, Error: v.Err, Refused: v.Refused})
	}
	return info, nil
}

// containsSorted reports whether the sorted list holds name.
func containsSorted(list []string, name string) bool {
	_, ok := slices.BinarySearch(list, name)
	return ok
}

func peerSyncInfo(p gossipdb.PeerSyncStatus) client.PeerSyncInfo {
	pi := client.PeerSyncInfo{Peer: p.Peer, Started: p.Started, Docs: p.Docs, Pulled: p.Pulled, Shared: p.Shared,
		Blocks: p.Blocks, Bytes: p.Bytes, BlockBytes: p.BlockBytes, Rounds: p.Rounds, Equal: p.Equal, Error: p.Err}
	if !p.Finished.IsZero() {
		pi.Finished = &p.Finished
	}
	return pi
}

// Bounds of POST …/sync?wait=true.
const (
	defaultSyncWait = time.Minute
	maxSyncWait     = 10 * time.Minute
)

// sync starts catch-up of the collection with every connected peer; its
// progress shows in GET …/sync. With wait=true it answers once the collection
// is synced with every connected peer subscribed to it (see gossipdb.Sync), or
// timeout (a Go duration, default defaultSyncWait, at most maxSyncWait) has
// passed (504).
func (s *server) sync(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	q := r.URL.Query()
	doWait, err := boolParam(q, "wait")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	wait := defaultSyncWait
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > maxSyncWait {
			s.fail(w, r, badRequest("timeout %q: want a duration up to %v, such as 30s", t, maxSyncWait))
			return
		}
		wait = d
	}
	if !doWait {
		if err := s.n.StartSync(r.Context(), c.Name()); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	peers, err := s.n.Sync(ctx, c.Name())
	switch {
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("%s not synced within %v", c.Name(), wait))
		return
	case err != nil && !errors.Is(err, gossipdb.ErrSync):
		s.fail(w, r, err)
		return
	}
	res := client.SyncResult{Collection: c.Name(), Synced: err == nil, Peers: []client.PeerSyncInfo{}}
	if err != nil {
		res.Error = err.Error()
	}
	for _, p := range peers {
		res.Peers = append(res.Peers, peerSyncInfo(p))
	}
	writeJSON(w, http.StatusOK, res)
}
