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
		batched := rapid.Bool().Draw(t, "batched")
		if batched { // each key's blocks signed in batches
			for _, key := range keys {
				var mine []*crdt.Block
				for _, b := range blocks {
					if bytes.Equal(b.Author, key.Public().(ed25519.PublicKey)) {
						mine = append(mine, b)
					}
				}
				if err := crdt.SignBatch(key, mine); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range rapid.IntRange(0, 2).Draw(t, "spoiled") {
			b := blocks[rapid.IntRange(0, n-1).Draw(t, "which")]
			switch rapid.IntRange(0, 3).Draw(t, "how") {
			case 0:
				bit := rapid.IntRange(0, 8*ed25519.SignatureSize-1).Draw(t, "bit")
				b.Sig = bytes.Clone(b.Sig) // a batch's blocks share theirs
				b.Sig[bit/8] ^= 1 << (bit % 8)
			case 3:
				if len(b.Proof) > 2 { // a sibling hash, not the place
					bit := rapid.IntRange(16, 8*len(b.Proof)-1).Draw(t, "bit")
					b.Proof = bytes.Clone(b.Proof)
					b.Proof[bit/8] ^= 1 << (bit % 8)
				}
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

// TestSignBatch: blocks signed in batches carry one signature per batch of up
// to MaxSignedBatch and each verifies alone after a round trip through its
// bytes; a proof that is moved, altered or malformed fails.
func TestSignBatch(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 16, 17, 33, 40} {
		blocks := signedBlocks(t, n, testKey)
		if err := crdt.SignBatch(testKey, blocks); err != nil {
			t.Fatal(err)
		}
		sigs := map[string]int{}
		cids := map[string]bool{}
		for i, b := range blocks {
			sigs[string(b.Sig)]++
			cids[b.CID.KeyString()] = true
			d, err := crdt.Decode(b.Data)
			if err != nil {
				t.Fatalf("%d blocks, block %d: Decode: %v", n, i, err)
			}
			if !d.CID.Equals(b.CID) || !bytes.Equal(d.Proof, b.Proof) {
				t.Fatalf("%d blocks, block %d: round trip changed the block", n, i)
			}
			if err := d.Verify(); err != nil {
				t.Fatalf("%d blocks, block %d: Verify: %v", n, i, err)
			}
			msg, err := d.SignedBytes()
			if err != nil {
				t.Fatal(err)
			}
			plain := *d
			plain.Data = nil
			if again, err := plain.SignedBytes(); err != nil || !bytes.Equal(again, msg) {
				t.Errorf("%d blocks, block %d: SignedBytes of the fields %x (%v), of the bytes %x", n, i, again, err, msg)
			}
			alone := i == n-1 && n%crdt.MaxSignedBatch == 1
			if alone != (len(b.Proof) == 0) {
				t.Errorf("%d blocks, block %d: proof %x", n, i, b.Proof)
			}
		}
		if want := (n + crdt.MaxSignedBatch - 1) / crdt.MaxSignedBatch; len(sigs) != want {
			t.Errorf("%d blocks: %d signatures, want %d", n, len(sigs), want)
		}
		if len(cids) != n {
			t.Errorf("%d blocks: %d CIDs", n, len(cids))
		}
		if err := crdt.VerifyBatch(blocks); err != nil {
			t.Errorf("%d blocks: VerifyBatch: %v", n, err)
		}
	}

	blocks := signedBlocks(t, 5, testKey)
	if err := crdt.SignBatch(testKey, blocks); err != nil {
		t.Fatal(err)
	}
	respell := func(b *crdt.Block, proof []byte) *crdt.Block {
		c := *b
		c.Proof = proof
		if err := c.Encode(); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	for name, b := range map[string]*crdt.Block{
		"another block's proof":     respell(blocks[0], blocks[1].Proof),
		"another place":             respell(blocks[0], append([]byte{1}, blocks[0].Proof[1:]...)),
		"another batch size":        respell(blocks[0], append([]byte{0, 6}, blocks[0].Proof[2:]...)),
		"a sibling hash changed":    respell(blocks[2], append(bytes.Clone(blocks[2].Proof[:len(blocks[2].Proof)-1]), ^blocks[2].Proof[len(blocks[2].Proof)-1])),
		"no proof, batch signature": respell(blocks[3], nil),
	} {
		if err := b.Verify(); !errors.Is(err, crdt.ErrSignature) {
			t.Errorf("%s: Verify = %v, want ErrSignature", name, err)
		}
		if err := crdt.VerifyBatch(append(slices.Clone(blocks), b)); !errors.Is(err, crdt.ErrSignature) {
			t.Errorf("%s: VerifyBatch = %v, want ErrSignature", name, err)
		}
	}
	for name, proof := range map[string][]byte{
		"empty":             {},
		"batch of one":      append([]byte{0, 1}, blocks[0].Proof[2:]...),
		"place beyond size": append([]byte{5, 5}, blocks[0].Proof[2:]...),
		"batch too large":   append([]byte{0, crdt.MaxSignedBatch + 1}, blocks[0].Proof[2:]...),
		"hash missing":      blocks[0].Proof[:len(blocks[0].Proof)-32],
		"hash too many":     append(bytes.Clone(blocks[0].Proof), make([]byte, 32)...),
	} {
		c := *blocks[0]
		c.Proof = proof
		if err := c.Encode(); !errors.Is(err, crdt.ErrSignature) {
			t.Errorf("proof %s: Encode = %v, want ErrSignature", name, err)
		}
	}
}

// TestSignedSize: an unsigned block's SignedSize is its size once signed
// alone, and bounds it signed in a batch to MaxProofSize more; a block that
// would be over MaxBlockSize once signed fails with ErrTooLarge.
func TestSignedSize(t *testing.T) {
	s := testSchema()
	author := testKey.Public().(ed25519.PublicKey)
	unsigned := func(title string) *crdt.Block {
		b, err := crdt.NewGenesis(s, map[string]any{"title": title}, nil, testNonce, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var batch []*crdt.Block
	var sizes []int
	for i := range 5 {
		b := unsigned(strings.Repeat("x", i*100))
		n, err := b.SignedSize(author)
		if err != nil {
			t.Fatal(err)
		}
		alone := unsigned(strings.Repeat("x", i*100))
		if err := alone.Sign(testKey); err != nil {
			t.Fatal(err)
		}
		if len(alone.Data) != n {
			t.Errorf("block %d: SignedSize %d, signed alone %d bytes", i, n, len(alone.Data))
		}
		batch, sizes = append(batch, b), append(sizes, n)
	}
	if err := crdt.SignBatch(testKey, batch); err != nil {
		t.Fatal(err)
	}
	for i, b := range batch {
		if len(b.Data) <= sizes[i] || len(b.Data) > sizes[i]+crdt.MaxProofSize {
			t.Errorf("block %d: %d bytes signed in a batch, SignedSize %d", i, len(b.Data), sizes[i])
		}
	}
	big := unsigned(strings.Repeat("x", crdt.MaxBlockSize))
	if _, err := big.SignedSize(author); !errors.Is(err, crdt.ErrTooLarge) {
		t.Errorf("block over MaxBlockSize: SignedSize = %v, want ErrTooLarge", err)
	}
}

// TestVerifiedMatchesVerifyBatch: a Verified, however small and whatever it
// remembers, judges every chunk of blocks as VerifyBatch does, with batches
// signed together arriving apart and some blocks spoiled.
func TestVerifiedMatchesVerifyBatch(t *testing.T) {
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	rapid.Check(t, func(t *rapid.T) {
		var blocks []*crdt.Block
		for range rapid.IntRange(1, 4).Draw(t, "batches") {
			key := testKey
			if rapid.Bool().Draw(t, "other key") {
				key = other
			}
			batch := signedBlocks(t, rapid.IntRange(1, 20).Draw(t, "size"), key)
			if err := crdt.SignBatch(key, batch); err != nil {
				t.Fatal(err)
			}
			blocks = append(blocks, batch...)
		}
		for range rapid.IntRange(0, 2).Draw(t, "spoiled") {
			i := rapid.IntRange(0, len(blocks)-1).Draw(t, "which")
			b := *blocks[i]
			if len(b.Proof) > 2 && rapid.Bool().Draw(t, "proof") {
				b.Proof = bytes.Clone(b.Proof)
				b.Proof[len(b.Proof)-1] ^= 1
			} else {
				b.Sig = bytes.Clone(b.Sig)
				b.Sig[0] ^= 1
			}
			if err := b.Encode(); err != nil {
				t.Fatal(err)
			}
			blocks[i] = &b
		}
		order := rapid.Permutation(blocks).Draw(t, "order")
		v := crdt.NewVerified(rapid.IntRange(1, 1000).Draw(t, "bytes"))
		for len(order) > 0 {
			k := rapid.IntRange(1, len(order)).Draw(t, "chunk")
			chunk := order[:k]
			order = order[k:]
			want := crdt.VerifyBatch(chunk)
			if got := v.VerifyBatch(chunk); (got == nil) != (want == nil) {
				t.Fatalf("Verified.VerifyBatch = %v, VerifyBatch = %v", got, want)
			}
		}
	})
}
