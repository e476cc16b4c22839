package main_test

import (
	"fmt"
	"testing"
)

// A restricted collection: 'collection add' takes @policy, 'collection
// policy' shows it (and an open collection as open), and a write by the
// node's key, which is no writer, fails with an error naming the key and the
// missing right.
func TestPolicyCommands(t *testing.T) {
	needBinary(t)
	n := newNode(t, "node")
	n.start(t)
	id := n.peerID(t)
	// A reader: the node's key may read but not write.
	const admin = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
	ok(t, "client", "collection", "add", "--url", n.url(), fmt.Sprintf(`type Doc @policy(admins: [%q], readers: [%q]) { title: String }`, admin, id))
	ok(t, "client", "collection", "add", "--url", n.url(), `type Note { text: String }`)
	var got struct {
		Name    string   `json:"name"`
		Open    bool     `json:"open"`
		Admins  []string `json:"admins"`
		Writers []string `json:"writers"`
		Readers []string `json:"readers"`
	}
	decodeJSON(t, ok(t, "client", "collection", "policy", "--name", "Doc", "--url", n.url()), &got)
	if got.Name != "Doc" || got.Open || len(got.Admins) != 1 || got.Admins[0] != admin || len(got.Writers) != 0 || len(got.Readers) != 1 || got.Readers[0] != id {
		t.Fatalf("policy of Doc: %+v", got)
	}
	got.Open = false
	decodeJSON(t, ok(t, "client", "collection", "policy", "--name", "Note", "--url", n.url()), &got)
	if got.Name != "Note" || !got.Open {
		t.Fatalf("policy of Note: %+v, want open", got)
	}
	fails(t, []string{"client", "collection", "create", "--name", "Doc", "--url", n.url(), `{"title": "x"}`},
		fmt.Sprintf("author %s may not write to Doc: not a writer", id))
	fails(t, []string{"client", "collection", "add", "--url", n.url(), `type Bad @policy(admins: ["nope"]) { a: Int }`}, "not a peer ID")

	// Grant and revoke: only an admin, and the policy shows the changes.
	fails(t, []string{"client", "collection", "grant", "--name", "Doc", "--author", admin, "--role", "writer", "--url", n.url()},
		fmt.Sprintf("author %s may not change the policy of Doc: not an admin", id))
	ok(t, "client", "collection", "add", "--url", n.url(), fmt.Sprintf(`type Own @policy(admins: [%q]) { title: String }`, id))
	var changed struct {
		Writers []string `json:"writers"`
		Changes []struct {
			Key  string `json:"key"`
			Role string `json:"role"`
		} `json:"changes"`
	}
	// grant and revoke print the policy after the change as 'collection policy' does.
	samePolicy := func(cmd, out string) {
		t.Helper()
		if want := ok(t, "client", "collection", "policy", "--name", "Own", "--url", n.url()); out != want {
			t.Fatalf("%s printed\n%s\nwant what 'collection policy' prints:\n%s", cmd, out, want)
		}
	}
	out := ok(t, "client", "collection", "grant", "--name", "Own", "--author", admin, "--role", "writer", "--url", n.url())
	decodeJSON(t, out, &changed)
	if len(changed.Writers) != 1 || changed.Writers[0] != admin || len(changed.Changes) != 1 || changed.Changes[0].Role != "writer" {
		t.Fatalf("after grant: %+v", changed)
	}
	samePolicy("grant", out)
	changed.Writers = nil
	out = ok(t, "client", "collection", "revoke", "--name", "Own", "--author", admin, "--url", n.url())
	decodeJSON(t, out, &changed)
	if len(changed.Writers) != 0 || len(changed.Changes) != 2 {
		t.Fatalf("after revoke: %+v", changed)
	}
	samePolicy("revoke", out)
	decodeJSON(t, ok(t, "client", "collection", "policy", "--name", "Own", "--url", n.url()), &changed)
	if len(changed.Writers) != 0 || len(changed.Changes) != 2 || changed.Changes[1].Role != "none" || changed.Changes[1].Key != admin {
		t.Fatalf("policy after revoke: %+v", changed)
	}
	fails(t, []string{"client", "collection", "grant", "--name", "Own", "--author", admin, "--role", "admin", "--url", n.url()}, "want \"writer\" or \"reader\"")
}
