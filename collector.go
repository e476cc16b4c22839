package gossipdb

import (
	"cmp"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/prometheus/client_golang/prometheus"
)

// maxPeerSeries is how many peers per collection the per-peer sync gauges of
// Collector describe: the connected peers that lag most. It bounds the series a
// node with many peers exports; the per-collection gauges cover all of them.
const maxPeerSeries = 32

// collector is the node's prometheus.Collector (see Node.Collector). Counters
// and gauges are read from the node when Prometheus collects; only the
// histograms are observed as things happen.
type collector struct {
	n *Node

	fetchSeconds, fetchBytes, fetchRounds       prometheus.Histogram
	catchUpSeconds, catchUpBytes, catchUpRounds prometheus.Histogram
	propagation                                 prometheus.Histogram

	descs map[string]*prometheus.Desc // by metric name
}

// metricDef describes a metric the collector computes when collected.
type metricDef struct {
	name, help string
	labels     []string
}

// collectedMetrics returns the metrics read from the node at collection time.
// docs/METRICS.md describes each.
func collectedMetrics() []metricDef {
	return []metricDef{
		{"gossipdb_writes_total", "Blocks written locally: one per document created, updated or deleted.", nil},
		{"gossipdb_blocks_published_total", "Local blocks handed to pubsub in a message.", nil},
		{"gossipdb_blocks_received_total", "Blocks received from peers, before merging, by how they came.", []string{"source"}},
		{"gossipdb_catchup_received_bytes_total", "Encoded bytes of the blocks catch-up pulled from peers.", nil},
		{"gossipdb_blocks_merged_total", "Blocks from peers merged into the store.", nil},
		{"gossipdb_blocks_rejected_total", "Blocks from peers refused, by reason.", []string{"reason"}},
		{"gossipdb_blocks_dropped_total", "Blocks not delivered, by reason; catch-up delivers them later.", []string{"reason"}},
		{"gossipdb_merges_no_space_total", "Merge transactions of received blocks refused because the disk was full.", nil},
		{"gossipdb_gossip_messages_received_total", "Pubsub messages of other nodes that reached validation.", nil},
		{"gossipdb_gossip_received_bytes_total", "Payload bytes of those messages.", nil},
		{"gossipdb_gossip_messages_sent_total", "Pubsub messages this node published.", nil},
		{"gossipdb_gossip_sent_bytes_total", "Payload bytes of those messages.", nil},
		{"gossipdb_gossip_messages_rejected_total", "Received pubsub messages refused by validation.", nil},
		{"gossipdb_gossip_rpc_messages_received_total", "Pubsub messages received in RPCs, duplicates included: gossip amplification.", nil},
		{"gossipdb_gossip_rpc_received_bytes_total", "Bytes of the pubsub RPCs received: messages, duplicates and mesh control.", nil},
		{"gossipdb_gossip_messages_dropped_total", "Received pubsub messages dropped because their collection's inbox was over Options.InboxBytes, too many waited for a collection version, or pubsub's queues were full during a burst; catch-up delivers them later.", nil},
		{"gossipdb_history_fetches_total", "History fetches started for blocks whose ancestors were missing.", nil},
		{"gossipdb_history_fetch_failures_total", "Requests of history fetches that failed (timeout, refusal, bad answer).", nil},
		{"gossipdb_history_fetches_dropped_total", "History fetches dropped, longest-waiting first, because too many were waiting.", nil},
		{"gossipdb_orphan_bytes", "What the blocks waiting for their ancestors count against Options.OrphanBytes.", nil},
		{"gossipdb_txns_merged_total", "Transactions from peers merged, each whole in one store transaction.", nil},
		{"gossipdb_txn_bytes", "What the held blocks of incomplete transactions count against Options.TxnBytes.", nil},
		{"gossipdb_blocks_served_requests_total", "Requests of peers for blocks (/gossipdb/blocks/2) this node received, by result: answered, refused (too many at once, or too many of that peer's) or failed.", []string{"result"}},
		{"gossipdb_blocks_served_total", "Blocks this node sent in answers to peers' requests.", nil},
		{"gossipdb_blocks_served_bytes_total", "Bytes of those blocks.", nil},
		{"gossipdb_sync_served_sessions_total", "Reconciliation sessions (/gossipdb/sync/1) peers started with this node, by result: completed, unknown (a collection it lacks), refused (too many at once, or too many of that peer's), busy (its snapshot did not fit beside the others') or failed.", []string{"result"}},
		{"gossipdb_sync_served_rounds_total", "Messages of those sessions this node answered.", nil},
		{"gossipdb_catchup_sessions_total", "Catch-up sessions by result: equal, pulled (found differences) or failed.", []string{"result"}},
		{"gossipdb_sync_item_reads_total", "Whole reads of a collection's reconciliation items by this node, on either side of a session; once the node has read the collection whole, a session with a peer that agrees reads none, and one that finds differences reads the buckets around them.", nil},
		{"gossipdb_sync_bucket_reads_total", "Reads of a bucket of a collection's reconciliation items (about 256 of them) by this node, on either side of a session.", nil},
		{"gossipdb_collection_documents", "Documents of the collection, deleted ones included.", []string{"collection"}},
		{"gossipdb_collection_blocks", "Blocks of the collection.", []string{"collection"}},
		{"gossipdb_mesh_peers", "Peers in the collection's GossipSub mesh: those this node forwards every change to; others learn of changes by gossip, a heartbeat later.", []string{"collection"}},
		{"gossipdb_sync_pending_documents", "Documents found to differ by catch-up that are still to be pulled.", []string{"collection"}},
		{"gossipdb_collection_sync_lag_seconds", "Largest sync lag of the collection among connected peers that were found equal once.", []string{"collection"}},
		{"gossipdb_sync_lag_seconds", "Time since a catch-up session last found this node and the peer equal in the collection.", []string{"collection", "peer"}},
		{"gossipdb_sync_differing_documents", "Documents the last catch-up session found to differ with the peer and has not pulled.", []string{"collection", "peer"}},
		{"gossipdb_store_size_bytes", "Disk space the store's files take.", nil},
		{"gossipdb_connections", "Open libp2p connections.", nil},
		{"gossipdb_peers", "Connected peers.", nil},
	}
}

