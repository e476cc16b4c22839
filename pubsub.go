package gossipdb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pubsubpb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/store"
)

// A pubsub message carries one or more blocks of one collection, each framed as
// its length (unsigned varint) followed by its bytes. Before them comes a header:
// a zero byte (no frame has length zero, so it cannot start a frame), then the
// publisher's clock when it sent the message, in microseconds since the Unix
// epoch (unsigned varint); receivers measure the propagation latency with it
// (see Node.Collector). A message without the header, as nodes before it sent
// them, is accepted. maxMessageSize bounds a message; a CreateMany is split into
// as few messages as that allows.
const (
	maxMessageSize = 2 << 20
	// pubsubOverhead is room for the pubsub envelope (topic, framing).
	pubsubOverhead = 64 << 10
	// subscriptionBuffer is how many received messages pubsub holds for our reader
	// before it drops ("subscriber too slow"); the reader hands them to the
	// collection's merge worker, so this only absorbs scheduling jitter.
	subscriptionBuffer = 8192
	// validateQueue is how many received messages may wait for validation; past
	// it pubsub drops them (catch-up repairs). Messages are validated inline by
	// one worker per CPU, so no more goroutines than that hold one.
	validateQueue = 1024
	// peerOutboundQueue is how many messages may wait to be sent to one peer.
	peerOutboundQueue = 8192
	// publishQueueSize is how many committed writes may wait to be published
	// (see also publishQueueBytes).
	publishQueueSize = 16384
	// publishBatch is the most queued writes the publisher packs together.
	publishBatch = 1024
	// undecodedBytes is the size above which a message is ignored without
	// being decoded while the orphans of the peer it came through fill that
	// peer's share (Options.OrphanPeerBytes): see validator.
	undecodedBytes = 64 << 10
)

// Peer scoring. GossipSub scores every peer; below graylistThreshold it ignores
// everything the peer sends, before validation, so the peer's messages stop
// costing memory and CPU. Two things lower a score, and nothing an honest peer
// does in normal operation does either:
//
//   - invalid messages on a collection's topic (malformed, ill-typed, inflated
//     height; see validator): n of them cost n² points (GossipSub's P4), forgotten
//     over about invalidForget;
//   - documents whose history could not be completed (their orphans dropped as
//     orphans.Unresolved), one point for each author of those orphans (the
//     peer whose key signed them, not the peer that relayed them: see
//     gossipArrivals) (standing),
//     beyond unresolvedForgiven; an author whose points take it below
//     graylistThreshold stays below it for graylistFor, and is disconnected and
//     refused connections meanwhile (standing is the host's connection gater),
//     so that what it sends stops costing even the reading. An honest author
//     stored the history of its blocks before publishing them and answers for
//     it. A failed fetch counts even when the orphans it was for were evicted
//     while it ran (a flood evicts its own orphans); orphans evicted before
//     their fetch started cost nothing, nor do orphans whose history arrives
//     late: a slow catch-up, or a peer that forwarded a change before its
//     parent arrived, is normal.
//
// A peer whose score falls below graylistThreshold, for either cause, is
// moreover disconnected and refused connections for graylistFor (standing is
// part of the host's connection gater): GossipSub alone would still read and
// decode every RPC the peer sends before ignoring it. The node looks at the
// scores every scoreInspectInterval, so a flood of invalid messages is cut off
// within about 100 ms: n invalid messages cost n², so the eighth one takes a
// peer past graylistThreshold and everything it sends after is ignored
// without validation, until the disconnection stops even the reading.
//
// Honest peers are never penalised for normal behaviour: their blocks are
// valid whatever the receiver's state (validator rejects only what no node
// could accept; blocks waiting for a parent or a collection version are
// ignored or held, not rejected), a slow peer or a slow catch-up only delays
// history (which costs nothing, see above), and a peer's score never falls
// for being slow to deliver, since the delivery components are off.
//
// Orphans that would not fit in the share of the peer they come through
// (Options.OrphanPeerBytes) are not even accepted: the validator ignores their
// message, so that GossipSub neither forwards it nor keeps it in its message
// cache while the peer's earlier orphans wait for their fetches.
//
// Every other GossipSub score component stays off: IP colocation would punish
// nodes sharing an address (every test, every NAT), and the mesh-delivery
// components need tuning to a traffic rate that collections do not have. Scores
// of peers that disconnect are kept for invalidForget, so that reconnecting does
// not wash them.
const (
	gossipThreshold    = -10 // below: no gossip (IHAVE/IWANT) with the peer
	publishThreshold   = -25 // below: our own changes are not flood-published to it
	graylistThreshold  = -50 // below: everything it sends is ignored
	invalidForget      = 10 * time.Minute
	unresolvedHalfLife = 10 * time.Minute
	graylistFor        = 10 * time.Minute
	// unresolvedForgiven is how many given-up documents an author may have
	// (decaying with unresolvedHalfLife) before they lower its score, one point
	// each (or one per unresolvedBytesPerPoint of its blocks): a fetch can fail
	// for honest reasons (a busy or briefly unreachable author), so it takes 60
	// documents of small blocks in a few minutes to be graylisted.
	unresolvedForgiven = 10
	// unresolvedBytesPerPoint is what a given-up document's blocks may hold for
	// one point: an honest document of small blocks costs one, a 1 MiB block
	// with a parent nobody can supply 16, so that about 4 MiB of such blocks
	// graylist their author (honest blocks are rarely near the 1 MiB limit, and
	// a few such failures are still forgiven).
	unresolvedBytesPerPoint = 64 << 10
)

