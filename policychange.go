package gossipdb

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/policy"
	"github.com/gossipdb/gossipdb/internal/policysync"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Policy changes at the node: how an admin makes one (Grant, Revoke), how the
// node stores them ('p' records, loaded into the collection's policy.Graph at
// Open) and how they travel. Every change a node holds reaches its peers
// three ways, and every received change goes through acceptChanges:
//
//   - Gossip: the admin's node publishes it to the collection's topic, as a
//     message of its own (policyMessage). A change whose Prev the node lacks
//     is not kept waiting: it is ignored and the node catches up with the peer
//     it came through, which brings it with the changes it names.
//   - Fetch: a block that names policy heads the node lacks waits for them:
//     from gossip, the message is ignored and the node catches up with its
//     sender; from a history fetch or catch-up, the node fetches the changes
//     from the peer that sent the block (/gossipdb/policy/1, policysync) and
//     judges the block again.
//   - Catch-up: each session of a restricted collection starts with the same
//     exchange: the node sends its policy heads and receives every change the
//     peer holds that they do not hold (none when both hold the same), so a
//     node that missed a change no block names, a revocation typically, gets
//     it at its next session with any peer that has it.
//
// Nothing waits in memory: an answer comes parents first, and a change it
// cannot place is refused with the answer's rest. An answer holds at most
// policysync.MaxChanges changes and policysync.MaxAnswerBytes bytes.

// policyMessage is the first byte of a gossip message that carries one
// policy change (its bytes follow). A message of blocks starts with 0 (its
// header) or a frame's length, which is never 1: no block is one byte long.
const policyMessage = 1

// Roles an admin grants, as Grant takes them and Policy names them.
const (
	RoleWriter = "writer"
	RoleReader = "reader"
)

// PolicyChange is one signed policy change of a restricted collection:
// admin Author set Key's role to Role ("writer", "reader" or "none") after
// the changes Prev; a revocation keeps the chains of Key's blocks that end at
// Keep. Keys are named as AuthorID names them, changes by their CID.
type PolicyChange struct {
	CID    string   `json:"cid"`
	Author string   `json:"author"`
	Key    string   `json:"key"`
	Role   string   `json:"role"`
	Prev   []string `json:"prev,omitempty"`
	Keep   []string `json:"keep,omitempty"`
}

// Grant gives author (as AuthorID names it) role RoleWriter or RoleReader in
// the restricted collection c, as a signed policy change that replicates with
// the collection. The change is signed by c's key (the node's identity key,
// or another through As), which must be an admin of c's initial policy: else
// it fails with a *PolicyError ("not an admin") and changes nothing. Granting
// reader to a writer takes the writer role away: it is a revocation (see
// Revoke). An open collection, an unknown role, a key that is not an author
// ID and an admin's key (admins are fixed) fail with ErrInvalid. When Grant
// returns nil the change is durably stored and in force on this node; it is
// then published to the collection's peers.
func (c *Collection) Grant(ctx context.Context, author, role string) error {
	if c.node.closing() {
		return ErrClosed
	}
	var r crdt.Role
	switch role {
	case RoleWriter:
		r = crdt.RoleWriter
	case RoleReader:
		r = crdt.RoleReader
	default:
		return fmt.Errorf("%w: role %.32q: want %q or %q", ErrInvalid, role, RoleWriter, RoleReader)
	}
	return c.setRole(ctx, author, r)
}

// Revoke takes every role from author in the restricted collection c, as
// Grant does. The change keeps the chains of author's blocks that this node
// stores in full (policy.Change.Keep), at most 64 of them: of a key that
// forked its blocks into more chains, the longest. Once it has reached a
// node, that node refuses author's blocks written under it, and author's
// blocks no kept
// chain holds (written after Revoke, or concurrently and not yet here) are
// cut off wherever it completes (internal/policy's rule 4; see policy.go for
// what this version does with them). The node of author's key is not told: its
// peers no longer answer it, the revocation included, so its own policy may
// still have it a writer, and its later writes are refused by every member
// (docs/SECURITY.md, "A node whose key lost every role is not told").
func (c *Collection) Revoke(ctx context.Context, author string) error {
	return c.setRole(ctx, author, crdt.RoleNone)
}

