package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The JSON the API speaks: the node's server (internal/httpapi) writes and reads
// these same types, so they are the one definition of the wire format.

// DocIDKey is the JSON key that holds a document's ID in a document object.
const DocIDKey = "_docID"

// ConflictsKey is the JSON key that holds, in a document read with
// ?conflicts=true, the values its fields lost to concurrent writes.
const ConflictsKey = "_conflicts"

// DeletedKey is the JSON key that marks a deleted document, true, in a page
// of documents listed with showDeleted=true.
const DeletedKey = "_deleted"

// Conflict is a value a last-writer-wins field lost to a concurrent write (see
// gossipdb.Conflict): the field, the losing value, the block that wrote it and
// the block whose value the field holds.
type Conflict struct {
	Field  string `json:"field"`
	Value  any    `json:"value"`
	Block  string `json:"block"`
	Winner string `json:"winner"`
	// Author wrote Block, WinnerAuthor Winner (see gossipdb.AuthorID).
	Author       string `json:"author"`
	WinnerAuthor string `json:"winnerAuthor"`
}

// BlockInfo is one stored block of a document, one change to it, as GET
// /api/v0/collections/{name}/documents/{id}/history lists them (see
// gossipdb.BlockInfo): fields are named as the collection's active version
// names them.
type BlockInfo struct {
	CID    string   `json:"cid"`
	DocID  string   `json:"docID"`
	Height uint64   `json:"height"`
	Prev   []string `json:"prev"` // the blocks it was written on, sorted; [] for the genesis
	// Version is the ID of the collection version the block was written under.
	Version string `json:"version"`
	Author  string `json:"author"`
	// Set holds the values the block assigns (null: it clears the field), Add
	// its counter increments, SetAdd and SetRemove the elements it adds to
	// and removes from set fields; each is left out when empty.
	Set       map[string]any   `json:"set,omitempty"`
	Add       map[string]any   `json:"add,omitempty"`
	SetAdd    map[string][]any `json:"setAdd,omitempty"`
	SetRemove map[string][]any `json:"setRemove,omitempty"`
	Delete    bool             `json:"delete"`
	// Txn is the hex ID of the transaction the block is part of; empty
	// outside transactions.
	Txn      string `json:"txn,omitempty"`
	Disowned bool   `json:"disowned"` // the collection's policy cuts the block off: it does not count
	Size     int    `json:"size"`     // bytes of the block's encoding
}

// CollectionInfo describes a collection: what `collection add` and `collection
// list` print.
type CollectionInfo struct {
	Name     string `json:"name"`
	SchemaID string `json:"schemaID"` // the first version's ID: the collection's identity and pubsub topic
	// Version is the ID of the version the node reads and writes through, once
	// the collection was patched; absent while it is the first version.
	Version string      `json:"version,omitempty"`
	Fields  []FieldInfo `json:"fields"` // of the active version, sorted by name
	// Policy is a restricted collection's policy (declared with @policy in
	// its SDL); absent for an open collection.
	Policy *PolicyInfo `json:"policy,omitempty"`
}

// PolicyInfo is a restricted collection's policy as the node holds it: the
// authors holding each role in its current state (the @policy of its SDL and
// the policy changes the node holds), as peer IDs ("12D3KooW…"), and those
// changes, each after those it names. An admin may also write and read, a
// writer may also read.
type PolicyInfo struct {
	Admins  []string       `json:"admins"`
	Writers []string       `json:"writers"`
	Readers []string       `json:"readers"`
	Changes []PolicyChange `json:"changes,omitempty"`
}

// PolicyChange is one signed policy change (see gossipdb.PolicyChange):
// admin Author set Key's role to Role ("writer", "reader" or "none") after
// the changes Prev; a revocation keeps the chains of Key's blocks that end at
// Keep.
type PolicyChange struct {
	CID    string   `json:"cid"`
	Author string   `json:"author"`
	Key    string   `json:"key"`
	Role   string   `json:"role"`
	Prev   []string `json:"prev,omitempty"`
	Keep   []string `json:"keep,omitempty"`
}

// IndexInfo describes a secondary index of a collection (see gossipdb.Index):
// queries use it once Ready; Read counts the documents its build has read,
// which shows the progress of an index created on a collection that holds
// documents while it is built (it is left out once the index is ready). Dropped names the fields of Fields that the
// collection's active version does not show, by the name each had last.
type IndexInfo struct {
	Name    string           `json:"name"`
	Fields  []IndexFieldInfo `json:"fields"`
	Ready   bool             `json:"ready"`
	Read    int64            `json:"read,omitempty"`
	Dropped []string         `json:"dropped,omitempty"`
}

// IndexFieldInfo is one field of an index, in the index's order: ascending,
// or descending.
type IndexFieldInfo struct {
	Name       string `json:"name"`
	Descending bool   `json:"descending,omitempty"`
}

