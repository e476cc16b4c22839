package crdt

// The codec encodes blocks from, and decodes them into, generic IPLD data-model
// trees (treeNode, see tree.go; our own dag-cbor encoder and decoder, cbor.go)
// rather than binding Go structs with bindnode: the values in "set" and "add"
// have a different kind per field (string, int, float, bool, null), which a
// bindnode schema could only express as an opaque Any, and every key, kind and
// limit has to be checked explicitly anyway to give precise errors on hostile
// input. Map keys are written in dag-cbor's order (RFC 7049: shorter first, then
// bytewise), so the encoding of a block is a function of its content alone.

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/multiformats/go-multihash"
)

// Limits on a block's content, beyond MaxBlockSize.
const (
	MaxFields       = 1024 // most entries in a block's set or add map
	MaxFieldNameLen = 128  // longest field name, in bytes
	MinNonceLen     = 8    // shortest nonce, in bytes
	MaxNonceLen     = 64   // longest nonce, in bytes
)

// Codec and multihash of every CID gossipdb makes or accepts.
const (
	codecDagCBOR = 0x71
	hashLen      = 32
)

// linkPrefix is the byte prefix of a CIDv1, dag-cbor, sha2-256 with a 32-byte digest.
var linkPrefix = cid.Prefix{Version: 1, Codec: codecDagCBOR, MhType: multihash.SHA2_256, MhLength: hashLen}

// Block map keys.
const (
	keySchema = "schema"
	keyDoc    = "doc"
	keyPrev   = "prev"
	keyHeight = "height"
	keySet    = "set"
	keyAdd    = "add"
	keyDelete = "delete"
	keyNonce  = "nonce"
	keySAdd   = "sadd"
	keySRem   = "srem"
	keyAuthor = "author"
	// keySig is shorter than every other key, so that it is a block's first
	// key in dag-cbor's order: the bytes a signature covers are the block's
	// bytes without their first entry (see SignedBytes), and signing or
	// verifying encodes nothing more.
	keySig = "sg"
	// keyProof follows keySig, before every other key: a block signed in a
	// batch (SignBatch) has its signature's entry, then its proof's, first.
	keyProof = "sp"
	keyTxn   = "txn"
	// The keys of the txn map.
	keyTxnID    = "id"
	keyTxnParts = "n"
	// keyVersion is shorter than keySchema so that, in dag-cbor's key order,
	// "schema" stays a block's last key: the store finds a block's collection at
	// the end of its bytes.
	keyVersion    = "ver"
	keyPolicy     = "pol"
	keyAuthorPrev = "aup"
)

// blockLimits bound what a hostile block can make decodeTree allocate. A block is
// at most five levels deep (the top map, the srem map, a field's list of removals,
// a [value, tags] pair, its list of tags), and the allocation budget — in
// decodeTree's units of roughly a byte of content or one collection entry — is
// twice the largest block, which every valid block stays well within (each entry
// of a valid block costs at most about as many units as it has bytes, plus a few
// per set/add entry).
var blockLimits = treeLimits{maxDepth: 5, budget: 2 * MaxBlockSize}

// ErrSignature is wrapped by the error of a block whose author key or
// signature is missing, malformed or does not verify. It wraps ErrInvalidBlock.
var ErrSignature = fmt.Errorf("%w: bad signature", ErrInvalidBlock)

// signingContext prefixes the bytes a block's signature covers (see
// SignedBytes), so that no signature made for another purpose with the same
// key, nor one of another format of block, verifies as a block's.
const signingContext = "gossipdb block v1\x00"

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidBlock}, args...)...)
}

// sumCID returns the CID of canonical dag-cbor bytes.
func sumCID(data []byte) cid.Cid {
	c, err := linkPrefix.Sum(data)
	if err != nil {
		panic("crdt: sha2-256 unavailable: " + err.Error()) // cannot happen: sha2-256 is built in
	}
	return c
}

