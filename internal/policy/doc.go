// Package policy decides what an author may do in a restricted collection:
// who may write, who may change the policy, and which blocks a revocation
// cuts off. Its decisions are pure functions of content-addressed data, free
// of I/O and clocks, so every node that holds the same blocks and changes
// decides the same, whatever order they arrived in.
//
// # Roles and identity
//
// A collection is open (no policy: every author may write, every peer may
// read) or restricted: its root definition carries an initial policy
// (crdt.Policy, the SDL's @policy) naming admins, writers and readers by
// their Ed25519 keys. Each role includes the weaker ones: admin ⊃ writer ⊃
// reader; members are the keys with any role. Because the policy is part of
// the canonical definition, the schema ID covers it: a peer that declares
// another policy declares another collection, with another topic and other
// document IDs. Admins are fixed for the collection's life (see "Why admins
// are fixed" below); writers and readers change through policy changes.
//
// # Policy changes
//
// A Change is signed by an admin and sets one non-admin key's role (none,
// reader, writer). It names the policy heads it was made after (Prev), so the
// changes form a DAG, the collection's policy graph. A policy state is a set
// of heads: the changes they name and all their ancestors. A change that
// takes the writer role away is a revocation; it also names Keep: chain heads
// of the revoked writer (see rule 4), normally the head of every chain of
// that key the admin's node stores, up to MaxKeep of them.
//
// Every block of a restricted collection names the policy heads its author
// wrote under (crdt.Block.Policy; none means the initial policy) and its
// author's previous block in the collection (crdt.Block.AuthorPrev), so each
// author's blocks form a chain, forked only if the key writes from two
// places at once. Both are signed with the block.
//
// # The rules
//
//  1. Authorization (Graph.Authorize, decided when a block arrives, and
//     final): a block's author holds the writer role in the policy state the
//     block names. A block that names a change the node does not hold yet
//     waits, like an orphan, until it arrives (ErrMissing). A block that
//     fails is refused on every path and never stored. Its AuthorPrev, if
//     any, must be a block of the same collection by the same author
//     (CheckAuthorPrev), and the block waits for it as for a parent. The
//     node does not run this check, which could make acceptance depend on
//     arrival order (gossipdb's policy.go, "Author chains", says why); rule
//     4 does not need it: a chain ends where its link names a block of
//     another author, and a revocation keeps only chains its admin holds
//     whole. The property tests run the stricter rule.
//  2. State (Graph.Role): in a policy state, an initial admin is an admin;
//     for any other key, the changes of its role in the state that no other
//     change of its role in the state follows decide, the weakest role of
//     them winning (a revocation beats a concurrent grant); with no change of
//     its role, its initial role holds.
//  3. Changes (Graph.Add): a change is valid if its signature verifies, its
//     author is an admin of the initial policy, it does not name an admin's
//     key, and its Prev are held (else it waits). A change by anyone else is
//     refused and never stored.
//  4. Cut-off (Graph.Disowned, re-judged when a revocation completes): a
//     revocation r of key K is complete at a node once every block of the
//     chains of r.Keep (each head and its AuthorPrev links, while they are
//     K's) is stored there. A block of K that rule 1 let in is disowned if
//     some complete revocation of K outside the policy state the block names
//     does not keep it. A disowned block stays stored (a later block may name
//     it as a parent, and the node passes it on so that its peers can check
//     the same), but no document's state holds it: the state of a document is
//     the merge, in (height, CID) order, of its blocks that are not
//     disowned; a document whose genesis is disowned has no state.
//
// # Why this converges
//
// Rules 1 to 3 look only at the block or change itself and at changes it
// names, which are content-addressed and immutable: the verdict is the same
// on every node and at every time, so the stored set of blocks and changes
// is the same on nodes that exchanged everything (catch-up reconciles stored
// sets). Rule 4 looks at the block, the policy graph and the kept chains.
// Every block of a kept chain passed rule 1 at the admin's node (a block is
// stored only after its AuthorPrev), so by rule 1's order-freedom it passes
// everywhere, and every node eventually holds it: every revocation with real
// chain heads completes on every node. A revocation that names a block no
// node has never completes and cuts nothing, on every node alike. Rule 4 is
// monotone: more changes and more complete revocations only disown more
// blocks, never fewer, so a node that merged a block which a later
// revocation disowns rebuilds the document from its remaining blocks, and
// ends where a node that learned the revocation first ends. The final state
// of each document is thus a function of the set of stored blocks and
// changes alone, which the property tests check over random orders and
// losses.
//
// # Why a revoked writer cannot back-date
//
// A revoked writer K can sign a block that names the policy heads of before
// its revocation r, so rule 1 lets it in. But the block is not on the chains
// r keeps: those were fixed, by hashes, when the admin made r, from K's
// blocks the admin's node held, and a block K makes later can only extend or
// fork a chain, never enter one below a kept head. So rule 4 disowns it on
// every node where r is complete, which is every node in the end. A block K
// wrote honestly before r but that the admin had not received is disowned
// too: concurrency with a revocation is resolved against the writer. A block
// of K that names a state holding r is refused by rule 1, unless a later
// change made K a writer again.
//
// # Why admins are fixed
//
// If an admin could be revoked, a change that admin made concurrently with
// its revocation would be valid or not according to the same cut-off, and a
// change that rule 3 refused could become valid again once the revoking
// change is itself cut off: acceptance would no longer be monotone, and a
// node that refused and dropped a change could not take it back. A
// collection that needs other admins is another collection (another
// definition); its documents can be copied into it.
package policy