func newCollector(n *Node) *collector {
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	}
	var (
		secondsBuckets = prometheus.ExponentialBuckets(0.001, 4, 10)  // 1 ms to 4.4 min
		latencyBuckets = prometheus.ExponentialBuckets(0.0005, 2, 15) // 0.5 ms to 8.2 s
		bytesBuckets   = prometheus.ExponentialBuckets(256, 4, 10)    // 256 B to 64 MiB
		roundsBuckets  = []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32}
	)
	c := &collector{
		n: n,
		fetchSeconds: hist("gossipdb_history_fetch_duration_seconds",
			"Duration of history fetches, every request and retry included.", secondsBuckets),
		fetchBytes: hist("gossipdb_history_fetch_bytes",
			"Block bytes history fetches received.", bytesBuckets),
		fetchRounds: hist("gossipdb_history_fetch_rounds",
			"Requests history fetches made.", roundsBuckets),
		catchUpSeconds: hist("gossipdb_catchup_duration_seconds",
			"Duration of catch-up sessions, reconciliation and pulls.", secondsBuckets),
		catchUpBytes: hist("gossipdb_catchup_bytes",
			"Bytes of catch-up sessions: reconciliation messages both ways and blocks received.", bytesBuckets),
		catchUpRounds: hist("gossipdb_catchup_rounds",
			"Reconciliation round trips of catch-up sessions.", roundsBuckets),
		propagation: hist("gossipdb_gossip_propagation_seconds",
			"One-hop propagation latency: from the publisher sending a message to this node validating it, "+
				"for messages received from their publisher directly; includes the clock offset between the two machines.",
			latencyBuckets),
		descs: map[string]*prometheus.Desc{},
	}
	for _, m := range collectedMetrics() {
		c.descs[m.name] = prometheus.NewDesc(m.name, m.help, m.labels, nil)
	}
	return c
}

func (c *collector) histograms() []prometheus.Histogram {
	return []prometheus.Histogram{c.fetchSeconds, c.fetchBytes, c.fetchRounds,
		c.catchUpSeconds, c.catchUpBytes, c.catchUpRounds, c.propagation}
}

// Describe sends the descriptions of every metric of the node.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	for _, h := range c.histograms() {
		h.Describe(ch)
	}
}