// Encode validates b's structure (the rules Decode applies; errors wrap
// ErrInvalidBlock), then computes its canonical dag-cbor encoding and CID and stores
// them in b.Data and b.CID. b must carry its author and signature (see Sign,
// which builds them and encodes); Encode does not verify the signature (see
// Verify). It does not check b against a schema; see Schema.Check.
//
// Canonical form: "schema", "prev", "height", "author" and "sg" are always
// present ("prev" is an empty list in genesis); "doc" only outside genesis;
// "ver" only outside the root version; "set", "add", "sadd" and "srem" only
// when not empty; "delete" only when true; "nonce" only when not empty: always
// in genesis, outside it with "sadd" always and otherwise only with "add";
// "txn" only in a transaction's blocks, its "n" only in a seal; "pol" only
// when not empty and "aup" only when defined.
func (b *Block) Encode() error {
	if err := b.validateSigned(); err != nil {
		return err
	}
	data, err := b.marshal(true)
	if err != nil {
		return err
	}
	b.Data = data
	b.CID = sumCID(data)
	return nil
}

// Sign makes key the author of b: it sets b.Author to key's public key and
// b.Sig to key's signature of SignedBytes, then encodes b as Encode does. Its
// errors are Encode's, and ErrSignature for a key of the wrong size.
func (b *Block) Sign(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return keyError(key)
	}
	unsigned, err := b.unsigned(key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	return b.signAlone(key, unsigned)
}

// sigEntryPrefix is how a signed block's map entry "sg" starts: the key, then
// the header of a 64-byte byte string, the signature.
var sigEntryPrefix = []byte{0x60 | byte(len(keySig)), keySig[0], keySig[1], 0x58, ed25519.SignatureSize}

// sigEntryLen is the length of a signed block's entry "sg".
const sigEntryLen = 5 + ed25519.SignatureSize

// SignedBytes returns what b's signature covers: a fixed context string
// ("gossipdb block v1" and a zero byte) followed by b's canonical encoding
// without "sg". b.Author must be set. The CID covers the whole block, the
// signature included. For a block with Data (from Encode, Sign or Decode),
// it cuts the signature's entry out of Data, which is the entry "sg" comes
// first; else it encodes b.
//
// A block signed in a batch (SignBatch: b.Proof set) is covered through its
// batch: SignedBytes is then the context string "gossipdb blocks v1" and a
// zero byte, the batch's size (one byte) and the root of its hash tree, which
// b.Proof leads to from the hash of b's canonical encoding without "sg" and
// "sp" (see batch.go). A proof that is malformed fails with ErrSignature.
func (b *Block) SignedBytes() ([]byte, error) {
	if len(b.Proof) > 0 {
		if err := checkProof(b.Proof); err != nil {
			return nil, err
		}
		unsigned, err := b.unsignedBytes(1 + len(keyProof) + 2 + len(b.Proof))
		if err != nil {
			return nil, err
		}
		return proofMessage(unsigned, b.Proof), nil
	}
	unsigned, err := b.unsignedBytes(0)
	if err != nil {
		return nil, err
	}
	return append([]byte(signingContext), unsigned...), nil
}

// unsignedBytes returns b's canonical encoding without "sg" and "sp": cut out
// of b.Data, where those entries come first (the proof's taking proofEntry
// bytes, 0 if none), or else encoded.
func (b *Block) unsignedBytes(proofEntry int) ([]byte, error) {
	entries := 1
	if proofEntry > 0 {
		entries = 2
	}
	if d := b.Data; len(d) > 1+sigEntryLen+proofEntry && d[0] > 0xa0+byte(entries) && d[0] <= 0xb7 && bytes.HasPrefix(d[1:], sigEntryPrefix) &&
		(proofEntry == 0 || bytes.HasPrefix(d[1+sigEntryLen:], proofEntryPrefix(len(b.Proof)))) {
		out := make([]byte, 0, len(d)-sigEntryLen-proofEntry)
		out = append(out, d[0]-byte(entries))
		return append(out, d[1+sigEntryLen+proofEntry:]...), nil
	}
	data, err := b.encodeBlock(false)
	if err != nil {
		return nil, fmt.Errorf("crdt: encoding block: %w", err)
	}
	return data, nil
}

