//go:build !unix

package store

// LockDir does nothing where Badger does not lock with flock: there checkDir
// may read the files of a store another process has open, a held store is
// reported with Badger's own error at badger.Open, and gossipdb.Open relies
// on that.
func LockDir(string, bool) (release func(), err error) { return func() {}, nil }

// Holder describes the holder of a gossipdb node's data directory: where
// there is no flock, it cannot tell which process holds it.
func Holder(string) string { return "held by another process" }
