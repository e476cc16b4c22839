//go:build !unix

package gossipdb

// openFilesLimit returns 0: on this system the limit on open files is not
// read (see resourceLimits).
func openFilesLimit() int { return 0 }
