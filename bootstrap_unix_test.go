//go:build linux

package gossipdb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gossipdb/gossipdb"
	"github.com/gossipdb/gossipdb/internal/nodetest"
)

// TestBootstrapPeerStoppingNotBlamedOnKey: when a bootstrap peer that was
// connected stops, the node's first re-dial often reaches it while it dies (a
// killed process's listening socket still takes connections in the kernel,
// then resets them), and the handshake fails. The warning used to say only
// that the two nodes may not share a network key, which they did a moment
// before; it now says the peer is most likely stopping or restarting. A
// listener that takes connections and closes them at once, on the peer's port
// (libp2p listens with SO_REUSEPORT), stands in for the dying peer.
func TestBootstrapPeerStoppingNotBlamedOnKey(t *testing.T) {
	const warning = `level=WARN msg="Bootstrap peer unreachable; retrying until it answers"`
	port := freePort(t)
	n1, err := gossipdb.Open(t.TempDir(), &gossipdb.Options{ListenAddrs: []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}})
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	var logs nodetest.LogBuffer
	n2 := nodetest.Open(t, "", &gossipdb.Options{Peers: []string{n1.PeerInfo()[0]}, Logger: logs.Logger()})
	nodetest.Eventually(t, 10*time.Second, func() error {
		if !nodetest.HasPeer(n2, n1) {
			return errors.New("node 2 not connected to its bootstrap peer")
		}
		return nil
	})

	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(context.Background(), "tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Skipf("cannot listen beside the peer on its port (libp2p without SO_REUSEPORT?): %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	var line string
	nodetest.Eventually(t, 20*time.Second, func() error {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, warning) {
				line = l
				return nil
			}
		}
		return errors.New("no warning of the bootstrap peer's outage")
	})
	if !strings.Contains(line, "failed to negotiate security protocol") {
		t.Fatalf("the re-dial did not fail in the handshake: %s", line)
	}
	if !strings.Contains(line, "most likely stopping or restarting") {
		t.Errorf("the warning does not say the peer is most likely stopping: %s", line)
	}
}
