package gossipdb_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(netNodeEnv); cfg != "" {
		netNodeMain(cfg)
		return
	}
	if dir := os.Getenv(indexCrashChildEnv); dir != "" {
		indexCrashChild(dir)
		return
	}
	if dir := os.Getenv(txnCrashChildEnv); dir != "" {
		txnCrashChild(dir)
		return
	}
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	goleak.VerifyTestMain(m, goleakOptions()...)
}
