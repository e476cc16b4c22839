package crdt

import (
	"bytes"
	"crypto/ed25519"
	"slices"
)

// Role is what an author may do in a restricted collection. Each role
// includes the ones below it: an admin may also write and read, a writer may
// also read.
type Role int

// The roles, weakest first.
const (
	RoleNone   Role = iota // may do nothing: not a member
	RoleReader             // may receive the collection's changes
	RoleWriter             // may also write documents
	RoleAdmin              // may also grant and revoke the writer and reader roles
)

// String returns the role's name as the policy directive and the command
// spell it: "none", "reader", "writer" or "admin".
func (r Role) String() string {
	switch r {
	case RoleReader:
		return "reader"
	case RoleWriter:
		return "writer"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Policy is a restricted collection's initial policy: the authors' Ed25519
// public keys that hold each role when the collection is created. Each list
// is sorted by bytes, and a key is in at most one list (its strongest role).
// Admins are fixed for the collection's life; writers and readers change
// afterwards through signed policy changes (see internal/policy). A Policy is
// immutable once built and safe for concurrent use.
type Policy struct {
	Admins  []ed25519.PublicKey
	Writers []ed25519.PublicKey
	Readers []ed25519.PublicKey
}

// Role returns the role key holds in p.
func (p *Policy) Role(key ed25519.PublicKey) Role {
	has := func(list []ed25519.PublicKey) bool {
		_, ok := slices.BinarySearchFunc(list, key, func(a, b ed25519.PublicKey) int { return bytes.Compare(a, b) })
		return ok
	}
	switch {
	case has(p.Admins):
		return RoleAdmin
	case has(p.Writers):
		return RoleWriter
	case has(p.Readers):
		return RoleReader
	}
	return RoleNone
}