// invalidLimit is how many invalid messages, in quick succession, take a
// peer's score below graylistThreshold: n of them cost n² points (see
// topicScore), and 8² = 64 is the first square past 50. From then on GossipSub
// ignores the RPCs the peer sends; the validator ignores, unvalidated, the
// peer's messages already queued for validation (see standing.ignoring).
const invalidLimit = 8

// scoreInspectInterval is how often the node looks for peers below
// graylistThreshold to disconnect and refuse them.
const scoreInspectInterval = 100 * time.Millisecond

// peerScore returns the GossipSub scoring parameters (see the constants above).
func (n *Node) peerScore() (*pubsub.PeerScoreParams, *pubsub.PeerScoreThresholds) {
	return &pubsub.PeerScoreParams{
			SkipAtomicValidation: true,
			Topics:               map[string]*pubsub.TopicScoreParams{},
			AppSpecificScore:     n.standing.score,
			AppSpecificWeight:    1,
			DecayInterval:        pubsub.DefaultDecayInterval,
			DecayToZero:          pubsub.DefaultDecayToZero,
			RetainScore:          invalidForget,
		}, &pubsub.PeerScoreThresholds{
			SkipAtomicValidation: true,
			GossipThreshold:      gossipThreshold,
			PublishThreshold:     publishThreshold,
			GraylistThreshold:    graylistThreshold,
		}
}

// topicScore returns the scoring parameters of a collection's topic.
func topicScore() *pubsub.TopicScoreParams {
	return &pubsub.TopicScoreParams{
		SkipAtomicValidation:           true,
		TopicWeight:                    1,
		TimeInMeshQuantum:              time.Second, // unused (weight 0), but GossipSub divides by it
		InvalidMessageDeliveriesWeight: -1,
		InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(invalidForget),
	}
}

// standing keeps the given-up documents counted against each connected author,
// decaying with unresolvedHalfLife; GossipSub reads it as the app-specific score.
// It also counts the invalid messages each peer relayed (see rejected).
type standing struct {
	n       *Node
	mu      sync.Mutex
	points  map[peer.ID]*demerit
	scores  map[peer.ID]float64     // GossipSub's, as of the last inspect
	invalid map[peer.ID]*invalidRun // see rejected
}

// invalidRun counts the invalid messages a peer relayed as GossipSub does for
// its score (P4): each adds one, and the count decays to a hundredth over
// invalidForget (pubsub.ScoreParameterDecay).
type invalidRun struct {
	count float64
	at    time.Time // when count was last brought up to date
}

