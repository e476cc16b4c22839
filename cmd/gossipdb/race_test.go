//go:build race

package main_test

// The tests run with -race: build the command with the race detector too, so the
// end-to-end tests check the node's real processes for races.
func init() { buildFlags = append(buildFlags, "-race") }
