package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// The JSON the API speaks: the node's server (internal/httpapi) writes and reads
// these same types, so they are the one definition of the wire format.

// DocIDKey is the JSON key that holds a document's ID in a document object.
const DocIDKey = "_docID"

// CollectionInfo describes a collection: what `collection add` and `collection
// list` print.
type CollectionInfo struct {
	Name     string      `json:"name"`
	SchemaID string      `json:"schemaID"` // also the collection's pubsub topic
	Fields   []FieldInfo `json:"fields"`   // sorted by name
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

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// ConnectRequest is the body of POST /api/v0/p2p/peers.
type ConnectRequest struct {
	Addr string `json:"addr"` // a full multiaddr ending in /p2p/<peer ID>
}

// AddCollectionRequest is the body of POST /api/v0/collections.
type AddCollectionRequest struct {
	SDL string `json:"sdl"` // GraphQL SDL of one or more types
}
