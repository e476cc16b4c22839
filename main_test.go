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

func TestMain(m *testing.M) {
	if cfg := os.Getenv(netNodeEnv); cfg != "" {
		netNodeMain(cfg)
		return
	}
	if dir := os.Getenv(indexCrashChildEnv); dir != "" {
		indexCrashChild(dir)
		return
	}
	if dir := os.Getenv(patchCrashChildEnv); dir != "" {
		patchCrashChild(dir)
		return
	}
	if dir := os.Getenv(txnCrashChildEnv); dir != "" {
		txnCrashChild(dir)
		return
	}
	if cfg := os.Getenv(receiverCrashChildEnv); cfg != "" {
		receiverCrashChild(cfg)
		return
	}
	if dir := os.Getenv(httpCrashChildEnv); dir != "" {
		httpCrashChild(dir)
		return
	}
	if dir := os.Getenv(compactCrashChildEnv); dir != "" {
		compactCrashChild(dir)
		return
	}
	if cfg := os.Getenv(writerCrashChildEnv); cfg != "" {
		writerCrashChild(cfg)
		return
	}
	if cfg := os.Getenv(patchWritesChildEnv); cfg != "" {
		patchWritesChild(cfg)
		return
	}
	if cfg := os.Getenv(graphQLCrashChildEnv); cfg != "" {
		graphQLCrashChild(cfg)
		return
	}
	if cfg := os.Getenv(cutOffCrashChildEnv); cfg != "" {
		cutOffCrashChild(cfg)
		return
	}
	if cfg := os.Getenv(catchUpChildEnv); cfg != "" {
		catchUpChild(cfg)
		return
	}
	if cfg := os.Getenv(dropCrashChildEnv); cfg != "" {
		dropCrashChild(cfg)
		return
	}
	if cfg := os.Getenv(feedCrashChildEnv); cfg != "" {
		feedCrashChild(cfg)
		return
	}
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	goleak.VerifyTestMain(m, goleakOptions()...)
}
