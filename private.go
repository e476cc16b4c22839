package gossipdb

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/gossipdb/gossipdb/internal/regular"
)

// Private networks. A deployment can refuse every outsider at the transport,
// in two ways that combine:
//
//   - a network key (Options.NetworkKey): libp2p's private network, a
//     pre-shared key of NetworkKeySize bytes. Every connection is encrypted with
//     it (XSalsa20, under the usual Noise or TLS security) before anything else
//     is said, so a node without the key cannot even complete a handshake, and
//     learns nothing beyond the fact that something listens on the port. libp2p
//     applies the key to TCP connections only: QUIC (and WebTransport and
//     WebRTC, which the node does not use) cannot carry a private network, so a
//     node with a network key runs TCP alone and refuses QUIC addresses. Relayed
//     connections are protected too, so a relay must be a member.
//   - an allow-list of peer IDs (Options.AllowedPeers), enforced by the host's
//     connection gater: the node neither dials a peer not on the list (whoever
//     asks: Connect, bootstrap, discovery, mDNS, relays) nor keeps an inbound
//     connection from one once its handshake has proved its ID. Unlike a network
//     key it names members one by one, and a key leaked from one member does not
//     let a stranger in.
//
// The gater also refuses the peers that lost their standing (see standing).

// NetworkKeySize is the size in bytes of a private network key.
const NetworkKeySize = 32

// maxNetworkKeyFile bounds what ReadNetworkKeyFile reads: a key file is under
// 100 bytes.
const maxNetworkKeyFile = 4 << 10

// The lines of a key file in the swarm.key format that libp2p and IPFS use:
//
//	/key/swarm/psk/1.0.0/
//	/base16/
//	<64 hex digits>
const (
	networkKeyHeader = "/key/swarm/psk/1.0.0/"
	networkKeyBase16 = "/base16/"
	networkKeyBase64 = "/base64/"
)

// GenerateNetworkKey returns a new random private network key (NetworkKeySize
// bytes) for Options.NetworkKey; EncodeNetworkKey makes the file every member
// reads. It is safe for concurrent use.
func GenerateNetworkKey() []byte {
	key := make([]byte, NetworkKeySize)
	rand.Read(key) // never fails (crypto/rand)
	return key
}

// EncodeNetworkKey returns key in the swarm.key format of libp2p and IPFS: the
// line /key/swarm/psk/1.0.0/, the line /base16/, then the key in hex and a
// newline. A key that is not NetworkKeySize bytes fails with ErrInvalid.
func EncodeNetworkKey(key []byte) ([]byte, error) {
	if len(key) != NetworkKeySize {
		return nil, fmt.Errorf("%w: network key of %d bytes, want %d", ErrInvalid, len(key), NetworkKeySize)
	}
	return fmt.Appendf(nil, "%s\n%s\n%x\n", networkKeyHeader, networkKeyBase16, key), nil
}

// DecodeNetworkKey reads a private network key in the swarm.key format (see
// EncodeNetworkKey; the key may also be in base64 under a /base64/ line, as
// libp2p allows). Anything else fails with ErrInvalid saying what is wrong.
func DecodeNetworkKey(data []byte) ([]byte, error) {
	lines := bytes.SplitN(data, []byte("\n"), 3)
	if len(lines) < 3 || string(bytes.TrimRight(lines[0], "\r")) != networkKeyHeader {
		return nil, fmt.Errorf("%w: network key: want the swarm.key format: a line %s, a line %s, then %d hex digits",
			ErrInvalid, networkKeyHeader, networkKeyBase16, 2*NetworkKeySize)
	}
	text := string(bytes.TrimSpace(lines[2]))
	var key []byte
	var err error
	switch enc := string(bytes.TrimRight(lines[1], "\r")); enc {
	case networkKeyBase16:
		key, err = hex.DecodeString(text)
	case networkKeyBase64:
		key, err = base64.StdEncoding.DecodeString(text)
	default:
		return nil, fmt.Errorf("%w: network key: encoding %q, want %s (or %s)", ErrInvalid, enc, networkKeyBase16, networkKeyBase64)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: network key: %w", ErrInvalid, err)
	}
	if len(key) != NetworkKeySize {
		return nil, fmt.Errorf("%w: network key of %d bytes, want %d", ErrInvalid, len(key), NetworkKeySize)
	}
	return key, nil
}

