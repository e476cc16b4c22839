package gossipdb_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/nodetest"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/versions"
)

// attacker is a bare libp2p host with GossipSub that sends whatever bytes a test
// gives it to a collection's topic, with the nodes' wire options (unsigned
// messages: a signed one would be dropped before validation). key is its
// identity key.
type attacker struct {
	h     host.Host
	key   ed25519.PrivateKey
	ps    *pubsub.PubSub
	topic *pubsub.Topic
}

func newAttacker(t testing.TB, topic string, opts ...pubsub.Option) *attacker {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := crypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := libp2p.New(libp2p.Identity(sk), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	opts = append(append([]pubsub.Option{pubsub.WithFloodPublish(true), pubsub.WithMaxMessageSize(8 << 20)},
		gossipdb.WireOptions()...), opts...)
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ps.Join(topic)
	if err != nil {
		t.Fatal(err)
	}
	return &attacker{h: h, key: key, ps: ps, topic: tp}
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

func userSchema(t testing.TB) *crdt.Schema {
	t.Helper()
	s, err := schema.Parse(nodetest.UserSDL)
	if err != nil {
		t.Fatal(err)
	}
	return s[0]
}

func encoded(t testing.TB, b *crdt.Block) *crdt.Block {
	t.Helper()
	if err := b.Sign(testKey); err != nil {
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
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	id, err := users[0].Create(ctx, map[string]any{"name": "honest", "age": 1})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, map[string]any{"name": "honest"})
	before, _ := users[1].Fingerprint(ctx)

	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
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
func mustGenesis(t testing.TB, c *gossipdb.Collection, id gossipdb.DocID) []byte {
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
			nodetest.Subscribe(t, "User", n2)
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
			a.h.SetStreamHandler("/gossipdb/blocks/2", func(st network.Stream) {
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
			a.join(t, n2)
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

// newFlooder returns an attacker whose own pubsub holds little of what it
// publishes: it lives in the test's process, whose heap the flood tests
// measure. It queues at most 4 messages for a peer and keeps its message cache
// for one heartbeat of 100 ms.
func newFlooder(t testing.TB, topic string) *attacker {
	t.Helper()
	params := pubsub.DefaultGossipSubParams()
	params.HistoryLength, params.HistoryGossip = 1, 1
	params.HeartbeatInterval = 100 * time.Millisecond
	return newAttacker(t, topic, pubsub.WithPeerOutboundQueueSize(4), pubsub.WithGossipSubParams(params))
}

// hangFetches makes the attacker accept requests for history and never answer
// them, until the test ends: each fetch from it runs until its timeout.
func (a *attacker) hangFetches(t testing.TB) {
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	a.h.SetStreamHandler("/gossipdb/blocks/2", func(st network.Stream) {
		defer st.Reset()
		<-hung
	})
}

// answerFetches makes the attacker answer every request for history with the
// block data, whatever the request names.
func (a *attacker) answerFetches(data []byte) {
	a.h.SetStreamHandler("/gossipdb/blocks/2", func(st network.Stream) {
		r := bufio.NewReader(st)
		size, err := binary.ReadUvarint(r)
		if err != nil || size > 1<<20 {
			st.Reset()
			return
		}
		if _, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
			st.Reset()
			return
		}
		st.Write(append(frames(data), 0))
		st.Close()
	})
}

// refuseFetches makes the attacker refuse every request for history as a busy
// node does: it resets the stream at once, with
// network.StreamResourceLimitExceeded and before reading the request, as
// internal/streams' Server does beyond its limits, so that the requester sees
// blocks.ErrBusy.
func (a *attacker) refuseFetches() {
	a.h.SetStreamHandler("/gossipdb/blocks/2", func(st network.Stream) {
		st.ResetWithError(network.StreamResourceLimitExceeded)
	})
}

// honestPair opens an honest writer with opts1, not subscribed to User so
// that what an attacker sends node 2 does not reach it, and node 2 with
// opts2, subscribed and connected to it, and has the writer create a
// document that node 2 then holds: the honest traffic a test of an attacker
// checks goes on meanwhile.
func honestPair(t *testing.T, opts1, opts2 *gossipdb.Options) (n1, n2 *gossipdb.Node, users []*gossipdb.Collection, id gossipdb.DocID) {
	t.Helper()
	n1, n2 = nodetest.Open(t, "", opts1), nodetest.Open(t, "", opts2)
	users = nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	id, err := users[0].Create(context.Background(), map[string]any{"name": "honest", "age": 0})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, nil)
	return n1, n2, users, id
}

// join connects the attacker to victim and waits until it sees the victim on
// its topic, so that what it publishes next reaches the victim.
func (a *attacker) join(t testing.TB, victim *gossipdb.Node) {
	t.Helper()
	if err := victim.Connect(context.Background(), a.addr()); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if len(a.topic.ListPeers()) == 0 {
			return fmt.Errorf("attacker does not see the victim on the topic")
		}
		return nil
	})
}

// orphanBlock returns a change of document "doc <i>" whose only parent, "parent
// <i>", exists nowhere; its name field holds value.
func orphanBlock(t testing.TB, s *crdt.Schema, i int, value string) *crdt.Block {
	t.Helper()
	link := func(s string) cid.Cid {
		c, _ := cid.V1Builder{Codec: cid.DagCBOR, MhType: multihash.SHA2_256}.Sum([]byte(s))
		return c
	}
	return encoded(t, &crdt.Block{Schema: s.ID, Doc: link(fmt.Sprint("doc ", i)),
		Prev: []cid.Cid{link(fmt.Sprint("parent ", i))}, Height: 2, Set: map[string]any{"name": value}})
}

// orphanGivenUpOn publishes orphanBlock i, signed by a's key, and waits
// until n has given up on i+1 orphans: this one and those sent before it.
func (a *attacker) orphanGivenUpOn(t *testing.T, s *crdt.Schema, i int, n *gossipdb.Node) {
	t.Helper()
	b := orphanBlock(t, s, i, "x")
	if err := b.Sign(a.key); err != nil {
		t.Fatal(err)
	}
	if err := a.topic.Publish(context.Background(), frames(b.Data)); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if got := n.Metrics().DroppedOrphans; got <= uint64(i) {
			return fmt.Errorf("node gave up on %d of %d documents", got, i+1)
		}
		return nil
	})
}

