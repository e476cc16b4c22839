package gossipdb_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// attacker is a bare libp2p host with GossipSub that sends whatever bytes a test
// gives it to a collection's topic.
type attacker struct {
	h     host.Host
	topic *pubsub.Topic
}

func newAttacker(t *testing.T, topic string) *attacker {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true), pubsub.WithMaxMessageSize(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	return &attacker{h: h, topic: tp}
}

func (a *attacker) addr() string { return fmt.Sprintf("%s/p2p/%s", a.h.Addrs()[0], a.h.ID()) }

// frames encodes blocks as a pubsub message: each as its length and bytes.
func frames(data ...[]byte) []byte {
	var out []byte
	for _, d := range data {
		out = binary.AppendUvarint(out, uint64(len(d)))
		out = append(out, d...)
	}
	return out
}

func userSchema(t *testing.T) *crdt.Schema {
	t.Helper()
	s, err := schema.Parse(nodetest.UserSDL)
	if err != nil {
		t.Fatal(err)
	}
	return s[0]
}

func encoded(t *testing.T, b *crdt.Block) *crdt.Block {
	t.Helper()
	if err := b.Encode(); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostileGossipIsRejected: malformed or ill-typed blocks from a peer are
// rejected before they are merged or forwarded, and the node stays healthy.
func TestHostileGossipIsRejected(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	if err := n2.Subscribe(ctx, "User"); err != nil {
		t.Fatal(err)
	}
	nodetest.Connect(t, n1, n2)
	id, err := users[0].Create(ctx, map[string]any{"name": "honest", "age": 1})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, map[string]any{"name": "honest"})
	before, _ := users[1].Fingerprint(ctx)

	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	if err := n2.Connect(ctx, a.addr()); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if len(a.topic.ListPeers()) == 0 {
			return fmt.Errorf("attacker does not see node 2 on the topic")
		}
		return nil
	})
	genesis, err := crdt.Decode(mustGenesis(t, users[0], id))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.SHA2_256}.Sum([]byte("another schema"))
	cases := []struct {
		name string
		msg  []byte
	}{
		{"garbage", []byte("not a block at all")},
		{"bad frame", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"wrong type", frames(encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: make([]byte, 16),
			Set: map[string]any{"age": "abc"}}).Data)},
		{"unknown field", frames(encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: make([]byte, 16),
			Set: map[string]any{"nope": "x"}}).Data)},
		{"unknown schema", frames(encoded(t, &crdt.Block{Schema: foreign, Height: 1, Nonce: make([]byte, 16),
			Set: map[string]any{"name": "x"}}).Data)},
		{"inflated height", frames(encoded(t, &crdt.Block{Schema: s.ID, Doc: genesis.CID, Prev: []cid.Cid{genesis.CID},
			Height: 1000, Set: map[string]any{"name": "usurper"}}).Data)},
		{"non-canonical bytes", frames(append(append([]byte{}, genesis.Data...), 0))},
	}
	for _, tc := range cases {
		if err := a.topic.Publish(ctx, tc.msg); err != nil {
			t.Fatalf("%s: publish: %v", tc.name, err)
		}
	}
	oversized := make([]byte, 3<<20)
	if err := a.topic.Publish(ctx, oversized); err != nil {
		t.Fatalf("oversized: publish: %v", err)
	}
	nodetest.Eventually(t, 15*time.Second, func() error {
		if got := n2.Metrics().RejectedMessages; got < uint64(len(cases)) {
			return fmt.Errorf("%d of %d hostile messages rejected", got, len(cases))
		}
		return nil
	})
	if after, _ := users[1].Fingerprint(ctx); after != before {
		t.Errorf("hostile messages changed node 2's state")
	}
	if err := users[0].Update(ctx, id, map[string]any{"name": "still honest"}); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, map[string]any{"name": "still honest"})
}

