package crdt_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hdevalence/ed25519consensus"
	"pgregory.net/rapid"

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

// signedBlocks returns n genesis blocks of the test schema, signed by keys in
// turn.
func signedBlocks(t interface{ Fatal(...any) }, n int, keys ...ed25519.PrivateKey) []*crdt.Block {
	s := testSchema()
	out := make([]*crdt.Block, n)
	for i := range out {
		b, err := crdt.NewGenesis(s, map[string]any{"title": fmt.Sprint("doc ", i)}, nil, testNonce, keys[i%len(keys)])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// TestVerifyBatch: a batch of good signatures verifies; a batch with one bad
// block fails with that block's error, wherever it is, and judges each block
// as Verify does.
func TestVerifyBatch(t *testing.T) {
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	for _, n := range []int{0, 1, 2, 7, 64} {
		if err := crdt.VerifyBatch(signedBlocks(t, n, testKey, other)); err != nil {
			t.Errorf("%d good blocks: %v", n, err)
		}
	}
	const l = "\xed\xd3\xf5\x5c\x1a\x63\x12\x58\xd6\x9c\xf7\xa2\xde\xf9\xde\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10" // ℓ, little-endian
	for name, spoil := range map[string]func(b *crdt.Block){
		"flipped bit": func(b *crdt.Block) { b.Sig[5] ^= 0x10 },
		"other author": func(b *crdt.Block) { // the key of the other signer
			if mine := b.Author; bytes.Equal(mine, other.Public().(ed25519.PublicKey)) {
				b.Author = testKey.Public().(ed25519.PublicKey)
			} else {
				b.Author = other.Public().(ed25519.PublicKey)
			}
		},
		"key not a point": func(b *crdt.Block) { b.Author = ed25519.PublicKey(bytes.Repeat([]byte{0xff}, 32)) },
		"S plus l": func(b *crdt.Block) { // the same signature, S not canonical: refused
			var carry uint16
			for i := range 32 {
				sum := uint16(b.Sig[32+i]) + uint16(l[i]) + carry
				b.Sig[32+i], carry = byte(sum), sum>>8
			}
		},
	} {
		for _, at := range []int{0, 5, 9} {
			blocks := signedBlocks(t, 10, testKey, other)
			bad, err := crdt.Decode(blocks[at].Data)
			if err != nil {
				t.Fatal(err)
			}
			spoil(bad)
			if err := bad.Encode(); err != nil {
				t.Fatal(err)
			}
			blocks[at] = bad
			err = crdt.VerifyBatch(blocks)
			if !errors.Is(err, crdt.ErrSignature) || !strings.Contains(err.Error(), bad.CID.String()) {
				t.Errorf("%s at %d: VerifyBatch = %v, want block %s's ErrSignature", name, at, err, bad.CID)
			}
			if err := bad.Verify(); !errors.Is(err, crdt.ErrSignature) {
				t.Errorf("%s: Verify = %v, want ErrSignature", name, err)
			}
		}
	}
}

// TestVerifyMatchesStandardSignatures: every signature crypto/ed25519 makes
// verifies, alone and in a batch, for any key and content.
func TestVerifyMatchesStandardSignatures(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "blocks")
		keys := make([]ed25519.PrivateKey, rapid.IntRange(1, 3).Draw(t, "keys"))
		for i := range keys {
			keys[i] = ed25519.NewKeyFromSeed(rapid.SliceOfN(rapid.Byte(), ed25519.SeedSize, ed25519.SeedSize).Draw(t, "seed"))
		}
		blocks := signedBlocks(t, n, keys...)
		for _, b := range blocks {
			msg, _ := b.SignedBytes()
			if !ed25519.Verify(b.Author, msg, b.Sig) {
				t.Fatalf("crypto/ed25519 refuses block %s", b.CID)
			}
			if err := b.Verify(); err != nil {
				t.Fatal(err)
			}
		}
		if err := crdt.VerifyBatch(blocks); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSmallOrderAuthorRefused: the identity point as author key, with the
// trivial signature (R the identity, S zero) that the cofactored equation
// accepts for any content, is refused alone and in a batch: nobody may write
// as a key that every content verifies under.
func TestSmallOrderAuthorRefused(t *testing.T) {
	identity := append([]byte{1}, make([]byte, 31)...)
	b := fixedGenesis()
	if err := b.Sign(testKey); err != nil {
		t.Fatal(err)
	}
	b.Author = ed25519.PublicKey(identity)
	b.Sig = append(bytes.Clone(identity), make([]byte, 32)...)
	if err := b.Encode(); err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(); !errors.Is(err, crdt.ErrSignature) {
		t.Errorf("Verify = %v, want ErrSignature", err)
	}
	batch := append(signedBlocks(t, 5, testKey), b)
	if err := crdt.VerifyBatch(batch); !errors.Is(err, crdt.ErrSignature) {
		t.Errorf("VerifyBatch = %v, want ErrSignature", err)
	}
}

// TestVerifyBatchMatchesLibrary: a batch, its blocks of one or a few authors
// and some of them spoiled (a bit of the signature or of the author key
// flipped, or the signature of another block), passes exactly when every
// block passes ed25519consensus.Verify alone, the reference of the ZIP-215
// rules: the batch equation, which sums each author's terms, never accepts what
// the library refuses.
func TestVerifyBatchMatchesLibrary(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 40).Draw(t, "blocks")
		keys := make([]ed25519.PrivateKey, rapid.IntRange(1, 3).Draw(t, "keys"))
		for i := range keys {
			keys[i] = ed25519.NewKeyFromSeed(rapid.SliceOfN(rapid.Byte(), ed25519.SeedSize, ed25519.SeedSize).Draw(t, "seed"))
		}
		blocks := signedBlocks(t, n, keys...)
		for range rapid.IntRange(0, 2).Draw(t, "spoiled") {
			b := blocks[rapid.IntRange(0, n-1).Draw(t, "which")]
			switch rapid.IntRange(0, 2).Draw(t, "how") {
			case 0:
				bit := rapid.IntRange(0, 8*ed25519.SignatureSize-1).Draw(t, "bit")
				b.Sig[bit/8] ^= 1 << (bit % 8)
			case 1:
				bit := rapid.IntRange(0, 8*ed25519.PublicKeySize-1).Draw(t, "bit")
				b.Author = bytes.Clone(b.Author)
				b.Author[bit/8] ^= 1 << (bit % 8)
			case 2:
				b.Sig = bytes.Clone(blocks[(slices.Index(blocks, b)+1)%n].Sig)
			}
		}
		valid := true
		for _, b := range blocks {
			msg, err := b.SignedBytes()
			valid = valid && err == nil && ed25519consensus.Verify(b.Author, msg, b.Sig)
		}
		if err := crdt.VerifyBatch(blocks); (err == nil) != valid {
			t.Fatalf("VerifyBatch = %v, the library says every block valid: %v", err, valid)
		}
	})
}