// flood publishes from a the messages msg(0), msg(1), … until total bytes are
// published, msg returns nil, stop is closed or no peer is left to receive
// them (the victim disconnected the attacker), and returns how many bytes and messages it
// published. It builds one message at a time, as fast as it can: the
// attacker's queue (4 messages from newFlooder) drops what the victim does not
// read.
func flood(t testing.TB, a *attacker, total int, stop <-chan struct{}, msg func(i int) []byte) (sent, messages int) {
	for ; sent < total && len(a.topic.ListPeers()) > 0; messages++ {
		select {
		case <-stop:
			return sent, messages
		default:
		}
		m := msg(messages)
		if m == nil {
			return sent, messages
		}
		if err := a.topic.Publish(context.Background(), m); err != nil {
			t.Errorf("flood: %v", err)
			return sent, messages
		}
		sent += len(m)
	}
	return sent, messages
}

// floodOrphans floods (see flood) orphan blocks of blockSize bytes, one a
// message, and returns how many bytes and messages it published.
func floodOrphans(t testing.TB, a *attacker, s *crdt.Schema, blockSize, total int, stop <-chan struct{}) (sent, messages int) {
	value := strings.Repeat("x", blockSize-256)
	return flood(t, a, total, stop, func(i int) []byte { return frames(orphanBlock(t, s, i, value).Data) })
}

// invalidMessage returns the i-th message of a flood of invalid blocks of
// schema s; honest is the genesis of a document the victim holds.
type invalidMessage func(t testing.TB, s *crdt.Schema, honest *crdt.Block, i int) []byte

// invalidFloods are the kinds of invalid message a hostile peer floods with in
// TestInvalidFloodIsGraylisted and BenchmarkPropagationLatencyUnderInvalidFlood:
// every node rejects each of them, whatever else it holds. A new way for a
// block to be invalid is one more line here.
var invalidFloods = []struct {
	name string
	msg  invalidMessage
}{
	{"malformed", func(_ testing.TB, _ *crdt.Schema, _ *crdt.Block, i int) []byte {
		return fmt.Appendf(nil, "not a block %d", i)
	}},
	{"wrong type", func(t testing.TB, s *crdt.Schema, _ *crdt.Block, i int) []byte {
		return frames(encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: fmt.Appendf(nil, "flood %08d", i),
			Set: map[string]any{"age": "abc"}}).Data)
	}},
	{"unknown field", func(t testing.TB, s *crdt.Schema, _ *crdt.Block, i int) []byte {
		return frames(encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: fmt.Appendf(nil, "flood %08d", i),
			Set: map[string]any{"nope": "x"}}).Data)
	}},
	{"bad height", func(t testing.TB, s *crdt.Schema, honest *crdt.Block, i int) []byte {
		return frames(encoded(t, &crdt.Block{Schema: s.ID, Doc: honest.CID, Prev: []cid.Cid{honest.CID},
			Height: uint64(1000 + i), Set: map[string]any{"name": "usurper"}}).Data)
	}},
}