// CreateIndexRequest is the body of POST /api/v0/collections/{name}/indexes
// (see gossipdb.Collection.CreateIndex): an index on Fields, in order, called
// Name (absent for the default name, such as "User_name_ASC").
type CreateIndexRequest struct {
	Name   string           `json:"name,omitempty"`
	Fields []IndexFieldInfo `json:"fields"`
}

// GrantRequest is the body of POST /api/v0/collections/{name}/policy/grant
// (see gossipdb.Collection.Grant): Author, a peer ID, gets Role, "writer" or
// "reader".
type GrantRequest struct {
	Author string `json:"author"`
	Role   string `json:"role"`
}

// RevokeRequest is the body of POST /api/v0/collections/{name}/policy/revoke
// (see gossipdb.Collection.Revoke): Author, a peer ID, loses every role.
type RevokeRequest struct {
	Author string `json:"author"`
}

// FieldInfo describes one field of a collection.
type FieldInfo struct {
	Name string `json:"name"`
	// Kind is the field's type as SDL spells it, without the outer "!": a scalar
	// (String, Int, Float, Boolean, DateTime or JSON), a list ([Int], [String!]),
	// a collection's name for a relation (Author) or a list of one for the
	// derived inverse side of a relation ([Book]).
	Kind     string `json:"kind"`
	Required bool   `json:"required,omitempty"`
	Counter  bool   `json:"counter,omitempty"` // @crdt(type: pncounter)
	Set      bool   `json:"set,omitempty"`     // @crdt(type: set): an add-wins set
	// Default is what a document that never had the field reads as (@default
	// of a patch); absent when none.
	Default any `json:"default,omitempty"`
}

// Document is a document as the API shows it: one JSON object whose "_docID" key
// holds the ID and whose other keys are the collection's fields. DateTime values
// are RFC 3339 strings, JSON fields are inline JSON values, lists and sets are
// arrays, relations are document ID strings, absent fields are null.
type Document struct {
	ID     string
	Fields map[string]any
}

// MarshalJSON writes "_docID" first, then the fields sorted by name.
func (d Document) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	if err := writeMember(&buf, DocIDKey, d.ID); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(d.Fields)) {
		if name == DocIDKey {
			continue
		}
		buf.WriteByte(',')
		if err := writeMember(&buf, name, d.Fields[name]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeMember(buf *bytes.Buffer, key string, v any) error {
	k, err := marshal(key)
	if err != nil {
		return err
	}
	val, err := marshal(v)
	if err != nil {
		return fmt.Errorf("field %q: %w", key, err)
	}
	buf.Write(k)
	buf.WriteByte(':')
	buf.Write(val)
	return nil
}

// marshal is json.Marshal without HTML escaping and without the trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads a document object; numbers stay exact (json.Number).
func (d *Document) UnmarshalJSON(data []byte) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("document is null")
	}
	id, ok := m[DocIDKey].(string)
	if !ok {
		return fmt.Errorf("document has no %q string", DocIDKey)
	}
	delete(m, DocIDKey)
	d.ID, d.Fields = id, m
	return nil
}

// DocIDResult is the answer to creating one document.
type DocIDResult struct {
	DocID string `json:"_docID"`
}

// Health is the answer of GET /api/v0/health.
type Health struct {
	Status string `json:"status"` // "ok"
	PeerID string `json:"peerID"`
}

// CheckResult is the answer of POST /api/v0/check: whether the node's store
// passed Node.Check, and if not, the first problem it found.
type CheckResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// KnownPeer is a peer in the answer of GET /api/v0/p2p/known-peers (see
// gossipdb.KnownPeer): one connected now, or one of the last that were
// connected since the node started.
type KnownPeer struct {
	Peer string `json:"peer"`
	// Addr is the full multiaddr of its connection, or of its last one.
	Addr      string `json:"addr"`
	Connected bool   `json:"connected"`
	// LastSeen is when its last connection closed; absent while connected.
	LastSeen *time.Time `json:"lastSeen,omitempty"`
}

// ConnectRequest is the body of POST /api/v0/p2p/peers.
type ConnectRequest struct {
	Addr string `json:"addr"` // a full multiaddr ending in /p2p/<peer ID>
}

// PatchCollectionRequest is the body of PATCH /api/v0/collections/{name}: either
// SDL, the whole new type (see gossipdb.Collection.Patch), or Version, the ID of
// a version the node knows (see gossipdb.Collection.UseVersion).
type PatchCollectionRequest struct {
	SDL     string `json:"sdl,omitempty"`
	Version string `json:"version,omitempty"`
}

// PatchResult is the answer to PATCH /api/v0/collections/{name}.
type PatchResult struct {
	Name    string   `json:"name"`
	Version string   `json:"version"` // the version the collection now reads and writes through
	Parent  string   `json:"parent"`  // the version it was before
	Diff    []string `json:"diff"`    // what changed, one change per line; empty when nothing did
}