func (r *invalidRun) decayed(now time.Time) float64 {
	return r.count * math.Pow(pubsub.DefaultDecayToZero, float64(now.Sub(r.at))/float64(invalidForget))
}

// rejected counts an invalid message relayed by p. When maxDemerits peers are
// counted, those whose count decayed below one are forgotten; a peer that
// cannot be counted then is still scored by GossipSub.
func (s *standing) rejected(p peer.ID) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.invalid[p]
	if r == nil {
		if len(s.invalid) >= maxDemerits {
			for q, r := range s.invalid {
				if r.decayed(now) < 1 {
					delete(s.invalid, q)
				}
			}
			if len(s.invalid) >= maxDemerits {
				return
			}
		}
		r = &invalidRun{}
		s.invalid[p] = r
	}
	r.count = r.decayed(now) + 1
	r.at = now
}

// ignoring reports whether the validator ignores, unvalidated, what p relays:
// the invalid messages p relayed take its GossipSub score below
// graylistThreshold on their own (count² points). GossipSub ignores the RPCs
// p sends once its score is updated; this covers the messages p had already
// queued for validation, which would each cost a decoding.
func (s *standing) ignoring(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.invalid[p]
	if r == nil {
		return false
	}
	c := r.decayed(time.Now())
	return c*c > -graylistThreshold
}

type demerit struct {
	points float64
	at     time.Time // when points was last brought up to date
	// until is when a graylisted author's score may rise again: without it, a
	// score just past the threshold would decay back above it in seconds.
	until time.Time
}

// maxDemerits is how many peers standing remembers before it forgets those
// whose points decayed below one.
const maxDemerits = 1024

// penalize counts a given-up document of author p, whose dropped blocks held
// size bytes, against p: a point, or one per unresolvedBytesPerPoint if more, so
// that a flood of large blocks with missing parents loses its author its
// standing after a few MiB rather than after 60 documents. Authors not connected
// are not counted: GossipSub scores only connected peers, and anyone can sign
// with fresh keys.
func (s *standing) penalize(p peer.ID, size int) {
	if s.n.host.Network().Connectedness(p) != network.Connected {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.points) >= maxDemerits {
		for q, d := range s.points {
			if d.decayed(now) < 1 && now.After(d.until) {
				delete(s.points, q)
			}
		}
	}
	d := s.points[p]
	if d == nil {
		d = &demerit{}
		s.points[p] = d
	}
	d.points = d.decayed(now) + float64(max(1, size/unresolvedBytesPerPoint))
	d.at = now
	if d.points-unresolvedForgiven > -graylistThreshold {
		if d.until.Before(now) {
			// Closing its connections also stops what GossipSub would still read
			// from it; the gater refuses new ones until d.until.
			s.n.goFunc(func() { s.n.host.Network().ClosePeer(p) })
		}
		d.until = now.Add(graylistFor)
	}
}

// inspect receives every scored peer's GossipSub score (every
// scoreInspectInterval): a peer below graylistThreshold that is not refused
// already is disconnected and refused for graylistFor. GossipSub keeps scoring
// a disconnected peer for invalidForget, so a peer still below the threshold
// when its time is up is refused again at once.
func (s *standing) inspect(scores map[peer.ID]float64) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scores = scores
	for p, score := range scores {
		if score >= graylistThreshold {
			continue
		}
		d := s.points[p]
		if d == nil {
			d = &demerit{at: now}
			s.points[p] = d
		}
		if now.Before(d.until) {
			continue
		}
		d.until = now.Add(graylistFor)
		s.n.log.Info("Graylisted a peer", logKeyPeer, p.String(), logKeyScore, score)
		s.n.goFunc(func() { s.n.host.Network().ClosePeer(p) })
	}
}

// banned reports whether p is graylisted (for unresolved documents or by its
// GossipSub score): the node neither dials it nor accepts its connections.
func (s *standing) banned(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.points[p]
	return d != nil && time.Now().Before(d.until)
}

