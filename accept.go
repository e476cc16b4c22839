package gossipdb

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/gossipdb/gossipdb/crdt"
	"github.com/gossipdb/gossipdb/internal/orphans"
	"github.com/gossipdb/gossipdb/internal/policy"
	"github.com/gossipdb/gossipdb/internal/schema"
	"github.com/gossipdb/gossipdb/internal/store"
)

// Why accept refused a block: the reason of the gossipdb_blocks_rejected_total
// metric that counts it.
const (
	reasonMalformed = "malformed" // its bytes or framing do not decode (counted by the callers that decode)
	reasonSignature = "signature"
	reasonSchema    = "schema"
	reasonParents   = "parents"
	reasonPolicy    = "policy"
)

// rejection is accept's error for a block that may never be stored: reason
// says which rule refused it.
type rejection struct {
	reason string
	err    error
}

func (r *rejection) Error() string { return r.err.Error() }
func (r *rejection) Unwrap() error { return r.err }

// How accept treats a block that names a version of its collection the node
// does not know.
type acceptMode int

const (
	// fromGossip: accept fails with errUnknownVersion, and the validator holds
	// the message while the version is fetched (holdForVersion), then calls
	// accept again.
	fromGossip acceptMode = iota
	// fromFetch: accept fetches the version from the peer that sent the block
	// (history fetch, catch-up) and waits for it within ctx.
	fromFetch
)

// accept decides whether blocks a peer sent may be stored: it is the one place
// that does, and every receiving path calls it before a block reaches a merge
// worker: the pubsub validator on each message's blocks, history fetches and
// catch-up on each chunk of an answer, and the gossip held for an unknown
// version once the version arrives. blocks come in the order they will be
// merged (parents first); from is the peer that sent them. The rules, in the
// order they run:
//
//  1. Structure: the bytes decode with crdt.Decode, which the callers run as
//     they read a message or an answer: canonical dag-cbor within
//     crdt.MaxBlockSize, the CID re-hashed from the bytes (a fetch also checks
//     that the block is of a document it asked for), known keys and kinds, the genesis and nonce
//     rules, an author key and a signature of the right sizes. A message or
//     answer that fails is refused whole (reason "malformed" for gossip; a
//     failed fetch otherwise).
//
//  2. Signature: each block's signature verifies with the author key it
//     carries (crdt.Block.Verify; checked in batches, crdt.VerifyBatch, on
//     several goroutines; reason "signature").
//
//  3. Schema: the block belongs to the collection and the version it names is
//     known (from gossip, errUnknownVersion: the caller holds it and fetches
//     the version; from a fetch, the version is fetched from the peer and
//     waited for, and a version that cannot be fetched then, too many
//     fetches running or no answer, fails the fetch with errUnknownVersion,
//     refusing nothing; a refused version refuses the block), and its fields and
//     values fit that version (Collection.check, which runs crdt.Schema.Check:
//     a value of the field's kind in canonical form, a JSON value nesting at
//     most crdt.MaxJSONDepth deep; reason "schema"). A version
//     is fetched only for a block that passes rule 5 (which runs first for
//     such a block, and refuses it or waits as rule 5 does): in a restricted
//     collection only a writer's block brings a new version.
//
//  4. Parents: for each parent already stored, or earlier in blocks, the
//     block's document, schema and height are consistent with it
//     (crdt.CheckParents; reason "parents"). A block whose parents are not all
//     here yet is an orphan: its cost against the orphan budgets is returned,
//     and the rule runs again when it is merged, in store.Tx.Apply, once its
//     parents are stored.
//
//  5. Policy: the block's author may write to the collection (see policy.go
//     and internal/policy, whose package doc states every rule of a
//     restricted collection and why they are order-free): in an open
//     collection every author may, and the block names no policy state and
//     no previous block of its author; in a restricted one the author holds
//     the writer role in the policy state the block names (policy.Graph's
//     Authorize). A block that names policy changes the node lacks waits for
//     them: from gossip, accept fails with errPolicyMissing, and the
//     validator ignores the message and catches up with its sender; from a
//     fetch, accept fetches the changes from the peer (pullPolicy, see
//     policychange.go) and judges the block again. The block's AuthorPrev is
//     not checked here (see policy.go, "Author chains"). Reason "policy"; the
//     block is never stored.
//
// accept stops at the first block that breaks a rule and returns an error
// wrapping a *rejection that names the rule (see countRejected), or another
// error (errUnknownVersion, ctx's, the store's) that refuses nothing for good.
func (n *Node) accept(ctx context.Context, c *Collection, blocks []*crdt.Block, from peer.ID, mode acceptMode) (orphanCost int64, err error) {
	// 2. Signature.
	if err := n.verifySignatures(blocks); err != nil {
		return 0, &rejection{reasonSignature, err}
	}
	// 3. Schema.
	for _, b := range blocks {
		err := c.check(b)
		if errors.Is(err, errUnknownVersion) && !c.refused(b.VersionID()) {
			// Only a writer's block brings a version: a key that may not
			// write must not make the node fetch and keep definitions.
			if err := n.authorize(ctx, c, b, from, mode); err != nil {
				return 0, err
			}
			if mode == fromGossip {
				return 0, err
			}
			if err = n.awaitVersion(ctx, c, b, from); err == nil {
				err = c.check(b)
			} else if ctx.Err() != nil || !errors.Is(err, schema.ErrInvalid) {
				// Not fetched now (too many fetches running, no answer):
				// nothing is wrong with the block.
				return 0, err
			}
		}
		if err != nil {
			return 0, &rejection{reasonSchema, fmt.Errorf("%w: %w", errBlockSchema, err)}
		}
	}
	// 4. Parents.
	orphanCost, err = n.checkParents(c, blocks)
	if err != nil {
		return 0, err
	}
	// 5. Policy.
	for _, b := range blocks {
		if err := n.authorize(ctx, c, b, from, mode); err != nil {
			return 0, err
		}
	}
	return orphanCost, nil
}

