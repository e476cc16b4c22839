package crdt

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// MaxBlockSize is the largest encoded block accepted, in bytes.
const MaxBlockSize = 1 << 20

// ErrInvalidBlock is wrapped by every error that rejects a block's bytes or content.
var ErrInvalidBlock = errors.New("crdt: invalid block")

// ErrTooLarge is wrapped by the error of encoding or decoding a block of more than
// MaxBlockSize bytes. It wraps ErrInvalidBlock.
var ErrTooLarge = fmt.Errorf("%w: too large", ErrInvalidBlock)

// SizeError reports a block of Size bytes, more than Max (MaxBlockSize). It
// matches ErrTooLarge.
type SizeError struct {
	Size, Max int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%v: block is %d bytes, more than %d", ErrTooLarge, e.Size, e.Max)
}

// Unwrap returns ErrTooLarge.
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// Block is one change to one document. Values in Set and Add are canonical
// (see Field.Normalize). CID and Data are not part of the content: Encode and
// Decode fill them, and a Block must not be modified afterwards; it is then safe for
// concurrent reads.
type Block struct {
	Schema  cid.Cid              // the collection's schema ID (its root version)
	Version cid.Cid              // the version the block was written under; cid.Undef for the root version
	Doc     cid.Cid              // the document's genesis CID; cid.Undef in a genesis block
	Prev    []cid.Cid            // the heads this change builds on, sorted by bytes; empty only in genesis
	Height  uint64               // 1 in genesis, else 1 + max height of Prev
	Set     map[string]any       // last-writer-wins assignments; a nil value clears the field
	Add     map[string]any       // counter increments: int64 for Int counters, float64 for Float counters
	SAdd    map[string][]any     // add-wins set additions: elements, sorted by CompareValues
	SRem    map[string][]Removal // add-wins set removals, sorted by value
	Delete  bool                 // the document is deleted
	Nonce   []byte               // random; required in genesis and with SAdd, allowed in a change only with Add or SAdd (see the package doc)
	Txn     *TxnPart             // the transaction the block is part of; nil outside transactions (see Transactions in the package doc)
	Author  ed25519.PublicKey    // the author's Ed25519 public key (ed25519.PublicKeySize bytes); set by Sign
	// In a restricted collection's blocks only (see internal/policy):
	Policy     []cid.Cid // the policy heads the author wrote under, sorted by bytes, at most MaxPolicyHeads; empty: the initial policy
	AuthorPrev cid.Cid   // the author's previous block in the collection; cid.Undef for its first
	Sig        []byte    // the author's signature of SignedBytes (ed25519.SignatureSize bytes); set by Sign
	Proof      []byte    // in a block signed with others (SignBatch): its place in their hash tree; see SignedBytes

	CID  cid.Cid // CIDv1, dag-cbor, sha2-256 of Data
	Data []byte  // canonical dag-cbor encoding
}

// TxnIDLen is the length of a transaction ID, in bytes.
const TxnIDLen = 16

// MaxTxnParts is the largest number of blocks one transaction may have in one
// collection.
const MaxTxnParts = 1 << 13

// TxnPart marks a block as part of a transaction (see Transactions in the
// package doc).
type TxnPart struct {
	// ID is the transaction's ID: TxnIDLen random bytes, the same in each of its
	// blocks, whatever their collection.
	ID []byte
	// Parts is 0, except in the transaction's last block in the block's
	// collection, its seal, where it counts the transaction's blocks in that
	// collection, the seal included: 2 to MaxTxnParts.
	Parts int
}

// validate checks a transaction mark.
func (t *TxnPart) validate() error {
	if len(t.ID) != TxnIDLen {
		return invalid("txn id is %d bytes, want %d", len(t.ID), TxnIDLen)
	}
	if t.Parts != 0 && (t.Parts < 2 || t.Parts > MaxTxnParts) {
		return invalid("txn n is %d, want 2 to %d", t.Parts, MaxTxnParts)
	}
	return nil
}

// VersionID returns the ID of the version b was written under: Version, or
// Schema for the root version.
func (b *Block) VersionID() cid.Cid {
	if b.Version.Defined() {
		return b.Version
	}
	return b.Schema
}

