package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// Page sizes of GET /api/v0/collections/{name}/documents.
const (
	// DefaultPageSize is the page size when the request gives no limit.
	DefaultPageSize = 50
	// MaxPageSize is the largest limit a request may give.
	MaxPageSize = 1000
)

// DocumentPage is the answer of GET /api/v0/collections/{name}/documents: live
// documents in ID order.
type DocumentPage struct {
	Documents []client.Document `json:"documents"`
	// Next, when not empty, is the "after" parameter that gives the next page;
	// empty on the last page.
	Next string `json:"next,omitempty"`
}

// listDocuments answers one page of the collection's live documents after the
// ID in "after" (from the first if empty), at most "limit" of them, that match
// "where" (a JSON object of field values; every field must be equal). Pages
// are read in ID order, so a page starting late in a large collection reads the
// IDs before it.
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
	after := q.Get("after")
	page := DocumentPage{Documents: []client.Document{}}
	for doc, err := range c.Find(r.Context(), where) {
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if string(doc.ID) <= after {
			continue
		}
		if len(page.Documents) == limit {
			page.Next = page.Documents[limit-1].ID
			break
		}
		page.Documents = append(page.Documents, client.Document{ID: string(doc.ID), Fields: doc.Fields})
	}
	writeJSON(w, http.StatusOK, page)
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
	return where, nil
}

// SyncInfo is the answer of GET /api/v0/collections/{name}/sync: catch-up of
// the collection with its peers.
type SyncInfo struct {
	Collection string `json:"collection"`
	Subscribed bool   `json:"subscribed"`
	// Running is how many reconciliation sessions are under way; Pending how
	// many documents found to differ are still to be pulled.
	Running int `json:"running"`
	Pending int `json:"pending"`
	// Peers has the last session with each peer, sorted by peer ID.
	Peers []PeerSyncInfo `json:"peers"`
	// TopicPeers are the connected peers known to be subscribed to the
	// collection's topic, sorted: those a write reaches directly.
	TopicPeers []string `json:"topicPeers"`
	// Versions lists the versions of the collection named by peers' blocks that
	// the node has not accepted, sorted by ID; absent when none.
	Versions []VersionSyncInfo `json:"versions,omitempty"`
}

// VersionSyncInfo is a version of a collection the node has not accepted (see
// gossipdb.VersionStatus).
type VersionSyncInfo struct {
	Version string    `json:"version"`
	Peer    string    `json:"peer"`
	When    time.Time `json:"when"`
	Error   string    `json:"error"`
	// Refused is set when the definition is invalid: blocks naming it are
	// refused. Otherwise it could not be fetched and is asked for again.
	Refused bool `json:"refused,omitempty"`
}

// PeerSyncInfo is the last catch-up session of a collection with one peer.
type PeerSyncInfo struct {
	Peer    string    `json:"peer"`
	Started time.Time `json:"started"`
	// Finished is absent while the session runs.
	Finished *time.Time `json:"finished,omitempty"`
	// Docs is how many documents differed, Pulled how many of them were pulled.
	Docs   int `json:"docs"`
	Pulled int `json:"pulled"`
	// Blocks counts the blocks received; Bytes the bytes the reconciliation
	// exchanged, both ways, block transfers excluded.
	Blocks int `json:"blocks"`
	Bytes  int `json:"bytes"`
	Rounds int `json:"rounds"`
	// Error says why the session failed; absent when it succeeded.
	Error string `json:"error,omitempty"`
}

func (s *server) syncStatus(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	st, err := s.n.SyncStatus(c.Name())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	topicPeers, err := s.n.TopicPeers(c.Name())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info := SyncInfo{Collection: st.Collection, Subscribed: slices.Contains(s.n.Subscriptions(), c.Name()),
		Running: st.Running, Pending: st.Pending, Peers: []PeerSyncInfo{}, TopicPeers: nonNil(topicPeers)}
	for _, p := range st.Peers {
		pi := PeerSyncInfo{Peer: p.Peer, Started: p.Started, Docs: p.Docs, Pulled: p.Pulled,
			Blocks: p.Blocks, Bytes: p.Bytes, Rounds: p.Rounds, Error: p.Err}
		if !p.Finished.IsZero() {
			pi.Finished = &p.Finished
		}
		info.Peers = append(info.Peers, pi)
	}
	for _, v := range st.Versions {
		info.Versions = append(info.Versions, VersionSyncInfo{Version: v.Version, Peer: v.Peer, When: v.When, Error: v.Err, Refused: v.Refused})
	}
	writeJSON(w, http.StatusOK, info)
}

// sync starts catch-up of the collection with every connected peer; its
// progress shows in GET …/sync.
func (s *server) sync(w http.ResponseWriter, r *http.Request, c *gossipdb.Collection) {
	if err := s.n.Sync(r.Context(), c.Name()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