// standing is the host's connection gater: it refuses banned peers.
var _ connmgr.ConnectionGater = (*standing)(nil)

func (s *standing) InterceptPeerDial(p peer.ID) bool { return !s.banned(p) }

func (s *standing) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !s.banned(p) }

func (s *standing) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (s *standing) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !s.banned(p)
}

func (s *standing) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// score is p's app-specific score: minus its given-up documents beyond
// unresolvedForgiven, and below graylistThreshold until d.until. GossipSub
// calls it under its own lock; it takes only s.mu.
func (s *standing) score(p peer.ID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.points[p]
	if d == nil {
		return 0
	}
	now := time.Now()
	score := -max(0, d.decayed(now)-unresolvedForgiven)
	if now.Before(d.until) {
		score = min(score, 2*graylistThreshold)
	}
	return score
}

func (d *demerit) decayed(now time.Time) float64 {
	return d.points * math.Exp2(-float64(now.Sub(d.at))/float64(unresolvedHalfLife))
}

// errMessage reports a malformed pubsub message.
var errMessage = errors.New("gossipdb: malformed message")

// newPubSub starts the GossipSub router on the node's host.
func (n *Node) newPubSub() (*pubsub.PubSub, error) {
	return pubsub.NewGossipSub(n.ctx, n.host, append(append(n.meshOptions(), wireOptions()...),
		pubsub.WithPeerScore(n.peerScore()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(n.standing.inspect), scoreInspectInterval),
		pubsub.WithMaxMessageSize(maxMessageSize+pubsubOverhead),
		pubsub.WithPeerOutboundQueueSize(peerOutboundQueue),
		pubsub.WithValidateQueueSize(validateQueue),
		// Send our own changes to every peer subscribed to the topic, not only to
		// mesh peers: the mesh forms at GossipSub heartbeats, so without this a
		// change made in the first second of a subscription reaches nobody.
		pubsub.WithFloodPublish(true),
		// A restricted collection's changes go to its members only: a peer
		// that may not read it never counts as subscribed to its topic, so it
		// is never in the mesh, never flood-published to, and its grafts,
		// IHAVEs and IWANTs for the topic are ignored.
		pubsub.WithSubscriptionFilter(memberFilter{n}),
		pubsub.WithPeerFilter(n.topicFilter),
	)...)
}

// GossipSub's own message signatures are off. By default GossipSub signs every
// message with its publisher's peer key (StrictSign) and every receiver
// verifies it: one signature and two verifications per message (the publisher
// validates its own), which with one block per message cost as much as the
// block's own signature. They guard nothing the blocks' signatures do not:
//
//   - Content. Every block carries its author's signature, and accept verifies
//     it on every path before anything else looks at the block; a message is
//     nothing but framed blocks and a send time, which only feeds a latency
//     metric.
//   - Authorship. What a node needs to know of a gossiped block's author it
//     takes from the key that signed the block (gossipArrivals): the
//     documents whose history cannot be completed count against that peer
//     (standing), and it is asked for the history. A message's signed sender
//     attested only who published it, and anyone could publish as a fresh
//     peer ID, as anyone can sign blocks with a fresh key.
//   - Scores. GossipSub scores the peer a message came through (ReceivedFrom,
//     the connection, which cannot be forged), not its publisher.
//   - Duplicates. A message's ID is the SHA-256 of its topic and data
//     (messageID) instead of its publisher and sequence number: the same bytes
//     on the same topic are the same message, whoever relays them. A peer that
//     relays a message first and has it ignored (its orphan share full) makes
//     the node drop later copies of it until GossipSub forgets it (2 minutes),
//     as it could with a signed message; catch-up delivers its blocks.
//
// So messages carry no sender, sequence number, key or signature
// (StrictNoSign with no author), and a node drops, and counts as invalid
// (GossipSub's P4), a message that carries any: every node must use the same
// options, wireOptions.
func wireOptions() []pubsub.Option {
	return []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
	}
}

