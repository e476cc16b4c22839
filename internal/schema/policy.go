package schema

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gossipdb/gossipdb/crdt"
)

// A restricted collection's initial policy is declared on its type:
//
//	type Doc @policy(admins: ["12D3KooW…"], writers: ["12D3KooW…", …], readers: […]) { … }
//
// Each argument is a list of authors, named as gossipdb.AuthorID names them
// (the libp2p peer ID of an Ed25519 key); writers and readers may be omitted,
// admins may be empty only if writers are not. A key listed under two roles
// holds the stronger. The policy is part of the root's canonical definition
// (see canonical.go), so the schema ID covers it: a peer that declares other
// admins, writers or readers declares another collection. A patch cannot
// declare one: the policy is the collection's identity, not its shape.
//
// WIRE FORMAT: in the canonical definition, a restricted collection's map
// has a third key, "policy", after "fields":
//
//	"policy": {"admins": [<32-byte key>, …], "readers": […], "writers": […]}
//
// each list sorted by bytes, a key in one list only, at most MaxPolicyKeys
// keys in all. An open collection has no "policy" key and encodes exactly as
// before policies existed.
const (
	keyPolicy  = "policy"
	keyAdmins  = "admins"
	keyWriters = "writers"
	keyReaders = "readers"
)

// MaxPolicyKeys is the most authors a collection's initial policy names, all
// roles together.
const MaxPolicyKeys = 256

// typePolicy reads a type's @policy directive into p, or says why it is not
// valid. Directives other than @policy are left to typeIndex.
func typePolicy(d *ast.Directive) (*crdt.Policy, string) {
	roles := map[string]crdt.Role{keyAdmins: crdt.RoleAdmin, keyWriters: crdt.RoleWriter, keyReaders: crdt.RoleReader}
	held := map[string]crdt.Role{}
	for _, a := range d.Arguments {
		role, ok := roles[a.Name]
		if !ok {
			return nil, fmt.Sprintf("@policy: unknown argument %s (want admins, writers and readers)", clip(a.Name, maxEcho))
		}
		if a.Value == nil || a.Value.Kind != ast.ListValue {
			return nil, fmt.Sprintf("@policy %s: want a list of author IDs", a.Name)
		}
		for _, c := range a.Value.Children {
			v := c.Value
			if !isString(v) {
				return nil, fmt.Sprintf("@policy %s: want author IDs as strings", a.Name)
			}
			key, err := AuthorKey(v.Raw)
			if err != nil {
				return nil, fmt.Sprintf("@policy %s: %v", a.Name, err)
			}
			held[string(key)] = max(held[string(key)], role)
			if len(held) > MaxPolicyKeys {
				return nil, fmt.Sprintf("@policy names more than %d authors", MaxPolicyKeys)
			}
		}
	}
	p := &crdt.Policy{}
	for k, r := range held {
		switch r {
		case crdt.RoleAdmin:
			p.Admins = append(p.Admins, ed25519.PublicKey(k))
		case crdt.RoleWriter:
			p.Writers = append(p.Writers, ed25519.PublicKey(k))
		default:
			p.Readers = append(p.Readers, ed25519.PublicKey(k))
		}
	}
	for _, l := range [][]ed25519.PublicKey{p.Admins, p.Writers, p.Readers} {
		slices.SortFunc(l, func(a, b ed25519.PublicKey) int { return bytes.Compare(a, b) })
	}
	if msg := checkPolicy(p); msg != "" {
		return nil, msg
	}
	return p, ""
}

// AuthorKey returns the Ed25519 public key an author ID ("12D3KooW…", see
// gossipdb.AuthorID) names, or an error saying why id names none.
func AuthorKey(id string) (ed25519.PublicKey, error) {
	pid, err := peer.Decode(id)
	if err != nil {
		return nil, fmt.Errorf("author %q is not a peer ID: %w", clip(id, maxEcho), err)
	}
	pk, err := pid.ExtractPublicKey()
	if err != nil || pk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("author %q does not name an Ed25519 key", clip(id, maxEcho))
	}
	raw, err := pk.Raw()
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("author %q does not name an Ed25519 key", clip(id, maxEcho))
	}
	return ed25519.PublicKey(raw), nil
}

