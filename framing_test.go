package gossipdb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// testBlocks returns n genesis blocks of the User collection, each with a name
// of size bytes.
func testBlocks(t testing.TB, n, size int) []*crdt.Block {
	t.Helper()
	ss, err := schema.Parse(nodetest.UserSDL)
	if err != nil {
		t.Fatal(err)
	}
	s := ss[0]
	out := make([]*crdt.Block, n)
	for i := range out {
		b, err := crdt.NewGenesis(s, map[string]any{"name": fmt.Sprintf("%0*d", size, i)}, nil, make([]byte, 16), testKey)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// TestMessageFraming: messages carry their blocks and send time, a batch too
// large for one message is split, messages without the send-time header (as
// older nodes send them) are accepted, and broken headers are refused.
func TestMessageFraming(t *testing.T) {
	sent := time.UnixMicro(1_764_650_000_123_456)
	blocks := testBlocks(t, 3, 10)
	msgs := gossipdb.EncodeMessages(blocks, sent)
	if len(msgs) != 1 {
		t.Fatalf("3 small blocks in %d messages, want 1", len(msgs))
	}
	got, at, err := gossipdb.DecodeMessage(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !at.Equal(sent) {
		t.Errorf("send time %v, want %v", at, sent)
	}
	if len(got) != len(blocks) {
		t.Fatalf("%d blocks decoded, want %d", len(got), len(blocks))
	}
	for i := range got {
		if !got[i].CID.Equals(blocks[i].CID) {
			t.Errorf("block %d: %s, want %s", i, got[i].CID, blocks[i].CID)
		}
	}

	// Without the header: the blocks, and no send time.
	old := frames(blocks[0].Data, blocks[1].Data)
	got, at, err = gossipdb.DecodeMessage(old)
	if err != nil || len(got) != 2 || !at.IsZero() {
		t.Errorf("message without header: %d blocks, time %v, %v; want 2 blocks, zero time, nil", len(got), at, err)
	}

	// A batch over the message size limit is split; every message has the header.
	big := testBlocks(t, 40, 100_000)
	msgs = gossipdb.EncodeMessages(big, sent)
	if len(msgs) < 2 {
		t.Fatalf("%d blocks of 100 KB in %d message", len(big), len(msgs))
	}
	n := 0
	for _, m := range msgs {
		if len(m) > gossipdb.MaxMessageSize {
			t.Errorf("message of %d bytes, limit %d", len(m), gossipdb.MaxMessageSize)
		}
		got, at, err := gossipdb.DecodeMessage(m)
		if err != nil || !at.Equal(sent) {
			t.Fatalf("split message: time %v, %v", at, err)
		}
		for _, b := range got {
			if !b.CID.Equals(big[n].CID) {
				t.Fatalf("block %d out of order after the split", n)
			}
			n++
		}
	}
	if n != len(big) {
		t.Errorf("%d of %d blocks after the split", n, len(big))
	}

	for name, msg := range map[string][]byte{
		"header alone":        {0, 1},
		"header cut short":    {0, 0x80},
		"time beyond int64":   {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"two headers":         append([]byte{0, 1}, msgs[0]...),
		"empty":               {},
		"header, empty frame": {0, 1, 0},
	} {
		if _, _, err := gossipdb.DecodeMessage(msg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzDecodeMessage: decoding any bytes never panics, and what decodes encodes
// back to a message that decodes to the same blocks and send time.
func FuzzDecodeMessage(f *testing.F) {
	blocks := testBlocks(f, 2, 10)
	for _, m := range gossipdb.EncodeMessages(blocks, time.UnixMicro(1)) {
		f.Add(m)
	}
	f.Add(frames(blocks[0].Data))
	f.Add([]byte{0, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, sent, err := gossipdb.DecodeMessage(data)
		if err != nil || sent.IsZero() {
			return
		}
		msgs := gossipdb.EncodeMessages(got, sent)
		if len(msgs) != 1 {
			t.Fatalf("%d messages from one", len(msgs))
		}
		again, at, err := gossipdb.DecodeMessage(msgs[0])
		if err != nil || !at.Equal(sent) || len(again) != len(got) {
			t.Fatalf("re-encoded: %d blocks at %v, %v; want %d at %v", len(again), at, err, len(got), sent)
		}
	})
}