// messageID is a pubsub message's ID: the SHA-256 of its topic, a zero byte
// and its data.
func messageID(m *pubsubpb.Message) string {
	h := sha256.New()
	h.Write([]byte(m.GetTopic()))
	h.Write([]byte{0})
	h.Write(m.GetData())
	return string(h.Sum(nil))
}

// message is an encoded pubsub message and the number of blocks it carries.
type message struct {
	data   []byte
	blocks int
}

// encodeMessages frames blocks into as few messages of at most maxMessageSize
// bytes as possible, each with a header that says it was sent at sent.
func encodeMessages(blocks []*crdt.Block, sent time.Time) []message {
	header := binary.AppendUvarint([]byte{0}, uint64(max(sent.UnixMicro(), 0)))
	var msgs []message
	cur := message{data: slices.Clone(header)}
	for _, b := range blocks {
		frame := binary.AppendUvarint(nil, uint64(len(b.Data)))
		if cur.blocks > 0 && len(cur.data)+len(frame)+len(b.Data) > maxMessageSize {
			msgs = append(msgs, cur)
			cur = message{data: slices.Clone(header)}
		}
		cur.data = append(append(cur.data, frame...), b.Data...)
		cur.blocks++
	}
	if cur.blocks > 0 {
		msgs = append(msgs, cur)
	}
	return msgs
}

// decodeMessage splits a message into blocks, decoding and checking each one
// (re-hash, canonical form, structure), and returns when its publisher sent it:
// the zero time when the message has no header.
func decodeMessage(data []byte) ([]*crdt.Block, time.Time, error) {
	if len(data) > maxMessageSize {
		return nil, time.Time{}, fmt.Errorf("%w: %d bytes, limit %d", errMessage, len(data), maxMessageSize)
	}
	var sent time.Time
	if len(data) > 0 && data[0] == 0 {
		us, k := binary.Uvarint(data[1:])
		if k <= 0 || us > math.MaxInt64 {
			return nil, time.Time{}, fmt.Errorf("%w: bad header", errMessage)
		}
		sent = time.UnixMicro(int64(us))
		data = data[1+k:]
	}
	var blocks []*crdt.Block
	for len(data) > 0 {
		size, k := binary.Uvarint(data)
		if k <= 0 || size == 0 || size > uint64(len(data)-k) {
			return nil, time.Time{}, fmt.Errorf("%w: bad frame length", errMessage)
		}
		b, err := crdt.Decode(data[k : k+int(size)])
		if err != nil {
			return nil, time.Time{}, err
		}
		blocks = append(blocks, b)
		data = data[k+int(size):]
	}
	if len(blocks) == 0 {
		return nil, time.Time{}, fmt.Errorf("%w: no block", errMessage)
	}
	return blocks, sent, nil
}

// topicState is the node's handle on one collection's topic.
type topicState struct {
	topic *pubsub.Topic
	sub   *subscription // nil when not subscribed
}

// topics holds the joined topics by collection name.
type topics struct {
	mu     sync.Mutex
	byName map[string]*topicState
}

// join returns the topic of collection c, joining it (and registering its
// validator) on first use.
func (n *Node) join(c *Collection) (*topicState, error) {
	n.topics.mu.Lock()
	defer n.topics.mu.Unlock()
	return n.joinLocked(c)
}

func (n *Node) joinLocked(c *Collection) (*topicState, error) {
	if ts, ok := n.topics.byName[c.Name()]; ok {
		return ts, nil
	}
	name := c.SchemaID()
	if err := n.ps.RegisterTopicValidator(name, n.validator(c), pubsub.WithValidatorInline(true)); err != nil {
		return nil, fmt.Errorf("gossipdb: topic %s: %w", name, err)
	}
	t, err := n.ps.Join(name)
	if err != nil {
		n.ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("gossipdb: topic %s: %w", name, err)
	}
	if err := t.SetScoreParams(topicScore()); err != nil {
		t.Close()
		n.ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("gossipdb: topic %s: %w", name, err)
	}
	ts := &topicState{topic: t}
	n.topics.byName[c.Name()] = ts
	return ts, nil
}

