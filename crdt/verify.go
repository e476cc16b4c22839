package crdt

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Signatures are verified under the rules of ZIP-215: the cofactored Ed25519
// equation
//
//	[8][S]B = [8]R + [8][k]A,  k = SHA-512(R ‖ A ‖ message) mod ℓ
//
// with S required canonical (below ℓ) and A and R decoded from any encoding of
// a curve point, canonical or not. These are the rules of ZIP-215, which Zcash
// adopted so that one signature and a batch containing it are always judged
// alike: whether a block is accepted must not depend on whether it was
// verified alone or in a batch, or replicas would diverge. Every signature
// crypto/ed25519 makes verifies under them. The arithmetic is
// curve25519-voi's, alone and in batches.
//
// One rule is added: an author key of small order (one that the cofactor
// takes to the identity) is refused. Under the cofactored equation such a key
// "signs" any content with a trivial signature, so it would be an author
// anybody can write as; no key crypto/ed25519 generates is one.

// decodePoint decodes a curve point from any of its encodings, canonical or
// not, as ZIP-215 asks.
func decodePoint(p *curve.EdwardsPoint, enc []byte) bool {
	var y curve.CompressedEdwardsY
	if _, err := y.SetBytes(enc); err != nil {
		return false
	}
	_, err := p.SetCompressedY(&y)
	return err == nil
}

// authorKey decodes an author key into A, refusing one of small order.
func authorKey(A *curve.EdwardsPoint, key []byte) bool {
	return decodePoint(A, key) && !A.IsSmallOrder()
}

// zip215 makes curve25519-voi verify under the rules of ZIP-215.
var zip215 = &voied.Options{Verify: voied.VerifyOptionsZIP_215}

// verifyOne reports whether sig is the signature of msg by key. It is
// curve25519-voi's verification under ZIP-215, which takes half the time of
// github.com/hdevalence/ed25519consensus's (BenchmarkVerify) and judges
// every signature as it does (TestVerifyMatchesConsensus, on the cases
// where the rules of Ed25519 implementations differ).
func verifyOne(key ed25519.PublicKey, msg, sig []byte) bool {
	var A curve.EdwardsPoint
	return authorKey(&A, key) && voied.VerifyWithOptions(voied.PublicKey(key), msg, sig, zip215)
}

// VerifyBatch verifies the signatures of blocks as Verify does, together: it
// costs a fraction of what Verify does per block for batches of tens of
// blocks, by the same rules (so a block passes in a batch exactly when it
// passes alone, but with probability 2⁻¹²⁸ at most). When some signature
// fails it verifies them one by one and returns the error of the first block
// that fails. A signature that several blocks share (SignBatch), with the
// same key and signed bytes, enters the batch once. It is safe for concurrent
// use on blocks no longer modified.
//
// One block is verified by verifyOne; a batch by batchHolds, because
// curve25519-voi's BatchVerifier (like github.com/hdevalence/ed25519consensus's)
// gives every signature a key term of its own, while a batch here is mostly one
// author's blocks (a CreateMany, a catch-up answer) and batchHolds sums each
// author's terms into one: half the points of the multi-scalar multiplication
// (BenchmarkVerifyBatch, 64 blocks of one author). The tests check it against
// ed25519consensus on valid and invalid signatures, including those on which
// Ed25519 implementations disagree.
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
	keys := make([][]byte, 0, len(blocks))
	signed := make([][]byte, 0, len(blocks))
	sigs := make([][]byte, 0, len(blocks))
	seen := make(map[string]bool, len(blocks)) // signatures already in the batch, with key and message
	for i, b := range blocks {
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
		keys, signed, sigs = append(keys, b.Author), append(signed, msg), append(sigs, b.Sig)
	}
	return batchHolds(keys, signed, sigs)
}

