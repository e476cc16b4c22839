package crdt

import (
	"crypto/ed25519"
	"fmt"

	"github.com/ipfs/go-cid"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// keyError is Sign's error for a private key of the wrong size.
func keyError(key ed25519.PrivateKey) error {
	return fmt.Errorf("%w: private key is %d bytes, want %d", ErrSignature, len(key), ed25519.PrivateKeySize)
}

// unsigned makes pub b's author and returns b's encoding without a signature,
// b's signed bytes without the context.
func (b *Block) unsigned(pub ed25519.PublicKey) ([]byte, error) {
	if err := b.prepareUnsigned(pub); err != nil {
		return nil, err
	}
	return b.marshal(false)
}

// prepareUnsigned makes pub b's author, drops b's signature and encoding, and
// validates b.
func (b *Block) prepareUnsigned(pub ed25519.PublicKey) error {
	b.Author = pub
	b.Sig, b.Proof, b.Data, b.CID = nil, nil, nil, cid.Undef
	return b.validate()
}

// SignedSize makes author b's author and returns how many bytes b will take
// once signed alone (Sign); signed in a batch (SignBatch) it takes at most
// MaxProofSize more. It fails as Sign would: with ErrTooLarge for a block
// over MaxBlockSize once signed, and with Encode's errors. A block is built
// unsigned (a constructor given a nil key), sized, and signed later. It
// measures b's encoding without writing it; Sign and SignBatch encode b
// again, since b may change in between (a transaction marks its last change
// as its seal after sizing it).
func (b *Block) SignedSize(author ed25519.PublicKey) (int, error) {
	if len(author) != ed25519.PublicKeySize {
		return 0, fmt.Errorf("%w: public key is %d bytes, want %d", ErrSignature, len(author), ed25519.PublicKeySize)
	}
	if err := b.prepareUnsigned(author); err != nil {
		return 0, err
	}
	unsigned, err := b.encodeBlock(false)
	if err != nil {
		return 0, fmt.Errorf("crdt: encoding block: %w", err)
	}
	n := len(unsigned) + sigEntryLen
	if n > MaxBlockSize {
		return 0, fmt.Errorf("%w: block is %d bytes, more than %d", ErrTooLarge, n, MaxBlockSize)
	}
	return n, nil
}

// splice sets b's signature to sig and its bytes to unsigned, its encoding
// without a signature, with the signature's entry added first.
func (b *Block) splice(unsigned, sig []byte) error {
	// The signature's entry comes first: the unsigned encoding with one more
	// entry in its map header (at most 13 entries: a one-byte header).
	data := make([]byte, 0, len(unsigned)+sigEntryLen)
	data = append(data, unsigned[0]+1)
	data = append(append(data, sigEntryPrefix...), sig...)
	data = append(data, unsigned[1:]...)
	if len(data) > MaxBlockSize {
		return fmt.Errorf("%w: block is %d bytes, more than %d", ErrTooLarge, len(data), MaxBlockSize)
	}
	b.Sig, b.Data, b.CID = sig, data, sumCID(data)
	return nil
}

// signAlone signs b, whose encoding without a signature is unsigned, with
// key: a signature of its own, over the signing context and unsigned.
func (b *Block) signAlone(key ed25519.PrivateKey, unsigned []byte) error {
	return b.splice(unsigned, sign(key, append([]byte(signingContext), unsigned...)))
}

// sign returns the Ed25519 signature of msg by key: the signature
// crypto/ed25519.Sign returns, byte for byte (an Ed25519 signature is a
// function of the key and the message alone), computed by curve25519-voi,
// whose fixed-base multiplication takes less than half the time of the
// standard library's (BenchmarkSign; a signature is a quarter of a durable
// Create's CPU). Verification stays on the rules in verify.go.
func sign(key ed25519.PrivateKey, msg []byte) []byte {
	return voied.Sign(voied.PrivateKey(key), msg)
}