// setRole makes, stores and publishes the change that sets author's role to
// role in c.
func (c *Collection) setRole(ctx context.Context, author string, role crdt.Role) error {
	n := c.node
	if n.closing() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.policy == nil {
		return fmt.Errorf("%w: collection %s is open: it has no policy to change", ErrInvalid, c.Name())
	}
	key, err := schema.AuthorKey(author)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	signer := c.signer()
	admin := signer.Public().(ed25519.PublicKey)
	if have := c.root.Policy.Role(admin); have != crdt.RoleAdmin {
		return &PolicyError{Author: AuthorID(admin), Collection: c.Name(), Act: "change the policy of",
			Reason: (&policy.Denied{Author: admin, Need: crdt.RoleAdmin, Have: have}).Error()}
	}
	if c.root.Policy.Role(key) == crdt.RoleAdmin {
		return fmt.Errorf("%w: %s is an admin of %s: admins are fixed", ErrInvalid, author, c.Name())
	}
	if err := n.enter(); err != nil {
		return err
	}
	defer n.leave()
	ch := &policy.Change{Schema: c.root.ID, Prev: c.policyHeads(), Key: key, Role: role}
	if ch.Revokes() {
		if ch.Keep, err = n.keptChains(c, key); err != nil {
			return err
		}
	}
	if err := ch.Sign(signer); err != nil {
		return err
	}
	if _, err := c.addChanges([]*policy.Change{ch}, madeHere); err != nil {
		return err
	}
	n.publishChange(c, ch)
	return nil
}

