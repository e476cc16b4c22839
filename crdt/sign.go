package crdt

import (
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/ipfs/go-cid"
)

// SignMany signs each of blocks with key as Sign does, for less than Sign costs
// each: an Ed25519 signature's point R has to be encoded, which takes a field
// inversion, about a third of the signature's work, and SignMany inverts the
// points of the whole batch at once (Montgomery's trick: three
// multiplications a point and one inversion). The signatures are the ones
// crypto/ed25519 makes (Ed25519 signatures are deterministic; the tests
// compare them byte for byte), and so is every step that depends on the
// private key: constant-time scalar multiplication by the base point and
// constant-time field and scalar arithmetic. Its errors are Sign's; on an
// error, some of the blocks may be left unsigned, without Data or CID.
func SignMany(blocks []*Block, key ed25519.PrivateKey) error {
	if len(blocks) == 1 {
		return blocks[0].Sign(key)
	}
	if len(key) != ed25519.PrivateKeySize {
		return keyError(key)
	}
	pub := key.Public().(ed25519.PublicKey)
	unsigned := make([][]byte, len(blocks))
	for i, b := range blocks {
		var err error
		if unsigned[i], err = b.unsigned(pub); err != nil {
			return err
		}
	}
	sigs := signAll(key, unsigned)
	for i, b := range blocks {
		if err := b.splice(unsigned[i], sigs[i]); err != nil {
			return err
		}
	}
	return nil
}

// keyError is Sign's error for a private key of the wrong size.
func keyError(key ed25519.PrivateKey) error {
	return fmt.Errorf("%w: private key is %d bytes, want %d", ErrSignature, len(key), ed25519.PrivateKeySize)
}

// unsigned makes pub b's author and returns b's encoding without a signature,
// b's signed bytes without the context.
func (b *Block) unsigned(pub ed25519.PublicKey) ([]byte, error) {
	b.Author = pub
	b.Sig, b.Data, b.CID = nil, nil, cid.Undef
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b.marshal(false)
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

// signAll returns key's Ed25519 signature (RFC 8032, section 5.1.6) of the
// signing context followed by each of unsigned.
func signAll(key ed25519.PrivateKey, unsigned [][]byte) [][]byte {
	h := sha512.Sum512(key[:ed25519.SeedSize])
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		panic("crdt: clamping a 32-byte scalar failed") // cannot happen: 32 bytes
	}
	prefix, pub := h[32:], key[ed25519.SeedSize:]
	rs := make([]*edwards25519.Scalar, len(unsigned))
	Rs := make([]*edwards25519.Point, len(unsigned))
	var digest [sha512.Size]byte
	d := sha512.New()
	for i, u := range unsigned {
		d.Reset()
		d.Write(prefix)
		d.Write([]byte(signingContext))
		d.Write(u)
		rs[i], _ = edwards25519.NewScalar().SetUniformBytes(d.Sum(digest[:0])) // cannot fail: 64 bytes
		Rs[i] = new(edwards25519.Point).ScalarBaseMult(rs[i])
	}
	encoded := encodePoints(Rs)
	sigs := make([][]byte, len(unsigned))
	for i, u := range unsigned {
		d.Reset()
		d.Write(encoded[i][:])
		d.Write(pub)
		d.Write([]byte(signingContext))
		d.Write(u)
		k, _ := edwards25519.NewScalar().SetUniformBytes(d.Sum(digest[:0])) // cannot fail: 64 bytes
		S := edwards25519.NewScalar().MultiplyAdd(k, s, rs[i])
		sigs[i] = append(encoded[i][:], S.Bytes()...)
	}
	return sigs
}

// encodePoints returns the encodings of points (Point.Bytes) with one field
// inversion for all of them.
func encodePoints(points []*edwards25519.Point) [][32]byte {
	// before[i] is the product of the Z coordinates of points[:i].
	before := make([]field.Element, len(points))
	acc := new(field.Element).One()
	for i, p := range points {
		_, _, Z, _ := p.ExtendedCoordinates()
		before[i].Set(acc)
		acc.Multiply(acc, Z)
	}
	inv := new(field.Element).Invert(acc) // 1 / (Z_0 … Z_n-1)
	out := make([][32]byte, len(points))
	var zInv, x, y field.Element
	for i := len(points) - 1; i >= 0; i-- {
		X, Y, Z, _ := points[i].ExtendedCoordinates()
		zInv.Multiply(inv, &before[i]) // 1 / Z_i
		inv.Multiply(inv, Z)           // 1 / (Z_0 … Z_i-1)
		x.Multiply(X, &zInv)
		y.Multiply(Y, &zInv)
		copy(out[i][:], y.Bytes())
		out[i][31] |= byte(x.IsNegative() << 7)
	}
	return out
}
