package gossipdb

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/policy"
)

// A collection is open (every author may write, every peer may read: the
// default) or restricted: its SDL declares an initial policy,
//
//	type Doc @policy(admins: ["12D3KooW…"], writers: ["12D3KooW…", …], readers: […]) { … }
//
// naming authors as AuthorID does. The policy is part of the collection's
// canonical definition, so its schema ID covers it and no peer can forge a
// different policy for the same collection. The roles nest: an admin may
// also write, a writer may also read. The rules that decide which blocks a
// restricted collection accepts, and why every node accepts the same ones
// whatever the order messages arrive in, are internal/policy's package doc;
// accept applies them (its rule 5).
//
// Writing: a write by a key that is not a writer in the current policy state
// fails with a *PolicyError and writes nothing, and a peer's block by a key
// that is not a writer in the state the block names is refused on every
// path, never stored, and counted (reason "policy"). Every block of a
// restricted collection names the policy graph's heads when it was written
// and its author's previous block in the collection (the author's chain,
// whose heads the store keeps, store.Tx.ChainHeads).
//
// Changing: an admin of the initial policy grants the writer or reader role
// (Collection.Grant) or revokes every role (Collection.Revoke) through a
// signed policy change, which the node stores, loads into the collection's
// policy.Graph at Open and exchanges with its peers on every path (see
// policychange.go). A revocation made here keeps the revoked key's chains
// that the node stores whole; once it completes on a node, the blocks it
// disowns leave their documents' state there (rule 4, see
// Node.cutOff and store.Tx.Rebuild) but stay stored and served.
//
// Reading: a peer is a member if the key of its peer ID holds a role in the
// current policy state; the collection's changes are sent to members only
// (the pubsub peer filter keeps every other peer out of its topic, as judged
// when the peer announces its subscription), and the history, catch-up and
// policy servers answer a non-member as if the node did not hold the
// collection (see docs/SECURITY.md for what a non-member can still learn).
//
// Author chains: internal/policy's rule 1 has a block wait for its
// AuthorPrev, like a parent, and refuse it if that is not a block of the
// same collection by the same author (policy.CheckAuthorPrev). This version
// does neither: a block's AuthorPrev may be in another document, which the
// node's orphan fetches (by document) cannot bring, and refusing a block only
// when its AuthorPrev happens to be here already would make acceptance depend
// on arrival order (nodes that refused it and nodes that stored it would then
// reconcile it forever). A block is accepted whatever its AuthorPrev names,
// and chains are read as rule 4 reads them: a chain ends where its link names
// a block of another author. A revocation made here keeps only the chains
// the node stores whole (keptChains: a chain with a link to a block the node
// does not hold is not kept), so it is complete at once and wherever its kept
// blocks arrive; a writer that links its blocks wrongly only loses them when
// it is revoked.

// ErrForbidden is wrapped by every *PolicyError: the collection's policy does
// not allow what was asked.
var ErrForbidden = errors.New("gossipdb: forbidden")

// PolicyError says which author lacks which right in which collection:
// "gossipdb: author 12D3KooW… may not write to Doc: not a writer". It wraps
// ErrForbidden.
type PolicyError struct {
	Author     string // as AuthorID gives it
	Collection string // the collection's name
	Act        string // what the author may not do: "write to"
	Reason     string // why: "not a writer"
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("gossipdb: author %s may not %s %s: %s", e.Author, e.Act, e.Collection, e.Reason)
}

// Unwrap returns ErrForbidden.
func (e *PolicyError) Unwrap() error { return ErrForbidden }

// Policy is a restricted collection's policy as this node holds it: the
// authors holding each role in the current policy state (the initial policy
// and the changes the node holds, see Grant and Revoke), as AuthorID names
// them, each list sorted by key bytes; and the changes, each after those it
// names.
type Policy struct {
	Admins  []string       `json:"admins"`
	Writers []string       `json:"writers"`
	Readers []string       `json:"readers"`
	Changes []PolicyChange `json:"changes,omitempty"`
}

// Policy returns c's policy, or nil if c is open; like Name, it answers after
// the node closed too. It is safe for concurrent use; the result is the
// caller's.
func (c *Collection) Policy() *Policy {
	p := c.root.Policy
	if p == nil {
		return nil
	}
	c.policyMu.RLock()
	defer c.policyMu.RUnlock()
	heads, changes := c.policy.Heads(), c.policy.Since(nil)
	keys := slices.Concat(p.Admins, p.Writers, p.Readers)
	out := &Policy{Admins: []string{}, Writers: []string{}, Readers: []string{}}
	ids := func(l []cid.Cid) []string {
		var s []string
		for _, x := range l {
			s = append(s, x.String())
		}
		return s
	}
	for _, ch := range changes {
		keys = append(keys, ch.Key)
		out.Changes = append(out.Changes, PolicyChange{CID: ch.CID.String(), Author: AuthorID(ch.Author), Key: AuthorID(ch.Key),
			Role: ch.Role.String(), Prev: ids(ch.Prev), Keep: ids(ch.Keep)})
	}
	slices.SortFunc(keys, func(a, b ed25519.PublicKey) int { return bytes.Compare(a, b) })
	keys = slices.CompactFunc(keys, func(a, b ed25519.PublicKey) bool { return bytes.Equal(a, b) })
	for _, k := range keys {
		switch role, _ := c.policy.Role(heads, k); role {
		case crdt.RoleAdmin:
			out.Admins = append(out.Admins, AuthorID(k))
		case crdt.RoleWriter:
			out.Writers = append(out.Writers, AuthorID(k))
		case crdt.RoleReader:
			out.Readers = append(out.Readers, AuthorID(k))
		}
	}
	return out
}

