package policy

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/multiformats/go-multihash"

	"github.com/gossipdb/gossipdb/crdt"
)

// Limits on a policy change.
const (
	MaxChangeSize = 16 << 10 // bytes of an encoded change
	MaxPrev       = crdt.MaxPolicyHeads
	MaxKeep       = 64 // chain heads a revocation keeps
)

// ErrInvalidChange is wrapped by every error that refuses a policy change's
// bytes, signature or content.
var ErrInvalidChange = errors.New("policy: invalid change")

// Change is one signed policy change: admin Author sets Key's role to Role
// after the changes Prev. A change that takes the writer role away (Role
// below RoleWriter) is a revocation; Keep names the revoked writer's chain
// heads whose chains stay valid (see the package doc). CID and Data are set
// by Sign and DecodeChange; a Change must not be modified afterwards and is
// then safe for concurrent reads.
//
// WIRE FORMAT: a change is the dag-cbor map
//
//	{"sg": <signature>, "key": <32 bytes>, "keep": [<link>, …], "prev": [<link>, …],
//	 "role": "none" | "reader" | "writer", "author": <32 bytes>, "schema": <link>}
//
// with every key present (lists may be empty, sorted by bytes without
// repeats), in dag-cbor's key order; its CID is the CIDv1 dag-cbor sha2-256
// of those bytes, and the signature covers "gossipdb policy v1\x00" followed
// by the same map without "sg".
type Change struct {
	Schema cid.Cid
	Prev   []cid.Cid
	Key    ed25519.PublicKey
	Role   crdt.Role
	Keep   []cid.Cid
	Author ed25519.PublicKey
	Sig    []byte

	CID  cid.Cid
	Data []byte
}

const (
	keySig    = "sg"
	keyKey    = "key"
	keyKeep   = "keep"
	keyPrev   = "prev"
	keyRole   = "role"
	keyAuthor = "author"
	keySchema = "schema"

	signingContext = "gossipdb policy v1\x00"
)

var linkPrefix = cid.Prefix{Version: 1, Codec: cid.DagCBOR, MhType: multihash.SHA2_256, MhLength: -1}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidChange}, args...)...)
}

// Revokes reports whether c takes the writer role away from c.Key.
func (c *Change) Revokes() bool { return c.Role < crdt.RoleWriter }

