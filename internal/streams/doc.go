// Package streams holds what gossipdb's libp2p stream protocols share, so that
// the packages implementing them (blocks for /gossipdb/blocks/2, reconcile for
// /gossipdb/sync/1, versions for /gossipdb/versions/1, policysync for
// /gossipdb/policy/1) hold only their protocol.
//
// A Server runs a Handler for each inbound stream of one protocol, in the
// goroutine libp2p starts for it: at most Options.MaxConcurrent at once, and at
// most Options.MaxPerPeer for one peer (a stream beyond either is reset with
// network.StreamResourceLimitExceeded, which the dialer recognizes with
// IsRefused), each within Options.Timeout. It recovers from a
// handler's panic, counts streams (Metrics), and on Close resets the running
// streams and waits for their handlers.
//
// Dial opens a client stream for one exchange, bounded by a deadline and by the
// caller's context; Call.Explain says what the end of either has to do with an
// error of the exchange.
//
// Both sides send frames: the payload's length as an unsigned varint (LEB128, as
// in multiformats), then the payload. WriteFrame writes one; Frames.ReadLen reads
// a length prefix and checks it against a protocol's limits, refusing prefixes
// that are not minimal varints.
package streams