// batchHolds reports whether sigs[i] is the signature of msgs[i] by keys[i]
// for every i, with probability 2⁻¹²⁸ at most of a wrong yes.
//
// The batch equation is the sum of each signature's equation times a
// coefficient z drawn from a hash of every signature, key and challenge of the
// batch: a forger cannot choose a batch whose errors cancel out without
// knowing the coefficients, which depend on the whole batch. The coefficients
// are 128-bit numbers, as in ed25519consensus's BatchVerifier: a bad batch
// passes with probability 2⁻¹²⁸ at most, and the multiplications by them, one
// per signature, cost half of what full-size scalars would.
func batchHolds(keys, msgs, sigs [][]byte) bool {
	type term struct {
		S, k scalar.Scalar
		a    int // index of the signature's key in points[1+len(sigs):]
	}
	n := len(sigs)
	terms := make([]term, n)
	// points are B, then each −R, then each distinct −A: the terms of
	// Σ z ([S]B − R − [k]A) = [Σ z S]B − Σ [z]R − Σ_A [Σ z k]A.
	points := make([]*curve.EdwardsPoint, 1+n, 1+2*n)
	points[0] = curve.ED25519_BASEPOINT_POINT
	Rs := make([]curve.EdwardsPoint, n)
	var As []curve.EdwardsPoint
	byKey := map[string]int{}
	seed := sha512.New()
	var kBytes [scalar.ScalarSize]byte
	for i, sig := range sigs {
		key := keys[i]
		if len(key) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize || !scalar.ScMinimalVartime(sig[32:]) {
			return false
		}
		t := &terms[i]
		a, ok := byKey[string(key)]
		if !ok {
			var A curve.EdwardsPoint
			if !authorKey(&A, key) {
				return false
			}
			a = len(As)
			As = append(As, *A.Neg(&A))
			byKey[string(key)] = a
		}
		t.a = a
		if !decodePoint(&Rs[i], sig[:32]) {
			return false
		}
		points[1+i] = Rs[i].Neg(&Rs[i])
		if _, err := t.S.SetBytesModOrder(sig[32:]); err != nil {
			return false
		}
		challenge(&t.k, sig[:32], key, msgs[i])
		seed.Write(sig)
		seed.Write(key)
		_ = t.k.ToBytes(kBytes[:]) // cannot fail: 32 bytes
		seed.Write(kBytes[:])
	}
	var digest [sha512.Size]byte
	seed.Sum(digest[:0])

	zs := make([]scalar.Scalar, 1+n+len(As)) // Σ z S, each z, each Σ z k
	scalars := make([]*scalar.Scalar, len(zs))
	for i := range zs {
		scalars[i] = &zs[i]
	}
	perKey := zs[1+n:]
	h := sha512.New()
	var in [sha512.Size + 8]byte
	copy(in[:], digest[:])
	var zBytes [scalar.ScalarSize]byte
	var zS, zk scalar.Scalar
	for i := range terms {
		t := &terms[i]
		binary.BigEndian.PutUint64(in[sha512.Size:], uint64(i))
		h.Reset()
		h.Write(in[:])
		copy(zBytes[:16], h.Sum(nil)) // z below 2¹²⁸: see above
		z := scalars[1+i]
		_, _ = z.SetBytesModOrder(zBytes[:]) // cannot fail: 32 bytes
		zs[0].Add(&zs[0], zS.Mul(z, &t.S))
		perKey[t.a].Add(&perKey[t.a], zk.Mul(z, &t.k))
	}
	for i := range As {
		points = append(points, &As[i])
	}
	var p curve.EdwardsPoint
	return p.MultiscalarMulVartime(scalars, points).IsSmallOrder()
}

// challenge sets k to SHA-512(R ‖ A ‖ msg) mod ℓ.
func challenge(k *scalar.Scalar, R, A, msg []byte) {
	h := sha512.New()
	h.Write(R)
	h.Write(A)
	h.Write(msg)
	var d [sha512.Size]byte
	_, _ = k.SetBytesModOrderWide(h.Sum(d[:0])) // cannot fail: 64 bytes
}

// verifyError is Verify's error for a signature that does not hold.
func verifyError(b *Block) error {
	return fmt.Errorf("%w: block %s: signature does not verify with its author key", ErrSignature, b.CID)
}
