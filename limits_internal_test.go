package gossipdb

import "testing"

// libp2p may take at most half of a low limit on open files, so that peers
// opening connections leave the store the files it opens as it writes (Badger
// ends the process when it cannot open one); with a high limit it may take
// enough for the connection manager's peers.
func TestResourceLimitsOpenFiles(t *testing.T) {
	for _, c := range []struct {
		openFiles int
		atMost    int
		atLeast   int
	}{
		{openFiles: 64, atMost: 32},
		{openFiles: 128, atMost: 64},
		{openFiles: 900, atMost: 450},
		{openFiles: 1 << 20, atLeast: connHigh + connLow},
		{openFiles: 0, atLeast: connHigh + connLow}, // unknown
	} {
		p := resourceLimits(c.openFiles).ToPartialLimitConfig()
		fd := p.System.FD.Build(0)
		if c.atMost > 0 && fd > c.atMost {
			t.Errorf("%d open files: libp2p may take %d, want at most %d", c.openFiles, fd, c.atMost)
		}
		if fd < c.atLeast {
			t.Errorf("%d open files: libp2p may take %d, want at least %d", c.openFiles, fd, c.atLeast)
		}
	}
}
