package schema_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/schema"
)

// authorIDs returns n new Ed25519 keys and their author IDs.
func authorIDs(t *testing.T, n int) ([]ed25519.PublicKey, []string) {
	t.Helper()
	keys := make([]ed25519.PublicKey, n)
	ids := make([]string, n)
	for i := range n {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := crypto.UnmarshalEd25519PublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPublicKey(pk)
		if err != nil {
			t.Fatal(err)
		}
		keys[i], ids[i] = pub, id.String()
	}
	return keys, ids
}

func TestPolicyIsPartOfTheIdentity(t *testing.T) {
	keys, ids := authorIDs(t, 3)
	open := mustParseOne(t, `type Doc { title: String }`)
	restricted := mustParseOne(t, fmt.Sprintf(`type Doc @policy(admins: [%q], writers: [%q, %q]) { title: String }`, ids[0], ids[1], ids[0]))
	other := mustParseOne(t, fmt.Sprintf(`type Doc @policy(admins: [%q], writers: [%q]) { title: String }`, ids[0], ids[2]))
	if open.Policy != nil {
		t.Fatalf("open collection has a policy: %+v", open.Policy)
	}
	if open.ID.Equals(restricted.ID) || restricted.ID.Equals(other.ID) {
		t.Fatalf("the policy does not change the schema ID: %s %s %s", open.ID, restricted.ID, other.ID)
	}
	p := restricted.Policy
	if p.Role(keys[0]) != crdt.RoleAdmin || p.Role(keys[1]) != crdt.RoleWriter || p.Role(keys[2]) != crdt.RoleNone {
		t.Fatalf("roles: %v %v %v (a key under admins and writers is an admin)", p.Role(keys[0]), p.Role(keys[1]), p.Role(keys[2]))
	}
	data, err := schema.Encode(restricted)
	if err != nil {
		t.Fatal(err)
	}
	back, err := schema.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !back.ID.Equals(restricted.ID) || back.Policy.Role(keys[1]) != crdt.RoleWriter || back.Policy.Role(keys[0]) != crdt.RoleAdmin {
		t.Fatalf("decoded %s %+v, want %s with the same policy", back.ID, back.Policy, restricted.ID)
	}
	// An open collection encodes as before policies existed: no "policy" key.
	data, err = schema.Encode(open)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "policy") {
		t.Fatalf("open definition mentions a policy: %x", data)
	}
}

func TestPolicyRefused(t *testing.T) {
	_, ids := authorIDs(t, 1)
	for _, tc := range []struct{ sdl, want string }{
		{`type Doc @policy(admins: ["nope"]) { a: Int }`, "not a peer ID"},
		{`type Doc @policy(writers: "x") { a: Int }`, "want a list"},
		{`type Doc @policy(owners: []) { a: Int }`, "unknown argument owners"},
		{`type Doc @policy(readers: [` + fmt.Sprintf("%q", ids[0]) + `]) { a: Int }`, "no admin and no writer"},
		{`type Doc @policy(admins: [` + fmt.Sprintf("%q", ids[0]) + `]) @policy(admins: []) { a: Int }`, "given twice"},
		// An RSA or secp256k1 peer ID names no Ed25519 key; a CID is no peer ID.
		{`type Doc @policy(admins: ["QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"]) { a: Int }`, "Ed25519"},
	} {
		_, err := schema.Parse(tc.sdl)
		if !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s): %v, want ErrInvalid saying %q", tc.sdl, err, tc.want)
		}
	}
	root := mustParseOne(t, `type Doc { a: Int }`)
	_, err := schema.Patch([]*crdt.Schema{root}, fmt.Sprintf(`type Doc @policy(admins: [%q]) { a: Int }`, ids[0]))
	if !errors.Is(err, schema.ErrInvalid) || !strings.Contains(err.Error(), "identity") {
		t.Errorf("Patch with @policy: %v, want ErrInvalid about the identity", err)
	}
}

func TestPolicyDecodeRefusesNonCanonical(t *testing.T) {
	keys, ids := authorIDs(t, 2)
	s := mustParseOne(t, fmt.Sprintf(`type Doc @policy(admins: [%q], writers: [%q]) { a: Int }`, ids[0], ids[1]))
	// A key under two roles, and a policy that names nobody who may write.
	for _, p := range []*crdt.Policy{
		{Admins: []ed25519.PublicKey{keys[0]}, Writers: []ed25519.PublicKey{keys[0]}},
		{Readers: []ed25519.PublicKey{keys[0]}},
		{Admins: []ed25519.PublicKey{keys[0][:5]}},
	} {
		bad := *s
		bad.Policy = p
		if _, err := schema.Encode(&bad); !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("Encode with policy %+v: %v, want ErrInvalid", p, err)
		}
	}
}