// Verify reports whether b.Sig is b.Author's signature of SignedBytes (by
// the rules in verify.go, which accept every signature crypto/ed25519 makes); a
// missing, malformed or wrong signature or key fails with an error wrapping
// ErrSignature (hence ErrInvalidBlock). Verify is safe for concurrent use on a
// block that is no longer modified.
func (b *Block) Verify() error {
	if len(b.Author) != ed25519.PublicKeySize || len(b.Sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: author key of %d bytes, signature of %d", ErrSignature, len(b.Author), len(b.Sig))
	}
	msg, err := b.SignedBytes()
	if err != nil {
		return err
	}
	if !verifyOne(b.Author, msg, b.Sig) {
		return verifyError(b)
	}
	return nil
}

// marshal encodes a validated block, with its signature if signed.
func (b *Block) marshal(signed bool) ([]byte, error) {
	data, err := b.encodeBlock(signed)
	if err != nil {
		return nil, fmt.Errorf("crdt: encoding block: %w", err)
	}
	if len(data) > MaxBlockSize {
		return nil, &SizeError{Size: len(data), Max: MaxBlockSize}
	}
	return data, nil
}

// keys returns the keys of a validated block's map, in dag-cbor order, with
// "sg" (and "sp" if it has a proof) if signed.
func (b *Block) keys(signed bool) []string {
	keys := make([]string, 0, 16) // in dag-cbor order
	if signed {
		keys = append(keys, keySig)
		if len(b.Proof) > 0 {
			keys = append(keys, keyProof)
		}
	}
	if len(b.Add) > 0 {
		keys = append(keys, keyAdd)
	}
	if b.AuthorPrev.Defined() {
		keys = append(keys, keyAuthorPrev)
	}
	if !b.IsGenesis() {
		keys = append(keys, keyDoc)
	}
	if len(b.Policy) > 0 {
		keys = append(keys, keyPolicy)
	}
	if len(b.Set) > 0 {
		keys = append(keys, keySet)
	}
	if b.Txn != nil {
		keys = append(keys, keyTxn)
	}
	if b.Version.Defined() {
		keys = append(keys, keyVersion)
	}
	keys = append(keys, keyPrev)
	if len(b.SAdd) > 0 {
		keys = append(keys, keySAdd)
	}
	if len(b.SRem) > 0 {
		keys = append(keys, keySRem)
	}
	if len(b.Nonce) > 0 {
		keys = append(keys, keyNonce)
	}
	keys = append(keys, keyAuthor)
	if b.Delete {
		keys = append(keys, keyDelete)
	}
	keys = append(keys, keyHeight, keySchema)
	return keys
}

