package crdt_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/gossipdb/gossipdb/crdt"
)

// TestSignVerify checks that a signed block verifies after a round trip, and
// that every way of getting the signature wrong fails with ErrSignature.
func TestSignVerify(t *testing.T) {
	g := fixedGenesis()
	if err := g.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.Author, testKey.Public().(ed25519.PublicKey)) {
		t.Fatalf("Author = %x, want the key's public key", g.Author)
	}
	d, err := crdt.Decode(g.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(); err != nil {
		t.Fatalf("Verify of a signed block: %v", err)
	}
	msg, err := d.SignedBytes()
	if err != nil || !bytes.HasPrefix(msg, []byte("gossipdb block v1\x00")) || bytes.Contains(msg, d.Sig) {
		t.Fatalf("SignedBytes = %q, %v: want the context, then the block without its signature", msg, err)
	}
	// Cut out of Data or encoded from the fields, the signed bytes are the same.
	plain := *d
	plain.Data = nil
	if again, err := plain.SignedBytes(); err != nil || !bytes.Equal(again, msg) {
		t.Errorf("SignedBytes of the fields = %x, %v; of the bytes %x", again, err, msg)
	}
	if d.Data[0] != 0xa0+8 || !bytes.HasPrefix(d.Data[1:], []byte("\x62sg\x58\x40")) {
		t.Errorf("the signature is not the first entry: %x", d.Data)
	}

	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	resigned := fixedGenesis()
	if err := resigned.Sign(other); err != nil {
		t.Fatal(err)
	}
	if resigned.CID.Equals(g.CID) {
		t.Error("the same content signed by another key has the same CID")
	}
	if err := resigned.Verify(); err != nil {
		t.Errorf("Verify of a block signed by another key: %v", err)
	}

	for name, mutate := range map[string]func(b *crdt.Block){
		"forged signature":            func(b *crdt.Block) { b.Sig[0] ^= 1 },
		"signature of another author": func(b *crdt.Block) { b.Sig = resigned.Sig },
		"author swapped":              func(b *crdt.Block) { b.Author = resigned.Author },
		"content changed":             func(b *crdt.Block) { b.Nonce[0] ^= 1 },
		"key not a point":             func(b *crdt.Block) { b.Author = ed25519.PublicKey(bytes.Repeat([]byte{0xff}, 32)) },
	} {
		t.Run(name, func(t *testing.T) {
			b, err := crdt.Decode(g.Data)
			if err != nil {
				t.Fatal(err)
			}
			mutate(b)
			if err := b.Encode(); err != nil {
				t.Fatal(err)
			}
			back, err := crdt.Decode(b.Data)
			if err != nil {
				t.Fatalf("Decode: %v (a bad signature is Verify's to find)", err)
			}
			if err := back.Verify(); !errors.Is(err, crdt.ErrSignature) || !errors.Is(err, crdt.ErrInvalidBlock) {
				t.Errorf("Verify = %v, want ErrSignature", err)
			}
		})
	}

	// Decode refuses a block without an author or signature, or with one of the
	// wrong size or kind.
	unsigned := fixedGenesis()
	if err := unsigned.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(b *crdt.Block){
		"no signature":     func(b *crdt.Block) { b.Sig = nil },
		"no author":        func(b *crdt.Block) { b.Author = nil },
		"short author key": func(b *crdt.Block) { b.Author = b.Author[:31] },
		"long signature":   func(b *crdt.Block) { b.Sig = append(b.Sig, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			b := *unsigned
			b.Author, b.Sig = bytes.Clone(b.Author), bytes.Clone(b.Sig)
			mutate(&b)
			if err := b.Encode(); !errors.Is(err, crdt.ErrSignature) {
				t.Errorf("Encode = %v, want ErrSignature", err)
			}
			if err := b.Verify(); !errors.Is(err, crdt.ErrSignature) {
				t.Errorf("Verify = %v, want ErrSignature", err)
			}
		})
	}
	if err := fixedGenesis().Sign(testKey[:10]); !errors.Is(err, crdt.ErrSignature) {
		t.Errorf("Sign with a short key = %v, want ErrSignature", err)
	}
}

// TestDecodeRefusesUnsigned checks that Decode refuses blocks without an author
// and a signature, as the blocks written before signatures are.
func TestDecodeRefusesUnsigned(t *testing.T) {
	for name, drop := range map[string]string{"no author": "author", "no signature": "sg"} {
		m := genesisEntries()
		delete(m, drop)
		if _, err := crdt.Decode(rawMap(t, m)); !errors.Is(err, crdt.ErrSignature) {
			t.Errorf("%s: Decode = %v, want ErrSignature", name, err)
		}
	}
	m := genesisEntries()
	m["sg"] = m["nonce"] // bytes of the wrong length
	if _, err := crdt.Decode(rawMap(t, m)); !errors.Is(err, crdt.ErrSignature) {
		t.Errorf("short signature: Decode = %v, want ErrSignature", err)
	}
	m = genesisEntries()
	m["author"] = m["height"] // an int
	if _, err := crdt.Decode(rawMap(t, m)); !errors.Is(err, crdt.ErrSignature) {
		t.Errorf("author not bytes: Decode = %v, want ErrSignature", err)
	}
}