// keptChains returns what a revocation of key in c keeps: the heads of key's
// chains of blocks that the node stores in full, sorted by bytes. A chain
// with a link the node lacks is not kept (its blocks are cut off), so that the
// revocation is complete here at once, and wherever the kept blocks arrive.
// A head that is on another head's chain is left out: the store keeps a
// block as a head when it arrives after the block naming it as AuthorPrev (as
// catch-up brings a writer's documents, in no order of theirs), and the
// longer chain keeps it anyway. Of a key that forked its chains into more
// than policy.MaxKeep, the revocation keeps the policy.MaxKeep longest (the
// first by bytes among equals), and the others are cut off: a writer cannot
// make itself irrevocable by forking.
func (n *Node) keptChains(c *Collection, key ed25519.PublicKey) ([]cid.Cid, error) {
	type link struct {
		whole bool // every link back to the chain's start is stored
		size  int  // blocks of key on the chain, from this one back
	}
	var keep []cid.Cid
	var size map[cid.Cid]int
	err := n.store.View(func(tx *store.Tx) error {
		heads, _, err := tx.ChainHeads(c.root.ID, key)
		if err != nil {
			return err
		}
		keep, size = keep[:0], map[cid.Cid]int{}
		known := map[cid.Cid]link{} // each block of key read, once
		below := map[cid.Cid]bool{} // blocks some chain holds below its head
		for _, h := range heads {
			// Walk down to a block whose link is known, or the chain's end,
			// then set the links of the path from there back up.
			var path []cid.Cid
			end := link{whole: true}
			for at := h; at.Defined(); {
				if l, ok := known[at]; ok {
					if at != h {
						below[at] = true
					}
					end = l
					break
				}
				b, err := tx.Block(c.root.ID, at)
				if errors.Is(err, store.ErrNotFound) {
					end = link{}
					break
				}
				if err != nil {
					return err
				}
				if !bytes.Equal(b.Author, key) {
					break
				}
				if at != h {
					below[at] = true
				}
				path = append(path, at)
				at = b.AuthorPrev
			}
			for i := len(path) - 1; i >= 0; i-- {
				end.size++
				known[path[i]] = end
			}
		}
		for _, h := range heads {
			if l := known[h]; l.whole && !below[h] {
				keep = append(keep, h)
				size[h] = l.size
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(keep) > policy.MaxKeep {
		slices.SortFunc(keep, func(a, b cid.Cid) int {
			if d := size[b] - size[a]; d != 0 {
				return d
			}
			return bytes.Compare(a.Bytes(), b.Bytes())
		})
		n.log.Warn("The revoked key forked its blocks into more chains than a revocation keeps: the longest are kept, the others cut off",
			logKeyCollection, c.Name(), logKeyAuthor, AuthorID(key), logKeyChains, len(keep))
		keep = keep[:policy.MaxKeep]
	}
	slices.SortFunc(keep, func(a, b cid.Cid) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
	return keep, nil
}

// policyHeads returns the heads of c's policy graph: the state a block or
// change written now names. It is nil for an open collection.
func (c *Collection) policyHeads() []cid.Cid {
	if c.policy == nil {
		return nil
	}
	c.policyMu.RLock()
	defer c.policyMu.RUnlock()
	return c.policy.Heads()
}

// changeOrigin says where a policy change came from, as the change-feed
// entries and events of the cut-off a revocation causes name it (Change.Peer):
// "" for a change made on this node, else the ID of the peer it came from.
type changeOrigin func(ch *policy.Change) string

// madeHere is the origin of the changes Grant and Revoke make.
func madeHere(*policy.Change) string { return "" }

// bySigner is the origin of a change received by gossip, which names no
// sender: the peer whose key signed it, as for a block (gossipArrivals).
func bySigner(ch *policy.Change) string { return AuthorID(ch.Author) }

// servedBy is the origin of the changes peer p served (policysync), as for
// the blocks a fetch or catch-up brings.
func servedBy(p peer.ID) changeOrigin {
	return func(*policy.Change) string { return p.String() }
}

// storedOrigin is the origin of a policy change loaded from the store, which
// keeps a change's bytes but not where it came from: made here if the node's
// identity key signed it, else as by gossip (bySigner). So a revocation that a
// restart interrupted before its cut-off ran, or that completes only after
// one, is named remote if it was made here with another key (Collection.As).
func (n *Node) storedOrigin(ch *policy.Change) string {
	if bytes.Equal(ch.Author, n.key.Public().(ed25519.PublicKey)) {
		return ""
	}
	return bySigner(ch)
}

// addChanges judges changes, whose signatures the caller verified, in order (policy.Graph.Add) and
// stores each valid one the graph did not hold, durably, before it is in
// force, noting where a revocation came from (origin). It returns the changes
// added, and stops at the first refused or missing one with its error
// (wrapping policy.ErrInvalidChange, policy.ErrDenied or policy.ErrMissing).
func (c *Collection) addChanges(changes []*policy.Change, origin changeOrigin) (added []*policy.Change, err error) {
	for _, ch := range changes {
		c.policyMu.RLock()
		held, err := c.policy.Has(ch.CID), c.policy.Check(ch)
		c.policyMu.RUnlock()
		if held {
			continue
		}
		if err != nil {
			return added, err
		}
		// Stored before it is in force, without the lock (see policyMu). The
		// graph only grows, so Check's verdict holds until Add.
		err = c.node.store.Update(func(tx *store.Tx) error {
			return tx.PutPolicyChange(c.root.ID, ch.CID, ch.Data)
		})
		if err != nil {
			return added, noSpace(err)
		}
		add := func() {
			c.policyMu.Lock()
			if err = c.policy.Add(ch); err == nil && ch.Revokes() {
				c.noteOrigin(ch, origin(ch))
			}
			c.policyMu.Unlock()
		}
		if ch.Revokes() {
			// Once it is in force the revoked key's blocks may be disowned:
			// a merge that judged one before must have committed by then,
			// so that the cut-off (below) finds it.
			c.node.store.ChangeDisowned(add)
		} else {
			add()
		}
		if err != nil {
			return added, err
		}
		added = append(added, ch)
	}
	if slices.ContainsFunc(added, (*policy.Change).Revokes) {
		c.node.cutOff(c)
	}
	if len(added) > 0 {
		// A peer that lost its last role may still be among the topic's
		// subscribers: the filter judged its subscription when it came.
		c.node.dropNonMembers(c)
	}
	return added, nil
}

// noteOrigin records that revocation r came from origin (see changeOrigin),
// under c.policyMu.
func (c *Collection) noteOrigin(r *policy.Change, origin string) {
	if c.origins == nil {
		c.origins = map[cid.Cid]string{}
	}
	c.origins[r.CID] = origin
}

// disowned is rule 4 of internal/policy for block b of c, stored in tx (the
// store's Disowned for c): a complete revocation of b's author outside the
// policy state b names does not keep it.
func (c *Collection) disowned(tx *store.Tx, b *crdt.Block) bool {
	c.policyMu.Lock()
	defer c.policyMu.Unlock()
	if c.policy == nil {
		return false // an open collection's blocks all count
	}
	return c.policy.Disowned(b, c.lookup(tx))
}

// settled is the store's Settled for c: every revocation of author is cut
// off (see cutOff), so no document state holds a block of author that a
// revocation disowns. It answers false for a revocation not complete yet, and
// for every revocation after a restart until its cut-off has run again.
func (c *Collection) settled(author ed25519.PublicKey) bool {
	c.policyMu.RLock()
	defer c.policyMu.RUnlock()
	return !slices.ContainsFunc(c.policy.Revocations(), func(r *policy.Change) bool {
		return bytes.Equal(r.Key, author) && !c.cut[r.CID]
	})
}

// lookup returns policy's view of the blocks of c stored in tx.
func (c *Collection) lookup(tx *store.Tx) policy.Lookup {
	return func(id cid.Cid) (*crdt.Block, bool) {
		b, err := tx.Block(c.root.ID, id)
		return b, err == nil
	}
}

// cutOffBatch is how many documents cutOff rebuilds in one transaction at
// first; it halves the batch while the transaction is too large for the store.
const cutOffBatch = 1024

// cutOff applies rule 4 of internal/policy to the revocations of c that are
// complete and whose cut-off has not run. It finds, in one read, every
// document that holds a block of a revoked key that is now disowned, then
// rebuilds their states in transactions of up to cutOffBatch documents
// (store.Tx.Rebuild: the document's values without those blocks, its indexes
// and a change-feed entry) and emits, after each, an event per document whose
// values changed. Entries and events name the revocation as their block, the
// admin as their author and where the revocation came from (see
// changeOrigin) as their origin. A revocation counts as cut off once all its
// documents are rebuilt.
// Blocks that arrive meanwhile or later and are disowned leave their
// document's state as they are merged (see store.TrackChains), and those a
// merge judged before the revocation was in force were committed before it
// was (store.Store.ChangeDisowned), so the one read finds them; a document
// rebuilt in a later transaction is rebuilt from all it holds then. It runs
// after a revocation is added and after each merge of received blocks, while
// some revocation's cut-off has not run; errors are logged and it runs again
// then, rebuilding again only the documents whose values still change.
func (n *Node) cutOff(c *Collection) {
	type revocationCut struct {
		r      *policy.Change
		origin string    // where r came from (see changeOrigin)
		docs   []cid.Cid // the documents holding a disowned block of r's key
	}
	c.policyMu.RLock()
	var pending []revocationCut
	for _, r := range c.policy.Revocations() {
		if !c.cut[r.CID] {
			pending = append(pending, revocationCut{r: r, origin: c.origins[r.CID]})
		}
	}
	c.policyMu.RUnlock()
	if len(pending) == 0 {
		return
	}
	var cuts []revocationCut
	err := n.store.View(func(tx *store.Tx) error {
		lookup := c.lookup(tx)
		seen := map[cid.Cid]bool{}
		for _, k := range pending {
			r := k.r
			// Judged in this read, which holds only committed blocks (see
			// Complete): a merge that completes r and has not committed
			// also holds blocks it judged kept while r was not complete,
			// which this read lacks; the cut-off after that merge finds them.
			c.policyMu.Lock()
			complete := c.policy.Complete(r, lookup)
			c.policyMu.Unlock()
			if !complete {
				continue
			}
			heads, _, err := tx.ChainHeads(c.root.ID, r.Key)
			if err != nil {
				return err
			}
			// Every stored block of the key is on a chain from one of its heads.
			listed := map[cid.Cid]bool{}
			for _, h := range heads {
				for at := h; at.Defined() && !seen[at]; {
					seen[at] = true
					b, ok := lookup(at)
					if !ok || !bytes.Equal(b.Author, r.Key) {
						break
					}
					if doc := b.DocID(); !listed[doc] && c.disowned(tx, b) {
						listed[doc] = true
						k.docs = append(k.docs, doc)
					}
					at = b.AuthorPrev
				}
			}
			cuts = append(cuts, k)
		}
		return nil
	})
	if err != nil {
		n.log.Warn("Cannot cut off revoked blocks", logKeyCollection, c.Name(), logKeyError, err)
		return
	}
	batch := cutOffBatch
	for _, k := range cuts {
		for docs := k.docs; len(docs) > 0; {
			part := docs[:min(batch, len(docs))]
			changed, err := n.rebuildDisowned(c, k.r, k.origin, part)
			if errors.Is(err, store.ErrTxnTooLarge) && len(part) > 1 {
				batch = len(part) / 2
				continue
			}
			if err != nil {
				n.log.Warn("Cannot cut off revoked blocks", logKeyCollection, c.Name(), logKeyError, err)
				return
			}
			docs = docs[len(part):]
			n.watchers.emit(c.Name(), len(changed), func(i int) Event {
				return Event{Type: eventType(changed[i].kind), Collection: c.schema().Name, DocID: DocID(changed[i].doc.String()),
					Block: k.r.CID.String(), Peer: k.origin, Author: AuthorID(k.r.Author)}
			})
		}
	}
	c.policyMu.Lock()
	if c.cut == nil {
		c.cut = map[cid.Cid]bool{}
	}
	for _, k := range cuts {
		c.cut[k.r.CID] = true
	}
	c.policyMu.Unlock()
}

// rebuiltDoc is a document whose values a cut-off changed.
type rebuiltDoc struct {
	doc  cid.Cid
	kind store.ChangeKind // what the change feed reports of the change (store.Tx.Rebuild)
}

// rebuildDisowned rebuilds, in one transaction, the states of docs without the
// blocks of c that are disowned, for revocation r, which came from origin (see
// changeOrigin), and returns those whose values changed.
func (n *Node) rebuildDisowned(c *Collection, r *policy.Change, origin string, docs []cid.Cid) ([]rebuiltDoc, error) {
	var changed []rebuiltDoc
	err := n.store.Update(func(tx *store.Tx) error {
		changed = changed[:0]
		tx.SetOrigin(origin)
		for _, doc := range docs {
			kind, err := tx.Rebuild(c.root.ID, doc, r.CID, r.Author, func(b *crdt.Block) bool { return !c.disowned(tx, b) })
			if err != nil {
				return err
			}
			if kind != 0 {
				changed = append(changed, rebuiltDoc{doc, kind})
			}
		}
		return nil
	})
	return changed, err
}

// uncut reports whether some revocation of c has not been cut off yet.
func (c *Collection) uncut() bool {
	if c.policy == nil {
		return false
	}
	c.policyMu.RLock()
	defer c.policyMu.RUnlock()
	return slices.ContainsFunc(c.policy.Revocations(), func(r *policy.Change) bool { return !c.cut[r.CID] })
}

// loadPolicy adds c's stored policy changes to its graph, each after those it
// names, and notes where the revocations came from (storedOrigin).
func (c *Collection) loadPolicy(tx *store.Tx) error {
	var pending []*policy.Change
	err := tx.PolicyChanges(c.root.ID, func(data []byte) error {
		ch, err := policy.DecodeChange(data)
		if err != nil {
			return fmt.Errorf("gossipdb: stored policy change of %s: %w", c.Name(), err)
		}
		pending = append(pending, ch)
		return nil
	})
	if err != nil {
		return err
	}
	for len(pending) > 0 {
		left := pending[:0]
		for _, ch := range pending {
			if err := c.policy.Add(ch); errors.Is(err, policy.ErrMissing) {
				left = append(left, ch)
			} else if err != nil {
				return fmt.Errorf("gossipdb: stored policy change %s of %s: %w", ch.CID, c.Name(), err)
			} else if ch.Revokes() {
				c.noteOrigin(ch, c.node.storedOrigin(ch))
			}
		}
		if len(left) == len(pending) {
			return fmt.Errorf("gossipdb: stored policy change %s of %s: %w", left[0].CID, c.Name(), policy.ErrMissing)
		}
		pending = left
	}
	return nil
}

// acceptChanges decodes changes peer from sent (by gossip or policysync,
// parents first) and adds them to c's graph (addChanges), as coming from
// origin (bySigner or servedBy). It returns whether it added any; a change
// that does not decode, verify or pass the graph's rules refuses the rest and
// is counted (reason "policy", or "malformed" or "signature").
func (n *Node) acceptChanges(c *Collection, data [][]byte, from peer.ID, origin changeOrigin) (bool, error) {
	changes := make([]*policy.Change, 0, len(data))
	for _, d := range data {
		ch, err := policy.DecodeChange(d)
		if err != nil {
			n.metrics.malformedBlocks.Add(1)
			return false, err
		}
		if err := ch.Verify(); err != nil {
			n.metrics.signatureRejects.Add(1)
			return false, err
		}
		changes = append(changes, ch)
	}
	added, err := c.addChanges(changes, origin)
	if err != nil && !errors.Is(err, policy.ErrMissing) && !errors.Is(err, ErrNoSpace) {
		n.metrics.policyRejects.Add(1)
	}
	for _, ch := range added {
		n.log.Info("Added policy change", logKeyCollection, c.Name(), logKeyBlock, ch.CID.String(), logKeyPeer, from.String())
	}
	if err != nil {
		n.log.Debug("Refused policy change", logKeyCollection, c.Name(), logKeyPeer, from.String(), logKeyError, err)
	}
	return len(added) > 0, err
}

// pullPolicy fetches from p the policy changes of c that the node lacks and
// adds them (acceptChanges). It does nothing for an open collection.
func (n *Node) pullPolicy(ctx context.Context, c *Collection, p peer.ID) error {
	if c.policy == nil {
		return nil
	}
	data, err := policysync.Fetch(ctx, n.host, p, c.root.ID, c.policyHeads())
	if err != nil || len(data) == 0 {
		return err
	}
	_, err = n.acceptChanges(c, data, p, servedBy(p))
	return err
}

// policySince answers /gossipdb/policy/1: the changes of collection schema
// that heads does not hold, parents first, if p may read it.
func (n *Node) policySince(p peer.ID, schema cid.Cid, heads []cid.Cid) [][]byte {
	c, ok := n.collectionBySchema(schema)
	if !ok || c.policy == nil || !n.mayRead(p, schema) {
		return nil
	}
	c.policyMu.RLock()
	changes := c.policy.Since(heads)
	c.policyMu.RUnlock()
	out := make([][]byte, len(changes))
	for i, ch := range changes {
		out[i] = ch.Data
	}
	return out
}

// publishChange sends change ch of c to the collection's topic. Errors are
// logged: catch-up delivers what gossip missed.
func (n *Node) publishChange(c *Collection, ch *policy.Change) {
	ts := n.publishTopic(c)
	if ts == nil {
		return
	}
	msg := append([]byte{policyMessage}, ch.Data...)
	if err := ts.topic.Publish(n.ctx, msg); err != nil {
		if n.ctx.Err() == nil {
			n.log.Warn("Cannot publish", logKeyTopic, c.SchemaID(), logKeyError, err)
		}
		return
	}
	n.metrics.messagesOut.Add(1)
	n.metrics.bytesOut.Add(uint64(len(msg)))
}

// validateChange is the topic validator's verdict on a message that carries
// a policy change (policyMessage): accepted and forwarded if the node adds it
// now, ignored if it holds it already or lacks changes it names (then it
// catches up with the peer it came through), rejected if it is invalid or
// not signed by an admin.
func (n *Node) validateChange(c *Collection, data []byte, via peer.ID) pubsub.ValidationResult {
	if c.policy == nil {
		n.metrics.policyRejects.Add(1)
		n.metrics.rejectedMessages.Add(1)
		return pubsub.ValidationReject
	}
	if n.losesGossip() {
		return pubsub.ValidationIgnore
	}
	added, err := n.acceptChanges(c, [][]byte{data}, via, bySigner)
	switch {
	case added:
		return pubsub.ValidationAccept
	case err == nil, errors.Is(err, ErrNoSpace):
		return pubsub.ValidationIgnore
	case errors.Is(err, policy.ErrMissing):
		n.catchUp.schedule(c.Name(), via)
		return pubsub.ValidationIgnore
	}
	n.metrics.rejectedMessages.Add(1)
	return pubsub.ValidationReject
}