// Sign makes key the author of c, signs it and sets CID and Data. Its errors
// wrap ErrInvalidChange.
func (c *Change) Sign(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return invalid("private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	c.Author = key.Public().(ed25519.PublicKey)
	if err := c.validate(); err != nil {
		return err
	}
	msg, err := c.encode(false)
	if err != nil {
		return err
	}
	c.Sig = ed25519.Sign(key, append([]byte(signingContext), msg...))
	if c.Data, err = c.encode(true); err != nil {
		return err
	}
	c.CID, err = linkPrefix.Sum(c.Data)
	return err
}

// Verify checks c's signature.
func (c *Change) Verify() error {
	msg, err := c.encode(false)
	if err != nil {
		return err
	}
	if !ed25519.Verify(c.Author, append([]byte(signingContext), msg...), c.Sig) {
		return invalid("signature does not verify")
	}
	return nil
}

// validate checks c's structure.
func (c *Change) validate() error {
	switch {
	case !c.Schema.Defined():
		return invalid("schema missing")
	case len(c.Key) != ed25519.PublicKeySize || len(c.Author) != ed25519.PublicKeySize:
		return invalid("key or author not an Ed25519 public key")
	case c.Role != crdt.RoleNone && c.Role != crdt.RoleReader && c.Role != crdt.RoleWriter:
		return invalid("role %s cannot be granted: admins are fixed", c.Role)
	case len(c.Prev) > MaxPrev:
		return invalid("%d prev, more than %d", len(c.Prev), MaxPrev)
	case len(c.Keep) > MaxKeep:
		return invalid("keeps %d chain heads, more than %d", len(c.Keep), MaxKeep)
	case len(c.Keep) > 0 && !c.Revokes():
		return invalid("keep on a change that revokes nothing")
	}
	for _, l := range [][]cid.Cid{c.Prev, c.Keep} {
		for i := 1; i < len(l); i++ {
			if bytes.Compare(l[i-1].Bytes(), l[i].Bytes()) >= 0 {
				return invalid("links not sorted or repeated")
			}
		}
	}
	return nil
}

// encode returns c's canonical bytes, with the signature or without.
func (c *Change) encode(signed bool) ([]byte, error) {
	links := func(l []cid.Cid) qp.Assemble {
		return qp.List(int64(len(l)), func(la datamodel.ListAssembler) {
			for _, x := range l {
				qp.ListEntry(la, qp.Link(cidlink.Link{Cid: x}))
			}
		})
	}
	n, err := qp.BuildMap(basicnode.Prototype.Map, 7, func(ma datamodel.MapAssembler) {
		if signed {
			qp.MapEntry(ma, keySig, qp.Bytes(c.Sig))
		}
		qp.MapEntry(ma, keyKey, qp.Bytes(c.Key))
		qp.MapEntry(ma, keyKeep, links(c.Keep))
		qp.MapEntry(ma, keyPrev, links(c.Prev))
		qp.MapEntry(ma, keyRole, qp.String(c.Role.String()))
		qp.MapEntry(ma, keyAuthor, qp.Bytes(c.Author))
		qp.MapEntry(ma, keySchema, qp.Link(cidlink.Link{Cid: c.Schema}))
	})
	if err != nil {
		return nil, invalid("%v", err)
	}
	var buf bytes.Buffer
	if err := dagcbor.Encode(n, &buf); err != nil {
		return nil, invalid("%v", err)
	}
	return buf.Bytes(), nil
}

// DecodeChange parses and checks a change's bytes (not its signature, see
// Verify, nor its author's right, see Graph.Add). It accepts only the
// canonical encoding; errors wrap ErrInvalidChange. The change does not alias
// data.
func DecodeChange(data []byte) (*Change, error) {
	if len(data) > MaxChangeSize {
		return nil, invalid("%d bytes, more than %d", len(data), MaxChangeSize)
	}
	nb := basicnode.Prototype.Any.NewBuilder()
	opts := dagcbor.DecodeOptions{AllowLinks: true, MaxDepth: 3, AllocationBudget: 4 * MaxChangeSize}
	if err := opts.Decode(nb, bytes.NewReader(data)); err != nil {
		return nil, invalid("not dag-cbor: %v", err)
	}
	n := nb.Build()
	if n.Kind() != datamodel.Kind_Map || n.Length() != 7 {
		return nil, invalid("want a map of 7 entries")
	}
	c := &Change{}
	bytesAt := func(k string) []byte {
		v, err := n.LookupByString(k)
		if err != nil {
			return nil
		}
		b, _ := v.AsBytes()
		return b
	}
	linksAt := func(k string) ([]cid.Cid, bool) {
		v, err := n.LookupByString(k)
		if err != nil || v.Kind() != datamodel.Kind_List {
			return nil, false
		}
		var out []cid.Cid
		for it := v.ListIterator(); !it.Done(); {
			_, e, err := it.Next()
			if err != nil {
				return nil, false
			}
			l, err := e.AsLink()
			if err != nil {
				return nil, false
			}
			cl, ok := l.(cidlink.Link)
			if !ok {
				return nil, false
			}
			out = append(out, cl.Cid)
		}
		return out, true
	}
	c.Sig, c.Key, c.Author = bytesAt(keySig), bytesAt(keyKey), bytesAt(keyAuthor)
	var ok1, ok2 bool
	c.Keep, ok1 = linksAt(keyKeep)
	c.Prev, ok2 = linksAt(keyPrev)
	if !ok1 || !ok2 {
		return nil, invalid("keep or prev is not a list of links")
	}
	if v, err := n.LookupByString(keySchema); err == nil {
		if l, err := v.AsLink(); err == nil {
			if cl, ok := l.(cidlink.Link); ok {
				c.Schema = cl.Cid
			}
		}
	}
	role := ""
	if v, err := n.LookupByString(keyRole); err == nil {
		role, _ = v.AsString()
	}
	i := slices.IndexFunc([]crdt.Role{crdt.RoleNone, crdt.RoleReader, crdt.RoleWriter}, func(r crdt.Role) bool { return r.String() == role })
	if i < 0 {
		return nil, invalid("role %.32q", role)
	}
	c.Role = crdt.Role(i)
	if len(c.Sig) != ed25519.SignatureSize {
		return nil, invalid("signature is %d bytes, want %d", len(c.Sig), ed25519.SignatureSize)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	canon, err := c.encode(true)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, data) {
		return nil, invalid("not in canonical form")
	}
	c.Data = canon
	c.CID, err = linkPrefix.Sum(canon)
	return c, err
}
