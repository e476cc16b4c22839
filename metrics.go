package gossipdb

import "sync/atomic"

// Metrics is a snapshot of a node's counters since Open.
type Metrics struct {
	ReceivedMessages uint64 // pubsub messages accepted and handed to a merge worker
	RejectedMessages uint64 // pubsub messages refused by validation
	MergedBlocks     uint64 // blocks from peers merged into the store
	RejectedBlocks   uint64 // blocks from peers refused when merged (e.g. inconsistent height)
	DroppedOrphans   uint64 // blocks given up on because their history could not be completed
	Fetches          uint64 // history fetches over /gossipdb/blocks/1
	FailedFetches    uint64 // fetch attempts that failed (timeout, bad answer)
	Unpublished      uint64 // local blocks not published because the queue was full (catch-up delivers them)
	NoSpaceMerges    uint64 // merges of received blocks refused because the disk was full (catch-up brings them later)
	GossipMessages   uint64 // pubsub messages received, duplicates included (gossip amplification)
	GossipBytes      uint64 // bytes of the pubsub RPCs received: messages and mesh control
}

// metrics are the live counters behind Metrics.
type metrics struct {
	receivedMessages atomic.Uint64
	rejectedMessages atomic.Uint64
	mergedBlocks     atomic.Uint64
	rejectedBlocks   atomic.Uint64
	droppedOrphans   atomic.Uint64
	fetches          atomic.Uint64
	failedFetches    atomic.Uint64
	unpublished      atomic.Uint64
	noSpaceMerges    atomic.Uint64
	gossipMessages   atomic.Uint64
	gossipBytes      atomic.Uint64
}

// Metrics returns a snapshot of the node's counters; after Close, their final
// values. It is safe for concurrent use.
func (n *Node) Metrics() Metrics {
	m := &n.metrics
	return Metrics{
		ReceivedMessages: m.receivedMessages.Load(),
		RejectedMessages: m.rejectedMessages.Load(),
		MergedBlocks:     m.mergedBlocks.Load(),
		RejectedBlocks:   m.rejectedBlocks.Load(),
		DroppedOrphans:   m.droppedOrphans.Load(),
		Fetches:          m.fetches.Load(),
		FailedFetches:    m.failedFetches.Load(),
		Unpublished:      m.unpublished.Load(),
		NoSpaceMerges:    m.noSpaceMerges.Load(),
		GossipMessages:   m.gossipMessages.Load(),
		GossipBytes:      m.gossipBytes.Load(),
	}
}
