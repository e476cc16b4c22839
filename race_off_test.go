//go:build !race

package gossipdb_test

// raceEnabled reports whether the tests run with the race detector, which
// makes every node several times slower.
const raceEnabled = false
