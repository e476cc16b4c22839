// Package crdt defines gossipdb's blocks, their codec and CIDs, their validation and
// the rules that merge them into a document's state. It is pure: no I/O, no
// goroutines, no clocks. The store and the node do the I/O around it.
//
// # Blocks
//
// A document is a Merkle DAG of blocks. Each Block is one change: a dag-cbor map
//
//	schema  link            the collection's schema ID
//	doc     link            the document ID (its genesis CID); absent in genesis
//	prev    [link]          the heads the change builds on, sorted by bytes; [] in genesis
//	height  int             1 in genesis, else 1 + the largest height among prev
//	set     {field: value}  last-writer-wins assignments; null clears (omitted if empty)
//	add     {field: number} counter increments (omitted if empty)
//	delete  true            the document is deleted (omitted unless true)
//	nonce   bytes           8 to 64 random bytes: in genesis always, in a change
//	                        only with add (omitted otherwise)
//
// addressed by its CID: v1, codec dag-cbor, multihash sha2-256. Only the canonical
// encoding is accepted (Decode re-encodes and compares), so a content has exactly one
// CID. Values are canonical (see Field.Normalize): string, int64, finite float64,
// bool, DateTime as normalised RFC 3339 text, JSON as compact JSON text.
//
// Validation is layered: Decode checks the bytes and structure, Schema.Check the
// fields against the collection, CheckParents the links to the parent blocks
// (same document and schema, consistent height). Errors wrap ErrInvalidBlock.
//
// # Nonces
//
// A nonce makes two equal writes two blocks where merging one block for both would
// lose a write. The rule:
//
//   - a genesis block has a nonce, so that two equal creates make two documents;
//   - a change with add may have one, and NewChange requires one, drawn at random
//     for each change: two replicas that make the same increment on the same heads
//     then make two blocks, and both increments count (with equal blocks the second
//     would merge as a no-op and one acknowledged increment would be lost);
//   - a change without add has none: equal assignments and deletes give the same
//     state whether merged once or twice, so these blocks keep the size and CIDs
//     they have always had, and such a change has exactly one encoding.
//
// Every nonce is MinNonceLen to MaxNonceLen bytes. Decode accepts a change with add
// and no nonce, as written before changes had nonces. The design notes allow a nonce
// in genesis only; this rule replaces that one because it lost increments.
//
// # Merge rules
//
// A State is a document as merged from a set of its blocks, each merged after its
// ancestors and once. Merging the same set in any such order gives byte-identical
// State.Encode output:
//
//   - a last-writer-wins field takes the assignment of the block with the greatest
//     (height, CID bytes); a later assignment of null clears it;
//   - a counter is the sum of every block's increment: Int counters in wrapping int64
//     arithmetic, Float counters as an exact sum rounded to float64 when read.
//     NewChange refuses an increment that would take an Int counter beyond int64
//     from the value it builds on, but increments made concurrently on different
//     replicas, each valid alone, can overflow together: their merged sum wraps
//     (2 × MaxInt64 reads as -2), the same on every replica whatever the order;
//   - delete wins: once a block with delete is merged the state stays deleted;
//   - the heads are the merged blocks no other merged block names in prev.
package crdt
