package crdt

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"
)

// MaxSignedBatch is the most blocks one signature covers (see SignBatch).
const MaxSignedBatch = 16

// MaxProofSize is the most bytes a block signed in a batch (SignBatch) takes
// beyond its size signed alone (Sign): its proof's entry "sp".
const MaxProofSize = proofEntryMax

// batchContext starts what the signature of a batch of blocks covers; it keeps
// such a signature from verifying as one block's (signingContext) and the
// other way round.
const batchContext = "gossipdb blocks v1\x00"

// Proof layout: the block's index in its batch, the batch's size, then the
// sibling hashes from the leaves up.
const (
	proofHeader = 2
	hashSize    = sha256.Size
	// maxProofLen is the longest proof: MaxSignedBatch leaves need 4 levels.
	maxProofLen = proofHeader + 4*hashSize
	// proofEntryMax is the most bytes a block's entry "sp" takes: the key, a
	// byte string header of two bytes, the proof.
	proofEntryMax = 1 + len(keyProof) + 2 + maxProofLen
)

// proofLen returns how many sibling hashes the proof of leaf i of n has: one
// for each level where i's node has a sibling (an unpaired last node goes up
// unchanged).
func proofLen(i, n int) int {
	k := 0
	for ; n > 1; i, n = i/2, (n+1)/2 {
		if i^1 < n {
			k++
		}
	}
	return k
}

// checkProof checks a proof's structure: an index below a size of 2 to
// MaxSignedBatch, and the number of hashes that place needs.
func checkProof(p []byte) error {
	if len(p) < proofHeader {
		return fmt.Errorf("%w: proof of %d bytes", ErrSignature, len(p))
	}
	i, n := int(p[0]), int(p[1])
	if n < 2 || n > MaxSignedBatch || i >= n {
		return fmt.Errorf("%w: proof names block %d of %d (2 to %d blocks)", ErrSignature, i, n, MaxSignedBatch)
	}
	if want := proofHeader + hashSize*proofLen(i, n); len(p) != want {
		return fmt.Errorf("%w: proof of block %d of %d is %d bytes, want %d", ErrSignature, i, n, len(p), want)
	}
	return nil
}

// leafHash is a block's leaf in its batch's tree: the hash of its encoding
// without "sg" and "sp".
func leafHash(unsigned []byte) [hashSize]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(unsigned)
	var out [hashSize]byte
	h.Sum(out[:0])
	return out
}

// nodeHash is an inner node of a batch's tree.
func nodeHash(left, right [hashSize]byte) [hashSize]byte {
	var in [1 + 2*hashSize]byte
	in[0] = 1
	copy(in[1:], left[:])
	copy(in[1+hashSize:], right[:])
	return sha256.Sum256(in[:])
}

// batchMessage is what the signature of a batch of n blocks whose tree has
// root covers.
func batchMessage(n int, root [hashSize]byte) []byte {
	msg := make([]byte, 0, len(batchContext)+1+hashSize)
	msg = append(append([]byte(batchContext), byte(n)), root[:]...)
	return msg
}

// proofMessage returns the message a block's batch signature covers, from the
// block's unsigned encoding and its proof (checked by checkProof).
func proofMessage(unsigned, proof []byte) []byte {
	i, n := int(proof[0]), int(proof[1])
	node := leafHash(unsigned)
	sib := proof[proofHeader:]
	for ; n > 1; i, n = i/2, (n+1)/2 {
		if i^1 >= n {
			continue // unpaired: goes up unchanged
		}
		var s [hashSize]byte
		copy(s[:], sib[:hashSize])
		sib = sib[hashSize:]
		if i%2 == 0 {
			node = nodeHash(node, s)
		} else {
			node = nodeHash(s, node)
		}
	}
	return batchMessage(int(proof[1]), node)
}

