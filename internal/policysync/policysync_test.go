package policysync_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/internal/policy"
	"github.com/gossipdb/gossipdb/internal/policysync"
	"github.com/gossipdb/gossipdb/internal/streams/streamstest"
)

func testCID(t *testing.T, s string) cid.Cid {
	t.Helper()
	c, err := cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}.Sum([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFetch: the request carries the collection and the requester's heads to
// the lookup, with the requester's peer ID; the answer's changes come back in
// order, none when the lookup has none.
func TestFetch(t *testing.T) {
	srv, cli := streamstest.NewHost(t), streamstest.NewHost(t)
	schema, heads := testCID(t, "schema"), []cid.Cid{testCID(t, "a"), testCID(t, "b")}
	var gotPeer peer.ID
	var gotSchema cid.Cid
	var gotHeads []cid.Cid
	answer := [][]byte{[]byte("first"), []byte("second")}
	s, err := policysync.NewServer(srv, func(p peer.ID, sc cid.Cid, hs []cid.Cid) [][]byte {
		gotPeer, gotSchema, gotHeads = p, sc, hs
		if len(hs) == 0 {
			return nil
		}
		return answer
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	streamstest.Connect(t, cli, srv)
	ctx := context.Background()
	got, err := policysync.Fetch(ctx, cli, srv.ID(), schema, heads)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0], answer[0]) || !bytes.Equal(got[1], answer[1]) {
		t.Fatalf("got %q", got)
	}
	if gotPeer != cli.ID() || !gotSchema.Equals(schema) || len(gotHeads) != 2 || !gotHeads[1].Equals(heads[1]) {
		t.Fatalf("lookup called with %s %s %v", gotPeer, gotSchema, gotHeads)
	}
	if got, err := policysync.Fetch(ctx, cli, srv.ID(), schema, nil); err != nil || len(got) != 0 {
		t.Fatalf("no changes: %q, %v", got, err)
	}
	if _, err := policysync.Fetch(ctx, cli, srv.ID(), schema, make([]cid.Cid, policy.MaxPrev+1)); !errors.Is(err, policysync.ErrLimit) {
		t.Fatalf("too many heads: %v, want ErrLimit", err)
	}
}

// TestFetchRefusesOversizedAnswers: a peer that answers with a change over
// policy.MaxChangeSize, more than MaxChanges changes or more than
// MaxAnswerBytes in all is refused with ErrLimit, having read no more than
// the limits.
func TestFetchRefusesOversizedAnswers(t *testing.T) {
	srv, cli := streamstest.NewHost(t), streamstest.NewHost(t)
	streamstest.Connect(t, cli, srv)
	ctx := context.Background()
	many := func(n, size int) []byte {
		var b bytes.Buffer
		for range n {
			b.Write(streamstest.Frame(make([]byte, size)))
		}
		return b.Bytes()
	}
	for name, answer := range map[string][]byte{
		"a change too large": streamstest.Frame(make([]byte, policy.MaxChangeSize+1)),
		"too many changes":   many(policysync.MaxChanges+1, 1),
		"too many bytes":     many(policysync.MaxAnswerBytes/policy.MaxChangeSize+1, policy.MaxChangeSize),
	} {
		t.Run(name, func(t *testing.T) {
			srv.SetStreamHandler(policysync.ProtocolID, func(st network.Stream) {
				defer st.Close()
				io.Copy(io.Discard, io.LimitReader(st, 1<<10)) // the request
				st.Write(answer)
			})
			if _, err := policysync.Fetch(ctx, cli, srv.ID(), testCID(t, "schema"), nil); !errors.Is(err, policysync.ErrLimit) {
				t.Fatalf("got %v, want ErrLimit", err)
			}
		})
	}
}
