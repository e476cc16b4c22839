package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/client"
)

// The wire types (documents, collection descriptions, request and error bodies)
// are defined once, in the public package client, which the server shares.

func describe(c *gossipdb.Collection) client.CollectionInfo {
	fields := c.Fields()
	info := client.CollectionInfo{Name: c.Name(), SchemaID: c.SchemaID(), Fields: make([]client.FieldInfo, len(fields))}
	if v := c.Version(); v != c.SchemaID() {
		info.Version = v
	}
	info.Policy = describePolicy(c)
	for i, f := range fields {
		info.Fields[i] = client.FieldInfo{Name: f.Name, Kind: f.TypeName(), Required: f.Required, Counter: f.Counter, Set: f.AddWinsSet}
		if f.Default != nil {
			info.Fields[i].Default = f.Export(f.Default) // a set's Export of nil is an empty slice, not "no default"
		}
	}
	return info
}

// describePolicy returns c's policy, or nil if c is open.
func describePolicy(c *gossipdb.Collection) *client.PolicyInfo {
	p := c.Policy()
	if p == nil {
		return nil
	}
	info := &client.PolicyInfo{Admins: p.Admins, Writers: p.Writers, Readers: p.Readers}
	for _, ch := range p.Changes {
		info.Changes = append(info.Changes, client.PolicyChange(ch))
	}
	return info
}

func describeAll(cols []*gossipdb.Collection) []client.CollectionInfo {
	out := make([]client.CollectionInfo, len(cols))
	for i, c := range cols {
		out[i] = describe(c)
	}
	return out
}

// marshal is json.Marshal without HTML escaping and without the trailing newline.
func marshal(v any) ([]byte, error) {
	line, err := marshalLine(v)
	return bytes.TrimSuffix(line, []byte("\n")), err
}

// marshalLine is json.Marshal without HTML escaping, followed by a newline.
func marshalLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
