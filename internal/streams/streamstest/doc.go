// Package streamstest has the helpers that the tests of gossipdb's stream
// protocols share: real libp2p hosts on 127.0.0.1, connected, hand-made frames
// and polling for a condition.
package streamstest
