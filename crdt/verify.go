package crdt

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"filippo.io/edwards25519"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Signatures are verified under the rules of ZIP-215: the cofactored Ed25519
// equation
//
//	[8][S]B = [8]R + [8][k]A,  k = SHA-512(R ‖ A ‖ message) mod ℓ
//
// with S required canonical (below ℓ) and A and R decoded as
// filippo.io/edwards25519 decodes points (every encoding of a curve point,
// canonical or not). These are the rules of ZIP-215, which Zcash adopted so
// that one signature and a batch containing it are always judged alike:
// whether a block is accepted must not depend on whether it was verified alone
// or in a batch, or replicas would diverge. Every signature crypto/ed25519
// makes verifies under them.
//
// One rule is added: an author key of small order (one that the cofactor
// takes to the identity) is refused. Under the cofactored equation such a key
// "signs" any content with a trivial signature, so it would be an author
// anybody can write as; no key crypto/ed25519 generates is one.

// authorKey decodes an author key, refusing one of small order.
func authorKey(key []byte) (*edwards25519.Point, bool) {
	A, err := new(edwards25519.Point).SetBytes(key)
	if err != nil {
		return nil, false
	}
	if new(edwards25519.Point).MultByCofactor(A).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, false
	}
	return A, true
}

// zip215 makes curve25519-voi verify under the rules of ZIP-215.
var zip215 = &voied.Options{Verify: voied.VerifyOptionsZIP_215}

// verifyOne reports whether sig is the signature of msg by key. It is
// curve25519-voi's verification under ZIP-215, which takes half the time of
// github.com/hdevalence/ed25519consensus's (BenchmarkVerify) and judges
// every signature as it does (TestVerifyOneMatchesConsensus, on the cases
// where the rules of Ed25519 implementations differ).
func verifyOne(key ed25519.PublicKey, msg, sig []byte) bool {
	_, ok := authorKey(key)
	return ok && voied.VerifyWithOptions(voied.PublicKey(key), msg, sig, zip215)
}

// challenge returns SHA-512(R ‖ A ‖ msg) mod ℓ.
func challenge(R, A, msg []byte) *edwards25519.Scalar {
	h := sha512.New()
	h.Write(R)
	h.Write(A)
	h.Write(msg)
	var d [sha512.Size]byte
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(d[:0])) // cannot fail: 64 bytes
	return k
}

// VerifyBatch verifies the signatures of blocks as Verify does, together: it
// costs about half as much per block as Verify for batches of tens of blocks,
// by the same rules (so a block passes in a batch exactly when it passes alone,
// but with probability 2⁻¹²⁸ at most). When some signature fails it verifies
// them one by one and returns the error of the first block that fails. A
// signature that several blocks share (SignBatch), with the same key and
// signed bytes, enters the batch once. It is safe for concurrent use on blocks
// no longer modified.
//
// One block is verified by verifyOne; a batch by the code below, because
// github.com/hdevalence/ed25519consensus's BatchVerifier gives every signature
// a key term of its own, while a batch here is mostly one author's blocks (a
// CreateMany, a catch-up answer) and sums each author's terms into one: half
// the points of the multi-scalar multiplication, 22–35 µs per block against
// 58–66 µs with BatchVerifier (BenchmarkVerifyBatch, 64 blocks of one author).
// The tests check it against the library on valid and invalid signatures.
//
// The batch equation is the sum of each block's equation times a coefficient
// drawn from a hash of every signature, key and challenge of the batch: a
// forger cannot choose a batch whose errors cancel out without knowing the
// coefficients, which depend on the whole batch. The coefficients are 128-bit
// numbers, as in ed25519consensus's BatchVerifier: a bad batch passes with
// probability 2⁻¹²⁸ at most, and the multiplications by them, one per block,
// cost half of what full-size scalars would.
func VerifyBatch(blocks []*Block) error {
	return verifyAll(blocks, nil)
}

// verifyAll is VerifyBatch with msgs[i], when msgs is not nil and it is not
// either, the signed bytes of blocks[i] already computed.
func verifyAll(blocks []*Block, msgs [][]byte) error {
	if len(blocks) < 2 || !verifyBatch(blocks, msgs) {
		for _, b := range blocks {
			if err := b.Verify(); err != nil {
				return err
			}
		}
	}
	return nil
}