// AddCollectionRequest is the body of POST /api/v0/collections.
type AddCollectionRequest struct {
	SDL string `json:"sdl"` // GraphQL SDL of one or more types
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

// SyncResult is the answer of POST /api/v0/collections/{name}/sync?wait=true:
// the reconciliation with each connected peer subscribed to the collection.
type SyncResult struct {
	Collection string `json:"collection"`
	// Synced reports that every session completed: the node now holds
	// everything those peers held when they answered.
	Synced bool `json:"synced"`
	// Error says why Synced is false: the peers whose sessions failed or
	// that disconnected, or the merges of what the sessions pulled that
	// failed (catch-up brings those blocks again later).
	Error string         `json:"error,omitempty"`
	Peers []PeerSyncInfo `json:"peers"` // sorted by peer ID
}

// PeerSyncInfo is a catch-up session of a collection with one peer.
type PeerSyncInfo struct {
	Peer    string    `json:"peer"`
	Started time.Time `json:"started"`
	// Finished is absent while the session runs.
	Finished *time.Time `json:"finished,omitempty"`
	// Docs is how many documents differed, Pulled how many of them were
	// pulled, Shared how many of them another session pulled meanwhile (from
	// another peer), which this one then did not pull again.
	Docs   int `json:"docs"`
	Pulled int `json:"pulled"`
	Shared int `json:"shared"`
	// Blocks counts the blocks received; Bytes the bytes the reconciliation
	// exchanged, both ways, block transfers excluded.
	Blocks int `json:"blocks"`
	Bytes  int `json:"bytes"`
	// BlockBytes is the encoded size of the blocks received.
	BlockBytes int64 `json:"blockBytes"`
	Rounds     int   `json:"rounds"`
	// Equal reports that the finished session found both nodes equal.
	Equal bool `json:"equal"`
	// Error says why the session failed; absent when it succeeded.
	Error string `json:"error,omitempty"`
}

// GraphQLRequest is the body of POST /api/v0/graphql.
type GraphQLRequest struct {
	Query         string         `json:"query"`                   // the request, in DefraDB's query language
	Variables     map[string]any `json:"variables,omitempty"`     // values of the request's $variables
	OperationName string         `json:"operationName,omitempty"` // which operation to run, when the request has several
}

// GraphQLResponse is the answer of POST /api/v0/graphql: the data of a request
// that ran (null if its fields failed), and its errors. Data is absent from a
// request refused before it ran. Objects in Data have their keys in the order the
// request selects them.
type GraphQLResponse struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors []GraphQLError  `json:"errors,omitempty"`
}

// GraphQLError is one error of a GraphQL request.
type GraphQLError struct {
	Message   string            `json:"message"`
	Locations []GraphQLLocation `json:"locations,omitempty"` // where in the request
	Path      []any             `json:"path,omitempty"`      // which field of the answer
}

// Error returns the message, led by its first location: "1:5: syntax error: …".
func (e GraphQLError) Error() string {
	if len(e.Locations) == 0 {
		return e.Message
	}
	return fmt.Sprintf("%d:%d: %s", e.Locations[0].Line, e.Locations[0].Column, e.Message)
}

// GraphQLLocation is a place in a GraphQL request; both count from 1.
type GraphQLLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Change is one entry of a collection's change feed (see gossipdb.Change): the
// data of a "change" event of GET /api/v0/collections/{name}/changes, whose
// SSE id is its Position.
type Change struct {
	Position uint64 `json:"position"`
	Type     string `json:"type"` // created, updated, deleted or overridden
	// Block is the CID of the block reported: the genesis for created, the
	// overridden change for overridden.
	Block string `json:"block"`
	Peer  string `json:"peer"` // the peer the block came from; this node's ID when local
	Local bool   `json:"local"`
	// Author signed Block (see gossipdb.AuthorID).
	Author string `json:"author"`
	// Document holds the document's ID and its values after the change (for
	// deleted the last ones, for overridden those the change gave).
	Document Document `json:"document"`
}

// ChangesEnd is the data of the "end" event that closes a stream of changes
// that does not follow (follow=false): Position, also its SSE id, is where to
// resume (the since of the next request), past every change the stream held.
type ChangesEnd struct {
	Position uint64 `json:"position"`
}

// MaxTxOps is the most operations one transaction request (POST /api/v0/tx)
// may hold.
const MaxTxOps = 10_000

// The operations of a TxOp.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

// TxOp is one operation of a transaction request: Op is OpCreate (Fields),
// OpUpdate (DocID, Fields) or OpDelete (DocID), on a document of Collection.
type TxOp struct {
	Op         string         `json:"op"`
	Collection string         `json:"collection"`
	DocID      string         `json:"docID,omitempty"`
	Fields     map[string]any `json:"fields,omitempty"`
}

// TxRequest is the body of POST /api/v0/tx: operations applied in order, all
// in one transaction.
type TxRequest struct {
	Ops []TxOp `json:"ops"`
}

// TxResult is the answer to a transaction request: the document of each
// operation, in order (for a create, the new document's ID).
type TxResult struct {
	Results []DocIDResult `json:"results"`
}