// checkPolicy returns why p cannot be a collection's initial policy, or "".
func checkPolicy(p *crdt.Policy) string {
	if len(p.Admins)+len(p.Writers)+len(p.Readers) > MaxPolicyKeys {
		return fmt.Sprintf("@policy names more than %d authors", MaxPolicyKeys)
	}
	if len(p.Admins) == 0 && len(p.Writers) == 0 {
		return "@policy names no admin and no writer: nobody could write"
	}
	seen := map[string]bool{}
	for _, l := range [][]ed25519.PublicKey{p.Admins, p.Writers, p.Readers} {
		for i, k := range l {
			if len(k) != ed25519.PublicKeySize {
				return fmt.Sprintf("@policy: a key of %d bytes, want %d", len(k), ed25519.PublicKeySize)
			}
			if i > 0 && bytes.Compare(l[i-1], k) >= 0 {
				return "@policy: keys not sorted or repeated"
			}
			if seen[string(k)] {
				return "@policy: a key under two roles"
			}
			seen[string(k)] = true
		}
	}
	return ""
}

// assemblePolicy writes p as the value of the canonical "policy" key.
func assemblePolicy(ma datamodel.MapAssembler, p *crdt.Policy) {
	keys := func(l []ed25519.PublicKey) qp.Assemble {
		return qp.List(int64(len(l)), func(la datamodel.ListAssembler) {
			for _, k := range l {
				qp.ListEntry(la, qp.Bytes(k))
			}
		})
	}
	qp.MapEntry(ma, keyPolicy, qp.Map(3, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, keyAdmins, keys(p.Admins))
		qp.MapEntry(ma, keyReaders, keys(p.Readers))
		qp.MapEntry(ma, keyWriters, keys(p.Writers))
	}))
}

// policyFromNode reads the canonical "policy" value n of type typ; checkPolicy
// (run by Encode's validate) checks the rest.
func policyFromNode(n datamodel.Node, typ string) (*crdt.Policy, error) {
	if err := checkKeys(n, typ, keyPolicy, keyAdmins, keyReaders, keyWriters); err != nil {
		return nil, err
	}
	p := &crdt.Policy{}
	for _, r := range []struct {
		key  string
		list *[]ed25519.PublicKey
	}{{keyAdmins, &p.Admins}, {keyReaders, &p.Readers}, {keyWriters, &p.Writers}} {
		l, _ := n.LookupByString(r.key)
		if l.Kind() != datamodel.Kind_List || l.Length() > MaxPolicyKeys {
			return nil, &Error{Type: typ, Msg: fmt.Sprintf("policy %q: want a list of at most %d keys", r.key, MaxPolicyKeys)}
		}
		for it := l.ListIterator(); !it.Done(); {
			_, kn, err := it.Next()
			if err != nil {
				return nil, &Error{Type: typ, Msg: "malformed policy: " + err.Error()}
			}
			k, err := kn.AsBytes()
			if err != nil {
				return nil, &Error{Type: typ, Msg: fmt.Sprintf("policy %q: a %s, want bytes", r.key, kn.Kind())}
			}
			*r.list = append(*r.list, ed25519.PublicKey(k))
		}
	}
	return p, nil
}

// SamePolicy reports whether a and b, each nil (an open collection) or a
// policy as Parse or Decode returns it (keys sorted), name the same admins,
// writers and readers. SamePolicy is safe for concurrent use.
func SamePolicy(a, b *crdt.Policy) bool {
	if a == nil || b == nil {
		return a == b
	}
	same := func(x, y []ed25519.PublicKey) bool {
		return slices.EqualFunc(x, y, func(k, l ed25519.PublicKey) bool { return bytes.Equal(k, l) })
	}
	return same(a.Admins, b.Admins) && same(a.Writers, b.Writers) && same(a.Readers, b.Readers)
}