// publish queues committed local blocks for the publisher goroutine, so that a
// write never waits for message signing or the network. When the queue is full
// (publishQueue) the blocks are not published (catch-up delivers them) and the
// write still succeeds.
func (n *Node) publish(c *Collection, blocks []*crdt.Block) {
	if !n.publishQueue.offer(c, blocks) {
		n.metrics.unpublished.Add(uint64(len(blocks)))
	}
}

// publishLoop publishes queued writes in order. Writes that piled up while it
// was busy go out together, packed into as few messages (and signatures) as the
// message size allows.
func (n *Node) publishLoop() {
	for {
		jobs, err := n.publishQueue.take(n.ctx)
		if err != nil {
			return
		}
		var order []*Collection
		byCollection := map[*Collection][]*crdt.Block{}
		for _, j := range jobs {
			if _, ok := byCollection[j.c]; !ok {
				order = append(order, j.c)
			}
			byCollection[j.c] = append(byCollection[j.c], j.blocks...)
		}
		for _, c := range order {
			n.publishNow(c, byCollection[c])
		}
		n.publishQueue.release(jobs)
	}
}

// publishTopic returns c's topic to publish on, or nil if there is nobody to
// send to (no peer known to be subscribed) or it cannot be joined (logged).
func (n *Node) publishTopic(c *Collection) *topicState {
	ts, err := n.join(c)
	if err != nil {
		n.log.Warn("Cannot publish", logKeyTopic, c.SchemaID(), logKeyError, err)
		return nil
	}
	if len(ts.topic.ListPeers()) == 0 {
		return nil
	}
	return ts
}

// publishNow sends blocks to the collection's topic. Errors are logged: catch-up
// repairs what gossip missed. While no peer is known to be subscribed to the topic
// there is nobody to send to, and it skips encoding and signing the messages; a
// peer that subscribes later catches up with /gossipdb/sync/1.
func (n *Node) publishNow(c *Collection, blocks []*crdt.Block) {
	ts := n.publishTopic(c)
	if ts == nil {
		return
	}
	for _, msg := range encodeMessages(blocks, time.Now()) {
		if err := ts.topic.Publish(n.ctx, msg.data); err != nil {
			if n.ctx.Err() == nil {
				n.log.Warn("Cannot publish", logKeyTopic, c.SchemaID(), logKeyError, err)
			}
			return
		}
		n.metrics.messagesOut.Add(1)
		n.metrics.bytesOut.Add(uint64(len(msg.data)))
		n.metrics.publishedBlocks.Add(uint64(msg.blocks))
	}
}

// validator checks every message of collection c's topic before pubsub delivers
// or forwards it: malformed or oversized messages, and those with a block
// accept refuses (a bad signature, a foreign schema, ill-typed fields,
// inconsistent parents), are rejected; one with a block of an unknown version
// is held while the version is fetched; a message whose blocks are all stored already is ignored, and so is
// one whose orphans would not fit in the share of the peer it came through (a
// message of more than undecodedBytes is then ignored before it is decoded, if
// it could not fit). The decoded blocks travel on as the message's ValidatorData.
func (n *Node) validator(c *Collection) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if from == n.host.ID() {
			return pubsub.ValidationAccept // our own publication
		}
		n.metrics.messagesIn.Add(1)
		n.metrics.bytesIn.Add(uint64(len(msg.Data)))
		if n.standing.ignoring(msg.ReceivedFrom) {
			return pubsub.ValidationIgnore
		}
		res := n.validate(ctx, c, from, msg)
		if res == pubsub.ValidationReject {
			n.standing.rejected(msg.ReceivedFrom)
		}
		return res
	}
}

