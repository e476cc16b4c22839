package gossipdb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/store"
)

// A pubsub message carries one or more blocks of one collection, each framed as
// its length (unsigned varint) followed by its bytes. maxMessageSize bounds a
// message; a CreateMany is split into as few messages as that allows.
const (
	maxMessageSize = 2 << 20
	// pubsubOverhead is room for the pubsub envelope (signature, key, topic).
	pubsubOverhead = 64 << 10
	// subscriptionBuffer is how many received messages pubsub holds for our reader
	// before it drops ("subscriber too slow"); the reader hands them to the
	// collection's merge worker, so this only absorbs scheduling jitter.
	subscriptionBuffer = 8192
	// validateQueue is how many messages may wait for validation.
	validateQueue = 8192
	// peerOutboundQueue is how many messages may wait to be sent to one peer.
	peerOutboundQueue = 8192
	// publishQueueSize is how many committed writes may wait to be published.
	publishQueueSize = 16384
	// publishBatch is the most queued writes the publisher packs together.
	publishBatch = 1024
)

// errMessage reports a malformed pubsub message.
var errMessage = errors.New("gossipdb: malformed message")

// newPubSub starts the GossipSub router on the node's host.
func (n *Node) newPubSub() (*pubsub.PubSub, error) {
	return pubsub.NewGossipSub(n.ctx, n.host, append(n.meshOptions(),
		pubsub.WithMaxMessageSize(maxMessageSize+pubsubOverhead),
		pubsub.WithPeerOutboundQueueSize(peerOutboundQueue),
		pubsub.WithValidateQueueSize(validateQueue),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		// Send our own changes to every peer subscribed to the topic, not only to
		// mesh peers: the mesh forms at GossipSub heartbeats, so without this a
		// change made in the first second of a subscription reaches nobody.
		pubsub.WithFloodPublish(true),
	)...)
}

// encodeMessages frames blocks into as few messages of at most maxMessageSize
// bytes as possible.
func encodeMessages(blocks []*crdt.Block) [][]byte {
	var msgs [][]byte
	var cur []byte
	for _, b := range blocks {
		frame := binary.AppendUvarint(nil, uint64(len(b.Data)))
		if len(cur) > 0 && len(cur)+len(frame)+len(b.Data) > maxMessageSize {
			msgs = append(msgs, cur)
			cur = nil
		}
		cur = append(append(cur, frame...), b.Data...)
	}
	if len(cur) > 0 {
		msgs = append(msgs, cur)
	}
	return msgs
}

// decodeMessage splits a message into blocks, decoding and checking each one
// (re-hash, canonical form, structure).
func decodeMessage(data []byte) ([]*crdt.Block, error) {
	if len(data) > maxMessageSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", errMessage, len(data), maxMessageSize)
	}
	var blocks []*crdt.Block
	for len(data) > 0 {
		size, k := binary.Uvarint(data)
		if k <= 0 || size == 0 || size > uint64(len(data)-k) {
			return nil, fmt.Errorf("%w: bad frame length", errMessage)
		}
		b, err := crdt.Decode(data[k : k+int(size)])
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, b)
		data = data[k+int(size):]
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%w: no block", errMessage)
	}
	return blocks, nil
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
	if err := n.ps.RegisterTopicValidator(name, n.validator(c)); err != nil {
		return nil, fmt.Errorf("gossipdb: topic %s: %w", name, err)
	}
	t, err := n.ps.Join(name)
	if err != nil {
		n.ps.UnregisterTopicValidator(name)
		return nil, fmt.Errorf("gossipdb: topic %s: %w", name, err)
	}
	ts := &topicState{topic: t}
	n.topics.byName[c.Name()] = ts
	return ts, nil
}

// publishJob is a committed local write waiting to be published.
type publishJob struct {
	c      *Collection
	blocks []*crdt.Block
}

// publish queues committed local blocks for the publisher goroutine, so that a
// write never waits for message signing or the network. When the queue is full
// the blocks are not published (catch-up delivers them) and the write still
// succeeds.
func (n *Node) publish(c *Collection, blocks []*crdt.Block) {
	select {
	case n.publishQueue <- publishJob{c, blocks}:
	default:
		n.metrics.unpublished.Add(uint64(len(blocks)))
	}
}

