package gossipdb

import (
	"time"

	"github.com/gossipdb/gossipdb/crdt"
)

// MaxMessageSize is the largest pubsub message a node sends or accepts.
const MaxMessageSize = maxMessageSize

// EncodeMessages frames blocks into pubsub messages sent at sent, as a node
// publishes them.
func EncodeMessages(blocks []*crdt.Block, sent time.Time) [][]byte {
	var out [][]byte
	for _, m := range encodeMessages(blocks, sent) {
		out = append(out, m.data)
	}
	return out
}

// DecodeMessage decodes a pubsub message as a node's topic validator does.
func DecodeMessage(data []byte) ([]*crdt.Block, time.Time, error) { return decodeMessage(data) }
