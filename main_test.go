package gossipdb_test

import (
	"crypto/ed25519"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// testKey signs the blocks the tests make outside a node: a fixed key, so that
// their bytes are the same on every run.
var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// children are what the test binary runs instead of its tests when the
// environment variable each is under is set, given the variable's value:
// the nodes of the network tests and the child processes of the crash tests
// (crashchild_test.go).
var children = map[string]func(cfg string){
	netNodeEnv:            netNodeMain,
	indexCrashChildEnv:    indexCrashChild,
	patchCrashChildEnv:    patchCrashChild,
	txnCrashChildEnv:      txnCrashChild,
	receiverCrashChildEnv: receiverCrashChild,
	httpCrashChildEnv:     httpCrashChild,
	compactCrashChildEnv:  compactCrashChild,
	writerCrashChildEnv:   writerCrashChild,
	patchWritesChildEnv:   patchWritesChild,
	graphQLCrashChildEnv:  graphQLCrashChild,
	cutOffCrashChildEnv:   cutOffCrashChild,
	catchUpChildEnv:       catchUpChild,
	dropCrashChildEnv:     dropCrashChild,
	feedCrashChildEnv:     feedCrashChild,
	crashChildEnv:         crashChild,
}

func TestMain(m *testing.M) {
	for env, child := range children {
		if cfg := os.Getenv(env); cfg != "" {
			child(cfg)
			return
		}
	}
	goleak.VerifyTestMain(m, goleakOptions()...)
}