// TestSignManyMatchesSign: SignMany signs a batch exactly as Sign signs each
// of its blocks (the same signatures, bytes and CIDs), whatever the key, the
// contents and the size of the batch, and refuses a key of the wrong size.
func TestSignManyMatchesSign(t *testing.T) {
	s := testSchema()
	rapid.Check(t, func(t *rapid.T) {
		key := ed25519.NewKeyFromSeed(rapid.SliceOfN(rapid.Byte(), ed25519.SeedSize, ed25519.SeedSize).Draw(t, "seed"))
		n := rapid.IntRange(0, 40).Draw(t, "blocks")
		one, many := make([]*crdt.Block, n), make([]*crdt.Block, n)
		for i := range n {
			title := rapid.StringN(0, 200, -1).Draw(t, "title")
			b, err := crdt.NewGenesis(s, map[string]any{"title": title}, nil, testNonce, testKey)
			if err != nil {
				t.Fatal(err)
			}
			c := *b
			one[i], many[i] = b, &c
			if err := one[i].Sign(key); err != nil {
				t.Fatal(err)
			}
		}
		if err := crdt.SignMany(many, key); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if !bytes.Equal(one[i].Sig, many[i].Sig) || !bytes.Equal(one[i].Data, many[i].Data) || !one[i].CID.Equals(many[i].CID) ||
				!bytes.Equal(many[i].Author, key.Public().(ed25519.PublicKey)) {
				t.Fatalf("block %d of %d: SignMany made signature %x, CID %s; Sign %x, %s", i, n, many[i].Sig, many[i].CID, one[i].Sig, one[i].CID)
			}
		}
		if err := crdt.VerifyBatch(many); err != nil {
			t.Fatal(err)
		}
	})
	blocks := signedBlocks(t, 3, testKey)
	if err := crdt.SignMany(blocks, testKey[:40]); !errors.Is(err, crdt.ErrSignature) {
		t.Errorf("SignMany with a key of 40 bytes = %v, want ErrSignature", err)
	}
}