// IsGenesis reports whether b is a document's first block (it has no Doc).
func (b *Block) IsGenesis() bool { return !b.Doc.Defined() }

// DocID returns the ID of b's document: b.CID for a genesis block (so b must have
// been encoded or decoded), else b.Doc.
func (b *Block) DocID() cid.Cid {
	if b.IsGenesis() {
		return b.CID
	}
	return b.Doc
}

// checkLink reports whether c is a CIDv1, dag-cbor, sha2-256 with a full digest.
func checkLink(c cid.Cid) bool {
	k := c.KeyString()
	return len(k) == 4+hashLen && k[0] == 1 && k[1] == codecDagCBOR && k[2] == multihash.SHA2_256 && k[3] == hashLen
}

// validateSigned checks the structural rules shared by Encode and Decode,
// including that b has an author and a signature of the right sizes (whether
// the signature holds is Verify's to say).
func (b *Block) validateSigned() error {
	if err := b.validate(); err != nil {
		return err
	}
	if len(b.Author) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: author key is %d bytes, want %d", ErrSignature, len(b.Author), ed25519.PublicKeySize)
	}
	if len(b.Sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrSignature, len(b.Sig), ed25519.SignatureSize)
	}
	if b.Proof != nil {
		return checkProof(b.Proof)
	}
	return nil
}

// validate checks the structural rules shared by Encode, Decode and Sign, all
// but the author's and signature's.
func (b *Block) validate() error {
	if !b.Schema.Defined() {
		return invalid("schema missing")
	}
	if !checkLink(b.Schema) {
		return invalid("schema %s is not a CIDv1 dag-cbor sha2-256", b.Schema)
	}
	if b.Version.Defined() {
		if !checkLink(b.Version) {
			return invalid("version %s is not a CIDv1 dag-cbor sha2-256", b.Version)
		}
		if b.Version.Equals(b.Schema) {
			return invalid("version is the schema ID (omit it instead)")
		}
	}
	if b.Height < 1 {
		return invalid("height must be at least 1")
	}
	if b.Height > math.MaxInt64 {
		return invalid("height %d out of range", b.Height)
	}
	if b.IsGenesis() {
		if len(b.Prev) != 0 {
			return invalid("genesis block (no doc) has prev")
		}
		if b.Height != 1 {
			return invalid("genesis block (no doc) has height %d, want 1", b.Height)
		}
		if len(b.Nonce) < MinNonceLen || len(b.Nonce) > MaxNonceLen {
			return invalid("genesis nonce is %d bytes, want %d to %d", len(b.Nonce), MinNonceLen, MaxNonceLen)
		}
	} else {
		if !checkLink(b.Doc) {
			return invalid("doc %s is not a CIDv1 dag-cbor sha2-256", b.Doc)
		}
		if len(b.Prev) == 0 {
			return invalid("prev empty outside genesis")
		}
		if b.Height == 1 {
			return invalid("height 1 outside genesis")
		}
		if len(b.SAdd) != 0 && len(b.Nonce) == 0 {
			return invalid("a change with sadd needs a nonce")
		}
		if len(b.Nonce) != 0 {
			if len(b.Add) == 0 && len(b.SAdd) == 0 {
				return invalid("nonce on a change without add")
			}
			if len(b.Nonce) < MinNonceLen || len(b.Nonce) > MaxNonceLen {
				return invalid("nonce is %d bytes, want %d to %d", len(b.Nonce), MinNonceLen, MaxNonceLen)
			}
		}
		for i, c := range b.Prev {
			if !checkLink(c) {
				return invalid("prev[%d] %s is not a CIDv1 dag-cbor sha2-256", i, c)
			}
			if i > 0 {
				switch compareCIDs(b.Prev[i-1], c) {
				case 0:
					return invalid("prev has %s twice", c)
				case 1:
					return invalid("prev not sorted")
				}
			}
		}
	}
	if err := b.validatePolicy(); err != nil {
		return err
	}
	if b.Txn != nil {
		if err := b.Txn.validate(); err != nil {
			return err
		}
	}
	if err := validateEntries(keySet, b.Set, true); err != nil {
		return err
	}
	if err := validateEntries(keyAdd, b.Add, false); err != nil {
		return err
	}
	for k := range b.Set {
		if _, ok := b.Add[k]; ok {
			return invalid("field %q in both set and add", k)
		}
	}
	return b.validateSetOps()
}