// TestInvalidFloodIsGraylisted: a peer that floods invalid blocks of any kind
// loses its standing within a few messages: the victim validates only the
// first ones, then disconnects the attacker and refuses it, while an honest
// node's changes keep arriving and nothing of the attacker's is stored.
func TestInvalidFloodIsGraylisted(t *testing.T) {
	const floodMessages = 20_000 // far more than the victim needs to see
	// rejectBound is how many of the attacker's messages node 2 may validate:
	// InvalidLimit take it below the graylist threshold (n invalid messages
	// cost n² points), after which the validator ignores the rest, queued
	// ones included; each of pubsub's validation workers (one per CPU) may
	// be validating one more meanwhile.
	rejectBound := uint64(gossipdb.InvalidLimit + runtime.NumCPU())
	for _, kind := range invalidFloods {
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			_, n2, users, id := honestPair(t, nil, nil)
			honest, err := crdt.Decode(mustGenesis(t, users[0], id))
			if err != nil {
				t.Fatal(err)
			}
			s := userSchema(t)
			a := newFlooder(t, s.ID.String())
			a.join(t, n2)
			kind.msg(t, s, honest, 0) // fails here, not in the flood's goroutine, if it cannot be built
			before := n2.Metrics()
			done := make(chan int, 1)
			go func() {
				_, messages := flood(t, a, math.MaxInt, nil, func(i int) []byte {
					if i >= floodMessages {
						return nil
					}
					return kind.msg(t, s, honest, i)
				})
				done <- messages
			}()
			// Honest changes arrive during the flood.
			var sent int
			deadline := time.Now().Add(time.Minute)
			for i := 1; ; i++ {
				if time.Now().After(deadline) {
					t.Fatalf("the flood still runs after %d honest changes", i)
				}
				if err := users[0].Update(ctx, id, map[string]any{"age": i}); err != nil {
					t.Fatal(err)
				}
				waitDoc(t, users[1], id, map[string]any{"age": int64(i)})
				select {
				case sent = <-done:
				default:
					continue
				}
				t.Logf("%d honest changes arrived during the flood", i)
				break
			}
			rejected := n2.Metrics().RejectedMessages - before.RejectedMessages
			t.Logf("the attacker published %d messages before it was cut off; node 2 validated and rejected %d of them",
				sent, rejected)
			if sent >= floodMessages {
				t.Errorf("the attacker published all its %d messages: it was never disconnected", sent)
			}
			if rejected > rejectBound {
				t.Errorf("node 2 validated and rejected %d of the attacker's messages, want at most %d", rejected, rejectBound)
			}
			if score, _ := gossipdb.PeerScore(n2, a.h.ID()); score >= gossipdb.GraylistThreshold {
				t.Errorf("the attacker's score is %v, want below %v", score, gossipdb.GraylistThreshold)
			}
			if err := n2.Connect(ctx, a.addr()); err == nil {
				t.Errorf("node 2 connected to a graylisted peer")
			}
			if err := n2.Check(ctx); err != nil {
				t.Error(err)
			}
			if d, err := users[1].Get(ctx, id); err != nil || d.Fields["name"] != "honest" {
				t.Errorf("the honest document after the flood: %v, %v", d, err)
			}
			if got, err := users[1].Count(ctx, nil); got != 1 {
				t.Errorf("node 2 holds %d documents (%v), want the honest one", got, err)
			}
		})
	}
}

// heapPeak samples the live heap (as of the last garbage collection) every
// 10 ms until stop is called, which returns the largest value seen.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-t.C:
			case <-done:
				result <- peak
				return
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

