package gossipdb

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
)

// NAT traversal. Every node asks its peers whether they can dial it back
// (AutoNAT) and answers such requests, rate-limited. A node that learns it is
// unreachable reserves a slot on a relay (Options.Relays, or any connected
// peer running a Circuit Relay v2 service) and advertises the relayed address;
// a peer that connects through it then tries to replace the relayed
// connection by a direct one with hole punching (DCUtR). Hole punching needs
// addresses the node's peers observed from outside, so it works across NATs
// that keep a mapping per local endpoint (most home routers; Linux masquerade
// when it keeps ports), not across symmetric NATs, where the node stays reached
// through the relay.
const (
	// relayMinInterval is the least time between two asks of the relay
	// candidates; relayBackoff how long a relay that refused or failed is left
	// alone.
	relayMinInterval = 10 * time.Second
	relayBackoff     = time.Minute
)

// relayResources are the limits of a node's relay service (Options.RelayService).
// They are libp2p's defaults, spelled out so that they stay what
// docs/SECURITY.md says whatever libp2p's defaults become.
// A reservation lasts an hour and is renewed by its holder; each relayed
// connection may carry 128 KiB each way for 2 minutes, then the relay closes
// it, which is enough for hole punching and a catch-up handshake, not for bulk
// traffic.
func relayResources() relayv2.Resources {
	r := relayv2.DefaultResources()
	r.Limit = &relayv2.RelayLimit{Duration: 2 * time.Minute, Data: 128 << 10}
	r.ReservationTTL = time.Hour
	r.MaxReservations = 128
	r.MaxCircuits = 16
	r.MaxReservationsPerIP = 8
	r.MaxReservationsPerASN = 32
	return r
}

// natOptions returns the libp2p options for AutoNAT, the relay client and
// service, and hole punching. h is set to the host once it is built; the relay
// candidates are looked up on it. The outcome of hole punching is logged to
// log (see punchLog).
func natOptions(o *Options, relays []peer.AddrInfo, h *atomic.Pointer[host.Host], log *slog.Logger) []libp2p.Option {
	opts := []libp2p.Option{
		libp2p.EnableRelay(),
		libp2p.EnableNATService(),
		libp2p.EnableHolePunching(holepunch.WithTracer(&punchLog{log: log, failed: map[peer.ID]bool{}})),
		libp2p.EnableAutoRelayWithPeerSource(relayCandidates(relays, h),
			autorelay.WithMinCandidates(1),
			autorelay.WithBootDelay(0),
			autorelay.WithBackoff(relayBackoff),
			autorelay.WithMinInterval(relayMinInterval),
		),
	}
	if o.RelayService {
		// libp2p runs a relay service only once the node is known to be
		// reachable; a node asked to relay is declared so, since AutoNAT may
		// have no peer with a public address to ask.
		opts = append(opts,
			libp2p.EnableRelayService(relayv2.WithResources(relayResources())),
			libp2p.ForceReachabilityPublic(),
		)
	}
	return opts
}

// relayCandidates returns the autorelay peer source: the configured relays,
// then connected peers that offer a relay service.
func relayCandidates(relays []peer.AddrInfo, h *atomic.Pointer[host.Host]) autorelay.PeerSource {
	return func(ctx context.Context, num int) <-chan peer.AddrInfo {
		out := make(chan peer.AddrInfo, num)
		defer close(out)
		for _, r := range relays {
			if len(out) == num {
				return out
			}
			out <- r
		}
		hp := h.Load()
		if hp == nil {
			return out
		}
		hst := *hp
		for _, p := range hst.Network().Peers() {
			if len(out) == num {
				break
			}
			if hst.Network().Connectedness(p) != network.Connected || isConfigured(relays, p) {
				continue
			}
			if ok, _ := hst.Peerstore().SupportsProtocols(p, proto.ProtoIDv2Hop); len(ok) > 0 {
				out <- hst.Peerstore().PeerInfo(p)
			}
		}
		return out
	}
}

func isConfigured(relays []peer.AddrInfo, p peer.ID) bool {
	for _, r := range relays {
		if r.ID == p {
			return true
		}
	}
	return false
}

// maxPunchFailures bounds the peers punchLog remembers having warned about.
const maxPunchFailures = 1024

// punchLog logs how hole punching with each peer ends: otherwise a peer
// reached only through a relay would be listed among the node's peers (with
// its /p2p-circuit address) while no change travels between them, and
// nothing would say why. The first failure with a peer is a warning, later
// ones (every new relayed connection tries again) are at debug level until
// hole punching with it succeeds, which is logged at info level.
type punchLog struct {
	log *slog.Logger

	mu     sync.Mutex
	failed map[peer.ID]bool // warned about, not punched through since
}

// Trace implements holepunch.EventTracer.
func (l *punchLog) Trace(evt *holepunch.Event) {
	e, ok := evt.Evt.(*holepunch.EndHolePunchEvt)
	if !ok {
		return
	}
	l.mu.Lock()
	warned := l.failed[evt.Remote]
	switch {
	case e.Success:
		delete(l.failed, evt.Remote)
	case !warned:
		if len(l.failed) >= maxPunchFailures {
			clear(l.failed)
		}
		l.failed[evt.Remote] = true
	}
	l.mu.Unlock()
	p := evt.Remote.String()
	switch {
	case e.Success:
		l.log.Info("Connected directly through the NATs (hole punching)", logKeyPeer, p, logKeyDuration, e.EllapsedTime)
	case !warned:
		l.log.Warn("Hole punching failed: the peer is reached only through a relay, which carries no changes; "+
			"retrying with each new relayed connection (a NAT that changes ports for every destination defeats it)",
			logKeyPeer, p, logKeyError, e.Error)
	default:
		l.log.Debug("Hole punching failed", logKeyPeer, p, logKeyError, e.Error)
	}
}
