package gossipdb

import (
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Every block names its author: the Ed25519 public key that signed it (see the
// crdt package doc, "Signatures"). A node signs its writes with its identity
// key, the key of its peer ID, so by default a block's author is the node that
// wrote it; Collection.As writes as another key.

// AuthorID returns the string by which Document, Event and Assignment name an
// author: the libp2p peer ID form of its public key ("12D3KooW…"), so the
// author of a node's own writes reads as its Node.ID. A key of the wrong size
// gives "".
func AuthorID(key ed25519.PublicKey) string {
	if id := authorPeer(key); id != "" {
		return id.String()
	}
	return ""
}

// authorPeer returns the peer ID whose key is key: the node that signed a
// block with its identity key, which is how a node writes by default. A key
// of the wrong size gives "".
func authorPeer(key ed25519.PublicKey) peer.ID {
	if len(key) != ed25519.PublicKeySize {
		return ""
	}
	pk, err := crypto.UnmarshalEd25519PublicKey(key)
	if err != nil {
		return ""
	}
	id, err := peer.IDFromPublicKey(pk)
	if err != nil {
		return ""
	}
	return id
}

// As returns a view of c whose writes (Create, CreateMany, Update, Delete) are
// signed by key instead of the node's identity key: the blocks they make name
// key's public key as their author, on this node and every peer. The node's
// peer ID does not change. Everything else, reads included, is c's. A key of
// the wrong size fails with ErrInvalid, a closed node with ErrClosed. The view
// keeps a copy of key. It is safe for concurrent use and valid as long as c.
func (c *Collection) As(key ed25519.PrivateKey) (*Collection, error) {
	if c.node.closing() {
		return nil, ErrClosed
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: author key is %d bytes, want an Ed25519 private key of %d", ErrInvalid, len(key), ed25519.PrivateKeySize)
	}
	return &Collection{collection: c.collection, key: slices.Clone(key)}, nil
}

// signer returns the key that signs c's writes.
func (c *Collection) signer() ed25519.PrivateKey {
	if c.key != nil {
		return c.key
	}
	return c.node.key
}

// identityKey returns sk, the node's identity key, as the Ed25519 key that
// signs its writes.
func identityKey(sk crypto.PrivKey) (ed25519.PrivateKey, error) {
	if sk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("gossipdb: identity key is %s, want Ed25519: blocks are signed with it", sk.Type())
	}
	raw, err := sk.Raw()
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("gossipdb: identity key: not an Ed25519 private key of %d bytes", ed25519.PrivateKeySize)
	}
	return ed25519.PrivateKey(raw), nil
}