// SignBatch signs blocks with key as Sign does, but with one signature for up
// to MaxSignedBatch blocks at a time: the signature covers the root of a hash
// tree over the blocks' encodings without "sg" and "sp", and each block
// carries, as "sp", its place in the tree and the sibling hashes that lead
// from it to the root (see SignedBytes). Each block verifies alone; a batch of
// them costs one signature, and VerifyBatch checks it once. A block whose
// encoding would leave no room for its proof within MaxBlockSize, and the last
// block of blocks when it is alone in its group, are signed as Sign does.
// Blocks that are not yet signed are the intended input (a constructor given
// a nil key returns them); on error, blocks are left unsigned.
func SignBatch(key ed25519.PrivateKey, blocks []*Block) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key is %d bytes, want %d", ErrSignature, len(key), ed25519.PrivateKeySize)
	}
	author := key.Public().(ed25519.PublicKey)
	group := make([]*Block, 0, MaxSignedBatch)
	unsigned := make([][]byte, 0, MaxSignedBatch)
	flush := func() error {
		err := signGroup(key, group, unsigned)
		group, unsigned = group[:0], unsigned[:0]
		return err
	}
	for _, b := range blocks {
		data, err := b.unsigned(author)
		if err != nil {
			return err
		}
		if len(data)+sigEntryLen+proofEntryMax > MaxBlockSize {
			if err := b.signAlone(key, data); err != nil {
				return err
			}
			continue
		}
		group, unsigned = append(group, b), append(unsigned, data)
		if len(group) == MaxSignedBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// signGroup signs group, whose unsigned encodings are unsigned, with one
// signature (one block: Sign's).
func signGroup(key ed25519.PrivateKey, group []*Block, unsigned [][]byte) error {
	switch len(group) {
	case 0:
		return nil
	case 1:
		return group[0].signAlone(key, unsigned[0])
	}
	n := len(group)
	levels := [][][hashSize]byte{make([][hashSize]byte, n)}
	for i, u := range unsigned {
		levels[0][i] = leafHash(u)
	}
	for level := levels[0]; len(level) > 1; {
		up := make([][hashSize]byte, 0, (len(level)+1)/2)
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				up = append(up, level[i])
			} else {
				up = append(up, nodeHash(level[i], level[i+1]))
			}
		}
		levels = append(levels, up)
		level = up
	}
	sig := sign(key, batchMessage(n, levels[len(levels)-1][0]))
	for i, b := range group {
		proof := make([]byte, proofHeader, proofHeader+hashSize*proofLen(i, n))
		proof[0], proof[1] = byte(i), byte(n)
		for j, l := i, 0; len(levels[l]) > 1; j, l = j/2, l+1 {
			if j^1 < len(levels[l]) {
				s := levels[l][j^1]
				proof = append(proof, s[:]...)
			}
		}
		u := unsigned[i]
		data := make([]byte, 0, len(u)+sigEntryLen+proofEntryMax)
		data = append(data, u[0]+2)
		data = append(append(data, sigEntryPrefix...), sig...)
		data = append(append(data, proofEntryPrefix(len(proof))...), proof...)
		data = append(data, u[1:]...)
		b.Sig, b.Proof, b.Data, b.CID = sig, proof, data, sumCID(data)
	}
	return nil
}

// proofEntryPrefix is how a block's entry "sp" with a proof of size bytes
// starts: the key, then the header of a byte string of that size.
func proofEntryPrefix(size int) []byte {
	return []byte{0x60 | byte(len(keyProof)), keyProof[0], keyProof[1], 0x58, byte(size)}
}

// Verified remembers batch signatures (SignBatch) that verified, so that the
// blocks of a batch that arrive apart, as catch-up brings them in document
// order, cost one signature check between them rather than one each. It holds
// at most a fixed number of signatures, forgetting the oldest first; blocks
// signed alone are never remembered (no other block shares their signature).
// It is safe for concurrent use.
type Verified struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
	ring [][sha256.Size]byte // the remembered signatures, oldest at next once full
	next int
}

// verifiedEntryBytes is about what Verified holds per signature: its 32-byte
// key in the map and in the ring, with the map's overhead.
const verifiedEntryBytes = 96

// NewVerified returns a Verified that holds about maxBytes of signatures (at
// least one).
func NewVerified(maxBytes int) *Verified {
	n := max(maxBytes/verifiedEntryBytes, 1)
	return &Verified{seen: make(map[[sha256.Size]byte]struct{}, n), ring: make([][sha256.Size]byte, 0, n)}
}

// VerifyBatch is crdt.VerifyBatch, skipping the blocks whose batch signature,
// over the same signed bytes by the same key, verified before; it then
// remembers the batch signatures it verified.
func (v *Verified) VerifyBatch(blocks []*Block) error {
	rest := make([]*Block, 0, len(blocks))
	msgs := make([][]byte, 0, len(blocks)) // rest's signed bytes, where computed here
	var keys [][sha256.Size]byte
	for _, b := range blocks {
		if len(b.Proof) == 0 {
			rest, msgs = append(rest, b), append(msgs, nil)
			continue
		}
		msg, err := b.SignedBytes()
		if err != nil {
			rest, msgs = append(rest, b), append(msgs, nil) // verifyAll says why
			continue
		}
		h := sha256.New()
		h.Write(b.Sig)
		h.Write(b.Author)
		h.Write(msg)
		var k [sha256.Size]byte
		h.Sum(k[:0])
		if v.has(k) {
			continue
		}
		rest, msgs = append(rest, b), append(msgs, msg)
		keys = append(keys, k)
	}
	if err := verifyAll(rest, msgs); err != nil {
		return err
	}
	v.add(keys)
	return nil
}

func (v *Verified) has(k [sha256.Size]byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.seen[k]
	return ok
}

func (v *Verified) add(keys [][sha256.Size]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, k := range keys {
		if _, ok := v.seen[k]; ok {
			continue
		}
		if len(v.ring) < cap(v.ring) {
			v.ring = append(v.ring, k)
		} else {
			delete(v.seen, v.ring[v.next])
			v.ring[v.next] = k
			v.next = (v.next + 1) % len(v.ring)
		}
		v.seen[k] = struct{}{}
	}
}