// TestOrphanFloodStaysWithinBudget: a peer floods change blocks of about 1 MiB
// whose parents exist nowhere, accepts the victim's requests for their history
// and never answers them, so that every fetch runs until its timeout. The
// victim's live heap stays within its budgets plus a fixed margin, the orphans
// beyond the attacker's share are refused and counted, and an honest node's
// changes keep arriving.
//
// The heap is the test process's: the victim, the honest writer and the
// attacker. Before the flood it is measured as the baseline; the margin of
// 64 MiB covers what the budgets do not: GossipSub's message cache, which
// keeps the raw bytes of each accepted message for 5 heartbeats (5 s): only
// the orphans that fit in the attacker's share are accepted; messages waiting
// for validation and the 2 being validated (3 MiB each while decoded); the
// batch being merged (8 MiB at most); and the attacker's own queue and message
// cache (4 messages, 100 ms; see newFlooder). Before the validator refused the
// orphans beyond the share, a silent attacker grew the heap by 218 MiB in 2.4 s
// (its messages were accepted and cached while its fetches waited), and by
// 578 MiB before the budgets existed.
func TestOrphanFloodStaysWithinBudget(t *testing.T) {
	const (
		orphanBytes = 16 << 20
		inboxBytes  = 8 << 20
		blockSize   = 1<<20 - 1<<10
		flood       = 192 << 20 // 12 times the orphan budget
		floodTime   = time.Minute
		margin      = 64 << 20
	)
	ctx := context.Background()
	_, n2, users, id := honestPair(t, nil, &gossipdb.Options{OrphanBytes: orphanBytes, OrphanPeerBytes: orphanBytes / 2, InboxBytes: inboxBytes})

	s := userSchema(t)
	a := newFlooder(t, s.ID.String())
	a.hangFetches(t)
	a.join(t, n2)
	runtime.GC()
	baseline := heapPeak()()
	stopHeap := heapPeak()
	stop := make(chan struct{})
	defer time.AfterFunc(floodTime, func() { close(stop) }).Stop()
	sent := make(chan int, 1)
	go func() {
		total, _ := floodOrphans(t, a, s, blockSize, flood, stop)
		sent <- total
	}()
	// Honest changes arrive during the flood.
	for i := 1; ; i++ {
		if err := users[0].Update(ctx, id, map[string]any{"age": i}); err != nil {
			t.Fatal(err)
		}
		waitDoc(t, users[1], id, map[string]any{"age": int64(i)})
		select {
		case total := <-sent:
			peak := stopHeap()
			m := n2.Metrics()
			t.Logf("flood of %d MiB; node 2 took %d messages: %d orphans refused, %d evicted, %d given up, %d dropped messages; "+
				"%d honest changes arrived meanwhile; live heap %d MiB before, peak %d MiB",
				total>>20, m.ReceivedMessages, m.RefusedOrphans, m.EvictedOrphans, m.DroppedOrphans, m.DroppedMessages, i, baseline>>20, peak>>20)
			if limit := baseline + orphanBytes + inboxBytes + margin; peak > limit {
				t.Errorf("live heap peaked at %d MiB; limit %d MiB (baseline %d + orphan budget %d + inbox %d + margin %d)",
					peak>>20, limit>>20, baseline>>20, orphanBytes>>20, inboxBytes>>20, margin>>20)
			}
			if m.RefusedOrphans == 0 {
				t.Errorf("no orphan was refused: %+v", m)
			}
			if m.OrphanBytes > orphanBytes {
				t.Errorf("orphans hold %d bytes, budget %d", m.OrphanBytes, orphanBytes)
			}
			return
		default:
		}
	}
}

// TestUnresolvableAuthorIsGraylisted: a peer whose blocks' history can never
// be completed loses its standing: once enough of its documents are given up
// on, the victim disconnects it, refuses it and ignores everything it sends,
// even valid changes.
func TestUnresolvableAuthorIsGraylisted(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	a.join(t, n2)
	// Small orphans, one document each, until node 2 has given up on enough of
	// them to ignore the attacker; each is given up on before the next is sent.
	for i := 0; gossipdb.Standing(n2, a.h.ID()) >= gossipdb.GraylistThreshold; i++ {
		if i > 200 {
			t.Fatalf("after %d documents given up on, the attacker's standing is %v", i, gossipdb.Standing(n2, a.h.ID()))
		}
		// Its own blocks: an orphan counts against the peer whose key signed it.
		a.orphanGivenUpOn(t, s, i, n2)
	}
	t.Logf("graylisted after %d documents given up on", n2.Metrics().DroppedOrphans)
	// It is disconnected and cannot come back.
	victim, err := peer.Decode(n2.ID())
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if a.h.Network().Connectedness(victim) == network.Connected {
			return errors.New("the attacker is still connected")
		}
		return nil
	})
	if err := n2.Connect(ctx, a.addr()); err == nil {
		t.Errorf("node 2 connected to a graylisted peer")
	}
	// A valid new document from the attacker, then one from an honest node.
	g := encoded(t, &crdt.Block{Schema: s.ID, Height: 1, Nonce: []byte("attacker's document"), Set: map[string]any{"name": "a"}})
	if err := a.topic.Publish(ctx, frames(g.Data)); err != nil {
		t.Fatal(err)
	}
	honest, err := users[0].Create(ctx, map[string]any{"name": "honest"})
	if err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], honest, nil)
	if _, err := users[1].Get(ctx, gossipdb.DocID(g.CID.String())); !errors.Is(err, gossipdb.ErrNotFound) {
		t.Errorf("a graylisted peer's document reached node 2: %v", err)
	}
}