// mayWrite returns nil if author may write to c in the policy state heads
// name (none: the initial policy), an error wrapping errPolicyMissing if the
// node lacks changes heads name, else a *PolicyError. An open collection's
// blocks name no policy state and no previous block of their author.
func (c *Collection) mayWrite(author ed25519.PublicKey, heads []cid.Cid, authorPrev bool) error {
	deny := func(reason string) error {
		return &PolicyError{Author: AuthorID(author), Collection: c.root.Name, Act: "write to", Reason: reason}
	}
	if c.policy == nil {
		if len(heads) > 0 || authorPrev {
			return deny("an open collection's blocks name no policy")
		}
		return nil
	}
	c.policyMu.RLock()
	err := c.policy.Authorize(author, heads)
	c.policyMu.RUnlock()
	var d *policy.Denied
	switch {
	case errors.As(err, &d):
		return deny(d.Error())
	case errors.Is(err, policy.ErrMissing):
		return fmt.Errorf("%w: %w", errPolicyMissing, err)
	case err != nil:
		return deny(err.Error())
	}
	return nil
}

// errPolicyMissing is mayWrite's error for a block that names policy changes
// the node does not hold yet: it waits for them (see accept's rule 5).
var errPolicyMissing = errors.New("gossipdb: block names policy changes not here yet")

// mayRead reports whether peer p may receive the changes of the collection
// whose schema ID is schema: yes for an open or unknown collection, else if
// the key of p's ID holds a role in the collection's current policy state
// (the heads of its policy graph).
func (n *Node) mayRead(p peer.ID, schema cid.Cid) bool {
	c, ok := n.collectionBySchema(schema)
	if !ok || c.policy == nil {
		return true
	}
	pk, err := p.ExtractPublicKey()
	if err != nil {
		return false
	}
	raw, err := pk.Raw()
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return false
	}
	c.policyMu.RLock()
	defer c.policyMu.RUnlock()
	role, err := c.policy.Role(c.policy.Heads(), ed25519.PublicKey(raw))
	return err == nil && role >= crdt.RoleReader
}

// topicFilter is the pubsub peer filter: peer p counts as subscribed to topic
// only if it may read the collection (see mayRead). A topic that names no
// collection this node knows is not filtered: the node learns a collection's
// policy with its definition, so dropNonMembers disconnects the peers that
// announced their subscription before then.
func (n *Node) topicFilter(p peer.ID, topic string) bool {
	id, err := cid.Decode(topic)
	if err != nil {
		return true
	}
	return n.mayRead(p, id)
}

// memberFilter is the pubsub subscription filter: it drops a peer's
// subscriptions to the topics of collections it may not read (see
// topicFilter), so the router never counts it among the topic's peers.
type memberFilter struct{ n *Node }

// CanSubscribe lets the node join every topic.
func (memberFilter) CanSubscribe(string) bool { return true }

// FilterIncomingSubscriptions returns p's subscriptions to topics it may
// read, in a new slice: subs stays as it was.
func (f memberFilter) FilterIncomingSubscriptions(p peer.ID, subs []*pb.RPC_SubOpts) ([]*pb.RPC_SubOpts, error) {
	kept := make([]*pb.RPC_SubOpts, 0, len(subs))
	for _, s := range subs {
		if f.n.topicFilter(p, s.GetTopicid()) {
			kept = append(kept, s)
		}
	}
	return kept, nil
}

// dropNonMembers disconnects the peers GossipSub counts as subscribed to
// restricted collection c's topic that may not read c: they announced their
// subscription while the node did not know c, when topicFilter let every
// subscription to the topic through, or before a policy change took their
// role away. Should one reconnect, its announcement is judged again and
// dropped, so it never enters the topic's mesh.
func (n *Node) dropNonMembers(c *Collection) {
	if c.policy == nil {
		return
	}
	for _, p := range n.ps.ListPeers(c.SchemaID()) {
		if !n.mayRead(p, c.root.ID) {
			n.log.Info("Disconnected a peer subscribed to a collection it may not read", logKeyCollection, c.Name(), logKeyPeer, p.String())
			_ = n.host.Network().ClosePeer(p)
		}
	}
}