// validate is the validator of a message another peer sent on c's topic.
func (n *Node) validate(ctx context.Context, c *Collection, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if len(msg.Data) > undecodedBytes && int64(2*len(msg.Data)) > n.orphans.room(msg.ReceivedFrom) {
		// Its peer's orphans fill its share: were these blocks orphans too
		// they would be refused below, and decoding a large message is most
		// of what a flood costs. Catch-up delivers them if they are honest.
		n.metrics.refusedOrphans.Add(1)
		return pubsub.ValidationIgnore
	}
	if len(msg.Data) > 0 && msg.Data[0] == policyMessage {
		return n.validateChange(c, msg.Data[1:], msg.ReceivedFrom)
	}
	blocks, sent, err := decodeMessage(msg.Data)
	if err == nil && n.stored(blocks) {
		// Stored blocks were accepted when they were stored, and a block
		// with the same CID has the same bytes, signature included: a
		// duplicate costs no verification.
		n.received(from, blocks, sent)
		return pubsub.ValidationIgnore
	}
	var orphanCost int64
	if err != nil {
		n.metrics.malformedBlocks.Add(1)
	} else {
		orphanCost, err = n.accept(ctx, c, blocks, from, fromGossip)
		for errors.Is(err, errUnknownVersion) {
			if res, handled := n.holdForVersion(c, blocks, from); handled {
				return res
			}
			// Every version the blocks name was added since accept looked.
			orphanCost, err = n.accept(ctx, c, blocks, from, fromGossip)
		}
		if errors.Is(err, errPolicyMissing) {
			n.catchUp.schedule(c.Name(), from) // brings the changes, then the blocks
			return pubsub.ValidationIgnore
		}
		n.countRejected(err)
	}
	if err != nil {
		n.metrics.rejectedMessages.Add(1)
		n.log.Debug("Rejected pubsub message", logKeyPeerID, n.ID(), logKeySenderID, from.String(),
			logKeyTopic, c.SchemaID(), logKeyError, err)
		return pubsub.ValidationReject
	}
	if n.log.Enabled(ctx, slog.LevelInfo) { // its peer IDs cost a few µs to encode
		n.log.Info("Received new pubsub message", logKeyPeerID, n.ID(),
			logKeySenderID, from.String(), logKeyTopic, c.SchemaID())
	}
	n.received(from, blocks, sent)
	if orphanCost > 0 && orphanCost > n.orphans.room(msg.ReceivedFrom) {
		// The blocks would only evict other waiting blocks of the same peer,
		// and accepting them would keep their bytes in GossipSub's message
		// cache and forward them. Catch-up delivers them if they are honest.
		n.metrics.refusedOrphans.Add(uint64(len(blocks)))
		return pubsub.ValidationIgnore
	}
	msg.ValidatorData = blocks
	return pubsub.ValidationAccept
}

// stored reports whether every one of blocks is stored.
func (n *Node) stored(blocks []*crdt.Block) bool {
	known := true
	n.store.View(func(tx *store.Tx) error {
		for _, b := range blocks {
			if ok, _ := tx.Has(b); !ok {
				known = false
				return nil
			}
		}
		return nil
	})
	return known
}

// received counts the valid blocks of a gossip message that came through peer
// from and, when from wrote them (its identity key signed the first one: a
// message names no publisher, see wireOptions), how long it took to arrive.
func (n *Node) received(from peer.ID, blocks []*crdt.Block, sent time.Time) {
	n.metrics.gossipBlocks.Add(uint64(len(blocks)))
	if !sent.IsZero() && from == authorPeer(blocks[0].Author) {
		n.collector.propagation.Observe(max(time.Since(sent), 0).Seconds())
	}
}