// verifyBatch reports whether every block's signature verifies (msgs as
// verifyAll takes them). It reports false for a batch with a malformed key or
// signature too.
func verifyBatch(blocks []*Block, msgs [][]byte) bool {
	type sig struct {
		R    *edwards25519.Point
		S, k *edwards25519.Scalar
		a    int // index of the block's author in keys
	}
	sigs := make([]sig, 0, len(blocks))
	seen := make(map[string]bool, len(blocks)) // signatures already in the batch, with key and message
	var keys []*edwards25519.Point
	byKey := map[string]int{}
	seed := sha512.New()
	for i, b := range blocks {
		if len(b.Author) != ed25519.PublicKeySize || len(b.Sig) != ed25519.SignatureSize {
			return false
		}
		var msg []byte
		if msgs != nil {
			msg = msgs[i]
		}
		if msg == nil {
			var err error
			if msg, err = b.SignedBytes(); err != nil {
				return false
			}
		}
		once := string(b.Sig) + string(b.Author) + string(msg)
		if seen[once] {
			continue // a batch's signature again (SignBatch): one equation holds for all
		}
		seen[once] = true
		a, ok := byKey[string(b.Author)]
		if !ok {
			A, valid := authorKey(b.Author)
			if !valid {
				return false
			}
			a = len(keys)
			keys = append(keys, A)
			byKey[string(b.Author)] = a
		}
		R, err := new(edwards25519.Point).SetBytes(b.Sig[:32])
		if err != nil {
			return false
		}
		S, err := edwards25519.NewScalar().SetCanonicalBytes(b.Sig[32:])
		if err != nil {
			return false
		}
		k := challenge(b.Sig[:32], b.Author, msg)
		sigs = append(sigs, sig{R: R, S: S, k: k, a: a})
		seed.Write(b.Sig)
		seed.Write(b.Author)
		seed.Write(k.Bytes())
	}
	var digest [sha512.Size]byte
	seed.Sum(digest[:0])
	// Σ z_i ([S_i]B − R_i − [k_i]A_i) = [Σ z_i S_i]B − Σ [z_i]R_i − Σ_A [Σ z_i k_i]A,
	// times the cofactor, is the identity.
	scalars := make([]*edwards25519.Scalar, 0, 1+len(sigs)+len(keys))
	points := make([]*edwards25519.Point, 0, cap(scalars))
	base := edwards25519.NewScalar()
	perKey := make([]*edwards25519.Scalar, len(keys))
	for i := range perKey {
		perKey[i] = edwards25519.NewScalar()
	}
	h := sha512.New()
	var in [sha512.Size + 8]byte
	copy(in[:], digest[:])
	var zBytes [32]byte
	for i, s := range sigs {
		binary.BigEndian.PutUint64(in[sha512.Size:], uint64(i))
		h.Reset()
		h.Write(in[:])
		copy(zBytes[:16], h.Sum(nil))                                 // z below 2¹²⁸: see VerifyBatch
		z, _ := edwards25519.NewScalar().SetCanonicalBytes(zBytes[:]) // cannot fail: below ℓ
		base.MultiplyAdd(z, s.S, base)
		perKey[s.a].MultiplyAdd(z, s.k, perKey[s.a])
		scalars = append(scalars, z)
		points = append(points, new(edwards25519.Point).Negate(s.R))
	}
	scalars = append(scalars, base)
	points = append(points, edwards25519.NewGeneratorPoint())
	for i, A := range keys {
		scalars = append(scalars, perKey[i])
		points = append(points, new(edwards25519.Point).Negate(A))
	}
	p := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points)
	p.MultByCofactor(p)
	return p.Equal(edwards25519.NewIdentityPoint()) == 1
}

// verifyError is Verify's error for a signature that does not hold.
func verifyError(b *Block) error {
	return fmt.Errorf("%w: block %s: signature does not verify with its author key", ErrSignature, b.CID)
}