// ReadNetworkKeyFile reads a private network key from the file at path, in the
// swarm.key format (see DecodeNetworkKey). The file must be readable by its
// owner only (mode 0600, like an identity key): a key others can read lets
// them in. Errors name the file; a bad key matches ErrInvalid.
func ReadNetworkKeyFile(path string) ([]byte, error) {
	f, fi, err := regular.Open(path)
	if errors.Is(err, regular.ErrNotRegular) {
		return nil, fmt.Errorf("%w: network key %s: not a regular file", ErrInvalid, path)
	}
	if err != nil {
		return nil, fmt.Errorf("gossipdb: network key: %w", err)
	}
	defer f.Close()
	if err := regular.CheckPrivate(path, fi); err != nil {
		return nil, fmt.Errorf("%w: network key %w", ErrInvalid, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxNetworkKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("gossipdb: network key %s: %w", path, err)
	}
	if len(data) > maxNetworkKeyFile {
		return nil, fmt.Errorf("%w: network key %s: larger than %d bytes, not a key file", ErrInvalid, path, maxNetworkKeyFile)
	}
	key, err := DecodeNetworkKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return key, nil
}

// WriteNetworkKeyFile writes key to a new file at path in the swarm.key format,
// readable by its owner only (mode 0600), and syncs it. An existing file is
// never replaced: that fails with an error matching fs.ErrExist.
func WriteNetworkKeyFile(path string, key []byte) error {
	data, err := EncodeNetworkKey(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("gossipdb: network key: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("gossipdb: network key: %w", err)
	}
	return nil
}

// checkPrivateNetwork rejects addresses a node with a network key cannot use:
// libp2p protects only TCP connections with the key, so the node has no
// transport over UDP (QUIC, WebTransport, WebRTC).
func checkPrivateNetwork(field string, addrs []string) error {
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue // reported by validate
		}
		if _, err := a.ValueForProtocol(ma.P_UDP); err == nil {
			return fmt.Errorf("%w: %s: %q: a node with Options.NetworkKey uses TCP only (libp2p cannot protect "+
				"QUIC or other UDP transports with a network key); give a /tcp/ address", ErrInvalid, field, s)
		}
	}
	return nil
}

// CheckPeerID fails with ErrInvalid, saying why, unless id is a peer ID
// (12D3KooW…, or Qm… for the RSA keys of older libp2p nodes). It is safe for
// concurrent use.
func CheckPeerID(id string) error {
	_, err := decodePeerID(id)
	return err
}

// decodePeerID decodes a peer ID. A peer ID that holds its public key (an
// identity multihash, as every Ed25519 key's: 12D3KooW…) must hold one that
// decodes: libp2p's decoder alone accepts truncated ones such as
// "12D3KooWnope", which no peer could ever have.
func decodePeerID(s string) (peer.ID, error) {
	p, err := peer.Decode(s)
	if err == nil {
		if _, kerr := p.ExtractPublicKey(); kerr != nil && !errors.Is(kerr, peer.ErrNoPublicKey) {
			err = kerr
		}
	}
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a peer ID: %w", ErrInvalid, s, err)
	}
	return p, nil
}

// checkAllowedPeers decodes Options.AllowedPeers and checks that the bootstrap
// peers and relays are on it (the node could dial none of them otherwise).
// It returns nil when the list is empty: every peer is allowed.
func (o *Options) checkAllowedPeers() (map[peer.ID]bool, error) {
	if len(o.AllowedPeers) == 0 {
		return nil, nil
	}
	allowed := make(map[peer.ID]bool, len(o.AllowedPeers))
	for _, s := range o.AllowedPeers {
		p, err := decodePeerID(s)
		if err != nil {
			return nil, fmt.Errorf("Options.AllowedPeers: %w", err)
		}
		allowed[p] = true
	}
	for _, list := range []struct {
		field string
		addrs []string
	}{{"Options.Peers", o.Peers}, {"Options.Relays", o.Relays}} {
		for _, a := range list.addrs {
			info, err := ParseAddr(a)
			if err != nil {
				continue // reported by validate
			}
			if !allowed[info.ID] {
				return nil, fmt.Errorf("%w: %s: %s: peer %s is not in Options.AllowedPeers, so the node could never connect to it",
					ErrInvalid, list.field, a, info.ID)
			}
		}
	}
	return allowed, nil
}

// errNotAllowed reports a peer the allow-list leaves out. It names both the
// option and the flag of gossipdb start that set the list.
var errNotAllowed = errors.New("not on the allow-list (Options.AllowedPeers, gossipdb start --allowed-peers)")

// gater is the host's connection gater: it refuses peers that are not on the
// allow-list (when there is one) and peers that lost their standing. Outbound,
// it refuses before dialling; inbound, once the handshake has proved the peer's
// ID (the address alone proves nothing), before any protocol runs.
type gater struct {
	allowed  map[peer.ID]bool // nil: every peer
	standing *standing
}

// allows reports whether p is on the allow-list.
func (g *gater) allows(p peer.ID) bool { return g.allowed == nil || g.allowed[p] }

func (g *gater) InterceptPeerDial(p peer.ID) bool {
	return g.allows(p) && g.standing.InterceptPeerDial(p)
}

func (g *gater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	return g.allows(p) && g.standing.InterceptAddrDial(p, a)
}

func (g *gater) InterceptAccept(a network.ConnMultiaddrs) bool { return g.standing.InterceptAccept(a) }

func (g *gater) InterceptSecured(d network.Direction, p peer.ID, a network.ConnMultiaddrs) bool {
	return g.allows(p) && g.standing.InterceptSecured(d, p, a)
}

func (g *gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.standing.InterceptUpgraded(c)
}