// mustGenesis returns the genesis block bytes of document id, as a peer would.
func mustGenesis(t *testing.T, c *gossipdb.Collection, id gossipdb.DocID) []byte {
	t.Helper()
	data, err := c.Block(context.Background(), string(id))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestHostileBlockServers: peers that announce a change and then, asked for its
// history, never answer or answer with unrelated or corrupt blocks, change
// nothing and do not stall other documents.
func TestHostileBlockServers(t *testing.T) {
	ctx := context.Background()
	s := userSchema(t)
	for _, mode := range []string{"silent", "unrelated", "corrupt"} {
		t.Run(mode, func(t *testing.T) {
			n1 := nodetest.Open(t, "", nil)
			n2 := nodetest.Open(t, "", nil)
			users := nodetest.AddUser(t, n1, n2)
			if err := n2.Subscribe(ctx, "User"); err != nil {
				t.Fatal(err)
			}
			nodetest.Connect(t, n1, n2)
			honest, err := users[0].Create(ctx, map[string]any{"name": "honest"})
			if err != nil {
				t.Fatal(err)
			}
			waitDoc(t, users[1], honest, nil)

			// The attacker's document: genesis and a first change that node 2
			// never receives, then a second change that it does.
			g := encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: make([]byte, 16), Set: map[string]any{"name": "g"}})
			c1 := encoded(t, &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: 2, Set: map[string]any{"name": "c1"}})
			c2 := encoded(t, &crdt.Block{Schema: s.ID, Doc: g.CID, Prev: []cid.Cid{c1.CID}, Height: 3, Set: map[string]any{"name": "c2"}})
			other := encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: []byte("another document"), Set: map[string]any{"name": "x"}})
			a := newAttacker(t, s.ID.String())
			a.h.SetStreamHandler("/gossipdb/blocks/1", func(st network.Stream) {
				defer st.Reset()
				r := bufio.NewReader(st)
				size, err := binary.ReadUvarint(r)
				if err != nil || size > 1<<20 {
					return
				}
				if _, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
					return
				}
				switch mode {
				case "silent":
					io.Copy(io.Discard, r)
				case "unrelated":
					st.Write(append(frames(other.Data), 0))
				case "corrupt":
					bad := append([]byte{}, g.Data...)
					bad[len(bad)-1] ^= 0xff
					st.Write(append(frames(bad), 0))
				}
			})
			if err := n2.Connect(ctx, a.addr()); err != nil {
				t.Fatal(err)
			}
			nodetest.Eventually(t, 10*time.Second, func() error {
				if len(a.topic.ListPeers()) == 0 {
					return fmt.Errorf("attacker does not see node 2 on the topic")
				}
				return nil
			})
			before := n2.Metrics()
			if err := a.topic.Publish(ctx, frames(c2.Data)); err != nil {
				t.Fatal(err)
			}
			nodetest.Eventually(t, 10*time.Second, func() error {
				if n2.Metrics().ReceivedMessages == before.ReceivedMessages {
					return fmt.Errorf("node 2 did not take the attacker's message")
				}
				return nil
			})
			// Node 2 is now fetching (or failing to fetch) the gap; others flow.
			if err := users[0].Update(ctx, honest, map[string]any{"name": "still flowing"}); err != nil {
				t.Fatal(err)
			}
			waitDoc(t, users[1], honest, map[string]any{"name": "still flowing"})
			if mode != "silent" {
				nodetest.Eventually(t, 10*time.Second, func() error {
					if n2.Metrics().FailedFetches == before.FailedFetches {
						return fmt.Errorf("the bad answer was not counted as a failed fetch")
					}
					return nil
				})
			}
			for _, id := range []string{g.CID.String(), other.CID.String()} {
				if _, err := users[1].Get(ctx, gossipdb.DocID(id)); err == nil || !strings.Contains(err.Error(), "not found") {
					t.Errorf("document %s from a lying peer: %v", id, err)
				}
			}
		})
	}
}
