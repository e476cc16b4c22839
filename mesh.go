package gossipdb

import (
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"
)

// meshOptions are the GossipSub options of the mesh: its parameters and the
// tracer behind Metrics.GossipMessages and GossipBytes, which also reports the
// messages pubsub drops and keeps n.mesh.
func (n *Node) meshOptions() []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithGossipSubParams(meshParams()),
		pubsub.WithRawTracer(gossipCounter{m: &n.metrics, lost: n.gossipLost, mesh: &n.mesh}),
	}
}

// gossipLost counts a message of topic from p that pubsub dropped before the
// node could merge it, and has catch-up fetch what it carried soon.
func (n *Node) gossipLost(topic string, p peer.ID) {
	n.metrics.droppedMessages.Add(1)
	id, err := cid.Decode(topic)
	if err != nil {
		return
	}
	if c, ok := n.collectionBySchema(id); ok {
		n.catchUp.lost(c.Name(), p)
	}
}

// meshParams are the GossipSub mesh parameters, reviewed for networks of 50
// and more nodes (docs/BENCHMARKS.md, "Fifty nodes"). They are GossipSub's
// defaults, spelled out so that they change only by our decision:
//
//   - D = 6 mesh peers per topic (between Dlo = 5 and Dhi = 12) reaches 50
//     nodes in 3 hops (6³ > 50) and 1,000 in 4, and every node receives each
//     message about D times. Options.PeersPerCollection (6 by default) makes
//     discovery find that many subscribers for the mesh to choose from.
//   - Flood publishing (newPubSub) sends a node's own change to every
//     subscribed peer it is connected to, so the first hop does not wait for
//     the mesh; the cost is one copy per such peer, at the writer only.
//   - Gossip about the last 3 heartbeats (1 s apart) goes to Dlazy = 6
//     non-mesh peers or a quarter of them, whichever is more, and repairs
//     losses within seconds; catch-up repairs the rest.
func meshParams() pubsub.GossipSubParams {
	p := pubsub.DefaultGossipSubParams()
	p.D, p.Dlo, p.Dhi = 6, 5, 12
	p.Dscore, p.Dout = 4, 2
	p.Dlazy, p.GossipFactor = 6, 0.25
	p.HistoryLength, p.HistoryGossip = 5, 3
	p.HeartbeatInitialDelay, p.HeartbeatInterval = 100*time.Millisecond, time.Second
	return p
}

// gossipCounter counts the pubsub messages and bytes a node receives
// (pubsub.RawTracer), reports to lost each message pubsub drops because a
// queue of its was full (its validation queue, its validation throttle, or
// the node's subscription), and keeps mesh up to date; the other events are
// ignored.
type gossipCounter struct {
	m    *metrics
	lost func(topic string, from peer.ID)
	mesh *meshPeers
}

// RecvRPC counts the messages an RPC carries, duplicates included, and its size.
func (g gossipCounter) RecvRPC(rpc *pubsub.RPC) {
	g.m.gossipMessages.Add(uint64(len(rpc.Publish)))
	g.m.gossipBytes.Add(uint64(proto.Size(&rpc.RPC)))
}

// RejectMessage reports the messages dropped because pubsub's validation
// queue was full or its validation throttled; other rejections are the
// validator's, which counts them itself.
func (g gossipCounter) RejectMessage(msg *pubsub.Message, reason string) {
	if reason == pubsub.RejectValidationQueueFull || reason == pubsub.RejectValidationThrottled {
		g.lost(msg.GetTopic(), msg.ReceivedFrom)
	}
}

// UndeliverableMessage reports a message dropped because the node's
// subscription did not read it in time.
func (g gossipCounter) UndeliverableMessage(msg *pubsub.Message) {
	g.lost(msg.GetTopic(), msg.ReceivedFrom)
}

// Graft, Prune, Leave and OnClosedOutboundStream keep the mesh peers up to
// date: the router takes a peer out of every mesh, without a PRUNE event,
// when its stream closes.
func (g gossipCounter) Graft(p peer.ID, topic string)    { g.mesh.graft(p, topic) }
func (g gossipCounter) Prune(p peer.ID, topic string)    { g.mesh.prune(p, topic) }
func (g gossipCounter) Leave(topic string)               { g.mesh.leave(topic) }
func (g gossipCounter) OnClosedOutboundStream(p peer.ID) { g.mesh.remove(p) }

func (gossipCounter) Join(string)                                          {}
func (gossipCounter) ValidateMessage(*pubsub.Message)                      {}
func (gossipCounter) DeliverMessage(*pubsub.Message)                       {}
func (gossipCounter) DuplicateMessage(*pubsub.Message)                     {}
func (gossipCounter) ThrottlePeer(peer.ID)                                 {}
func (gossipCounter) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (gossipCounter) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (gossipCounter) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (gossipCounter) OnNewOutboundStream(peer.ID, protocol.ID)             {}

// meshPeers are the peers in the node's GossipSub mesh of each topic, as the
// router's GRAFT and PRUNE events tell them: the peers to which it forwards
// every message of the topic (others learn of them by gossip, IHAVE/IWANT).
type meshPeers struct {
	mu     sync.Mutex
	topics map[string]map[peer.ID]struct{}
}

func (m *meshPeers) graft(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.topics == nil {
		m.topics = make(map[string]map[peer.ID]struct{})
	}
	if m.topics[topic] == nil {
		m.topics[topic] = make(map[peer.ID]struct{})
	}
	m.topics[topic][p] = struct{}{}
}

func (m *meshPeers) prune(p peer.ID, topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics[topic], p)
}

func (m *meshPeers) leave(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, topic)
}

// remove takes p out of every topic's mesh.
func (m *meshPeers) remove(p peer.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, peers := range m.topics {
		delete(peers, p)
	}
}

// count returns how many peers are in the mesh of topic.
func (m *meshPeers) count(topic string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.topics[topic])
}

// has reports whether p is in the mesh of topic.
func (m *meshPeers) has(topic string, p peer.ID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.topics[topic][p]
	return ok
}