// Subscribe makes the node receive and merge the changes peers publish to the
// named collections, and starts catching up with connected peers. Subscriptions
// persist across restarts. An unknown name fails with ErrNotFound and changes
// nothing; subscribing twice is a no-op.
func (n *Node) Subscribe(ctx context.Context, names ...string) error {
	if n.closing() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	cols := make([]*Collection, len(names))
	for i, name := range names {
		c, err := n.Collection(name)
		if err != nil {
			return err
		}
		cols[i] = c
	}
	err := n.store.Update(func(tx *store.Tx) error {
		for _, name := range names {
			if err := tx.PutSubscription(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storeError("subscribe", err)
	}
	for _, c := range cols {
		if err := n.subscribe(c); err != nil {
			return err
		}
		n.catchUp.subscribed(c.Name())
	}
	return nil
}

// subscription returns the live subscription to collection name, or nil.
func (n *Node) subscription(name string) *subscription {
	n.topics.mu.Lock()
	defer n.topics.mu.Unlock()
	if ts := n.topics.byName[name]; ts != nil {
		return ts.sub
	}
	return nil
}

// subscribe starts receiving collection c's topic.
func (n *Node) subscribe(c *Collection) error {
	n.topics.mu.Lock()
	defer n.topics.mu.Unlock()
	ts, err := n.joinLocked(c)
	if err != nil {
		return err
	}
	if ts.sub != nil {
		return nil
	}
	ps, err := ts.topic.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
	if err != nil {
		return fmt.Errorf("gossipdb: subscribe to %s: %w", c.Name(), err)
	}
	ts.sub = n.startSubscription(c, ps)
	n.log.Info("Adding pubsub topic", logKeyPeerID, n.ID(), logKeyTopic, c.SchemaID(), logKeyCollection, c.Name())
	return nil
}

// Unsubscribe stops receiving the named collections' changes (the node still
// publishes its own). An unknown name fails with ErrNotFound and changes nothing;
// unsubscribing from a collection not subscribed to is a no-op.
func (n *Node) Unsubscribe(ctx context.Context, names ...string) error {
	if n.closing() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	for _, name := range names {
		if _, err := n.Collection(name); err != nil {
			return err
		}
	}
	err := n.store.Update(func(tx *store.Tx) error {
		for _, name := range names {
			if err := tx.DeleteSubscription(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return storeError("unsubscribe", err)
	}
	n.topics.mu.Lock()
	defer n.topics.mu.Unlock()
	for _, name := range names {
		if ts := n.topics.byName[name]; ts != nil && ts.sub != nil {
			ts.sub.stop()
			ts.sub = nil
			n.catchUp.unsubscribed(name)
			n.log.Info("Removing pubsub topic", logKeyPeerID, n.ID(), logKeyTopic, ts.topic.String(), logKeyCollection, name)
		}
	}
	return nil
}

// Subscriptions returns the names of the subscribed collections, sorted: an
// empty slice, not nil, when there are none (so it encodes as the JSON []), and
// nil after Close (the subscriptions stay stored for the next Open). The slice
// is the caller's.
func (n *Node) Subscriptions() []string {
	if n.closing() {
		return nil
	}
	n.topics.mu.Lock()
	defer n.topics.mu.Unlock()
	names := []string{}
	for name, ts := range n.topics.byName {
		if ts.sub != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// restoreSubscriptions subscribes to the collections recorded in the store.
func (n *Node) restoreSubscriptions() error {
	var names []string
	err := n.store.View(func(tx *store.Tx) (err error) {
		names, err = tx.Subscriptions()
		return err
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		c, err := n.Collection(name)
		if err != nil {
			return fmt.Errorf("gossipdb: stored subscription: %w", err)
		}
		if err := n.subscribe(c); err != nil {
			return err
		}
		n.catchUp.subscribed(name)
	}
	return nil
}

// topicPeers returns the connected peers known to be subscribed to c's topic.
func (n *Node) topicPeers(c *Collection) ([]peer.ID, error) {
	ts, err := n.join(c)
	if err != nil {
		return nil, err
	}
	return ts.topic.ListPeers(), nil
}

// TopicPeers returns the IDs of the connected peers known to be subscribed to
// collection name's topic, sorted: the peers a write to it reaches directly. An
// unknown name fails with ErrNotFound.
func (n *Node) TopicPeers(name string) ([]string, error) {
	if n.closing() {
		return nil, ErrClosed
	}
	c, err := n.Collection(name)
	if err != nil {
		return nil, err
	}
	if err := n.enter(); err != nil {
		return nil, err
	}
	defer n.leave()
	peers, err := n.topicPeers(c)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range peers {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out, nil
}
