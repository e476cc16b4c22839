package crdt

import (
	"bytes"
	"crypto/ed25519"
	"testing"

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