// appendCBOR appends the canonical dag-cbor encoding of a validated block, with
// its signature if signed, to dst, written straight from the block: the bytes
// that encoding its data-model tree (maps in dag-cbor order) gives. It fails
// only on an undefined link, which no validated block holds.
func (b *Block) appendCBOR(dst []byte, signed bool) ([]byte, error) {
	keys := b.keys(signed)
	dst = appendHead(dst, 5, uint64(len(keys)))
	var err error
	for _, k := range keys {
		dst = appendText(dst, k)
		var n treeNode // the value, where it is not written directly
		switch k {
		case keyAdd:
			n.setScalarMap(b.Add)
		case keyDoc:
			dst, err = appendDefinedLink(dst, b.Doc)
		case keySet:
			n.setScalarMap(b.Set)
		case keyPrev:
			dst, err = appendLinks(dst, b.Prev)
		case keyPolicy:
			dst, err = appendLinks(dst, b.Policy)
		case keyAuthorPrev:
			dst, err = appendDefinedLink(dst, b.AuthorPrev)
		case keySAdd:
			n.setAddMap(b.SAdd)
		case keySRem:
			n.setRemMap(b.SRem)
		case keyNonce:
			dst = appendBytes(dst, b.Nonce)
		case keyAuthor:
			dst = appendBytes(dst, b.Author)
		case keySig:
			dst = appendBytes(dst, b.Sig)
		case keyProof:
			dst = appendBytes(dst, b.Proof)
		case keyDelete:
			dst = appendBool(dst, true)
		case keyHeight:
			dst = appendInt(dst, int64(b.Height))
		case keySchema:
			dst, err = appendDefinedLink(dst, b.Schema)
		case keyVersion:
			dst, err = appendDefinedLink(dst, b.Version)
		case keyTxn:
			n.setTxn(b.Txn)
		}
		if n.kind != datamodel.Kind_Invalid {
			dst, err = n.appendTo(dst)
		}
		if err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// encodeBlock returns b's encoding (see appendCBOR) in a slice of exactly its
// length.
func (b *Block) encodeBlock(signed bool) ([]byte, error) {
	data, err := encodeExact(func(dst []byte) ([]byte, error) { return b.appendCBOR(dst, signed) })
	if err == nil && encodeBlockCheck != nil {
		encodeBlockCheck(b, signed, data)
	}
	return data, err
}

// encodeBlockCheck, when not nil, is called by encodeBlock with each block and
// its encoding. The package's tests set it (TestMain in oracle_node_test.go) to
// compare it with the encoding of the block's data-model tree, which they
// compare with go-ipld-prime's encoder; it is nil otherwise.
var encodeBlockCheck func(b *Block, signed bool, data []byte)

// setTxn makes n the map of a transaction mark: {"n": parts, "id": bytes},
// "n" only on a seal.
func (n *treeNode) setTxn(t *TxnPart) {
	if t.Parts == 0 {
		n.setMap([]string{keyTxnID})[0].setBytes(t.ID)
		return
	}
	vals := n.setMap([]string{keyTxnParts, keyTxnID})
	vals[0].setInt(int64(t.Parts))
	vals[1].setBytes(t.ID)
}

// txnFromNode reads a transaction mark (kinds only; validate checks the rest).
func txnFromNode(n *treeNode) (*TxnPart, error) {
	if n.kind != datamodel.Kind_Map {
		return nil, invalid("txn is a %s, want a map", n.kind)
	}
	t := &TxnPart{}
	var seenID bool
	for i, k := range n.keys {
		v := &n.kids[i]
		switch k {
		case keyTxnID:
			if v.kind != datamodel.Kind_Bytes {
				return nil, invalid("txn id is a %s, want bytes", v.kind)
			}
			seenID = true
			t.ID = []byte(v.str)
		case keyTxnParts:
			p, err := intValue(v)
			if err != nil {
				return nil, invalid("txn n: %v", err)
			}
			if p < 2 || p > MaxTxnParts {
				return nil, invalid("txn n is %d, want 2 to %d", p, MaxTxnParts)
			}
			t.Parts = int(p)
		default:
			return nil, invalid("unknown txn key %.32q", k)
		}
	}
	if !seenID {
		return nil, invalid("txn id missing")
	}
	return t, nil
}

// Decode parses data and checks its structure: the size limit, canonical dag-cbor
// (decodeTree refuses every other encoding of the same content, so one content has
// exactly one CID), known keys with the right kinds, the genesis rules, sorted
// prev, the limits on fields and names, and an author key and signature of the
// right sizes (whether the signature holds is Verify's to say). It returns the
// block with CID (computed from data) and Data set; Data does not alias data.
// Every error wraps ErrInvalidBlock. It does not check the block against a schema
// or its parents; see Schema.Check and CheckParents.
func Decode(data []byte) (*Block, error) {
	b, err := decodeBlock(data)
	if err != nil {
		return nil, err
	}
	b.Data = bytes.Clone(data)
	b.CID = sumCID(data)
	return b, nil
}

// DecodeStored parses a block read back from the node's own store under its CID
// c: bytes that passed Decode (or came from Encode) before they were stored. It
// checks the structure as Decode does but skips what only protects against a lying
// peer, re-hashing, which is most of Decode's cost. Data aliases data. Never use
// it on bytes from outside.
func DecodeStored(data []byte, c cid.Cid) (*Block, error) {
	b, err := decodeBlock(data)
	if err != nil {
		return nil, err
	}
	b.Data = data
	b.CID = c
	return b, nil
}

// decodeBlock parses data and checks its structure, leaving CID and Data unset.
func decodeBlock(data []byte) (*Block, error) {
	if len(data) > MaxBlockSize {
		return nil, &SizeError{Size: len(data), Max: MaxBlockSize}
	}
	root, err := decodeTree(blockLimits, data)
	if err != nil {
		return nil, invalid("not dag-cbor: %v", err)
	}
	b, err := blockFromNode(root)
	if err != nil {
		return nil, err
	}
	if err := b.validateSigned(); err != nil {
		return nil, err
	}
	return b, nil
}

// blockFromNode reads the fields of a decoded block, checking keys and kinds.
func blockFromNode(n *treeNode) (*Block, error) {
	if n.kind != datamodel.Kind_Map {
		return nil, invalid("top level is a %s, want a map", n.kind)
	}
	b := &Block{}
	var seenHeight, seenPrev bool
	for i, k := range n.keys {
		v := &n.kids[i]
		var err error
		switch k {
		case keySchema:
			if b.Schema, err = linkValue(k, v); err != nil {
				return nil, err
			}
		case keyDoc:
			if b.Doc, err = linkValue(k, v); err != nil {
				return nil, err
			}
		case keyVersion:
			if b.Version, err = linkValue(k, v); err != nil {
				return nil, err
			}
		case keyAuthorPrev:
			if b.AuthorPrev, err = linkValue(k, v); err != nil {
				return nil, err
			}
		case keyPolicy:
			if v.kind != datamodel.Kind_List || len(v.kids) == 0 {
				return nil, invalid("pol is a %s or empty, want a non-empty list", v.kind)
			}
			if len(v.kids) > MaxPolicyHeads {
				return nil, invalid("names %d policy heads, more than %d", len(v.kids), MaxPolicyHeads)
			}
			b.Policy = make([]cid.Cid, len(v.kids))
			for i := range v.kids {
				if b.Policy[i], err = linkAt(keyPolicy, v, i); err != nil {
					return nil, err
				}
			}
		case keyPrev:
			seenPrev = true
			if v.kind != datamodel.Kind_List {
				return nil, invalid("prev is a %s, want a list", v.kind)
			}
			if len(v.kids) > 0 {
				b.Prev = make([]cid.Cid, len(v.kids))
			}
			for i := range v.kids {
				if b.Prev[i], err = linkAt(keyPrev, v, i); err != nil {
					return nil, err
				}
			}
		case keyHeight:
			seenHeight = true
			h, err := intValue(v)
			if err != nil {
				return nil, invalid("height: %v", err)
			}
			if h < 1 {
				return nil, invalid("height must be at least 1")
			}
			b.Height = uint64(h)
		case keySet, keyAdd:
			m, err := scalarsFromNode(k, v)
			if err != nil {
				return nil, err
			}
			if k == keySet {
				b.Set = m
			} else {
				b.Add = m
			}
		case keySAdd:
			if b.SAdd, err = fieldMapFromNode(k, v, elementsFromNode); err != nil {
				return nil, err
			}
		case keySRem:
			if b.SRem, err = fieldMapFromNode(k, v, removalsFromNode); err != nil {
				return nil, err
			}
		case keyDelete:
			if v.kind != datamodel.Kind_Bool {
				return nil, invalid("delete is a %s, want a bool", v.kind)
			}
			if b.Delete = v.b; !b.Delete {
				return nil, invalid("delete is false (omit it instead)")
			}
		case keyTxn:
			if b.Txn, err = txnFromNode(v); err != nil {
				return nil, err
			}
		case keyNonce:
			if v.kind != datamodel.Kind_Bytes {
				return nil, invalid("nonce is a %s, want bytes", v.kind)
			}
			if len(v.str) == 0 {
				return nil, invalid("nonce is empty (omit it instead)")
			}
			b.Nonce = []byte(v.str)
		case keyAuthor, keySig, keyProof:
			if v.kind != datamodel.Kind_Bytes {
				return nil, fmt.Errorf("%w: %s is a %s, want bytes", ErrSignature, k, v.kind)
			}
			switch k {
			case keyAuthor:
				b.Author = ed25519.PublicKey(v.str)
			case keySig:
				b.Sig = []byte(v.str)
			default:
				b.Proof = []byte(v.str)
			}
		default:
			return nil, invalid("unknown key %.32q", k)
		}
	}
	switch {
	case !b.Schema.Defined():
		return nil, invalid("schema missing")
	case !seenPrev:
		return nil, invalid("prev missing")
	case !seenHeight:
		return nil, invalid("height missing")
	}
	return b, nil
}

func linkValue(name string, n *treeNode) (cid.Cid, error) {
	if n.kind != datamodel.Kind_Link {
		return cid.Undef, invalid("%s is a %s, want a link", name, n.kind)
	}
	if !checkLink(n.link) {
		return cid.Undef, invalid("%s %s is not a CIDv1 dag-cbor sha2-256", name, n.link)
	}
	return n.link, nil
}

// linkAt reads item i of list, a link, as linkValue does, naming it key[i]
// in its error. The name is built only on failure: most blocks have none.
func linkAt(key string, list *treeNode, i int) (cid.Cid, error) {
	c, err := linkValue(key, &list.kids[i])
	if err != nil {
		return linkValue(fmt.Sprintf("%s[%d]", key, i), &list.kids[i])
	}
	return c, nil
}

// intValue reads an int node (decodeTree refuses integers beyond int64).
func intValue(n *treeNode) (int64, error) {
	if n.kind != datamodel.Kind_Int {
		return 0, fmt.Errorf("is a %s, want an int", n.kind)
	}
	return int64(n.num), nil
}

// scalarsFromNode reads a set or add map (kinds only; validate checks the rest).
func scalarsFromNode(key string, n *treeNode) (map[string]any, error) {
	if n.kind != datamodel.Kind_Map {
		return nil, invalid("%s is a %s, want a map", key, n.kind)
	}
	if len(n.kids) == 0 {
		return nil, invalid("%s is empty (omit it instead)", key)
	}
	if len(n.kids) > MaxFields {
		return nil, invalid("%s has %d fields, more than %d", key, len(n.kids), MaxFields)
	}
	m := make(map[string]any, len(n.kids))
	for i, k := range n.keys {
		read := scalarValue
		if key == keySet {
			read = valueOf
		}
		x, err := read(&n.kids[i])
		if err != nil {
			return nil, invalid("%s %.32q: %v", key, k, err)
		}
		m[k] = x
	}
	return m, nil
}

// listValue reads a list value of set: at most MaxListLen scalars.
func listValue(n *treeNode) ([]any, error) {
	if len(n.kids) > MaxListLen {
		return nil, fmt.Errorf("is a list of %d items, more than %d", len(n.kids), MaxListLen)
	}
	list := make([]any, len(n.kids))
	for i := range n.kids {
		x, err := scalarValue(&n.kids[i])
		if err != nil {
			return nil, fmt.Errorf("item %d %v", i, err)
		}
		list[i] = x
	}
	return list, nil
}

// valueOf reads a value of a set map or a state's last-writer-wins entry: a
// scalar or a list of scalars.
func valueOf(n *treeNode) (any, error) {
	if n.kind == datamodel.Kind_List {
		return listValue(n)
	}
	return scalarValue(n)
}

// scalarValue reads a scalar; a list, map, link or bytes is refused.
func scalarValue(n *treeNode) (any, error) {
	switch n.kind {
	case datamodel.Kind_Null:
		return nil, nil
	case datamodel.Kind_String:
		return n.str, nil
	case datamodel.Kind_Int:
		return intValue(n)
	case datamodel.Kind_Float:
		return math.Float64frombits(n.num), nil
	case datamodel.Kind_Bool:
		return n.b, nil
	}
	return nil, fmt.Errorf("is a %s, want a scalar", n.kind)
}