// TestBusyForeverAuthorIsGraylisted: a peer publishes orphans of its own and
// refuses every request for their history as busy, as an honest peer does
// while it serves others, so that the victim asks again (FetchBusyRetries)
// before it gives them up, and holds them longer than for a peer that
// answers. Meanwhile the victim holds no more of them than Options.OrphanBytes
// and refuses the rest; once the retries run out it gives them up, and after
// a few rounds it graylists the attacker. The honest writer, whose block
// answers are all taken by other peers so that it refuses the victim's
// fetches as busy too (every peer a fetch asks is busy: an honest one that
// answers, even with nothing, would end the retries), keeps its standing, and
// its changes keep arriving throughout.
func TestBusyForeverAuthorIsGraylisted(t *testing.T) {
	const (
		orphanBytes = 4 << 20
		// blockSize makes each orphan cost about 1 MiB, so that 3 fit in the
		// budget, and each document given up 8 points: 8 of them graylist
		// the attacker.
		blockSize = 512 << 10
		interval  = 20 * time.Millisecond // between the attacker's messages
		attack    = 30 * time.Second      // until the attacker is graylisted
	)
	ctx := context.Background()
	// One peer's share is the whole budget: the attacker's orphans meet
	// OrphanBytes itself.
	n1, n2, users, id := honestPair(t, &gossipdb.Options{NoDiscovery: true},
		&gossipdb.Options{NoDiscovery: true, OrphanBytes: orphanBytes, OrphanPeerBytes: orphanBytes})
	gossipdb.SetFetchBackoff(n2, 10*time.Millisecond) // 0.63 s of busy retries, not 6.3 s
	defer holdBlockAnswers(t, n1)()

	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	a.refuseFetches()
	a.join(t, n2)
	victim, err := peer.Decode(n2.ID())
	if err != nil {
		t.Fatal(err)
	}
	writer, err := peer.Decode(n1.ID())
	if err != nil {
		t.Fatal(err)
	}
	connected := func() bool { return a.h.Network().Connectedness(victim) == network.Connected }

	// The attacker publishes an orphan of a new document every interval
	// until it is disconnected; the most node 2 holds is sampled meanwhile.
	stop := make(chan struct{})
	var running sync.WaitGroup
	defer func() { close(stop); running.Wait() }()
	value := strings.Repeat("x", blockSize)
	var published atomic.Int64
	running.Go(func() {
		for i := 0; len(a.topic.ListPeers()) > 0; i++ {
			b := orphanBlock(t, s, i, value)
			if err := b.Sign(a.key); err != nil {
				t.Error(err)
				return
			}
			if err := a.topic.Publish(ctx, frames(b.Data)); err != nil {
				t.Error(err)
				return
			}
			published.Add(1)
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	})
	var peak atomic.Uint64
	running.Go(func() {
		for {
			if held := n2.Metrics().OrphanBytes; held > peak.Load() {
				peak.Store(held)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})

	// Honest changes arrive until the attacker is graylisted and disconnected.
	deadline := time.Now().Add(attack)
	changes := 0
	for gossipdb.Standing(n2, a.h.ID()) >= gossipdb.GraylistThreshold || connected() {
		if time.Now().After(deadline) {
			m := n2.Metrics()
			t.Fatalf("after %v the attacker's standing is %v (connected: %v); node 2 gave up on %d of its orphans, refused %d, holds %d bytes, %d failed fetch attempts",
				attack, gossipdb.Standing(n2, a.h.ID()), connected(), m.DroppedOrphans, m.RefusedOrphans, m.OrphanBytes, m.FailedFetches)
		}
		changes++
		if err := users[0].Update(ctx, id, map[string]any{"age": changes}); err != nil {
			t.Fatal(err)
		}
		waitDoc(t, users[1], id, map[string]any{"age": int64(changes)})
	}
	if err := n2.Connect(ctx, a.addr()); err == nil {
		t.Errorf("node 2 connected to a graylisted peer")
	}
	// What was held of its orphans is given up on.
	nodetest.Eventually(t, 10*time.Second, func() error {
		if m := n2.Metrics(); m.OrphanBytes != 0 {
			return fmt.Errorf("node 2 still holds %d bytes of orphans", m.OrphanBytes)
		}
		return nil
	})
	changes++
	if err := users[0].Update(ctx, id, map[string]any{"age": changes}); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, users[1], id, map[string]any{"age": int64(changes)})

	m := n2.Metrics()
	cost := uint64(2*len(orphanBlock(t, s, 0, value).Data) + 1<<10) // what one orphan counts against the budget
	t.Logf("the attacker published %d orphans before it was graylisted: node 2 held at most %d KiB of them, refused %d, evicted %d, gave up on %d "+
		"after %d failed fetch attempts; %d honest changes arrived meanwhile",
		published.Load(), peak.Load()>>10, m.RefusedOrphans, m.EvictedOrphans, m.DroppedOrphans, m.FailedFetches, changes)
	if p := peak.Load(); p > orphanBytes {
		t.Errorf("node 2 held %d bytes of orphans, budget %d", p, orphanBytes)
	} else if p+cost <= orphanBytes {
		t.Errorf("node 2 held at most %d bytes of orphans: the attacker never filled the budget of %d", p, orphanBytes)
	}
	// (An orphan may also be parked and evict another: two messages checked
	// against the attacker's share at once may both fit it. Either way the
	// budget holds, which is what peak checks.)
	if m.RefusedOrphans == 0 {
		t.Errorf("no orphan beyond the budget was refused: %+v", m)
	}
	// The fetch of each document given up on asked both peers
	// 1+FetchBusyRetries times, but those in flight when the attacker was
	// disconnected: at most as many as the budget holds.
	full := m.DroppedOrphans - min(m.DroppedOrphans, orphanBytes/cost)
	if want := 2 * (1 + gossipdb.FetchBusyRetries) * full; m.FailedFetches < want {
		t.Errorf("%d failed fetch attempts for %d documents given up on, want at least %d: the fetches did not ask the busy peers again",
			m.FailedFetches, m.DroppedOrphans, want)
	}
	if got := gossipdb.Standing(n2, writer); got != 0 {
		t.Errorf("node 2 holds %v points against the honest writer, which was only busy", got)
	}
	if !nodetest.HasPeer(n2, n1) {
		t.Errorf("the honest writer was disconnected")
	}
	if got, err := users[1].Count(ctx, nil); got != 1 {
		t.Errorf("node 2 holds %d documents (%v), want the honest one", got, err)
	}
}

// TestRelayedOrphansCostTheRelayNothing: orphans count against the peer
// whose key signed them, not against the peer that relayed them (messages
// carry no signed sender): an attacker connected to node 1 only sends it
// orphans, node 1 relays them to node 2, and both give up on them. Node 1
// holds them against the attacker; node 2 holds nothing against node 1.
func TestRelayedOrphansCostTheRelayNothing(t *testing.T) {
	const docs = 15 // beyond the unresolvedForgiven (10) that cost nothing
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)
	nodetest.Connect(t, n1, n2)
	nodetest.WaitTopicPeers(t, n1, "User", n2)
	nodetest.WaitTopicPeers(t, n2, "User", n1)
	// Node 1 relays at once to node 2 what it accepts only once node 2 is in
	// its mesh of the collection (a heartbeat after they connect); before,
	// node 2 would learn of the orphans only by gossip, a heartbeat later, by
	// which time the attacker has sent them all.
	s := userSchema(t)
	id1, _ := peer.Decode(n1.ID())
	id2, _ := peer.Decode(n2.ID())
	nodetest.Eventually(t, 30*time.Second, func() error {
		if !gossipdb.InMesh(n1, s.ID.String(), id2) {
			return errors.New("node 2 is not in node 1's mesh yet")
		}
		return nil
	})
	relayed := func() uint64 { return n2.Metrics().GossipBlocks }
	a := newAttacker(t, s.ID.String())
	a.join(t, n1)
	// Documents are sent until node 2 has received enough of them, fewer than
	// the 60 for which node 1 graylists the attacker.
	for i := 0; relayed() < docs; i++ {
		if i == 50 {
			t.Fatalf("node 2 received %d of the %d documents node 1 gave up on (in node 1's mesh: %v): %+v", relayed(), i, gossipdb.InMesh(n1, s.ID.String(), id2), n2.Metrics())
		}
		a.orphanGivenUpOn(t, s, i, n1)
	}
	nodetest.Eventually(t, 30*time.Second, func() error {
		if m := n2.Metrics(); m.DroppedOrphans < docs {
			return fmt.Errorf("node 2 gave up on %d of the %d documents it received", m.DroppedOrphans, relayed())
		}
		return nil
	})
	if got := gossipdb.Standing(n2, id1); got != 0 {
		t.Errorf("node 2 holds %v points against node 1, which only relayed the orphans", got)
	}
	if got := gossipdb.Standing(n1, a.h.ID()); got >= 0 {
		t.Errorf("node 1 holds nothing against the attacker (%v) after giving up on %d of its documents", got, n1.Metrics().DroppedOrphans)
	}
}

// TestSlowHonestPeerKeepsStanding: normal behaviour costs an honest peer none
// of its standing, on either side, even when it is slow: a node that joins
// late and catches up on thousands of documents while the writer keeps
// changing them (so that gossip brings changes whose history it must fetch),
// loses a third of the gossip, and merges so slowly that its inbox overflows.
func TestSlowHonestPeerKeepsStanding(t *testing.T) {
	const docs = 2000
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", &gossipdb.Options{InboxBytes: 64 << 10})
	gossipdb.SetGossipLoss(n2, 0.3)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n2)
	batch := make([]map[string]any, 100)
	var ids []gossipdb.DocID
	for len(ids) < docs {
		for i := range batch {
			batch[i] = map[string]any{"name": fmt.Sprint("user ", len(ids)+i), "age": 0}
		}
		got, err := users[0].CreateMany(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	nodetest.Connect(t, n2, n1)
	// Changes to documents node 2 does not hold yet, while it catches up.
	for i := range 500 {
		if err := users[0].Update(ctx, ids[(i*37)%docs], map[string]any{"age": i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := users[0].Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 2*time.Minute, func() error {
		if got, _ := users[1].Fingerprint(ctx); got != want {
			return errors.New("node 2 has not caught up")
		}
		return nil
	})
	m := n2.Metrics()
	t.Logf("node 2 caught up; it dropped %d messages (inbox full), fetched %d histories, gave up on %d orphans",
		m.DroppedMessages, m.Fetches, m.DroppedOrphans)
	id1, _ := peer.Decode(n1.ID())
	id2, _ := peer.Decode(n2.ID())
	for _, side := range []struct {
		n    *gossipdb.Node
		peer peer.ID
	}{{n2, id1}, {n1, id2}} {
		nodetest.Eventually(t, 10*time.Second, func() error {
			if _, ok := gossipdb.PeerScore(side.n, side.peer); !ok {
				return fmt.Errorf("%s has not scored %s yet", side.n.ID(), side.peer)
			}
			return nil
		})
		if score, _ := gossipdb.PeerScore(side.n, side.peer); score < 0 {
			t.Errorf("%s gives honest peer %s the score %v", side.n.ID(), side.peer, score)
		}
		if s := gossipdb.Standing(side.n, side.peer); s != 0 {
			t.Errorf("%s holds %v points against honest peer %s", side.n.ID(), s, side.peer)
		}
	}
	if !nodetest.HasPeer(n1, n2) || !nodetest.HasPeer(n2, n1) {
		t.Errorf("the honest peers are no longer connected")
	}
}

// TestParentsReadOncePerMessage: the blocks of one message may all name the
// same stored parent, the largest there can be; checking them reads and
// decodes it once, not once for each block (a message of 2 MiB holds
// thousands of small blocks: as many decodings of 1 MiB).
func TestParentsReadOncePerMessage(t *testing.T) {
	const children = 200
	ctx := context.Background()
	n := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n)
	id, err := users[0].Create(ctx, map[string]any{"name": strings.Repeat("x", 900<<10)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gossipdb.StoredBlock(n, users[0], string(id))
	if err != nil {
		t.Fatal(err)
	}
	blks := make([]*crdt.Block, children)
	for i := range blks {
		blks[i] = encoded(t, &crdt.Block{Schema: g.Schema, Doc: g.CID, Prev: []cid.Cid{g.CID}, Height: g.Height + 1,
			Set: map[string]any{"age": int64(i)}})
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := gossipdb.CheckParents(n, users[0], blks); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("checking %d children of a block of %d bytes allocated %d bytes", children, len(g.Data), allocated)
	if allocated > 16*uint64(len(g.Data)) {
		t.Fatalf("checking %d children of a block of %d bytes allocated %d bytes: the parent was read for each", children, len(g.Data), allocated)
	}
}

// TestHostileTxnIDDoesNotDropHonestTxn: a peer that saw an honest
// transaction's ID on gossip keeps sending a victim that has not merged it
// yet blocks of its own, under its own key, with that ID and another part
// count. The honest transaction, which the victim then catches up, still
// arrives whole: a block of one author never contradicts another author's
// transaction. (When it did, the victim dropped the honest blocks as invalid
// each time catch-up brought them, and never showed them.)
func TestHostileTxnIDDoesNotDropHonestTxn(t *testing.T) {
	ctx := context.Background()
	n1 := nodetest.Open(t, "", nil)
	n2 := nodetest.Open(t, "", nil)
	users := nodetest.AddUser(t, n1, n2)
	nodetest.Subscribe(t, "User", n1, n2)

	s := userSchema(t)
	a := newAttacker(t, s.ID.String())
	seen := make(chan []byte, 16) // the messages of others the attacker saw, neither forwarded nor delivered
	if err := a.ps.RegisterTopicValidator(s.ID.String(), func(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if from == a.h.ID() {
			return pubsub.ValidationAccept
		}
		select {
		case seen <- m.Data:
		default:
		}
		return pubsub.ValidationIgnore
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.topic.Subscribe(); err != nil {
		t.Fatal(err)
	}
	a.join(t, n1)
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !slices.Contains(gossipdb.SubscribedPeers(n1, s.ID.String()), a.h.ID()) {
			return fmt.Errorf("the writer does not see the attacker on the topic")
		}
		return nil
	})

	err := n1.Update(ctx, func(tx *gossipdb.Txn) error {
		for i := range 3 {
			if _, err := tx.Create("User", map[string]any{"name": "honest", "age": i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var id []byte
	for id == nil {
		select {
		case data := <-seen:
			blks, _, err := gossipdb.DecodeMessage(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range blks {
				if b.Txn != nil {
					id = b.Txn.ID
				}
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the attacker saw no transaction")
		}
	}

	if err := n2.Connect(ctx, a.addr()); err != nil {
		t.Fatal(err)
	}
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !slices.ContainsFunc(a.topic.ListPeers(), func(p peer.ID) bool { return p.String() == n2.ID() }) {
			return fmt.Errorf("attacker does not see the victim on the topic")
		}
		return nil
	})
	// The attacker sends a block with the ID every 20 ms, each a new genesis,
	// so that whenever the victim drops the ones it holds another is held
	// before the honest blocks come again.
	stop := make(chan struct{})
	var sending sync.WaitGroup
	t.Cleanup(func() { close(stop); sending.Wait() })
	sending.Go(func() {
		for i := 0; ; i++ {
			hostile, err := crdt.NewGenesisPart(s, map[string]any{"name": "hostile"}, nil, fmt.Appendf(nil, "%016d", i),
				&crdt.TxnPart{ID: id, Parts: crdt.MaxTxnParts}, a.key)
			if err != nil {
				t.Error(err)
				return
			}
			if err := a.topic.Publish(ctx, frames(hostile.Data)); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	nodetest.Eventually(t, 30*time.Second, func() error {
		if n2.Metrics().TxnBytes == 0 {
			return fmt.Errorf("the victim holds no block of the hostile transaction yet")
		}
		return nil
	})

	nodetest.Connect(t, n1, n2) // catch-up brings the honest transaction
	nodetest.Eventually(t, 45*time.Second, func() error {
		if k := count(t, users[1], nil); k != 3 {
			m := n2.Metrics()
			return fmt.Errorf("victim shows %d documents, want the 3 honest ones (%d blocks dropped as invalid, %d caught up)",
				k, m.InvalidTxnBlocks, m.CatchUpBlocks)
		}
		return nil
	})
	if k := count(t, users[1], gossipdb.Where{"name": "hostile"}); k != 0 {
		t.Errorf("victim shows %d documents of the incomplete hostile transaction", k)
	}
}

// serveVersions makes the attacker answer /gossipdb/versions/1 with the
// definitions given to add, each under its version's ID (nothing for a
// version it was not given).
func (a *attacker) serveVersions() (add func(v cid.Cid, def []byte)) {
	var mu sync.Mutex
	defs := map[cid.Cid][]byte{}
	a.h.SetStreamHandler(versions.ProtocolID, func(st network.Stream) {
		defer st.Close()
		r := bufio.NewReader(st)
		size, err := binary.ReadUvarint(r)
		if err != nil || size > 1<<10 {
			st.Reset()
			return
		}
		id := make([]byte, size)
		if _, err := io.ReadFull(r, id); err != nil {
			return
		}
		v, err := cid.Cast(id)
		if err != nil {
			st.Reset()
			return
		}
		mu.Lock()
		def := defs[v]
		mu.Unlock()
		if def != nil {
			st.Write(frames(def))
		}
	})
	return func(v cid.Cid, def []byte) {
		mu.Lock()
		defer mu.Unlock()
		defs[v] = def
	}
}
