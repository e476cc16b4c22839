package gossipdb

import "sync/atomic"

// Metrics is a snapshot of a node's counters since Open (OrphanBytes: its level now).
type Metrics struct {
	ReceivedMessages uint64 // pubsub messages accepted and handed to a merge worker
	RejectedMessages uint64 // pubsub messages refused by validation
	MergedBlocks     uint64 // blocks from peers merged into the store
	RejectedBlocks   uint64 // blocks from peers refused when merged (e.g. inconsistent height)
	DroppedOrphans   uint64 // blocks given up on because their history could not be completed
	EvictedOrphans   uint64 // blocks waiting for ancestors dropped, oldest first, to stay within Options.OrphanBytes
	OrphanBytes      uint64 // what the blocks waiting for ancestors count against Options.OrphanBytes now
	DroppedMessages  uint64 // pubsub messages dropped because their collection's inbox was full (Options.InboxBytes)
	Fetches          uint64 // history fetches over /gossipdb/blocks/1
	FailedFetches    uint64 // fetch attempts that failed (timeout, bad answer)
	DroppedFetches   uint64 // history fetches dropped, longest-waiting first, because 1,024 were waiting
	Unpublished      uint64 // local blocks not published because the queue was full (catch-up delivers them)
	NoSpaceMerges    uint64 // merges of received blocks refused because the disk was full (catch-up brings them later)
}

// metrics are the live counters behind Metrics.
type metrics struct {
	receivedMessages atomic.Uint64
	rejectedMessages atomic.Uint64
	mergedBlocks     atomic.Uint64
	rejectedBlocks   atomic.Uint64
	droppedOrphans   atomic.Uint64
	evictedOrphans   atomic.Uint64
	orphanBytes      atomic.Int64
	droppedMessages  atomic.Uint64
	fetches          atomic.Uint64
	failedFetches    atomic.Uint64
	droppedFetches   atomic.Uint64
	unpublished      atomic.Uint64
	noSpaceMerges    atomic.Uint64
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
		EvictedOrphans:   m.evictedOrphans.Load(),
		OrphanBytes:      uint64(m.orphanBytes.Load()),
		DroppedMessages:  m.droppedMessages.Load(),
		Fetches:          m.fetches.Load(),
		FailedFetches:    m.failedFetches.Load(),
		DroppedFetches:   m.droppedFetches.Load(),
		Unpublished:      m.unpublished.Load(),
		NoSpaceMerges:    m.noSpaceMerges.Load(),
	}
}
