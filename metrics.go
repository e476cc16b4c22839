package gossipdb

import "sync/atomic"

// Metrics is a snapshot of a node's counters since Open (OrphanBytes and
// TxnBytes: their level now). Node.Collector exposes the same counters to Prometheus, with histograms
// and gauges besides (see docs/METRICS.md).
type Metrics struct {
	// Traffic and outcomes; see docs/METRICS.md for the Prometheus name of each.
	Writes          uint64 // blocks written locally: one per document created, updated or deleted
	PublishedBlocks uint64 // local blocks handed to pubsub in a message
	MessagesIn      uint64 // pubsub messages of other nodes that reached validation
	BytesIn         uint64 // their payloads' bytes
	MessagesOut     uint64 // pubsub messages this node published
	BytesOut        uint64 // their payloads' bytes
	GossipBlocks    uint64 // blocks in received messages that passed validation (known ones included)
	FetchedBlocks   uint64 // blocks received in answers to history fetches
	CatchUpBlocks   uint64 // blocks received by catch-up
	CatchUpBytes    uint64 // their encoded bytes
	MalformedBlocks uint64 // received messages refused because a block or the framing did not decode
	SchemaRejects   uint64 // received blocks refused for their schema, fields or values
	ParentRejects   uint64 // received blocks refused as inconsistent with their parents
	// SignatureRejects counts received blocks refused because their signature
	// did not verify with their author key.
	SignatureRejects uint64
	// PolicyRejects counts received blocks refused because the collection's
	// policy does not let their author write (see PolicyError), and received
	// policy changes refused as invalid or not signed by an admin (one that
	// does not decode counts in MalformedBlocks, one whose signature does not
	// verify in SignatureRejects).
	PolicyRejects uint64
	// Catch-up sessions (not those with a peer that lacks the collection): those
	// that found both nodes equal, those that found differences (and pulled what
	// the peer had), those that failed.
	CatchUpsEqual, CatchUpsPulled, CatchUpsFailed uint64
	// SyncItemReads counts whole reads of a collection's reconciliation
	// items (each document's ID with its heads hash), by either side of a
	// session: once a node has read a collection whole, a session with a
	// peer that agrees reads none on either side, and one that finds
	// differences reads the buckets around them (SyncBucketReads).
	SyncItemReads uint64
	// SyncBucketReads counts reads of a bucket of a collection's
	// reconciliation items (about 256 of them), by either side of a session.
	SyncBucketReads uint64

	ReceivedMessages uint64 // pubsub messages accepted and handed to a merge worker
	RejectedMessages uint64 // pubsub messages refused by validation
	MergedBlocks     uint64 // blocks from peers merged into the store
	RejectedBlocks   uint64 // blocks from peers refused when merged (e.g. inconsistent height)
	DroppedOrphans   uint64 // blocks given up on because their history could not be completed
	EvictedOrphans   uint64 // blocks waiting for ancestors dropped, oldest first, to stay within Options.OrphanBytes
	RefusedOrphans   uint64 // gossiped blocks missing ancestors not taken (a message refused undecoded counts 1): their peer's Options.OrphanPeerBytes was full
	OrphanBytes      uint64 // what the blocks waiting for ancestors count against Options.OrphanBytes now
	MergedTxns       uint64 // transactions from peers merged, each whole in one store transaction
	EvictedTxnBlocks uint64 // received blocks of incomplete transactions (and blocks building on them) dropped, oldest transaction first, to stay within Options.TxnBytes or Options.TxnPeerBytes
	InvalidTxnBlocks uint64 // received blocks of transactions whose blocks (all signed by one author) contradict each other or fail to merge: the whole transaction is refused
	TxnBytes         uint64 // what the held blocks of incomplete transactions count against Options.TxnBytes now
	DroppedMessages  uint64 // pubsub messages dropped because their collection's inbox was full (Options.InboxBytes), because they named a collection version being fetched beyond what may wait for one, or by pubsub, its validation queue or the node's subscription full during a burst (catch-up runs with the sender a second later)
	Fetches          uint64 // history fetches over /gossipdb/blocks/2
	FailedFetches    uint64 // fetch attempts that failed (timeout, bad answer)
	DroppedFetches   uint64 // history fetches dropped, longest-waiting first, because 1,024 were waiting
	Unpublished      uint64 // local blocks not published because the publish queue was full: 32 MiB of blocks, counted as for Options.OrphanBytes, or 16,384 writes (catch-up delivers them)
	NoSpaceMerges    uint64 // merges of received blocks refused because the disk was full (catch-up brings them later)
	GossipMessages   uint64 // pubsub messages received, duplicates included (gossip amplification)
	GossipBytes      uint64 // bytes of the pubsub RPCs received: messages and mesh control
}