// authorize is accept's rule 5 for block b, which from sent: nil if its
// author may write to c in the policy state it names, else a *rejection, or
// errPolicyMissing (from gossip) or ctx's error while the changes it names
// are not here. From a fetch, it fetches those changes from the peer first.
// Rule 3 runs it too, before it fetches a version b names, so that a key that
// may not write cannot make the node fetch and keep definitions.
func (n *Node) authorize(ctx context.Context, c *Collection, b *crdt.Block, from peer.ID, mode acceptMode) error {
	err := c.mayWrite(b.Author, b.Policy, b.AuthorPrev.Defined())
	if errors.Is(err, errPolicyMissing) {
		if mode == fromGossip {
			return err
		}
		if err = n.pullPolicy(ctx, c, from); err == nil || !errors.Is(err, policy.ErrMissing) {
			err = c.mayWrite(b.Author, b.Policy, b.AuthorPrev.Defined())
		}
		if errors.Is(err, errPolicyMissing) || ctx.Err() != nil {
			return err
		}
	}
	if err != nil {
		return &rejection{reasonPolicy, err}
	}
	return nil
}

// Causes of accept's errors, for the log.
var (
	errBlockSchema  = errors.New("gossipdb: block does not fit the collection")
	errBlockParents = errors.New("gossipdb: block inconsistent with its parents")
)

// countRejected counts a block accept refused, by the rule that refused it;
// other errors count nothing.
func (n *Node) countRejected(err error) {
	var r *rejection
	if !errors.As(err, &r) {
		return
	}
	switch r.reason {
	case reasonSignature:
		n.metrics.signatureRejects.Add(1)
	case reasonSchema:
		n.metrics.schemaRejects.Add(1)
	case reasonParents:
		n.metrics.parentRejects.Add(1)
	case reasonPolicy:
		n.metrics.policyRejects.Add(1)
	}
}

// verifyChunk is how many blocks one crdt.VerifyBatch checks at most: a batch
// costs about a quarter of verifying its blocks one by one from a few tens of
// blocks on, and chunks of this size spread a message's blocks over the cores.
const verifyChunk = 32

