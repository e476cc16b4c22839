package gossipdb_test

import "go.uber.org/goleak"

// goleakOptions lists the goroutines that outlive a closed node by design of a
// dependency, each named precisely.
func goleakOptions() []goleak.Option {
	return nil
}
