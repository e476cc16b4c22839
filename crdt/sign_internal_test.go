package crdt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"testing"

	"filippo.io/edwards25519"
	"github.com/hdevalence/ed25519consensus"
	"pgregory.net/rapid"
)

// TestSignIsTheStandardSignature: sign returns what crypto/ed25519.Sign
// returns, byte for byte, for any key and message, so that blocks signed
// before and after it are alike.
func TestSignIsTheStandardSignature(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.SliceOfN(rapid.Byte(), ed25519.SeedSize, ed25519.SeedSize).Draw(t, "seed")
		msg := rapid.SliceOfN(rapid.Byte(), 0, 4096).Draw(t, "msg")
		key := ed25519.NewKeyFromSeed(seed)
		if got, want := sign(key, msg), ed25519.Sign(key, msg); !bytes.Equal(got, want) {
			t.Fatalf("sign = %x, crypto/ed25519.Sign = %x", got, want)
		}
	})
}

// order8 is the encoding of a point of order 8, a torsion point: the
// cofactored equation of ZIP-215 ignores it, the cofactorless one of other
// implementations does not.
const order8 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"

// nonCanonical returns the encoding of y + p with the given sign bit, for y
// below 19: the second encoding of a point whose y is y, which ZIP-215
// accepts and other rules refuse.
func nonCanonical(y byte, negative bool) []byte {
	e := bytes.Repeat([]byte{0xff}, 32)
	e[0] = 0xed + y
	if !negative {
		e[31] = 0x7f
	}
	return e
}

// TestVerifyMatchesConsensus: verifyOne and batchHolds (curve25519-voi)
// judge every signature as ed25519consensus.Verify, the reference of ZIP-215,
// does, with small-order keys refused: honest signatures, spoiled ones, and
// signatures made to hold only under the cofactored equation (a torsion point
// added to R or to the key), or with R or the key in a non-canonical encoding.
// The batch holds a few such signatures among honest ones of other keys, and
// holds exactly when every one of them verifies alone.
func TestVerifyMatchesConsensus(t *testing.T) {
	torsion, err := new(edwards25519.Point).SetBytes(mustHex(t, order8))
	if err != nil {
		t.Fatal(err)
	}
	if !smallOrder(torsion) {
		t.Fatal("order8 is not a torsion point")
	}
	rapid.Check(t, func(t *rapid.T) {
		var keys, msgs, sigs [][]byte
		valid := true
		for range rapid.IntRange(1, 4).Draw(t, "crafted") {
			key, msg, sig := craftSignature(t, torsion)
			A, err := new(edwards25519.Point).SetBytes(key)
			want := err == nil && !smallOrder(A) && ed25519consensus.Verify(key, msg, sig)
			if got := verifyOne(key, msg, sig); got != want {
				t.Fatalf("verifyOne = %v, ed25519consensus.Verify with small-order keys refused = %v (key %x, sig %x)", got, want, key, sig)
			}
			keys, msgs, sigs = append(keys, key), append(msgs, msg), append(sigs, sig)
			valid = valid && want
		}
		for i := range rapid.IntRange(0, 6).Draw(t, "honest") {
			key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i % 2)}, ed25519.SeedSize))
			msg := []byte{byte(i)}
			keys, msgs, sigs = append(keys, key.Public().(ed25519.PublicKey)), append(msgs, msg), append(sigs, ed25519.Sign(key, msg))
		}
		if got := batchHolds(keys, msgs, sigs); got != valid {
			t.Fatalf("batchHolds = %v, every signature verifies alone: %v", got, valid)
		}
	})
}

// craftSignature returns a key, a message and a signature of one of the
// kinds TestVerifyMatchesConsensus names, spoiled or not.
func craftSignature(t *rapid.T, torsion *edwards25519.Point) (key, msg, sig []byte) {
	seed := rapid.SliceOfN(rapid.Byte(), ed25519.SeedSize, ed25519.SeedSize).Draw(t, "seed")
	msg = rapid.SliceOfN(rapid.Byte(), 0, 256).Draw(t, "msg")
	digest := sha512.Sum512(seed)
	a, _ := edwards25519.NewScalar().SetBytesWithClamping(digest[:32])
	A := new(edwards25519.Point).ScalarBaseMult(a)
	var rBytes [64]byte
	copy(rBytes[:], rapid.SliceOfN(rapid.Byte(), 64, 64).Draw(t, "nonce"))
	r, _ := edwards25519.NewScalar().SetUniformBytes(rBytes[:])
	R := new(edwards25519.Point).ScalarBaseMult(r)
	key, rEnc := A.Bytes(), R.Bytes()
	switch rapid.IntRange(0, 5).Draw(t, "case") {
	case 0: // honest
	case 1: // a torsion point added to R
		rEnc = new(edwards25519.Point).Add(R, torsion).Bytes()
	case 2: // a torsion point added to the key
		key = new(edwards25519.Point).Add(A, torsion).Bytes()
	case 3: // R of small order, non-canonical, with S = k·a
		rEnc = nonCanonical(byte(rapid.IntRange(0, 1).Draw(t, "y")), rapid.Bool().Draw(t, "negative"))
		r = edwards25519.NewScalar()
	case 4: // R or the key any non-canonical encoding
		e := nonCanonical(byte(rapid.IntRange(0, 18).Draw(t, "y")), rapid.Bool().Draw(t, "negative"))
		if rapid.Bool().Draw(t, "key") {
			key = e
		} else {
			rEnc = e
		}
	case 5: // random bytes
		key = rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "key")
		rEnc = rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "R")
	}
	h := sha512.New()
	h.Write(rEnc)
	h.Write(key)
	h.Write(msg)
	k, _ := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	S := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	sig = append(bytes.Clone(rEnc), S.Bytes()...)
	if rapid.Bool().Draw(t, "spoil") {
		i := rapid.IntRange(0, len(sig)-1).Draw(t, "byte")
		sig[i] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
	}
	return key, msg, sig
}

// smallOrder reports whether the cofactor takes p to the identity.
func smallOrder(p *edwards25519.Point) bool {
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
