//go:build !unix

package main

// openFilesLimit returns 0: on this system the limit on open files is not read.
func openFilesLimit() uint64 { return 0 }