// Collect reads the node's counters and state.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	m := &n.metrics
	put := func(name string, vt prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], vt, v, labels...)
	}
	counter := func(name string, v uint64, labels ...string) {
		put(name, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(name string, v float64, labels ...string) { put(name, prometheus.GaugeValue, v, labels...) }

	counter("gossipdb_writes_total", m.writes.Load())
	counter("gossipdb_blocks_published_total", m.publishedBlocks.Load())
	counter("gossipdb_blocks_received_total", m.gossipBlocks.Load(), "gossip")
	counter("gossipdb_blocks_received_total", m.fetchedBlocks.Load(), "fetch")
	counter("gossipdb_blocks_received_total", m.catchUpBlocks.Load(), "catchup")
	counter("gossipdb_catchup_received_bytes_total", m.catchUpBytes.Load())
	counter("gossipdb_blocks_merged_total", m.mergedBlocks.Load())
	counter("gossipdb_blocks_rejected_total", m.malformedBlocks.Load(), "malformed")
	counter("gossipdb_blocks_rejected_total", m.signatureRejects.Load(), "signature")
	counter("gossipdb_blocks_rejected_total", m.schemaRejects.Load(), "schema")
	counter("gossipdb_blocks_rejected_total", m.policyRejects.Load(), "policy")
	counter("gossipdb_blocks_rejected_total", m.parentRejects.Load()+m.rejectedBlocks.Load(), "parents")
	counter("gossipdb_blocks_dropped_total", m.droppedOrphans.Load(), "orphan")
	counter("gossipdb_blocks_dropped_total", m.evictedOrphans.Load(), "evicted")
	counter("gossipdb_blocks_dropped_total", m.refusedOrphans.Load(), "refused")
	counter("gossipdb_blocks_dropped_total", m.unpublished.Load(), "unpublished")
	counter("gossipdb_blocks_dropped_total", m.evictedTxnBlocks.Load(), "txn_evicted")
	counter("gossipdb_blocks_rejected_total", m.invalidTxnBlocks.Load(), "txn")
	counter("gossipdb_merges_no_space_total", m.noSpaceMerges.Load())
	counter("gossipdb_gossip_messages_received_total", m.messagesIn.Load())
	counter("gossipdb_gossip_received_bytes_total", m.bytesIn.Load())
	counter("gossipdb_gossip_messages_sent_total", m.messagesOut.Load())
	counter("gossipdb_gossip_sent_bytes_total", m.bytesOut.Load())
	counter("gossipdb_gossip_messages_rejected_total", m.rejectedMessages.Load())
	counter("gossipdb_gossip_messages_dropped_total", m.droppedMessages.Load())
	counter("gossipdb_gossip_rpc_messages_received_total", m.gossipMessages.Load())
	counter("gossipdb_gossip_rpc_received_bytes_total", m.gossipBytes.Load())
	counter("gossipdb_history_fetches_total", m.fetches.Load())
	counter("gossipdb_history_fetch_failures_total", m.failedFetches.Load())
	counter("gossipdb_history_fetches_dropped_total", m.droppedFetches.Load())
	gauge("gossipdb_orphan_bytes", float64(m.orphanBytes.Load()))
	counter("gossipdb_txns_merged_total", m.mergedTxns.Load())
	gauge("gossipdb_txn_bytes", float64(m.txnBytes.Load()))
	counter("gossipdb_catchup_sessions_total", m.catchUpsEqual.Load(), "equal")
	counter("gossipdb_catchup_sessions_total", m.catchUpsPulled.Load(), "pulled")
	counter("gossipdb_catchup_sessions_total", m.catchUpsFailed.Load(), "failed")
	counter("gossipdb_sync_item_reads_total", m.syncItemReads.Load())
	counter("gossipdb_sync_bucket_reads_total", m.syncBucketReads.Load())
	bm, rm := n.blocks.Metrics(), n.reconciler.Metrics()
	counter("gossipdb_blocks_served_requests_total", bm.Answered, "answered")
	counter("gossipdb_blocks_served_requests_total", bm.Refused, "refused")
	counter("gossipdb_blocks_served_requests_total", bm.Failed, "failed")
	counter("gossipdb_blocks_served_total", bm.Blocks)
	counter("gossipdb_blocks_served_bytes_total", bm.Bytes)
	counter("gossipdb_sync_served_sessions_total", rm.Completed, "completed")
	counter("gossipdb_sync_served_sessions_total", rm.Unknown, "unknown")
	counter("gossipdb_sync_served_sessions_total", rm.Refused, "refused")
	counter("gossipdb_sync_served_sessions_total", rm.Busy, "busy")
	counter("gossipdb_sync_served_sessions_total", rm.Failed-rm.Busy, "failed")
	counter("gossipdb_sync_served_rounds_total", rm.Rounds)
	for _, h := range c.histograms() {
		h.Collect(ch)
	}
	if n.closing() {
		return // the counters keep their final values; the node's state is gone
	}

	now := time.Now()
	for _, col := range n.Collections() {
		name := col.Name()
		counts := n.store.Counts(col.schema().ID)
		gauge("gossipdb_collection_documents", float64(counts.Docs), name)
		gauge("gossipdb_collection_blocks", float64(counts.Blocks), name)
		gauge("gossipdb_mesh_peers", float64(n.mesh.count(col.SchemaID())), name)
	}
	for _, cs := range n.catchUp.lags(now) {
		gauge("gossipdb_sync_pending_documents", float64(cs.pending), cs.collection)
		if cs.maxLag >= 0 {
			gauge("gossipdb_collection_sync_lag_seconds", cs.maxLag.Seconds(), cs.collection)
		}
		for _, p := range cs.peers {
			if p.lag >= 0 {
				gauge("gossipdb_sync_lag_seconds", p.lag.Seconds(), cs.collection, p.peer)
			}
			gauge("gossipdb_sync_differing_documents", float64(p.differing), cs.collection, p.peer)
		}
	}
	size, err := n.store.DiskSize()
	if err == nil {
		gauge("gossipdb_store_size_bytes", float64(size))
	}
	net := n.host.Network()
	gauge("gossipdb_connections", float64(len(net.Conns())))
	gauge("gossipdb_peers", float64(len(net.Peers())))
}

// collectionLag is the sync state of one subscribed collection for Collect.
type collectionLag struct {
	collection string
	pending    int
	maxLag     time.Duration // -1 when no connected peer was found equal yet
	peers      []peerLag     // at most maxPeerSeries, most lagging first
}

// peerLag is the sync state of a collection with one connected peer.
type peerLag struct {
	peer      string
	lag       time.Duration // since a session last found both equal; -1 if none did
	differing int
}

// lags returns the sync state of every subscribed collection with its
// connected peers, as of now.
func (s *catchUp) lags(now time.Time) []collectionLag {
	net := s.n.host.Network()
	subs := s.n.Subscriptions()
	out := make([]collectionLag, len(subs))
	byName := make(map[string]*collectionLag, len(subs))
	s.mu.Lock()
	for i, name := range subs {
		out[i] = collectionLag{collection: name, pending: s.pending[name], maxLag: -1}
		byName[name] = &out[i]
	}
	for k, st := range s.last {
		cl := byName[k.Collection]
		if cl == nil || net.Connectedness(k.Peer) != network.Connected {
			continue
		}
		p := peerLag{peer: st.Peer, lag: -1, differing: st.Docs - st.Pulled - st.Shared + st.Offered}
		if !st.LastEqual.IsZero() {
			p.lag = max(now.Sub(st.LastEqual), 0)
		}
		cl.peers = append(cl.peers, p)
	}
	s.mu.Unlock()
	for i := range out {
		cl := &out[i]
		cl.peers = worstPeers(cl.peers)
		if len(cl.peers) > 0 {
			cl.maxLag = cl.peers[0].lag
		}
	}
	return out
}

// worstPeers sorts peers from the most lagging (greatest lag, then most
// documents differing, then peer ID; a peer never found equal last) and keeps
// the first maxPeerSeries.
func worstPeers(peers []peerLag) []peerLag {
	slices.SortFunc(peers, func(a, b peerLag) int {
		return cmp.Or(cmp.Compare(b.lag, a.lag), cmp.Compare(b.differing, a.differing), cmp.Compare(a.peer, b.peer))
	})
	return peers[:min(len(peers), maxPeerSeries)]
}

// Collector returns a prometheus.Collector of the node's metrics, to register
// on a prometheus.Registry of the caller's (docs/METRICS.md lists them): the
// counters of Metrics and of the node's block and reconciliation servers, the
// documents and blocks of each collection, catch-up lag per collection and per
// connected peer, the store's disk size, the open connections, and histograms
// of history fetches, catch-up sessions and gossip propagation latency. Each
// call returns the same Collector; it reads the node when collected, which costs
// no store scan. After Close it collects the final
// counters and histograms only. It is safe for concurrent use.
func (n *Node) Collector() prometheus.Collector { return n.collector }