// validateEntries checks a set or add map: its size, its field names and that each
// value is a canonical scalar (set) or number (add).
func validateEntries(key string, m map[string]any, set bool) error {
	if len(m) > MaxFields {
		return invalid("%s has %d fields, more than %d", key, len(m), MaxFields)
	}
	return firstError(m, func(k string, v any) error {
		if err := checkFieldName(key, k); err != nil {
			return err
		}
		if err := checkScalar(v, set); err != nil {
			return invalid("%s %q: %v", key, k, err)
		}
		return nil
	})
}

// checkFieldName checks a field name in the map key of a block.
func checkFieldName(key, k string) error {
	switch {
	case k == "":
		return invalid("%s has an empty field name", key)
	case len(k) > MaxFieldNameLen:
		return invalid("%s field name %.32q… longer than %d bytes", key, k, MaxFieldNameLen)
	case !utf8.ValidString(k):
		return invalid("%s field name %q is not valid UTF-8", key, k)
	}
	return nil
}

// firstError calls check for each entry of m and returns nil if none fails, else
// the error of the first failing entry in key order, so that the error does not
// depend on the map's iteration order. Only a failure pays for sorting the keys.
func firstError(m map[string]any, check func(k string, v any) error) error {
	for k, v := range m {
		if check(k, v) == nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if err := check(k, m[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkScalar checks that v is a canonical block value: for set any of nil, string
// (valid UTF-8), int64, finite float64, bool, or a list of at most MaxListLen of
// these (no list in a list); for add only the numbers.
func checkScalar(v any, set bool) error {
	if list, ok := v.([]any); ok && set {
		if len(list) > MaxListLen {
			return fmt.Errorf("list of %d items, more than %d", len(list), MaxListLen)
		}
		for i, x := range list {
			if _, ok := x.([]any); ok {
				return fmt.Errorf("item %d is a list", i)
			}
			if err := checkScalar(x, true); err != nil {
				return fmt.Errorf("item %d: %v", i, err)
			}
		}
		return nil
	}
	switch v := v.(type) {
	case int64:
		return nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%v is not a finite number", v)
		}
		return nil
	case nil, bool, string:
		if !set {
			return fmt.Errorf("want a number, got %s", describe(v))
		}
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			return fmt.Errorf("string is not valid UTF-8")
		}
		return nil
	}
	return fmt.Errorf("unsupported value type %T", v)
}

// sortCIDs sorts cids by their bytes, in place.
func sortCIDs(cids []cid.Cid) {
	slices.SortFunc(cids, compareCIDs)
}

func compareCIDs(a, b cid.Cid) int {
	ka, kb := a.KeyString(), b.KeyString()
	switch {
	case ka < kb:
		return -1
	case ka > kb:
		return 1
	}
	return 0
}

// MaxPolicyHeads is the most policy heads a block names.
const MaxPolicyHeads = 64

// validatePolicy checks Policy and AuthorPrev: links of the one kind, Policy
// sorted without repeats and at most MaxPolicyHeads long.
func (b *Block) validatePolicy() error {
	if len(b.Policy) > MaxPolicyHeads {
		return invalid("names %d policy heads, more than %d", len(b.Policy), MaxPolicyHeads)
	}
	for i, c := range b.Policy {
		if !checkLink(c) {
			return invalid("pol[%d] %s is not a CIDv1 dag-cbor sha2-256", i, c)
		}
		if i > 0 && compareCIDs(b.Policy[i-1], c) >= 0 {
			return invalid("pol not sorted or repeated")
		}
	}
	if b.AuthorPrev.Defined() && !checkLink(b.AuthorPrev) {
		return invalid("aup %s is not a CIDv1 dag-cbor sha2-256", b.AuthorPrev)
	}
	return nil
}
