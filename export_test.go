package gossipdb

// SetGossipLoss makes n drop the given fraction (0 to 1) of the pubsub messages
// it receives before merging them, as a lossy network would; tests use it to show
// that catch-up alone makes nodes converge.
func SetGossipLoss(n *Node, fraction float64) {
	n.gossipLoss.Store(uint64(fraction * (1 << 32)))
}
