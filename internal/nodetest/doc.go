// Package nodetest has the helpers gossipdb's tests share: opening nodes that
// close themselves at the end of a test, connecting them, and waiting for a
// condition by polling with a deadline (never by sleeping a fixed time).
package nodetest