// verifiedBytes is the memory a node gives to remembering the batch
// signatures that verified (crdt.Verified): about 10,000 signatures, each
// covering up to crdt.MaxSignedBatch blocks, so that a catch-up of 100,000
// documents written in batches checks each batch's signature about once.
const verifiedBytes = 1 << 20

// verifySignatures checks every block's signature (crdt.VerifyBatch, by
// chunks, skipping the batch signatures n.verified holds), spreading the chunks over the calling goroutine and up to
// GOMAXPROCS-1 helpers, fewer while other calls hold helpers (n.verifiers
// bounds them node-wide), and returns the error of the first block in order
// that fails.
func (n *Node) verifySignatures(blocks []*crdt.Block) error {
	chunks := (len(blocks) + verifyChunk - 1) / verifyChunk
	errs := make([]error, chunks)
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= chunks {
				return
			}
			errs[i] = n.verified.VerifyBatch(blocks[i*verifyChunk : min((i+1)*verifyChunk, len(blocks))])
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), chunks) - 1 {
		select {
		case n.verifiers <- struct{}{}:
			wg.Go(func() {
				defer func() { <-n.verifiers }()
				work()
			})
		default:
		}
	}
	work()
	wg.Wait()
	return firstError(errs)
}

// firstError returns the first non-nil error of errs, or nil.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkParents is accept's parents rule: each block's height and links
// against its parents that are stored or earlier in blocks. It returns what
// the blocks whose parents are neither (orphans) cost against the orphan
// budgets. A refused block's error is a *rejection wrapping errBlockParents.
// It reads each stored parent once, however many of blocks name it.
func (n *Node) checkParents(c *Collection, blocks []*crdt.Block) (orphanCost int64, err error) {
	if !slices.ContainsFunc(blocks, func(b *crdt.Block) bool { return !b.IsGenesis() }) {
		return 0, nil // geneses have no parents: no read transaction (a create's message)
	}
	err = n.store.View(func(tx *store.Tx) error {
		// The blocks before b, and the stored parents read so far: a
		// fetched answer comes parents first, so most parents are found
		// here without reading the store.
		earlier := make(map[cid.Cid]*crdt.Block, len(blocks))
		for _, b := range blocks {
			if b.IsGenesis() {
				earlier[b.CID] = b
				continue
			}
			parents := make([]*crdt.Block, 0, len(b.Prev))
			missing := false
			for _, p := range b.Prev {
				pb := earlier[p]
				if pb == nil {
					var err error
					pb, err = tx.Block(c.root.ID, p)
					if errors.Is(err, store.ErrNotFound) {
						missing = true
						continue
					}
					if err != nil {
						return err
					}
					pb = pb.AsParent()
					earlier[p] = pb
				}
				parents = append(parents, pb)
			}
			if missing {
				orphanCost += orphans.Cost(b)
			} else if err := crdt.CheckParents(b, parents); err != nil {
				return &rejection{reasonParents, fmt.Errorf("%w: %w", errBlockParents, err)}
			}
			earlier[b.CID] = b
		}
		return nil
	})
	return orphanCost, err
}

// awaitVersion fetches version b names, unknown to c, from p, and waits for
// the fetch within ctx; it joins the fetch of that version running already,
// whichever peer it asks. A version not fetched is reported with a
// *versionFetchError, which names the peers that stood in the way.
func (n *Node) awaitVersion(ctx context.Context, c *Collection, b *crdt.Block, p peer.ID) error {
	id := b.VersionID()
	vf := &n.versionFetches
	vf.mu.Lock()
	f := n.startVersionFetchLocked(c, id, p)
	var holders []peer.ID
	if f == nil {
		for _, r := range vf.running {
			holders = append(holders, r.peer)
		}
	}
	vf.mu.Unlock()
	if f == nil {
		return &versionFetchError{version: id, peers: holders}
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if f.err != nil {
		return &versionFetchError{version: id, peers: []peer.ID{f.peer}, err: f.err}
	}
	return nil
}