// traffic are the live counters behind the first block of Metrics.
type traffic struct {
	writes           atomic.Uint64
	publishedBlocks  atomic.Uint64
	messagesIn       atomic.Uint64
	bytesIn          atomic.Uint64
	messagesOut      atomic.Uint64
	bytesOut         atomic.Uint64
	gossipBlocks     atomic.Uint64
	fetchedBlocks    atomic.Uint64
	catchUpBlocks    atomic.Uint64
	catchUpBytes     atomic.Uint64
	malformedBlocks  atomic.Uint64
	schemaRejects    atomic.Uint64
	parentRejects    atomic.Uint64
	signatureRejects atomic.Uint64
	policyRejects    atomic.Uint64
	catchUpsEqual    atomic.Uint64
	catchUpsPulled   atomic.Uint64
	catchUpsFailed   atomic.Uint64
	syncItemReads    atomic.Uint64
	syncBucketReads  atomic.Uint64
}

// metrics are the live counters behind Metrics.
type metrics struct {
	traffic

	receivedMessages atomic.Uint64
	rejectedMessages atomic.Uint64
	mergedBlocks     atomic.Uint64
	rejectedBlocks   atomic.Uint64
	droppedOrphans   atomic.Uint64
	evictedOrphans   atomic.Uint64
	refusedOrphans   atomic.Uint64
	orphanBytes      atomic.Int64
	mergedTxns       atomic.Uint64
	evictedTxnBlocks atomic.Uint64
	invalidTxnBlocks atomic.Uint64
	txnBytes         atomic.Int64
	droppedMessages  atomic.Uint64
	fetches          atomic.Uint64
	failedFetches    atomic.Uint64
	droppedFetches   atomic.Uint64
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
		Writes:           m.writes.Load(),
		PublishedBlocks:  m.publishedBlocks.Load(),
		MessagesIn:       m.messagesIn.Load(),
		BytesIn:          m.bytesIn.Load(),
		MessagesOut:      m.messagesOut.Load(),
		BytesOut:         m.bytesOut.Load(),
		GossipBlocks:     m.gossipBlocks.Load(),
		FetchedBlocks:    m.fetchedBlocks.Load(),
		CatchUpBlocks:    m.catchUpBlocks.Load(),
		CatchUpBytes:     m.catchUpBytes.Load(),
		MalformedBlocks:  m.malformedBlocks.Load(),
		SchemaRejects:    m.schemaRejects.Load(),
		ParentRejects:    m.parentRejects.Load(),
		SignatureRejects: m.signatureRejects.Load(),
		PolicyRejects:    m.policyRejects.Load(),
		CatchUpsEqual:    m.catchUpsEqual.Load(),
		CatchUpsPulled:   m.catchUpsPulled.Load(),
		CatchUpsFailed:   m.catchUpsFailed.Load(),
		SyncItemReads:    m.syncItemReads.Load(),
		SyncBucketReads:  m.syncBucketReads.Load(),

		ReceivedMessages: m.receivedMessages.Load(),
		RejectedMessages: m.rejectedMessages.Load(),
		MergedBlocks:     m.mergedBlocks.Load(),
		RejectedBlocks:   m.rejectedBlocks.Load(),
		DroppedOrphans:   m.droppedOrphans.Load(),
		EvictedOrphans:   m.evictedOrphans.Load(),
		RefusedOrphans:   m.refusedOrphans.Load(),
		OrphanBytes:      uint64(m.orphanBytes.Load()),
		MergedTxns:       m.mergedTxns.Load(),
		EvictedTxnBlocks: m.evictedTxnBlocks.Load(),
		InvalidTxnBlocks: m.invalidTxnBlocks.Load(),
		TxnBytes:         uint64(m.txnBytes.Load()),
		DroppedMessages:  m.droppedMessages.Load(),
		Fetches:          m.fetches.Load(),
		FailedFetches:    m.failedFetches.Load(),
		DroppedFetches:   m.droppedFetches.Load(),
		Unpublished:      m.unpublished.Load(),
		NoSpaceMerges:    m.noSpaceMerges.Load(),
		GossipMessages:   m.gossipMessages.Load(),
		GossipBytes:      m.gossipBytes.Load(),
	}
}