// publishLoop publishes queued writes in order. Writes that piled up while it
// was busy go out together, packed into as few messages (and signatures) as the
// message size allows.
func (n *Node) publishLoop() {
	for {
		var jobs []publishJob
		select {
		case j := <-n.publishQueue:
			jobs = append(jobs, j)
		case <-n.ctx.Done():
			return
		}
	drain:
		for len(jobs) < publishBatch {
			select {
			case j := <-n.publishQueue:
				jobs = append(jobs, j)
			default:
				break drain
			}
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
	}
}

// publishNow sends blocks to the collection's topic. Errors are logged: catch-up
// repairs what gossip missed. While no peer is known to be subscribed to the topic
// there is nobody to send to, and it skips encoding and signing the messages; a
// peer that subscribes later catches up with /gossipdb/sync/1.
func (n *Node) publishNow(c *Collection, blocks []*crdt.Block) {
	ts, err := n.join(c)
	if err != nil {
		n.log.Warn("Cannot publish", logKeyTopic, c.SchemaID(), logKeyError, err)
		return
	}
	if len(ts.topic.ListPeers()) == 0 {
		return
	}
	for _, msg := range encodeMessages(blocks) {
		if err := ts.topic.Publish(n.ctx, msg); err != nil {
			if n.ctx.Err() == nil {
				n.log.Warn("Cannot publish", logKeyTopic, c.SchemaID(), logKeyError, err)
			}
			return
		}
	}
}

// validator checks every message of collection c's topic before pubsub delivers
// or forwards it: malformed, oversized, foreign-schema or ill-typed blocks are
// rejected; a message whose blocks are all stored already is ignored. The decoded
// blocks travel on as the message's ValidatorData.
func (n *Node) validator(c *Collection) pubsub.ValidatorEx {
	return func(ctx context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		if from == n.host.ID() {
			return pubsub.ValidationAccept // our own publication
		}
		blocks, err := decodeMessage(msg.Data)
		if err == nil {
			err = n.checkReceived(c, blocks)
		}
		if err != nil {
			n.metrics.rejectedMessages.Add(1)
			n.log.Debug("Rejected pubsub message", logKeyPeerID, n.ID(), logKeySenderID, msg.GetFrom().String(),
				logKeyTopic, c.SchemaID(), logKeyError, err)
			return pubsub.ValidationReject
		}
		n.log.Info("Received new pubsub message", logKeyPeerID, n.ID(),
			logKeySenderID, msg.GetFrom().String(), logKeyTopic, c.SchemaID())
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
		if known {
			return pubsub.ValidationIgnore
		}
		msg.ValidatorData = blocks
		return pubsub.ValidationAccept
	}
}

// checkReceived validates blocks from a peer against collection c: the schema and
// field types, and each block's height against its parents where they are stored
// (the rest is checked when the missing parents arrive).
func (n *Node) checkReceived(c *Collection, blocks []*crdt.Block) error {
	for _, b := range blocks {
		if err := c.schema.Check(b); err != nil {
			return err
		}
	}
	return n.store.View(func(tx *store.Tx) error {
		for _, b := range blocks {
			if b.IsGenesis() {
				continue
			}
			parents := make([]*crdt.Block, 0, len(b.Prev))
			for _, p := range b.Prev {
				pb, err := tx.Block(p)
				if errors.Is(err, store.ErrNotFound) {
					break
				}
				if err != nil {
					return err
				}
				parents = append(parents, pb)
			}
			if len(parents) == len(b.Prev) {
				if err := crdt.CheckParents(b, parents); err != nil {
					return err
				}
			}
		}
		return nil
	})
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
		n.syncer.scheduleSettling(c.Name(), "")
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
			n.log.Info("Removing pubsub topic", logKeyPeerID, n.ID(), logKeyTopic, ts.topic.String(), logKeyCollection, name)
		}
	}
	return nil
}

// Subscriptions returns the names of the subscribed collections, sorted; nil
// after Close (the subscriptions stay stored for the next Open). The slice is
// the caller's.
func (n *Node) Subscriptions() []string {
	if n.closing() {
		return nil
	}
	n.topics.mu.Lock()
	defer n.topics.mu.Unlock()
	var names []string
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
	}
	return nil
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
	ts, err := n.join(c)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range ts.topic.ListPeers() {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out, nil
}
