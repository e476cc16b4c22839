package nodetest

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// SeedEnv is the environment variable that fixes the seed of gossipdb's
// randomised tests, the one mechanism they share:
//
//	GOSSIPDB_SEED=1234 go test -run '^TestCrashSafety$' .
//
// repeats the run whose log said "seed 1234". The property tests use
// pgregory.net/rapid instead, which prints its seed when a check fails and takes
// it back with -rapid.seed (and replays a saved failure with -rapid.failfile).
const SeedEnv = "GOSSIPDB_SEED"

// Seed returns the seed for t's random choices: the value of SeedEnv when it is
// set, else a fresh random one. It logs the seed with the command line that
// repeats it, so that a failing run can be replayed. A SeedEnv that is not an
// unsigned 64-bit integer fails the test.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv(SeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q is not a seed: %v", SeedEnv, s, err)
		}
	}
	t.Logf("seed %d; repeat with %s=%d go test -run '^%s$'", seed, SeedEnv, seed, t.Name())
	return seed
}
